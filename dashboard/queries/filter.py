"""``InquiryFilter``, what the user filters by, and its round trip through URL query parameters.

The fields, their URL parameters and how each is read come from the conditions table
(``conditions.FIELDS``); this module only walks it. Reading a URL never raises and never widens
what the actor may see: visibility is not a parameter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field, make_dataclass
from typing import Any

from dashboard.queries.conditions import FIELDS, Ignored, UrlReading
from dashboard.queries.statements import NEWEST_FIRST, SORTS

PAGE_SIZES = (20, 50, 100)
DEFAULT_PAGE_SIZE = 50


def _text(params: Mapping[str, Any], key: str) -> str:
    value = params.get(key, "")
    if isinstance(value, list):  # a repeated parameter: the last one wins
        value = value[-1] if value else ""
    return str(value).strip()


class _FilterMethods:
    def __post_init__(self) -> None:
        for f in FIELDS:
            if f.normalize is not None:
                object.__setattr__(self, f.name, f.normalize(getattr(self, f.name)))

    def to_params(self) -> dict[str, str]:
        """The filter as URL query parameters (only what differs from the page's default)."""
        out: dict[str, str] = {}
        for f in FIELDS:
            value = getattr(self, f.name)
            if value != f.url_default:
                out[f.url_key] = f.write(value)
        return out

    @classmethod
    def from_params(
        cls, params: Mapping[str, Any], *, statuses: tuple[str, ...] = ("submitted", "completed")
    ) -> tuple[InquiryFilter, list[str]]:
        """Parse URL query parameters. Never raises: a bad value is dropped with a notice.

        ``statuses`` are the codes the page offers; anything else in ``status`` is ignored.
        """
        reading = UrlReading(statuses)
        for f in FIELDS:
            raw = _text(params, f.url_key)
            try:
                value = f.read(raw, reading) if raw else f.url_default
            except Ignored as ignored:
                reading.notices.append(ignored.notice or f"链接中的{f.label}参数无效，已忽略")
                value = f.default
            reading.values[f.name] = value
        return cls(**reading.values), reading.notices


InquiryFilter = make_dataclass(
    "InquiryFilter",
    [(f.name, f.type, field(default=f.default)) for f in FIELDS],
    bases=(_FilterMethods,),
    frozen=True,
)
InquiryFilter.__module__ = __name__
InquiryFilter.__doc__ = """What the user filters by. Frozen and hashable, so views can cache on it.

``InquiryFilter()`` is everything the actor may see. The fields are the rows of
``conditions.FIELDS``: ``statuses``, ``intents``, ``province_code``, ``city_code``,
``submitted_from`` / ``submitted_to`` (inclusive Asia/Shanghai days), ``assignee`` (``""``
anyone, ``"me"`` the actor, ``"none"`` unassigned, or a user id as a string), ``overdue``
(submitted inquiries waiting longer than ``settings.sla_working_days`` working days) and
``search``.
"""


def view_params_from(params: Mapping[str, Any]) -> tuple[int, int, str, list[str]]:
    """Page number, page size and sort from URL parameters, with notices for bad values."""
    notices: list[str] = []
    page, size, sort = 1, DEFAULT_PAGE_SIZE, NEWEST_FIRST
    raw = _text(params, "page")
    if raw:
        if raw.isdigit() and 0 < int(raw) < 10**7:
            page = int(raw)
        else:
            notices.append("链接中的页码无效，已显示第 1 页")
    raw = _text(params, "size")
    if raw:
        if raw.isdigit() and int(raw) in PAGE_SIZES:
            size = int(raw)
        else:
            notices.append(f"链接中的每页条数无效，已使用 {DEFAULT_PAGE_SIZE}")
    raw = _text(params, "sort")
    if raw:
        if raw in SORTS:
            sort = raw
        else:
            notices.append("链接中的排序参数无效，已按提交日期排序")
    return page, size, sort, notices
