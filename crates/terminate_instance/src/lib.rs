//! `terminate_instance`: terminate one EC2 instance.
//!
//! Input → call check → the real instance (tags, state, `DisableApiTermination`) → resource
//! check → `TerminateInstances` (with EC2's own `DryRun` when `dry_run`).

use agentcore_target::{
    Access, Attempts, Found, Recheck, ResourceFacts, Tool, ToolError, check_identifier, tag_map,
};
use aws_sdk_ec2::{
    Client,
    error::{ProvideErrorMetadata, SdkError},
    operation::terminate_instances::TerminateInstancesError,
    types::{InstanceAttributeName, InstanceStateName},
};
use serde::{Deserialize, Serialize};

/// The arguments.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TerminateInput {
    /// The environment the agent says the instance is in.
    pub environment: String,
    /// Exactly one instance id, `i-` and 8 or 17 hex digits.
    pub instance_id: String,
    /// Report what would happen (EC2's own DryRun check) and change nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// The instance as read before acting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    id: String,
    state: InstanceStateName,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TerminateOutput {
    /// The instance.
    pub instance_id: String,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// Its state before the call.
    pub previous_state: String,
    /// Its state after the call (unchanged for a dry run or an already terminated instance).
    pub current_state: String,
    /// Whether this call changed anything.
    pub changed: bool,
}

/// The tool, holding its EC2 client.
#[derive(Debug, Clone)]
pub struct TerminateInstance {
    ec2: Client,
}

impl TerminateInstance {
    /// The tool over `ec2`.
    pub fn new(ec2: Client) -> Self {
        Self { ec2 }
    }
}

impl Tool for TerminateInstance {
    const NAME: &'static str = "terminate_instance";
    const DEFAULT_TARGET: &'static str = "terminate-instance";
    const ACCESS: Access = Access::Mutating;
    type Settings = ();
    type Input = TerminateInput;
    type Resource = Instance;
    type Output = TerminateOutput;

