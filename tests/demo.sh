#!/usr/bin/env bash
# The demo command: the article's 2:37 AM disaster, replayed locally against the AWS emulator,
# through the built functions, and blocked. Exits non-zero if production was touched.
# Needs only: the Rust toolchain, Python 3 with pip, git. Talks only to 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/env.sh

step "building the functions and the demo (debug; the first build takes a few minutes)"
cargo build --workspace --bins --locked

step "what the policies make impossible, proved for every possible request (guard prove)"
# The demo then shows it on one world; its exit status is about that world, so a failed proof
# is shown (with its counterexample) rather than ending the demo.
target/debug/guard prove || echo "!! a proof FAILED: the policies do not guarantee what follows"

step "the demo"
exec target/debug/demo
