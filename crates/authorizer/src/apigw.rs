//! The API Gateway Lambda authorizer forms, for teams that front their tools with API Gateway
//! instead of (or besides) an AgentCore Gateway.
//!
//! **What is decided here, and what is not.** API Gateway never shows an authorizer the request
//! body, so the tool's arguments are unknown at this point. This form therefore asks only "may
//! this caller call this tool *at all*" — is there some set of arguments the gateway policies
//! could permit for this principal ([`Guard::check_tool`], Cedar partial evaluation with the
//! arguments unknown). A caller no policy could ever allow, or one a `forbid` shuts out whatever
//! the arguments, is denied here. Whether *these* arguments are allowed (`environment:
//! "production"`, say) is decided by the tool's own guard, which runs the same call check on
//! the real arguments and then checks the real resource. The authorizer is the outer gate; the
//! tool is the gate that sees everything.
//!
//! **The tool** is the one configured for the route (`AUTHORIZER_ROUTES`), never one the caller
//! names: a header naming the tool would let a caller pass the check for one tool and call
//! another route's backend.
//!
//! **The caller** is the `sub` of a bearer JWT this authorizer verifies itself
//! ([`crate::verifier`]): nobody in front of a Lambda authorizer has checked it. IAM callers are
//! not accepted: API Gateway allows one authorization type per method or route, so a method that
//! runs this authorizer is not IAM-authorized and API Gateway gives the authorizer no verified
//! caller ARN to build an `AgentCore::IamEntity` from.
//!
//! **Caching.** API Gateway caches authorizer results by identity source. The decision depends on
//! the route, so either turn result caching off or make the route part of the identity source
//! (REST: the method ARN is covered because the policy names it; HTTP API: add `$context.routeKey`
//! to the identity sources).

use aws_lambda_events::{
    apigw::{
        ApiGatewayCustomAuthorizerPolicy, ApiGatewayCustomAuthorizerRequestTypeRequest,
        ApiGatewayCustomAuthorizerResponse, ApiGatewayV2CustomAuthorizerSimpleResponse,
        ApiGatewayV2CustomAuthorizerV2Request,
    },
    iam::{IamPolicyEffect, IamPolicyStatement},
};
use guard::{
    AuthorizerType, Decision, Guard, Principal, RequestIds, ToolCall, UNKNOWN_TOOL,
    UnknownAuthorizerType,
};
use serde_json::{Value, json};

use crate::{
    config::{ConfigError, Routes},
    headers,
    token::{self, TokenError},
    verifier::JwtVerifier,
};

/// What an API Gateway authorizer needs besides the guard.
#[derive(Debug, Clone, Copy)]
pub struct Setup<'a> {
    /// `GATEWAY_AUTHORIZER_TYPE`, as the guard's configuration read it: unknown, it refuses
    /// every request here too.
    pub authorizer_type: &'a Result<AuthorizerType, UnknownAuthorizerType>,
    /// Route → tool.
    pub routes: &'a Result<Routes, ConfigError>,
    /// Token verification.
    pub verifier: &'a Result<JwtVerifier, ConfigError>,
}

/// The outcome of one authorization, in the terms both response shapes need.
#[derive(Debug)]
struct Authorization {
    decision: Decision,
    principal: Option<Principal>,
}

impl Authorization {
    fn allowed(&self) -> bool {
        self.decision.proceeds()
    }

    /// What the integration sees as `$context.authorizer.*` (REST) or
    /// `$context.authorizer.lambda.*` (HTTP API): plain strings, as REST requires.
    fn context(&self) -> Value {
        let principal = self
            .principal
            .as_ref()
            .map(Principal::uid_string)
            .unwrap_or_default();
        json!({
            "tool": self.decision.tool,
            "principal": principal,
            "decision": self.decision.verdict(),
            "outcome": self.decision.outcome(),
            "reason": self.decision.explain(),
        })
    }
}

/// An HTTP API (payload format 2.0) authorizer: a simple response.
pub fn http_api(
    guard: &Guard,
    setup: Setup<'_>,
    event: &Value,
    ids: &RequestIds,
) -> ApiGatewayV2CustomAuthorizerSimpleResponse {
    let authorization =
        match serde_json::from_value::<ApiGatewayV2CustomAuthorizerV2Request>(event.clone()) {
            Ok(request) => {
                let route = request.route_key.as_deref().unwrap_or_default();
                authorize(guard, setup, Route::Key(route), authorization(event), ids)
            }
            Err(e) => refusal(
                guard,
                ids,
                &format!(
                    "the event is not an HTTP API authorizer request (payload format 2.0): {e}"
                ),
            ),
        };
    http_response(&authorization)
}

fn http_response(authorization: &Authorization) -> ApiGatewayV2CustomAuthorizerSimpleResponse {
    let mut response = ApiGatewayV2CustomAuthorizerSimpleResponse::default();
    response.is_authorized = authorization.allowed();
    response.context = authorization.context();
    response
}

/// An HTTP API answer to a request refused before it could be read (already audited).
pub(crate) fn http_refusal(decision: Decision) -> ApiGatewayV2CustomAuthorizerSimpleResponse {
    http_response(&Authorization {
        decision,
        principal: None,
    })
}

/// A REST API answer to a request refused before it could be read (already audited): a
/// `Deny` for every method.
pub(crate) fn rest_refusal(decision: Decision) -> Value {
    rest_response(
        &Authorization {
            decision,
            principal: None,
        },
        None,
    )
}

