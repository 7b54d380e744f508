//! One measured start: a local Runtime API on 127.0.0.1, the binary spawned against it, the
//! time until its first poll, its peak RSS while it waits for an invocation.

use std::{
    io::{self, BufRead, BufReader, Read},
    net::{Ipv4Addr, TcpListener, TcpStream},
    path::Path,
    process::{Child, Command, ExitStatus, Stdio},
    sync::mpsc::{self, RecvTimeoutError},
    thread::{self, JoinHandle},
    time::{Duration, Instant},
};

use crate::{args::Binary, environment};

/// The first request every runtime makes: the poll for the next invocation.
pub const NEXT_INVOCATION: &str = "/2018-06-01/runtime/invocation/next";

/// What one start measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Start {
    /// From just before `spawn` to the arrival of the poll's request line.
    pub init: Duration,
    /// `VmHWM` while the binary waits for its first invocation, in KiB.
    pub peak_rss_kib: u64,
}

/// Why a start could not be measured.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// The local Runtime API could not be set up.
    #[error("the local Runtime API on 127.0.0.1 failed: {0}")]
    RuntimeApi(#[source] io::Error),
    /// The binary did not start.
    #[error("`{path}` did not start: {source}")]
    Spawn {
        /// The executable.
        path: String,
        /// Why.
        source: io::Error,
    },
    /// The binary ended before polling.
    #[error("it exited ({status}) before polling the Runtime API; its output:\n{output}")]
    Exited {
        /// How it ended.
        status: ExitStatus,
        /// Its stdout and stderr.
        output: String,
    },
    /// The binary did not poll in time.
    #[error("it did not poll the Runtime API within {timeout:?}; its output:\n{output}")]
    TimedOut {
        /// The limit.
        timeout: Duration,
        /// Its stdout and stderr.
        output: String,
    },
    /// The first request was not the poll for the next invocation.
    #[error("its first request was `{0}`, not `GET {NEXT_INVOCATION}`")]
    UnexpectedRequest(String),
    /// It logged a warning or an error while starting: it would not start as deployed.
    #[error("it logged a problem while starting (misconfigured?): {0}")]
    LoggedProblem(String),
    /// Its peak RSS could not be read.
    #[error("its peak RSS could not be read from /proc/{pid}/status")]
    NoPeakRss {
        /// The process.
        pid: u32,
    },
    /// Its output stayed open after it was killed.
    #[error(
        "its stdout or stderr stayed open after it (pid {pid}) was killed: a process it started \
         still holds them (a wrapper such as strace that leaves its tracee running?)"
    )]
    OutputHeld {
        /// The process.
        pid: u32,
    },
    /// Waiting on the process failed.
    #[error("waiting for it failed: {0}")]
    Wait(#[source] io::Error),
}

/// Starts `binary` once, with KMS at `kms_endpoint`, and measures it. The binary is killed and
/// reaped before this returns.
pub fn measure(
    binary: &Binary,
    timeout: Duration,
    kms_endpoint: &str,
) -> Result<Start, LaunchError> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(LaunchError::RuntimeApi)?;
    let port = listener
        .local_addr()
        .map_err(LaunchError::RuntimeApi)?
        .port();
    let (polled, poll) = mpsc::channel();
    let runtime_api = thread::spawn(move || {
        // The receiver is gone only when the start was already given up on.
        let _ = polled.send(first_request_line(&listener, timeout));
    });

    let mut command = Command::new(&binary.path);
    command
        .env_clear()
        .envs(environment::for_binary(&binary.name, port, kms_endpoint))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let spawned_at = Instant::now();
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(source) => {
            release(port, runtime_api);
            return Err(LaunchError::Spawn {
                path: binary.path.display().to_string(),
                source,
            });
        }
    };
    let (drained, output) = mpsc::channel();
    drain(child.stdout.take(), drained.clone());
    drain(child.stderr.take(), drained);

    let waited = wait_for_poll(&mut child, &poll, spawned_at + timeout);
    // Work a binary goes on with after its first poll (a tool builds its guard beside the
    // start-up) counts in its peak RSS, and what it logs meanwhile in its output.
    if waited.is_ok() {
        thread::sleep(SETTLE);
    }
    // Read while the binary waits for its invocation, before it is killed.
    let peak_rss_kib = std::fs::read_to_string(format!("/proc/{}/status", child.id()))
        .ok()
        .and_then(|status| peak_rss_kib(&status));
    let pid = child.id();
    // The binary may have exited already; either way it is reaped here.
    let _ = child.kill();
    let reaped = child.wait().map_err(LaunchError::Wait);
    release(port, runtime_api);
    reaped?;
    // Both pipes close when the binary is gone, unless a process it started holds them.
    let output_deadline = Instant::now() + OUTPUT_GRACE;
    let output = (0..2)
        .map(|_| output.recv_timeout(output_deadline.saturating_duration_since(Instant::now())))
        .collect::<Result<Vec<String>, _>>()
        .map_err(|_| LaunchError::OutputHeld { pid })?
        .join("");

    let Poll { line, arrived, .. } = match waited {
        Ok(Polled::Request(request)) => request.map_err(LaunchError::RuntimeApi)?,
        Ok(Polled::Exited(status)) => return Err(LaunchError::Exited { status, output }),
        Err(()) => return Err(LaunchError::TimedOut { timeout, output }),
    };
    if !is_next_invocation(&line) {
        return Err(LaunchError::UnexpectedRequest(line));
    }
    if let Some(problem) = logged_problem(&output, &binary.tolerated) {
        return Err(LaunchError::LoggedProblem(problem.to_owned()));
    }
    Ok(Start {
        init: arrived.saturating_duration_since(spawned_at),
        peak_rss_kib: peak_rss_kib.ok_or(LaunchError::NoPeakRss { pid })?,
    })
}

