"""``python -m bench.timed_streamlit FILE run …``: Streamlit's own command line, with the wall time
of every script run of the app appended to ``FILE`` (one line per run: its end as a Unix time,
then its milliseconds).

A run here is what one message from the browser starts, with the reruns it asks for
(``st.rerun``, ``st.switch_page``) until the script is idle again: the server's own share of an
interaction, from the moment its script thread starts on it. The browser benchmark starts the
app this way (``bench.browser``) so that, with many browsers on the same cores, the server's
latency can be told apart from the browsers' drawing. The app itself is unchanged.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path


def install(path: Path) -> None:
    """Time every ``ScriptRunner._run_script`` of this process into ``path``."""
    from streamlit.runtime.scriptrunner import script_runner

    lock = threading.Lock()
    original = script_runner.ScriptRunner._run_script

    def timed(self, rerun_data):
        started = time.perf_counter()
        try:
            return original(self, rerun_data)
        finally:
            ms = (time.perf_counter() - started) * 1000
            with lock, path.open("a") as out:
                out.write(f"{time.time():.3f} {ms:.1f}\n")

    script_runner.ScriptRunner._run_script = timed


def read(path: Path, since: float, until: float) -> list[float]:
    """The milliseconds of the runs in ``path`` that ended between two Unix times."""
    if not path.exists():
        return []
    runs = []
    for line in path.read_text().splitlines():
        end, _, ms = line.partition(" ")
        if since <= float(end) <= until:
            runs.append(float(ms))
    return runs


if __name__ == "__main__":
    install(Path(sys.argv.pop(1)))
    from streamlit.web.cli import main

    main(prog_name="streamlit")
