//! Every `sh offline` block of the repository's Markdown, run as written — in order, each in a
//! fresh `bash` — in a copy of the workspace, as a newcomer pastes them: writing and testing
//! policies, proofs, replay of the sample records, `guard new-tool` (whose tool is then built
//! and tested there), and local invoke against the emulator.
//!
//! The copy links the workspace's `target/` and `.venv/`, so nothing the test command built is
//! built again but the workspace's own crates at their new path. Its `cargo` runs write the
//! `guard` binary into the shared `target/debug/`, so this runs on its own, before the suite
//! (`tests/run.sh`), never beside tests that run that binary; hence `#[ignore]`.
//!
//! Two substitutions, both about the machine rather than the commands: the fixed loopback ports
//! of the local-invoke block (5000, 9000) become free ones, and each block's background jobs are
//! ended when it exits, even when it fails.

#![expect(
    clippy::unwrap_used,
    reason = "a test helper that cannot do its job fails the test"
)]

use std::{
    io::Read,
    net::TcpListener,
    os::unix::process::CommandExt,
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use e2e::{
    docs::{self, Block},
    emulator::workspace,
};

/// Longer than any block takes on a loaded 2-core machine (the generated tool's first build).
const BLOCK_TIMEOUT: Duration = Duration::from_secs(20 * 60);

/// Copies the workspace at `from` to `to`, leaving out what is built or installed, and links
/// `target/` and `.venv/` back to the workspace's. Symbolic links stay links.
fn copy_workspace(from: &Path, to: &Path) {
    copy_dir(from, to, true);
    for shared in ["target", ".venv"] {
        std::os::unix::fs::symlink(from.join(shared), to.join(shared)).unwrap();
    }
}

fn copy_dir(from: &Path, to: &Path, top: bool) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if top && matches!(name.to_str(), Some("target" | ".venv" | ".git")) {
            continue;
        }
        let (source, target) = (entry.path(), to.join(&name));
        let kind = entry.file_type().unwrap();
        if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&source).unwrap(), &target).unwrap();
        } else if kind.is_dir() {
            copy_dir(&source, &target, false);
        } else {
            std::fs::copy(&source, &target).unwrap();
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The block's text with its fixed ports on free ones.
fn on_free_ports(text: &str) -> String {
    let (emulator, runtime_api) = (free_port(), free_port());
    text.replace(":5000", &format!(":{emulator}"))
        .replace("--port 5000", &format!("--port {emulator}"))
        .replace(":9000", &format!(":{runtime_api}"))
        .replace("-P 9000", &format!("-P {runtime_api}"))
}

/// Runs `block` in `dir` with `bash -e -o pipefail`, in a process group of its own that is
/// killed on timeout; returns its status and everything it said.
fn run(block: &Block, dir: &Path) -> (bool, String) {
    let script = format!(
        "set -eo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n{}",
        on_free_ports(&block.text)
    );
    let mut child = Command::new("bash")
        .args(["-c", &script])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + BLOCK_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let group = format!("-{}", child.id());
            let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let said = format!("{}{}", out.join().unwrap(), err.join().unwrap());
    match status {
        Some(status) => (status.success(), said),
        None => (
            false,
            format!("{said}\n(timed out after {BLOCK_TIMEOUT:?})"),
        ),
    }
}

#[test]
#[ignore = "builds in a copy that shares target/: tests/run.sh runs it alone, before the suite"]
fn every_offline_block_of_the_docs_runs_as_written_in_a_copy_of_the_workspace() {
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("workspace");
    let root = workspace().canonicalize().unwrap();
    copy_workspace(&root, &copy);
    let blocks: Vec<Block> = docs::markdown_files(&copy)
        .iter()
        .flat_map(|file| {
            let text = std::fs::read_to_string(copy.join(file)).unwrap();
            docs::blocks(file, &text)
        })
        .filter(Block::runs_offline)
        .collect();
    assert!(blocks.len() >= 6, "only {} offline blocks", blocks.len());
    for block in &blocks {
        let started = Instant::now();
        let (ok, said) = run(block, &copy);
        println!("--- {} ({:?}):\n{said}", block.at(), started.elapsed());
        assert!(
            ok,
            "{} failed:\n{}\n--- it said:\n{said}",
            block.at(),
            block.text
        );
    }
    // `guard new-tool` formats what it writes: the copy passes the test command's first step.
    let fmt = Command::new("cargo")
        .args(["fmt", "--all", "--", "--check"])
        .current_dir(&copy)
        .output()
        .unwrap();
    assert!(
        fmt.status.success(),
        "{}",
        String::from_utf8_lossy(&fmt.stdout)
    );
}
