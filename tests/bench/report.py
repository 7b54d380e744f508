"""Issues 14, 20 and 24: each benchmark figure beside its reference, the ratio, the target.

Reads what one run of tests/bench.sh produced: criterion's estimates (target/criterion), the
cold-start harness's JSON, cedarpy's JSON and the proof timings' JSON. Prints one table and
writes it as Markdown and JSON (`report.md`, `report.json` in --out), with the machine and the
date of the run, so the README's table is pasted from a run rather than retyped. A missed
target is marked, not hidden, and the script's exit status does not depend on it (figures are
reported, never asserted). A figure whose benchmark did not run is reported as not measured.

Usage: python tests/bench/report.py --criterion target/criterion [--coldstart cold.json]
                                    [--cedarpy cedarpy.json] [--prove prove.json]
                                    [--out target/bench]
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Optional


@dataclass
class Value:
    """A measured quantity: its value in `unit` (µs, ms, MiB, x)."""
    value: float
    unit: str

    def text(self) -> str:
        v, unit = self.value, self.unit
        if unit == "µs" and v >= 1000:
            v, unit = v / 1000, "ms"
        if unit in ("µs", "ms", "s"):
            digits = 2 if v < 10 else (1 if v < 1000 else 0)
            return f"{v:.{digits}f} {unit}"
        return f"{v:.1f} {unit}"


@dataclass
class Figure:
    """One row: ours beside its reference, the ratio and the target."""
    section: str
    figure: str
    ours: Optional[Value]
    reference: Optional[Value] = None
    reference_label: str = ""
    ratio: Optional[float] = None
    # How the ratio reads: "x" (ours over the reference) or "x faster" (theirs over ours).
    ratio_kind: str = "x"
    target: str = ""
    met: Optional[bool] = None
    note: str = ""
    # Free text instead of `ours` (a figure made of two values, as footprints are).
    ours_text: str = ""

    def cells(self) -> list[str]:
        ours = self.ours_text or (self.ours.text() if self.ours else "not measured")
        reference = ""
        if self.reference:
            reference = self.reference.text()
            if self.reference_label:
                reference += f" ({self.reference_label})"
        elif self.reference_label:
            reference = self.reference_label
        ratio = "" if self.ratio is None else f"{self.ratio:.2f}{self.ratio_kind}"
        return [self.figure, ours, reference, ratio, self.target, status(self.met, self.ours)]

    def as_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["status"] = {True: "met", False: "missed", None: None}[self.met]
        del d["met"]
        return d


def status(met: Optional[bool], ours: Optional[Value]) -> str:
    if met is None:
        return ""
    return "met" if met else "MISSED"


class Criterion:
    """Criterion's median estimates under `root`, in microseconds; None when not measured."""

    def __init__(self, root: Path):
        self.root = root

    def us(self, group: str, name: str) -> Optional[float]:
        path = self.root / group / name / "new" / "estimates.json"
        if not path.is_file():
            return None
        return json.loads(path.read_text())["median"]["point_estimate"] / 1000

    def value(self, group: str, name: str) -> Optional[Value]:
        us = self.us(group, name)
        return None if us is None else Value(us, "µs")


def against(section: str, what: str, ours: Optional[Value], reference: Optional[Value],
            label: str, limit: Optional[float] = None, target: str = "", note: str = "") -> Figure:
    """Ours over the reference; met when the ratio is within `limit`."""
    ratio = ours.value / reference.value if ours and reference else None
    met = None if limit is None or ratio is None else ratio <= limit
    return Figure(section, what, ours, reference, label, ratio, "x",
                  target or (f"<= {limit:g}x" if limit else ""), met, note)


def at_most(section: str, what: str, ours: Optional[Value], limit_us: float, target: str,
            reference: Optional[Value] = None, label: str = "", note: str = "") -> Figure:
    """An absolute target: met when ours is within `limit_us`."""
    ratio = ours.value / reference.value if ours and reference else None
    met = None if ours is None else ours.value <= limit_us
    return Figure(section, what, ours, reference, label, ratio, "x", target, met, note)


