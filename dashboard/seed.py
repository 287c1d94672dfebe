"""Deterministic, realistic demo data: zh_CN companies and contacts, real region codes, intents
and statuses spread over two years with a weekly pattern (busy weekdays, quiet weekends).

Fast enough for a million rows: Faker only fills small pools of names, rows are drawn from the
pools with one seeded ``random.Random``, and rows go in with bulk ``executemany`` inserts.
"""

from __future__ import annotations

import bisect
import contextlib
import itertools
import math
import os
import random
import re
import sqlite3
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from faker import Faker
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from dashboard import accounts, bulkload, db, regions, rollup
from dashboard.inquiries import allocate_serials
from models import Inquiry, Role, User, normalize_landline

DEMO_PASSWORD = "demo-pass-2026"
DEMO_ACCOUNTS = (
    # username, role, display name, company
    ("company", Role.enterprise, "演示企业用户", "深圳市前海演示进出口贸易有限公司"),
    ("staff", Role.staff, "业务人员小李", None),
    ("manager", Role.manager, "王经理", None),
    ("admin", Role.admin, "系统管理员", None),
)
EXTRA_STAFF = (("staff2", "业务人员小张"), ("staff3", "业务人员小陈"))

# Export-heavy provinces carry more inquiries (rough weights, by province code).
PROVINCE_WEIGHTS = {
    "440000": 18,
    "330000": 14,
    "320000": 13,
    "370000": 8,
    "310000": 8,
    "350000": 6,
    "110000": 5,
    "120000": 3,
    "210000": 3,
    "340000": 3,
    "420000": 3,
    "430000": 3,
    "510000": 3,
    "500000": 2,
    "410000": 2,
    "130000": 2,
    "360000": 2,
    "450000": 2,
    "610000": 2,
}
# Area codes of each province's capital, for realistic fixed-line numbers.
AREA_CODES = {
    "110000": "010",
    "120000": "022",
    "130000": "0311",
    "140000": "0351",
    "150000": "0471",
    "210000": "024",
    "220000": "0431",
    "230000": "0451",
    "310000": "021",
    "320000": "025",
    "330000": "0571",
    "340000": "0551",
    "350000": "0591",
    "360000": "0791",
    "370000": "0531",
    "410000": "0371",
    "420000": "027",
    "430000": "0731",
    "440000": "020",
    "450000": "0771",
    "460000": "0898",
    "500000": "023",
    "510000": "028",
    "520000": "0851",
    "530000": "0871",
    "540000": "0891",
    "610000": "029",
    "620000": "0931",
    "630000": "0971",
    "640000": "0951",
    "650000": "0991",
}
MOBILE_PREFIXES = (
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "155",
    "156",
    "157",
    "158",
    "159",
    "176",
    "177",
    "178",
    "180",
    "181",
    "182",
    "183",
    "185",
    "186",
    "187",
    "188",
    "189",
    "198",
    "199",
)
INTENTS = (("insure", 0.6), ("buyer_credit", 0.3), ("other", 0.1))
OTHER_NEEDS = (
    "希望了解短期出口信用保险的费率和投保流程",
    "咨询海外应收账款的融资便利",
    "想了解中小微企业信保易产品",
    "需要对新买家做资信评估，请联系",
    "询问政治风险的承保范围",
)
STREETS = ("科技园路", "人民路", "建设大道", "解放路", "中山路", "滨江大道", "工业园区", "高新大道")
CHUNK = 100_000  # rows per transaction
FTS5_DEFAULT_AUTOMERGE = 4
SEED_PASSWORD_HASH = "!seeded-account-no-login"  # not an argon2 hash: login always fails
SHANGHAI_OFFSET = 8 * 3600  # Asia/Shanghai has had no daylight saving time since 1991
DAY = 86_400
EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday
INQUIRY_COLUMNS = (
    "id",
    "serial",
    "company_name",
    "province_code",
    "city_code",
    "district_code",
    "address_detail",
    "contact_name",
    "mobile",
    "landline",
    "email",
    "intent",
    "other_needs",
    "status",
    "owner_id",
    "assignee_id",
    "created_at",
    "submitted_at",
    "completed_at",
    "updated_at",
    "version",
)
TIME_COLUMNS = frozenset({"created_at", "submitted_at", "completed_at", "updated_at"})


def _weekly_timestamps(rng: random.Random, n: int, end: int) -> list[int]:
    """``n`` creation times (UTC epoch seconds) over the two years before ``end``, sorted, with
    weekday peaks, office hours and a gentle upward trend.

    Plain integer arithmetic: Asia/Shanghai is a fixed UTC+8, so the local weekday and hour need
    no time-zone database (that made this loop the slowest part of seeding a million rows).
    """
    start = end - 730 * DAY
    span = end - start
    accept = [w / 1.1 for w in (1.0, 1.1, 1.1, 1.0, 0.9, 0.25, 0.15)]  # Monday … Sunday
    a = 0.6
    k = a * (2 + a)
    random_, gauss, sqrt = rng.random, rng.gauss, math.sqrt
    out: list[int] = []
    append = out.append
    while len(out) < n:
        # Trend: density grows ~60% over the two years (inverse-CDF of a linear density).
        frac = (-1 + sqrt(1 + k * random_())) / a
        local_day = int(start + frac * span + SHANGHAI_OFFSET) // DAY
        if random_() > accept[(local_day + EPOCH_WEEKDAY) % 7]:
            continue
        hour = min(23, max(0, int(gauss(14, 3))))
        t = local_day * DAY - SHANGHAI_OFFSET + hour * 3600 + int(random_() * 3600)
        if t < end:
            append(t)
    out.sort()
    return out


