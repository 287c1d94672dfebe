"""``python -m bench --browser``: the latency a user feels, measured in a real browser.

The real app (the README's ``streamlit run dashboard/server.py``, headless, on a free port) runs
on the benchmark database of ``--rows N`` (``bench.database``: seeded by the CLI's seeder, or
reused), and Playwright drives it in Debian's headless Chromium. Each browser session logs in as
the manager and goes through the same round ``--repeat`` times, each round in a new tab with the
cookies cleared (a new login) in the user's own browser context, whose HTTP cache stays as a
returning user's does (the front end's scripts are not fetched again at every login):

login → 咨询处理; a province filter (then 重置筛选, untimed); a search for a company-name fragment;
a click on the first row found, which opens its detail; a search for a mobile number of one
inquiry (which opens it: a whole number that finds one inquiry does); 标记为已完成 with a 处理意见;
统计报表; a click on a bar of 按地区, which opens 咨询处理 on that province; back to 统计报表
(untimed) and another 期间 (近12个月 and 全部 in turn).

Each interaction is timed from the user's action (the click, the Enter; a click is a mouse click
at the element, found and scrolled into view before the clock starts) until its result is on
screen: the page (``stApp``) says its script run has ended, and the concrete result is there — the
URL of the new view, and the text it must show (``共 N 条`` with the count the chart named, the
detail's heading with the serial of the row clicked, the completion message, the report's last
section with every chart drawn). The condition is checked in the page every 20 ms.

With ``--users N`` that many sessions (separate browser contexts of one Chromium) go through their
rounds at the same time; with ``--processes 2`` two app processes serve them behind nginx with
``deploy/nginx.conf`` (PostgreSQL). Reported: p50 and p95 per interaction, and of its
``answered`` time (the server's answer as the browser received it: ``Wire``), the server's CPU time
per interaction (psutil, the server processes and their children; with one user the delta around
each interaction, with several the whole run's CPU divided by the interactions), and the
server's RSS. The Markdown table is printed and appended to ``bench/results/browser.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import random
import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from bench import app_server, database, timed_streamlit
from dashboard.settings import ROOT

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SHIPPED_NGINX = ROOT / "deploy" / "nginx.conf"
RESULTS_FILE = database.RESULTS_DIR / "browser.md"
ACCOUNT = "manager"  # sees 咨询处理 and 统计报表, completes inquiries
PASSWORD = "demo-pass-2026"  # the seeded demo accounts' (dashboard.seed.DEMO_PASSWORD)
PERIODS = ("近12个月", "全部")  # 统计报表's period, alternately (the page opens on 近30天)
POLL_MS = 20
MB = 1024 * 1024

#: The interactions of a round, in order: key, what the user does.
INTERACTIONS = {
    "login": "登录 → 咨询处理 (list drawn)",
    "filter": "筛选 省/市",
    "search_fragment": "搜索 公司名称片段 (3 characters)",
    "search_mobile": "搜索 手机号",
    "open_detail": "打开详情 (row click)",
    "complete": "标记为已完成 (with 处理意见)",
    "open_reports": "打开 统计报表 (all charts drawn)",
    "drill": "按地区 bar → 咨询处理",
    "change_period": "统计报表 期间 → 近12个月 / 全部",
}
SLOW_OPENERS = {"login", "open_reports"}  # the 1.5 s targets


def target(key: str, users: int) -> tuple[float | None, float]:
    """The issue's target for an interaction: (p50 ms or None, p95 ms)."""
    if users > 1:
        return None, 2000.0
    if key in SLOW_OPENERS:
        return None, 1500.0
    return 500.0, 1000.0


def target_text(key: str, users: int) -> str:
    p50, p95 = target(key, users)
    if p50 is None:
        return f"p95 ≤ {p95 / 1000:g} s" if users > 1 else f"≤ {p95 / 1000:g} s"
    return f"p50 ≤ {p50:g} ms, p95 ≤ {p95 / 1000:g} s"


