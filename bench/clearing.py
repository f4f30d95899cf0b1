"""Clearing speed: ``python -m bench.clearing [--sizes 1000,10000,...] [--no-pymarket]``.

Clears random one-period books of 1k, 10k, 100k and 1M orders with the
uniform-price engine (``lem.domain.clearing``), and pymarket 0.7.6's Huang
double auction on the same 1k and 10k books, in the same run. pymarket needs
pandas < 3, so it lives in its own venv ``.venv-bench``
(``bench/requirements-pymarket.txt``); it runs there as a subprocess and we
time only its ``Market.run('huang')`` call. If that venv is missing it is
created (``--no-pymarket`` skips it; the "vs" field then carries a note).

Also one line for the network-constrained case (issue 14 item 7): 100k
orders over 21 zones (substation, 4 primaries, 16 feeders) whose limits bind,
cleared exactly on the tree's merged step curves; goal < 0.3 s, reported with
the ratio to the unconstrained clearing of the same book.

One JSON line per size: {"bench", "n", "seconds", "rate", "unit", "vs"}.
"vs": our speed as a ratio to pymarket's on the same book.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from lem.domain.clearing import PRICE_SCALE, Book, Network, clear

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv-bench"
VENV_PY = VENV / "bin" / "python"
REQS = ROOT / "bench" / "requirements-pymarket.txt"

# Runs inside .venv-bench: reads the book, times Huang, prints JSON.
PYMARKET_RUNNER = r"""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import numpy as np
import pymarket as pm
d = np.load(sys.argv[1])
mar = pm.Market()
for q, p, u, b, t in zip(d["qty"], d["price"], d["user"], d["is_bid"], d["seq"]):
    mar.accept_bid(float(q), float(p), int(u), bool(b), int(t), True)
