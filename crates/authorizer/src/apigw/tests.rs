use super::*;

#[test]
fn the_authorizer_context_is_flat_as_rest_apis_require() {
    let guard = Guard::new(
        &guard::PolicySources::embedded(),
        &guard::GuardConfig::default(),
        std::sync::Arc::new(guard::NoAudit),
    );
    let authorization = refusal(&guard, &RequestIds::default(), "no");
    let context = authorization.context();
    let fields = context.as_object().unwrap();
    assert!(fields.values().all(Value::is_string), "{context}");
}
