"""Names a module passes through from a module that builds on it and imports it: looked up on
first use (PEP 562), so that either module can be imported first. An import of the other module
at the bottom of this one would find it half made when it is the one imported first."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import Any


def passed_through(owner: str, source: str, names: Iterable[str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for the module ``owner`` that returns ``names`` from the module
    ``source``, imported when one of them is first read."""
    known = frozenset(names)

    def __getattr__(name: str) -> Any:
        if name in known:
            return getattr(importlib.import_module(source), name)
        raise AttributeError(f"module {owner!r} has no attribute {name!r}")

    return __getattr__
