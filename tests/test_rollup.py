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

from dashboard import clock, db, inquiries, reports, rollup, seed
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
    count, city, hours = Counter(), Counter(), Counter()
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
    return {"report_count": count, "report_city": city, "report_hours": hours}


def stored_rollup(engine) -> dict[str, Counter]:
    """The three tables as counters keyed like ``expected_rollup`` (rows of 0 left out)."""
    queries_ = {
        "report_count": "SELECT grain, period, province_code, intent, status, n FROM report_count",
        "report_city": "SELECT grain, period, province_code, city_code, intent, n FROM report_city",
        "report_hours": "SELECT grain, period, province_code, intent, hours, n FROM report_hours",
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
                inquiries.complete(s, actor=users["staff"], inquiry_ids=chosen)
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
    assert reports.median_from_histogram([]) is None
    assert reports.median_from_histogram([(5, 1)]) == pytest.approx(5.5)
    # 1, 1, 2, 9 (whole hours): the middle two are the second 1 h and the 2 h.
    value = reports.median_from_histogram([(1, 2), (2, 1), (9, 1)])
    assert 1.5 <= value < 2.5
    # Two values in the 6-hour bucket from 72 h, placed at 73.5 h and 76.5 h.
    assert reports.median_from_histogram([(72, 2)]) == pytest.approx(75.0)
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
