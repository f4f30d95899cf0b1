"""Page load times as people meet them (issue 15): every main page of every demo role.

Serves the demo the way ``make run`` does (collected, compressed static files; the
Django server with whitenoise), logs in as each demo role in headless Chromium,
opens every section of the navigation and each section's first-level links once to
warm the cache, then again to measure the browser's load event
(``performance.getEntriesByType('navigation')[0].loadEventEnd``). Also opens each
page at 390 px and reports any that scroll sideways.

Goal: every page's load event < 500 ms with a warm cache. Charts are drawn after the load
event (templates/base.html), so the load event alone would flatter chart pages: each page
with a chart also reports ``first_chart_ms``, when the first chart's SVG appeared (polled each
animation frame, the same measure before and after the lazy drawing), and
``on_screen_ms``, when every chart on screen at load was drawn (the page's own
``cem:charts-on-screen`` mark). One JSON line per role and a summary line with the
slowest five pages by each measure.

    DEBUG=true .venv/bin/python -m bench.pages            # on var/cem.sqlite3 (seeded if empty)
    DATABASE_URL=postgres://... DEBUG=true .venv/bin/python -m bench.pages
    BENCH_ROLES=convenor,treasurer DEBUG=true .venv/bin/python -m bench.pages   # some roles only
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
ROLES = ["household1", "convenor", "treasurer", "operator", "reviewer", "funder", "supplier", "flexbuyer", "auditor"]
PASSWORD = "energy-demo"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PAGES_PER_ROLE = 25


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _manage(*args: str, env: dict) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


def _demo_ready(env: dict) -> bool:
    code = "from community.models import Community; print(Community.objects.filter(slug='bramley-green').exists())"
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    return out.stdout.strip().endswith("True")


def _links(page, base: str) -> list[str]:
    hrefs = page.eval_on_selector_all("main a[href], nav.sections a[href]", "els => els.map(e => e.href)")
    out = []
    for h in hrefs:
        u = urlsplit(h)
        if f"{u.scheme}://{u.netloc}" != base or not u.path.startswith("/c/"):
            continue
        if any(u.path.endswith(x) for x in (".csv", ".pdf", ".json")) or "/export" in u.path or "/download" in u.path:
            continue
        if u.path not in out:
            out.append(u.path)
    return out


# from the start of each document, every animation frame until a chart's SVG is there: when the
# reader first sees a chart, measured the same way whether charts are drawn before or after load
WATCH_FIRST_CHART = """(() => {
  const look = () => document.querySelector('.plotly-graph-div .main-svg')
    ? (window.__cemFirstChart = performance.now()) : requestAnimationFrame(look);
  requestAnimationFrame(look);
})();"""
FIRST_CHART_JS = "() => window.__cemFirstChart || null"
ON_SCREEN_JS = (
    "() => { const m = performance.getEntriesByName('cem:charts-on-screen'); return m.length ? m[0].startTime : null; }"
)


def _chart_times(page) -> dict:
    """When the first chart and the charts on screen at load were drawn (ms from navigation), on chart pages."""
    if not page.evaluate("!!document.querySelector('.plotly-graph-div')"):
        return {}
    out = {}
    try:
        out["first_chart_ms"] = round(page.wait_for_function(FIRST_CHART_JS, timeout=15_000).json_value())
        out["on_screen_ms"] = round(page.wait_for_function(ON_SCREEN_JS, timeout=5_000).json_value())
    except Exception:  # noqa: BLE001 - a page with no chart on screen at load has no mark
        pass
    return out


def _slowest(results: list[dict], key: str) -> list[dict]:
    return sorted((t for t in results if key in t), key=lambda t: -t[key])[:5]


def run() -> None:
    if not os.path.exists(CHROMIUM):
        print(json.dumps({"bench": "pages", "skipped": "needs Debian's chromium"}))
        return
    from playwright.sync_api import sync_playwright

    env = {**os.environ, "DEBUG": os.environ.get("DEBUG", "true"), "STATIC_COLLECTED": "true"}
    _manage("migrate", "--noinput", "-v0", env=env)
    if not _demo_ready(env):
        _manage("seed_demo", env=env)
    _manage("collectstatic", "--noinput", "-v0", env=env)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--nostatic", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # the server's system checks take half a minute on a loaded 2-core machine
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.5)
        results: list[dict] = []
        too_wide: list[str] = []
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            roles = [r for r in os.environ.get("BENCH_ROLES", "").split(",") if r] or ROLES
            for role in roles:
                ctx = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=base)
                ctx.add_init_script(WATCH_FIRST_CHART)
                page = ctx.new_page()
                page.goto("/accounts/login/")
                page.fill("input[name=username]", role)
                page.fill("input[name=password]", PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_load_state("load")
                page.goto("/c/bramley-green/")
                pages = _links(page, base)
                for path in list(pages):
                    if len(pages) >= PAGES_PER_ROLE:
                        break
                    page.goto(path)
                    for extra in _links(page, base):
                        if extra not in pages and len(pages) < PAGES_PER_ROLE:
                            pages.append(extra)
                timings = []
                for path in pages:
                    page.goto(path)  # warm: static files now in the browser's cache
                    page.goto(path)
                    page.wait_for_load_state("load")
                    ms = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
                    timings.append({"role": role, "path": path, "load_ms": round(ms), **_chart_times(page)})
                    page.set_viewport_size({"width": 390, "height": 844})
                    page.reload()
                    page.wait_for_load_state("load")
                    width = page.evaluate("document.documentElement.scrollWidth")
                    if width > 390:
                        too_wide.append(f"{path} ({role}): {width}px")
                    page.set_viewport_size({"width": 1280, "height": 900})
                ctx.close()
                results.extend(timings)
                worst = max(timings, key=lambda t: t["load_ms"]) if timings else None
                print(
                    json.dumps(
                        {
                            "bench": "pages",
                            "role": role,
                            "n": len(timings),
                            "max_ms": worst and worst["load_ms"],
                            "median_ms": sorted(t["load_ms"] for t in timings)[len(timings) // 2] if timings else None,
                            "slowest": worst and worst["path"],
                            "max_first_chart_ms": max(
                                (t["first_chart_ms"] for t in timings if "first_chart_ms" in t), default=None
                            ),
                        }
                    ),
                    flush=True,
                )
            browser.close()
        charted = [t for t in results if "first_chart_ms" in t]
        print(
            json.dumps(
                {
                    "bench": "pages",
                    "n": len(results),
                    "seconds": round(max((t["load_ms"] for t in results), default=0) / 1000, 3),
                    "goal_ms": 500,
                    "over_goal": sum(t["load_ms"] >= 500 for t in results),
                    "slowest": _slowest(results, "load_ms"),
                    "chart_pages": len(charted),
                    "first_chart_over_goal": sum(t["first_chart_ms"] >= 500 for t in charted),
                    "slowest_first_chart": _slowest(results, "first_chart_ms"),
                    "slowest_on_screen": _slowest(results, "on_screen_ms"),
                    "too_wide_at_390px": too_wide,
                }
            )
        )
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=10)


if __name__ == "__main__":
    run()
