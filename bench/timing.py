"""Measuring: medians of several runs after a warm-up, and peak memory while something runs."""

from __future__ import annotations

import statistics
import threading
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import psutil

MB = 1024 * 1024


def median_ms(
    fn: Callable[[Any], Any],
    *,
    repeat: int,
    warmup: int = 1,
    arg: Callable[[], Any] | None = None,
) -> tuple[float, Any]:
    """Run ``fn(arg())`` ``warmup`` times untimed, then ``repeat`` times timed.

    ``arg`` (untimed) prepares each run's input, e.g. fresh inquiries for a write. Returns the
    median in milliseconds and the answer of the last run.
    """
    answer = None
    for _ in range(warmup):
        answer = fn(arg() if arg else None)
    times = []
    for _ in range(repeat):
        value = arg() if arg else None
        started = time.perf_counter()
        answer = fn(value)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), answer


class PeakRSS:
    """Samples this process's resident set size in a thread; ``growth_mb`` is peak − start."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.process = psutil.Process()
        self.start = self.peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRSS:
        self.start = self.peak = self.process.memory_info().rss
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.start) / MB


def traced_peak_mb(fn: Callable[[], Any]) -> float:
    """Peak of Python-level allocations (tracemalloc; numpy reports to it too) while ``fn`` runs."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return (peak - base) / MB