# ---------------------------------------------------------------------------------------------
# Numbers


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0–100) with linear interpolation between the closest ranks (as
    numpy's default): of 10 values, p50 is the mean of the 5th and 6th, p95 lies between the
    9th and the 10th."""
    if not values:
        raise ValueError("no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile out of range: {q}")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarize(
    samples: dict[str, list[float]],
    cpu: dict[str, list[float]],
    failures: dict[str, int],
    users: int,
    answered: dict[str, list[float]] | None = None,
) -> list[dict]:
    """One row per interaction (in ``INTERACTIONS`` order): n, p50, p95, server CPU, target,
    and the p50 and p95 of ``answered`` (``Wire.answered``)."""
    rows = []
    for key, label in INTERACTIONS.items():
        times = samples.get(key, [])
        cpus = cpu.get(key, [])
        wire = (answered or {}).get(key, [])
        p50_target, p95_target = target(key, users)
        row = {
            "key": key,
            "interaction": label,
            "n": len(times),
            "failed": failures.get(key, 0),
            "p50_ms": round(percentile(times, 50)) if times else None,
            "p95_ms": round(percentile(times, 95)) if times else None,
            "max_ms": round(max(times)) if times else None,
            "cpu_ms": round(sum(cpus) / len(cpus)) if cpus else None,
            "target": target_text(key, users),
            "answered_p50_ms": round(percentile(wire, 50)) if wire else None,
            "answered_p95_ms": round(percentile(wire, 95)) if wire else None,
        }
        row["meets"] = (
            None
            if not times
            else (p50_target is None or row["p50_ms"] <= p50_target)
            and row["p95_ms"] <= p95_target
            and not row["failed"]
        )
        rows.append(row)
    return rows


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    return f"{value:,}" if isinstance(value, int | float) else str(value)


def table(rows: list[dict]) -> str:
    """The Markdown table of ``summarize``'s rows."""
    lines = [
        "| interaction | n | p50 ms | p95 ms | max ms | server CPU ms | target | meets "
        "| answered p50 / p95 ms |",
        "|---|---:|---:|---:|---:|---:|---|---|---:|",
    ]
    for r in rows:
        n = _cell(r["n"]) + (f" ({r['failed']} failed)" if r.get("failed") else "")
        answered = (
            f"{_cell(r['answered_p50_ms'])} / {_cell(r['answered_p95_ms'])}"
            if r.get("answered_p50_ms") is not None
            else "–"
        )
        lines.append(
            f"| {r['interaction']} | {n} | {_cell(r['p50_ms'])} | {_cell(r['p95_ms'])} | "
            f"{_cell(r['max_ms'])} | {_cell(r['cpu_ms'])} | {r['target']} | "
            f"{_cell(r['meets'])} | {answered} |"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# The app processes, the proxy, and watching the server


@dataclass
class App:
    """One ``streamlit run dashboard/server.py`` (the README's start command)."""

    url: str
    process: subprocess.Popen
    log: Path
    #: The wall time of each script run (``bench.timed_streamlit``).
    run_times: Path

    @classmethod
    def start(cls, database_url: str, log: Path, timeout_s: float = 600) -> App:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DASHBOARD_", "DATABASE"))}
        env.update(
            DASHBOARD_DATABASE_URL=database_url,
            DASHBOARD_DEMO="0",  # a seeded database: no demo data, the accounts exist already
            STREAMLIT_BROWSER_GATHER_USAGE_STATS="false",
        )
        run_times = log.with_suffix(".runs")
        run_times.unlink(missing_ok=True)
        url, process = app_server.start_streamlit(
            app_server.free_port(),
            env,
            log,
            timeout_s=timeout_s,
            log_tail=3000,
            run_times=run_times,
        )
        return cls(url=url, process=process, log=log, run_times=run_times)

    def stop(self) -> None:
        app_server.stop_process(self.process, timeout_s=15)


class Nginx:
    """Debian's nginx in the foreground with the shipped ``deploy/nginx.conf``, its two upstream
    lines replaced by the app processes (as ``tests/e2e/test_two_processes_e2e.py`` runs it)."""

    def __init__(self, folder: Path, upstreams: list[str]) -> None:
        if not Path(NGINX).exists():
            raise SystemExit("nginx is not installed (apt-get install nginx-light)")
        self.folder = folder
        self.port = app_server.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        temp = "\n".join(f"    {s}_temp_path {folder}/{s};" for s in ("proxy", "fastcgi", "uwsgi"))
        (folder / "nginx.conf").write_text(
            f"""
worker_processes 1;
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
{temp}
    scgi_temp_path {folder}/scgi;
    include {folder}/site.conf;
}}
"""
        )
        site = SHIPPED_NGINX.read_text()
        shipped = [line for line in site.splitlines() if line.strip().startswith("server 127.")]
        if len(shipped) != 2:
            raise RuntimeError("deploy/nginx.conf no longer names two app processes")
        lines = "\n".join(f"    server {u} max_fails=1 fail_timeout=10s;" for u in upstreams)
        site = site.replace("\n".join(shipped), lines)
        site = site.replace("listen 8080;", f"listen 127.0.0.1:{self.port};")
        (folder / "site.conf").write_text(site)
        self.process = subprocess.Popen(
            [NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf")],
            stdout=subprocess.DEVNULL,
            stderr=(folder / "stderr.log").open("w"),
        )
        app_server.wait_healthy(self.url, 20, lambda: self.process.poll() is None, "nginx")

    def stop(self) -> None:
        app_server.stop_process(self.process)


class Watch:
    """CPU seconds and RSS of a set of processes and their children; a thread samples the RSS
    (every 0.2 s) to keep its peak."""

    def __init__(self, pids: list[int], interval: float = 0.2) -> None:
        self.roots = [psutil.Process(pid) for pid in pids]
        self.interval = interval
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _tree(self, root: psutil.Process) -> list[psutil.Process]:
        try:
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def cpu_seconds(self) -> float:
        total = 0.0
        for root in self.roots:
            for proc in self._tree(root):
                try:
                    times = proc.cpu_times()
                    total += times.user + times.system
                except psutil.NoSuchProcess:
                    pass
        return total

    def rss_mb_each(self) -> list[float]:
        """The RSS of each root's tree."""
        out = []
        for root in self.roots:
            rss = 0
            for proc in self._tree(root):
                with contextlib.suppress(psutil.NoSuchProcess):
                    rss += proc.memory_info().rss
            out.append(rss / MB)
        return out

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, sum(self.rss_mb_each()))
            self._stop.wait(self.interval)

    def __enter__(self) -> Watch:
        self.peak_mb = sum(self.rss_mb_each())
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


# ---------------------------------------------------------------------------------------------
# What the users search for, open and complete


@dataclass
class Sample:
    """The data of one round: an inquiry to find by a fragment of its company name, then by its
    mobile (which no other inquiry has), to open and complete; and a province to filter by."""

    inquiry_id: int
    serial: str
    fragment: str
    mobile: str
    province: str  # its name, as the 省/市 box lists it
    province_code: str
    period: str  # 统计报表's 期间 to choose
    period_start: str  # the start it means (ISO)


def samples(engine, count: int) -> list[Sample]:
    """``count`` rounds' data: distinct submitted inquiries spread over the table, each with a
    mobile of its own (so that its search lists it alone and nobody else completes it)."""
    import sqlalchemy as sa

    from dashboard import clock, regions

    today = clock.today()

    with engine.connect() as c:
        submitted = c.execute(
            sa.text(
                "SELECT id, serial, company_name, mobile FROM inquiry "
                "WHERE status = 'submitted' ORDER BY id"
            )
        ).all()
        # Spread over the table (old and new inquiries), a few spare for mobiles that repeat.
        step = max(1, len(submitted) // (count * 4))
        candidates = submitted[::step]
        provinces = [
            code
            for code, _ in c.execute(
                sa.text(
                    "SELECT province_code, COUNT(*) FROM inquiry WHERE status = 'submitted' "
                    "GROUP BY province_code ORDER BY COUNT(*) DESC LIMIT 6"
                )
            ).all()
        ]
        picked = []
        rng = random.Random(2026)
        rng.shuffle(candidates)
        for inquiry_id, serial, company, mobile in candidates:
            if len(picked) == count:
                break
            if not mobile or len(company) < 4:
                continue
            same = c.execute(
                sa.text("SELECT COUNT(*) FROM inquiry WHERE mobile = :m"), {"m": mobile}
            ).scalar_one()
            if same != 1:
                continue
            i = len(picked)
            code = provinces[i % len(provinces)]
            picked.append(
                Sample(
                    inquiry_id=inquiry_id,
                    serial=serial,
                    fragment=company[1:4],
                    mobile=mobile,
                    province=regions.name(code),
                    province_code=code,
                    period=PERIODS[i % len(PERIODS)],
                    period_start=clock.period(PERIODS[i % len(PERIODS)], today)[0].isoformat(),
                )
            )
    if len(picked) < count:
        raise SystemExit(
            f"only {len(picked)} submitted inquiries with a mobile of their own for {count} "
            "rounds: seed more rows (--rows) or use --fresh"
        )
    return picked


# ---------------------------------------------------------------------------------------------
# The browser side

#: Is the view done? ``c`` = {url: regex, texts: [regex], selectors: [css], charts: bool}. The
#: script run has ended, the URL is the new view's, each text is shown by some element, each
#: selector matches an element (the grid's rows are in its accessible table, which is not
#: "shown": the grid draws on a canvas), and (charts) every Vega chart has drawn its SVG.
DONE_JS = """
c => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (c.url && !new RegExp(c.url).test(location.href)) return false;
  const shown = el => el.getClientRects().length > 0;
  const blocks = Array.from(document.querySelectorAll(
    '[data-testid="stMarkdownContainer"], h1, h2, h3, [data-testid="stCaptionContainer"]'));
  for (const t of c.texts || []) {
    const re = new RegExp(t);
    if (!blocks.some(el => shown(el) && re.test(el.textContent.trim()))) return false;
  }
  for (const s of c.selectors || []) {
    if (!document.querySelector(s)) return false;
  }
  if (c.charts) {
    const charts = Array.from(document.querySelectorAll('.vega-embed'));
    if (!charts.length || !charts.every(e => e.querySelector('svg'))) return false;
  }
  return true;
}
"""

SETTLED = {"texts": [], "selectors": []}
TOTAL = r"^共 [\d,]+\+? 条$"
GRID_DRAWN = '[data-testid="stDataFrame"] tbody td'
REPORT_END = r"^(本期咨询中仍有|本期没有需要处理)"


class Failed(Exception):
    pass


class Wire:
    """The WebSocket frames of one tab as Chromium timed them (DevTools ``Network`` events:
    one clock, in the browser, whatever the harness's own Python is doing).

    ``answered(mark)``: from the first frame the page sent after ``mark`` (the rerun the user's
    action asked for) to the last frame it received (the run's end): how long the server took
    to answer as seen at the browser, without the drawing that follows. With the browsers on
    the same two cores as the server this tells the server's share of a slow interaction."""

    def __init__(self) -> None:
        self.frames: list[tuple[str, float]] = []

    @classmethod
    async def attach(cls, context, page) -> Wire:
        wire = cls()
        cdp = await context.new_cdp_session(page)
        cdp.on("Network.webSocketFrameSent", lambda e: wire.frames.append(("sent", e["timestamp"])))
        cdp.on(
            "Network.webSocketFrameReceived",
            lambda e: wire.frames.append(("received", e["timestamp"])),
        )
        await cdp.send("Network.enable")
        return wire

    def mark(self) -> int:
        return len(self.frames)

    def answered(self, mark: int) -> float | None:
        """Milliseconds from the first frame sent after ``mark`` to the last received."""
        after = self.frames[mark:]
        sent = next((t for kind, t in after if kind == "sent"), None)
        received = [t for kind, t in after if kind == "received"]
        if sent is None or not received or received[-1] < sent:
            return None
        return (received[-1] - sent) * 1000


@dataclass
class Recorder:
    """Collects the samples of every session; with one user, the server CPU of each."""

    watch: Watch
    per_interaction_cpu: bool
    timeout_ms: float
    samples: dict[str, list[float]] = field(default_factory=dict)
    #: ``Wire.answered`` of each sample: the server's answer as the browser received it.
    answered: dict[str, list[float]] = field(default_factory=dict)
    cpu: dict[str, list[float]] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    async def timed(self, key: str, page, action, done: dict, wire: Wire | None = None) -> None:
        """``action()`` (the user's click or key), then wait until ``done`` holds in the page."""
        cpu0 = self.watch.cpu_seconds() if self.per_interaction_cpu else 0.0
        mark = wire.mark() if wire else 0
        started = time.perf_counter()
        try:
            await action()
            await page.wait_for_function(
                DONE_JS, arg=done, polling=POLL_MS, timeout=self.timeout_ms
            )
        except Exception as err:  # a timeout or a lost page: counted, and this round ends
            self.failures[key] = self.failures.get(key, 0) + 1
            self.errors.append(f"{key}: {str(err).splitlines()[0][:300]}")
            raise Failed(key) from err
        ms = (time.perf_counter() - started) * 1000
        self.samples.setdefault(key, []).append(ms)
        if wire:
            await asyncio.sleep(0.05)  # the DevTools events of the run's last frames
            answered = wire.answered(mark)
            if answered is not None:
                self.answered.setdefault(key, []).append(answered)
        if self.per_interaction_cpu:
            self.cpu.setdefault(key, []).append((self.watch.cpu_seconds() - cpu0) * 1000)


async def _settle(page, timeout_ms: float) -> None:
    await page.wait_for_function(DONE_JS, arg=SETTLED, polling=POLL_MS, timeout=timeout_ms)


async def _open_select(page, label: str, option: str):
    """Open a select box and narrow its (virtualised) list to ``option``; returns the click on
    that option (``_click_at``)."""
    await page.get_by_label(label).first.click()
    await page.keyboard.type(option)
    item = page.get_by_role("option", name=option, exact=True)
    await item.wait_for(state="visible")
    return await _click_at(page, item)


async def _click_at(page, locator):
    """The click on ``locator``, found and scrolled into view now: a mouse click at the middle
    of where it is. Timed from there, the sample starts at the user's click. Playwright's own
    ``click()`` first waits for the element to be stable over two animation frames and then
    scrolls, which added 50–80 ms before the click even reached the page."""
    await locator.scroll_into_view_if_needed()
    box = await locator.bounding_box()
    if box is None:
        raise Failed("the element to click is not on screen")
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    return lambda: page.mouse.click(x, y)


def _quoted(text: str) -> str:
    from urllib.parse import quote

    return re.escape(quote(text))


async def new_context(browser, rec: Recorder):
    """One user's browser: a context of its own (cookies, HTTP cache), Beijing time, Chinese."""
    context = await browser.new_context(
        viewport={"width": 1400, "height": 1000}, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    context.set_default_timeout(rec.timeout_ms)  # the untimed steps wait as long
    return context


async def one_round(
    context, base_url: str, sample: Sample, rec: Recorder, think_s: float, shots: Path | None
) -> None:
    """One user's round in a new tab of the user's browser, logged out first (its cookies
    cleared: a new login); the browser's HTTP cache stays, as a returning user's does. A failed
    interaction ends the round."""
    await context.clear_cookies()
    page = await context.new_page()
    wire = await Wire.attach(context, page)
    timeout = rec.timeout_ms

    async def think():
        if think_s:
            await asyncio.sleep(think_s)

    async def list_drawn(key: str, action, url: str, *texts: str) -> None:
        """Time ``action`` until 咨询处理's list is drawn, at ``url`` and showing ``texts``."""
        done = {"url": url, "texts": list(texts), "selectors": [GRID_DRAWN]}
        await rec.timed(key, page, action, done, wire)

    try:
        await page.goto(base_url)
        await page.get_by_label("用户名").fill(ACCOUNT)
        await page.get_by_label("密码").fill(PASSWORD)
        await list_drawn(
            "login",
            await _click_at(page, page.get_by_role("button", name="登录", exact=True)),
            r"/triage",
            r"^咨询处理$",
            TOTAL,
        )
        await think()

        pick = await _open_select(page, "省/市", sample.province)
        await list_drawn("filter", pick, rf"[?&]province={sample.province_code}", TOTAL)
        await page.keyboard.press("Escape")
        await think()
        await page.get_by_role("button", name="重置筛选").click()
        await page.wait_for_function(
            "() => !/[?&]province=/.test(location.href)", polling=POLL_MS, timeout=timeout
        )
        await _settle(page, timeout)

        box = page.get_by_test_id("stSidebar").get_by_label("搜索")
        await box.fill(sample.fragment)
        await list_drawn(
            "search_fragment",
            lambda: box.press("Enter"),
            rf"[?&]q={_quoted(sample.fragment)}",
            TOTAL,
        )
        await think()

        # The first row of what the fragment found (its own inquiry at least: 已提交).
        grid_box = await page.get_by_test_id("stDataFrame").first.bounding_box()

        async def click_first_row():
            await page.mouse.click(grid_box["x"] + 12, grid_box["y"] + 35 + 17)

        await rec.timed(
            "open_detail",
            page,
            click_first_row,
            {"url": r"[?&]open=\d+(&|$)", "texts": [r"^询保申请 \d{18}$", r"^处理记录$"]},
            wire,
        )
        await think()

        # A whole mobile number that finds one inquiry opens it at once (triage.py); the
        # result is the list of one.
        await box.fill(sample.mobile)
        await list_drawn(
            "search_mobile", lambda: box.press("Enter"), rf"[?&]q={sample.mobile}", r"^共 1 条$"
        )
        await think()

        heading = rf"^询保申请 {sample.serial}$"
        if not await page.get_by_role("heading", name=re.compile(heading)).count():
            grid_box = await page.get_by_test_id("stDataFrame").first.bounding_box()
            await click_first_row()
            await page.wait_for_function(
                DONE_JS, arg={"texts": [heading]}, polling=POLL_MS, timeout=timeout
            )
        await page.get_by_label("处理意见", exact=True).fill("基准测试：已电话联系客户")
        await rec.timed(
            "complete",
            page,
            await _click_at(page, page.get_by_role("button", name="标记为已完成")),
            {"texts": [rf"^已将 询保申请 {sample.serial} 标记为已完成$"]},
            wire,
        )
        await think()

        reports_done = {"url": r"/reports", "texts": [r"^人员工作量$", REPORT_END], "charts": True}
        await rec.timed(
            "open_reports",
            page,
            await _click_at(page, page.get_by_role("link", name="统计报表")),
            reports_done,
            wire,
        )
        await think()

        # A bar of 按地区 (its label is exactly "数量: n; 地区: name") on the period the page
        # opens on (近30天), before the period changes: a drill from 全部 opens 咨询处理 on
        # today only (see BENCHMARKS.md, Browser latency).
        paths = page.locator(".vega-embed path[aria-label]")
        labels = await paths.evaluate_all("els => els.map(e => e.getAttribute('aria-label'))")
        bar_re = re.compile(r"^数量: ([\d,]+); 地区: ([^;]+)$")
        index = next((i for i, label in enumerate(labels) if bar_re.match(label)), None)
        if index is None:
            raise Failed("no bar of 按地区 on 统计报表")
        n = int(bar_re.match(labels[index]).group(1).replace(",", ""))
        click_bar = await _click_at(page, paths.nth(index))
        await list_drawn(
            "drill", click_bar, r"/triage\?.*province=\d+", r"^咨询处理$", rf"^共 {n:,} 条$"
        )
        await think()

        await page.get_by_role("link", name="统计报表").click()  # back, untimed
        await page.wait_for_function(DONE_JS, arg=reports_done, polling=POLL_MS, timeout=timeout)
        pick = await _open_select(page, "期间", sample.period)
        await rec.timed(
            "change_period",
            page,
            pick,
            {
                "url": rf"start={sample.period_start}&end=.*granularity=month",
                "texts": [r"^按月统计共 \d+ 个月", REPORT_END],
                "charts": True,
            },
            wire,
        )
        if shots:
            await page.screenshot(path=shots / "last.png")
    except Exception as err:  # a failed interaction (counted), or an untimed step that failed
        if not (isinstance(err, Failed) and str(err) in INTERACTIONS):
            rec.errors.append(f"round stopped: {str(err).splitlines()[0][:300]}")
        if shots:
            with contextlib.suppress(Exception):
                await page.screenshot(path=shots / f"failed-{int(time.time())}.png")
    finally:
        with contextlib.suppress(Exception):
            await page.close()


def renice_browsers(niceness: int, exclude: set[int]) -> int:
    """Lower the CPU priority of this process's descendants (Playwright's driver, Chromium and
    its renderers), the app processes and their children excluded; returns how many.

    Real users' browsers run on their own machines. Here they share the server's two cores and
    used more CPU than the server (BENCHMARKS.md), so with many users the server's answers
    waited behind ten renderers. At a lower priority the browsers take what the server leaves:
    closer to the server's latency with the users elsewhere, while the drawing is slower."""
    count = 0
    for proc in _browser_processes(exclude):
        try:
            if proc.nice() < niceness:
                proc.nice(niceness)
                count += 1
        except psutil.Error:
            pass
    return count


async def _user(
    browser, base_url, rounds, rec, think_s, shots, start_delay, name, nice=None
) -> None:
    await asyncio.sleep(start_delay)
    context = await new_context(browser, rec)
    try:
        for i, sample in enumerate(rounds, 1):
            if nice:
                nice()  # the new tab's renderer
            await one_round(context, base_url, sample, rec, think_s, shots)
            print(f"  {name}: round {i}/{len(rounds)} done", flush=True)
    finally:
        with contextlib.suppress(Exception):
            await context.close()


@dataclass
class Totals:
    """What the timed part of a run cost (after the warm-up round)."""

    wall_s: float = 0.0
    server_cpu_s: float = 0.0
    browser_cpu_s: float = 0.0
    #: The timed part's start and end, as Unix times.
    began: float = 0.0
    ended: float = 0.0


async def drive(
    base_url: str,
    plan: list[list[Sample]],
    rec: Recorder,
    think_s: float,
    shots: Path | None,
    exclude: set[int],
    browser_nice: int = 0,
) -> Totals:
    """The warm-up round, then every user's rounds at once; returns the timed part's cost."""
    from playwright.async_api import async_playwright

    totals = Totals()
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=app_server.CHROMIUM,
            headless=True,
            args=[
                *app_server.CHROMIUM_ARGS,
                "--disable-renderer-backgrounding",
                "--disable-background-timer-throttling",
                "--disable-backgrounding-occluded-windows",
            ],
        )
        nice = (lambda: renice_browsers(browser_nice, exclude)) if browser_nice else None
        if nice:
            nice()
        try:
            # One warm-up round, untimed: the first page load compiles the front end's scripts
            # and the server's first runs import the pages.
            warm = Recorder(rec.watch, False, rec.timeout_ms)
            # Its own browser: each user's first visit loads the front end as a new one does.
            context = await new_context(browser, warm)
            try:
                await one_round(context, base_url, plan[0][0], warm, 0, None)
            finally:
                await context.close()
            if warm.errors:
                print(f"  warm-up: {'; '.join(warm.errors)}", flush=True)
            cpu0 = rec.watch.cpu_seconds()
            client0 = _tree_cpu(exclude)
            started = time.perf_counter()
            totals.began = time.time()
            # The users start 0–1 s apart, as people do, not in the same millisecond.
            await asyncio.gather(
                *(
                    _user(
                        browser,
                        base_url,
                        rounds[1:],
                        rec,
                        think_s,
                        shots,
                        start_delay=i / len(plan),
                        name=f"user {i + 1}",
                        nice=nice,
                    )
                    for i, rounds in enumerate(plan)
                )
            )
            totals.wall_s = time.perf_counter() - started
            totals.ended = time.time()
            totals.server_cpu_s = rec.watch.cpu_seconds() - cpu0
            totals.browser_cpu_s = _tree_cpu(exclude) - client0
        finally:
            await browser.close()
    return totals


# ---------------------------------------------------------------------------------------------
# The run


@dataclass
class BrowserOptions:
    rows: int
    repeat: int = 10
    users: int = 1
    processes: int = 1
    backend: str = "sqlite"
    pg_url: str = database.DEFAULT_PG_URL
    fresh: bool = False
    directory: Path | None = None
    schema: str | None = None  # PostgreSQL schema; bench_N by default
    think_s: float = 1.0
    timeout_s: float = 60.0
    screenshots: Path | None = None
    #: The browsers' niceness (``renice_browsers``); 0 leaves them as they start.
    browser_nice: int = 0


def _machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({cpu}), {psutil.virtual_memory().total / 1024**3:.0f} GB"


def _commit() -> str:
    """The commit the app ran from, ``+changes`` when the working tree differs from it."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD")
        return commit + ("+changes" if git("status", "--porcelain", "--untracked-files=no") else "")
    except (OSError, subprocess.CalledProcessError):
        return "?"


def command_line(opts: BrowserOptions) -> str:
    parts = ["python -m bench --browser", f"--rows {opts.rows}", f"--repeat {opts.repeat}"]
    if opts.users != 1:
        parts.append(f"--users {opts.users}")
    if opts.processes != 1:
        parts.append(f"--processes {opts.processes}")
    if opts.backend != "sqlite":
        parts.append(f"--backend {opts.backend}")
    if opts.think_s != 1.0:
        parts.append(f"--think {opts.think_s:g}")
    if opts.browser_nice:
        parts.append(f"--browser-nice {opts.browser_nice}")
    return " ".join(parts)


def run_browser(opts: BrowserOptions, log=print) -> dict:
    if not Path(app_server.CHROMIUM).exists():
        raise SystemExit("Chromium is not installed (apt-get install chromium fonts-wqy-zenhei)")
    if opts.processes > 1 and opts.backend != "postgres":
        raise SystemExit("--processes > 1 runs on PostgreSQL (--backend postgres), as deployed")
    bdb = database.prepare_for(opts, log)
    plan_samples = samples(bdb.engine, opts.users * opts.repeat + 1)
    bdb.engine.dispose()
    # The warm-up round takes the first sample; each user then gets ``repeat`` of the rest.
    warm, rest = plan_samples[0], plan_samples[1:]
    plan = [[warm, *rest[u * opts.repeat : (u + 1) * opts.repeat]] for u in range(opts.users)]

    work = (opts.directory or database.BENCH_DIR) / "results" / "browser-run"
    work.mkdir(parents=True, exist_ok=True)
    apps: list[App] = []
    proxy: Nginx | None = None
    load_before = os.getloadavg()
    try:
        for i in range(opts.processes):
            log(f"starting the app ({i + 1}/{opts.processes}) …")
            apps.append(App.start(bdb.url, work / f"streamlit-{i + 1}.log"))
        base_url = apps[0].url
        if opts.processes > 1:
            proxy = Nginx(work / "nginx", [a.url.removeprefix("http://") for a in apps])
            base_url = proxy.url
        with Watch([a.process.pid for a in apps]) as watch:
            rss_start = watch.rss_mb_each()
            rec = Recorder(
                watch, per_interaction_cpu=opts.users == 1, timeout_ms=opts.timeout_s * 1000
            )
            log(
                f"{opts.users} user(s) × {opts.repeat} rounds against {base_url} "
                f"({opts.processes} process(es), {opts.backend}, {opts.rows:,} rows) …"
            )
            totals = asyncio.run(
                drive(
                    base_url,
                    plan,
                    rec,
                    opts.think_s,
                    opts.screenshots,
                    exclude={a.process.pid for a in apps}
                    | ({proxy.process.pid} if proxy else set()),
                    browser_nice=opts.browser_nice,
                )
            )
            rss_end = watch.rss_mb_each()
            peak = watch.peak_mb
    finally:
        if proxy:
            proxy.stop()
        for app in apps:
            app.stop()
    load_after = os.getloadavg()
    runs = [
        ms
        for app in apps
        for ms in timed_streamlit.read(app.run_times, totals.began, totals.ended + 1)
    ]

    rows = summarize(rec.samples, rec.cpu, rec.failures, opts.users, rec.answered)
    interactions = sum(r["n"] for r in rows)
    server_cpu = totals.server_cpu_s
    if opts.users > 1 and interactions:
        mean = round(server_cpu * 1000 / interactions)
        for r in rows:
            r["cpu_ms"] = None
        cpu_note = (
            f"server CPU {server_cpu:.1f} s in all (untimed steps too: the login page, "
            f"重置筛选) = {mean:,} ms per timed interaction"
        )
    else:
        cpu_note = f"server CPU {server_cpu:.1f} s in all (untimed steps too)"
    result = {
        "command": command_line(opts),
        "rows": opts.rows,
        "backend": opts.backend,
        "users": opts.users,
        "processes": opts.processes,
        "repeat": opts.repeat,
        "think_s": opts.think_s,
        "browser_nice": opts.browser_nice,
        "at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "commit": _commit(),
        "machine": _machine(),
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in load_after],
        "wall_s": round(totals.wall_s, 1),
        "server_cpu_s": round(server_cpu, 1),
        "browser_cpu_s": round(totals.browser_cpu_s, 1),
        "rss_start_mb": [round(x) for x in rss_start],
        "rss_end_mb": [round(x) for x in rss_end],
        "rss_peak_mb": round(peak),
        "cpu_note": cpu_note,
        "script_runs": _run_summary(runs),
        "interactions": rows,
        "errors": rec.errors,
    }
    return result


def _run_summary(runs: list[float]) -> dict | None:
    """n, p50, p95 and max of the app's script runs (ms)."""
    if not runs:
        return None
    return {
        "n": len(runs),
        "p50_ms": round(percentile(runs, 50)),
        "p95_ms": round(percentile(runs, 95)),
        "max_ms": round(max(runs)),
    }


def _browser_processes(exclude: set[int]) -> list[psutil.Process]:
    """This process's descendants (Playwright's driver, Chromium and its renderers), the
    processes in ``exclude`` (the apps, the proxy) and their own descendants left out."""
    found = []
    for proc in psutil.Process().children(recursive=True):
        try:
            if proc.pid in exclude or any(p.pid in exclude for p in proc.parents()):
                continue
        except psutil.Error:  # ended meanwhile
            continue
        found.append(proc)
    return found


def _tree_cpu(exclude: set[int]) -> float:
    """CPU seconds of the browsers' processes (``_browser_processes``)."""
    total = 0.0
    for proc in _browser_processes(exclude):
        try:
            t = proc.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


def report(result: dict) -> str:
    """The run's header, its table and its notes, in Markdown."""
    rss_each = " + ".join(f"{x:,}" for x in result["rss_end_mb"])
    lines = [
        f"### {result['users']} user(s), {result['processes']} process(es), "
        f"{result['backend']}, {result['rows']:,} inquiries ({result['at']}, {result['commit']})",
        "",
        f"`{result['command']}`",
        "",
        table(result["interactions"]),
        "",
        f"- {result['cpu_note']}; the browsers (Chromium, Playwright) used "
        f"{result['browser_cpu_s']:.1f} s of CPU on the same machine; wall time "
        f"{result['wall_s']:.0f} s.",
        *(
            [
                f"- script runs in the app (wall time of each, all sessions; untimed steps "
                f"too): {runs['n']:,}, p50 {runs['p50_ms']:,} ms, p95 {runs['p95_ms']:,} ms, "
                f"max {runs['max_ms']:,} ms."
            ]
            if (runs := result.get("script_runs"))
            else []
        ),
        f"- server RSS: {', '.join(f'{x:,}' for x in result['rss_start_mb'])} MB after start, "
        f"{rss_each} MB at the end, peak {result['rss_peak_mb']:,} MB (all processes).",
        f"- machine: {result['machine']}; load average before "
        f"{' '.join(map(str, result['load_before']))}, after "
        f"{' '.join(map(str, result['load_after']))}; think time {result['think_s']:g} s"
        + (
            f"; the browsers at niceness {result['browser_nice']}."
            if result.get("browser_nice")
            else "."
        ),
    ]
    if result["errors"]:
        shown = result["errors"][:5]
        more = len(result["errors"]) - len(shown)
        lines.append(
            "- failures: " + "; ".join(shown) + (f" (and {more} more)" if more > 0 else "")
        )
    return "\n".join(lines)


def save(result: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        f.write(report(result) + "\n\n")
    with path.with_suffix(".jsonl").open("a") as f:
        f.write(json.dumps(result, ensure_ascii=False) + "\n")
