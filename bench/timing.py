"""Measuring: medians of runs after a warm-up, project and floor in turn, and peak memory while
something runs."""

from __future__ import annotations

import statistics
import threading
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import psutil

MB = 1024 * 1024


def paired_median_ms(
    project: Callable[[Any], Any],
    floor: Callable[[Any], Any],
    *,
    repeat: int,
    warmup: int = 1,
    project_arg: Callable[[], Any] | None = None,
    floor_arg: Callable[[], Any] | None = None,
    min_seconds: float = 0.25,
    max_runs: int = 400,
) -> tuple[float, Any, float, Any]:
    """Time ``project`` and ``floor`` side by side: each warmed up ``warmup`` times, then run
    in turn (project, floor, project, …) at least ``repeat`` times each and until each has run
    for ``min_seconds`` (at most ``max_runs`` times), so that a sub-millisecond operation gets
    hundreds of samples and a pause of the machine hits both sides alike.

    A ``*_arg`` (untimed) prepares each run's input, e.g. fresh inquiries for a write. Returns
    the median milliseconds and last answer of the project, then of the floor.
    """
    sides = [(project, project_arg), (floor, floor_arg)]
    answers: list[Any] = [None, None]
    times: list[list[float]] = [[], []]
    for i, (fn, arg) in enumerate(sides):
        for _ in range(warmup):
            answers[i] = fn(arg() if arg else None)
    while True:
        for i, (fn, arg) in enumerate(sides):
            value = arg() if arg else None
            started = time.perf_counter()
            answers[i] = fn(value)
            times[i].append((time.perf_counter() - started) * 1000)
        runs = len(times[0])
        spent = min(sum(t) for t in times) / 1000
        if runs >= max_runs or (runs >= repeat and spent >= min_seconds):
            break
    return (
        statistics.median(times[0]),
        answers[0],
        statistics.median(times[1]),
        answers[1],
    )


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
