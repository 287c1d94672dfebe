"""The SQL made from the rollup's description (``dashboard.rollup``: ``DIMENSIONS``, ``ROLLUPS``):
the triggers of both dialects and how to tell whether the database holds them, the rebuild
(``day_statements`` + ``derive_statements``) and the bulk seeder's ``day_upsert``. Each kind of
statement comes from one SQL template below. Last, what runs them on a connection: ``rebuild``,
``create_triggers``, ``drop_triggers``, ``reset`` and ``repair`` (run by ``db.migrate``).
``dashboard.rollup`` re-exports the functions (looked up on use: this module imports it, never
the other way round at import, so either can be imported first).

The description is read when a statement is made, never copied at import: ``rollup.ROLLUPS`` is
looked up on the module (tests/test_rollup.py adds a table to it, as an engineer would).
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

from dashboard import dialect as dialects
from dashboard import rollup
from dashboard.rollup import (
    ALL,
    COMPLETE_TRIGGER,
    COUNTED,
    DIMENSIONS,
    PREFIX,
    TRIGGERS,
    Rollup,
    watched,
)

# ---------------------------------------------------------------------------------------------
# The SQL templates, filled in by ``_sql`` (with the fields of ``_parts`` for the counting ones)

#: A delta from ``source`` (+1/-1 rows in ``d``) added at every grain (and for the whole country).
_DELTA = (
    "INSERT INTO {table} ({columns}, n) "
    "SELECT g.grain, {period}, {outer}, SUM(x.d) "
    "FROM (SELECT {day} AS day, {inner}, s.d FROM {source} AS s WHERE {counted}) AS x "
    "CROSS JOIN ({grains}) AS g{whole} "
    "GROUP BY 1, {positions} HAVING SUM(x.d) <> 0 ORDER BY 1, {positions}"
    " ON CONFLICT ({key}) DO UPDATE SET n = {table}.n + excluded.n"
)
_WHOLE = " CROSS JOIN (SELECT 0 AS whole UNION ALL SELECT 1) AS a"
#: SQLite, COMPLETE_TRIGGER: rows of literals added.
_LITERAL = (
    "INSERT INTO {table} ({columns}, n) VALUES {rows}"
    " ON CONFLICT ({key}) DO UPDATE SET n = {table}.n + excluded.n"
)
#: Day rows of provinces counted from ``inquiry`` (in a subquery when a value is bucketed).
_DAY = (
    "INSERT INTO {table} ({columns}, n) "
    "SELECT 'd', {day}, {values}, COUNT(*) FROM inquiry WHERE {counted} GROUP BY {positions}"
)
_DAY_BUCKETED = (
    "INSERT INTO {table} ({columns}, n) SELECT 'd', day, {outer}, COUNT(*) "
    "FROM (SELECT {day} AS day, {inner} FROM inquiry WHERE {counted}) AS c GROUP BY {positions}"
)
#: Day rows of provinces added from a table of them (the bulk seeder's).
_DAY_UPSERT = (
    "INSERT INTO {table} ({columns}, n) SELECT 'd', {day_columns}, n FROM {source} WHERE true"
    " ON CONFLICT ({key}) DO UPDATE SET n = {table}.n + excluded.n"
)
#: Week or month rows, and the whole country's, summed from the provinces' day rows.
_COARSER = (
    "INSERT INTO {table} ({columns}, n) SELECT '{grain}', {period}, {dimensions}, SUM(n) "
    "FROM {table} WHERE grain = 'd' GROUP BY {positions}"
)
_COUNTRY = (
    "INSERT INTO {table} ({columns}, n) SELECT grain, period, {dimensions}, SUM(n) "
    "FROM {table} GROUP BY grain, period, {others}"
)
#: SQLite: an update that only completes a submitted inquiry: nothing else watched changes.
_COMPLETING = (
    "COALESCE(old.status = 'submitted' AND new.status = 'completed' "
    "AND new.submitted_at IS NOT NULL AND new.completed_at IS NOT NULL AND {unchanged}, 0)"
)
_SQLITE_TRIGGER = (
    "CREATE TRIGGER {name} {event} ON inquiry FOR EACH ROW WHEN {when} BEGIN\n  {body};\nEND"
)
_PG_FUNCTION = "CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $${source}$$"
_PG_SOURCE = "\nBEGIN\n  {body};\n  RETURN NULL;\nEND\n"
_PG_TRIGGER = (
    "CREATE TRIGGER {name} AFTER {event} ON inquiry REFERENCING {tables} "
    "FOR EACH STATEMENT EXECUTE FUNCTION {name}_fn()"
)
_COUNTED_SQL = "(" + ", ".join(f"'{s}'" for s in COUNTED) + ")"


def _sql(template: str, r: Rollup, **fields: object) -> str:
    """``template`` for ``r``: its table, columns (besides n), key, the positions of period and
    the dimensions in a select list (grain is 1), and ``fields``."""
    positions = ", ".join(str(i) for i in range(2, len(r.columns) + 1))
    key, columns = ", ".join(r.key), ", ".join(r.columns)
    return template.format(table=r.table, columns=columns, key=key, positions=positions, **fields)


def _value(dialect: str, name: str, row: dict[str, str], *, bucketed: bool = False) -> str:
    """The SQL of dimension ``name`` for ``row`` (watched column → its SQL: ``s.intent``...)."""
    dim = DIMENSIONS[name]
    hours = dialects.hours_between(dialect, row["submitted_at"], row["completed_at"])
    value = dim.sql.format_map({**row, "hours": hours})
    return dim.bucket(value) if bucketed and dim.bucket else value


def _parts(
    dialect: str, r: Rollup, prefix: str, outer: str = "", *, country: bool = False
) -> dict[str, object]:
    """The fields of the counting templates for ``r``, over inquiry columns ``prefix + column``
    and, outside the subquery, ``outer + name`` (deltas: ``s.``, ``x.``; ``country``: with the
    whole country's rows, where ``a.whole = 1``)."""
    row = {c: prefix + c for c in watched()}
    inner, outside = [], []
    for name in r.dimensions:
        dim, value = DIMENSIONS[name], _value(dialect, name, row)
        alias = dim.unbucketed or name  # a bucketed value is computed once, then bucketed
        inner.append(value if value == row.get(alias) else f"{value} AS {alias}")
        if dim.bucket:
            outside.append(dim.bucket(outer + alias))
        elif country and name == "province_code":
            outside.append(f"CASE WHEN a.whole = 1 THEN '{ALL}' ELSE {outer}{name} END")
        else:
            outside.append(outer + name)
    counted = f"{row['status']} IN {_COUNTED_SQL} AND {row['submitted_at']} IS NOT NULL"
    if r.completed_only:
        counted += f" AND {row['status']} = 'completed' AND {row['completed_at']} IS NOT NULL"
    whens = [f"WHEN '{g}' THEN {dialects.period_of(dialect, g, 'x.day')}" for g in r.grains[:-1]]
    last = dialects.period_of(dialect, r.grains[-1], "x.day")
    return {
        "day": dialects.day_of(dialect, row["submitted_at"]),
        "values": ", ".join(_value(dialect, name, row) for name in r.dimensions),
        "inner": ", ".join(inner),
        "outer": ", ".join(outside),
        "counted": counted,
        "period": "CASE g.grain " + " ".join(whens) + f" ELSE {last} END",
        "grains": " UNION ALL ".join(f"SELECT '{g}' AS grain" for g in r.grains),
        "whole": _WHOLE if r.whole_country else "",
    }


# ---------------------------------------------------------------------------------------------
# Deltas: what the triggers add


def delta_statements(dialect: str, source: str) -> list[str]:
    """Upserts that add a delta to every table. ``source`` is a relation (a table name or a
    parenthesised query) with the ``watched()`` columns and ``d``: +1 for a row that now counts,
    -1 for a row that no longer does (the old image of an update or a delete)."""
    return [
        _sql(_DELTA, r, source=source, **_parts(dialect, r, "s.", "x.", country=r.whole_country))
        for r in rollup.ROLLUPS
    ]


def _completion_statements() -> list[str]:
    """The body of COMPLETE_TRIGGER: what ``delta_statements`` adds for such an update, as rows:
    -1 for the inquiry as it was (已提交) and +1 as it is (已完成), at each grain, for its
    province and the whole country. A table counting both alike by columns the completion does
    not change (report_city) is left alone; one of completed inquiries only gets the +1 rows."""
    new = {c: "new." + c for c in watched()}
    before = {**new, "status": "'submitted'", "completed_at": "old.completed_at"}
    after = {**new, "status": "'completed'"}
    day = dialects.day_of("sqlite", "new.submitted_at")
    out = []
    for r in rollup.ROLLUPS:
        reads = {c for d in r.dimensions for c in DIMENSIONS[d].reads()}
        images = [(before, -1), (after, 1)] if {"status", "completed_at"} & reads else []
        rows = []
        for image, d in [(after, 1)] if r.completed_only else images:
            values = [_value("sqlite", name, image, bucketed=True) for name in r.dimensions]
            for g in r.grains:
                for v in [values, r.country(values)] if r.whole_country else [values]:
                    rows.append(
                        f"('{g}', {dialects.period_of('sqlite', g, day)}, {', '.join(v)}, {d})"
                    )
        if rows:
            out.append(_sql(_LITERAL, r, rows=", ".join(rows)))
    return out


# ---------------------------------------------------------------------------------------------
# Triggers


def trigger_names(dialect: str) -> tuple[str, ...]:
    """The rollup's triggers on ``inquiry`` in a database of ``dialect``."""
    return TRIGGERS + ((COMPLETE_TRIGGER,) if dialect == "sqlite" else ())


def _sqlite_triggers() -> dict[str, list[str]]:
    def image(row: str, d: int) -> str:  # the trigger's old or new row as a delta source
        return "SELECT " + ", ".join(f"{row}.{c} AS {c}" for c in watched()) + f", {d} AS d"

    counted_new, counted_old = f"new.status IN {_COUNTED_SQL}", f"old.status IN {_COUNTED_SQL}"
    update = "AFTER UPDATE OF " + ", ".join(watched())
    unchanged = [f"new.{c} IS old.{c}" for c in watched() if c not in ("status", "completed_at")]
    completing = _COMPLETING.format(unchanged=" AND ".join(unchanged))
    changing = f"({counted_old} OR {counted_new}) AND NOT {completing}"
    old, new = image("old", -1), image("new", 1)
    ai, au, ad = TRIGGERS
    specs = {  # name: (event, when, the delta source)
        ai: ("AFTER INSERT", counted_new, new),
        au: (update, changing, f"{old} UNION ALL {new}"),
        ad: ("AFTER DELETE", counted_old, old),
        COMPLETE_TRIGGER: (update, completing, None),
    }
    out = {}
    for name, (event, when, source) in specs.items():
        body = delta_statements("sqlite", f"({source})") if source else _completion_statements()
        text = _SQLITE_TRIGGER.format(name=name, event=event, when=when, body=";\n  ".join(body))
        out[name] = [text]
    return out


def _postgresql_triggers() -> dict[str, list[str]]:
    def rows(table: str, d: int) -> str:  # a transition table as a delta source
        return "SELECT " + ", ".join(watched()) + f", {d} AS d FROM {table}"

    old, new = rows("old_rows", -1), rows("new_rows", 1)
    ai, au, ad = TRIGGERS
    specs = {  # name: (event, transition tables, the delta source)
        ai: ("INSERT", "NEW TABLE AS new_rows", new),
        au: ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows", f"{old} UNION ALL {new}"),
        ad: ("DELETE", "OLD TABLE AS old_rows", old),
    }
    out = {}
    for name, (event, tables, source) in specs.items():
        body = ";\n  ".join(delta_statements("postgresql", f"({source})"))
        out[name] = [
            _PG_FUNCTION.format(function=name + "_fn", source=_PG_SOURCE.format(body=body)),
            _PG_TRIGGER.format(name=name, event=event, tables=tables),
        ]
    return out


def trigger_definitions(dialect: str) -> dict[str, list[str]]:
    """Each trigger's CREATE statements (on PostgreSQL its function's, then its own)."""
    return _sqlite_triggers() if dialect == "sqlite" else _postgresql_triggers()


def trigger_ddl(dialect: str) -> list[str]:
    """CREATE statements of the triggers (and on PostgreSQL their functions)."""
    return [s for statements in trigger_definitions(dialect).values() for s in statements]


def drop_trigger_ddl(dialect: str, names: tuple[str, ...] | list[str] = ()) -> list[str]:
    """DROP statements of the triggers ``names`` (by default all of the description's)."""
    drops = ["DROP TRIGGER IF EXISTS {}"]
    if dialect != "sqlite":
        drops = ["DROP TRIGGER IF EXISTS {} ON inquiry", "DROP FUNCTION IF EXISTS {}_fn()"]
    return [drop.format(name) for name in names or trigger_names(dialect) for drop in drops]


def installed_triggers(conn: Connection) -> dict[str, list[str]]:
    """The enabled rollup triggers in the database, as ``trigger_definitions`` writes them."""
    rows = dialects.triggers_on(conn, "inquiry")
    if conn.dialect.name == "sqlite":
        found = {name: [ddl] for name, ddl in rows}
    else:
        found = {  # (PostgreSQL 11 writes EXECUTE PROCEDURE for the same thing)
            name: [
                _PG_FUNCTION.format(function=function, source=source),
                trigger.replace(" EXECUTE PROCEDURE ", " EXECUTE FUNCTION "),
            ]
            for name, function, source, trigger in rows
        }
    return {name: ddl for name, ddl in found.items() if name.startswith(PREFIX)}


def missing_triggers(conn: Connection) -> list[str]:
    """Rollup triggers absent from the database (e.g. after a bulk load that was killed)."""
    present = installed_triggers(conn)
    return [t for t in trigger_names(conn.dialect.name) if t not in present]


def stale_triggers(conn: Connection) -> list[str]:
    """Rollup triggers to replace: missing, made from another description, or left over."""
    wanted, present = trigger_definitions(conn.dialect.name), installed_triggers(conn)
    changed = [t for t in wanted if present.get(t) != wanted[t]]
    return changed + [t for t in present if t not in wanted]


# ---------------------------------------------------------------------------------------------
# Rebuild: the whole rollup from ``inquiry``, set-based and staged (the provinces' day rows
# first, then weeks, months and the whole country from them). The bulk seeder counts the day
# rows itself and runs only the derivation.


def day_statements(dialect: str) -> list[str]:
    """Empty the tables and count the day rows of every province from ``inquiry``."""
    out = [f"DELETE FROM {r.table}" for r in rollup.ROLLUPS]
    for r in rollup.ROLLUPS:
        bucketed = any(DIMENSIONS[d].bucket for d in r.dimensions)
        out.append(_sql(_DAY_BUCKETED if bucketed else _DAY, r, **_parts(dialect, r, "")))
    return out


def day_upsert(table: str, source: str) -> str:
    """Add day rows of provinces from ``source`` (a table with ``DAY_COLUMNS[table]`` and n)."""
    (r,) = [r for r in rollup.ROLLUPS if r.table == table]
    return _sql(_DAY_UPSERT, r, day_columns=", ".join(r.columns[1:]), source=source)


def derive_statements(dialect: str) -> list[str]:
    """Recompute the week, month and whole-country rows from the provinces' day rows."""
    out = []
    for r in rollup.ROLLUPS:
        country = f" OR province_code = '{ALL}'" if r.whole_country else ""
        out.append(f"DELETE FROM {r.table} WHERE grain <> 'd'{country}")
    for r in rollup.ROLLUPS:
        dimensions = ", ".join(r.dimensions)
        for g in r.grains[1:]:
            period = dialects.period_of(dialect, g, "period")
            out.append(_sql(_COARSER, r, grain=g, period=period, dimensions=dimensions))
        if r.whole_country:
            others = ", ".join(d for d in r.dimensions if d != "province_code")
            summed = ", ".join(r.country(list(r.dimensions)))
            out.append(_sql(_COUNTRY, r, dimensions=summed, others=others))
    return out


def rebuild_statements(dialect: str) -> list[str]:
    return day_statements(dialect) + derive_statements(dialect)


# ---------------------------------------------------------------------------------------------
# On a connection, inside the caller's transaction


def rebuild(conn: Connection) -> None:
    """Recompute the tables from ``inquiry``."""
    for statement in rebuild_statements(conn.dialect.name):
        conn.exec_driver_sql(statement)


def create_triggers(conn: Connection) -> None:
    for statement in trigger_ddl(conn.dialect.name):
        conn.exec_driver_sql(statement)


def drop_triggers(conn: Connection) -> None:
    """Drop the description's triggers and any other rollup trigger left over."""
    names = dict.fromkeys((*trigger_names(conn.dialect.name), *installed_triggers(conn)))
    for statement in drop_trigger_ddl(conn.dialect.name, list(names)):
        conn.exec_driver_sql(statement)


def repair(conn: Connection) -> bool:
    """Replace the triggers and rebuild the tables when the triggers in the database are not
    the description's (missing, changed or left over); True if they were not. A bulk load drops
    the triggers and rebuilds at its end: one killed half-way leaves them missing, and this puts
    the rollup right at the next start; so it does after a change of the description."""
    if not stale_triggers(conn):
        return False
    reset(conn)
    return True


def reset(conn: Connection) -> None:
    """Recreate the triggers and recompute the tables (``python -m dashboard rebuild-rollup``)."""
    drop_triggers(conn)
    create_triggers(conn)
    rebuild(conn)