def decision_figures(c: Criterion) -> list[Figure]:
    s = "Decisions"
    rows = []
    for name, label in (("known_caller", "decision, known caller (gateway)"),
                        ("unknown_caller", "decision, caller unknown (tool)"),
                        ("resource_check", "resource check (real instance)")):
        rows.append(against(s, label, c.value("guard_decision", name),
                            c.value("bare_cedar", name), "Cedar alone", 2))
    rows.append(against(s, "decision, known caller, a new caller every request",
                        c.value("guard_decision", "known_caller_changing"),
                        c.value("bare_cedar", "known_caller"), "Cedar alone", 2))
    rows.append(against(s, "decision, 1,000 more policies on the tool",
                        c.value("guard_decision", "1000_policies_same_tool"),
                        c.value("bare_cedar", "1000_policies_same_tool"), "Cedar alone"))
    rows.append(Figure(s, "decision, 1,000 more policies over the four tools",
                       c.value("guard_decision", "1000_policies_four_tools")))
    construction = c.value("guard_construction", "shipped")
    rows.append(at_most(s, "guard construction", construction, 1000, "<= 1 ms"))
    return rows


def new_step_figures(c: Criterion) -> list[Figure]:
    s = "New steps"
    verify, ecdsa = c.value("caller_assertion", "verify"), c.value("caller_assertion", "bare_ecdsa_p256")
    rows = [
        at_most(s, "caller assertion verified (tool)", verify, 100, "<= 100 µs", ecdsa,
                "bare P-256 verify"),
        Figure(s, "  of which the arguments digest", c.value("caller_assertion", "arguments_digest")),
        against(s, "  beside the tool's decision, same call", verify,
                c.value("caller_assertion", "guard_decision"), "guard decision"),
        at_most(s, "stop switch read from its cache", c.value("stop_switch", "cached_read"), 1,
                "<= 1 µs", c.value("stop_switch", "uncached_read_mocked"),
                "uncached: SDK GetItem, mocked, no network"),
        at_most(s, "  the same while stopped", c.value("stop_switch", "cached_read_stopped"), 1,
                "<= 1 µs"),
        at_most(s, "approval check, no DynamoDB (usable + resource check with the approval)",
                c.value("approval", "check"), 50, "<= 50 µs", c.value("approval", "bare_cedar"),
                "Cedar alone, same request"),
        Figure(s, "  of which the binding (usable: digest of call and resource)",
               c.value("approval", "usable")),
        Figure(s, "  may_approve (before a person's answer is recorded)",
               c.value("approval", "may_approve")),
    ]
    bare = c.value("interceptor", "bare_is_authorized")
    rows += [
        against(s, "interceptor REQUEST path: bytes in, token verified (JWKS), decided, signed "
                   "(local key), bytes out", c.value("interceptor", "request_path"), bare,
                "bare is_authorized", target="(reported)",
                note="KMS Sign excluded: a local P-256 key signs; see the KMS rows"),
        against(s, "  the same, token verified by the gateway (CUSTOM_JWT)",
                c.value("interceptor", "request_path_gateway_verified"), bare, "bare is_authorized"),
        against(s, "  the same as the first, signed through the KMS SDK client (Sign mocked)",
                c.value("interceptor", "request_path_kms_mocked"), bare, "bare is_authorized",
                note="the SDK's work only: the round trip to KMS is not measured"),
        Figure(s, "  JWT (ES256) verified alone", c.value("interceptor", "jwt_verify")),
        Figure(s, "  caller assertion issued, local key", c.value("interceptor", "assertion_local_sign")),
        Figure(s, "  KMS Sign through the SDK, mocked (no network)", c.value("interceptor", "kms_sign_mocked")),
    ]
    return rows


