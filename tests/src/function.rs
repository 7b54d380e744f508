//! A built function, run as Lambda runs it: its binary, pointed at a Runtime API.

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
};

use serde_json::Value;

/// The gateway ARN the functions are linked to in tests and in the demo.
pub const GATEWAY_ARN: &str = guard::EXAMPLE_GATEWAY_ARN;

/// The id of that gateway, as its client contexts name it.
pub const GATEWAY_ID: &str = "gw-xyz789";

/// Where the built binaries are: the profile directory this program runs from (a test binary
/// runs from its `deps/` directory inside it).
pub fn binary(name: &str) -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut dir = exe.parent().ok_or("no target directory")?;
    if dir.ends_with("deps") {
        dir = dir.parent().ok_or("no target directory")?;
    }
    let path = dir.join(name);
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "{} is not built: run `cargo build --workspace` (tests/run.sh does)",
            path.display()
        ))
    }
}

/// A running function process. Stops when dropped.
pub struct Function {
    child: Child,
    stdout: Arc<Mutex<Vec<String>>>,
}

impl Function {
    /// Starts binary `name` against the Runtime API at `api` with `env` (and nothing inherited
    /// from this process but `PATH`).
    pub fn start(name: &str, api: &str, env: &[(String, String)]) -> Result<Self, String> {
        let mut command = Command::new(binary(name)?);
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", api)
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_LEVEL", "INFO")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start `{name}`: {e}"))?;
        let stdout = Arc::new(Mutex::new(Vec::new()));
        if let Some(out) = child.stdout.take() {
            let lines = stdout.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    if let Ok(mut l) = lines.lock() {
                        l.push(line);
                    }
                }
            });
        }
        Ok(Self { child, stdout })
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The audit records, once at least `count` have been written (or after 5 s): a record is
    /// written before the answer is sent, but read from the pipe on another thread.
    pub fn audit_records_at_least(&self, count: usize) -> Vec<Value> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let records = self.audit_records();
            if records.len() >= count || std::time::Instant::now() > deadline {
                return records;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// Every line the function has written to stdout so far, as its log stream keeps them
    /// (the audit records are JSON lines among them).
    pub fn log_lines(&self) -> Vec<String> {
        self.stdout
            .lock()
            .map(|lines| lines.clone())
            .unwrap_or_default()
    }

    /// The whole JSON lines the audit records came in: each also a CloudWatch Embedded Metric
    /// Format document, the metrics the operator sees.
    pub fn metric_lines(&self) -> Vec<Value> {
        self.json_lines()
            .filter(|v| v.get("_aws").is_some())
            .collect()
    }

    /// The audit records the function has written so far.
    pub fn audit_records(&self) -> Vec<Value> {
        self.json_lines()
            .filter_map(|v| v.get("guard_audit").cloned())
            .collect()
    }

    /// The records of approval requests made and approvals used the function has written so
    /// far (`guard::ControlRecord`, one JSON line each).
    pub fn control_records(&self) -> Vec<Value> {
        self.json_lines()
            .filter_map(|v| v.get("guard_control").cloned())
            .collect()
    }

    /// The stdout lines that are JSON documents.
    fn json_lines(&self) -> impl Iterator<Item = Value> {
        self.log_lines()
            .into_iter()
            .filter_map(|l| serde_json::from_str::<Value>(&l).ok())
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
