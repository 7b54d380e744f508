"""Issue 24, proofs at scale: `guard prove` on the shipped policies and on the shipped policies
plus generated ones (1,000 by default), each invariant's time as the command reports it.

The generated policies are what a team's set grows into: permits narrower than the shipped ones
(a named instance or service, in staging or dev, the claim matching the resource's tag) and
forbids (a service, a team's resources, a log group, a caller), over the four tools, half in
the gateway set and half in the resource set, in a temporary copy of `policies/`. Each keeps
every shipped invariant true, so the run ends `N proved, 0 failed` as a team's CI must; a
failed invariant is reported, not hidden.

Needs `cvc5` on PATH (`source tests/env.sh`). Figures are reported, never asserted: the exit
status is 0 whatever the verdicts, unless `guard prove` could not run at all.

Usage: python tests/bench/prove_scale.py target/release/guard policies [--generated 1000]
                                         [--json target/bench/prove.json]
"""

import argparse
import json
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

RESTART = 'AgentCore::Action::"restart-service___restart_service"'
TERMINATE = 'AgentCore::Action::"terminate-instance___terminate_instance"'
CLEAN_LOGS = 'AgentCore::Action::"clean-logs___clean_logs"'

# One template per kind, over the four tools: gateway policies are templates linked to the
# configured gateway (`resource == ?resource`), as the shipped ones are.
GATEWAY = [
    # A named instance, in dev only.
    """permit (principal, action == {terminate}, resource == ?resource)
when {{ context.input has instance_id && context.input.instance_id == "i-gen{i:05d}" &&
       context.input has environment && context.input.environment == "dev" }};""",
    # A service nobody restarts.
    """forbid (principal, action == {restart}, resource == ?resource)
when {{ context.input has service && context.input.service == "svc-gen{i}" }};""",
    # A caller who may not clean logs.
    """forbid (principal is AgentCore::OAuthUser, action == {clean_logs}, resource == ?resource)
when {{ principal.hasTag("username") && principal.getTag("username") == "user-gen{i}" }};""",
    # A named service, in staging only.
    """permit (principal, action == {restart}, resource == ?resource)
when {{ context.input has service && context.input.service == "svc-gen{i}" &&
       context.input has environment && context.input.environment == "staging" }};""",
]
RESOURCE = [
    # A team's instances are never terminated.
    """forbid (principal, action == Guard::Action::"terminate_instance", resource is Guard::Ec2Instance)
when {{ resource.hasTag("team") && resource.getTag("team") == "team-gen{i}" }};""",
    # A named dev service, the claim matching its tag.
    """permit (principal, action == Guard::Action::"restart_service", resource is Guard::EcsService)
when {{ resource.name == "svc-gen{i}" && resource.hasTag("environment") &&
       resource.getTag("environment") == "dev" && context.input has environment &&
       context.input.environment == "dev" }};""",
    # A log group nobody cleans.
    """forbid (principal, action == Guard::Action::"clean_logs", resource is Guard::LogGroup)
when {{ resource.name == "/app/gen-{i}" }};""",
    # A team's staging log groups.
    """permit (principal, action == Guard::Action::"clean_logs", resource is Guard::LogGroup)
when {{ resource.hasTag("environment") && resource.getTag("environment") == "staging" &&
       resource.hasTag("team") && resource.getTag("team") == "team-gen{i}" }};""",
]


def generated(count: int) -> tuple[str, str]:
    """`count` policies: the gateway file's text and the resource file's."""
    gateway, resource = [], []
    for i in range(count):
        kinds, out = (GATEWAY, gateway) if i % 2 == 0 else (RESOURCE, resource)
        template = kinds[(i // 2) % len(kinds)]
        text = template.format(i=i, restart=RESTART, terminate=TERMINATE, clean_logs=CLEAN_LOGS)
        out.append(f'@id("generated_{i:04d}")\n{text}\n')
    return "\n".join(gateway), "\n".join(resource)


def policy_count(directory: Path) -> int:
    """Policies in the gateway and resource sets (one `@id` each)."""
    return sum(p.read_text().count("@id(") for d in ("gateway", "resource")
               for p in (directory / d).glob("*.cedar"))


VERDICT = re.compile(r"^(PROVED|FAILED) ([^:\s]+):")
MILLIS = re.compile(r"\((\d+) ms\)")


def prove(guard: Path, directory: Path, name: str) -> dict[str, Any]:
    """Runs `guard --policies DIR prove`; its verdicts and times, and the command's wall time."""
    started = time.perf_counter()
    done = subprocess.run([str(guard), "--policies", str(directory), "prove"],
                          capture_output=True, text=True)
    wall_ms = (time.perf_counter() - started) * 1000
    invariants = []
    reported_total = None
    for line in done.stdout.splitlines():
        verdict = VERDICT.match(line)
        times = MILLIS.findall(line)
        if verdict and times:
            invariants.append({"id": verdict.group(2), "proved": verdict.group(1) == "PROVED",
                               "ms": float(times[-1])})
        elif line.startswith("total ") and line.endswith(" ms"):
            reported_total = float(line.split()[1])
    if not invariants:
        raise SystemExit(f"guard prove on {directory} reported no invariant "
                         f"(exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
    return {"name": name, "policies": policy_count(directory), "exit_code": done.returncode,
            "total_ms": wall_ms, "reported_total_ms": reported_total, "invariants": invariants,
            "summary": done.stdout.strip().splitlines()[-1]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("guard", type=Path, help="the guard binary")
    parser.add_argument("policies", type=Path, help="the shipped policies directory")
    parser.add_argument("--generated", type=int, default=1000, help="policies to add")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args()

    runs = [prove(args.guard, args.policies, "shipped set")]
    with tempfile.TemporaryDirectory(prefix="prove-scale-") as tmp:
        copy = Path(tmp) / "policies"
        shutil.copytree(args.policies, copy)
        gateway, resource = generated(args.generated)
        (copy / "gateway" / "generated.cedar").write_text(gateway)
        (copy / "resource" / "generated.cedar").write_text(resource)
        runs.append(prove(args.guard, copy, f"shipped set + {args.generated:,} generated"))

    for run in runs:
        times = [i["ms"] for i in run["invariants"]]
        print(f"{run['name']}: {run['policies']} policies, {len(times)} invariants, "
              f"{run['total_ms']:.0f} ms in all, {sum(times) / len(times):.0f} ms per invariant "
              f"(slowest {max(times):.0f} ms); {run['summary']}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"solver": "cvc5 (crates/guard_cli/solver/cvc5_shim.py)",
                                         "runs": runs}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
