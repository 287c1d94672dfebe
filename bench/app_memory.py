"""``python -m bench.app_memory``: render the triage and reports pages once, as the manager, in
this (fresh) process, then print its peak RSS as JSON. The harness runs it in a subprocess with
``DATABASE_URL`` pointing at the benchmark database.
"""

from __future__ import annotations

import json
import resource
import time

from streamlit.testing.v1 import AppTest

from dashboard.seed import DEMO_PASSWORD
from dashboard.settings import ROOT

APP = str(ROOT / "dashboard" / "app.py")
PAGES = ("views/triage.py", "views/reports.py")


def _peak_rss_kb() -> int:
    """The high-water mark of this process's RSS. ``VmHWM`` starts afresh at ``exec``, whereas
    ``getrusage``'s ``ru_maxrss`` on Linux keeps the peak of the parent that forked us."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main() -> None:
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    inputs = {t.label: t for t in at.text_input}
    inputs["用户名"].input("manager")
    inputs["密码"].input(DEMO_PASSWORD)
    next(b for b in at.button if b.label == "登录").click()
    started = time.perf_counter()
    at.run()  # lands on the first page of the manager: 咨询处理
    rendered = []
    for page in PAGES:
        at.switch_page(page)
        at.run()
        if at.exception:
            raise SystemExit(f"{page} raised: {at.exception[0].value}")
        rendered.append([t.value for t in at.title])
    render_ms = (time.perf_counter() - started) * 1000
    peak_kb = _peak_rss_kb()
    print(
        json.dumps(
            {"rss_mb": round(peak_kb / 1024, 1), "render_ms": round(render_ms), "pages": rendered},
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
