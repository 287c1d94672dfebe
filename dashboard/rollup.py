"""The report rollup: counts of inquiries kept exact on every write, so that each section of the
report page (统计报表) reads a few thousand rows instead of a million.

Three tables (migration ``0003_report_rollup``), all keyed by a *grain* and a *period*, the first
Asia/Shanghai day of a day (``d``), Monday week (``w``) or month (``m``) of ``submitted_at``:

- ``report_count``: (grain d/w/m, period, province_code, intent, status) → n, for the two counted
  statuses (已提交, 已完成; drafts never count). ``province_code = '*'`` rows hold the whole
  country, so an unfiltered page never sums over provinces.
- ``report_city``: (grain d/m, period, province_code, city_code, intent) → n, both statuses
  together: the 按地区 drill-down into one province. ``city_code = ''`` for a province without
  cities (香港, 澳门).
- ``report_hours``: (grain d/m, period, province_code or '*', intent, hours) → n for completed
  inquiries, ``hours`` = the first hour of the bucket (``HOUR_STEPS``) of the whole hours from
  submission to completion (whole seconds, truncated): the completion-time histogram (exact)
  and the median (within its bucket: within one hour when it is under three days).

A period of days is answered as whole months (or weeks) from the coarse grain plus the days at
its edges from ``d``: at most ~60 day rows per key, whatever the length of the period.

Exactness: triggers on ``inquiry`` apply every insert, update and delete to the three tables in
the same transaction. SQLite: row triggers, each a handful of upserts; completing an inquiry
(submitted → completed, nothing else the rollup counts by changing) has a trigger of its own,
two upserts of literal rows, and the general update trigger leaves it alone. PostgreSQL: statement
triggers with transition tables, so a bulk completion is one aggregated upsert per table, applied
in key order (the app changes counted columns with one statement per transaction, so concurrent
writers lock rollup rows in the same order and do not deadlock on them).
Rows whose count drops to 0 stay (harmless to the sums). ``rebuild`` recomputes everything from
``inquiry`` (the migration, ``repair`` and ``python -m dashboard rebuild-rollup`` use it; the bulk
seeder counts the day rows itself and runs ``derive_statements``); tests/test_rollup.py checks
the tables against an independent count after random writes.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

ALL = "*"  # province_code of the whole-country rows
TABLES = ("report_count", "report_city", "report_hours")
TRIGGERS = ("report_rollup_ai", "report_rollup_au", "report_rollup_ad")
#: SQLite only: completing an inquiry (submitted → completed, nothing else it is counted by
#: changes), the one update triage makes hundreds of times a day, with flat upserts.
COMPLETE_TRIGGER = "report_rollup_au_complete"
#: Columns whose change can move an inquiry between rollup rows: what the update trigger
#: watches and what a delta source provides (plus ``d``, +1 or -1).
WATCHED = ("status", "submitted_at", "completed_at", "intent", "province_code", "city_code")


# ---------------------------------------------------------------------------------------------
# Dialect expressions (Shanghai has had no daylight saving since 1991: a fixed +8 hours)


def day_of(dialect: str, ts: str) -> str:
    """The Asia/Shanghai calendar day of a stored UTC time."""
    if dialect == "sqlite":
        return "date(" + ts + ", '+8 hours')"
    return "CAST(timezone('Asia/Shanghai', " + ts + ") AS date)"


def week_of(dialect: str, day: str) -> str:
    """The Monday of the week of a day."""
    if dialect == "sqlite":
        return "date(" + day + ", 'weekday 0', '-6 days')"
    return "CAST(date_trunc('week', CAST(" + day + " AS timestamp)) AS date)"


def month_of(dialect: str, day: str) -> str:
    """The first day of the month of a day."""
    if dialect == "sqlite":
        return "strftime('%Y-%m-01', " + day + ")"
    return "CAST(date_trunc('month', CAST(" + day + " AS timestamp)) AS date)"


def hours_between(dialect: str, start: str, end: str) -> str:
    """Whole hours from ``start`` to ``end``, counted in whole seconds (the same on both)."""
    if dialect == "sqlite":
        secs = "CAST(strftime('%s', {}) AS INTEGER)"
    else:
        secs = "CAST(floor(extract(epoch FROM {})) AS bigint)"
    return "((" + secs.format(end) + " - " + secs.format(start) + ") / 3600)"


#: report_hours buckets, as (first hour, width): whole hours for the first three days, then 6
#: hours to a week, a day to 30 days, a week beyond. Every bound of the report's histogram
#: (4, 24, 48, 72, 168 h) is a bucket bound, so the histogram stays exact; the long tail no
#: longer multiplies the rows (all time at 1M inquiries: 1,120 distinct hours → ~110 buckets).
HOUR_STEPS = ((0, 1), (72, 6), (168, 24), (720, 168))


def hour_bucket(hours: int) -> int:
    """The first hour of the bucket holding ``hours`` (whole hours, as stored)."""
    start, width = HOUR_STEPS[0]
    for step_start, step_width in HOUR_STEPS:
        if hours >= step_start:
            start, width = step_start, step_width
    return hours if width == 1 else start + (hours - start) // width * width


def bucket_width(bucket: int) -> int:
    width = 1
    for step_start, step_width in HOUR_STEPS:
        if bucket >= step_start:
            width = step_width
    return width


def hour_bucket_sql(h: str) -> str:
    """``hour_bucket`` in SQL over a non-negative whole-hours expression ``h``."""
    parts = []
    for i, (start, width) in enumerate(HOUR_STEPS):
        value = h
        if width > 1:
            first, step = str(start), str(width)
            value = first + " + (" + h + " - " + first + ") / " + step + " * " + step
        if i + 1 < len(HOUR_STEPS):
            parts.append("WHEN " + h + " < " + str(HOUR_STEPS[i + 1][0]) + " THEN " + value)
        else:
            parts.append("ELSE " + value)
    return "CASE " + " ".join(parts) + " END"


def _grains(*grains: str) -> str:
    return "(" + " UNION ALL ".join("SELECT '" + g + "' AS grain" for g in grains) + ")"


def _period(dialect: str, day: str, grains: tuple[str, ...]) -> str:
    parts = {"d": day, "w": week_of(dialect, day), "m": month_of(dialect, day)}
    whens = " ".join("WHEN '" + g + "' THEN " + parts[g] for g in grains[:-1])
    return "CASE g.grain " + whens + " ELSE " + parts[grains[-1]] + " END"


#: The primary key of each table (migration 0003_report_rollup): rows written in this order go
#: in at the end of the key's B-tree instead of all over it (the bulk seeder's 1.1 M day rows at a
#: million inquiries: 2.8 s in the order they are counted, 2.0 s in key order).
KEY_COLUMNS = {
    "report_count": ("grain", "period", "province_code", "intent", "status"),
    "report_city": ("grain", "province_code", "period", "city_code", "intent"),
    "report_hours": ("grain", "province_code", "period", "intent", "hours"),
}


def _add_on_conflict(table: str) -> str:
    """The end of an upsert into ``table`` that adds ``n`` to the row already there."""
    return (
        " ON CONFLICT (" + ", ".join(KEY_COLUMNS[table]) + ") "
        "DO UPDATE SET n = " + table + ".n + excluded.n"
    )


_WHOLE = "(SELECT 0 AS whole UNION ALL SELECT 1)"
_PROVINCE = "CASE WHEN a.whole = 1 THEN '" + ALL + "' ELSE x.province_code END"
_COUNTED_SQL = "('submitted', 'completed')"


def delta_statements(dialect: str, source: str) -> list[str]:
    """Upserts that add a delta to the three tables. ``source`` is a relation (a table name or a
    parenthesised query) with the ``WATCHED`` columns and ``d``: +1 for a row that now counts, -1 for
    a row that no longer does (the old image of an update or a delete)."""
    day = day_of(dialect, "s.submitted_at")
    counted = (
        "FROM " + source + " AS s WHERE s.status IN " + _COUNTED_SQL + " AND s.submitted_at IS NOT "
        "NULL"
    )
    grains_dwm, grains_dm = ("d", "w", "m"), ("d", "m")
    count = (
        "INSERT INTO report_count (grain, period, province_code, intent, status, n) "
        "SELECT g.grain, " + _period(dialect, "x.day", grains_dwm) + ", " + _PROVINCE + ", "
        "x.intent, x.status, SUM(x.d) "
        "FROM (SELECT "
        + day
        + " AS day, s.province_code, s.intent, s.status, s.d "
        + counted
        + ") AS x CROSS JOIN "
        + _grains(*grains_dwm)
        + " AS g CROSS JOIN "
        + _WHOLE
        + " AS a "
        "GROUP BY 1, 2, 3, 4, 5 HAVING SUM(x.d) <> 0 ORDER BY 1, 2, 3, 4, 5"
        + _add_on_conflict("report_count")
    )
    city = (
        "INSERT INTO report_city (grain, period, province_code, city_code, intent, n) "
        "SELECT g.grain, " + _period(dialect, "x.day", grains_dm) + ", x.province_code, "
        "x.city_code, x.intent, SUM(x.d) "
        "FROM (SELECT " + day + " AS day, s.province_code, COALESCE(s.city_code, '') AS "
        "city_code, s.intent, s.d "
        + counted
        + ") AS x CROSS JOIN "
        + _grains(*grains_dm)
        + " AS g "
        "GROUP BY 1, 2, 3, 4, 5 HAVING SUM(x.d) <> 0 ORDER BY 1, 2, 3, 4, 5"
        + _add_on_conflict("report_city")
    )
    hours = (
        "INSERT INTO report_hours (grain, period, province_code, intent, hours, n) "
        "SELECT g.grain, " + _period(dialect, "x.day", grains_dm) + ", " + _PROVINCE + ", "
        "x.intent, " + hour_bucket_sql("x.h") + ", SUM(x.d) "
        "FROM (SELECT "
        + day
        + " AS day, s.province_code, s.intent, "
        + hours_between(dialect, "s.submitted_at", "s.completed_at")
        + " AS h, s.d "
        + counted
        + " AND s.status = 'completed' AND s.completed_at IS NOT NULL) AS x CROSS JOIN "
        + _grains(*grains_dm)
        + " AS g CROSS JOIN "
        + _WHOLE
        + " AS a "
        "GROUP BY 1, 2, 3, 4, 5 HAVING SUM(x.d) <> 0 ORDER BY 1, 2, 3, 4, 5"
        + _add_on_conflict("report_hours")
    )
    return [count, city, hours]


# ---------------------------------------------------------------------------------------------
# Triggers


def _image(prefix: str, d: int) -> str:
    cols = ", ".join(prefix + "." + c + " AS " + c for c in WATCHED)
    return "SELECT " + cols + ", " + str(d) + " AS d"


def _rows(table: str, d: int) -> str:
    return "SELECT " + ", ".join(WATCHED) + ", " + str(d) + " AS d FROM " + table


def trigger_names(dialect: str) -> tuple[str, ...]:
    """The rollup's triggers on ``inquiry`` in a database of ``dialect``."""
    return TRIGGERS + ((COMPLETE_TRIGGER,) if dialect == "sqlite" else ())


