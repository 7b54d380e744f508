"""Issue 24, proofs at scale: `guard prove` on the shipped policies and on the shipped policies
plus generated ones (100 and 1,000 by default), each invariant's time as the command reports it.

The generated policies are what a team's set grows into: permits narrower than the shipped ones
(a named instance or service, in staging or dev, the claim matching the resource's tag) and
forbids (a service, a team's resources, a log group, a caller), over the four tools, half in
the gateway set and half in the resource set, in a temporary copy of `policies/`. Each keeps
every shipped invariant true, so the run ends `N proved, 0 failed` as a team's CI must; a
failed invariant is reported, not hidden.

Each run gets at most --timeout seconds (default 600, a CI job's patience): a run that has not
finished by then is stopped, and the invariants it proved so far are reported with it.

Needs `cvc5` on PATH (`source tests/env.sh`). Figures are reported, never asserted: the exit
status is 0 whatever the verdicts, unless `guard prove` could not run at all.

Usage: python tests/bench/prove_scale.py target/release/guard policies [--generated 100 1000]
                                         [--timeout 600] [--json target/bench/prove.json]
"""

import argparse
import json
import re
import shutil
import subprocess
import tempfile
import threading
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


def prove(guard: Path, directory: Path, name: str, timeout: float) -> dict[str, Any]:
    """Runs `guard --policies DIR prove` for at most `timeout` seconds; its verdicts and times,
    and the command's wall time."""
    started = time.perf_counter()
    process = subprocess.Popen([str(guard), "--policies", str(directory), "prove"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    # The lines as they come, so a run stopped at its timeout still says what it proved.
    reader = threading.Thread(target=lambda: lines.extend(iter(process.stdout.readline, "")))
    reader.start()
    try:
        process.wait(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        timed_out = True
    reader.join()
    stderr = process.stderr.read()
    wall_ms = (time.perf_counter() - started) * 1000
    invariants = []
    reported_total = None
    for line in lines:
        verdict = VERDICT.match(line)
        times = MILLIS.findall(line)
        if verdict and times:
            invariants.append({"id": verdict.group(2), "proved": verdict.group(1) == "PROVED",
                               "ms": float(times[-1])})
        elif line.startswith("total ") and line.rstrip().endswith(" ms"):
            reported_total = float(line.split()[1])
    if not invariants and not timed_out:
        raise SystemExit(f"guard prove on {directory} reported no invariant "
                         f"(exit {process.returncode}):\n{''.join(lines)}\n{stderr}")
    expected = re.search(r"against (\d+) invariants", "".join(lines[:1]))
    summary = (f"stopped after {timeout:.0f} s: {len(invariants)} of "
               f"{expected.group(1) if expected else '?'} invariants done" if timed_out
               else lines[-1].strip())
    return {"name": name, "policies": policy_count(directory), "exit_code": process.returncode,
            "timed_out": timed_out, "timeout_s": timeout,
            "invariant_count": int(expected.group(1)) if expected else None,
            "total_ms": wall_ms, "reported_total_ms": reported_total, "invariants": invariants,
            "summary": summary}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("guard", type=Path, help="the guard binary")
    parser.add_argument("policies", type=Path, help="the shipped policies directory")
    parser.add_argument("--generated", type=int, nargs="+", default=[100, 1000],
                        help="how many policies to add, one run per number")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per run")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args()

    runs = [prove(args.guard, args.policies, "shipped set", args.timeout)]
    for count in args.generated:
        with tempfile.TemporaryDirectory(prefix="prove-scale-") as tmp:
            copy = Path(tmp) / "policies"
            shutil.copytree(args.policies, copy)
            gateway, resource = generated(count)
            (copy / "gateway" / "generated.cedar").write_text(gateway)
            (copy / "resource" / "generated.cedar").write_text(resource)
            runs.append(prove(args.guard, copy, f"shipped set + {count:,} generated", args.timeout))

    for run in runs:
        times = [i["ms"] for i in run["invariants"]] or [0.0]
        print(f"{run['name']}: {run['policies']} policies, {len(run['invariants'])} invariants "
              f"done, {run['total_ms'] / 1000:.1f} s in all, {sum(times) / len(times):.0f} ms per "
              f"invariant (slowest {max(times):.0f} ms); {run['summary']}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"solver": "cvc5 (crates/guard_cli/solver/cvc5_shim.py)",
                                         "runs": runs}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
