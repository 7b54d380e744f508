#!/usr/bin/env bash
# The benchmark command (README "Performance"): every figure beside its reference, in one run.
#
# - criterion, release profile: Cedar alone / the guard's decisions on the same requests / guard
#   construction (crates/guard/benches/decision.rs);
# - criterion, release profile: verifying the caller assertion / a bare P-256 verify of the same
#   signing input / the arguments' digest / the guard's decision on the same call
#   (crates/caller/benches/verify.rs);
# - criterion, release profile: the stop switch read from its cache / uncached through the SDK
#   (mocked); the approval check without its DynamoDB round trips / may_approve / Cedar alone on
#   the same request (crates/oversight/benches/oversight.rs);
# - criterion, release profile: the interceptor's REQUEST path (event bytes in, token verified
#   with the configured JWKS, decided, assertion signed with a local key, answer bytes out), its
#   pieces, the KMS signer with `Sign` mocked / a bare `is_authorized` on the same request
#   (crates/authorizer/benches/interceptor.rs);
# - cold start: the four tools, the authorizer, a lambda_runtime hello world and an SDK hello
#   world, built with the shipped release profile, each started 20 times (interleaved) against
#   a local Runtime API on 127.0.0.1, timed from process start to its first
#   `GET /invocation/next`; peak RSS and the zipped `bootstrap` size (crates/coldstart);
# - cedarpy (into .venv) on the same policies and request (tests/bench/cedarpy_compare.py);
# - `guard prove` on the shipped policies and on them plus 100 and 1,000 generated ones, each
#   invariant's time, 10 minutes at most per run (tests/bench/prove_scale.py; cvc5 from .venv).
# Then one table of ratios against the targets (tests/bench/report.py), printed and written as
# target/bench/report.md and report.json with the machine and the date. Figures are reported,
# never asserted: a missed target is marked, and the command still succeeds.
#
# Needs what the test command needs; the release builds take 20-30 minutes from clean on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/env.sh

BENCH_REQUIREMENTS="tests/bench/requirements.txt"
if ! cmp -s "$BENCH_REQUIREMENTS" "$VENV/.installed-bench-requirements"; then
  step "installing cedarpy into .venv"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$BENCH_REQUIREMENTS"
  cp "$BENCH_REQUIREMENTS" "$VENV/.installed-bench-requirements"
fi
OUT="target/bench"
mkdir -p "$OUT"

step "release builds: the four tools, the authorizer, guard and the two references (the shipped profile)"
cargo build --release --locked -p coldstart -p restart_service -p terminate_instance \
  -p clean_logs -p get_metrics -p authorizer -p guard_cli

step "criterion: Cedar alone / guard decisions / guard construction"
cargo bench --locked -p guard --bench decision

step "criterion: caller assertion verify / bare P-256 verify / arguments digest / guard decision"
cargo bench --locked -p caller --bench verify

step "criterion: stop switch cached / uncached; approval check / may_approve / Cedar alone"
cargo bench --locked -p oversight --bench oversight

step "criterion: the interceptor's REQUEST path and its pieces / bare is_authorized"
cargo bench --locked -p authorizer --bench interceptor

step "cold start: 20 interleaved runs of each binary through a local Runtime API"
R=target/release
"$R/coldstart" --runs 20 --json "$OUT/coldstart.json" \
  hello_world="$R/hello_world" sdk_hello_world="$R/sdk_hello_world" \
  restart_service="$R/restart_service" terminate_instance="$R/terminate_instance" \
  clean_logs="$R/clean_logs" get_metrics="$R/get_metrics" authorizer="$R/authorizer"

step "cedarpy on the same policies and request"
"$R/guard" render >"$OUT/rendered.cedar"
python tests/bench/cedarpy_compare.py "$OUT/rendered.cedar" policies --json "$OUT/cedarpy.json"

step "proofs at scale: guard prove on the shipped set and on 100 and 1,000 more policies"
python tests/bench/prove_scale.py "$R/guard" policies --generated 100 1000 --json "$OUT/prove.json"

python tests/bench/report.py --criterion target/criterion --coldstart "$OUT/coldstart.json" \
  --cedarpy "$OUT/cedarpy.json" --prove "$OUT/prove.json" --out "$OUT"
