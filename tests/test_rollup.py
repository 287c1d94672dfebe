"""The report rollup stays exact: after random writes of every kind (the app's lifecycle, bulk
seeding, direct corrections and deletes) its three tables equal a count made from scratch in
Python, and every report section equals the same section computed from the raw rows, for random
periods, filters and granularities. On SQLite and PostgreSQL."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlmodel import select

from dashboard import clock, db, inquiries, report_sql, reports, rollup, seed
from dashboard.reports import ReportFilter
from dashboard.settings import get_settings
from models import Inquiry, User
from tests.conftest import valid_form

SHANGHAI = ZoneInfo("Asia/Shanghai")
END = datetime(2026, 11, 20, 4, tzinfo=UTC)
COUNTED = ("submitted", "completed")


# ---------------------------------------------------------------------------------------------
# The expectation, from the raw rows, in Python


def raw_rows(engine) -> list[dict]:
    with db.session_scope(engine, write=False) as s:
        return [
            {
                "status": i.status,
                "intent": i.intent,
                "province": i.province_code,
                "city": i.city_code,
                "submitted_at": i.submitted_at,
                "completed_at": i.completed_at,
                "assignee": i.assignee_id,
            }
            for i in s.exec(select(Inquiry)).all()
        ]


def shanghai_day(t: datetime) -> date:
    return t.astimezone(SHANGHAI).date()


def bucket_of(day: date, grain: str) -> date:
    if grain == "w":
        return day - timedelta(days=day.weekday())
    if grain == "m":
        return day.replace(day=1)
    return day


def whole_hours(start: datetime, end: datetime) -> int:
    return (int(end.timestamp() // 1) - int(start.timestamp() // 1)) // 3600


def hour_bucket(h: int) -> int:
    """Whole hours for three days, then 6-hour, 1-day and 1-week buckets (first hour)."""
    if h < 72:
        return h
    if h < 168:
        return 72 + (h - 72) // 6 * 6
    if h < 720:
        return 168 + (h - 168) // 24 * 24
    return 720 + (h - 720) // 168 * 168


def expected_rollup(rows: list[dict]) -> dict[str, Counter]:
    count, city, hours, workload = Counter(), Counter(), Counter(), Counter()
    for r in rows:
        if r["status"] not in COUNTED or r["submitted_at"] is None:
            continue
        day = shanghai_day(r["submitted_at"])
        for grain in "dwm":
            for prov in (r["province"], "*"):
                count[(grain, bucket_of(day, grain), prov, r["intent"], r["status"])] += 1
        for grain in "dm":
            key = (grain, bucket_of(day, grain), r["province"], r["city"] or "", r["intent"])
            city[key] += 1
            if r["status"] == "completed" and r["completed_at"] is not None:
                h = hour_bucket(whole_hours(r["submitted_at"], r["completed_at"]))
                for prov in (r["province"], "*"):
                    hours[(grain, bucket_of(day, grain), prov, r["intent"], h)] += 1
                who = r["assignee"] or 0
                workload[(grain, bucket_of(day, grain), r["intent"], who, h)] += 1
    return {
        "report_count": count,
        "report_city": city,
        "report_hours": hours,
        "report_workload": workload,
    }


def stored_rollup(engine) -> dict[str, Counter]:
    """The tables as counters keyed like ``expected_rollup`` (rows of 0 left out)."""
    queries_ = {
        "report_count": "SELECT grain, period, province_code, intent, status, n FROM report_count",
        "report_city": "SELECT grain, period, province_code, city_code, intent, n FROM report_city",
        "report_hours": "SELECT grain, period, province_code, intent, hours, n FROM report_hours",
        "report_workload": "SELECT grain, period, intent, assignee, hours, n FROM report_workload",
    }
    out = {}
    with engine.connect() as conn:
        for table, sql in queries_.items():
            counter = Counter()
            for *key, n in conn.execute(sa.text(sql)):
                if n:
                    period = key[1]
                    key[1] = date.fromisoformat(period) if isinstance(period, str) else period
                    counter[tuple(key)] = n
            out[table] = counter
    return out


def assert_rollup_exact(engine) -> None:
    expected = expected_rollup(raw_rows(engine))
    stored = stored_rollup(engine)
    for table in rollup.TABLES:
        missing = expected[table] - stored[table]
        extra = stored[table] - expected[table]
        assert (dict(missing), dict(extra)) == ({}, {}), table
    assert sum(expected["report_count"].values()) > 0


# ---------------------------------------------------------------------------------------------
# Random writes


def manager_and_staff(engine) -> tuple[User, User]:
    with db.session_scope(engine, write=False) as s:
        manager = s.exec(select(User).where(User.role == "manager")).first()
        staff = s.exec(select(User).where(User.role == "staff")).first()
        return manager, staff


def random_writes(engine, users, rng: random.Random, n: int = 60) -> None:
    """The app's own writes (drafts, submissions, single and bulk completions, assignment)
    mixed with direct corrections of the counted columns and deletes."""
    forms = [
        dict(province_code="440000", city_code="440300", district_code="440305"),
        dict(province_code="320000", city_code="320100", district_code="320102"),
        dict(province_code="810000", city_code=None, district_code=None),  # 香港: no cities
    ]
    for _ in range(n):
        action = rng.random()
        with db.session_scope(engine) as s:
            ids = s.exec(select(Inquiry.id).order_by(Inquiry.id)).all()
            waiting = s.exec(select(Inquiry.id).where(Inquiry.status == "submitted")).all()
            drafts = s.exec(
                select(Inquiry.id).where(
                    Inquiry.status == "draft", Inquiry.owner_id == users["company"].id
                )
            ).all()
            region = rng.choice(forms)
            intent = rng.choice(["insure", "buyer_credit", "other"])
            extra = {"other_needs": "保函"} if intent == "other" else {}
            form = valid_form(intent=intent, **region, **extra)
            if action < 0.15:
                inquiries.save_draft(s, actor=users["company"], form=form)
            elif action < 0.3:
                inquiries.submit(
                    s,
                    actor=users["company"],
                    form=form,
                    inquiry_id=rng.choice(drafts) if drafts and rng.random() < 0.5 else None,
                )
            elif action < 0.45 and waiting:
                chosen = rng.sample(list(waiting), k=min(len(waiting), rng.choice([1, 1, 5, 20])))
                inquiries.complete(s, actor=users["staff"], inquiry_ids=chosen, note="已处理")
            elif action < 0.5 and waiting:
                inquiries.assign(
                    s, actor=users["staff"], inquiry_id=rng.choice(waiting), assignee_id=None
                )
            elif action < 0.75 and ids:
                # A correction of the counted columns, one row or a whole range at once.
                target = Inquiry.id.in_(rng.sample(list(ids), k=min(len(ids), rng.choice([1, 9]))))
                shift = timedelta(hours=rng.choice([-30, -7, 5, 200, -24 * 40]))
                change = rng.choice(
                    [
                        {"submitted_at": Inquiry.submitted_at + sa.literal(shift, sa.Interval())},
                        {"province_code": "320000", "city_code": "320100"},
                        {"city_code": None},
                        {"intent": intent},
                        {"status": "submitted", "completed_at": None},
                        {
                            "completed_at": Inquiry.completed_at
                            + sa.literal(timedelta(minutes=97), sa.Interval())
                        },
                    ]
                )
                if s.get_bind().dialect.name == "sqlite" and "submitted_at" in change:
                    # SQLite has no datetime arithmetic in SQL: shift in Python, row by row.
                    for row in s.exec(select(Inquiry).where(target)).all():
                        if row.submitted_at is not None:
                            row.submitted_at = row.submitted_at + shift
                            s.add(row)
                elif s.get_bind().dialect.name == "sqlite" and "completed_at" in change:
                    for row in s.exec(select(Inquiry).where(target)).all():
                        if row.completed_at is not None:
                            row.completed_at = row.completed_at + timedelta(minutes=97)
                            s.add(row)
                else:
                    s.execute(sa.update(Inquiry).where(target).values(**change))
            elif ids:
                victim = rng.choice(ids)
                s.execute(
                    sa.delete(inquiries.InquiryEvent).where(
                        inquiries.InquiryEvent.inquiry_id == victim
                    )
                )
                s.execute(sa.delete(Inquiry).where(Inquiry.id == victim))


def test_the_rollup_equals_a_fresh_count_after_random_writes(engine, users):
    seed.seed(engine, rows=1200, end=END)  # a bulk load: triggers suspended, tally + derive
    assert_rollup_exact(engine)
    seed.seed(engine, rows=300, seed=7, end=END)  # not a bulk load: the triggers count
    assert_rollup_exact(engine)
    random_writes(engine, users, random.Random(42))
    assert_rollup_exact(engine)
    seed.seed(engine, rows=2500, seed=9, end=END)  # a bulk load into a non-empty rollup: upserts
    assert_rollup_exact(engine)
    with engine.begin() as conn:  # the rebuild gives the same tables
        rollup.rebuild(conn)
    assert_rollup_exact(engine)


def test_the_key_columns_are_the_tables_primary_keys(engine):
    """The bulk seeder writes the day rows in KEY_COLUMNS order, to append to the key's B-tree."""
    inspector = sa.inspect(engine)
    for table in rollup.TABLES:
        key = inspector.get_pk_constraint(table)["constrained_columns"]
        assert tuple(key) == rollup.KEY_COLUMNS[table]
        assert set(key) == {"grain", *rollup.DAY_COLUMNS[table]}


