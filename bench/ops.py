"""The operations timed, each twice: as the app runs it (the domain functions the views call, as a
real staff member or manager) and as a floor (the minimal hand-written SQL giving the same answer).

Every op returns a comparable answer (ids, counts, tuples) so that the harness can check that the
project and the floor agree.
"""

from __future__ import annotations

import contextlib
import csv
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import select

from dashboard import clock, db, inquiries, queries
from dashboard.clock import SHANGHAI
from models import Inquiry, InquiryForm, User

INQUIRY_COLUMNS = [c.name for c in Inquiry.__table__.columns]
COLS = ", ".join(INQUIRY_COLUMNS)


@dataclass
class Op:
    """One timed operation. ``arg`` prepares each run's input (untimed), e.g. fresh inquiries."""

    name: str
    group: str  # triage | search | detail | write | report | export
    project: Callable[[Any], Any]
    floor: Callable[[Any], Any]
    target_ms: float | None = None
    max_ratio: float | None = None  # the project may take at most this multiple of the floor
    arg: Callable[[str], Any] | None = None  # called with "project" / "floor"
    compare: Callable[[Any, Any], bool] = field(default=lambda a, b: a == b)
    note: str = ""


def page_answer(page: Any) -> tuple[tuple[int, ...], int]:
    return tuple(r.id for r in page.rows), page.total


