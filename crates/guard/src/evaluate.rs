//! Building Cedar requests from tool calls and asking Cedar: with a known caller, or with the
//! caller unknown (partial evaluation, fail closed when the answer depends on it).

use cedar_policy::{
    Authorizer, Context, Decision as CedarDecision, Effect, EntityUid, PartialResponse, Policy,
    Request, RequestValidationError, Response,
};
use serde_json::Value;

use crate::{
    caller::{CallerType, Principal},
    control::Approval,
    decision::Reason,
    entity::{ActionStores, entities},
    error::{EntityRole, GuardError, with_causes},
    gateway::LinkedGateway,
    policy::{PolicySets, Slices},
    request::ResourceFacts,
    validated::{Asked, Validated},
    value::{json_type, to_cedar},
};

/// What Cedar said: the reason, and the determining policies' ids.
pub(crate) type Evaluated = Result<(Reason, Vec<String>), GuardError>;

/// One evaluation's inputs.
pub(crate) struct Evaluation<'a> {
    pub tool: &'a str,
    pub principal: Option<&'a Principal>,
    pub action: EntityUid,
    pub resource: EntityUid,
    pub resource_entity: Option<&'a ResourceFacts>,
    pub input: &'a Value,
    /// A person's approval of this call, for the resource check (`context.approval`).
    pub approval: Option<&'a Approval>,
}

/// What every evaluation needs: the authorizer, the loaded sets, and the caller type assumed
/// when the caller is unknown.
pub(crate) struct Cedar<'a> {
    pub authorizer: &'a Authorizer,
    pub sets: &'a PolicySets,
    pub caller_type: CallerType,
    /// The action entities each action's requests need (see [`ActionStores`]).
    pub action_stores: &'a ActionStores,
    /// The linked gateway, whose slices the call checks are decided against.
    pub gateway: Option<&'a LinkedGateway>,
    /// The request shapes Cedar accepted (see [`Validated`]).
    pub validated: &'a Validated,
}

impl Cedar<'_> {
    /// Decides one request against the slice of `slices` for its action.
    pub(crate) fn evaluate(&self, slices: &Slices, e: Evaluation<'_>) -> Evaluated {
        let sets = self.sets;
        // INVARIANT: every action the schema declares has a slice, possibly empty.
        let Some(set) = slices.get(&e.action) else {
            return Err(GuardError::UnknownTool(e.tool.to_owned()));
        };
        let context = context(e.tool, e.input, e.approval)?;
        let entities = entities(
            sets,
            self.action_stores,
            self.validated,
            self.gateway,
            &e.action,
            e.principal,
            e.resource_entity,
        )?;
        let entities = entities.as_ref();
        let caller_type = match e.principal {
            Some(principal) => principal.entity_type(),
            None => self.caller_type.entity_type(),
        };
        let shape = Validated::shape(
            sets,
            &Asked {
                action: &e.action,
                principal_type: caller_type,
                principal_known: e.principal.is_some(),
                resource: &e.resource,
                input: e.input,
                approval: e.approval.is_some(),
            },
        );
        // Checked against the schema unless Cedar accepted a request of this shape before.
        let schema = match &shape {
            Some(shape) if self.validated.accepted(shape) => None,
            _ => Some(&sets.schema),
        };
        let action = e.action.clone();
        let request_error = |err| request_error(sets, &action, e.tool, e.input, err);
        let request = match e.principal {
            Some(principal) => {
                let principal = sets.entity_uid(principal.entity_type(), principal.id())?;
                Request::new(principal, e.action, e.resource, context, schema)
                    .map_err(request_error)?
            }
            None => {
                let builder = Request::builder()
                    .unknown_principal_with_type(sets.entity_type(caller_type)?)
                    .action(e.action)
                    .resource(e.resource)
                    .context(context);
                match schema {
                    Some(schema) => builder.schema(schema).build().map_err(request_error)?,
                    None => builder.build(),
                }
            }
        };
        if let (Some(shape), Some(_)) = (shape, schema) {
            self.validated.remember(shape);
        }
        match e.principal {
            Some(_) => decided(&self.authorizer.is_authorized(&request, set, entities)),
            None => decided_without_caller(
                &self
                    .authorizer
                    .is_authorized_partial(&request, set, entities),
            ),
        }
    }

    /// Could some call of `action` by `principal` be permitted? Partial evaluation with the
    /// arguments (the context) unknown.
    pub(crate) fn analyse_tool(&self, slices: &Slices, e: Evaluation<'_>) -> Evaluated {
        let (authorizer, sets, caller_type) = (self.authorizer, self.sets, self.caller_type);
        let Evaluation {
            tool,
            principal,
            action,
            resource: gateway,
            ..
        } = e;
        let Some(set) = slices.get(&action) else {
            return Err(GuardError::UnknownTool(tool.to_owned()));
        };
        let entities = entities(
            sets,
            self.action_stores,
            self.validated,
            self.gateway,
            &action,
            principal,
            None,
        )?;
        let builder = Request::builder();
        let builder = match principal {
            Some(p) => builder.principal(sets.entity_uid(p.entity_type(), p.id())?),
            None => {
                builder.unknown_principal_with_type(sets.entity_type(caller_type.entity_type())?)
            }
        };
        // No context: the arguments are the unknown.
        let request = builder
            .action(action)
            .resource(gateway)
            .schema(&sets.schema)
            .build()
            .map_err(|e| GuardError::InvalidEntity {
                what: EntityRole::Request,
                message: with_causes(&e),
            })?;
        let response = authorizer.is_authorized_partial(&request, set, &entities);
        no_partial_errors(&response)?;
        Ok(match response.decision() {
            Some(CedarDecision::Deny) => {
                denied(ids_of(response.definitely_satisfied(), Effect::Forbid))
            }
            // Allowed outright, or allowed for some arguments.
            Some(CedarDecision::Allow) | None => (
                Reason::Permitted,
                ids_of(response.may_be_determining(), Effect::Permit),
            ),
        })
    }
}

