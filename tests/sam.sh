#!/usr/bin/env bash
# The SAM CLI this repository is built and tested with: tests/requirements-sam.txt, installed
# into .venv/sam on first use (and again when that file changes). Run every `sam` command
# through it - `tests/sam.sh build`, `tests/sam.sh deploy ...` - not through whatever `sam` is on
# PATH: older SAM CLIs pin an aws-lambda-builders whose Rust builder fails `sam build` on this
# workspace's layout (one crate per function in a Cargo workspace).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SAM_VENV="$ROOT/.venv/sam"
REQUIREMENTS="$ROOT/tests/requirements-sam.txt"
if [ ! -x "$SAM_VENV/bin/sam" ] || ! cmp -s "$REQUIREMENTS" "$SAM_VENV/.installed-requirements"; then
  echo "installing the pinned SAM CLI into $SAM_VENV" >&2
  python3 -m venv "$SAM_VENV"
  "$SAM_VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
  cp "$REQUIREMENTS" "$SAM_VENV/.installed-requirements"
fi
other="$(command -v sam || true)"
if [ -n "$other" ] && [ "$other" != "$SAM_VENV/bin/sam" ]; then
  echo "note: $other is on PATH; using the pinned SAM CLI $SAM_VENV/bin/sam" \
    "($(grep '^aws-sam-cli==' "$REQUIREMENTS"), $(grep '^aws_lambda_builders==' "$REQUIREMENTS")) instead" >&2
fi
export SAM_CLI_TELEMETRY=0
exec "$SAM_VENV/bin/sam" "$@"
