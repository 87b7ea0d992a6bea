"""The console's benchmark: Lighthouse on the dashboard, and the JavaScript its first load costs.

The stack is the browser tests' (tests/console_stack.py): webapi under gunicorn over seed-demo
data, the console's production build (the Next.js standalone server) in front of it. The bench
signs in through the console's proxy (POST /api/v1/auth/login), loads the dashboard once to warm
the servers, then runs Lighthouse 12 (frontend/node_modules, the npm package pinned in
frontend/package-lock.json) on it, with the session cookie as an extra header and Debian's
chromium (CHROME_PATH, default /usr/bin/chromium): --runs times with the mobile preset (the
default: an emulated phone, simulated slow 4G and a 4x slower CPU), then --runs times with the
desktop preset. Each figure is the median of its runs: the performance, accessibility and best
practices scores, and the JavaScript transferred (compressed, as Lighthouse's resource summary
counts scripts) on that first load, each beside its bar. Then every accessibility and best
practices audit that failed (score < 1) in any run, with what it found.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.console_stack import ADMIN, CHROMIUM_FLAGS, FRONTEND, build_console, console_stack
from tests.doubles.fake_llm import FakeLLM
from tests.support import ROOT

LIGHTHOUSE = FRONTEND / "node_modules" / "lighthouse" / "cli" / "index.js"
CHROMIUM = os.environ.get("CHROME_PATH", os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CATEGORIES = ("performance", "accessibility", "best-practices")
PRESETS = ("mobile", "desktop")
# The bars: the lowest score (0-100) per preset and category; the most JavaScript.
SCORE_BARS = {
    ("mobile", "performance"): 90,
    ("mobile", "accessibility"): 100,
    ("mobile", "best-practices"): 100,
    ("desktop", "performance"): 98,
}
JS_BAR_BYTES = 200_000
METRICS = (
    ("first-contentful-paint", "FCP"),
    ("largest-contentful-paint", "LCP"),
    ("total-blocking-time", "TBT"),
    ("cumulative-layout-shift", "CLS"),
    ("speed-index", "SI"),
)


@dataclass
class Failure:
    """An audit that failed in some runs: its title and what it found the last time."""

    category: str
    title: str
    runs: set[str] = field(default_factory=set)
    found: list[str] = field(default_factory=list)


@dataclass
class Result:
    runs: int
    url: str
    lighthouse: str
    scores: dict[tuple[str, str], float]
    script_bytes: dict[str, float]
    script_requests: dict[str, float]
    metrics: dict[tuple[str, str], str]
    failures: dict[str, Failure]
    # Lighthouse's measure of the machine's speed while it ran (its median): a busy or slow
    # machine scores lower; Lighthouse's own guidance is to trust mobile scores from 1,000 up.
    benchmark_index: float


def signed_in_cookie(console_url: str) -> str:
    """`name=value` of the session cookie a sign-in through the console's proxy sets."""
    response = httpx.post(
        f"{console_url}/api/v1/auth/login",
        json={"username": ADMIN[0], "password": ADMIN[1]},
        timeout=30,
    )
    response.raise_for_status()
    cookie = response.headers["set-cookie"].split(";", 1)[0]
    # The dashboard as the browser will get it: signed in, not sent back to /login.
    page = httpx.get(f"{console_url}/", headers={"Cookie": cookie}, timeout=60)
    if page.status_code != 200:
        raise RuntimeError(f"the dashboard answered {page.status_code} to a signed-in visit")
    return cookie


