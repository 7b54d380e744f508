//! `cargo lambda watch --only-lambda-apis` + `cargo lambda invoke`: local invoke without Docker,
//! as the README shows it, with the function built by the workspace.

use std::{
    net::{TcpListener, TcpStream},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::Value;

use crate::emulator::workspace;

/// `cargo-lambda` from `.venv` (installed by the test and demo commands).
fn cargo_lambda() -> Result<Command, String> {
    let path = workspace().join(".venv/bin/cargo-lambda");
    if !path.exists() {
        return Err(format!(
            "{} is missing: run tests/run.sh, which installs cargo-lambda into .venv",
            path.display()
        ));
    }
    let mut command = Command::new(path);
    command.arg("lambda").current_dir(workspace());
    Ok(command)
}

/// A running `cargo lambda watch --only-lambda-apis` on 127.0.0.1. Stops when dropped.
pub struct Watch {
    child: Child,
    port: u16,
}

impl Watch {
    /// Starts the local Runtime API on a free port and waits until it listens.
    pub fn start() -> Result<Self, String> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let child = cargo_lambda()?
            .args(["watch", "--only-lambda-apis", "-A", "127.0.0.1", "-P"])
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start cargo lambda watch: {e}"))?;
        let watch = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return Err("cargo lambda watch did not open its Runtime API in 30 s".to_owned());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(watch)
    }

    /// `AWS_LAMBDA_RUNTIME_API` for a function started by hand against this watch.
    pub fn runtime_api(&self) -> String {
        format!("http://127.0.0.1:{}/.rt", self.port)
    }

    /// `cargo lambda invoke` with an event file (and a client context file, if given), relative
    /// to the workspace; returns the function's JSON answer.
    pub fn invoke(&self, event: &str, client_context: Option<&str>) -> Result<Value, String> {
        let mut command = cargo_lambda()?;
        command
            .args(["invoke", "-A", "127.0.0.1", "-P"])
            .arg(self.port.to_string())
            .args(["--output-format", "json", "--data-file", event]);
        if let Some(context) = client_context {
            command.args(["--client-context-file", context]);
        }
        let out = command
            .arg("_")
            .output()
            .map_err(|e| format!("cannot run cargo lambda invoke: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "cargo lambda invoke failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        serde_json::from_slice(&out.stdout).map_err(|e| {
            format!(
                "cargo lambda invoke printed no JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
