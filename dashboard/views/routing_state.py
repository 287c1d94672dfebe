"""The page state of 分配规则, in one typed object (a module of its own, so that the class is the
same object from run to run and ``isinstance`` holds; the page script is re-executed)."""

from __future__ import annotations

from dataclasses import dataclass

from dashboard.views import common
from dashboard.views.outcome import ActionResult

#: Prefix of the page's widget keys.
K = "routing_"
STATE_KEY = "routing_state"


@dataclass
class RoutingState:
    #: The outcome of the last action, at ``rule_new``, ``rule_edit``, ``team_new`` or
    #: ``team_<id>``.
    result: ActionResult | None = None


def state() -> RoutingState:
    """This session's ``RoutingState`` (a new one at the first visit, or after tampering)."""
    return common.session_object(STATE_KEY, RoutingState)