/// A REST API `REQUEST` authorizer: an IAM policy for `execute-api:Invoke` on the method ARN.
pub fn rest_api(guard: &Guard, setup: Setup<'_>, event: &Value, ids: &RequestIds) -> Value {
    let (authorization, method_arn) =
        match serde_json::from_value::<ApiGatewayCustomAuthorizerRequestTypeRequest>(event.clone())
        {
            Ok(request) => {
                let method = request
                    .http_method
                    .as_ref()
                    .or(request.request_context.http_method.as_ref())
                    .map(ToString::to_string)
                    .unwrap_or_default();
                let resource = request
                    .resource
                    .as_deref()
                    .or(request.request_context.resource_path.as_deref())
                    .unwrap_or_default();
                let authorization = authorize(
                    guard,
                    setup,
                    Route::Method {
                        method: &method,
                        resource,
                    },
                    authorization(event),
                    ids,
                );
                (authorization, request.method_arn)
            }
            Err(e) => (
                refusal(
                    guard,
                    ids,
                    &format!("the event is not a REST API `REQUEST` authorizer request: {e}"),
                ),
                None,
            ),
        };
    rest_response(&authorization, method_arn)
}

fn rest_response(authorization: &Authorization, method_arn: Option<String>) -> Value {
    // Only the method asked about is allowed; with no method ARN nothing can be.
    let (effect, resource) = match (authorization.allowed(), method_arn) {
        (true, Some(arn)) => (IamPolicyEffect::Allow, arn),
        (_, arn) => (IamPolicyEffect::Deny, arn.unwrap_or_else(|| "*".to_owned())),
    };
    let mut statement = IamPolicyStatement::default();
    statement.action = vec!["execute-api:Invoke".to_owned()];
    statement.effect = effect;
    statement.resource = vec![resource];
    let mut policy = ApiGatewayCustomAuthorizerPolicy::default();
    policy.version = Some("2012-10-17".to_owned());
    policy.statement = vec![statement];
    let mut response = ApiGatewayCustomAuthorizerResponse::<Value>::default();
    response.principal_id = Some(
        authorization
            .principal
            .as_ref()
            .map_or_else(|| "unknown".to_owned(), |p| p.id().to_owned()),
    );
    response.policy_document = policy;
    response.context = authorization.context();
    let mut json = serde_json::to_value(response).unwrap_or_else(|_| {
        // INVARIANT: the response holds only strings and a JSON object; it always serializes.
        json!({"principalId": "unknown", "policyDocument": {"Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": "*"}]}})
    });
    // `usageIdentifierKey: null` is not API Gateway's to read: leave the key out.
    if let Some(fields) = json.as_object_mut()
        && fields.get("usageIdentifierKey").is_some_and(Value::is_null)
    {
        fields.remove("usageIdentifierKey");
    }
    json
}

/// How a request names its route.
#[derive(Debug, Clone, Copy)]
enum Route<'a> {
    /// An HTTP API `routeKey`.
    Key(&'a str),
    /// A REST API method and resource.
    Method { method: &'a str, resource: &'a str },
}

impl Route<'_> {
    fn tool<'r>(&self, routes: &'r Routes) -> Option<&'r str> {
        match *self {
            Self::Key(key) => routes.for_route_key(key),
            Self::Method { method, resource } => routes.for_method(method, resource),
        }
    }

    fn describe(&self) -> String {
        match *self {
            Self::Key(key) => format!("`{key}`"),
            Self::Method { method, resource } => format!("`{method} {resource}`"),
        }
    }
}

/// Route → tool, token → verified claims → principal, then the guard's tool-level check.
/// Every refusal on the way is audited.
fn authorize(
    guard: &Guard,
    setup: Setup<'_>,
    route: Route<'_>,
    authorization: Result<Option<&str>, TokenError>,
    ids: &RequestIds,
) -> Authorization {
    if let Err(unknown) = setup.authorizer_type {
        return refusal(guard, ids, &unknown.to_string());
    }
    let routes = match setup.routes {
        Ok(routes) => routes,
        Err(e) => return refusal(guard, ids, &e.to_string()),
    };
    let Some(tool) = route.tool(routes) else {
        let reason = format!(
            "no tool is configured for route {} (AUTHORIZER_ROUTES)",
            route.describe()
        );
        return refusal(guard, ids, &reason);
    };
    let principal = setup
        .verifier
        .as_ref()
        .map_err(ToString::to_string)
        .and_then(|verifier| {
            let token = authorization
                .and_then(token::bearer)
                .map_err(|e| e.to_string())?;
            let claims = verifier.verify(token).map_err(|e| e.to_string())?;
            token::principal(&claims).map_err(|e: TokenError| e.to_string())
        });
    match principal {
        Ok(principal) => Authorization {
            decision: guard.check_tool(tool, Some(&principal), ids),
            principal: Some(principal),
        },
        Err(reason) => refusal_for(guard, ids, tool, &reason),
    }
}

fn refusal(guard: &Guard, ids: &RequestIds, reason: &str) -> Authorization {
    refusal_for(guard, ids, UNKNOWN_TOOL, reason)
}

/// A refusal of a call to `tool`, audited like every decision.
fn refusal_for(guard: &Guard, ids: &RequestIds, tool: &str, reason: &str) -> Authorization {
    let call = ToolCall {
        tool,
        input: &Value::Null,
        principal: None,
        ids,
    };
    Authorization {
        decision: guard.refuse(&call, reason),
        principal: None,
    }
}

/// The one `Authorization` value of an API Gateway event, read from the event's JSON: the typed
/// header map keeps only the last of two names that differ in case, and hides a REST API's
/// repeated values in `multiValueHeaders`. Either is refused, never resolved.
fn authorization(event: &Value) -> Result<Option<&str>, TokenError> {
    if let Some(multi) = event.get("multiValueHeaders").and_then(Value::as_object) {
        headers::single(multi, "Authorization")?;
    }
    match event.get("headers").and_then(Value::as_object) {
        Some(fields) => Ok(headers::single(fields, "Authorization")?),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests;
