"""The cedarpy side of issue 14's comparison: the guard's full Cedar decision against cedarpy.

The issue asks that the guard's "known caller" gateway decision (the criterion benchmark
`guard_decision/known_caller` in crates/guard/benches/decision.rs) be >= 10x faster than a
`cedarpy.is_authorized` call and >= 5x faster per request than `cedarpy.is_authorized_batch`,
on the same policies and request. This script times cedarpy on that request: the gateway
policies as `guard render` prints them (static, linked to the example gateway), the schema
policies/schema/agentcore.cedarschema, principal OAuthUser "agent-7" with its tags. It first
checks that cedarpy allows the request and denies the same request for an environment no policy
permits (`qa`; production restart claims pass the gateway since approvals, issue 21), so the
figures cannot come from a misconfigured setup.

cedarpy is timed at its best: policies, schema and entities parsed once into its reusable
handles (PolicySet, Schema, Entities), so every call pays only the request and the decision.
The same figures with text arguments (re-parsed on every call) are printed and saved too.

Usage: python tests/bench/cedarpy_compare.py target/debug/guard policies [--json out.json]
(the first argument may also be a file holding `guard render`'s output).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any, Callable

import cedarpy

# guard::EXAMPLE_GATEWAY_ARN (crates/guard/src/lib.rs); passed to `guard render` as well.
GATEWAY_ARN = "arn:aws:bedrock-agentcore:us-west-2:123456789012:gateway/gw-xyz789"
ACTION = 'AgentCore::Action::"restart-service___restart_service"'
ENTITIES: list[dict[str, Any]] = [{
    "uid": {"type": "AgentCore::OAuthUser", "id": "agent-7"},
    "attrs": {"id": "agent-7"},
    "parents": [],
    "tags": {"scope": "devops", "username": "ops-agent"},
}]


def request(environment: str) -> dict[str, Any]:
    """The benchmark's request; the resource as a {type, id} dict (the ARN needs no escaping
    either way, but the dict form is cedarpy's documented way to skip surface syntax)."""
    return {
        "principal": 'AgentCore::OAuthUser::"agent-7"',
        "action": ACTION,
        "resource": {"type": "AgentCore::Gateway", "id": GATEWAY_ARN},
        "context": {"input": {"environment": environment, "service": "api-gateway"}},
    }


def rendered_policies(source: Path, policies_dir: Path) -> str:
    """`guard render`'s static gateway policies: run the binary, or read its saved output."""
    if source.is_file() and os.access(source, os.X_OK):
        command = [str(source), "render", "--policies", str(policies_dir),
                   "--gateway-arn", GATEWAY_ARN]
        return subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return source.read_text()


def median_ns(run: Callable[[], None], count: int, repetitions: int) -> float:
    """Median over `repetitions` of the mean time of one of `count` runs, in nanoseconds."""
    times = []
    for _ in range(repetitions):
        start = time.perf_counter_ns()
        for _ in range(count):
            run()
        times.append((time.perf_counter_ns() - start) / count)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("guard", type=Path, help="the guard binary, or a file of `guard render` output")
    parser.add_argument("policies", type=Path, help="the policies directory (gateway/, schema/)")
    parser.add_argument("--calls", type=int, default=200, help="calls per repetition (per call)")
    parser.add_argument("--batch-size", type=int, default=1000, help="requests per batch")
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args()

    policy_text = rendered_policies(args.guard, args.policies)
    # cedarpy takes the .cedarschema text as is (Schema.from_str; is_authorized also accepts
    # the text itself). With a schema, it validates the request's context against the action.
    schema_text = (args.policies / "schema" / "agentcore.cedarschema").read_text()
    schema = cedarpy.Schema.from_str(schema_text)
    validation = cedarpy.validate_policies(policy_text, schema)
    if not validation:
        sys.exit(f"the rendered policies do not validate: {[str(e) for e in validation.errors]}")
    policies = cedarpy.PolicySet.from_str(policy_text)
    if len(policies) == 0:
        sys.exit(f"no policies in {args.guard}")
    entities_text = json.dumps(ENTITIES)
    entities = cedarpy.Entities.from_json_str(entities_text, schema)
    forms: dict[str, tuple[Any, Any, Any]] = {
        "handles": (policies, entities, schema),
        "text": (policy_text, entities_text, schema_text),
    }

    for form, (p, e, s) in forms.items():
        for environment, expected in (("staging", "Allow"), ("qa", "Deny")):
            result = cedarpy.is_authorized(request(environment), p, e, s)
            if result.decision.value != expected:
                sys.exit(f"cedarpy ({form}) decided {result.decision.value} for {environment}, "
                         f"expected {expected}; errors: {result.diagnostics.errors}")
            reasons = list(result.diagnostics.id_annotations_by_reason.values())
            if expected == "Allow" and reasons != ["allow_restart_staging_dev"]:
                sys.exit(f"cedarpy ({form}) allowed by {reasons}, not allow_restart_staging_dev")

    allow = request("staging")
    batch = [allow] * args.batch_size
    figures: dict[str, Any] = {"cedarpy_version": version("cedarpy"), "batch_size": args.batch_size}
    for form, (p, e, s) in forms.items():
        def one() -> None:
            cedarpy.is_authorized(allow, p, e, s)

        def many() -> None:
            cedarpy.is_authorized_batch(batch, p, e, s)

        median_ns(one, args.calls, 1)  # warm-up
        per_call = median_ns(one, args.calls, args.repetitions) / 1000
        many()  # warm-up
        per_request = median_ns(many, 1, args.repetitions) / args.batch_size / 1000
        suffix = "" if form == "handles" else "_text"
        figures[f"per_call_us{suffix}"] = per_call
        figures[f"batch_per_request_us{suffix}"] = per_request
        print(f"cedarpy {figures['cedarpy_version']} ({form}) is_authorized: {per_call:.1f} µs per call "
              f"(median of {args.repetitions} x {args.calls})")
        print(f"cedarpy {figures['cedarpy_version']} ({form}) is_authorized_batch: {per_request:.2f} µs "
              f"per request (batch of {args.batch_size}, median of {args.repetitions})")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