def cedarpy_figures(c: Criterion, py: dict[str, Any]) -> list[Figure]:
    s = "cedarpy"
    known = c.value("guard_decision", "known_caller")
    version = py["cedarpy_version"]
    rows = []
    for key, label, target in (
        ("per_call_us_text", f"cedarpy {version} is_authorized (text, as documented)", 10),
        ("batch_per_request_us_text", f"cedarpy {version} is_authorized_batch (text)", 5),
        ("per_call_us", f"cedarpy {version} is_authorized (pre-parsed handles)", None),
        ("batch_per_request_us", f"cedarpy {version} is_authorized_batch (handles)", None),
    ):
        theirs = Value(py[key], "µs")
        ratio = theirs.value / known.value if known else None
        met = None if target is None or ratio is None else ratio >= target
        rows.append(Figure(s, f"known caller vs {label}", known, theirs, "", ratio, "x faster",
                           f">= {target}x" if target else "", met))
    return rows


def coldstart_figures(cold: dict[str, Any]) -> list[Figure]:
    """One row per binary: its median init beside the SDK hello world's, and its footprint."""
    s = "Cold start"
    binaries = {b["name"]: b for b in cold["binaries"]}
    sdk = binaries.get("sdk_hello_world")
    references = ("hello_world", "sdk_hello_world")
    rows = []
    for name, b in binaries.items():
        init = Value(b["median_ms"], "ms")
        if name in references or sdk is None:
            rows.append(Figure(s, f"init: {name}", init, target="(reference)"))
            continue
        rows.append(against(s, f"init: {name}", init, Value(sdk["median_ms"], "ms"),
                            "SDK hello world", 1.2))
    for name, b in binaries.items():
        rss = b["peak_rss_mib"]
        zipped = b["zipped_bytes"] / (1024 * 1024)
        text = f"{rss:.1f} MiB RSS, {zipped:.1f} MiB zipped"
        if name in references:
            rows.append(Figure(s, f"footprint: {name}", None, target="(reference)", ours_text=text))
        else:
            rows.append(Figure(s, f"footprint: {name}", None, target="<= 40 MB, <= 8 MB",
                               met=rss <= 40 and zipped <= 8, ours_text=text))
    return rows


def proof_figures(proofs: dict[str, Any]) -> list[Figure]:
    """Per policy set: the whole `guard prove`, and its time per invariant."""
    s = "Proofs"
    rows = []
    for run in proofs["runs"]:
        times = [i["ms"] for i in run["invariants"]]
        proved = sum(1 for i in run["invariants"] if i["proved"])
        count = run.get("invariant_count") or len(times)
        label = f"{run['name']} ({run['policies']} policies, {count} invariants)"
        if run.get("timed_out"):
            rows.append(Figure(s, f"guard prove, {label}", None,
                               target=f"all proved within {run['timeout_s']:.0f} s", met=False,
                               ours_text=f"> {run['timeout_s']:.0f} s (stopped)",
                               note=f"{len(times)} of {count} invariants done when stopped"))
        else:
            all_proved = run["exit_code"] == 0 and proved == len(times) and bool(times)
            rows.append(Figure(s, f"guard prove, {label}", Value(run["total_ms"], "ms"),
                               target=f"all proved within {run.get('timeout_s', 600):.0f} s",
                               met=all_proved,
                               note=f"{proved} proved, {len(times) - proved} failed"))
        if times:
            rows.append(Figure(s, "  per invariant, mean", Value(sum(times) / len(times), "ms")))
            slowest = max(run["invariants"], key=lambda i: i["ms"])
            rows.append(Figure(s, "  per invariant, slowest", Value(slowest["ms"], "ms"),
                               reference_label=slowest["id"]))
    return rows


