"""The scale-out plot in the README: ``python -m bench.plot_scale [results.jsonl ...]``.

Reads the JSON lines ``bench.scale`` printed (default: bench/scale_results.jsonl,
the figures the README quotes) and draws how stored msg/s, ingest lag p95,
agents + clearing per period and the settlement of a day scale from 1,000 to
10,000 homes and with 1-3 bridges, into docs/img/scale.png.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "scale_results.jsonl"
OUT = ROOT / "docs" / "img" / "scale.png"


def load(paths: list[Path]) -> tuple[dict, dict]:
    """ingest[(bridges)] -> {homes: line}; market -> {homes: line} (the last line wins)."""
    ingest: dict[int, dict[int, dict]] = defaultdict(dict)
    market: dict[int, dict] = {}
    for path in paths:
        for raw in path.read_text().splitlines():
            if not raw.startswith("{"):
                continue
            line = json.loads(raw)
            part = line.get("vs", {}).get("part")
            if part == "ingest":
                ingest[line["vs"]["bridges"]][line["n"]] = line
            elif part == "market":
                market[line["n"]] = line
    return ingest, market


def plot(ingest: dict, market: dict, out: Path) -> None:
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5))
    (ax_rate, ax_lag), (ax_clear, ax_settle) = axes
    markers = {1: "o", 2: "s", 3: "^"}
    loads = []
    for bridges in sorted(ingest):
        runs = ingest[bridges]
        homes = sorted(runs)
        label = f"{bridges} bridge{'s' if bridges > 1 else ''}"
        ax_rate.plot(homes, [runs[h]["rate"] for h in homes], marker=markers.get(bridges, "x"), label=label)
        ax_lag.plot(homes, [runs[h]["vs"]["lag_p95_s"] for h in homes], marker=markers.get(bridges, "x"), label=label)
        loads += [runs[h]["vs"].get("load_avg_1m") for h in homes]
    offered = sorted({(h, r["vs"]["offered_rate"]) for runs in ingest.values() for h, r in runs.items()})
    if offered:
        ax_rate.plot([h for h, _ in offered], [o for _, o in offered], "k--", lw=1, label="offered")
    ax_rate.set(title="Telemetry stored", xlabel="homes (3 devices each)", ylabel="messages/s")
    ax_rate.set_ylim(bottom=0)
    ax_lag.axhline(5, color="red", ls=":", lw=1, label="goal 5 s")
    ax_lag.set(title="Ingest lag p95 (publish to row)", xlabel="homes", ylabel="seconds")
    ax_lag.set_ylim(bottom=0)
    homes = sorted(market)
    ax_clear.plot(homes, [market[h]["vs"]["agents_clearing_s_per_period_mean"] for h in homes], marker="o")
    ax_clear.axhline(60, color="red", ls=":", lw=1, label="goal 60 s")
    ax_clear.set(title="Agents + clearing, per half-hour", xlabel="homes", ylabel="seconds")
    ax_clear.set_ylim(bottom=0)
    ax_settle.plot(homes, [market[h]["vs"]["settlement_day_s"] for h in homes], marker="o")
    ax_settle.axhline(60, color="red", ls=":", lw=1, label="goal 60 s")
    ax_settle.set(title="Settlement of the day (48 periods)", xlabel="homes", ylabel="seconds")
    ax_settle.set_ylim(bottom=0)
    loads += [market[h]["vs"].get("load_avg_1m") for h in homes]
    for ax in axes.flat:
        for line in ax.get_lines():
            if line.get_linestyle() in ("--", ":"):
                continue
            for x, y in zip(line.get_xdata(), line.get_ydata(), strict=True):
                ax.annotate(f"{y:.3g}", (x, y), textcoords="offset points", xytext=(5, 4), fontsize=7)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    loads = [x for x in loads if x is not None]
    span = f"; load average {min(loads):.0f}-{max(loads):.0f} while measured" if loads else ""
    fig.suptitle(f"bench.scale on a shared 2-core machine (PostgreSQL, RabbitMQ, Mosquitto){span}", fontsize=11)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    paths = [Path(p) for p in (argv if argv is not None else sys.argv[1:])] or [RESULTS]
    ingest, market = load(paths)
    if not ingest and not market:
        raise SystemExit(f"no bench.scale lines in {', '.join(map(str, paths))}")
    plot(ingest, market, OUT)
    print(f"wrote {OUT.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