#: SQLite: an update that only completes a submitted inquiry. Its count rows move from 已提交
#: to 已完成 and it enters the completion-time histogram; its 按地区 rows stay as they are.
_COMPLETING = (
    "COALESCE(old.status = 'submitted' AND new.status = 'completed' "
    "AND new.submitted_at IS NOT NULL AND new.completed_at IS NOT NULL "
    "AND new.submitted_at IS old.submitted_at AND new.intent IS old.intent "
    "AND new.province_code IS old.province_code AND new.city_code IS old.city_code, 0)"
)


def _completion_statements() -> list[str]:
    """The body of COMPLETE_TRIGGER: what ``delta_statements`` adds for such an update, written
    out row by row (-1 已提交 and +1 已完成 at each grain, for the province and the whole
    country; +1 in the completion-time histogram), as two upserts of literal rows instead of
    three grouped queries over the row's old and new images. At a million rows the UPDATE of
    100 completions took 18 ms with the general trigger and takes 13 ms with this one (5.9 ms
    without any rollup trigger); tests/test_rollup.py checks both against a fresh count."""
    day = day_of("sqlite", "new.submitted_at")
    periods = {"d": day, "w": week_of("sqlite", day), "m": month_of("sqlite", day)}
    provinces = ("new.province_code", "'" + ALL + "'")
    count_rows = [
        "('" + g + "', " + periods[g] + ", " + p + ", new.intent, '" + status + "', " + d + ")"
        for status, d in (("submitted", "-1"), ("completed", "1"))
        for g in ("d", "w", "m")
        for p in provinces
    ]
    bucket = hour_bucket_sql(hours_between("sqlite", "new.submitted_at", "new.completed_at"))
    hours_rows = [
        "('" + g + "', " + periods[g] + ", " + p + ", new.intent, " + bucket + ", 1)"
        for g in ("d", "m")
        for p in provinces
    ]
    return [
        "INSERT INTO report_count (grain, period, province_code, intent, status, n) VALUES "
        + ", ".join(count_rows)
        + _add_on_conflict("report_count"),
        "INSERT INTO report_hours (grain, period, province_code, intent, hours, n) VALUES "
        + ", ".join(hours_rows)
        + _add_on_conflict("report_hours"),
    ]


