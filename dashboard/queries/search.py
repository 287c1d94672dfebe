"""The search box: what a term means and how each backend finds it.

Search (``InquiryFilter.search``) covers 询保流水号, 公司名称, 联系人, 联系手机, 联系固话 and
联系邮箱. A complete serial, mobile or fixed-line number is an exact match ("jump straight to it");
any other term of 3+ characters is a contains-match answered by the trigram index of migration
0002_search (SQLite FTS5 ``inquiry_fts``, PostgreSQL ``pg_trgm``). Terms of 1–2 characters, which
no trigram index can answer, go through migration 0018's index of single characters and pairs:
SQLite's ``inquiry_fts_short`` (every character and every pair of adjacent characters of the six
columns, exact, with draft-or-not and intent alongside: counted and paged like the trigram index) and
PostgreSQL's ``ix_inquiry_search_chars`` (the characters of the six columns: the rows holding every
character of the term, checked again with ``ILIKE``; ``page.py`` collects them once); a
2-character term goes through migration 0021's ``ix_inquiry_search_pairs`` instead (the rows
holding the pair itself, checked again with ``ILIKE``).

One class per backend, ``SqliteSearch`` and ``PostgresSearch``, picked by ``for_dialect``: the
condition a term becomes, how a count can skip the table, and how a staff contains-search of 3+
characters is paged (``search_page``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from dashboard.inquiries import STAFF_ROLES
from dashboard.queries import statements
from dashboard.queries.statements import Condition, Where
from models import Inquiry, Status, User, normalize_landline, normalize_mobile

if TYPE_CHECKING:
    from dashboard.queries.page import Listing, Page

MAX_SEARCH_LENGTH = 100
#: A contains-search on the triage page (staff, managers) is counted up to this many matches;
#: beyond it the page says "10,000+" (``Page.capped``), only the first this many can be paged
#: through and the facets are not counted: an exact count of a common fragment reads every match,
#: and PostgreSQL pays for each match even when the count is capped.
SEARCH_COUNT_CAP = 10_000
#: Above this many matches a PostgreSQL search page walks the date index, filtering, instead of
#: collecting and sorting every match (``ILIKE_FIRST`` gives way to ``ILIKE``).
DENSE_SEARCH_ROWS = 5_000
#: Above this many matches a SQLite contains-search page is found from the newest matches of
#: the search index (``SqliteSearch.newest_page``) instead of sorting every match by date.
SPARSE_SEARCH_ROWS = 2_000
#: ... and, when the count is exact, only for pages within the first 1/4 of the matches: it
#: reads about (offset + limit) / (share of inquiries matching) index entries, so the last pages
#: of a few thousand matches are cheaper sorted.
NEWEST_PAGES_DEPTH = 4
SEARCH_COLUMNS = ("serial", "company_name", "contact_name", "mobile", "landline", "email")
_SERIAL = re.compile(r"\d{18}")
_PHONE_CHARS = re.compile(r"[\d\s+\-()（）转#]+")


def clean_search(raw: str | None) -> tuple[str, list[str]]:
    """A search term as it is searched for, and notices of what was changed: control and
    invisible characters (``Cc``/``Cf``…, e.g. a NUL or a zero-width space) are removed, and
    the term is cut to ``MAX_SEARCH_LENGTH`` characters."""
    text = (raw or "").strip()
    notices = []
    kept = "".join(c for c in text if not unicodedata.category(c).startswith(("C", "Zl", "Zp")))
    if kept != text:
        notices.append("搜索内容中的不可见字符或控制字符已被忽略")
        text = kept.strip()
    if len(text) > MAX_SEARCH_LENGTH:
        notices.append(f"搜索内容过长，已截取前{MAX_SEARCH_LENGTH}个字符")
        text = text[:MAX_SEARCH_LENGTH].rstrip()
    return text, notices


@lru_cache(maxsize=256)
def exact_search(term: str) -> tuple[str, str] | None:
    """(column, value) when ``term`` is a complete serial, mobile or fixed-line number."""
    if _SERIAL.fullmatch(term):
        return "serial", term
    if _PHONE_CHARS.fullmatch(term):
        mobile = normalize_mobile(term)
        if mobile:
            return "mobile", mobile
        landline = normalize_landline(term)
        if landline:
            return "landline", landline
    return None


def contains_term(term: str) -> bool:
    """Whether ``term`` (cleaned) is a contains-search: not empty, not a serial or phone number."""
    return bool(term) and exact_search(term) is None


def _phrase(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _like_pattern(term: str) -> str:
    return "%" + term.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"


def fts_query(
    term: str,
    statuses: tuple[str, ...] = (),
    intents: tuple[str, ...] = (),
    *,
    drafts: bool = False,
) -> str:
    """The FTS5 MATCH expression of a contains-search (3+ characters) over the six searched
    columns, optionally narrowed by status and intent (indexed alongside; codes never contain
    each other, so a phrase on them is an exact match), and without drafts unless ``drafts``."""
    query = "{" + " ".join(SEARCH_COLUMNS) + "} : " + _phrase(term)
    if statuses:
        query += " AND (" + " OR ".join(f"status : {_phrase(c)}" for c in statuses) + ")"
    if intents:
        query += " AND (" + " OR ".join(f"intent : {_phrase(c)}" for c in intents) + ")"
    if drafts:
        return query
    return f"({query}) NOT status : {_phrase(Status.draft.value)}"


#: SQLite: the index of 1–2 character terms (migration 0018), an FTS5 table without
#: content whose one column holds, per inquiry, a token for every character and every pair of
#: adjacent characters of the six searched columns (``short_tokens``), plus whether it is a
#: draft and its intent.
SHORT_TABLE = "inquiry_fts_short"
_SHORT_SEPARATOR = "\x1f"  # between the columns: a search term never holds a control character


def short_token(text: str) -> str:
    """The index token of 1–2 characters: their UTF-8 bytes in upper-case hex, after SQLite's
    ``lower`` (ASCII letters only, as ``LIKE`` compares them)."""
    return text.encode("utf-8").lower().hex().upper()


def _code_token(prefix: str, code: str) -> str:
    return prefix + code.replace("_", "")


def short_tokens(
    status: str, intent: str, serial, company_name, contact_name, mobile, landline, email
) -> str | None:
    """The text migration 0018's triggers index for one inquiry (the SQL there, in Python; the
    bulk load registers it as the SQL function ``inquiry_short_tokens``): ``xd`` for a draft or
    ``xn`` for any other status, ``xi<intent>``, then for each character of the six columns
    joined by U+001F its token and the token of it and the next character. None when a column
    is NULL (as in SQL).

    Only draft-or-not, not the status: the index's update trigger then does not fire when an
    inquiry is assigned or completed (each firing computes the row's tokens twice in SQL)."""
    columns = (serial, company_name, contact_name, mobile, landline, email)
    if status is None or intent is None or any(c is None for c in columns):
        return None
    text = _SHORT_SEPARATOR.join(columns).encode("utf-8").lower().decode("utf-8")
    hexes = [_HEX.get(c) or _hex(c) for c in text]
    pairs = [a + " " + a + b for a, b in zip(hexes, hexes[1:] + [""], strict=True)]
    head = _draft_token(status) + " " + _code_token("xi", intent)
    return head + " " + " ".join(pairs) if pairs else head + " "


def _draft_token(status: str) -> str:
    return "xd" if status == Status.draft.value else "xn"


def register_sql_functions(dbapi: Any) -> None:
    """Register ``short_tokens`` as the SQL function ``inquiry_short_tokens`` on a SQLite
    connection (``sqlite3``'s): the set-based fills of the short index use it (a bulk load, the
    index it builds beside, the recovery of a killed one), several times faster than the
    triggers' SQL. The triggers themselves use only SQL, so any tool can write to the database."""
    dbapi.create_function("inquiry_short_tokens", 8, short_tokens, deterministic=True)


_HEX: dict[str, str] = {}


def _hex(char: str) -> str:
    _HEX[char] = value = char.encode("utf-8").hex().upper()
    return value


def short_query(term: str, intents: tuple[str, ...] = (), *, drafts: bool = False) -> str:
    """The FTS5 MATCH expression of a 1–2 character contains-search in ``SHORT_TABLE``, like
    ``fts_query`` but without statuses (the index knows only draft or not)."""
    query = _phrase(short_token(term))
    if intents:
        query += " AND (" + " OR ".join(_code_token("xi", c) for c in intents) + ")"
    if drafts:
        return query
    return f"({query}) NOT {_draft_token(Status.draft.value)}"


def _fts_ids(query: Any, lowest: int | None = None, table: str = "inquiry_fts") -> sa.Select:
    """The ids (rowids) of the search-index matches of ``query``, from ``lowest`` up."""
    rowid = sa.literal_column("rowid")
    stmt = (
        sa.select(rowid)
        .select_from(sa.table(table))
        .where(sa.literal_column(table).op("MATCH")(query))
    )
    return stmt if lowest is None else stmt.where(rowid >= lowest)


def _index_query(flt: Any) -> tuple[str, str]:
    """SQLite: the search index of ``flt``'s contains-term and its MATCH expression, narrowed by
    the filter's statuses (3+ characters only) and intents (indexed alongside), without drafts.
    Only for a filter that ``SqliteSearch.index_only`` accepts."""
    if len(flt.search) >= 3:
        return "inquiry_fts", fts_query(flt.search, flt.statuses, flt.intents)
    return SHORT_TABLE, short_query(flt.search, flt.intents)


#: SQLite: each search index's count, all and capped, as fixed text (only the term is bound).
_INDEX_COUNTS = {
    "inquiry_fts": (
        sa.text("SELECT count(*) FROM inquiry_fts WHERE inquiry_fts MATCH :q"),
        sa.text(
            "SELECT count(*) FROM (SELECT 1 FROM inquiry_fts WHERE inquiry_fts MATCH :q LIMIT :n)"
        ),
    ),
    "inquiry_fts_short": (
        sa.text("SELECT count(*) FROM inquiry_fts_short WHERE inquiry_fts_short MATCH :q"),
        sa.text(
            "SELECT count(*) FROM "
            "(SELECT 1 FROM inquiry_fts_short WHERE inquiry_fts_short MATCH :q LIMIT :n)"
        ),
    ),
}


#: PostgreSQL (migration 0018): the characters of the six searched columns, lower-cased, as the
#: GIN index ``ix_inquiry_search_chars`` holds them.
def _search_chars(inquiry: Any) -> sa.ColumnElement:
    return sa.func.inquiry_search_chars(*(getattr(inquiry, c) for c in SEARCH_COLUMNS))


#: PostgreSQL (migration 0021): the pairs of adjacent characters of the six columns, lower-cased,
#: as the GIN index ``ix_inquiry_search_pairs`` holds them (with noise no term matches).
def _search_pairs(inquiry: Any) -> sa.ColumnElement:
    return sa.func.inquiry_search_pairs(*(getattr(inquiry, c) for c in SEARCH_COLUMNS))


def pairs_indexed(term: str) -> bool:
    """Whether ``ix_inquiry_search_pairs`` finds every row holding ``term`` (PostgreSQL): two
    characters that stay two in ``lower`` (Python's is the stricter: ``İ`` becomes two) and are
    not the index's own separators."""
    return len(term) == 2 and len(term.lower()) == 2 and not ({chr(29), chr(31)} & set(term))


def _escaped_sql(term: Any) -> sa.ColumnElement:
    """``_like_pattern`` in SQL."""
    escaped = sa.func.replace(
        sa.func.replace(sa.func.replace(term, "/", "//"), "%", "/%"), "_", "/_"
    )
    return sa.literal("%") + escaped + sa.literal("%")


def _chars_then_ilike(term: Any) -> sa.ColumnElement[bool]:
    """PostgreSQL, 1–2 characters (bound as they are): the rows whose searched columns hold every
    character of the term (the GIN index), then ``ILIKE`` on those: exactly the rows of
    ``ILIKE``, which lower-cases both sides the way the index does."""
    chars = sa.func.string_to_array(sa.func.lower(term), sa.null())
    return sa.and_(
        _search_chars(Inquiry).op("@>")(chars),
        _any_column(Inquiry, "ilike", _escaped_sql(term)),
    )


def _pair_then_ilike(term: Any) -> sa.ColumnElement[bool]:
    """PostgreSQL, 2 characters (``pairs_indexed``): the rows whose searched columns hold the
    pair (the GIN index), then ``ILIKE`` on those, as for ``_chars_then_ilike``."""
    return sa.and_(
        _search_pairs(Inquiry).op("@>")(postgresql.array([sa.func.lower(term)])),
        _any_column(Inquiry, "ilike", _escaped_sql(term)),
    )


def _any_column(inquiry: Any, match: str, pattern: Any) -> sa.ColumnElement[bool]:
    """``pattern`` (LIKE syntax, ``/`` escapes) matches one of the searched columns."""
    return sa.or_(
        *(getattr(getattr(inquiry, c), match)(pattern, escape="/") for c in SEARCH_COLUMNS)
    )


def _matched_first(pattern: Any) -> sa.ColumnElement[bool]:
    # Selective terms are materialised first (a BitmapOr over the six trigram indexes):
    # otherwise the planner tends to walk the date index backwards filtering every row.
    inner = aliased(Inquiry)
    matched = (
        sa.select(inner.id)
        .where(_any_column(inner, "ilike", pattern))
        .cte("search_match")
        .prefix_with("MATERIALIZED")
    )
    return Inquiry.id.in_(sa.select(matched.c.id))


#: The search conditions; every one binds the term (or what it became) as ``search``.
EXACT = {
    column: Condition(f"{column} is", lambda v, c=column: getattr(Inquiry, c) == v, bind="search")
    for column in ("serial", "mobile", "landline")
}
FTS = Condition("in the search index", lambda v: Inquiry.id.in_(_fts_ids(v)), bind="search")
SHORT = Condition(
    "in the short-term index",
    lambda v: Inquiry.id.in_(_fts_ids(v, table=SHORT_TABLE)),
    bind="search",
)
CHARS = Condition("holds the characters, ilike", _chars_then_ilike, bind="search")
PAIR = Condition("holds the pair, ilike", _pair_then_ilike, bind="search")
LIKE = Condition("like", lambda v: _any_column(Inquiry, "like", v), bind="search")
ILIKE = Condition("ilike", lambda v: _any_column(Inquiry, "ilike", v), bind="search")
ILIKE_FIRST = Condition("ilike, matched first", _matched_first, bind="search")


class Search:
    """How one backend searches. ``dense``: the term matches so many rows that walking the date
    index is cheaper than collecting them."""

    dialect: str
    #: Whether ``search_page`` also pages 1–2 character terms (else ``page.py`` collects them).
    short_indexed = False

    def condition(self, term: str, *, dense: bool) -> tuple[Condition, Any]:
        """The condition ``term`` (cleaned, not empty) becomes, and its value."""
        exact = exact_search(term)
        if exact:
            column, value = exact
            return EXACT[column], value
        return self.contains(term, dense=dense)

    def contains(self, term: str, *, dense: bool) -> tuple[Condition, Any]:
        raise NotImplementedError

    def count_from_index(
        self, session: Session, flt: Any, actor: User, cap: int | None
    ) -> int | None:
        """The count of ``flt`` read from the search index alone, when it can be; else None."""
        return None

    def walks_date_index(self, flt: Any, total: int, capped: bool) -> bool:
        """Whether a page of ``total`` matches is read with the ``dense`` condition."""
        return False

    def search_page(self, listing: Listing, page: int) -> Page:
        """A staff contains-search of 3+ characters: the capped count and one page."""
        raise NotImplementedError


class SqliteSearch(Search):
    """SQLite: 3+ characters through the FTS5 trigram index ``inquiry_fts``; 1–2 through the
    index of characters and pairs ``inquiry_fts_short``."""

    dialect = "sqlite"
    short_indexed = True

    def contains(self, term: str, *, dense: bool) -> tuple[Condition, Any]:
        if len(term) >= 3:
            return FTS, fts_query(term, drafts=True)
        return SHORT, short_query(term, drafts=True)

    def index_only(self, flt: Any, actor: User) -> bool:
        """Whether ``flt`` can be counted from a search index alone: a staff or manager
        contains-search, narrowed at most by intent and, for 3+ characters, status (indexed
        alongside the text; the short index knows only draft or not)."""
        return (
            actor.role in STAFF_ROLES
            and contains_term(flt.search)
            and replace(flt, search="", statuses=(), intents=()) == type(flt)()
            and (len(flt.search) >= 3 or not flt.statuses)
        )

    def count_from_index(
        self, session: Session, flt: Any, actor: User, cap: int | None
    ) -> int | None:
        if not self.index_only(flt, actor):
            return None
        table, query = _index_query(flt)
        total, capped = _INDEX_COUNTS[table]
        if cap is None:
            return session.execute(total, {"q": query}).scalar_one()
        return session.execute(capped, {"q": query, "n": cap + 1}).scalar_one()

    def search_page(self, listing: Listing, page: int) -> Page:
        """A staff contains-search: counted (from the index alone when it can be) and paged; with
        many matches, newest first, from the newest index matches (``newest_page``). Otherwise a
        1–2 character term with more than ``SPARSE_SEARCH_ROWS`` matches is paged by walking the
        sort's index with ``LIKE`` (a common character matches every few rows; its index matches
        would all be read first)."""
        window = listing.window(page, listing.count())
        rows = None
        if (
            window.total > SPARSE_SEARCH_ROWS
            and listing.sort == statements.NEWEST_FIRST
            and (
                window.capped or NEWEST_PAGES_DEPTH * (window.offset + window.limit) <= window.total
            )
            and self.index_only(listing.flt, listing.actor)
        ):
            rows = self.newest_page(listing, offset=window.offset, limit=window.limit)
        if rows is None and window.total > SPARSE_SEARCH_ROWS and len(listing.flt.search) < 3:
            w = listing.where()
            like = Where(
                tuple(LIKE if c is SHORT else c for c in w.plan),
                w.params | {"search": _like_pattern(listing.flt.search)},
            )
            rows = listing.rows(like, window.offset, window.limit)
        return listing.paged(window, rows)

    def newest_page(self, listing: Listing, *, offset: int, limit: int) -> list[Inquiry] | None:
        """One page, newest submitted first, of a contains-search with many matches, without
        sorting every match by date; None when the shortcut does not apply (then sort them all).

        The search index hands out its matches in id order at no cost. Take the ``k = offset +
        limit`` matches with the highest ids and the oldest submission time among them, ``edge``:
        those ``k`` matches are all submitted at ``edge`` or later, so the ``k`` newest matches
        are too. Every inquiry submitted at ``edge`` or later has an id of at least ``lowest``
        (read off ``ix_inquiry_submitted``), so sorting the matches with ids from ``lowest`` up,
        submitted at ``edge`` or later, gives exactly the answer of sorting all of them. Exact
        whatever the data; fast because ids follow creation and inquiries are submitted soon
        after they are created, so that range holds about ``k`` / (share of inquiries matching)
        rows.
        """
        session, flt = listing.session, listing.flt
        table, query = _index_query(flt)
        k = offset + limit
        newest = _fts_ids(query, table=table).order_by(sa.literal_column("rowid").desc()).limit(k)
        times = session.exec(select(Inquiry.submitted_at).where(Inquiry.id.in_(newest))).all()
        if len(times) < k or any(t is None for t in times):
            return None
        edge = min(times)
        # min(id + 0): a range scan of the date index, not a walk of the table in id order
        lowest = session.exec(
            select(sa.func.min(Inquiry.id + 0)).where(Inquiry.submitted_at >= edge)
        ).one()
        others = listing.where().without(FTS).without(SHORT).clauses()
        rows = session.exec(
            select(Inquiry)
            .where(
                *others,
                Inquiry.submitted_at >= edge,
                Inquiry.id.in_(_fts_ids(query, lowest, table=table)),
            )
            .order_by(*statements.SORTS[statements.NEWEST_FIRST])
            .offset(offset)
            .limit(limit)
        ).all()
        return list(rows)


class PostgresSearch(Search):
    """PostgreSQL: ILIKE over the six columns, answered by their ``pg_trgm`` GIN indexes."""

    dialect = "postgresql"

    def contains(self, term: str, *, dense: bool) -> tuple[Condition, Any]:
        if pairs_indexed(term):
            return PAIR, term
        if len(term) < 3 and not dense:
            return CHARS, term
        pattern = _like_pattern(term)
        if len(term) < 3 or dense:
            return ILIKE, pattern
        return ILIKE_FIRST, pattern

    def walks_date_index(self, flt: Any, total: int, capped: bool) -> bool:
        return bool(flt.search) and (capped or total > DENSE_SEARCH_ROWS)

    def search_page(self, listing: Listing, page: int) -> Page:
        """The capped count and the page from one scan of the trigram indexes: the matches (up
        to ``cap + 1``, only the sort columns) are collected once, counted, sorted and paged;
        the page's rows are then read by id (two scans, a capped count and then the page, cost
        twice the index reads).

        More than ``cap`` matches (the collected ones are not the newest, so the page walks the
        date index) or a page past the last one (the last page is shown instead): the general
        path, which reuses this count.
        """
        w = listing.where(dense=True)
        cap = listing.cap
        params = w.params | {
            "count_limit": cap + 1,
            "count_cap": cap,
            "page_offset": (page - 1) * listing.page_size,
            "page_limit": listing.page_size,
        }
        stmt = statements.matches_page(w.plan, listing.sort)
        found = listing.session.execute(stmt, params).all()
        total = found[0][0]
        ids = [i for _, i in found if i is not None]
        if total > cap or (not ids and page > 1):
            return listing.paged(listing.window(page, total))
        rows = listing.rows_of_ids(w, ids, 0, len(ids))
        return listing.page_of(rows, total=total, page=page)


_SQLITE, _POSTGRES = SqliteSearch(), PostgresSearch()


def for_dialect(dialect: str) -> Search:
    """The search of a backend: the one place that picks it."""
    return _SQLITE if dialect == "sqlite" else _POSTGRES
