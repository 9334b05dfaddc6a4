"""Turn bench/results/results.json into results.md (tables + targets) and chart.png."""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Any

SWARMLETS = ("swarmlet", "swarmlet-fasthttp")
CPU_MODES = ("sequential", "streamed", "concurrent")
FLOOR = "floor-aiohttp"
"""The floor the targets are read against: the default provider's own transport, bare."""
DEFAULT = "swarmlet-fasthttp"
GC_TUNED = "swarmlet-fasthttp-gc"  # the default provider with docs' GC tuning (reference)
"""What ``Swarm()`` uses without a client (FastHTTPModel), driven through the async API."""


def _cases(report: dict[str, Any]) -> dict[tuple[str, str, int], dict[str, Any]]:
    return {(c["framework"], c["mode"], c["n"]): c for c in report["cases"]}


def _fmt(value: Any, spec: str = ".2f") -> str:
    return "–" if value is None else format(value, spec)


def _main_table(report: dict[str, Any]) -> list[str]:
    rows = [
        "| mode | n | framework | client CPU ms/conv | user / sys ms | wall s | peak RSS MB "
        "| req/conv | ok / errors | server CPU ms/conv | status |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for c in report["cases"]:
        if c["mode"].startswith("tools") or c["framework"].startswith("floor-"):
            continue
        if "cpu_ms_per_conv" not in c:
            rss = _fmt(c.get("peak_rss_mb"), ".0f")
            served = c.get("requests_by_deadline")
            req = "–" if served is None else f"{served / c['n']:.2f} by deadline"
            rows.append(
                f"| {c['mode']} | {c['n']} | {c['framework']} | – | – | – | {rss} | {req} | – "
                f"| – | {c['status']} |"
            )
            continue
        rows.append(
            f"| {c['mode']} | {c['n']} | {c['framework']} | **{c['cpu_ms_per_conv']:.2f}** "
            f"| {c['user_ms_per_conv']:.2f} / {c['sys_ms_per_conv']:.2f} | {c['wall_s']:.2f} "
            f"| {c['peak_rss_mb']:.0f} | {c['requests_per_conversation']:.2f} "
            f"| {c['ok']} / {c['errors'] + c['wrong_answers']} "
            f"| {_fmt(c.get('server_cpu_ms_per_conv'))} | {c['status']} |"
        )
    return rows


def _floor_cpu(report: dict[str, Any], mode: str) -> dict[str, float]:
    """CPU ms/conv of every floor client that completed ``mode``."""
    return {
        c["framework"]: c["cpu_ms_per_conv"]
        for c in report["cases"]
        if c["framework"].startswith("floor-") and c["mode"] == mode and c["status"] == "ok"
    }


def _floor_table(report: dict[str, Any]) -> list[str]:
    """The bare clients, and every framework as a multiple of the aiohttp and lowest floor."""
    rows = [
        "The same three requests through each HTTP client with no SDK and no framework "
        "(bench/floor.py): keep-alive, orjson, one small SSE assembler.",
        "",
        "| client | sequential ms/conv | streamed ms/conv |",
        "|---|---:|---:|",
    ]
    seq, streamed = _floor_cpu(report, "sequential"), _floor_cpu(report, "streamed")
    for name in dict.fromkeys([*seq, *streamed]):
        rows.append(f"| {name} | {_fmt(seq.get(name))} | {_fmt(streamed.get(name))} |")
    rows += [
        "",
        f"Every framework as a multiple of the floor: `× {FLOOR}` (the default provider's own "
        "transport, bare; the issue-8 target reads against it) and `× lowest` (the cheapest "
        "client of that mode).",
        "",
        "| mode | framework | CPU ms/conv | × floor-aiohttp | × lowest floor |",
        "|---|---|---:|---:|---:|",
    ]
    for mode, floors in (("sequential", seq), ("streamed", streamed)):
        lowest = min(floors.values(), default=None)
        for c in report["cases"]:
            if c["mode"] != mode or c["framework"].startswith("floor-"):
                continue
            cpu = c.get("cpu_ms_per_conv") if c.get("status") == "ok" else None
            vs_floor = None if cpu is None or FLOOR not in floors else cpu / floors[FLOOR]
            vs_lowest = None if cpu is None or lowest is None else cpu / lowest
            rows.append(
                f"| {mode} | {c['framework']} | {_fmt(cpu)} | {_fmt(vs_floor)}× "
                f"| {_fmt(vs_lowest)}× |"
            )
    return rows


def _tools_table(report: dict[str, Any]) -> list[str]:
    s = report["settings"]
    rows = [
        f"k = {s['tool_calls']} tool calls in one reply, each sleeping t = {s['tool_seconds']} s "
        "(`tools`: blocking `time.sleep` tools; `tools-async`: `asyncio.sleep` tools). "
        "*Tool span* = first tool start → last tool end, measured in the tools. *Tool phase* = "
        "the server's time from the tool-call request to the next request (client parse + "
        "tools + next request build; latency 0).",
        "",
        "| mode | framework | tool span s | tool phase s | phase / t | status |",
        "|---|---|---:|---:|---:|---|",
    ]
    for c in report["cases"]:
        if not c["mode"].startswith("tools"):
            continue
        if "tool_span_s" not in c:
            rows.append(f"| {c['mode']} | {c['framework']} | – | – | – | {c['status']} |")
            continue
        gap = c.get("tool_gap_s")
        ratio = None if gap is None else gap / c["tool_seconds"]
        rows.append(
            f"| {c['mode']} | {c['framework']} | {c['tool_span_s']:.3f} | {_fmt(gap, '.3f')} "
            f"| {_fmt(ratio)}× | {c['status']} |"
        )
    return rows


def _import_table(report: dict[str, Any]) -> list[str]:
    rows = [
        "| framework | module | median import s (wall) | median CPU s | runs (wall) |",
        "|---|---|---:|---:|---|",
    ]
    for name, r in report["imports"].items():
        runs = ", ".join(f"{t:.3f}" for t in r["runs"])
        cpu = _fmt(r.get("cpu_median_s"), ".3f")
        rows.append(f"| {name} | `{r['module']}` | **{r['median_s']:.3f}** | {cpu} | {runs} |")
    rows += [
        "",
        "`python -X importtime -c 'import swarmlet'`: self time summed by top-level package:",
        "",
    ]
    rows += ["| module | ms |", "|---|---:|"]
    rows += [
        f"| `{r['module']}` | {r['cumulative_ms']:.0f} |"
        for r in report["import_breakdown_swarmlet"]
    ]
    return rows


Target = tuple[str, str, bool | None, str]


def issue8_targets(report: dict[str, Any]) -> list[Target]:
    """The targets of issue 8 (default provider vs floor, 10,000 concurrent, sync vs Swarm)."""
    cases = _cases(report)
    out: list[Target] = []
    for mode in ("sequential", "streamed"):
        out.append(_floor_target(report, cases, mode))
    label = "10,000 concurrent at 200 ms: 0 errors, ≤ 4 ms CPU/conv, peak RSS ≤ 400 MB"
    for variant in (DEFAULT, GC_TUNED):
        big = cases.get((variant, "concurrent", 10000), {})
        if variant == GC_TUNED and not big:
            continue  # the GC-tuned variant is a reference, shown only when it ran
        if "cpu_ms_per_conv" not in big:
            out.append((variant, label, False if big else None, big.get("status", "not run")))
            continue
        errors = big["errors"] + big["wrong_answers"]
        holds = errors == 0 and big["cpu_ms_per_conv"] <= 4.0 and big["peak_rss_mb"] <= 400
        note = (
            f"{errors} errors, {big['cpu_ms_per_conv']:.2f} ms, {big['peak_rss_mb']:.0f} MB "
            f"({big['wall_s']:.1f} s wall)"
        )
        out.append((variant, label, holds, note))
    for mode in ("sequential", "streamed"):
        mine, swarm = _ok(cases, "swarmlet-sync", mode), _ok(cases, "openai-swarm", mode)
        label = f"sync `run{'(stream=True)' if mode == 'streamed' else ''}` ≤ 0.30× openai-swarm"
        if mine is None or swarm is None:
            out.append(("swarmlet-sync", label, None, "a case did not complete"))
        else:
            ratio = mine["cpu_ms_per_conv"] / swarm["cpu_ms_per_conv"]
            out.append(("swarmlet-sync", label, ratio <= 0.30, f"{ratio:.2f}×"))
    imp = report["imports"].get("swarmlet")
    if imp:
        note = f"{imp['median_s']:.3f} s wall, {_fmt(imp.get('cpu_median_s'), '.3f')} s CPU"
        deps = report["imports"].get("dependencies (reference)")
        if deps:
            note += f" (asyncio + pydantic alone: {deps['median_s']:.3f} s)"
        out.append(("swarmlet", "`import swarmlet` ≤ 0.3 s", imp["median_s"] <= 0.3, note))
    return out


def _floor_target(
    report: dict[str, Any], cases: dict[tuple[str, str, int], dict[str, Any]], mode: str
) -> Target:
    """The default provider vs its bare transport: median of the paired rounds' ratios."""
    label = f"CPU/conv {mode} ≤ 2.0× {FLOOR} (async API)"
    mine, floor = _ok(cases, DEFAULT, mode), _ok(cases, FLOOR, mode)
    table = (
        "–"
        if mine is None or floor is None
        else (f"{mine['cpu_ms_per_conv'] / floor['cpu_ms_per_conv']:.2f}×")
    )
    ratios = paired_ratios(report, mode)
    if not ratios:  # results from before the paired rounds existed
        if mine is None or floor is None:
            return (DEFAULT, label, None, "a case did not complete")
        ratio = mine["cpu_ms_per_conv"] / floor["cpu_ms_per_conv"]
        return (DEFAULT, label, ratio <= 2.0, f"{table} (main table; no paired rounds)")
    median = statistics.median(ratios)
    rounds = ", ".join(f"{r:.2f}" for r in ratios)
    n = report["paired"][0]["n"]
    note = (
        f"{median:.2f}× (median of {len(ratios)} paired rounds of {n} conversations: {rounds}; "
        f"main table {table})"
    )
    return (DEFAULT, label, median <= 2.0, note)


def paired_ratios(report: dict[str, Any], mode: str) -> list[float]:
    """Per round: the default provider's CPU/conv over the floor's, run right before it."""
    by_round: dict[int, dict[str, float]] = {}
    for c in report.get("paired", []):
        if c["mode"] == mode and c.get("status") == "ok":
            by_round.setdefault(c["round"], {})[c["framework"]] = c["cpu_ms_per_conv"]
    return [
        r[DEFAULT] / r[FLOOR] for _, r in sorted(by_round.items()) if DEFAULT in r and FLOOR in r
    ]


def _ok(
    cases: dict[tuple[str, str, int], dict[str, Any]], framework: str, mode: str
) -> dict[str, Any] | None:
    """The completed (status ok) case of ``framework`` in a sequential/streamed ``mode``."""
    found = [c for (f, m, _n), c in cases.items() if f == framework and m == mode]
    return found[0] if found and found[0].get("status") == "ok" else None


def targets(report: dict[str, Any]) -> list[Target]:
    """(swarmlet variant, target, holds?, evidence) — None when the case did not run."""
    cases = _cases(report)
    out: list[Target] = []
    present = {c["framework"] for c in report["cases"]}
    for sw in (s for s in SWARMLETS if s in present):
        for mode, n in sorted({(c["mode"], c["n"]) for c in report["cases"]}):
            if mode not in CPU_MODES:
                continue
            mine = cases.get((sw, mode, n), {})
            for peer, limit in (("openai-swarm", 0.7), ("openai-agents", 0.35)):
                other = cases.get((peer, mode, n), {})
                label = f"CPU/conv {mode} n={n} ≤ {limit}× {peer}"
                if mine.get("status") != "ok" or other.get("status") != "ok":
                    why = f"{sw}: {mine.get('status', 'absent')}, {peer}: "
                    why += other.get("status", "absent")
                    out.append((sw, label, None, why))
                    continue
                ratio = mine["cpu_ms_per_conv"] / other["cpu_ms_per_conv"]
                out.append((sw, label, ratio <= limit, f"{ratio:.2f}×"))
        big = max((c["n"] for c in report["cases"] if c["mode"] == "concurrent"), default=0)
        mine, raw = (
            cases.get((sw, "concurrent", big), {}),
            cases.get(("raw-openai", "concurrent", big), {}),
        )
        label = f"peak RSS at {big} concurrent ≤ 1.2× raw-openai"
        if mine.get("status") == "ok" and raw.get("peak_rss_mb"):
            ratio = mine["peak_rss_mb"] / raw["peak_rss_mb"]
            note = f"{ratio:.2f}× ({mine['peak_rss_mb']:.0f} / {raw['peak_rss_mb']:.0f} MB)"
            holds: bool | None = ratio <= 1.2
            if raw.get("status") != "ok":
                # Not comparable: the floor never had its conversations going.
                holds = None
                note += (
                    f" against raw-openai's peak at its deadline; raw-openai served "
                    f"{raw.get('requests_by_deadline', '?')} requests of {3 * big} by then"
                )
            out.append((sw, label, holds, note))
        else:
            out.append((sw, label, None, f"{mine.get('status')}, raw: {raw.get('status')}"))
        for mode in ("tools", "tools-async"):
            c = cases.get((sw, mode, _tools_n(report)), {})
            gap = c.get("tool_gap_s")
            if gap is None:
                out.append((sw, f"{mode}: phase ≤ 1.1× longest tool", None, str(c.get("status"))))
                continue
            ratio = gap / c["tool_seconds"]
            out.append((sw, f"{mode}: phase ≤ 1.1× longest tool", ratio <= 1.1, f"{ratio:.2f}×"))
    imp = report["imports"].get("swarmlet")
    if imp:
        out.append(
            (
                "swarmlet",
                "`import swarmlet` < 0.3 s",
                imp["median_s"] < 0.3,
                f"{imp['median_s']:.3f} s",
            )
        )
    return out


def _tools_n(report: dict[str, Any]) -> int:
    return next((c["n"] for c in report["cases"] if c["mode"].startswith("tools")), 0)


def _targets_table(report: dict[str, Any], rules: Any = None) -> list[str]:
    rows = ["| swarmlet variant | target | holds | measured |", "|---|---|---|---|"]
    for sw, label, holds, evidence in (rules or targets)(report):
        mark = "n/a" if holds is None else ("yes" if holds else "**no**")
        rows.append(f"| {sw} | {label} | {mark} | {evidence} |")
    return rows


def markdown(report: dict[str, Any]) -> str:
    m, s = report["machine"], report["settings"]
    vers = ", ".join(f"{k} {v}" for k, v in report["versions"].items())
    lines = [
        "# swarmlet benchmark results",
        "",
        f"Run {report['started']}{' (quick smoke run)' if report['quick'] else ''}. "
        f"Machine: {m['cores']} cores ({m['cpu']}), {m['ram_gib']} GiB RAM, Python {m['python']}.",
        f"Versions: {vers}.",
        f"Load average (1/5/15 min) at start {report['load_start']}, at end {report['load_end']} "
        "(other work shares this machine; each case also records its own load). "
        "CPU is the client process's user+sys; the model server runs in its own process.",
        f"HTTP: {s['http']}. Concurrent cases: server latency {s['concurrent_latency_s']} s; "
        f"sequential/streamed: latency 0, {s['stream_chunks']} stream chunks per text/arguments. "
        f"Each case in a fresh interpreter, time-boxed at {s['timeout_s']:.0f} s; a framework that "
        "fails at some N is not run at larger N.",
        "",
        "swarmlet-fasthttp is swarmlet with `FastHTTPModel(max_connections=max(N, 10))` (aiohttp), "
        "what `Swarm()` uses without a client, driven by the async API; swarmlet-fasthttp-gc is "
        "the same in a process with `gc.set_threshold(50_000, 20, 20)` (concurrent cases only; "
        "docs/benchmarks.md, garbage collection at high concurrency). swarmlet-sdk-aiohttp is "
        "`Swarm(client=AsyncOpenAI(http_client=DefaultAioHttpClient()))` (`openai[aiohttp]`). "
        "swarmlet-sync is the default `Swarm()` (from OPENAI_BASE_URL) through the "
        "Swarm-compatible sync `run()` (not run concurrently: that is what `run_async` is for). "
        "Server CPU ms/conv is the scripted server process's CPU over the case (warm-up "
        "included).",
        "",
        "## Issue 8 targets",
        "",
        *_targets_table(report, issue8_targets),
        "",
        "## Transport floor",
        "",
        *_floor_table(report),
        "",
        "## Per conversation (3 model calls: handoff → lookup_order → answer)",
        "",
        *_main_table(report),
        "",
        "## Parallel tools",
        "",
        *_tools_table(report),
        "",
        "## Import time (fresh interpreter, median)",
        "",
        *_import_table(report),
        "",
        "## Earlier targets (0.7× Swarm, 0.35× Agents SDK)",
        "",
        *_targets_table(report),
        "",
    ]
    return "\n".join(lines)


def write_markdown(report: dict[str, Any], path: Path) -> None:
    path.write_text(markdown(report))


def write_chart(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [c for c in report["cases"] if c.get("status") == "ok" and "cpu_ms_per_conv" in c]
    groups = sorted(
        {(c["mode"], c["n"]) for c in ok if not c["mode"].startswith("tools")},
        key=lambda g: (("sequential", "streamed", "concurrent").index(g[0]), g[1]),
    )
    names = list(dict.fromkeys(c["framework"] for c in report["cases"]))
    by = {(c["framework"], c["mode"], c["n"]): c for c in ok}
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(12, 9))
    width = 0.8 / max(1, len(names))
    for i, name in enumerate(names):
        xs = [g + i * width for g in range(len(groups))]
        cpu = [by.get((name, m, n), {}).get("cpu_ms_per_conv", 0) for m, n in groups]
        rss = [by.get((name, m, n), {}).get("peak_rss_mb", 0) for m, n in groups]
        ax1.bar(xs, cpu, width, label=name)
        ax2.bar(xs, rss, width, label=name)
    labels = [f"{m}\nn={n}" for m, n in groups]
    for ax, title in (
        (ax1, "client CPU ms per conversation (lower is better; 0 = failed/not run)"),
        (ax2, "peak RSS MB (lower is better)"),
    ):
        ax.set_xticks([g + 0.4 - width / 2 for g in range(len(groups))], labels)
        ax.set_title(title)
        ax.grid(axis="y", alpha=0.3)
    ax1.legend(ncol=3, fontsize=8)
    fig.suptitle(f"swarmlet benchmark — {report['started']}, load {report['load_start']}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "results")
    data = json.loads((target / "results.json").read_text())
    write_markdown(data, target / "results.md")
    write_chart(data, target / "chart.png")
