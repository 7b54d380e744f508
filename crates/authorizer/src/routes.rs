//! Which tool each API Gateway route is (`AUTHORIZER_ROUTES`).

use std::collections::BTreeMap;

use serde_json::Value;

/// Why `AUTHORIZER_ROUTES` is not a route → tool map.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoutesError {
    /// Not a JSON object.
    #[error(
        "expected a JSON object of route → tool, like \
         {{\"POST /tools/terminate\": \"terminate-instance___terminate_instance\"}}: {0}"
    )]
    NotAnObject(String),

    /// A key that is not `<METHOD> /<path>`.
    #[error("`{0}` is not `<METHOD> /<path>`")]
    BadRoute(String),

    /// A route whose value is not a tool name.
    #[error("the tool of `{0}` must be a tool name")]
    BadTool(String),

    /// An empty object.
    #[error("it names no routes")]
    NoRoutes,
}

/// Routes of an API Gateway API and the gateway tool each one is.
///
/// Keys are `"<METHOD> <resource path>"` as API Gateway spells the route: an HTTP API's
/// `routeKey` (`"POST /tools/terminate"`, `"ANY /tools/{proxy+}"`, `"$default"`), or a REST
/// API's method and resource (`"POST /tools/terminate"`). An `ANY` route matches every method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routes(BTreeMap<String, String>);

impl Routes {
    /// Reads `AUTHORIZER_ROUTES`: a JSON object of route → tool name.
    pub fn parse(json: &str) -> Result<Self, RoutesError> {
        let map: serde_json::Map<String, Value> =
            serde_json::from_str(json).map_err(|e| RoutesError::NotAnObject(e.to_string()))?;
        let mut routes = BTreeMap::new();
        for (route, tool) in map {
            let key = normalize(&route).ok_or_else(|| RoutesError::BadRoute(route.clone()))?;
            let tool = tool
                .as_str()
                .filter(|t| !t.trim().is_empty())
                .ok_or_else(|| RoutesError::BadTool(route.clone()))?;
            routes.insert(key, tool.trim().to_owned());
        }
        if routes.is_empty() {
            return Err(RoutesError::NoRoutes);
        }
        Ok(Self(routes))
    }

    /// The tool of an HTTP API route key (exactly as the event gives it).
    pub fn for_route_key(&self, route_key: &str) -> Option<&str> {
        let key = normalize(route_key)?;
        self.0
            .get(&key)
            .or_else(|| self.any(&key))
            .map(String::as_str)
    }

    /// The tool of a REST API method on a resource.
    pub fn for_method(&self, method: &str, resource: &str) -> Option<&str> {
        self.for_route_key(&format!("{method} {resource}"))
    }

    fn any(&self, key: &str) -> Option<&String> {
        let (_, path) = key.split_once(' ')?;
        self.0.get(&format!("ANY {path}"))
    }
}

/// `"post  /x"` → `"POST /x"`; `"$default"` stays; anything else is not a route.
fn normalize(route: &str) -> Option<String> {
    let route = route.trim();
    if route == "$default" {
        return Some(route.to_owned());
    }
    let (method, path) = route.split_once(char::is_whitespace)?;
    let path = path.trim();
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    if !path.starts_with('/') || path.contains(char::is_whitespace) {
        return None;
    }
    Some(format!("{} {path}", method.to_ascii_uppercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_method_and_path_with_any_as_a_fallback() {
        let routes = Routes::parse(
            r#"{"post /tools/terminate": "terminate-instance___terminate_instance",
                "ANY /tools/metrics": "get-metrics___get_metrics"}"#,
        )
        .unwrap();
        assert_eq!(
            routes.for_route_key("POST /tools/terminate"),
            Some("terminate-instance___terminate_instance")
        );
        assert_eq!(routes.for_method("GET", "/tools/terminate"), None);
        assert_eq!(
            routes.for_method("GET", "/tools/metrics"),
            Some("get-metrics___get_metrics")
        );
        assert_eq!(routes.for_route_key("$default"), None);
    }

    #[test]
    fn malformed_routes_are_refused_with_the_route_named() {
        for (json, reason) in [
            ("[]", "JSON object"),
            ("{}", "no routes"),
            (r#"{"/tools/x": "a___b"}"#, "`/tools/x`"),
            (r#"{"POST tools/x": "a___b"}"#, "`POST tools/x`"),
            (r#"{"POST /tools/x": 7}"#, "the tool of `POST /tools/x`"),
        ] {
            let err = Routes::parse(json).unwrap_err();
            assert!(err.to_string().contains(reason), "{json}: {err}");
        }
    }
}