@pytest.mark.parametrize("backend", ["sqlite"])  # PostgreSQL has statement triggers instead
def test_sqlite_completions_take_the_flat_trigger_and_every_other_update_the_general_one(
    engine, users
):
    seed.seed(engine, rows=400, end=END)
    done_at = "2026-11-21 02:03:04.000000"
    with engine.begin() as c:  # reopened (the general trigger): plenty of inquiries to complete
        c.exec_driver_sql(
            "UPDATE inquiry SET status = 'submitted', completed_at = NULL WHERE id IN "
            "(SELECT id FROM inquiry WHERE status = 'completed' ORDER BY id LIMIT 60)"
        )
    assert_rollup_exact(engine)

    def waiting(k: int) -> list[int]:
        with engine.connect() as c:
            ids = list(
                c.exec_driver_sql(
                    "SELECT id FROM inquiry WHERE status = 'submitted' ORDER BY id LIMIT ?", (k,)
                ).scalars()
            )
        assert len(ids) == k
        return ids

    def update(assignments: str, ids: list[int]) -> None:
        marks = ", ".join("?" * len(ids))
        with engine.begin() as c:
            c.exec_driver_sql(
                f"UPDATE inquiry SET {assignments} WHERE id IN ({marks})", (done_at, *ids)
            )

    # Only the flat trigger counts a plain completion: without the general one it is still exact.
    with engine.begin() as c:
        c.exec_driver_sql("DROP TRIGGER report_rollup_au")
    with db.session_scope(engine) as s:
        inquiries.complete(s, actor=users["staff"], inquiry_ids=waiting(7))
    assert_rollup_exact(engine)
    with engine.begin() as c:
        rollup.reset(c)
    # A completion that changes anything else the rollup counts by is the general trigger's.
    complete = "status = 'completed', completed_at = ?"
    for extra in (
        ", intent = 'other'",
        ", province_code = '810000', city_code = NULL",
        ", city_code = NULL",
        ", submitted_at = datetime(submitted_at, '-3 days')",
    ):
        update(complete + extra, waiting(3))
        assert_rollup_exact(engine)
    update("status = 'completed', completed_at = NULL, updated_at = ?", waiting(2))  # no time
    assert_rollup_exact(engine)
    update("status = 'draft', submitted_at = NULL, updated_at = ?", waiting(2))
    assert_rollup_exact(engine)
    update(complete, waiting(5))
    assert_rollup_exact(engine)


