"""Issues 14 and 20: each benchmark figure beside its reference, the ratio, the target.

Reads what one run of tests/bench.sh produced: criterion's estimates (target/criterion), the
cold-start harness's JSON and cedarpy's JSON. Prints one table; a missed target is marked, not
hidden, and the script's exit status does not depend on it (figures are reported, never
asserted).

Usage: python tests/bench/report.py --criterion target/criterion --coldstart cold.json
                                    --cedarpy cedarpy.json
"""

import argparse
import json
import platform
from pathlib import Path
from typing import Any


def criterion_us(root: Path, group: str, name: str) -> float:
    """Criterion's median estimate for group/name, in microseconds."""
    estimates = json.loads((root / group / name / "new" / "estimates.json").read_text())
    return estimates["median"]["point_estimate"] / 1000


def row(what: str, ours: str, reference: str, ratio: str, target: str, met: bool | None) -> list[str]:
    mark = "" if met is None else ("met" if met else "MISSED")
    return [what, ours, reference, ratio, target, mark]


def cold_start_rows(cold: dict[str, Any]) -> list[list[str]]:
    """One row per tool: its median init beside the SDK hello world's, and its footprint."""
    binaries = {b["name"]: b for b in cold["binaries"]}
    sdk = binaries.get("sdk_hello_world")
    rows = []
    for name, b in binaries.items():
        init = b["median_ms"]
        if name in ("hello_world", "sdk_hello_world") or sdk is None:
            rows.append(row(f"init: {name}", f"{init:.1f} ms", "", "", "(reference)", None))
            continue
        ratio = init / sdk["median_ms"]
        rows.append(row(f"init: {name}", f"{init:.1f} ms", f"{sdk['median_ms']:.1f} ms (SDK hello world)",
                        f"{ratio:.2f}x", "<= 1.2x", ratio <= 1.2))
    for name, b in binaries.items():
        rss = b["peak_rss_mib"]
        zipped = b["zipped_bytes"] / (1024 * 1024)
        if name in ("hello_world", "sdk_hello_world"):
            rows.append(row(f"footprint: {name}", f"{rss:.1f} MiB RSS, {zipped:.1f} MiB zipped", "", "",
                            "(reference)", None))
        else:
            rows.append(row(f"footprint: {name}", f"{rss:.1f} MiB RSS, {zipped:.1f} MiB zipped", "", "",
                            "<= 40 MB, <= 8 MB", rss <= 40 and zipped <= 8))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--criterion", type=Path, required=True)
    parser.add_argument("--coldstart", type=Path)
    parser.add_argument("--cedarpy", type=Path)
    args = parser.parse_args()

    c = lambda group, name: criterion_us(args.criterion, group, name)  # noqa: E731
    rows = []
    for name, label in (("known_caller", "decision, known caller (gateway)"),
                        ("unknown_caller", "decision, caller unknown (tool)"),
                        ("resource_check", "resource check (real instance)")):
        ours, bare = c("guard_decision", name), c("bare_cedar", name)
        rows.append(row(label, f"{ours:.2f} µs", f"{bare:.2f} µs (Cedar alone)", f"{ours / bare:.2f}x",
                        "<= 2x", ours / bare <= 2))
    ours, bare = c("guard_decision", "1000_policies_same_tool"), c("bare_cedar", "1000_policies_same_tool")
    rows.append(row("decision, 1,000 more policies on the tool", f"{ours:.0f} µs",
                    f"{bare:.0f} µs (Cedar alone)", f"{ours / bare:.2f}x", "", None))
    verify, ecdsa = c("caller_assertion", "verify"), c("caller_assertion", "bare_ecdsa_p256")
    rows.append(row("caller assertion verified (tool)", f"{verify:.1f} µs",
                    f"{ecdsa:.1f} µs (bare P-256 verify)", f"{verify / ecdsa:.2f}x", "<= 100 µs",
                    verify <= 100))
    digest, decided = c("caller_assertion", "arguments_digest"), c("caller_assertion", "guard_decision")
    rows.append(row("  of which the arguments digest", f"{digest:.2f} µs", "", "", "", None))
    rows.append(row("  beside the tool's decision, same call", f"{verify:.1f} µs",
                    f"{decided:.1f} µs (guard decision)", f"{verify / decided:.2f}x", "", None))
    construction = c("guard_construction", "shipped")
    rows.append(row("guard construction", f"{construction / 1000:.2f} ms", "", "", "<= 1 ms",
                    construction <= 1000))

    if args.cedarpy:
        py = json.loads(args.cedarpy.read_text())
        known = c("guard_decision", "known_caller")
        version = py["cedarpy_version"]
        for key, label, target in (
            ("per_call_us_text", f"cedarpy {version} is_authorized (text, as documented)", 10),
            ("batch_per_request_us_text", f"cedarpy {version} is_authorized_batch (text)", 5),
            ("per_call_us", f"cedarpy {version} is_authorized (pre-parsed handles)", None),
            ("batch_per_request_us", f"cedarpy {version} is_authorized_batch (handles)", None),
        ):
            theirs = py[key]
            ratio = theirs / known
            rows.append(row(f"known caller vs {label}", f"{known:.2f} µs", f"{theirs:.1f} µs",
                            f"{ratio:.1f}x faster", f">= {target}x" if target else "",
                            ratio >= target if target else None))

    if args.coldstart:
        rows.extend(cold_start_rows(json.loads(args.coldstart.read_text())))

    header = ["figure", "ours", "reference", "ratio", "target", ""]
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    print(f"\nissue 14 and 20 figures ({platform.machine()}, {platform.processor() or platform.platform()})")
    for r in [header] + rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