@lru_cache(maxsize=1)
def _landline_formats() -> dict[str, tuple[tuple[str, int], ...]]:
    """Per area code, the (2-digit prefix, remaining length) pairs that make valid numbers."""
    out: dict[str, tuple[tuple[str, int], ...]] = {}
    for area in sorted(set(AREA_CODES.values())):
        out[area] = tuple(
            (str(prefix), rest)
            for prefix in range(20, 90)
            for rest in (5, 6)
            if normalize_landline(f"{area}-{prefix}{'3' * rest}")
            and normalize_landline(f"{area}-{prefix}{'0' * rest}")
            and normalize_landline(f"{area}-{prefix}{'9' * rest}")
        )
    return out


@lru_cache(maxsize=4)
def _pools(seed: int) -> dict[str, list]:
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    companies = sorted({fake.company() for _ in range(6000)})
    people = [fake.name() for _ in range(3000)]
    logins = [fake.user_name() for _ in range(3000)]
    domains = [fake.free_email_domain() for _ in range(20)] + [
        "163.com",
        "qq.com",
        "126.com",
        "sina.com",
        "foxmail.com",
    ]
    return {"companies": companies, "people": people, "logins": logins, "domains": domains}


def _ensure_owners(session: Session, count: int, rng: random.Random) -> list[int]:
    """Enterprise accounts that own seeded inquiries (they cannot log in)."""
    existing = session.exec(
        select(User.id).where(User.username.like("seed-company-%")).order_by(User.id)
    ).all()
    need = count - len(existing)
    if need > 0:
        start = len(existing)
        session.execute(
            sa.insert(User.__table__),
            [
                {
                    "username": f"seed-company-{start + i:05d}",
                    "password_hash": SEED_PASSWORD_HASH,
                    "role": Role.enterprise.value,
                    "company_name": f"演示企业{start + i:05d}",
                    "is_active": True,
                    "failed_logins": 0,
                    "must_change_password": False,
                    "created_at": datetime.now(UTC),
                }
                for i in range(need)
            ],
        )
        existing = session.exec(
            select(User.id).where(User.username.like("seed-company-%")).order_by(User.id)
        ).all()
    return list(existing)


class _TimeText:
    """UTC epoch seconds → the text each backend stores or parses, with a per-day cache.

    SQLite: SQLAlchemy's own storage format for ``DateTime`` (naive UTC, with microseconds), so
    that seeded rows compare exactly like rows the app writes. PostgreSQL: ISO text with ``+00``.
    """

    def __init__(self, dialect: str) -> None:
        suffix = ".000000" if dialect == "sqlite" else "+00"
        # Every second of a day as text, made once: a lookup and a concatenation per value
        # instead of formatting three numbers (a million rows have four times in each).
        self.clock = [
            f" {h:02d}:{m:02d}:{s:02d}{suffix}"
            for h in range(24)
            for m in range(60)
            for s in range(60)
        ]
        self.days: dict[int, str] = {}

    def __call__(self, t: int | None) -> str | None:
        if t is None:
            return None
        day, secs = divmod(t, DAY)
        prefix = self.days.get(day)
        if prefix is None:
            prefix = self.days[day] = (date(1970, 1, 1) + timedelta(days=day)).isoformat()
        return prefix + self.clock[secs]


_TRIGGER = re.compile(
    r"\s*CREATE\s+TRIGGER\s+(?:IF\s+NOT\s+EXISTS\s+)?\S+\s+AFTER\s+INSERT\s+ON\s+"
    r"[\"`\[]?inquiry[\"`\]]?\s+(?:FOR\s+EACH\s+ROW\s+)?BEGIN\s+(?P<body>.*?)\s*END\s*",
    re.I | re.S,
)
_INSERT_VALUES = re.compile(
    r"(?P<head>INSERT\s+(?:OR\s+\w+\s+)?INTO\s+[^\s(]+\s*\([^()]*\))\s*VALUES\s*\((?P<values>.*)\)",
    re.I | re.S,
)


def _quoted(identifier: str) -> str:
    """An identifier read from the database's catalogue, quoted for DDL."""
    return '"' + identifier.replace('"', '""') + '"'


def _set_based(trigger_ddl: str) -> list[str] | None:
    """The body of a simple AFTER INSERT trigger as set-based statements over a range of ids,
    or None when the trigger has any other shape (WHEN, UPDATE, upserts, strings with ';')."""
    match = _TRIGGER.fullmatch(trigger_ddl)
    if not match or "'" in match["body"] or '"' in match["body"]:
        return None
    out = []
    for statement in filter(None, (s.strip() for s in match["body"].split(";"))):
        insert = _INSERT_VALUES.fullmatch(statement)
        if not insert:
            return None
        out.append(
            f"{insert['head']} SELECT {insert['values']} FROM inquiry AS new "
            "WHERE new.id BETWEEN ? AND ?"
        )
    return out or None


#: PostgreSQL: move the sequence of inquiry ids past the ids a bulk load wrote itself.
_SYNC_SEQUENCE = (
    "SELECT setval(pg_get_serial_sequence('inquiry', 'id'), "
    "(SELECT COALESCE(MAX(id), 1) FROM inquiry))"
)
_CREATE_INDEX = re.compile(r"CREATE\s+INDEX\s+(?!IF\s+NOT\s+EXISTS\s)", re.I)
INDEX_SESSIONS = 2  # PostgreSQL: sessions rebuilding the indexes after a bulk load


_TARGET = re.compile(r"INSERT\s+INTO\s+(?P<name>[\w$]+)\s*\(", re.I)


def _target(statement: str) -> str | None:
    """The table a set-based ``INSERT INTO name (…) SELECT …`` writes to (unquoted names only)."""
    match = _TARGET.match(statement)
    return match["name"] if match else None