def lighthouse(url: str, preset: str, cookie: str, report: Path) -> dict[str, Any]:
    """One Lighthouse run (a fresh chromium, cold cache); its report (the LHR)."""
    command = [
        "node",
        str(LIGHTHOUSE),
        url,
        f"--only-categories={','.join(CATEGORIES)}",
        f"--chrome-flags={' '.join(CHROMIUM_FLAGS)}",
        f"--extra-headers={json.dumps({'Cookie': cookie})}",
        "--output=json",
        f"--output-path={report}",
        "--quiet",
    ]
    if preset == "desktop":
        command.append("--preset=desktop")
    env = {**os.environ, "CHROME_PATH": CHROMIUM}
    done = subprocess.run(  # noqa: S603 (a fixed command line)
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    if done.returncode != 0 or not report.is_file():
        raise RuntimeError(f"Lighthouse failed ({preset}):\n{(done.stdout + done.stderr)[-4000:]}")
    lhr: dict[str, Any] = json.loads(report.read_text())
    if lhr.get("runtimeError"):
        raise RuntimeError(f"Lighthouse could not load {url}: {lhr['runtimeError']}")
    final = lhr.get("finalDisplayedUrl", url)
    if final.rstrip("/") != url.rstrip("/"):
        raise RuntimeError(f"Lighthouse was sent from {url} to {final} (not signed in?)")
    return lhr


def _found(audit: dict[str, Any]) -> list[str]:
    """A line on each thing a failed audit found (element and what is wrong, message, URL)."""
    items = (audit.get("details") or {}).get("items") or []
    found = []
    for item in items[:5]:
        node = item.get("node") or {}
        text = (
            node.get("snippet")
            or item.get("description")
            or (item.get("source") or {}).get("url")
            or item.get("url")
            or json.dumps(item)
        )
        line = " ".join(str(text).split())[:160]
        explanation = " ".join(node.get("explanation", "").split())
        found.append(f"{line}: {explanation[:240]}" if explanation else line)
    if len(items) > 5:
        found.append(f"... and {len(items) - 5} more")
    return found or [str(audit.get("explanation") or audit.get("displayValue") or "")]


def measure(workdir: Path, runs: int, reports: Path | None = None) -> Result:
    """Every run's figures; each run's whole Lighthouse report (JSON) is kept in `reports`
    when given (lighthouse-mobile-1.json, ...), to read what Lighthouse saw."""
    build_console()
    scores: dict[tuple[str, str], list[float]] = {}
    script_bytes: dict[str, list[int]] = {preset: [] for preset in PRESETS}
    script_requests: dict[str, list[int]] = {preset: [] for preset in PRESETS}
    metrics: dict[tuple[str, str], list[float]] = {}
    units: dict[str, str] = {}
    failures: dict[str, Failure] = {}
    benchmark: list[float] = []
    version = ""
    with FakeLLM() as llm, console_stack(workdir, llm.base_url) as stack:
        url = f"{stack.console_url}/"
        cookie = signed_in_cookie(stack.console_url)
        for preset in PRESETS:
            for run in range(runs):
                report = (reports or workdir) / f"lighthouse-{preset}-{run + 1}.json"
                lhr = lighthouse(url, preset, cookie, report)
                version = lhr["lighthouseVersion"]
                benchmark.append(lhr["environment"]["benchmarkIndex"])
                for category in CATEGORIES:
                    score = lhr["categories"][category]["score"]
                    scores.setdefault((preset, category), []).append(score * 100)
                audits = lhr["audits"]
                summary = audits["resource-summary"]["details"]["items"]
                script = next(row for row in summary if row["resourceType"] == "script")
                script_bytes[preset].append(script["transferSize"])
                script_requests[preset].append(script["requestCount"])
                for key, _ in METRICS:
                    metrics.setdefault((preset, key), []).append(audits[key]["numericValue"])
                    units[key] = audits[key]["numericUnit"]
                for category in ("accessibility", "best-practices"):
                    for ref in lhr["categories"][category]["auditRefs"]:
                        audit = audits[ref["id"]]
                        if audit["score"] is None or audit["score"] >= 1:
                            continue
                        failure = failures.setdefault(ref["id"], Failure(category, audit["title"]))
                        failure.runs.add(f"{preset} {run + 1}")
                        failure.found = _found(audit)
    return Result(
        runs=runs,
        url="/ (the dashboard, default period)",
        lighthouse=version,
        scores={key: statistics.median(values) for key, values in scores.items()},
        script_bytes={key: statistics.median(values) for key, values in script_bytes.items()},
        script_requests={key: statistics.median(values) for key, values in script_requests.items()},
        metrics={
            (preset, key): _metric(statistics.median(values), units[key])
            for (preset, key), values in metrics.items()
        },
        failures=failures,
        benchmark_index=statistics.median(benchmark),
    )


def _metric(value: float, unit: str) -> str:
    return f"{value / 1000:.2f} s" if unit == "millisecond" else f"{value:.3f}"


def _verdict(met: bool) -> str:
    return "ok" if met else "MISSED"


def print_report(result: Result) -> None:
    print(
        f"The console: Lighthouse {result.lighthouse} on {result.url}, signed in, over the "
        f"browser tests' demo data; medians of {result.runs} runs per preset (the machine's "
        f"Lighthouse benchmark index: {result.benchmark_index:.0f}):"
    )
    print(f"{'preset':<9}{'category':<16}{'score':>7}{'bar':>7}")
    for preset in PRESETS:
        for category in CATEGORIES:
            score = result.scores[(preset, category)]
            bar = SCORE_BARS.get((preset, category))
            verdict = f"{f'>={bar}':>7}  {_verdict(round(score) >= bar)}" if bar else ""
            print(f"{preset:<9}{category:<16}{score:>7.0f}{verdict}")
    print()
    print("JavaScript transferred on the dashboard's first load (compressed, Lighthouse's count):")
    for preset in PRESETS:
        size = result.script_bytes[preset]
        print(
            f"  {preset:<9}{size / 1000:>8.1f} kB in {result.script_requests[preset]:.0f} "
            f"scripts   bar <= {JS_BAR_BYTES / 1000:.0f} kB  {_verdict(size <= JS_BAR_BYTES)}"
        )
    print()
    print("Performance metrics (medians):")
    for preset in PRESETS:
        figures = "  ".join(f"{name} {result.metrics[(preset, key)]}" for key, name in METRICS)
        print(f"  {preset:<9}{figures}")
    print()
    if not result.failures:
        print("Accessibility and best practices: no audit failed in any run.")
        return
    print("Accessibility and best practices audits that failed (score < 1):")
    for audit_id, failure in sorted(result.failures.items(), key=lambda f: f[1].category):
        print(
            f"  [{failure.category}] {audit_id}: {failure.title} "
            f"(in {len(failure.runs)} of {result.runs * len(PRESETS)} runs)"
        )
        for found in failure.found:
            print(f"      {found}")