def trigger_ddl(dialect: str) -> list[str]:
    """CREATE statements of the triggers (and on PostgreSQL their functions)."""
    if dialect == "sqlite":
        when_new = "new.status IN " + _COUNTED_SQL
        when_old = "old.status IN " + _COUNTED_SQL
        update = "AFTER UPDATE OF " + ", ".join(WATCHED)
        specs = [
            ("report_rollup_ai", "AFTER INSERT", when_new, "(" + _image("new", 1) + ")"),
            (
                "report_rollup_au",
                update,
                "(" + when_old + " OR " + when_new + ") AND NOT " + _COMPLETING,
                "(" + _image("old", -1) + " UNION ALL " + _image("new", 1) + ")",
            ),
            ("report_rollup_ad", "AFTER DELETE", when_old, "(" + _image("old", -1) + ")"),
            (COMPLETE_TRIGGER, update, _COMPLETING, None),
        ]
        out = []
        for name, event, when, source in specs:
            statements = delta_statements(dialect, source) if source else _completion_statements()
            body = ";\n  ".join(statements)
            out.append(
                "CREATE TRIGGER "
                + name
                + " "
                + event
                + " ON inquiry FOR EACH ROW WHEN "
                + when
                + " BEGIN\n  "
                + body
                + ";\nEND"
            )
        return out
    specs = [
        ("report_rollup_ai", "INSERT", "REFERENCING NEW TABLE AS new_rows", _rows("new_rows", 1)),
        (
            "report_rollup_au",
            "UPDATE",
            "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
            _rows("old_rows", -1) + " UNION ALL " + _rows("new_rows", 1),
        ),
        ("report_rollup_ad", "DELETE", "REFERENCING OLD TABLE AS old_rows", _rows("old_rows", -1)),
    ]
    out = []
    for name, event, referencing, source in specs:
        body = ";\n  ".join(delta_statements(dialect, "(" + source + ")"))
        out.append(
            "CREATE FUNCTION "
            + name
            + "_fn() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  "
            + body
            + ";\n  RETURN NULL;\nEND\n$$"
        )
        out.append(
            "CREATE TRIGGER "
            + name
            + " AFTER "
            + event
            + " ON inquiry "
            + referencing
            + " FOR EACH STATEMENT EXECUTE FUNCTION "
            + name
            + "_fn()"
        )
    return out