def test_a_rollback_leaves_the_rollup_untouched(engine, users):
    seed.seed(engine, rows=200, end=END)
    before = stored_rollup(engine)
    with pytest.raises(RuntimeError), db.session_scope(engine) as s:
        waiting = s.exec(select(Inquiry.id).where(Inquiry.status == "submitted")).all()
        inquiries.complete(s, actor=users["staff"], inquiry_ids=list(waiting))
        raise RuntimeError("the page failed half-way")
    assert stored_rollup(engine) == before


def test_missing_triggers_are_put_back_and_the_rollup_rebuilt_on_start(engine, users):
    seed.seed(engine, rows=300, end=END)
    with engine.begin() as conn:
        rollup.drop_triggers(conn)  # what a bulk load killed half-way leaves behind
    with db.session_scope(engine) as s:
        waiting = s.exec(select(Inquiry.id).where(Inquiry.status == "submitted")).all()
        inquiries.complete(s, actor=users["staff"], inquiry_ids=list(waiting)[:10])
    with engine.connect() as conn:
        assert rollup.missing_triggers(conn) == list(rollup.trigger_names(conn.dialect.name))
    db.migrate(engine)
    with engine.connect() as conn:
        assert rollup.missing_triggers(conn) == []
    assert_rollup_exact(engine)
    random_writes(engine, users, random.Random(3), n=15)  # and the triggers count again
    assert_rollup_exact(engine)


