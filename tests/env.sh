# Shared setup for tests/run.sh and tests/demo.sh: a local Python environment with the
# emulator and tools, and settings that keep every AWS call on 127.0.0.1.
# shellcheck shell=bash

step() { printf '\n==> %s\n' "$*"; }

# Debug builds of the AWS SDK crates are heavy: no incremental state, no debug info.
export CARGO_INCREMENTAL=0
# Never reach a real AWS endpoint or the instance metadata service.
export AWS_EC2_METADATA_DISABLED=true
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
unset AWS_PROFILE AWS_SESSION_TOKEN

VENV="$PWD/.venv"
REQUIREMENTS="tests/requirements.txt"
if [ ! -x "$VENV/bin/python" ] || ! cmp -s "$REQUIREMENTS" "$VENV/.installed-requirements"; then
  step "installing Python tools into .venv (moto, cfn-lint, cargo-lambda, cvc5)"
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
  cp "$REQUIREMENTS" "$VENV/.installed-requirements"
fi
# `guard prove` runs `cvc5` (or `$CVC5`): a launcher for the shim over the wheel's Python API.
# Written every time, so it follows the checkout if it moves.
printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$VENV/bin/python" \
  "$PWD/crates/guard_cli/solver/cvc5_shim.py" >"$VENV/bin/cvc5"
chmod +x "$VENV/bin/cvc5"
export PATH="$VENV/bin:$PATH"