def drop_trigger_ddl(dialect: str) -> list[str]:
    if dialect == "sqlite":
        return ["DROP TRIGGER IF EXISTS " + name for name in trigger_names(dialect)]
    out = []
    for name in TRIGGERS:
        out.append("DROP TRIGGER IF EXISTS " + name + " ON inquiry")
        out.append("DROP FUNCTION IF EXISTS " + name + "_fn()")
    return out


def missing_triggers(conn: Connection) -> list[str]:
    """Rollup triggers absent from the database (e.g. after a bulk load that was killed)."""
    if conn.dialect.name == "sqlite":
        sql = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'inquiry'"
    else:
        sql = (
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'inquiry'::regclass "
            "AND NOT tgisinternal AND tgenabled <> 'D'"
        )
    present = set(conn.exec_driver_sql(sql).scalars())
    return [t for t in trigger_names(conn.dialect.name) if t not in present]


# ---------------------------------------------------------------------------------------------
# Rebuild: the whole rollup from ``inquiry``, set-based and staged (the provinces' day rows
# first, then weeks, months and the whole country from them). Written independently of the
# trigger statements; the bulk seeder counts the day rows itself and runs only the derivation.


#: The day rows every other row is derived from: table → the columns besides grain and n.
DAY_COLUMNS = {
    "report_count": ("period", "province_code", "intent", "status"),
    "report_city": ("period", "province_code", "city_code", "intent"),
    "report_hours": ("period", "province_code", "intent", "hours"),
}


