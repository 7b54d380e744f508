//! The demo's audit records, left in a file for `guard replay` (README, "Change a policy
//! safely") and for refreshing the sample under `examples/audit/`.

/// Where the demo leaves the ENFORCE run's audit records, under the workspace.
pub const RECORDS: &str = "target/demo/audit.jsonl";

/// Writes the audit lines among `log_lines` (the functions' log output) to [`RECORDS`].
pub fn save(log_lines: &[String]) -> Result<(), String> {
    let path = crate::emulator::workspace().join(RECORDS);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let records: Vec<&str> = log_lines
        .iter()
        .map(String::as_str)
        .filter(|l| l.contains("\"guard_audit\""))
        .collect();
    std::fs::write(&path, records.join("\n") + "\n")
        .map_err(|e| format!("{}: {e}", path.display()))?;
    println!(
        "\nThe run's {} audit records are in {RECORDS}: `cargo run -q --bin guard -- replay {RECORDS}`",
        records.len()
    );
    Ok(())
}
