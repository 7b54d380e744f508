//! Running a command as a user pipes into it: its standard input given, its output collected.

use std::{
    io::Write,
    process::{Command, Output, Stdio},
};

/// Runs `command` with `input` on its standard input and waits for it; stdout and stderr are
/// captured. An error says which step failed.
pub fn output_with_stdin(command: &mut Command, input: &[u8]) -> Result<Output, String> {
    let program = command.get_program().to_string_lossy().into_owned();
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run `{program}`: {e}"))?;
    // Written and closed before waiting, so the child sees the end of its input.
    child
        .stdin
        .take()
        .ok_or_else(|| format!("`{program}` has no standard input"))?
        .write_all(input)
        .map_err(|e| format!("cannot write to `{program}`: {e}"))?;
    child
        .wait_with_output()
        .map_err(|e| format!("`{program}` did not finish: {e}"))
}
