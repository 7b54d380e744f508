//! The AWS emulator: moto server with the CloudWatch CBOR adapter (`tests/emulator/server.py`),
//! on 127.0.0.1, one per test (so every test sees only the world it seeded).

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
};

use aws_config::{BehaviorVersion, Region, SdkConfig};

/// The workspace root.
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A running emulator. Stops when dropped.
pub struct Emulator {
    child: Option<Child>,
    url: String,
}

impl Emulator {
    /// Uses `E2E_EMULATOR_URL` if set (an emulator someone else runs), otherwise starts one
    /// with the Python of `.venv` (installed by `tests/run.sh` and `tests/demo.sh`).
    pub fn start() -> Result<Self, String> {
        Self::start_with(&[])
    }

    /// An emulator of its own that appends every request it serves (headers and body) to
    /// `path` as JSON lines: moto's recorder. For tests of what reached AWS, and how signed.
    pub fn start_recording(path: &std::path::Path) -> Result<Self, String> {
        let path = path.to_string_lossy();
        Self::start_with(&[
            ("MOTO_ENABLE_RECORDING", "true"),
            ("MOTO_RECORDER_FILEPATH", &path),
        ])
    }

    fn start_with(env: &[(&str, &str)]) -> Result<Self, String> {
        if env.is_empty()
            && let Ok(url) = std::env::var("E2E_EMULATOR_URL")
        {
            return Ok(Self::at(url));
        }
        let python = workspace().join(".venv/bin/python");
        if !python.exists() {
            return Err(format!(
                "{} is missing: run tests/run.sh, which installs the AWS emulator into .venv",
                python.display()
            ));
        }
        let mut child = Command::new(python)
            .arg(workspace().join("tests/emulator/server.py"))
            .args(["--host", "127.0.0.1", "--port", "0"])
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start the emulator: {e}"))?;
        let mut line = String::new();
        let read = child
            .stdout
            .take()
            .map(|out| BufReader::new(out).read_line(&mut line));
        let url = line.trim().strip_prefix("ready ").map(ToOwned::to_owned);
        match (read, url) {
            (Some(Ok(_)), Some(url)) => Ok(Self {
                child: Some(child),
                url,
            }),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                Err(format!(
                    "the emulator did not start (it said `{}`)",
                    line.trim()
                ))
            }
        }
    }

    /// An emulator someone else started, at `url` (`http://127.0.0.1:5000`); not stopped when
    /// dropped.
    pub fn at(url: impl Into<String>) -> Self {
        Self {
            child: None,
            url: url.into(),
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// SDK configuration for this emulator: its endpoint, a fixed region, test credentials.
    pub async fn sdk_config(&self) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(&self.url)
            .region(Region::new(REGION))
            .credentials_provider(aws_sdk_ec2::config::Credentials::new(
                "testing", "testing", None, None, "e2e",
            ))
            .load()
            .await
    }

    /// The environment a function process needs to reach this emulator, and nothing else:
    /// its endpoint, region and credentials, and the budget table ([`BUDGET_TABLE`]) a seeded
    /// world holds.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("BUDGET_TABLE", BUDGET_TABLE),
            ("AWS_ENDPOINT_URL", self.url.as_str()),
            ("AWS_REGION", REGION),
            ("AWS_DEFAULT_REGION", REGION),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }
}

/// The region everything runs in.
pub const REGION: &str = "us-east-1";

/// The budget table every function is pointed at (`BUDGET_TABLE`); the world creates it
/// ([`crate::world::budget_table`]) when it is seeded.
pub const BUDGET_TABLE: &str = "agent-guard-budgets";

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The account moto serves when given test credentials.
const EMULATOR_ACCOUNT: &str = "123456789012";

/// Ages a log stream in the emulator's backend: its creation and last ingestion become `age`
/// ago (`POST /_seed/log-stream-age`, see `tests/emulator/server.py`). Seeding only: AWS, like
/// the emulator, stamps them with the time events arrive.
pub fn age_log_stream(
    config: &SdkConfig,
    group: &str,
    stream: &str,
    age: std::time::Duration,
) -> Result<(), String> {
    use std::io::{Read, Write};

    let url = config
        .endpoint_url()
        .ok_or("the SDK configuration names no emulator endpoint")?;
    let host = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("emulator endpoint `{url}` is not http://host:port"))?
        .trim_end_matches('/');
    let region = config.region().map(ToString::to_string).unwrap_or_default();
    let body = serde_json::json!({
        "account": EMULATOR_ACCOUNT,
        "region": region,
        "group": group,
        "stream": stream,
        "age_ms": u64::try_from(age.as_millis()).unwrap_or(u64::MAX),
    })
    .to_string();
    let mut connection =
        std::net::TcpStream::connect(host).map_err(|e| format!("emulator at {host}: {e}"))?;
    write!(
        connection,
        "POST /_seed/log-stream-age HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .map_err(|e| format!("emulator at {host}: {e}"))?;
    let mut answer = String::new();
    connection
        .read_to_string(&mut answer)
        .map_err(|e| format!("emulator at {host}: {e}"))?;
    if answer.starts_with("HTTP/1.1 204") || answer.starts_with("HTTP/1.0 204") {
        Ok(())
    } else {
        Err(format!(
            "ageing log stream `{stream}` of `{group}` failed: {}",
            answer.lines().next().unwrap_or_default()
        ))
    }
}
