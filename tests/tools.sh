# The project's tools on PATH, and nothing else: a local Python environment (.venv) with the
# AWS emulator, cfn-lint, cargo-lambda and the cvc5 solver `guard prove` runs.
#
#   source tests/tools.sh
#
# It leaves your AWS settings alone (credentials, profile, region), so the same shell can
# `sam deploy`. tests/env.sh adds the test sandbox on top of it.
# shellcheck shell=bash

step() { printf '\n==> %s\n' "$*"; }

# Debug builds of the AWS SDK crates are heavy: no incremental state, no debug info.
export CARGO_INCREMENTAL=0

VENV="$PWD/.venv"
REQUIREMENTS="tests/requirements.txt"
if [ ! -x "$VENV/bin/python" ] || ! cmp -s "$REQUIREMENTS" "$VENV/.installed-requirements"; then
  step "installing Python tools into .venv (moto, cfn-lint, cargo-lambda, cvc5)"
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
  cp "$REQUIREMENTS" "$VENV/.installed-requirements"
fi
# `guard prove` runs `cvc5` (or `$CVC5`): a launcher for the shim over the wheel's Python API.
# It finds both from where it is called (.venv/bin/cvc5 of a checkout), so a moved checkout, or
# a copy that links the same .venv, runs its own shim.
printf '%s\n' '#!/bin/sh' 'here=$(dirname "$0")' \
  'exec "$here/python" "$here/../../crates/guard_cli/solver/cvc5_shim.py" "$@"' >"$VENV/bin/cvc5"
chmod +x "$VENV/bin/cvc5"
export PATH="$VENV/bin:$PATH"