def day_statements(dialect: str) -> list[str]:
    """Empty the three tables and count the day rows of every province from ``inquiry``."""
    day = day_of(dialect, "submitted_at")
    counted = "FROM inquiry WHERE status IN " + _COUNTED_SQL + " AND submitted_at IS NOT NULL"
    hours = hours_between(dialect, "submitted_at", "completed_at")
    return [
        "DELETE FROM report_count",
        "DELETE FROM report_city",
        "DELETE FROM report_hours",
        "INSERT INTO report_count (grain, period, province_code, intent, status, n) "
        "SELECT 'd', " + day + ", province_code, intent, status, COUNT(*) " + counted + " "
        "GROUP BY 2, 3, 4, 5",
        "INSERT INTO report_city (grain, period, province_code, city_code, intent, n) "
        "SELECT 'd', "
        + day
        + ", province_code, COALESCE(city_code, ''), intent, COUNT(*) "
        + counted
        + " GROUP BY 2, 3, 4, 5",
        "INSERT INTO report_hours (grain, period, province_code, intent, hours, n) "
        "SELECT 'd', day, province_code, intent, " + hour_bucket_sql("h") + ", COUNT(*) "
        "FROM (SELECT "
        + day
        + " AS day, province_code, intent, "
        + hours
        + " AS h "
        + counted
        + " AND status = 'completed' AND completed_at IS NOT NULL) AS c GROUP BY 2, 3, 4, 5",
    ]


def day_upsert(table: str, source: str) -> str:
    """Add day rows of provinces from ``source`` (a table with ``DAY_COLUMNS[table]`` and n)."""
    cols = ", ".join(DAY_COLUMNS[table])
    return (
        "INSERT INTO "
        + table
        + " (grain, "
        + cols
        + ", n) SELECT 'd', "
        + cols
        + ", n FROM "
        + source
        + " WHERE true"
        + _add_on_conflict(table)
    )


def derive_statements(dialect: str) -> list[str]:
    """Recompute the week, month and whole-country rows from the provinces' day rows."""
    week, month = week_of(dialect, "period"), month_of(dialect, "period")
    return [
        "DELETE FROM report_count WHERE grain <> 'd' OR province_code = '" + ALL + "'",
        "DELETE FROM report_city WHERE grain <> 'd'",
        "DELETE FROM report_hours WHERE grain <> 'd' OR province_code = '" + ALL + "'",
        "INSERT INTO report_count (grain, period, province_code, intent, status, n) "
        "SELECT 'w', " + week + ", province_code, intent, status, SUM(n) FROM report_count "
        "WHERE grain = 'd' GROUP BY 2, 3, 4, 5",
        "INSERT INTO report_count (grain, period, province_code, intent, status, n) "
        "SELECT 'm', " + month + ", province_code, intent, status, SUM(n) FROM report_count "
        "WHERE grain = 'd' GROUP BY 2, 3, 4, 5",
        "INSERT INTO report_count (grain, period, province_code, intent, status, n) "
        "SELECT grain, period, '" + ALL + "', intent, status, SUM(n) FROM report_count "
        "GROUP BY grain, period, intent, status",
        "INSERT INTO report_city (grain, period, province_code, city_code, intent, n) "
        "SELECT 'm', " + month + ", province_code, city_code, intent, SUM(n) FROM report_city "
        "WHERE grain = 'd' GROUP BY 2, 3, 4, 5",
        "INSERT INTO report_hours (grain, period, province_code, intent, hours, n) "
        "SELECT 'm', " + month + ", province_code, intent, hours, SUM(n) FROM report_hours "
        "WHERE grain = 'd' GROUP BY 2, 3, 4, 5",
        "INSERT INTO report_hours (grain, period, province_code, intent, hours, n) "
        "SELECT grain, period, '" + ALL + "', intent, hours, SUM(n) FROM report_hours "
        "GROUP BY grain, period, intent, hours",
    ]


def rebuild_statements(dialect: str) -> list[str]:
    return day_statements(dialect) + derive_statements(dialect)


def rebuild(conn: Connection) -> None:
    """Recompute the three tables from ``inquiry`` inside the caller's transaction."""
    for statement in rebuild_statements(conn.dialect.name):
        conn.exec_driver_sql(statement)


def create_triggers(conn: Connection) -> None:
    for statement in trigger_ddl(conn.dialect.name):
        conn.exec_driver_sql(statement)


def drop_triggers(conn: Connection) -> None:
    for statement in drop_trigger_ddl(conn.dialect.name):
        conn.exec_driver_sql(statement)


def repair(conn: Connection) -> bool:
    """Recreate missing triggers and rebuild the tables; True if anything was missing. A bulk
    load drops the triggers and rebuilds at its end: a load killed half-way leaves them missing,
    and this puts the rollup right at the next start."""
    if not missing_triggers(conn):
        return False
    reset(conn)
    return True


def reset(conn: Connection) -> None:
    """Recreate the triggers and recompute the tables (``python -m dashboard rebuild-rollup``)."""
    drop_triggers(conn)
    create_triggers(conn)
    rebuild(conn)