def _empty_fts5(cur: Any, table: str) -> bool:
    """Whether ``table`` is an FTS5 table (of the main database) whose index holds nothing."""
    cur.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ? AND sql LIKE "
        "'%USING fts5%'",
        (table,),
    )
    if cur.fetchone() is None:
        return False
    cur.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN (?, ?)",
        (table + "_idx", table + "_docsize"),
    )
    for (shadow,) in cur.fetchall():
        cur.execute("SELECT 1 FROM " + _quoted(shadow) + " LIMIT 1")
        if cur.fetchone() is not None:
            return False
    return True


def _database_file(cur: Any) -> str | None:
    """The file of the main database, or None for an in-memory one."""
    cur.execute("PRAGMA database_list")
    return bulkload.main_file(cur.fetchall())


class _SideIndex:
    """SQLite: the full-text indexes of a first bulk load, built on a second connection in a
    temporary database beside the real one, then copied in whole.

    One SQLite database has one writer at a time, so indexing a million rows into FTS5 (about a
    quarter of the load) would otherwise wait for, and hold up, the inserts, the audit events
    and the index rebuilds. Here it runs at the same time on the machine's other core: each
    chunk is indexed once it is committed, reading the rows from the real database (attached;
    in WAL mode a reader does not block the writer). At the end the index's shadow tables
    (``_data``, ``_idx``, ``_docsize``; ``_content`` for a table holding its own copy) replace
    the real table's, which were empty; ``_config`` stays the real table's own. The index is
    the one the statements would have made on the real connection: the same statements over
    the same rows in the same chunks.
    """

    SOURCE = "seed_source"

    def __init__(self, database: str, cur: Any, statements: dict[str, list[str]]) -> None:
        self.statements = statements
        directory = os.path.dirname(os.path.abspath(database))
        bulkload.remove_orphans(directory)
        handle, self.path = tempfile.mkstemp(
            prefix=bulkload.SCRATCH_PREFIX + str(os.getpid()) + "-", suffix=".db", dir=directory
        )
        os.close(handle)
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="seed-fts")
        self.pending: list[Future] = []
        self.first_id: int | None = None  # of the first chunk handed over
        self.conn: sqlite3.Connection | None = None
        try:
            self.conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=15
            )
            self.conn.execute("PRAGMA journal_mode=OFF")  # a scratch file: nothing to recover
            self.conn.execute("PRAGMA synchronous=OFF")
            self.conn.execute("PRAGMA cache_size=-200000")
            self.conn.execute("PRAGMA temp_store=MEMORY")
            self.conn.execute("ATTACH DATABASE ? AS " + self.SOURCE, (database,))
            for table in statements:
                cur.execute("SELECT sql FROM sqlite_master WHERE name = ?", (table,))
                self.conn.execute(cur.fetchone()[0])
                self.conn.execute(_automerge_sql(table), (16,))
        except BaseException:
            self.close()
            raise

    def submit(self, first_id: int, last_id: int) -> None:
        """Index the rows ``first_id..last_id`` (committed already) in the background."""
        if self.first_id is None:
            self.first_id = first_id
        self.pending.append(self.pool.submit(self._index, first_id, last_id))

    def _index(self, first_id: int, last_id: int) -> None:
        self.conn.execute("BEGIN")
        for statements in self.statements.values():
            for sql in statements:
                self.conn.execute(sql, (first_id, last_id))
        self.conn.execute("COMMIT")

    def wait(self) -> None:
        for future in self.pending:
            future.result()
        self.pending = []

    def copy_into(self, conn: sqlite3.Connection) -> None:
        """Replace the (empty) indexes of the real database by the ones built here."""
        self.wait()
        self.conn.execute("DETACH DATABASE " + self.SOURCE)
        conn.execute("ATTACH DATABASE ? AS seed_fts", (self.path,))
        try:
            conn.execute("BEGIN IMMEDIATE")
            for table in self.statements:
                shadows = conn.execute(
                    "SELECT name FROM seed_fts.sqlite_master WHERE type = 'table' AND name IN "
                    "(?, ?, ?, ?)",
                    tuple(table + suffix for suffix in ("_data", "_idx", "_docsize", "_content")),
                ).fetchall()
                for (shadow,) in shadows:
                    name = _quoted(shadow)
                    conn.execute("DELETE FROM main." + name)
                    conn.execute("INSERT INTO main." + name + " SELECT * FROM seed_fts." + name)
            conn.execute("COMMIT")
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            conn.execute("DETACH DATABASE seed_fts")

    def redo_on(self, conn: sqlite3.Connection) -> None:
        """After an error: index the rows this load committed on the real connection instead
        (the real indexes were empty, so they then hold exactly the rows that are there)."""
        if self.first_id is None:
            return
        conn.execute("BEGIN IMMEDIATE")
        for statements in self.statements.values():
            for sql in statements:
                conn.execute(sql, (self.first_id, 2**62))
        conn.execute("COMMIT")

    def close(self) -> None:
        """Stop and remove the scratch database (after ``copy_into``, or instead of it)."""
        for future in self.pending:
            future.cancel()
        self.pool.shutdown()
        if self.conn is not None:
            self.conn.close()
        for suffix in ("", "-journal", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.path + suffix)


class _DayTally:
    """The rollup's day rows of the inquiries being loaded, counted as they are generated from
    the same epoch seconds the rows are written with (whole seconds, Shanghai = UTC+8)."""

    def __init__(self) -> None:
        self.count: dict[tuple, int] = {}
        self.city: dict[tuple, int] = {}
        self.hours: dict[tuple, int] = {}

    def tables(self) -> dict[str, list[tuple]]:
        days: dict[int, str] = {}

        def rows(table: str, counter: dict[tuple, int]) -> list[tuple]:
            out = []
            for (day, *rest), n in counter.items():
                iso = days.get(day)
                if iso is None:
                    iso = days[day] = (date(1970, 1, 1) + timedelta(days=day)).isoformat()
                out.append((iso, *rest, n))
            # In the order of the table's primary key (grain is 'd' for all of them).
            columns = rollup.DAY_COLUMNS[table]
            out.sort(key=itemgetter(*(columns.index(c) for c in rollup.KEY_COLUMNS[table][1:])))
            return out

        return {
            "report_count": rows("report_count", self.count),
            "report_city": rows("report_city", self.city),
            "report_hours": rows("report_hours", self.hours),
        }


