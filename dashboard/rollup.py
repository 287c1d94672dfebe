"""The report rollup: counts of inquiries kept exact on every write, so that each section of the
report page (统计报表) reads a few thousand rows instead of a million.

Each table counts submitted and completed inquiries by *grain* and *period* (the first
Asia/Shanghai day of the day ``d``, Monday week ``w`` or month ``m`` of ``submitted_at``) and its
key: ``report_count`` by province (``'*'``: the whole country), intent and status; ``report_city``
by city and intent (the 按地区 drill-down); ``report_hours``, of completed ones, by the bucket
(``HOUR_STEPS``) of the whole hours to completion (histogram exact, median within one hour under
three days); ``report_workload``, of completed ones in the whole country, by that bucket and the
assignee (人员工作量: each person's completions and median; reading ``inquiry`` for it took
seconds at 1M rows. By province it had more rows than ``inquiry`` and made every completion write
four rows on pages of their own, so one province's workload is read from ``inquiry``). A period is
read as whole months (or weeks) plus the day rows at its edges.

**One description.** ``DIMENSIONS`` says what each column counted by is for one inquiry (SQL over
its columns), ``ROLLUPS`` what each table is (key, grains, whole-country rows, which inquiries).
All that writes the tables is made from these two, each kind of statement from one SQL template
(``dashboard.rollup_sql``, re-exported here): the triggers of both dialects and the columns they
watch, ``rebuild_statements`` (``day_statements`` + ``derive_statements``) and ``day_upsert``,
and what runs them on a connection (``rebuild``, ``reset``, ``repair``).
tests/test_rollup.py checks the tables against a count of its own, written without this module.
Triggers: on SQLite row triggers (completions have their own, ``COMPLETE_TRIGGER``); on PostgreSQL
statement triggers with transition tables, one upsert per table in key order (the app changes
counted columns with one statement per transaction, so concurrent writers lock rollup rows in
the same order).

**The triggers live here, not in the migrations** (0003 makes the tables only). ``repair``, run by
``db.migrate`` at every start, compares the triggers in the database (SQLite: ``sqlite_master``'s
SQL text; PostgreSQL: ``pg_get_triggerdef`` and the function's source) with
``trigger_definitions``. If one is missing, disabled, different or left over (a ``report_rollup*``
trigger the description no longer makes), it replaces them all and rebuilds the tables in the same
transaction: a changed description takes effect, exactly, at the next start (one rebuild, ~11 s at
1M rows on SQLite); an unchanged one costs a catalogue query. Frozen DDL in the migrations would
be a second copy that this repair (needed anyway after a killed bulk load) silently replaces.

**Adding a report dimension** (as counts by assignee were, for ``report_workload``) touches:

1. here: a row of ``DIMENSIONS`` (``"assignee": Dimension("COALESCE({assignee_id}, 0)")``) and
   the column in its table's ``key`` in ``ROLLUPS`` (a new table: one more ``Rollup``). Triggers,
   watched columns, rebuild, derivation and day upsert follow; the next start installs them;
2. ``models.py``: the column in the table's model (part of its primary key);
3. a new migration adding the column to the table and to its primary key;
4. ``reports.py``: the section that reads it;
5. tests/test_rollup.py: its independent count (``expected_rollup``, ``stored_rollup``);
6. ``seed/``: the bulk seeder's own day-row tally (``seed.bulk.DayTally``, filled in
   ``seed.generate._tally``, plain Python for speed); test_rollup's bulk-load checks fail until
   it matches.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from string import Formatter

from dashboard import lazy

ALL = "*"  # province_code of the whole-country rows
COUNTED = ("submitted", "completed")  # the statuses the rollup counts
#: What decides whether an inquiry counts and in which period: watched whatever the tables.
LIFECYCLE = ("status", "submitted_at", "completed_at")
PREFIX = "report_rollup"  # every trigger on inquiry named so is the rollup's
TRIGGERS = ("report_rollup_ai", "report_rollup_au", "report_rollup_ad")
#: SQLite only: completing an inquiry (submitted → completed, nothing else it is counted by
#: changes), the one update triage makes hundreds of times a day, with flat upserts.
COMPLETE_TRIGGER = "report_rollup_au_complete"


#: report_hours buckets, as (first hour, width): whole hours for the first three days, then 6
#: hours to a week, a day to 30 days, a week beyond. Every bound of the report's histogram
#: (4, 24, 48, 72, 168 h) is a bucket bound, so the histogram stays exact; the long tail no
#: longer multiplies the rows (all time at 1M inquiries: 1,120 distinct hours → ~110 buckets).
HOUR_STEPS = ((0, 1), (72, 6), (168, 24), (720, 168))


def _step(hours: int) -> tuple[int, int]:
    return max((step for step in HOUR_STEPS if hours >= step[0]), default=HOUR_STEPS[0])


def hour_bucket(hours: int) -> int:
    """The first hour of the bucket holding ``hours`` (whole hours, as stored)."""
    start, width = _step(hours)
    return hours if width == 1 else start + (hours - start) // width * width


def bucket_width(bucket: int) -> int:
    return _step(bucket)[1]


def hour_bucket_sql(h: str) -> str:
    """``hour_bucket`` in SQL over a non-negative whole-hours expression ``h``."""

    def first_hour(start: int, width: int) -> str:
        return h if width == 1 else f"{start} + ({h} - {start}) / {width} * {width}"

    steps = zip(HOUR_STEPS, HOUR_STEPS[1:], strict=False)
    whens = [f"WHEN {h} < {end} THEN {first_hour(*step)}" for step, (end, _) in steps]
    return "CASE " + " ".join(whens) + " ELSE " + first_hour(*HOUR_STEPS[-1]) + " END"


# ---------------------------------------------------------------------------------------------
# The description


#: Values a dimension may use besides the inquiry's columns, and the columns they are made of.
_DERIVED = {"hours": ("submitted_at", "completed_at")}  # whole hours to completion


@dataclass(frozen=True)
class Dimension:
    """A column a rollup table counts by: its value for one inquiry, as SQL over the inquiry's
    columns (``{name}``) and ``{hours}``, the whole hours from submission to completion."""

    sql: str
    #: Turns the value into the stored one (``hour_bucket_sql``). Set-based statements compute the
    #: value once, in a subquery, named ``unbucketed``, and bucket it outside.
    bucket: Callable[[str], str] | None = None
    unbucketed: str = ""

    def reads(self) -> list[str]:
        """The inquiry columns the value depends on."""
        names = [name for _, name, _, _ in Formatter().parse(self.sql) if name]
        return [c for n in names for c in _DERIVED.get(n, (n,))]


#: Every column a rollup table may count by (in this order in the update triggers' column list).
DIMENSIONS = {
    "intent": Dimension("{intent}"),
    "province_code": Dimension("{province_code}"),  # ALL in the whole-country rows
    "city_code": Dimension("COALESCE({city_code}, '')"),  # '' for a province without cities
    "status": Dimension("{status}"),
    "hours": Dimension("{hours}", bucket=hour_bucket_sql, unbucketed="h"),
    "assignee": Dimension("COALESCE({assignee_id}, 0)"),  # 0: nobody (未分配)
}


@dataclass(frozen=True)
class Rollup:
    """One rollup table: the counted inquiries (``COUNTED``, with a submission time) by its key."""

    table: str
    #: The primary key (models.py, migrations): grain, period and the ``DIMENSIONS`` counted by.
    key: tuple[str, ...]
    grains: str  # of "dwm", finest first
    whole_country: bool = False  # also rows summed over provinces, province_code = ALL
    completed_only: bool = False  # only completed inquiries (with a completion time)

    @property
    def dimensions(self) -> tuple[str, ...]:
        return tuple(c for c in self.key if c not in ("grain", "period"))

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns besides n, as the statements list them."""
        return ("grain", "period", *self.dimensions)

    def country(self, values: list[str]) -> list[str]:
        """``values`` of the dimensions as in the whole-country rows."""
        pairs = zip(self.dimensions, values, strict=True)
        return [f"'{ALL}'" if d == "province_code" else v for d, v in pairs]