class Context:
    """What the ops need: the engine, who acts, and sample values drawn from the data."""

    def __init__(self, engine: Engine, rows: int) -> None:
        self.engine = engine
        self.rows = rows
        self.dialect = engine.dialect.name
        with db.session_scope(engine, write=False) as s:
            self.staff = s.exec(select(User).where(User.username == "staff")).one()
            self.manager = s.exec(select(User).where(User.username == "manager")).one()
            self.company = s.exec(select(User).where(User.username == "company")).one()
        self.now = datetime.now(UTC)
        today = self.now.astimezone(SHANGHAI).date()
        self.today = today
        with engine.connect() as c:
            # A typical submitted inquiry from the middle of the table, to search and open.
            mid = c.execute(
                sa.text(
                    "SELECT id, serial, company_name, mobile FROM inquiry "
                    "WHERE status <> 'draft' AND id >= :m ORDER BY id LIMIT 1"
                ),
                {"m": rows // 2},
            ).one()
            self.sample_id, self.sample_serial, company, self.sample_mobile = mid
            # Short terms (1–2 characters, migration 0018's index): a two-character Chinese name
            # (the given name of the sample's contact when it has two characters), its surname
            # alone, and two digits of its mobile number (most inquiries hold them: capped).
            contact = c.execute(
                sa.text("SELECT contact_name FROM inquiry WHERE id = :i"), {"i": self.sample_id}
            ).scalar_one()
            self.short_name = contact[-2:] if len(contact) >= 2 else contact
            self.short_char = contact[:1]
            self.short_digits = self.sample_mobile[3:5]
            # A 3-character fragment from inside the company name, as a user would type it.
            self.fragment = company[1:4] if len(company) >= 4 else company[:3]
            # ... and 3 characters from its legal form (有限公司): most of the table matches.
            self.broad_fragment = company[-4:-1] if len(company) >= 4 else company[:3]
            # A province whose visible inquiries are closest to a tenth of the table: the
            # filter exported (~100,000 rows at a million).
            counts = c.execute(
                sa.text(
                    "SELECT province_code, COUNT(*) FROM inquiry WHERE status <> 'draft' "
                    "GROUP BY province_code"
                )
            ).all()
            self.export_province, self.export_rows = min(
                counts, key=lambda pc: abs(pc[1] - rows / 10)
            )
            self.filter_province = max(counts, key=lambda pc: pc[1])[0]
        self._submitted: Iterator[int] | None = None
        self._used: set[int] = set()

    # -- helpers -----------------------------------------------------------------------------

    def ts(self, value: datetime) -> Any:
        """A bind value for a timestamp column as this backend stores it."""
        if self.dialect == "sqlite":
            return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        return value

    def day_start(self, day: date) -> Any:
        return self.ts(clock.day_start_utc(day))

    def fetch(self, sql: str, params: dict | None = None) -> list[tuple]:
        with self.engine.connect() as c:
            return [tuple(r) for r in c.execute(sa.text(sql), params or {})]

    def scalar(self, sql: str, params: dict | None = None) -> Any:
        with self.engine.connect() as c:
            return c.execute(sa.text(sql), params or {}).scalar_one()

    def read(self, fn: Callable[[Any], Any]) -> Any:
        """Run ``fn(session)`` the way a page does: one read-only session scope."""
        with db.session_scope(self.engine, write=False) as s:
            return fn(s)

    # -- fresh submitted inquiries for the writes ---------------------------------------------

    def submitted_ids(self, count: int) -> list[int]:
        """``count`` submitted inquiries nobody has completed yet (made through the lifecycle,
        as an enterprise user submits them, when the seeded ones run out)."""
        out: list[int] = []
        while len(out) < count:
            if self._submitted is None:
                ids = [
                    r[0]
                    for r in self.fetch(
                        "SELECT id FROM inquiry WHERE status = 'submitted' ORDER BY id LIMIT 5000"
                    )
                ]
                self._submitted = iter(ids)
            nxt = next(self._submitted, None)
            if nxt is None:
                self._make_submitted(count - len(out))
                self._submitted = None
                continue
            if nxt not in self._used:
                self._used.add(nxt)
                out.append(nxt)
        return out

    def _make_submitted(self, count: int) -> None:
        form = InquiryForm(
            company_name="基准测试进出口有限公司",
            province_code="440000",
            city_code="440300",
            district_code="440305",
            address_detail="科技园路1号",
            contact_name="张三",
            mobile="13812345678",
            landline="0755-12345678",
            email="bench@example.com",
            intent="insure",
        )
        with db.session_scope(self.engine) as s:
            for _ in range(count):
                inquiries.submit(s, actor=self.company, form=form)


# ---------------------------------------------------------------------------------------------
# Triage


def _list_floor(ctx: Context, where: str, params: dict, order: str) -> tuple:
    rows = ctx.fetch(f"SELECT {COLS} FROM inquiry WHERE {where} ORDER BY {order} LIMIT 50", params)
    if len(rows) < 50:  # a first page that is not full is the whole answer: no count needed
        return tuple(r[0] for r in rows), len(rows)
    total = ctx.scalar(f"SELECT COUNT(*) FROM inquiry WHERE {where}", params)
    return tuple(r[0] for r in rows), total


NEWEST = "submitted_at DESC, id DESC"
#: PostgreSQL's short-term floor: visible to staff, holding the characters of :t (migration
#: 0018's GIN index) or, for two characters, the pair (0021's), one of the searched columns
#: ILIKE :l.
VISIBLE = "status <> 'draft' AND submitted_at IS NOT NULL"
CHARS = (
    "inquiry_search_chars(serial, company_name, contact_name, mobile, landline, email) "
    "@> string_to_array(lower(:t), NULL)"
)
PAIR = (
    "inquiry_search_pairs(serial, company_name, contact_name, mobile, landline, email) "
    "@> ARRAY[lower(:t)]"
)
ILIKE_ANY = (
    "(serial ILIKE :l OR company_name ILIKE :l OR contact_name ILIKE :l OR mobile ILIKE :l "
    "OR landline ILIKE :l OR email ILIKE :l)"
)


def triage_ops(ctx: Context) -> list[Op]:
    default = queries.InquiryFilter(statuses=("submitted",))

    def default_project(_):
        def run(s):
            page = queries.list_page(s, default, actor=ctx.staff, page=1)
            facets = queries.facets(s, default, actor=ctx.staff)
            return page_answer(page), facets["intent"]

        return ctx.read(run)

    def default_floor(_):
        page = _list_floor(ctx, "status = 'submitted'", {}, NEWEST)
        intents = dict.fromkeys(("insure", "buyer_credit", "other"), 0)
        intents.update(
            ctx.fetch(
                "SELECT intent, COUNT(*) FROM inquiry WHERE status = 'submitted' GROUP BY intent"
            )
        )
        return page, intents

    start = ctx.today - timedelta(days=90)
    filtered = queries.InquiryFilter(
        province_code=ctx.filter_province,
        intents=("insure",),
        submitted_from=start,
        submitted_to=ctx.today,
    )

    def filtered_project(_):
        return ctx.read(
            lambda s: page_answer(queries.list_page(s, filtered, actor=ctx.staff, page=1))
        )

    def filtered_floor(_):
        return _list_floor(
            ctx,
            "status <> 'draft' AND province_code = :p AND intent = 'insure' "
            "AND submitted_at >= :a AND submitted_at < :b",
            {
                "p": ctx.filter_province,
                "a": ctx.day_start(start),
                "b": ctx.day_start(ctx.today + timedelta(days=1)),
            },
            NEWEST,
        )

    return [
        Op("triage_default", "triage", default_project, default_floor, 50, 2.0),
        Op("triage_filtered", "triage", filtered_project, filtered_floor, 50, 2.0),
    ]


# ---------------------------------------------------------------------------------------------
# Search


def search_ops(ctx: Context) -> list[Op]:
    def project_for(term: str):
        flt = queries.InquiryFilter(search=term)
        return lambda _: ctx.read(
            lambda s: page_answer(queries.list_page(s, flt, actor=ctx.staff, page=1))
        )

    cap = queries.SEARCH_COUNT_CAP

    def fts_floor(fragment: str) -> tuple:
        """SQLite: the FTS5 trigram index. Count up to the cap; few matches are sorted by date,
        many are paged from the newest matches by id (see SqliteSearch.newest_page in
        dashboard/queries/search.py)."""
        q = {
            "q": "{serial company_name contact_name mobile landline email} : "
            f'"{fragment}" NOT status : "draft"',
        }
        found = ctx.scalar(
            "SELECT count(*) FROM (SELECT 1 FROM inquiry_fts WHERE inquiry_fts MATCH :q LIMIT :n)",
            q | {"n": cap + 1},
        )
        if found <= queries.SPARSE_SEARCH_ROWS:
            rows = ctx.fetch(
                "SELECT " + COLS + " FROM inquiry WHERE id IN (SELECT rowid FROM inquiry_fts "
                "WHERE inquiry_fts MATCH :q) ORDER BY " + NEWEST + " LIMIT 50",
                q,
            )
            return tuple(r[0] for r in rows), found
        edge = ctx.scalar(
            "SELECT min(submitted_at) FROM inquiry WHERE id IN (SELECT rowid FROM inquiry_fts "
            "WHERE inquiry_fts MATCH :q ORDER BY rowid DESC LIMIT 50)",
            q,
        )
        lowest = ctx.scalar("SELECT min(id + 0) FROM inquiry WHERE submitted_at >= :e", {"e": edge})
        rows = ctx.fetch(
            "SELECT " + COLS + " FROM inquiry WHERE submitted_at >= :e AND id IN (SELECT rowid "
            "FROM inquiry_fts WHERE inquiry_fts MATCH :q AND rowid >= :lo) "
            "ORDER BY " + NEWEST + " LIMIT 50",
            q | {"e": edge, "lo": lowest},
        )
        return tuple(r[0] for r in rows), min(found, cap)

    def ilike_floor(fragment: str) -> tuple:
        """PostgreSQL: the trigram GIN indexes behind ILIKE; the count stops at the cap."""
        where = (  # drafts, the only rows without a submission time, sort first backwards
            "status <> 'draft' AND submitted_at IS NOT NULL AND (serial ILIKE :l "
            "OR company_name ILIKE :l "
            "OR contact_name ILIKE :l OR mobile ILIKE :l OR landline ILIKE :l OR email ILIKE :l)"
        )
        p = {"l": f"%{fragment}%"}
        rows = ctx.fetch(f"SELECT {COLS} FROM inquiry WHERE {where} ORDER BY {NEWEST} LIMIT 50", p)
        if len(rows) < 50:
            return tuple(r[0] for r in rows), len(rows)
        found = ctx.scalar(
            f"SELECT count(*) FROM (SELECT 1 FROM inquiry WHERE {where} LIMIT :n) AS m",
            p | {"n": cap + 1},
        )
        return tuple(r[0] for r in rows), min(found, cap)

    def contains_floor(fragment: str):
        return lambda _: (fts_floor if ctx.dialect == "sqlite" else ilike_floor)(fragment)

    def short_fts_floor(term: str) -> tuple:
        """SQLite, 1–2 characters: the index of characters and pairs (migration 0018), the same
        capped count from the index alone; few matches sorted by date, many paged from the newest
        index matches (as ``fts_floor``), a capped count's page by walking the date index with
        LIKE when that shortcut does not apply."""
        token = term.encode().lower().hex().upper()
        q = {"q": f'"{token}" NOT xd'}
        found = ctx.scalar(
            "SELECT count(*) FROM (SELECT 1 FROM inquiry_fts_short "
            "WHERE inquiry_fts_short MATCH :q LIMIT :n)",
            q | {"n": cap + 1},
        )
        ids_of = "SELECT rowid FROM inquiry_fts_short WHERE inquiry_fts_short MATCH :q"
        if found <= queries.SPARSE_SEARCH_ROWS:
            rows = ctx.fetch(
                f"SELECT {COLS} FROM inquiry WHERE id IN ({ids_of}) ORDER BY {NEWEST} LIMIT 50", q
            )
            return tuple(r[0] for r in rows), found
        edge = ctx.scalar(
            f"SELECT min(submitted_at) FROM inquiry WHERE id IN ({ids_of} "
            "ORDER BY rowid DESC LIMIT 50)",
            q,
        )
        lowest = ctx.scalar("SELECT min(id + 0) FROM inquiry WHERE submitted_at >= :e", {"e": edge})
        rows = ctx.fetch(
            f"SELECT {COLS} FROM inquiry WHERE submitted_at >= :e AND id IN ({ids_of} "
            f"AND rowid >= :lo) ORDER BY {NEWEST} LIMIT 50",
            q | {"e": edge, "lo": lowest},
        )
        return tuple(r[0] for r in rows), min(found, cap)

    def short_chars_floor(term: str) -> tuple:
        """PostgreSQL, 1–2 characters: the ids holding every character of the term (the GIN
        index of migration 0018), or the pair (0021), that ILIKE matches, up to the cap; their newest page; a capped
        count's page by walking the date index with ILIKE."""
        p = {"l": f"%{term}%", "t": term}
        index = PAIR if len(term) == 2 else CHARS
        ids = [
            r[0]
            for r in ctx.fetch(
                f"SELECT id FROM inquiry WHERE {VISIBLE} AND {index} AND {ILIKE_ANY} LIMIT :n",
                p | {"n": cap + 1},
            )
        ]
        if len(ids) > cap:
            rows = ctx.fetch(
                f"SELECT {COLS} FROM inquiry WHERE {VISIBLE} AND {ILIKE_ANY} ORDER BY {NEWEST} "
                "LIMIT 50",
                p,
            )
            return tuple(r[0] for r in rows), cap
        if not ids:
            return (), 0
        rows = ctx.fetch(
            f"SELECT {COLS} FROM inquiry WHERE id = ANY(:ids) ORDER BY {NEWEST} LIMIT 50",
            {"ids": ids},
        )
        return tuple(r[0] for r in rows), len(ids)

    def short_floor(term: str):
        return lambda _: (short_fts_floor if ctx.dialect == "sqlite" else short_chars_floor)(term)

    def mobile_floor(_):
        return _list_floor(
            ctx, "status <> 'draft' AND mobile = :m", {"m": ctx.sample_mobile}, NEWEST
        )

    def serial_floor(_):
        return _list_floor(
            ctx, "status <> 'draft' AND serial = :s", {"s": ctx.sample_serial}, NEWEST
        )

    return [
        Op(
            "search_company_fragment",
            "search",
            project_for(ctx.fragment),
            contains_floor(ctx.fragment),
            20,
        ),
        Op(
            "search_broad_fragment",
            "search",
            project_for(ctx.broad_fragment),
            contains_floor(ctx.broad_fragment),
            20,
            note="3 characters that most company names contain: counted up to the cap",
        ),
        Op(
            "search_short_name",
            "search",
            project_for(ctx.short_name),
            short_floor(ctx.short_name),
            50,
            note=f"2 characters of a contact's name ({ctx.short_name})",
        ),
        Op(
            "search_short_char",
            "search",
            project_for(ctx.short_char),
            short_floor(ctx.short_char),
            50,
            note=f"1 character, the surname ({ctx.short_char})",
        ),
        Op(
            "search_short_digits",
            "search",
            project_for(ctx.short_digits),
            short_floor(ctx.short_digits),
            50,
            note=f"2 digits ({ctx.short_digits}): most inquiries hold them, counted up to the cap",
        ),
        Op("search_exact_mobile", "search", project_for(ctx.sample_mobile), mobile_floor, 50, 2.0),
        Op("search_exact_serial", "search", project_for(ctx.sample_serial), serial_floor, 50, 2.0),
    ]


# ---------------------------------------------------------------------------------------------
# Detail


DUPLICATE_FIELDS = ("company_name", "mobile", "email")
# The rows themselves, as the detail panel lists them (not only their ids).
DUPLICATE_LOOKUP = (
    "SELECT * FROM (SELECT " + COLS + " FROM inquiry WHERE status <> 'draft' AND id <> :i "
    "AND {column} = :{column} ORDER BY submitted_at DESC, id DESC LIMIT 20) AS by_{column}"
)


def detail_ops(ctx: Context) -> list[Op]:
    def project(_):
        def run(s):
            inquiry = inquiries.get(s, actor=ctx.staff, inquiry_id=ctx.sample_id)
            trail = inquiries.events(s, actor=ctx.staff, inquiry_id=ctx.sample_id)
            dups = queries.possible_duplicates(s, actor=ctx.staff, inquiry=inquiry)
            return inquiry.id, tuple(e.id for e, _ in trail), tuple(r.id for r, _ in dups)

        return ctx.read(run)

    def floor(_):
        row = ctx.fetch(
            f"SELECT {COLS} FROM inquiry WHERE id = :i AND status <> 'draft'",
            {"i": ctx.sample_id},
        )
        trail = ctx.fetch(
            "SELECT e.id, e.at, e.action, e.from_status, e.to_status, e.note, e.actor_id, "
            "u.display_name, u.username FROM inquiry_event e "
            "LEFT JOIN user_account u ON u.id = e.actor_id WHERE e.inquiry_id = :i "
            "ORDER BY e.at, e.id",
            {"i": ctx.sample_id},
        )
        r = dict(zip(INQUIRY_COLUMNS, row[0], strict=True))
        # one indexed lookup per field (newest 20 each), the union sorted and cut to 20
        dups = ctx.fetch(
            " UNION ".join(DUPLICATE_LOOKUP.format(column=c) for c in DUPLICATE_FIELDS)
            + " ORDER BY submitted_at DESC, id DESC LIMIT 20",
            {c: r[c] for c in DUPLICATE_FIELDS} | {"i": r["id"]},
        )
        return r["id"], tuple(x[0] for x in trail), tuple(x[0] for x in dups)

    return [Op("detail", "triage", project, floor, 50, 2.0)]


# ---------------------------------------------------------------------------------------------
# Writes: complete one, bulk-complete 100 (fresh submitted inquiries every run)


def _complete_floor(ctx: Context, ids: list[int]) -> tuple[int, int]:
    now = ctx.ts(datetime.now(UTC))
    with ctx.engine.connect() as c, c.execution_options(sqlite_immediate=True).begin():
        done = c.execute(
            sa.text(
                "UPDATE inquiry SET status = 'completed', completed_at = :n, updated_at = :n, "
                "version = version + 1 WHERE id IN :ids AND status = 'submitted'"
            ).bindparams(sa.bindparam("ids", expanding=True)),
            {"n": now, "ids": ids},
        ).rowcount
        c.execute(
            sa.text(
                "INSERT INTO inquiry_event (inquiry_id, actor_id, at, action, from_status, "
                "to_status, note) VALUES (:i, :a, :n, 'completed', 'submitted', 'completed', '')"
            ),
            [{"i": i, "a": ctx.staff.id, "n": now} for i in ids],
        )
    return done, len(ids)


def write_ops(ctx: Context) -> list[Op]:
    def project(ids):
        with db.session_scope(ctx.engine) as s:
            # One inquiry needs a 处理意见 (the reply to the company); a selection may share one.
            done = inquiries.complete(s, actor=ctx.staff, inquiry_ids=ids, note="已处理")
            return len(done), len(ids)

    def floor(ids):
        return _complete_floor(ctx, ids)

    # Completing is what triage ends in: the same targets as the triage views.
    return [
        Op("complete_one", "write", project, floor, 50, 2.0, arg=lambda _: ctx.submitted_ids(1)),
        Op(
            "bulk_complete_100",
            "write",
            project,
            floor,
            50,
            2.0,
            arg=lambda _: ctx.submitted_ids(100),
        ),
    ]


# ---------------------------------------------------------------------------------------------
# Export (CSV of a filter matching ~a tenth of the table)


def csv_floor(ctx: Context, path: str) -> int:
    """Stream the same rows with a server-side cursor straight into ``csv.writer``."""
    n = 0
    with ctx.engine.connect() as c, open(path, "w", newline="", encoding="utf-8-sig") as f:
        writer = csv.writer(f)
        result = c.execution_options(stream_results=True, yield_per=5000).execute(
            sa.text(
                f"SELECT {COLS} FROM inquiry WHERE status <> 'draft' AND province_code = :p "
                f"ORDER BY {NEWEST}"
            ),
            {"p": ctx.export_province},
        )
        for part in result.partitions(5000):
            writer.writerows(part)
            n += len(part)
    return n


def temp_csv() -> str:
    fd, path = tempfile.mkstemp(suffix=".csv", prefix="bench-export-")
    os.close(fd)
    return path


@contextlib.contextmanager
def export_path(given: str | None = None) -> Iterator[str]:
    """``given``, or a temporary file (``temp_csv``) removed afterwards."""
    path = given or temp_csv()
    try:
        yield path
    finally:
        if not given:
            Path(path).unlink(missing_ok=True)


def naive_pandas(ctx: Context) -> tuple:
    """What one reaches for first: read the whole table into pandas, then filter and sort."""
    import pandas as pd

    with ctx.engine.connect() as c:
        df = pd.read_sql_query(sa.text("SELECT " + COLS + " FROM inquiry"), c)
    sub = df[df["status"] == "submitted"].sort_values(
        ["submitted_at", "id"], ascending=[False, False]
    )
    return tuple(int(i) for i in sub["id"].head(50)), len(sub)


def export_ops(ctx: Context) -> list[Op]:
    from dashboard import export

    flt = queries.InquiryFilter(province_code=ctx.export_province)

    def project(given):
        with export_path(given) as path, open(path, "wb") as out:
            return ctx.read(lambda s: export.write_csv(s, flt, actor=ctx.staff, out=out))

    def floor(given):
        with export_path(given) as path:
            return csv_floor(ctx, path)

    def xlsx(given):
        with export_path(given) as path, open(path, "wb") as out:
            return ctx.read(lambda s: export.write_xlsx(s, flt, actor=ctx.staff, out=out))

    return [
        Op("export_csv", "export", project, floor, 3000, note="time target 3 s"),
        Op(
            "export_xlsx",
            "export",
            xlsx,
            floor,
            5000,
            note="time target 5 s; floor: the CSV floor (the same rows from SQL into csv.writer)",
        ),
    ]


def read_ops(ctx: Context) -> list[Op]:
    return [*triage_ops(ctx), *search_ops(ctx), *detail_ops(ctx), *report_ops(ctx)]


# ---------------------------------------------------------------------------------------------
# Reports (统计报表): every section for the last 12 months and for all time


def _months_and_edges(start: date, end: date) -> tuple[date, date]:
    """Whole months ``[lo, hi)`` inside ``start..end``; the days outside them are edges."""
    lo = start if start.day == 1 else (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    hi = (end + timedelta(days=1)).replace(day=1)
    if lo > hi:
        lo = hi = end + timedelta(days=1)
    return lo, hi


def _weeks_and_edges(start: date, end: date) -> tuple[date, date]:
    lo = start + timedelta(days=(7 - start.weekday()) % 7)
    after = end + timedelta(days=1)
    hi = after - timedelta(days=after.weekday())
    if lo > hi:
        lo = hi = after
    return lo, hi


def report_ops(ctx: Context) -> list[Op]:
    """Each section against the floor on the same schema: hand-written SQL over the rollup of
    migration 0003 (whole months, or weeks for the trend, plus the edge days)."""
    from dashboard import reports
    from dashboard.settings import get_settings

    periods = {
        "12m": reports.ReportFilter(start=ctx.today - timedelta(days=364), end=ctx.today),
        "all": reports.ReportFilter(start=clock.EARLIEST, end=ctx.today),
    }
    sqlite = ctx.dialect == "sqlite"

    def day(d: date) -> Any:
        return d.isoformat() if sqlite else d

    # Rows of a rollup table for the period: coarse rows of whole buckets + day rows at the edges.
    span = (
        "((grain = :g AND period >= :blo AND period < :bhi) OR (grain = 'd' AND "
        "((period >= :lo AND period < :blo) OR (period >= :bhi AND period <= :hi))))"
    )
    out: list[Op] = []
    for label, flt in periods.items():
        mlo, mhi = _months_and_edges(flt.start, flt.end)
        wlo, whi = _weeks_and_edges(flt.start, flt.end)
        lo, hi = day(flt.start), day(flt.end)
        p = {"g": "m", "blo": day(mlo), "bhi": day(mhi), "lo": lo, "hi": hi}
        pw = {"g": "w", "blo": day(wlo), "bhi": day(whi), "lo": lo, "hi": hi}
        cutoff = clock.overdue_cutoff(ctx.now, get_settings().sla_working_days)
        cutoff_day = cutoff.astimezone(SHANGHAI).date()
        last_whole = min(flt.end, cutoff_day - timedelta(days=1))
        olo, ohi = _months_and_edges(flt.start, last_whole)
        po = {"g": "m", "blo": day(olo), "bhi": day(ohi), "lo": lo, "hi": day(last_whole)}
        po["c0"] = ctx.day_start(cutoff_day)
        po["c"] = ctx.ts(cutoff)

        def floor_rows(sql, p=p):
            return lambda _: ctx.fetch(sql, p)

        def as_pairs(df, *cols):
            return [
                tuple(int(v) if hasattr(v, "__int__") else v for v in r)
                for r in df[list(cols)].itertuples(index=False)
            ]

        def rows_op(name, section, cols: tuple[str, ...], sql: str, flt=flt, label=label) -> Op:
            """A section whose answer is rows of ``cols`` against the rollup rows of ``sql``."""
            return Op(
                f"report_{name}_{label}",
                "report",
                lambda _: ctx.read(lambda s: as_pairs(section(s, flt, actor=ctx.manager), *cols)),
                floor_rows(sql),
                50,
            )

        out += [
            Op(
                f"report_overview_{label}",
                "report",
                lambda _, flt=flt: ctx.read(
                    lambda s: int(reports.overview(s, flt, actor=ctx.manager)["当前"][0])
                ),
                lambda _, p=p: ctx.scalar(
                    "SELECT SUM(n) FROM report_count WHERE province_code = '*' AND " + span, p
                ),
                50,
                note="floor: the period's count (the project also computes the previous period "
                "and the median completion time)",
            ),
            rows_op(
                "volume_by_intent",
                reports.volume_by_intent,
                ("intent", "数量"),
                "SELECT intent, SUM(n) FROM report_count WHERE province_code = '*' AND "
                + span
                + " GROUP BY intent HAVING SUM(n) > 0 ORDER BY intent",
            ),
            rows_op(
                "volume_by_region",
                reports.volume_by_region,
                ("code", "数量"),
                "SELECT province_code, SUM(n) AS total FROM report_count "
                "WHERE province_code <> '*' AND "
                + span
                + " GROUP BY province_code HAVING SUM(n) > 0 ORDER BY total DESC, province_code",
            ),
            Op(
                f"report_trend_{label}",
                "report",
                lambda _, flt=flt: ctx.read(
                    lambda s: int(reports.trend(s, flt, actor=ctx.manager)["数量"].sum())
                ),
                lambda _, pw=pw: ctx.scalar(
                    "SELECT SUM(n) FROM report_count WHERE province_code = '*' AND " + span, pw
                ),
                50,
                note="weekly buckets by intent; answers compared by their sum",
            ),
            rows_op(
                "status_mix",
                reports.status_mix,
                ("intent", "status", "数量"),
                "SELECT intent, status, SUM(n) FROM report_count WHERE province_code = '*' "
                "AND " + span + " GROUP BY intent, status HAVING SUM(n) > 0 "
                "ORDER BY intent, status",
            ),
            Op(
                f"report_completion_time_{label}",
                "report",
                lambda _, flt=flt: ctx.read(
                    lambda s: int(
                        reports.completion_time_distribution(s, flt, actor=ctx.manager)[
                            "数量"
                        ].sum()
                    )
                ),
                lambda _, p=p: ctx.scalar(
                    "SELECT COALESCE(SUM(n), 0) FROM report_hours WHERE province_code = '*' AND "
                    + span,
                    p,
                ),
                50,
                note="histogram; answers compared by their sum",
            ),
            Op(
                f"report_overdue_{label}",
                "report",
                lambda _, flt=flt: ctx.read(
                    lambda s: reports.overdue_count(s, flt, now=ctx.now, actor=ctx.manager)
                ),
                lambda _, po=po: ctx.scalar(
                    "SELECT (SELECT COALESCE(SUM(n), 0) FROM report_count WHERE province_code = "
                    "'*' AND status = 'submitted' AND "
                    + span
                    + ") + (SELECT COUNT(*) FROM inquiry WHERE status = 'submitted' "
                    "AND submitted_at >= :c0 AND submitted_at < :c)",
                    po,
                ),
                50,
                note="floor: rollup days before the SLA cutoff's day + that day from inquiry",
            ),
        ]
    return out