    fn validate(input: &TerminateInput) -> Result<(), ToolError> {
        let id = &input.instance_id;
        let hex = id.strip_prefix("i-").unwrap_or_default();
        check_identifier(
            "instance_id",
            id,
            19,
            |c| c.is_ascii_alphanumeric() || c == '-',
            "an EC2 instance id (`i-` and 8 or 17 lower-case hex digits)",
        )?;
        if !matches!(hex.len(), 8 | 17)
            || !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(ToolError::invalid_input(format!(
                "`instance_id` is `{id}`, which is not an EC2 instance id (`i-` and 8 or 17 lower-case hex digits)"
            )));
        }
        Ok(())
    }

    async fn lookup(&self, input: &TerminateInput) -> Result<Found<Instance>, ToolError> {
        let id = &input.instance_id;
        let described = self
            .ec2
            .describe_instances()
            .instance_ids(id)
            .send()
            .await
            .map_err(|e| ToolError::aws("ec2:DescribeInstances", &e))?;
        let instance = described
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .find(|i| i.instance_id() == Some(id.as_str()))
            .ok_or_else(|| ToolError::not_found(format!("instance `{id}` not found")))?;
        let state = instance
            .state()
            .and_then(|s| s.name())
            .cloned()
            .ok_or_else(|| ToolError::not_found(format!("EC2 reported no state for `{id}`")))?;
        let tags = tag_map(instance.tags().iter().map(|t| (t.key(), t.value())));

        // Not knowing whether the instance is protected is not the same as knowing it is not.
        let protected = self
            .ec2
            .describe_instance_attribute()
            .instance_id(id)
            .attribute(InstanceAttributeName::DisableApiTermination)
            .send()
            .await
            .map_err(|e| ToolError::aws("ec2:DescribeInstanceAttribute", &e))?
            .disable_api_termination()
            .and_then(|v| v.value())
            .ok_or_else(|| {
                ToolError::new(
                    agentcore_target::ErrorKind::Aws,
                    format!("EC2 did not report whether `{id}` is termination-protected"),
                )
            })?;

        let facts = ResourceFacts::new("Guard::Ec2Instance", id.clone())
            .attribute("state", state.as_str())
            .attribute("termination_protected", protected)
            .tags(tags);
        Ok(Found {
            facts: Some(facts),
            resource: Instance {
                id: id.clone(),
                state,
            },
        })
    }

    async fn operate(
        &self,
        input: &TerminateInput,
        instance: Instance,
        // One AWS call: the resource check just before it is the check.
        _recheck: &Recheck<'_, Self>,
    ) -> Result<TerminateOutput, ToolError> {
        let unchanged = |dry_run| TerminateOutput {
            instance_id: instance.id.clone(),
            dry_run,
            previous_state: instance.state.as_str().to_owned(),
            current_state: instance.state.as_str().to_owned(),
            changed: false,
        };
        if instance.state == InstanceStateName::Terminated {
            return Ok(unchanged(input.dry_run));
        }
        let request = self
            .ec2
            .terminate_instances()
            .instance_ids(&instance.id)
            .dry_run(input.dry_run);
        if input.dry_run {
            // EC2 answers a permitted dry run with the error `DryRunOperation`.
            return match request.send().await {
                Err(SdkError::ServiceError(e)) if e.err().code() == Some("DryRunOperation") => {
                    Ok(unchanged(true))
                }
                Err(e) => Err(ToolError::aws("ec2:TerminateInstances (dry run)", &e)),
                Ok(_) => Err(ToolError::new(
                    agentcore_target::ErrorKind::Aws,
                    format!(
                        "EC2 did not treat the dry run of `{}` as a dry run; check the instance's state",
                        instance.id
                    ),
                )),
            };
        }
        // Every attempt is watched: the budget slot goes back only if AWS refused them all
        // before acting (a first attempt that timed out may have terminated the instance).
        let attempts = Attempts::<TerminateInstancesError>::new();
        let out = request
            .customize()
            .interceptor(attempts.clone())
            .send()
            .await
            .map_err(|e| ToolError::aws_attempted("ec2:TerminateInstances", &e, &attempts))?;
        let change = out
            .terminating_instances()
            .iter()
            .find(|c| c.instance_id() == Some(instance.id.as_str()));
        let state = |s: Option<&aws_sdk_ec2::types::InstanceState>| {
            s.and_then(|s| s.name())
                .map_or_else(|| "unknown".to_owned(), |n| n.as_str().to_owned())
        };
        Ok(TerminateOutput {
            instance_id: instance.id.clone(),
            dry_run: false,
            previous_state: change.map_or_else(
                || instance.state.as_str().to_owned(),
                |c| state(c.previous_state()),
            ),
            current_state: state(change.and_then(|c| c.current_state())),
            changed: true,
        })
    }

    fn dry_run(input: &TerminateInput) -> bool {
        input.dry_run
    }

    fn acting_as(&self, config: &agentcore_target::SdkConfig) -> Option<Self> {
        Some(Self::new(Client::new(config)))
    }

    // An already terminated instance is a no-op: it uses up no budget.
    fn changed(out: &TerminateOutput) -> bool {
        out.changed
    }

    fn summary(out: &TerminateOutput) -> String {
        let id = &out.instance_id;
        match (out.dry_run, out.changed) {
            _ if InstanceStateName::from(out.previous_state.as_str())
                == InstanceStateName::Terminated =>
            {
                format!("`{id}` was already terminated; nothing to do")
            }
            (true, _) => format!(
                "dry run: `{id}` ({}) would be terminated (EC2's DryRun check passed); nothing was changed",
                out.previous_state
            ),
            (false, _) => format!(
                "terminated `{id}` ({} → {})",
                out.previous_state, out.current_state
            ),
        }
    }
}