/// The request's context: `{ input: <the arguments> }`, the arguments a JSON object, and
/// `approval` when a person approved this call.
fn context(tool: &str, input: &Value, approval: Option<&Approval>) -> Result<Context, GuardError> {
    let Value::Object(_) = input else {
        return Err(GuardError::InputNotObject {
            tool: tool.to_owned(),
            got: json_type(input),
        });
    };
    let invalid_input = |message: String| GuardError::InvalidInput {
        tool: tool.to_owned(),
        message,
    };
    let input = to_cedar(input).map_err(invalid_input)?;
    let mut pairs = vec![("input".to_owned(), input)];
    if let Some(approval) = approval {
        let approval = serde_json::to_value(approval)
            .map_err(|e| invalid_input(e.to_string()))
            .and_then(|v| to_cedar(&v).map_err(invalid_input))?;
        pairs.push(("approval".to_owned(), approval));
    }
    Context::from_pairs(pairs).map_err(|err| invalid_input(with_causes(&err)))
}

/// A request the schema refused: arguments that do not fit say which field and why.
fn request_error(
    sets: &PolicySets,
    action: &EntityUid,
    tool: &str,
    input: &Value,
    err: RequestValidationError,
) -> GuardError {
    match err {
        RequestValidationError::InvalidContext(_) | RequestValidationError::TypeOfContext(_) => {
            GuardError::InvalidInput {
                tool: tool.to_owned(),
                message: context_mismatch(sets, action, input, &err),
            }
        }
        other => GuardError::InvalidEntity {
            what: EntityRole::Request,
            message: with_causes(&other),
        },
    }
}

/// Cedar's answer with the caller known: any policy error makes it an error.
fn decided(response: &Response) -> Evaluated {
    let errors: Vec<String> = response
        .diagnostics()
        .errors()
        .map(ToString::to_string)
        .collect();
    if !errors.is_empty() {
        return Err(GuardError::Evaluation(errors.join("; ")));
    }
    let mut policies: Vec<String> = response
        .diagnostics()
        .reason()
        .map(ToString::to_string)
        .collect();
    policies.sort();
    Ok(match response.decision() {
        CedarDecision::Allow => (Reason::Permitted, policies),
        CedarDecision::Deny => denied(policies),
    })
}

/// Cedar's answer with the caller unknown: a decision that hangs on the caller is an error
/// (fail closed), naming the policies that read it.
fn decided_without_caller(response: &PartialResponse) -> Evaluated {
    no_partial_errors(response)?;
    match response.decision() {
        Some(CedarDecision::Allow) => Ok((
            Reason::Permitted,
            ids_of(response.definitely_satisfied(), Effect::Permit),
        )),
        Some(CedarDecision::Deny) => Ok(denied(ids_of(
            response.definitely_satisfied(),
            Effect::Forbid,
        ))),
        None => {
            let mut residual: Vec<String> = response
                .nontrivial_residuals()
                .map(|p| format!("`{}`", p.id()))
                .collect();
            residual.sort();
            Err(GuardError::CallerUnknown(residual.join(", ")))
        }
    }
}

/// Any policy that errored makes the decision an error: an erroring policy is a deny, never a
/// policy silently skipped.
fn no_partial_errors(response: &PartialResponse) -> Result<(), GuardError> {
    let errors: Vec<String> = response
        .definitely_errored()
        .map(ToString::to_string)
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(GuardError::Evaluation(format!(
            "policies {} failed to evaluate",
            errors.join(", ")
        )))
    }
}

/// The ids of the policies with `effect`, sorted.
fn ids_of(policies: impl Iterator<Item = Policy>, effect: Effect) -> Vec<String> {
    let mut ids: Vec<String> = policies
        .filter(|p| p.effect() == effect)
        .map(|p| p.id().to_string())
        .collect();
    ids.sort();
    ids
}

/// A deny: by the forbids that applied, or by default when none did.
fn denied(forbids: Vec<String>) -> (Reason, Vec<String>) {
    if forbids.is_empty() {
        (Reason::NoPolicyPermits, forbids)
    } else {
        (Reason::Forbidden, forbids)
    }
}

/// Cedar says only that the context does not fit; the declared arguments say which field and
/// why. Worked out only once a request has failed, so the cost stays off the normal path.
fn context_mismatch(
    sets: &PolicySets,
    action: &EntityUid,
    input: &Value,
    err: &RequestValidationError,
) -> String {
    let (Some(declared), Value::Object(given)) = (sets.arguments.get(action), input) else {
        return with_causes(err);
    };
    let problems: Vec<String> = given
        .iter()
        .filter_map(|(name, value)| match declared.get(name) {
            None => Some(format!(
                "unknown argument `{}` (declared: {})",
                name.escape_debug(),
                declared
                    .keys()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Some(ty) if !json_fits(ty, value) => {
                Some(format!("`{name}` must be {ty}, got {}", json_type(value)))
            }
            Some(_) => None,
        })
        .collect();
    if problems.is_empty() {
        with_causes(err)
    } else {
        problems.join("; ")
    }
}

/// Whether a JSON value has the shape of a Cedar type named in the schema.
fn json_fits(cedar_type: &str, value: &Value) -> bool {
    match cedar_type {
        "String" => value.is_string(),
        "Long" => value.is_i64(),
        "Bool" | "Boolean" => value.is_boolean(),
        "Set" => value.is_array(),
        "Record" => value.is_object(),
        // Entity references and extension types: let Cedar's own message speak.
        _ => true,
    }
}