/// The first request of a binary.
struct Poll {
    /// Its request line.
    line: String,
    /// When the line was complete.
    arrived: Instant,
    /// Its connection, kept open until the binary is killed: a runtime whose poll is cut off
    /// logs an error and polls again.
    _connection: TcpStream,
}

type Request = io::Result<Poll>;

enum Polled {
    Request(Request),
    Exited(ExitStatus),
}

/// Waits for the Runtime API thread's request line, the binary's exit, or `deadline` (`Err`).
fn wait_for_poll(
    child: &mut Child,
    poll: &mpsc::Receiver<Request>,
    deadline: Instant,
) -> Result<Polled, ()> {
    loop {
        match poll.recv_timeout(Duration::from_millis(20)) {
            Ok(request) => return Ok(Polled::Request(request)),
            Err(RecvTimeoutError::Disconnected) => {
                return Ok(Polled::Request(Err(io::Error::other(
                    "the Runtime API thread ended without a request",
                ))));
            }
            Err(RecvTimeoutError::Timeout) => {}
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Ok(Polled::Exited(status));
        }
        if Instant::now() >= deadline {
            return Err(());
        }
    }
}

/// Accepts one connection and reads its request line; the instant is taken as soon as the
/// line is complete.
fn first_request_line(listener: &TcpListener, timeout: Duration) -> Request {
    let (connection, _) = listener.accept()?;
    connection.set_read_timeout(Some(timeout))?;
    let mut line = String::new();
    BufReader::new(&connection).read_line(&mut line)?;
    let arrived = Instant::now();
    Ok(Poll {
        line: line.trim_end().to_owned(),
        arrived,
        _connection: connection,
    })
}

/// Waits for the Runtime API thread, first unblocking it if it still waits in `accept` (its
/// binary never called).
fn release(port: u16, runtime_api: JoinHandle<()>) {
    if !runtime_api.is_finished() {
        // Connected and closed at once: the thread reads an empty request and ends.
        drop(TcpStream::connect((Ipv4Addr::LOCALHOST, port)));
    }
    let _ = runtime_api.join();
}

/// How long a binary is left to run after its first poll before its peak RSS is read.
const SETTLE: Duration = Duration::from_millis(200);

/// How long a killed binary's output may take to close.
const OUTPUT_GRACE: Duration = Duration::from_secs(2);

/// Reads a pipe to its end on a thread of its own, so a talkative binary never blocks on it,
/// and sends what it read to `drained`.
fn drain(pipe: Option<impl Read + Send + 'static>, drained: mpsc::Sender<String>) {
    thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            text = String::from_utf8_lossy(&bytes).into_owned();
        }
        // The receiver is gone only when the output was given up on.
        let _ = drained.send(text);
    });
}

