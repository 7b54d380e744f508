use serde_json::json;

use super::*;

#[test]
fn the_assertion_field_and_every_look_alike_of_it_are_recognised() {
    for key in [
        "_guard_caller",
        "_GUARD_CALLER",
        "_Guard_Caller",
        "_guard_caller\u{200b}",
        "\u{feff}_guard_caller",
        "_guard\u{00ad}_caller",
        "_guard_caller ",
        "\u{ff3f}\u{ff47}\u{ff55}\u{ff41}\u{ff52}\u{ff44}\u{ff3f}\u{ff43}\u{ff41}\u{ff4c}\u{ff4c}\u{ff45}\u{ff52}",
        "_guard_calle\u{0072}\u{fe0f}",
    ] {
        assert!(looks_like_assertion_field(key), "{key:?}");
    }
    for key in [
        "guard_caller",
        "_guard_callers",
        "_guard-caller",
        "caller",
        "_gυard_caller",
    ] {
        assert!(!looks_like_assertion_field(key), "{key:?}");
    }
}

#[test]
fn only_a_top_level_argument_supplies_an_assertion() {
    let supplied = json!({"environment": "staging", "_GUARD_CALLER": "x"});
    assert_eq!(supplied_assertion(&supplied), Some("_GUARD_CALLER"));
    let nested = json!({"filter": {"_guard_caller": "x"}});
    assert_eq!(supplied_assertion(&nested), None);
    assert_eq!(supplied_assertion(&json!("_guard_caller")), None);
}

#[test]
fn the_assertion_travels_in_the_arguments_and_nothing_else_changes() {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                      "params": {"name": "t___t", "arguments": {"a": 1}, "_meta": {"p": 2}}});
    let carried = with_assertion(&body, &json!({"a": 1}), "tok".to_owned()).unwrap();
    let mut expected = body.clone();
    expected["params"]["arguments"][ASSERTION_FIELD] = json!("tok");
    assert_eq!(carried, expected);

    // A call without arguments gets an arguments object holding only the assertion.
    let bare = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "t"}});
    let carried = with_assertion(&bare, &json!({}), "tok".to_owned()).unwrap();
    assert_eq!(
        carried["params"]["arguments"],
        json!({ASSERTION_FIELD: "tok"})
    );

    assert_eq!(
        with_assertion(&body, &json!([1]), "tok".to_owned()),
        Err(VouchError::ArgumentsNotObject)
    );
}

#[test]
fn assertion_ids_are_random() {
    let a = assertion_id().unwrap();
    assert_eq!(a.len(), 22);
    assert_ne!(a, assertion_id().unwrap());
}
