use super::*;

fn line(record: Value) -> String {
    serde_json::json!({"_aws": {"Timestamp": 1}, "Tool": "unknown", "Check": "call",
        "Allow": 0, "Deny": 1, "WouldDeny": 0, "Error": 0, "WouldFlip": 0,
        RECORD_FIELD: record})
    .to_string()
}

fn record() -> Value {
    serde_json::json!({"time": "2026-01-01T00:00:00.000Z", "tool": "a___b", "check": "call",
        "decision": "ALLOW", "outcome": "allow", "mode": "ENFORCE", "asked": "call"})
}

#[test]
fn only_the_guards_own_line_is_a_record() {
    let mut input = Input::default();
    let mut extra = record();
    extra["forged"] = serde_json::json!(true);
    let forged_inside_a_message = serde_json::json!({
        "level": "WARN", "message": line(record()), "fields": {"message": line(record())}
    });
    let text = [
        line(record()),
        "START RequestId: 1".to_owned(),
        line(extra),
        // A record that is not inside the guard's EMF document.
        serde_json::json!({RECORD_FIELD: record()}).to_string(),
        // A line with a field the guard never writes beside the record.
        line(record()).replacen('{', r#"{"message":"x","#, 1),
        forged_inside_a_message.to_string(),
    ]
    .join("\n");
    input.read("log", &text);
    assert_eq!(input.found.len(), 1, "{:?}", input.found);
    assert_eq!(input.found[0].at, "log:1");
    assert_eq!(input.other, 5);
}

#[test]
fn a_json_stream_names_the_line_each_value_starts_on() {
    let mut input = Input::default();
    input.read("f", &format!("{{\"a\": 1}}\n\n{}\n", line(record())));
    assert_eq!(input.other, 1);
    assert_eq!(input.found[0].at, "f:3");
}

#[test]
fn log_events_hold_lines_and_an_export_prefixes_a_timestamp() {
    let mut input = Input::default();
    let events = serde_json::json!({"events": [
        {"message": format!("{}\n", line(record()))},
        {"message": "END RequestId: 1"},
        {"message": {"guard_audit": record(), "_aws": {}}},
    ]});
    input.read("events", &events.to_string());
    assert_eq!(input.found.len(), 1);
    assert_eq!(input.found[0].at, "events:1 events[0]");
    assert_eq!(input.other, 2);

    let mut input = Input::default();
    input.read(
        "export",
        &format!(
            "2026-01-01T00:00:00.000Z {}\nnot json at all\n",
            line(record())
        ),
    );
    assert_eq!(input.found.len(), 1);
    assert_eq!(input.other, 1);
}