t0 = time.perf_counter()
trans, extra = mar.run("huang")
sec = time.perf_counter() - t0
df = trans.get_df()
print(json.dumps({"seconds": sec, "volume": float(df["quantity"].sum()) / 2 if len(df) else 0.0}))
"""


def random_book(n: int, seed: int = 42, feeders: int = 0) -> Book:
    rng = np.random.default_rng(seed)
    return Book.from_arrays(
        order_id=np.arange(1, n + 1),
        is_bid=rng.random(n) < 0.5,
        qty_wh=rng.integers(50, 3000, n),  # a half-hour of a home: 0.05-3 kWh
        price=rng.integers(5 * PRICE_SCALE, 35 * PRICE_SCALE, n),  # 5-35 p/kWh
        seq=rng.permutation(n),
        node=rng.integers(1, feeders + 1, n) if feeders else None,
    )


def ensure_venv() -> str | None:
    """Return None when .venv-bench can run pymarket, else a note why not."""
    if not VENV_PY.exists():
        try:
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, capture_output=True)
            subprocess.run(
                [str(VENV_PY), "-m", "pip", "install", "-q", "-r", str(REQS)],
                check=True,
                capture_output=True,
                timeout=900,
            )
        except (subprocess.SubprocessError, OSError) as exc:
            return f"could not create .venv-bench for pymarket: {exc}"
    probe = subprocess.run([str(VENV_PY), "-c", "import pymarket"], capture_output=True, text=True)
    if probe.returncode != 0:
        return "pymarket is not importable in .venv-bench: " + probe.stderr.strip()[-200:]
    return None


def run_pymarket(book: Book) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "book.npz")
        np.savez(
            path,
            qty=book.qty_wh,
            price=book.price / PRICE_SCALE,
            user=book.order_id,
            is_bid=book.is_bid,
            seq=book.seq,
        )
        out = subprocess.run(
            [str(VENV_PY), "-c", PYMARKET_RUNNER, path],
            capture_output=True,
            text=True,
            timeout=1800,
        )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-500:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def time_ours(book: Book, network: Network | None = None, repeat: int = 3):
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = clear(book, network=network)
        best = min(best, time.perf_counter() - t0)
    return best, result


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,10000,100000,1000000")
    ap.add_argument("--pymarket-sizes", default="1000,10000")
    ap.add_argument("--no-pymarket", action="store_true")
    ap.add_argument("--no-network", action="store_true")
    args = ap.parse_args(argv)
    sizes = [int(x) for x in args.sizes.split(",") if x]
    pm_sizes = {int(x) for x in args.pymarket_sizes.split(",") if x}
    note = "skipped (--no-pymarket)" if args.no_pymarket else ensure_venv()

    for n in sizes:
        book = random_book(n)
        seconds, r = time_ours(book, repeat=3 if n <= 100_000 else 1)
        vs: dict = {}
        if n in pm_sizes:
            if note:
                vs = {"pymarket": None, "note": note}
            else:
                ref = run_pymarket(book)
                vs = {
                    "pymarket": round(ref["seconds"] / seconds, 1),
                    "pymarket_seconds": round(ref["seconds"], 3),
                    "pymarket_volume_wh": ref["volume"],
                    "volume_wh": r.volume_wh,
                }
        print(
            json.dumps(
                {
                    "bench": "clearing",
                    "n": n,
                    "seconds": round(seconds, 5),
                    "rate": round(n / seconds),
                    "unit": "orders/s",
                    "vs": vs,
                }
            ),
            flush=True,
        )

    if not args.no_network:
        n = 100_000
        net = bench_network()
        book = network_book(n, net)
        free_net = Network.build([(name, int(par), -1, -1) for name, par in zip(net.names, net.parent, strict=True)])
        free_seconds, free = time_ours(book, network=free_net, repeat=3)
        seconds, r = time_ours(book, network=net, repeat=3)
        print(
            json.dumps(
                {
                    "bench": "clearing_network",
                    "n": n,
                    "seconds": round(seconds, 5),
                    "rate": round(n / seconds),
                    "unit": "orders/s",
                    "vs": {
                        "goal_seconds": 0.3,
                        "zones": len(net),
                        "binding_limits": len(r.binding),
                        "solver": r.solver,
                        "unconstrained_seconds": round(free_seconds, 5),
                        "ratio_to_unconstrained": round(seconds / free_seconds, 2),
                        "volume_wh": r.volume_wh,
                        "unconstrained_volume_wh": free.volume_wh,
                    },
                }
            ),
            flush=True,
        )


def network_book(n: int, net: Network, seed: int = 7) -> Book:
    """Orders on the 16 feeders: the first eight (solar streets) mostly sell
    cheap, the others mostly buy, so energy must cross the limited links."""
    rng = np.random.default_rng(seed)
    node = rng.integers(5, len(net), n)  # feeders are nodes 5..20
    sunny = node < 13
    is_bid = rng.random(n) < np.where(sunny, 0.25, 0.75)
    price = np.where(
        is_bid, rng.integers(10 * PRICE_SCALE, 35 * PRICE_SCALE, n), rng.integers(4 * PRICE_SCALE, 25 * PRICE_SCALE, n)
    )
    return Book.from_arrays(
        order_id=np.arange(1, n + 1),
        is_bid=is_bid,
        qty_wh=rng.integers(50, 3000, n),
        price=price,
        seq=rng.permutation(n),
        node=node,
    )


def bench_network() -> Network:
    """Substation -> 4 primaries -> 4 feeders each (21 zones). Feeders 1-4 may
    export 1 MWh a period, 5-8 2 MWh (their primary only 5 MWh), feeders 9-12
    import 1.5 MWh: limits bind at both levels and in both directions."""
    rows = [("substation", -1, -1, -1)]
    for p in range(4):
        lim = 5_000_000 if p < 2 else -1
        rows.append((f"primary {p + 1}", 0, lim, lim))
    for f in range(16):
        parent = 1 + f // 4
        export = 1_000_000 if f < 4 else 2_000_000 if f < 8 else -1
        imp = 1_500_000 if 8 <= f < 12 else -1
        rows.append((f"feeder {f + 1}", parent, imp, export))
    return Network.build(rows)


if __name__ == "__main__":
    main()