/// Whether `line` is the request line of the poll for the next invocation.
pub fn is_next_invocation(line: &str) -> bool {
    let mut parts = line.split_whitespace();
    parts.next() == Some("GET")
        && parts
            .next()
            .is_some_and(|target| target.ends_with(NEXT_INVOCATION))
}

/// `VmHWM` (the peak resident set) from the text of `/proc/<pid>/status`, in KiB.
pub fn peak_rss_kib(status: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let value = line.strip_prefix("VmHWM:")?.trim();
        value.strip_suffix("kB")?.trim().parse().ok()
    })
}

/// The first log line at WARN or ERROR in a binary's output that contains none of the
/// `tolerated` texts: `lambda_runtime`'s subscriber writes JSON (`"level":"ERROR"`) or text
/// (`ERROR message`). A function that starts as deployed logs neither; the tools log their
/// configuration problems this way.
pub fn logged_problem<'a>(output: &'a str, tolerated: &[String]) -> Option<&'a str> {
    output.lines().find(|line| {
        if tolerated.iter().any(|text| line.contains(text.as_str())) {
            return false;
        }
        let line = line.trim();
        let json_level = serde_json::from_str::<serde_json::Value>(line)
            .ok()
            .and_then(|record| record.get("level")?.as_str().map(str::to_owned));
        match json_level {
            Some(level) => level == "ERROR" || level == "WARN",
            None => line.starts_with("ERROR") || line.starts_with("WARN"),
        }
    })
}

/// Whether `path` is an executable file (checked before any round, so a typo fails at once).
pub fn check_executable(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let metadata = std::fs::metadata(path)?;
    if metadata.is_file() && metadata.permissions().mode() & 0o111 != 0 {
        Ok(())
    } else {
        Err(io::Error::other("not an executable file"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_poll_is_read_and_its_connection_left_open() {
        use std::io::Write;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let mut runtime = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        runtime
            .write_all(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let poll = first_request_line(&listener, Duration::from_secs(5)).unwrap();
        assert_eq!(
            poll.line,
            "GET /2018-06-01/runtime/invocation/next HTTP/1.1"
        );
        // Still waiting for its invocation: no answer, and no end of the connection either.
        runtime
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let read = runtime.read(&mut [0; 16]);
        assert!(
            read.as_ref().is_err_and(|e| matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            )),
            "{read:?}"
        );
        drop(poll);
        assert_eq!(runtime.read(&mut [0; 16]).unwrap(), 0);
    }

    #[test]
    fn peak_rss_is_read_from_vmhwm() {
        let status =
            "Name:\ttool\nVmPeak:\t  900000 kB\nVmHWM:\t   13312 kB\nVmRSS:\t   13000 kB\n";
        assert_eq!(peak_rss_kib(status), Some(13312));
        assert_eq!(peak_rss_kib("Name:\tzombie\n"), None);
        assert_eq!(peak_rss_kib("VmHWM:\t lots kB\n"), None);
    }

    #[test]
    fn only_the_next_invocation_poll_counts_as_the_first_call() {
        assert!(is_next_invocation(
            "GET /2018-06-01/runtime/invocation/next HTTP/1.1"
        ));
        assert!(is_next_invocation(
            "GET /.rt/fn/2018-06-01/runtime/invocation/next HTTP/1.1"
        ));
        assert!(!is_next_invocation(
            "POST /2018-06-01/runtime/init/error HTTP/1.1"
        ));
        assert!(!is_next_invocation(""));
    }

    #[test]
    fn warnings_and_errors_in_the_log_are_problems() {
        let json_error = r#"{"level":"ERROR","fields":{"message":"the function is misconfigured: every call is refused"}}"#;
        let output = format!("{{\"level\":\"INFO\",\"fields\":{{}}}}\n{json_error}\n");
        assert_eq!(logged_problem(&output, &[]), Some(json_error));
        assert_eq!(logged_problem(&output, &["misconfigured".to_owned()]), None);
        assert_eq!(
            logged_problem(
                " WARN BUDGETS=OFF: budgets over time are not enforced\n",
                &[]
            ),
            Some(" WARN BUDGETS=OFF: budgets over time are not enforced")
        );
        assert_eq!(
            logged_problem(" INFO started\n{\"level\":\"INFO\"}\n", &[]),
            None
        );
        assert_eq!(logged_problem("", &[]), None);
    }
}