# ---------------------------------------------------------------------------------------------
# Every section against the raw rows, for random periods and filters


def expected_sections(rows: list[dict], flt: ReportFilter, now: datetime) -> dict:
    def counted(r):
        return (
            r["status"] in COUNTED
            and r["submitted_at"] is not None
            and flt.start <= shanghai_day(r["submitted_at"]) <= flt.end
            and (not flt.intents or r["intent"] in flt.intents)
        )

    in_period = [r for r in rows if counted(r)]
    mine = [r for r in in_period if not flt.province_code or r["province"] == flt.province_code]
    grain = {"day": "d", "week": "w", "month": "m"}[flt.granularity]
    cutoff = clock.overdue_cutoff(now, get_settings().sla_working_days)
    hours = sorted(
        (r["completed_at"] - r["submitted_at"]).total_seconds() / 3600
        for r in mine
        if r["status"] == "completed"
    )
    median = tolerance = None
    if hours:
        median = (hours[(len(hours) - 1) // 2] + hours[len(hours) // 2]) / 2
        upper = hours[len(hours) // 2]  # the wider bucket of the two middle values
        tolerance = 1 if upper < 72 else 6 if upper < 168 else 24 if upper < 720 else 168
    bounds = [b[2] for b in reports.COMPLETION_BUCKETS]
    histogram = [0] * len(bounds)
    for r in mine:
        if r["status"] == "completed":
            h = whole_hours(r["submitted_at"], r["completed_at"])
            histogram[next(i for i, hi in enumerate(bounds) if hi is None or h < hi)] += 1
    return {
        "intent": Counter(r["intent"] for r in mine),
        "status": Counter((r["intent"], r["status"]) for r in mine),
        "province": Counter(r["province"] for r in in_period),
        "trend": Counter(
            (bucket_of(shanghai_day(r["submitted_at"]), grain), r["intent"]) for r in mine
        ),
        "median": median,
        "tolerance": tolerance,
        "histogram": histogram,
        "overdue": sum(
            1 for r in mine if r["status"] == "submitted" and r["submitted_at"] < cutoff
        ),
    }


def random_filter(rng: random.Random) -> ReportFilter:
    start = date(2024, 11, 1) + timedelta(days=rng.randrange(0, 760))
    end = start + timedelta(days=rng.choice([0, 1, 6, 13, 29, 45, 95, 400, 900]))
    intents = rng.choice([(), (), ("insure",), ("buyer_credit", "other")])
    province = rng.choice([None, None, "440000", "320000"])
    granularity = rng.choice(["day", "week", "month"])
    return ReportFilter(start, end, intents, province, granularity)


def test_every_section_equals_the_raw_rows_for_random_periods_and_filters(engine, users):
    seed.seed(engine, rows=1500, end=END)
    random_writes(engine, users, random.Random(11), n=25)
    rows = raw_rows(engine)
    manager, _ = manager_and_staff(engine)
    rng = random.Random(2026)
    filters = [random_filter(rng) for _ in range(40)]
    filters += [  # the quick picks, and a period inside one week / across a month end
        ReportFilter(*clock.period(name, date(2026, 11, 20)), granularity=g)
        for name in reports.QUICK_PERIODS
        for g in ("week", "month")
    ]
    filters += [
        ReportFilter(date(2026, 6, 2), date(2026, 6, 4)),
        ReportFilter(date(2026, 5, 27), date(2026, 6, 3)),
    ]
    now = END - timedelta(days=3)
    with db.session_scope(engine, write=False) as s:
        for flt in filters:
            want = expected_sections(rows, flt, now)
            got_intent = reports.volume_by_intent(s, flt, actor=manager)
            assert dict(zip(got_intent["intent"], got_intent["数量"], strict=True)) == dict(
                want["intent"]
            ), flt
            mix = reports.status_mix(s, flt, actor=manager)
            assert {(i, st): n for i, st, n in mix[["intent", "status", "数量"]].values} == dict(
                want["status"]
            ), flt
            region = reports.volume_by_region(s, replace(flt, province_code=None), actor=manager)
            assert dict(zip(region["code"], region["数量"], strict=True)) == dict(
                want["province"]
            ), flt
            assert region["数量"].is_monotonic_decreasing
            trend = reports.trend(s, flt, actor=manager)
            assert {
                (t.date(), i): n for t, i, n in trend[["期间", "intent", "数量"]].values
            } == dict(want["trend"]), flt
            times = reports.completion_time_distribution(s, flt, actor=manager)
            assert times["数量"].tolist() == want["histogram"], flt
            assert reports.overdue_count(s, flt, now=now, actor=manager) == want["overdue"], flt
            ov = reports.overview(s, flt, actor=manager).set_index("指标")["当前"]
            assert ov["新增咨询"] == sum(want["intent"].values()), flt
            if want["median"] is None:
                assert ov["完成用时中位数（小时）"] is None or ov.isna()["完成用时中位数（小时）"]
            else:
                assert abs(ov["完成用时中位数（小时）"] - want["median"]) <= want["tolerance"], flt


def test_city_drill_down_equals_the_raw_rows(engine, users):
    seed.seed(engine, rows=800, end=END)
    random_writes(engine, users, random.Random(5), n=20)
    rows = raw_rows(engine)
    manager, _ = manager_and_staff(engine)
    rng = random.Random(9)
    with db.session_scope(engine, write=False) as s:
        for _ in range(15):
            flt = random_filter(rng)
            for province in ("440000", "810000"):
                want = Counter(
                    r["city"]
                    for r in rows
                    if r["status"] in COUNTED
                    and r["submitted_at"] is not None
                    and r["province"] == province
                    and flt.start <= shanghai_day(r["submitted_at"]) <= flt.end
                    and (not flt.intents or r["intent"] in flt.intents)
                )
                got = reports.volume_by_region(s, flt, province, actor=manager)
                assert dict(zip(got["code"], got["数量"], strict=True)) == dict(want), flt


def test_median_from_histogram_is_within_the_hour():
    assert report_sql.median_from_histogram([]) is None
    assert report_sql.median_from_histogram([(5, 1)]) == pytest.approx(5.5)
    # 1, 1, 2, 9 (whole hours): the middle two are the second 1 h and the 2 h.
    value = report_sql.median_from_histogram([(1, 2), (2, 1), (9, 1)])
    assert 1.5 <= value < 2.5
    # Two values in the 6-hour bucket from 72 h, placed at 73.5 h and 76.5 h.
    assert report_sql.median_from_histogram([(72, 2)]) == pytest.approx(75.0)
    assert [
        rollup.hour_bucket(h) for h in (0, 71, 72, 77, 78, 167, 168, 191, 192, 719, 720, 900)
    ] == [0, 71, 72, 72, 78, 162, 168, 168, 192, 696, 720, 888]


def test_rebuild_rollup_command_repairs_a_rollup_changed_by_hand(engine, users, capsys):
    from dashboard import __main__ as cli

    seed.seed(engine, rows=400, end=END)
    with engine.begin() as conn:  # rows loaded or edited with the triggers off, say
        rollup.drop_triggers(conn)
        conn.execute(sa.text("UPDATE inquiry SET intent = 'other' WHERE id % 3 = 0"))
        conn.execute(sa.text("DELETE FROM report_hours WHERE grain = 'm'"))
    assert cli.main(["rebuild-rollup"]) == 0
    submitted_or_completed = sum(
        1 for r in raw_rows(engine) if r["status"] in COUNTED and r["submitted_at"] is not None
    )
    assert f"{submitted_or_completed:,} 条" in capsys.readouterr().out
    assert_rollup_exact(engine)
    with engine.connect() as conn:
        assert rollup.missing_triggers(conn) == []


# ---------------------------------------------------------------------------------------------
# One description: every statement is made from rollup.DIMENSIONS and rollup.ROLLUPS


def test_the_description_is_the_models_tables():
    """models.py reads the tables; the description writes them: the same columns and keys."""
    from models import ReportCity, ReportCount, ReportHours, ReportWorkload

    tables = (ReportCount, ReportCity, ReportHours, ReportWorkload)
    models = {m.__tablename__: m.__table__ for m in tables}
    assert set(models) == set(rollup.TABLES)
    for r in rollup.ROLLUPS:
        table = models[r.table]
        assert tuple(c.name for c in table.primary_key.columns) == r.key
        assert {c.name for c in table.columns} == {*r.columns, "n"}


def _statements_for(table: str, dialect: str) -> dict[str, list[str]]:
    """Every statement that writes ``table``, by where it comes from."""
    writes = f"INSERT INTO {table} "
    triggers = "\n".join(rollup.trigger_ddl(dialect))
    return {
        "trigger": [s for s in triggers.split(";") if writes in s],
        "delta": [s for s in rollup.delta_statements(dialect, "src") if writes in s],
        "day": [s for s in rollup.day_statements(dialect) if writes in s],
        "derive": [s for s in rollup.derive_statements(dialect) if writes in s],
        "day_upsert": [rollup.day_upsert(table, "src")],
    }


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
@pytest.mark.parametrize(
    ("table", "column"),
    [(r.table, c) for r in rollup.ROLLUPS for c in r.dimensions],
)
def test_every_dimension_of_a_table_is_in_every_statement_that_writes_it(table, column, dialect):
    for source, statements in _statements_for(table, dialect).items():
        assert statements, source
        for statement in statements:
            assert column in statement, (source, statement)


ASSIGNEE = rollup.Dimension("COALESCE({assignee_id}, 0)")
BY_ASSIGNEE = rollup.Rollup(
    "report_test_assignee",
    key=("grain", "period", "province_code", "assignee"),
    grains="dm",
    whole_country=True,
)


def add_assignee_dimension(monkeypatch) -> None:
    """The description with one more dimension and one more table, as an engineer adds them."""
    monkeypatch.setitem(rollup.DIMENSIONS, "assignee", ASSIGNEE)
    monkeypatch.setattr(rollup, "ROLLUPS", (*rollup.ROLLUPS, BY_ASSIGNEE))


@pytest.fixture
def assignee_dimension(monkeypatch):
    add_assignee_dimension(monkeypatch)


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_a_new_dimension_reaches_the_triggers_rebuild_and_derivation(assignee_dimension, dialect):
    assert rollup.watched()[-1] == "assignee_id"  # the update triggers watch it
    ddl = "\n".join(rollup.trigger_ddl(dialect))
    if dialect == "sqlite":
        assert (
            "AFTER UPDATE OF status, submitted_at, completed_at, intent, province_code, "
            "city_code, assignee_id" in ddl
        )
        # a completion that also changes the assignee is the general trigger's
        assert "new.assignee_id IS old.assignee_id" in ddl
        assert "new.assignee_id AS assignee_id" in ddl
    else:
        assert "city_code, assignee_id, 1 AS d FROM new_rows" in ddl
    for source, statements in _statements_for(BY_ASSIGNEE.table, dialect).items():
        if source == "trigger" and dialect == "sqlite":
            # three row triggers; completions never move it (it counts both statuses alike)
            assert len(statements) == 3, statements
        assert statements, source
        for statement in statements:
            assert "assignee" in statement, (source, statement)
    derived = "\n".join(_statements_for(BY_ASSIGNEE.table, dialect)["derive"])
    assert "SELECT 'm', " in derived and "'*', assignee" in derived
    assert "ON CONFLICT (grain, period, province_code, assignee)" in rollup.day_upsert(
        BY_ASSIGNEE.table, "src"
    )


def test_a_table_added_to_the_description_alone_is_kept_exact(engine, users, monkeypatch):
    """The claim of the module docstring: a new dimension is a row of DIMENSIONS and a key. With
    its table (here made by hand instead of by a migration), the next start installs the triggers
    and fills it, and it stays exact after every kind of write."""
    seed.seed(engine, rows=1200, seed=4, end=END)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE report_test_assignee (grain varchar(1) NOT NULL, period date NOT NULL, "
            "province_code varchar(6) NOT NULL, assignee integer NOT NULL, n integer NOT NULL, "
            "PRIMARY KEY (grain, period, province_code, assignee))"
        )
    try:
        with monkeypatch.context() as patch:
            add_assignee_dimension(patch)
            db.migrate(engine)  # the next start
            with engine.connect() as conn:
                assert rollup.stale_triggers(conn) == []
            assign_and_complete(engine, users, random.Random(8))
            random_writes(engine, users, random.Random(6), n=20)
            assert_rollup_exact(engine)
            assert stored_by_assignee(engine) == expected_by_assignee(engine)
            assert any(key[3] for key in stored_by_assignee(engine))  # counted by assignee
    finally:
        with engine.begin() as conn:
            assert rollup.repair(conn)  # the description is back to the real one
            conn.exec_driver_sql("DROP TABLE report_test_assignee")


def assign_and_complete(engine, users, rng: random.Random) -> None:
    """Assignments and completions through the app, and both at once by hand."""
    staff = [users["staff"].id, users["staff2"].id]
    for _ in range(8):
        with db.session_scope(engine) as s:
            waiting = s.exec(select(Inquiry.id).where(Inquiry.status == "submitted")).all()
            chosen = rng.sample(list(waiting), k=4)
            inquiries.assign(
                s, actor=users["staff"], inquiry_id=chosen[0], assignee_id=rng.choice(staff)
            )
            inquiries.complete(s, actor=users["staff"], inquiry_ids=chosen[1:3])
            s.execute(
                sa.update(Inquiry)
                .where(Inquiry.id == chosen[3])
                .values(status="completed", completed_at=END, assignee_id=rng.choice(staff))
            )


def stored_by_assignee(engine) -> dict[tuple, int]:
    sql = "SELECT grain, period, province_code, assignee, n FROM report_test_assignee"
    with engine.connect() as conn:
        return {(g, str(p), prov, a): n for g, p, prov, a, n in conn.exec_driver_sql(sql) if n}


def expected_by_assignee(engine) -> dict[tuple, int]:
    expected = Counter()
    with db.session_scope(engine, write=False) as s:
        for i in s.exec(select(Inquiry)).all():
            if i.status not in COUNTED or i.submitted_at is None:
                continue
            day = shanghai_day(i.submitted_at)
            for grain in "dm":
                for prov in (i.province_code, "*"):
                    expected[(grain, str(bucket_of(day, grain)), prov, i.assignee_id or 0)] += 1
    return dict(expected)


def test_the_installed_triggers_are_the_descriptions_and_a_start_changes_nothing(engine):
    with engine.begin() as conn:
        assert rollup.stale_triggers(conn) == []
        installed = rollup.installed_triggers(conn)
        assert installed == rollup.trigger_definitions(conn.dialect.name)
        assert rollup.repair(conn) is False


def _replace_one_trigger(conn) -> None:
    """An older version's report_rollup_ai: it counts nothing."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("DROP TRIGGER report_rollup_ai")
        conn.exec_driver_sql(
            "CREATE TRIGGER report_rollup_ai AFTER INSERT ON inquiry FOR EACH ROW BEGIN "
            "SELECT 1; END"
        )
    else:
        conn.exec_driver_sql(
            "CREATE OR REPLACE FUNCTION report_rollup_ai_fn() RETURNS trigger LANGUAGE plpgsql "
            "AS $$ BEGIN RETURN NULL; END $$"
        )


def _add_a_leftover_trigger(conn) -> None:
    """A trigger of the rollup the description no longer makes: it counts every insert twice."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(
            "CREATE TRIGGER report_rollup_retired AFTER INSERT ON inquiry FOR EACH ROW BEGIN "
            "UPDATE report_count SET n = n + 1; END"
        )
    else:
        conn.exec_driver_sql(
            "CREATE FUNCTION report_rollup_retired_fn() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN UPDATE report_count SET n = n + 1; RETURN NULL; END $$"
        )
        conn.exec_driver_sql(
            "CREATE TRIGGER report_rollup_retired AFTER INSERT ON inquiry "
            "FOR EACH STATEMENT EXECUTE FUNCTION report_rollup_retired_fn()"
        )


@pytest.mark.parametrize("change", [_replace_one_trigger, _add_a_leftover_trigger])
def test_a_start_replaces_triggers_that_differ_from_the_description(engine, users, change):
    seed.seed(engine, rows=200, end=END)
    with engine.begin() as conn:
        change(conn)
        stale = rollup.stale_triggers(conn)
    assert stale == (
        ["report_rollup_ai"] if change is _replace_one_trigger else ["report_rollup_retired"]
    )
    with db.session_scope(engine) as s:  # written while the wrong triggers count
        inquiries.submit(s, actor=users["company"], form=valid_form())
    db.migrate(engine)
    with engine.connect() as conn:
        assert rollup.stale_triggers(conn) == []
        assert "report_rollup_retired" not in rollup.installed_triggers(conn)
    assert_rollup_exact(engine)
    random_writes(engine, users, random.Random(12), n=10)
    assert_rollup_exact(engine)


def test_the_rollup_migrations_import_no_live_code():
    """0003 and 0008 never change when dashboard/ does: no import of it."""
    import ast
    from pathlib import Path

    versions = Path(__file__).parent.parent / "data" / "migrations" / "versions"
    for name in ("0003_report_rollup.py", "0008_completion_trigger.py"):
        tree = ast.parse((versions / name).read_text(encoding="utf-8"))
        modules = [
            *(a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names),
            *(n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)),
        ]
        assert not [m for m in modules if m.split(".")[0] in ("dashboard", "models")], name
