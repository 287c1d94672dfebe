"""Statements built once per plan and reused with new values.

A ``Condition`` is one WHERE condition with the name of its bind parameter; a plan is the tuple
of conditions a filter needs (``conditions.where``). Each statement below is built and compiled
once per plan (and sort) and then run with the filter's values bound: building and compiling a
SQLAlchemy statement costs more than running an indexed lookup (an exact serial, the detail
panel's duplicates), so the pages never build one per request.

Every value is a required bind parameter: running a statement without a value for it fails
instead of reusing the previous caller's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import util as sql_util
from sqlmodel import select

from models import Inquiry

SORTS = {
    "-submitted_at": (sa.desc(Inquiry.submitted_at), sa.desc(Inquiry.id)),
    "submitted_at": (sa.asc(Inquiry.submitted_at), sa.asc(Inquiry.id)),
    "-serial": (sa.desc(Inquiry.serial),),
    "serial": (sa.asc(Inquiry.serial),),
    "-created_at": (sa.desc(Inquiry.created_at), sa.desc(Inquiry.id)),
}
NEWEST_FIRST = "-submitted_at"


@dataclass(frozen=True, eq=False)
class Condition:
    """One WHERE condition: ``sql`` makes it from its bind parameter, named ``bind`` (no
    parameter when ``bind`` is None). Compared and hashed by identity: every condition is a
    module constant, so a plan (a tuple of them) is a cheap cache key."""

    name: str
    sql: Callable[[Any], sa.ColumnElement[bool]]
    bind: str | None = None
    expanding: bool = False

    def clause(self, params: Mapping[str, Any] | None = None) -> sa.ColumnElement[bool]:
        """The condition with its value from ``params``, or with a required bind parameter."""
        if self.bind is None:
            return self.sql(None)
        if params is None:
            return self.sql(sa.bindparam(self.bind, expanding=self.expanding))
        return self.sql(sa.bindparam(self.bind, params[self.bind], expanding=self.expanding))

    def __repr__(self) -> str:
        return f"Condition({self.name})"


Plan = tuple[Condition, ...]


@dataclass(frozen=True)
class Where:
    """The WHERE clause of a filter as an actor may see it: ``plan`` says which conditions apply
    (the key under which statements are built once) and ``params`` holds their values."""

    plan: Plan
    params: dict = field(compare=False)

    @classmethod
    def of(cls, parts: Iterable[tuple[Condition, Any]]) -> Where:
        """From (condition, value) pairs; the value of a condition without a bind is ignored."""
        plan, params = [], {}
        for condition, value in parts:
            plan.append(condition)
            if condition.bind is not None:
                params[condition.bind] = value
        return cls(tuple(plan), params)

    def clauses(self) -> list[sa.ColumnElement[bool]]:
        """The conditions with their values, for a statement built for one use."""
        return [c.clause(self.params) for c in self.plan]

    def without(self, condition: Condition) -> Where:
        return Where(tuple(c for c in self.plan if c is not condition), self.params)


def _clauses(plan: Plan) -> list[sa.ColumnElement[bool]]:
    return [c.clause() for c in plan]


def _paged(stmt: sa.Select, sort: str) -> sa.Select:
    """+ page_offset, page_limit."""
    return (
        stmt.order_by(*SORTS[sort])
        .offset(sa.bindparam("page_offset"))
        .limit(sa.bindparam("page_limit"))
    )


def _by_status_and_intent(*conditions: sa.ColumnElement[bool]) -> sa.Select:
    return (
        select(Inquiry.status, Inquiry.intent, sa.func.count())
        .where(*conditions)
        .group_by(Inquiry.status, Inquiry.intent)
    )


#: Of the given ids (+ ids), those that match: the conditions are applied again, so the ids
#: are a hint, never a way around what the actor may see.
_OF_IDS = Inquiry.id.in_(sa.bindparam("ids", expanding=True))


@lru_cache(maxsize=512)
def page(plan: Plan, sort: str) -> sa.Select:
    """One page of the matches (+ page_offset, page_limit)."""
    return _paged(select(Inquiry).where(*_clauses(plan)), sort)


@lru_cache(maxsize=512)
def count(plan: Plan) -> sa.Select:
    return select(sa.func.count()).select_from(Inquiry).where(*_clauses(plan))


@lru_cache(maxsize=512)
def count_capped(plan: Plan) -> sa.Select:
    """The count (+ count_limit: counting stops there)."""
    matches = sa.select(Inquiry.id).where(*_clauses(plan)).limit(sa.bindparam("count_limit"))
    return select(sa.func.count()).select_from(matches.subquery())


@lru_cache(maxsize=512)
def facets(plan: Plan) -> sa.Select:
    """(status, intent, count) rows of the matches."""
    return _by_status_and_intent(*_clauses(plan))


@lru_cache(maxsize=512)
def ids(plan: Plan) -> sa.Select:
    """The matching ids (+ count_limit: at most that many), in no order."""
    return sa.select(Inquiry.id).where(*_clauses(plan)).limit(sa.bindparam("count_limit"))


@lru_cache(maxsize=512)
def page_of_ids(plan: Plan, sort: str) -> sa.Select:
    """One page of those of the ids (+ ids) that match (+ page_offset, page_limit)."""
    return _paged(select(Inquiry).where(_OF_IDS, *_clauses(plan)), sort)


@lru_cache(maxsize=512)
def facets_of_ids(plan: Plan) -> sa.Select:
    """(status, intent, count) rows of those of the ids (+ ids) that match."""
    return _by_status_and_intent(_OF_IDS, *_clauses(plan))


@lru_cache(maxsize=512)
def matches_page(plan: Plan, sort: str) -> sa.Select:
    """The capped count and one page of ids from one scan (+ count_limit, count_cap,
    page_offset, page_limit): one row per id of the page, each with the capped count; one row
    (total, NULL) when the page is empty. More than count_cap matches: the page is empty, and
    PostgreSQL skips sorting the matches (LIMIT 0 never reads its input)."""
    keys = sorted({e.element.key for e in SORTS[sort]} | {"id"})
    matched = (
        sa.select(*(Inquiry.__table__.c[k] for k in keys))
        .where(*_clauses(plan))
        .limit(sa.bindparam("count_limit"))
        .cte("matched")
        .prefix_with("MATERIALIZED")
    )
    total = sa.select(sa.func.count()).select_from(matched).scalar_subquery()
    length = (
        sa.select(
            sa.case(
                (sa.func.count() <= sa.bindparam("count_cap"), sa.bindparam("page_limit")),
                else_=0,
            )
        )
        .select_from(matched)
        .scalar_subquery()
    )
    adapt = sql_util.ClauseAdapter(matched).traverse
    paged = (
        sa.select(matched.c.id)
        .order_by(*(adapt(e) for e in SORTS[sort]))
        .offset(sa.bindparam("page_offset"))
        .limit(length)
        .subquery("paged")
    )
    one = sa.select(sa.literal(1).label("one")).subquery("one")
    return sa.select(total.label("total"), paged.c.id).select_from(one).outerjoin(paged, sa.true())


@lru_cache(maxsize=512)
def duplicates(plan: Plan, fields: tuple[str, ...]) -> sa.Select:
    """The newest matches sharing one of ``fields`` with an inquiry (+ dup_id, dup_<field> for
    each field, dup_limit): one lookup per field through that field's index, each cut to
    dup_limit, then their union sorted and cut again."""
    conditions = _clauses(plan)
    order = (sa.desc(Inquiry.submitted_at), sa.desc(Inquiry.id))
    limit = sa.bindparam("dup_limit")
    matched = sa.union(
        *(
            sa.select(
                sa.select(Inquiry.id)
                .where(
                    *conditions,
                    Inquiry.id != sa.bindparam("dup_id"),
                    getattr(Inquiry, f) == sa.bindparam("dup_" + f),
                )
                .order_by(*order)
                .limit(limit)
                .subquery()
            )
            for f in fields
        )
    )
    return select(Inquiry).where(Inquiry.id.in_(matched)).order_by(*order).limit(limit)
