"""Run calls at the same moment on threads: for tests of races (R5, R7, exact rollups)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def race(*calls: Callable[[], Any], timeout: float = 30.0) -> list[Any]:
    """Run `calls` at once on threads (released together by a barrier); returns each call's
    result or the exception it raised, in the order of `calls`."""
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        start.wait(timeout=timeout)
        try:
            return call()
        except Exception as exc:  # the outcome under test
            return exc

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))