#: The tables (models.py has them too, for reading): what each counts, by which key. Rows whose
#: count drops to 0 stay (harmless to the sums).
ROLLUPS = (
    Rollup("report_count", key=("grain", "period", "province_code", "intent", "status"), grains="dwm", whole_country=True),
    Rollup("report_city", key=("grain", "province_code", "period", "city_code", "intent"), grains="dm"),
    Rollup("report_hours", key=("grain", "province_code", "period", "intent", "hours"), grains="dm", whole_country=True, completed_only=True),
    Rollup("report_workload", key=("grain", "period", "intent", "assignee", "hours"), grains="dm", completed_only=True),
)  # fmt: skip
TABLES = tuple(r.table for r in ROLLUPS)
#: The primary key of each table. The bulk seeder writes its day rows in this order, so they
#: append to the key's B-tree (its 1.1 M day rows at 1M inquiries: 2.8 s unordered, 2.0 s so).
KEY_COLUMNS = {r.table: r.key for r in ROLLUPS}
#: The day rows every other row is derived from: table → the columns besides grain and n.
DAY_COLUMNS = {r.table: r.columns[1:] for r in ROLLUPS}


def watched() -> tuple[str, ...]:
    """The inquiry columns whose change can move an inquiry between rollup rows: what the update
    triggers watch and what a delta source provides (plus ``d``, +1 or -1)."""
    used = {d for r in ROLLUPS for d in r.dimensions}
    reads = [c for name, dim in DIMENSIONS.items() if name in used for c in dim.reads()]
    return tuple(dict.fromkeys((*LIFECYCLE, *reads)))


# ---------------------------------------------------------------------------------------------
# What is made from the description: ``dashboard.rollup_sql``, which imports this module (it reads
# the description whenever it makes a statement). Its functions are part of this module's
# interface, looked up on use, so that either module can be imported first.

#: The names of ``dashboard.rollup_sql`` read through this module.
_MADE_FROM_IT = (
    "create_triggers",
    "day_statements",
    "day_upsert",
    "delta_statements",
    "derive_statements",
    "drop_trigger_ddl",
    "drop_triggers",
    "installed_triggers",
    "missing_triggers",
    "rebuild",
    "rebuild_statements",
    "repair",
    "reset",
    "stale_triggers",
    "trigger_ddl",
    "trigger_definitions",
    "trigger_names",
)


__getattr__ = lazy.passed_through(__name__, "dashboard.rollup_sql", _MADE_FROM_IT)