def _automerge_sql(fts_table: str) -> str:
    """The FTS5 command setting a table's ``automerge`` (the value is bound)."""
    table = _quoted(fts_table)
    return "INSERT INTO " + table + " (" + table + ", rank) VALUES ('automerge', ?)"


class _Writer:
    """Bulk insert on the driver's own connection, one transaction per chunk.

    SQLite: ``executemany`` of tuples, with pragmas that only this connection uses (it is taken
    out of the pool and closed at the end). PostgreSQL: ``COPY … FROM STDIN``.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self.conn = engine.raw_connection()
        self.dbapi = self.conn.driver_connection
        self.conn.detach()  # session-level settings below must not leak into the pool
        cur = self.dbapi.cursor()
        if self.dialect == "sqlite":
            cur.execute("PRAGMA synchronous=OFF")
            cur.execute("PRAGMA cache_size=-400000")  # up to ~400 MB of page cache
            cur.execute("PRAGMA temp_store=MEMORY")
            cur.execute("PRAGMA busy_timeout=15000")
        else:
            self.dbapi.commit()
            cur.execute("SET synchronous_commit = off")
            cur.execute("SET maintenance_work_mem = '256MB'")
            self.dbapi.commit()
        cur.close()
        self.dropped: list[tuple[str, str]] = []  # (drop, create) statements
        self.suspended: list[str] = []  # DDL of the triggers dropped for the load
        self.per_chunk: list[str] = []  # their statements, run set-based after each chunk
        self.rollup_suspended = False
        self.automerge: dict[str, int] = {}  # FTS5 table → its automerge setting before the load
        self.side: _SideIndex | None = None  # empty full-text indexes built beside the load
        cur = self.dbapi.cursor()
        self.owner = bulkload.owner(self.dialect, cur)  # of the journal rows of this load
        cur.close()
        if self.dialect != "sqlite":
            self.dbapi.commit()

    def relax_fts_merging(self) -> None:
        """SQLite: let the full-text indexes merge their segments 16 at a time instead of 4
        during a bulk load (``automerge``): a million rows are indexed in 13 s instead of 18,
        and searches afterwards are as fast (measured on the trigram index of 0002_search).
        ``restore_fts_merging`` puts the setting back; a load killed in between leaves 16,
        which only changes how lazily later writes merge."""
        if self.dialect != "sqlite":
            return
        cur = self.dbapi.cursor()
        cur.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '%USING fts5%'"
        )
        for (name,) in cur.fetchall():
            cur.execute("SELECT v FROM " + _quoted(name + "_config") + " WHERE k = 'automerge'")
            row = cur.fetchone()
            self.automerge[name] = int(row[0]) if row else FTS5_DEFAULT_AUTOMERGE
            cur.execute(_automerge_sql(name), (16,))
        cur.close()

    def restore_fts_merging(self) -> None:
        cur = self.dbapi.cursor()
        for name, value in self.automerge.items():
            cur.execute(_automerge_sql(name), (value,))
        cur.close()
        self.automerge = {}

    def suspend_insert_triggers(self) -> None:
        """SQLite: replace simple ``AFTER INSERT ON inquiry`` triggers (``INSERT … VALUES
        (new.…)`` bodies, e.g. keeping a full-text index in step) by the same statements run once
        per chunk as ``INSERT … SELECT … FROM inquiry AS new``. A trigger fired row by row into
        an FTS5 trigram index costs ~35 µs a row, the set-based insert ~7 µs. Triggers of any
        other shape stay and fire as usual, so the result is the same either way. Statements
        into an FTS5 table that is still empty run beside the load instead (``_SideIndex``)."""
        if self.dialect != "sqlite":
            return
        cur = self.dbapi.cursor()
        cur.execute("BEGIN IMMEDIATE")  # the drops and their journal rows, all or nothing
        cur.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'inquiry'"
        )
        side: dict[str, list[str]] = {}  # empty FTS5 table → its statements
        journal: list[tuple[str, str, str]] = []
        for name, ddl in cur.fetchall():
            statements = _set_based(ddl or "")
            if not statements:
                continue
            cur.execute("DROP TRIGGER " + _quoted(name))
            self.suspended.append(ddl)
            journal.append(("trigger", name, ddl))
            for sql in statements:
                target = _target(sql)
                if target is not None and _empty_fts5(cur, target):
                    side.setdefault(target, []).append(sql)
                else:
                    self.per_chunk.append(sql)
        path = _database_file(cur)
        if side and path:
            try:
                self.side = _SideIndex(path, cur, side)
            except (OSError, sqlite3.Error):  # e.g. no room for a scratch file: index here
                side_statements = [sql for statements in side.values() for sql in statements]
                self.per_chunk += side_statements
        elif side:
            self.per_chunk += [sql for statements in side.values() for sql in statements]
        if self.side is not None:  # killed before the copy: the real index must be rebuilt
            journal += [("rebuild", table, "") for table in self.side.statements]
        bulkload.record(self.dialect, cur, self.owner, journal)
        self.commit()
        cur.close()

    def clear_journal(self) -> None:
        """Everything the load took away is back: forget it (see ``bulkload``). PostgreSQL: the
        id sequence is moved past the ids the load wrote first (also after an error: the app's
        next inquiry would otherwise take an id that is already there)."""
        cur = self.dbapi.cursor()
        if self.dialect == "sqlite":
            cur.execute("BEGIN IMMEDIATE")
        else:
            cur.execute(_SYNC_SEQUENCE)
        bulkload.clear(self.dialect, cur, self.owner)
        self.commit()
        cur.close()

    def run_suspended(self, first_id: int, last_id: int) -> None:
        if not self.per_chunk:
            return
        cur = self.dbapi.cursor()
        for sql in self.per_chunk:
            cur.execute(sql, (first_id, last_id))
        cur.close()

    def restore_triggers(self) -> None:
        cur = self.dbapi.cursor()
        for ddl in self.suspended:
            cur.execute(ddl)
        cur.close()
        self.suspended = []
        self.per_chunk = []

    def copy_side(self) -> None:
        """Put the full-text indexes built beside the load into the database."""
        if self.side is None:
            return
        self.side.copy_into(self.dbapi)  # on an error, ``abandon_side`` indexes the rows here
        self.side.close()
        self.side = None

    def abandon_side(self) -> None:
        """After an error: drop the indexes built beside the load and index the rows that were
        committed on this connection instead."""
        if self.side is None:
            return
        side, self.side = self.side, None
        side.close()
        side.redo_on(self.dbapi)

    def suspend_rollup(self) -> None:
        """Drop the report-rollup triggers for a bulk load (row by row on SQLite they would cost
        more than the load itself); ``restore_rollup`` rebuilds the rollup set-based and puts
        them back. A load killed in between leaves them missing: ``rollup.repair`` (run at every
        start by ``bootstrap``) notices and rebuilds."""
        cur = self.dbapi.cursor()
        for statement in rollup.drop_trigger_ddl(self.dialect):
            cur.execute(statement)
        self.commit_ddl()
        cur.close()
        self.rollup_suspended = True

    def restore_rollup(self, day_rows: dict[str, list[tuple]] | None = None) -> None:
        """Rebuild the rollup and recreate its triggers: from ``day_rows`` (``_DayTally.tables``:
        the day rows of the rows just loaded, counted while generating them) plus the derivation
        of the coarser rows, or without them (after an error) entirely from ``inquiry``."""
        if not self.rollup_suspended:
            return
        cur = self.dbapi.cursor()
        if self.dialect == "sqlite":
            cur.execute("BEGIN IMMEDIATE")
        # IF EXISTS drops first: a start of the app during the load may have repaired them.
        for statement in rollup.drop_trigger_ddl(self.dialect):
            cur.execute(statement)
        if day_rows is None:
            for statement in rollup.rebuild_statements(self.dialect):
                cur.execute(statement)
        else:
            for table, rows in day_rows.items():
                self._upsert_day_rows(cur, table, rows)
            for statement in rollup.derive_statements(self.dialect):
                cur.execute(statement)
        for statement in rollup.trigger_ddl(self.dialect):
            cur.execute(statement)
        self.commit()
        cur.close()
        self.rollup_suspended = False

    def _upsert_day_rows(self, cur: Any, table: str, rows: list[tuple]) -> None:
        """Add day rows to ``table``: written straight in when it is empty (a first load: 3× faster
        on PostgreSQL than the upsert), otherwise through a temporary table and an upsert."""
        cols = rollup.DAY_COLUMNS[table]
        cur.execute("SELECT 1 FROM " + table + " LIMIT 1")
        empty = cur.fetchone() is None
        sqlite = self.dialect == "sqlite"
        if empty:
            target, rows = table + " (grain, " + ", ".join(cols) + ", n)", [("d", *r) for r in rows]
        else:
            target = "seed_" + table
            if sqlite:
                cur.execute("CREATE TEMP TABLE " + target + " (" + ", ".join(cols) + ", n)")
            else:
                types = {"period": "date", "hours": "integer"}
                columns = ", ".join(c + " " + types.get(c, "text") for c in cols)
                cur.execute(
                    "CREATE TEMP TABLE " + target + " (" + columns + ", n integer) ON COMMIT DROP"
                )
        if sqlite:
            marks = ", ".join("?" * len(rows[0])) if rows else ""
            if rows:
                cur.executemany("INSERT INTO " + target + " VALUES (" + marks + ")", rows)
        else:
            with cur.copy("COPY " + target + " FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        if not empty:
            cur.execute(rollup.day_upsert(table, target))
            if sqlite:
                cur.execute("DROP TABLE " + target)

    def commit_ddl(self) -> None:
        if self.dialect != "sqlite":
            self.dbapi.commit()

    def drop_indexes(self) -> None:
        """Drop the non-unique indexes of the inquiry tables (whichever migrations made them) to
        rebuild them once at the end: sorting a million keys once is several times faster than
        inserting them one by one. Unique indexes stay, so duplicates still fail at once.

        PostgreSQL: the foreign keys of the two tables go too and come back at the end, checked
        by one join each instead of a trigger per row (3× faster for the audit events).
        """
        cur = self.dbapi.cursor()
        journal: list[tuple[str, str, str]] = []  # (kind, name, the statement putting it back)
        if self.dialect == "sqlite":
            cur.execute("BEGIN IMMEDIATE")  # the drops and their journal rows, all or nothing
            cur.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                "AND tbl_name IN ('inquiry', 'inquiry_event') AND sql NOT LIKE 'CREATE UNIQUE%'"
            )
            indexes = cur.fetchall()
            constraints = []
        else:
            cur.execute(
                "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
                "JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE i.indrelid IN ('inquiry'::regclass, 'inquiry_event'::regclass) "
                "AND NOT i.indisunique AND NOT i.indisprimary"
            )
            indexes = cur.fetchall()
            cur.execute(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
                "FROM pg_constraint WHERE contype = 'f' "
                "AND conrelid IN ('inquiry'::regclass, 'inquiry_event'::regclass)"
            )
            constraints = cur.fetchall()
        self.dropped = [("DROP INDEX " + _quoted(name), ddl) for name, ddl in indexes]
        journal += [("index", name, ddl) for name, ddl in indexes]
        if self.dialect != "sqlite":  # COPY writes the ids: the sequence moves at the end
            journal.append(("sequence", "inquiry.id", _SYNC_SEQUENCE))
        for table, name, ddl in constraints:
            add = f"ALTER TABLE {table} ADD CONSTRAINT {_quoted(name)} {ddl}"
            self.dropped.append((f"ALTER TABLE {table} DROP CONSTRAINT {_quoted(name)}", add))
            journal.append(("constraint", name, add))
        for drop, _ in self.dropped:
            cur.execute(drop)
        bulkload.record(self.dialect, cur, self.owner, journal)
        self.commit()
        cur.close()

    def restore_indexes(self) -> None:
        if self.dialect != "sqlite":
            self.dbapi.commit()  # no lock of the load may stand in the other sessions' way
            indexes = [c for _, c in self.dropped if _CREATE_INDEX.match(c)]
            self._create_indexes_in_parallel(indexes)
        cur = self.dbapi.cursor()
        for _, create in self.dropped:
            if self.dialect == "sqlite":  # each index commits: a second call makes the rest
                cur.execute(_CREATE_INDEX.sub(r"\g<0>IF NOT EXISTS ", create, count=1))
            elif not _CREATE_INDEX.match(create):
                cur.execute(create)  # PostgreSQL: the foreign keys, once the indexes are there
        if self.dialect != "sqlite":
            self.dbapi.commit()
        cur.close()
        self.dropped = []

    def _create_indexes_in_parallel(self, statements: list[str]) -> None:
        """PostgreSQL: build the indexes in INDEX_SESSIONS sessions at once, each taking the next
        from a queue, the GIN trigram indexes first (the slowest, and single-threaded where
        PostgreSQL builds a B-tree with parallel workers). At 1M rows the 18 indexes took 28.7 s
        one after another and 17.9 s in two sessions. Each index is committed as it is made,
        with IF NOT EXISTS, so a second call after an error makes only the missing ones."""
        queue = [_CREATE_INDEX.sub(r"\g<0>IF NOT EXISTS ", c, count=1) for c in statements]
        queue.sort(key=lambda c: " USING gin " not in c)
        lock = threading.Lock()
        errors: list[BaseException] = []

        def work(dbapi: Any) -> None:
            cur = dbapi.cursor()
            try:
                while not errors:
                    with lock:
                        if not queue:
                            return
                        statement = queue.pop(0)
                    cur.execute(statement)
                    dbapi.commit()
            except BaseException as err:  # re-raised below, in the calling thread
                dbapi.rollback()
                errors.append(err)
            finally:
                cur.close()

        extra = []  # (pool connection, its DBAPI connection), detached: closed at the end
        try:
            for _ in range(INDEX_SESSIONS - 1):
                conn = self.engine.raw_connection()
                extra.append((conn, conn.driver_connection))
                conn.detach()  # the setting below must not leak into the pool
                with extra[-1][1].cursor() as cur:
                    cur.execute("SET maintenance_work_mem = '256MB'")
                extra[-1][1].commit()
            threads = [
                threading.Thread(target=work, args=(dbapi,), name="seed-index")
                for _, dbapi in extra
            ]
            for thread in threads:
                thread.start()
            work(self.dbapi)
            for thread in threads:
                thread.join()
        finally:
            for conn, _ in extra:
                conn.close()
        if errors:
            raise errors[0]

    def insert_inquiries(self, rows: list[tuple]) -> None:
        cols = ", ".join(INQUIRY_COLUMNS)
        if self.dialect == "sqlite":
            cur = self.dbapi.cursor()
            cur.execute("BEGIN IMMEDIATE")
            marks = ", ".join("?" * len(INQUIRY_COLUMNS))
            cur.executemany(f"INSERT INTO inquiry ({cols}) VALUES ({marks})", rows)
        else:
            cur = self.dbapi.cursor()
            text = "\n".join("\t".join(r"\N" if v is None else str(v) for v in row) for row in rows)
            with cur.copy(f"COPY inquiry ({cols}) FROM STDIN") as copy:
                copy.write(text + "\n")
        cur.close()

    def insert_events(self, first_id: int, last_id: int, fallback_actor: int | None) -> None:
        """The audit trail of inquiries ``first_id..last_id``, derived from their times in SQL:
        created, then submitted and completed where they happened."""
        sql = (
            "INSERT INTO inquiry_event "
            "(inquiry_id, actor_id, at, action, from_status, to_status, note) "
            "SELECT * FROM ("
            " SELECT id AS i, owner_id, created_at AS t, 'created', NULL, 'draft', ''"
            " FROM inquiry WHERE id BETWEEN {a} AND {b}"
            " UNION ALL SELECT id, owner_id, submitted_at, 'submitted', 'draft', 'submitted', ''"
            " FROM inquiry WHERE id BETWEEN {a} AND {b} AND submitted_at IS NOT NULL"
            " UNION ALL SELECT id, COALESCE(assignee_id, {actor}), completed_at, 'completed',"
            " 'submitted', 'completed', ''"
            " FROM inquiry WHERE id BETWEEN {a} AND {b} AND completed_at IS NOT NULL"
            ") AS ev ORDER BY i, t"
        )
        mark = "?" if self.dialect == "sqlite" else "%s"
        params = (first_id, last_id) * 3
        sql = sql.format(a=mark, b=mark, actor="NULL" if fallback_actor is None else mark)
        if fallback_actor is not None:
            params = params[:4] + (fallback_actor,) + params[4:]
        cur = self.dbapi.cursor()
        cur.execute(sql, params)
        cur.close()

    def rollback(self) -> None:
        """End an unfinished chunk (after an error); a no-op otherwise."""
        if self.dialect == "sqlite":
            if self.dbapi.in_transaction:
                self.dbapi.execute("ROLLBACK")
        else:
            self.dbapi.rollback()

    def commit(self) -> None:
        if self.dialect == "sqlite":
            self.dbapi.execute("COMMIT")
        else:
            self.dbapi.commit()

    def finish(self) -> None:
        cur = self.dbapi.cursor()
        if self.dialect == "sqlite":
            cur.execute("PRAGMA analysis_limit=1000")
            cur.execute("ANALYZE")
        else:
            cur.execute(_SYNC_SEQUENCE)
            self.dbapi.commit()
            # VACUUM, not only ANALYZE: it sets the visibility map, without which PostgreSQL
            # cannot count from an index alone (a status count took 350 ms instead of 5 ms).
            self.dbapi.autocommit = True
            cur.execute("VACUUM (ANALYZE) inquiry")
            cur.execute("VACUUM (ANALYZE) inquiry_event")
            for table in rollup.TABLES:  # rebuilt: statistics for the planner
                cur.execute("VACUUM (ANALYZE) " + table)
            self.dbapi.autocommit = False
        cur.close()

    def close(self) -> None:
        self.conn.close()


def seed(
    engine: Engine,
    *,
    rows: int,
    seed: int = 2026,
    end: datetime | None = None,
    progress: Callable[[int], None] | None = None,
    demo_owner_id: int | None = None,
    demo_company: str | None = None,
) -> int:
    """Add ``rows`` deterministic inquiries (plus their audit events). Returns rows added.

    The same ``seed`` and ``end`` give the same data. ``progress(n)`` is called after each chunk
    with the number of rows just inserted. ``demo_owner_id`` gets a handful of the inquiries.
    """
    if rows <= 0:
        return 0
    rng = random.Random(seed)
    end_ts = int((end or datetime.now(UTC)).timestamp())
    pools = _pools(seed)
    chains_by_province: dict[str, list] = {}
    for chain in regions.leaf_chains():
        prov, city, _ = chain
        # Half the companies carry a place name, e.g. 深圳 + 华为技术有限公司.
        place = regions.name(city or prov)[:-1][:4]
        chains_by_province.setdefault(prov, []).append((*chain, place, AREA_CODES.get(prov, "010")))
    provinces = sorted(chains_by_province)
    cum_weights = list(itertools.accumulate(PROVINCE_WEIGHTS.get(p, 1) for p in provinces))
    total_weight = cum_weights[-1]
    landline_formats = _landline_formats()
    with db.session_scope(engine) as session:
        owners = _ensure_owners(session, max(10, min(5000, rows // 200)), rng)
        handlers = session.exec(
            select(User.id)
            .where(User.role.in_([Role.staff.value, Role.manager.value]))
            .order_by(User.id)
        ).all()
        actor_id = handlers[0] if handlers else None
        created = _weekly_timestamps(rng, rows, end_ts)
        per_year: dict[int, int] = {}
        for t in created:
            year = datetime.fromtimestamp(t + SHANGHAI_OFFSET, UTC).year
            per_year[year] = per_year.get(year, 0) + 1
        serials: list[str] = []
        for year in sorted(per_year):
            serials += allocate_serials(session, year=year, count=per_year[year])
        first_id = session.execute(
            sa.select(sa.func.coalesce(sa.func.max(Inquiry.__table__.c.id), 0))
        ).scalar_one()

    companies, people, logins, domains = (
        pools["companies"],
        pools["people"],
        pools["logins"],
        pools["domains"],
    )
    n_companies, n_people, n_logins, n_domains = map(len, (companies, people, logins, domains))
    # COPY's text format is written without escaping, so the pools must not need any.
    for value in (*companies, *people, *logins, *domains, demo_company or ""):
        if any(ch in value for ch in "\t\n\r\\"):
            raise ValueError(f"seed text needs escaping: {value!r}")
    n_owners, n_handlers = len(owners), len(handlers)
    n_streets, n_prefixes, n_needs = len(STREETS), len(MOBILE_PREFIXES), len(OTHER_NEEDS)
    random_, lognorm, log30 = rng.random, rng.lognormvariate, math.log(30)
    demo_every = max(1, rows // 12) if demo_owner_id else 0
    text = _TimeText(engine.dialect.name)
    writer = _Writer(engine)
    done = 0

    def finish_chunk(chunk_first: int, count: int) -> None:
        writer.insert_events(chunk_first, chunk_first + count - 1, actor_id)
        writer.run_suspended(chunk_first, chunk_first + count - 1)
        writer.commit()
        if writer.side is not None:  # indexed beside, now that the rows are committed
            writer.side.submit(chunk_first, chunk_first + count - 1)
        if progress:
            progress(count)

    # The rows of a chunk are inserted by this thread; the set-based rest of the chunk (audit
    # events, the search index unless it is built beside, commit) runs in a second thread while
    # this one generates the next chunk: the driver releases the GIL for each of those
    # statements. The insert itself binds every row under the GIL, so beside the generator it
    # ran 3x slower (1.6 s vs 0.5 s per 100,000 rows on SQLite). The data stays deterministic:
    # only this thread draws numbers.
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="seed-writer")
    tally: _DayTally | None = None  # a bulk load counts the rollup's day rows itself
    pending: Future | None = None
    try:
        if first_id < rows:  # a bulk load: rebuild the secondary indexes once, at the end
            writer.drop_indexes()
            writer.suspend_insert_triggers()
            writer.relax_fts_merging()
            writer.suspend_rollup()
            tally = _DayTally()
        for chunk_start in range(0, rows, CHUNK):
            batch: list[tuple] = []
            append = batch.append
            chunk_first = first_id + chunk_start + 1
            for i in range(chunk_start, min(rows, chunk_start + CHUNK)):
                created_at = created[i]
                age_days = (end_ts - created_at) / DAY
                province = provinces[bisect.bisect(cum_weights, random_() * total_weight)]
                chains = chains_by_province[province]
                prov, city, dist, place, area = chains[int(random_() * len(chains))]
                r = random_()
                intent = "insure" if r < 0.6 else "buyer_credit" if r < 0.9 else "other"
                owner = owners[int(random_() * n_owners)]
                is_demo = bool(demo_every) and i % demo_every == demo_every - 1
                if is_demo:
                    owner = demo_owner_id
                # Status: a few drafts are never submitted; older inquiries are mostly completed.
                submitted_at = completed_at = None
                status = "draft"
                if random_() > 0.03:
                    submitted_at = created_at + 60 * (1 + int(random_() * 239))
                    status = "submitted"
                    done_p = 0.97 if age_days > 14 else 0.6 if age_days > 3 else 0.25
                    if random_() < done_p:
                        hours = min(24 * 30, lognorm(log30, 0.9))
                        completed_at = submitted_at + int(hours * 3600)
                        if completed_at < end_ts:
                            status = "completed"
                        else:
                            completed_at = None
                    if submitted_at > end_ts:
                        submitted_at, status, completed_at = None, "draft", None
                if tally is not None and status != "draft":
                    day = (submitted_at + SHANGHAI_OFFSET) // DAY
                    key = (day, prov, intent, status)
                    tally.count[key] = tally.count.get(key, 0) + 1
                    key = (day, prov, city or "", intent)
                    tally.city[key] = tally.city.get(key, 0) + 1
                    if status == "completed":
                        bucket = rollup.hour_bucket((completed_at - submitted_at) // 3600)
                        key = (day, prov, intent, bucket)
                        tally.hours[key] = tally.hours.get(key, 0) + 1
                company = companies[int(random_() * n_companies)]
                if random_() < 0.5:
                    company = place + company
                if is_demo and demo_company:
                    company = demo_company
                formats = landline_formats[area]
                prefix, length = formats[int(random_() * len(formats))]
                assignee = (
                    handlers[int(random_() * n_handlers)]
                    if n_handlers and status != "draft" and random_() < 0.7
                    else None
                )
                created_text = text(created_at)
                submitted_text = text(submitted_at)
                completed_text = text(completed_at)
                append(
                    (
                        first_id + i + 1,
                        serials[i],
                        company,
                        prov,
                        city,
                        dist,
                        f"{STREETS[int(random_() * n_streets)]}{1 + int(random_() * 998)}号",
                        people[int(random_() * n_people)],
                        f"{MOBILE_PREFIXES[int(random_() * n_prefixes)]}"
                        f"{int(random_() * 100_000_000):08d}",
                        f"{area}-{prefix}{int(random_() * 10**length):0{length}d}",
                        f"{logins[int(random_() * n_logins)]}{int(random_() * 100)}"
                        f"@{domains[int(random_() * n_domains)]}",
                        intent,
                        OTHER_NEEDS[int(random_() * n_needs)] if intent == "other" else None,
                        status,
                        owner,
                        assignee,
                        created_text,
                        submitted_text,
                        completed_text,
                        completed_text or submitted_text or created_text,  # updated_at
                        1 + (status != "draft") + (status == "completed"),
                    )
                )
            if pending is not None:
                pending.result()
            writer.insert_inquiries(batch)
            pending = pool.submit(finish_chunk, chunk_first, len(batch))
            done += len(batch)
        if pending is not None:
            pending.result()
            pending = None
        # The rollup's day rows are made (in Python) and the full-text indexes finished (beside,
        # see _SideIndex) on the other core while this connection rebuilds the indexes.
        day_rows = pool.submit(tally.tables) if tally is not None else None
        writer.restore_indexes()
        writer.restore_rollup(day_rows.result() if day_rows is not None else None)
        writer.copy_side()
        writer.restore_triggers()
        writer.restore_fts_merging()
        writer.finish()
    finally:
        if pending is not None:
            pending.exception()  # let the writer stop before the connection goes
        pool.shutdown()
        try:
            writer.rollback()
            writer.restore_indexes()
            writer.abandon_side()
            writer.restore_triggers()
            writer.restore_fts_merging()
            writer.restore_rollup()  # the chunks committed before the error count too
            writer.clear_journal()
        finally:
            writer.close()
    return done


def create_demo_accounts(engine: Engine) -> dict[str, User]:
    """The demo accounts of DESIGN.md (password ``demo-pass-2026``), created if missing."""
    out: dict[str, User] = {}
    with db.session_scope(engine) as session:
        for username, role, display, company in DEMO_ACCOUNTS + tuple(
            (u, Role.staff, d, None) for u, d in EXTRA_STAFF
        ):
            user = accounts.get_by_username(session, username)
            if user is None:
                user = accounts.create_user(
                    session,
                    username=username,
                    password=DEMO_PASSWORD,
                    role=role.value,
                    display_name=display,
                    company_name=company,
                    check_password=False,
                )
            out[username] = user
    return out


def ensure_demo(engine: Engine, *, rows: int, seed_value: int = 2026) -> bool:
    """Fill an empty database with the demo accounts and ``rows`` demo inquiries.

    Returns True when it seeded, False when the database already held data.
    """
    if not db.is_empty(engine):
        return False
    users = create_demo_accounts(engine)
    seed(
        engine,
        rows=rows,
        seed=seed_value,
        demo_owner_id=users["company"].id,
        demo_company=users["company"].company_name,
    )
    return True
