#!/usr/bin/env bash
# The test command: everything CI runs, from a fresh clone.
#
# Installs what it needs (Python tools into .venv), starts the AWS emulator on 127.0.0.1, checks
# formatting and lints, runs every test. The output ends with the test runner's summary.
# Needs only: the Rust toolchain, Python 3 with pip, git.
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/env.sh

step "formatting"
cargo fmt --all -- --check

step "lints (clippy, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "doc tests"
cargo test --workspace --doc --locked -q

step "template linters (sam validate --lint; cfn-lint and parliament run in the template test)"
# The pinned SAM CLI (tests/sam.sh installs it into .venv/sam: it pins versions the emulator's
# environment cannot share). Its translator also serves the IAM evaluation (tests/iam).
for t in template.yaml agentcore/gateway.yaml agentcore/targets.yaml agentcore/policies.yaml; do
  tests/sam.sh validate --lint -t "$t"
done

step "IAM evaluator (@cloud-copilot/iam-simulate from npm, as pinned by tests/iam/package-lock.json)"
if ! cmp -s tests/iam/package-lock.json tests/iam/node_modules/.installed-package-lock.json; then
  (cd tests/iam && npm ci --no-audit --no-fund --loglevel=error)
  cp tests/iam/package-lock.json tests/iam/node_modules/.installed-package-lock.json
fi

step "emulator adapter self-check (CloudWatch CBOR <-> moto)"
python tests/emulator/test_adapter.py

step "binaries (the end-to-end tests run every function as built, the approval endpoint too)"
cargo build --workspace --bins --locked

step "proofs (guard prove: every invariant, for every request the schema admits; cvc5 from .venv)"
cargo run --quiet --locked --bin guard -- prove

step "the guide's example tool (Guard your own tool)"
cargo run -q --locked -p agentcore_target --example reboot_instance

# Alone, before the suite: it builds in a copy of the workspace that shares target/ (and writes
# its `guard` there), which must not happen while other tests run that binary. It builds the
# suite first, as the suite would.
step "the docs' offline commands, as written, in a copy of the workspace (guard new-tool included)"
README_TEST=every_offline_block_of_the_docs_runs_as_written_in_a_copy_of_the_workspace
if command -v cargo-nextest >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --run-ignored only --no-capture -E "test(=readme_commands::$README_TEST)"
else
  cargo test --workspace --locked --test e2e -- --ignored --exact "readme_commands::$README_TEST" --nocapture
fi

step "tests"
if command -v cargo-nextest >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast --lib --bins --tests
fi