def machine() -> dict[str, Any]:
    """The CPU model (/proc/cpuinfo), the cores this run could use (nproc), the system."""
    model, listed = platform.processor() or "unknown", 0
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                listed += 1
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    try:
        cores = int(subprocess.run(["nproc"], capture_output=True, text=True, check=True).stdout)
    except (OSError, ValueError, subprocess.CalledProcessError):
        cores = len(os.sched_getaffinity(0))
    return {
        "cpu_model": model,
        "cores": cores,
        "cpus_in_cpuinfo": listed,
        "arch": platform.machine(),
        "system": f"{platform.system()} {platform.release()}",
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def machine_line(m: dict[str, Any], date: str) -> str:
    load = ", ".join(f"{x:.2f}" for x in m["load_average"])
    return (f"{date} on {m['cpu_model']}, {m['cores']} cores (nproc), {m['arch']}, "
            f"{m['system']}; load average at the end {load}")


def markdown(figures: list[Figure], m: dict[str, Any], date: str,
             cold: Optional[dict[str, Any]], proofs: Optional[dict[str, Any]]) -> str:
    out = ["# Benchmark report (tests/bench.sh)", "", f"Measured {machine_line(m, date)}.", ""]
    sections: list[str] = []
    for f in figures:
        if f.section not in sections:
            sections.append(f.section)
    header = ["figure", "ours", "reference", "ratio", "target", ""]
    for section in sections:
        out += [f"## {section}", "", "| " + " | ".join(header) + " |",
                "|" + "---|" * len(header)]
        for f in (f for f in figures if f.section == section):
            cells = f.cells()
            if f.note:
                cells[0] += f" — {f.note}"
            # Criterion group rows are indented with spaces in the terminal; in Markdown, a dash.
            if cells[0].startswith("  "):
                cells[0] = "… " + cells[0].strip()
            out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        out.append("")
    if cold:
        out += ["## Cold start, by binary", "",
                "| binary | init (median) | min–max | × SDK hello world | peak RSS | `bootstrap` | zipped |",
                "|---|---|---|---|---|---|---|"]
        for b in cold["binaries"]:
            ratio = b.get("ratio_to_reference")
            out.append(
                f"| `{b['name']}` | {b['median_ms']:.1f} ms | {b['min_ms']:.1f}–{b['max_ms']:.1f} ms | "
                f"{'' if ratio is None else f'{ratio:.2f}'} | {b['peak_rss_mib']:.1f} MiB | "
                f"{b['size_bytes'] / 2**20:.1f} MiB | {b['zipped_bytes'] / 2**20:.1f} MiB |")
        out.append("")
        out.append(f"{cold['runs']} interleaved runs after {cold['warmup']} warm-up round(s).")
        out.append("")
    if proofs:
        for run in proofs["runs"]:
            total = (f"Stopped after {run['timeout_s']:.0f} s, {len(run['invariants'])} of "
                     f"{run.get('invariant_count')} invariants done" if run.get("timed_out")
                     else f"Total {run['total_ms']:.0f} ms")
            out += [f"## guard prove, {run['name']} ({run['policies']} policies)", "",
                    f"{total} (wall, the whole command; solver: "
                    f"{proofs.get('solver', 'cvc5')}).", "",
                    "| invariant | verdict | time |", "|---|---|---|"]
            for i in run["invariants"]:
                out.append(f"| `{i['id']}` | {'proved' if i['proved'] else 'FAILED'} | {i['ms']:.0f} ms |")
            out.append("")
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--criterion", type=Path, required=True)
    parser.add_argument("--coldstart", type=Path)
    parser.add_argument("--cedarpy", type=Path)
    parser.add_argument("--prove", type=Path)
    parser.add_argument("--out", type=Path, default=Path("target/bench"),
                        help="where report.md and report.json are written")
    args = parser.parse_args()

    c = Criterion(args.criterion)
    load: Callable[[Optional[Path]], Optional[dict[str, Any]]] = (
        lambda p: json.loads(p.read_text()) if p and p.is_file() else None)
    cold, py, proofs = load(args.coldstart), load(args.cedarpy), load(args.prove)

    figures = decision_figures(c) + new_step_figures(c)
    if py:
        figures += cedarpy_figures(c, py)
    if cold:
        figures += coldstart_figures(cold)
    if proofs:
        figures += proof_figures(proofs)

    m = machine()
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    header = ["figure", "ours", "reference", "ratio", "target", ""]
    rows = [f.cells() for f in figures]
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    print(f"\nissue 14, 20 and 24 figures: {machine_line(m, date)}")
    for r in [header] + rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip())

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.md").write_text(markdown(figures, m, date, cold, proofs))
    report = {
        "date": date,
        "machine": m,
        "figures": [f.as_json() for f in figures],
        "coldstart": cold,
        "proofs": proofs,
    }
    (args.out / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"\nwritten: {args.out / 'report.md'}, {args.out / 'report.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
