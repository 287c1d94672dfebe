"""reports: every aggregate against hand-computed numbers on a small fixed dataset, on SQLite and
PostgreSQL; previous period, empty period, drafts excluded, Shanghai day and Monday weeks."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlmodel import select

from dashboard import clock, db, inquiries, reports, workload
from dashboard.reports import ReportFilter
from models import Inquiry, User
from tests.conftest import valid_form


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


# name: (intent, province, city, status, submitted_at UTC, completed_at UTC)
ROWS = {
    # 2026-03-01 23:30 Shanghai: counts on 03-01 (a Sunday, so in the week of Monday 02-23).
    "A": (
        "insure",
        "440000",
        "440300",
        "completed",
        utc(2026, 3, 1, 15, 30),
        utc(2026, 3, 2, 15, 30),
    ),
    "B": ("insure", "440000", "440100", "completed", utc(2026, 3, 10, 2), utc(2026, 3, 10, 4)),
    "C": ("buyer_credit", "320000", "320100", "submitted", utc(2026, 3, 15, 1), None),
    # 2026-04-01 07:59 Shanghai: April, not March.
    "D": ("other", "440000", "440300", "submitted", utc(2026, 3, 31, 23, 59), None),
    # 2026-03-01 00:30 Shanghai: March, although February in UTC.
    "E": ("insure", "440000", "440300", "submitted", utc(2026, 2, 28, 16, 30), None),
    # previous period of March (2026-01-29 .. 2026-02-28)
    "F": (
        "buyer_credit",
        "320000",
        "320100",
        "completed",
        utc(2026, 2, 10, 3),
        utc(2026, 2, 12, 3),
    ),
    "G": ("insure", "440000", "440300", "submitted", utc(2026, 2, 28, 15), None),
}

MARCH = ReportFilter(date(2026, 3, 1), date(2026, 3, 31))


@pytest.fixture
def data(users):
    with db.session_scope() as s:
        for _name, (intent, prov, city, status, sub, done) in ROWS.items():
            extra = {"other_needs": "保函"} if intent == "other" else {}
            inq = inquiries.submit(
                s, actor=users["company"], form=valid_form(intent=intent, **extra)
            )
            s.flush()
            s.execute(
                sa.update(Inquiry)
                .where(Inquiry.id == inq.id)
                .values(
                    province_code=prov,
                    city_code=city,
                    status=status,
                    submitted_at=sub,
                    completed_at=done,
                )
            )
        # A draft in March never counts.
        inquiries.save_draft(s, actor=users["company"], form=valid_form(intent="insure"))


def run(fn, *args, **kwargs):
    with db.session_scope(write=False) as s:
        manager = s.exec(select(User).where(User.role == "manager")).first()
        return fn(s, *args, actor=manager, **kwargs)


def test_overview_counts_the_period_and_the_previous_period_of_the_same_length(data):
    ov = run(reports.overview, MARCH).set_index("指标")
    assert ov.loc["新增咨询"].tolist() == [4, 2]
    assert ov.loc["待处理"].tolist() == [2, 1]
    assert ov.loc["已完成"].tolist() == [2, 1]
    assert ov.loc["完成率"].tolist() == [0.5, 0.5]
    # Exact medians 13 h (2 h and 24 h) and 48 h; the rollup knows whole hours: within 1 h.
    assert ov.loc["完成用时中位数（小时）"].tolist() == pytest.approx([13.0, 48.0], abs=1)
    assert reports.pct_change(4, 2) == 1.0


def test_previous_period_has_the_same_number_of_days():
    prev = MARCH.previous()
    assert (prev.start, prev.end) == (date(2026, 1, 29), date(2026, 2, 28))


def test_volume_by_intent_excludes_drafts_and_other_periods(data):
    df = run(reports.volume_by_intent, MARCH)
    assert dict(zip(df["intent"], df["数量"], strict=True)) == {"insure": 3, "buyer_credit": 1}
    assert dict(zip(df["询保内容"], df["占比"], strict=True)) == {
        "我要投保": 0.75,
        "我要调查买方资信": 0.25,
    }


def test_the_page_lists_every_intent_of_the_filter_in_order(data):
    every = reports.every_intent(run(reports.volume_by_intent, MARCH), MARCH)
    assert every[["intent", "数量", "占比"]].values.tolist() == [
        ["insure", 3, 0.75],
        ["buyer_credit", 1, 0.25],
        ["other", 0, 0.0],
    ]
    two = replace(MARCH, intents=("other", "insure"))
    assert reports.every_intent(run(reports.volume_by_intent, two), two)["intent"].tolist() == [
        "insure",
        "other",
    ]


def test_volume_by_region_sorted_and_drilled_down_to_cities(data):
    provinces = run(reports.volume_by_region, MARCH)
    assert provinces[["code", "地区", "数量"]].values.tolist() == [
        ["440000", "广东省", 3],
        ["320000", "江苏省", 1],
    ]
    cities = run(reports.volume_by_region, MARCH, "440000")
    assert cities[["code", "数量"]].values.tolist() == [["440300", 2], ["440100", 1]]
    assert cities["地区"].tolist() == ["深圳市", "广州市"]


@pytest.mark.parametrize(
    ("granularity", "expected", "buckets"),
    [
        (
            "day",
            [
                ("2026-03-01", "insure", 2),
                ("2026-03-10", "insure", 1),
                ("2026-03-15", "buyer_credit", 1),
            ],
            31,
        ),
        (
            "week",
            [
                ("2026-02-23", "insure", 2),
                ("2026-03-09", "buyer_credit", 1),
                ("2026-03-09", "insure", 1),
            ],
            6,  # the weeks of Monday 02-23 … 03-30
        ),
        ("month", [("2026-03-01", "buyer_credit", 1), ("2026-03-01", "insure", 3)], 1),
    ],
)
def test_trend_buckets_in_shanghai_time_with_monday_weeks_and_every_bucket_present(
    data, granularity, expected, buckets
):
    flt = replace(MARCH, granularity=granularity)
    sparse = run(reports.trend, flt)
    got = [(b, i, n) for b, i, n in sparse[["bucket", "intent", "数量"]].values]
    assert got == expected
    # As the page shows it: every bucket of the period and every intent, zero where none came.
    df = reports.every_bucket(sparse, flt)
    assert sorted((b, i, n) for b, i, n in df[["bucket", "intent", "数量"]].values if n) == expected
    assert df["bucket"].nunique() == buckets
    assert len(df) == buckets * 3
    assert df["bucket"].tolist() == sorted(df["bucket"])
    assert [d.strftime("%Y-%m-%d") for d in df["期间"]] == df["bucket"].tolist()
    assert df["数量"].sum() == 4


def test_all_time_begins_at_the_first_bucket_with_data(data):
    everything = ReportFilter(clock.EARLIEST, date(2026, 4, 30), granularity="month")
    df = reports.every_bucket(run(reports.trend, everything), everything)
    assert df["bucket"].unique().tolist() == ["2026-02-01", "2026-03-01", "2026-04-01"]
    assert run(reports.overview, everything).set_index("指标").loc["新增咨询", "上期"] is None


def test_an_inquiry_submitted_late_on_the_first_counts_on_that_shanghai_day(data):
    one_day = ReportFilter(date(2026, 3, 1), date(2026, 3, 1), granularity="day")
    assert run(reports.overview, one_day).set_index("指标").loc["新增咨询", "当前"] == 2
    feb_last = ReportFilter(date(2026, 2, 28), date(2026, 2, 28))
    assert run(reports.overview, feb_last).set_index("指标").loc["新增咨询", "当前"] == 1  # G


def test_intent_share_over_time_adds_up_to_100_percent_per_bucket(data):
    weeks = replace(MARCH, granularity="week")
    sparse = run(reports.intent_share_over_time, weeks)
    assert sparse.groupby("bucket")["占比"].sum().tolist() == pytest.approx([1, 1])
    df = reports.with_shares(reports.every_bucket(run(reports.trend, weeks), weeks))
    sums = df.groupby("bucket")["占比"].sum()
    assert sums.to_dict() == pytest.approx(
        {
            "2026-02-23": 1,
            "2026-03-02": 0,
            "2026-03-09": 1,
            "2026-03-16": 0,
            "2026-03-23": 0,
            "2026-03-30": 0,
        }
    )
    week2 = df[df["bucket"] == "2026-03-09"]
    assert week2["占比"].tolist() == pytest.approx([0.5, 0.5, 0.0])


def test_efficiency_status_mix_completion_buckets_and_overdue(data):
    mix = run(reports.status_mix, MARCH)
    assert mix[["intent", "status", "数量"]].values.tolist() == [
        ["buyer_credit", "submitted", 1],
        ["insure", "completed", 2],
        ["insure", "submitted", 1],
    ]
    times = run(reports.completion_time_distribution, MARCH)
    assert times["数量"].tolist() == [1, 0, 1, 0, 0, 0]  # 2 h and 24 h
    friday = datetime(2026, 3, 20, 4, tzinfo=UTC)  # Friday 12:00 Shanghai
    assert run(reports.overdue_count, MARCH, now=friday) == 2
    monday = datetime(2026, 3, 16, 2, tzinfo=UTC)  # Monday 10:00: C waited < 2 working days
    assert run(reports.overdue_count, MARCH, now=monday) == 1


def test_intent_and_province_filters_apply_to_every_section(data):
    buyer = ReportFilter(MARCH.start, MARCH.end, intents=("buyer_credit",))
    assert run(reports.overview, buyer).set_index("指标").loc["新增咨询"].tolist() == [1, 1]
    assert run(reports.volume_by_intent, buyer)["intent"].tolist() == ["buyer_credit"]
    js = ReportFilter(MARCH.start, MARCH.end, province_code="320000")
    assert run(reports.volume_by_region, js)[["code", "数量"]].values.tolist() == [["320100", 1]]
    assert run(reports.trend, js)["数量"].sum() == 1


def test_an_empty_period_returns_zeros_and_empty_tables(data):
    empty = ReportFilter(date(2025, 1, 1), date(2025, 1, 31), granularity="week")
    ov = run(reports.overview, empty).set_index("指标")
    assert ov.loc["新增咨询", "当前"] == 0
    assert ov.loc["完成率", "当前"] is None or pd.isna(ov.loc["完成率", "当前"])
    assert run(reports.volume_by_intent, empty).empty
    assert run(reports.volume_by_region, empty).empty
    assert run(reports.trend, empty).empty
    assert run(reports.intent_share_over_time, empty).empty
    assert run(reports.completion_time_distribution, empty)["数量"].sum() == 0
    assert run(reports.overdue_count, empty) == 0
    assert run(workload.workload, empty)[["待处理", "已完成", "超时"]].to_numpy().sum() == 0
    # As the page shows it: zeros in every bucket, every intent listed with 0 %.
    report = run(reports.report, empty)
    assert report.total == 0
    assert report.by_intent["数量"].tolist() == [0, 0, 0]
    assert report.by_intent["占比"].tolist() == [0, 0, 0]
    assert report.trend["bucket"].nunique() == 5 and report.trend["数量"].sum() == 0
    assert report.share["占比"].sum() == 0


def test_the_filter_round_trips_through_the_url():
    flt = ReportFilter(date(2026, 1, 5), date(2026, 2, 1), ("insure", "other"), "440000", "month")
    back, notices = ReportFilter.from_params(flt.to_params(), default=MARCH)
    assert back == flt and notices == []
    assert hash(back) == hash(flt)


def test_report_url_keys_differ_from_the_triage_pages_and_old_links_still_open():
    from dashboard.queries.conditions import FIELDS

    flt = ReportFilter(date(2026, 1, 5), date(2026, 2, 1), ("insure",), "440000", "month")
    triage_keys = {field.url_key for field in FIELDS}
    assert not set(flt.to_params()) & triage_keys
    old = {"from": "2026-01-05", "to": "2026-02-01", "intent": "insure", "province": "440000"}
    back, notices = ReportFilter.from_params(old | {"granularity": "month"}, default=MARCH)
    assert back == flt and notices == []


@pytest.mark.parametrize(
    "params",
    [
        {"start": "2026-13-01"},
        {"start": "2026-03-05", "end": "2026-03-01"},
        {"intents": "insure,drop table"},
        {"region": "999999"},
        {"region": "440300"},  # a city, not a province
        {"granularity": "hour"},
        {"from": "2026-13-01"},  # the keys of older links are read too
        {"province": "999999"},
    ],
)
def test_tampered_parameters_fall_back_with_a_notice(params):
    flt, notices = ReportFilter.from_params(params, default=MARCH)
    assert flt == MARCH
    assert len(notices) == 1


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("本月", (date(2026, 3, 1), date(2026, 3, 18))),
        ("上月", (date(2026, 2, 1), date(2026, 2, 28))),
        ("近30天", (date(2026, 2, 17), date(2026, 3, 18))),
        ("近12个月", (date(2025, 4, 1), date(2026, 3, 18))),
        ("今年", (date(2026, 1, 1), date(2026, 3, 18))),
    ],
)
def test_quick_periods(name, expected):
    assert clock.period(name, date(2026, 3, 18)) == expected


# ---------------------------------------------------------------------------------------------
# Periods, buckets, shares


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ([31, 59, 11], [31, 58, 11]),  # rounded alone: 31 + 58 + 11 = 100, not 101
        ([1, 1, 1], [34, 33, 33]),
        ([2, 1, 0], [67, 33, 0]),
        ([0, 0, 0], [0, 0, 0]),
        ([5], [100]),
        ([], []),
        ([1, 0, 0, 0, 0, 0, 1], [50, 0, 0, 0, 0, 0, 50]),
    ],
)
def test_largest_remainder_shares_add_up_to_100(counts, expected):
    assert reports.largest_remainder(counts) == expected


def test_largest_remainder_on_random_counts():
    import random

    rng = random.Random(2026)
    for _ in range(500):
        counts = [
            rng.randrange(0, rng.choice([3, 50, 10_000])) for _ in range(rng.randrange(1, 35))
        ]
        shares = reports.largest_remainder(counts)
        assert sum(shares) == (100 if sum(counts) else 0)
        for n, share in zip(counts, shares, strict=True):
            assert abs(share - 100 * n / (sum(counts) or 1)) < 1


@pytest.mark.parametrize(
    "day", [date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 31), date(2028, 2, 29)]
)
def test_the_default_period_is_the_last_30_days_by_day_whatever_the_day_of_the_month(day):
    flt = reports.default_filter(day)
    assert (flt.start, flt.end, flt.granularity) == (day - timedelta(days=29), day, "day")
    assert len(reports.buckets(flt)) == 30


@pytest.mark.parametrize(
    ("days", "granularity"), [(1, "day"), (62, "day"), (63, "week"), (183, "week"), (184, "month")]
)
def test_the_granularity_follows_the_length_of_the_period(days, granularity):
    start = date(2026, 1, 1)
    assert reports.default_granularity(start, start + timedelta(days=days - 1)) == granularity


def test_a_link_without_granularity_gets_the_periods_own():
    year, notices = ReportFilter.from_params(
        {"start": "2025-04-01", "end": "2026-03-18"}, default=MARCH
    )
    assert year.granularity == "month" and not notices
    assert ReportFilter.from_params({}, default=MARCH)[0].granularity == MARCH.granularity


@pytest.mark.parametrize(
    ("flt", "first", "last", "n"),
    [
        (
            ReportFilter(date(2026, 3, 4), date(2026, 3, 4), granularity="day"),
            "2026-03-04",
            "2026-03-04",
            1,
        ),
        (
            ReportFilter(date(2026, 3, 4), date(2026, 3, 5), granularity="week"),
            "2026-03-02",
            "2026-03-02",
            1,
        ),
        (
            ReportFilter(date(2026, 3, 4), date(2026, 3, 5), granularity="month"),
            "2026-03-01",
            "2026-03-01",
            1,
        ),
        (
            ReportFilter(date(2026, 2, 27), date(2026, 3, 2), granularity="day"),
            "2026-02-27",
            "2026-03-02",
            4,
        ),
        (
            ReportFilter(date(2026, 3, 1), date(2026, 3, 31), granularity="week"),
            "2026-02-23",
            "2026-03-30",
            6,
        ),
        (
            ReportFilter(date(2025, 4, 18), date(2026, 3, 18), granularity="month"),
            "2025-04-01",
            "2026-03-01",
            12,
        ),
        (
            ReportFilter(date(2025, 4, 18), date(2026, 3, 18), granularity="day"),
            "2025-04-18",
            "2026-03-18",
            335,
        ),
    ],
)
def test_buckets_cover_the_period_on_calendar_days(flt, first, last, n):
    got = reports.buckets(flt)
    assert (got[0].isoformat(), got[-1].isoformat(), len(got)) == (first, last, n)
    if flt.granularity == "week":
        assert all(b.weekday() == 0 for b in got)
    if flt.granularity == "month":
        assert all(b.day == 1 for b in got)
    # Cut to the period, the buckets' days are the period's days, each once.
    days = [reports.bucket_days(flt, b) for b in got]
    assert days[0][0] == flt.start and days[-1][1] == flt.end
    assert all(b[1] + timedelta(days=1) == a[0] for b, a in zip(days, days[1:], strict=False))


# ---------------------------------------------------------------------------------------------
# 人员工作量 and the whole report


@pytest.fixture
def assigned(data, users):
    """B (completed, 2 h) and C (waiting) are staff's, A (completed, 24 h) is staff2's, D and
    E nobody's."""
    with db.session_scope() as s:
        ids = {
            inq.submitted_at.replace(tzinfo=UTC): inq.id
            for inq in s.exec(select(Inquiry).where(Inquiry.submitted_at.is_not(None)))
        }
        for name, who in (("A", "staff2"), ("B", "staff"), ("C", "staff")):
            s.execute(
                sa.update(Inquiry)
                .where(Inquiry.id == ids[ROWS[name][4]])
                .values(assignee_id=users[who].id)
            )
    return users


def test_workload_counts_each_person_and_the_unassigned(assigned):
    friday = datetime(2026, 3, 20, 4, tzinfo=UTC)  # C and E are overdue by then
    df = run(workload.workload, MARCH, now=friday).set_index("负责人")
    staff, staff2 = assigned["staff"], assigned["staff2"]
    assert df.loc["STAFF", ["assignee", "待处理", "已完成", "超时"]].tolist() == [
        str(staff.id),
        1,
        1,
        1,
    ]
    assert df.loc["STAFF2", ["assignee", "待处理", "已完成", "超时"]].tolist() == [
        str(staff2.id),
        0,
        1,
        0,
    ]
    assert df.loc["未分配", ["assignee", "待处理", "已完成", "超时"]].tolist() == ["none", 1, 0, 1]
    assert df.loc["STAFF", "完成用时中位数（小时）"] == pytest.approx(2, abs=1)
    assert df.loc["STAFF2", "完成用时中位数（小时）"] == pytest.approx(24, abs=1)
    assert pd.isna(df.loc["未分配", "完成用时中位数（小时）"])
    # Every active staff member and manager is listed, idle ones too; sorted by open, most first.
    assert "MANAGER" in df.index and df.loc["MANAGER", "待处理"] == 0
    assert df["待处理"].tolist() == sorted(df["待处理"], reverse=True)
    assert df["超时"].sum() == run(reports.overdue_count, MARCH, now=friday)


def test_workload_follows_the_intent_and_province_filters(assigned):
    buyer = replace(MARCH, intents=("buyer_credit",))
    df = run(workload.workload, buyer).set_index("负责人")
    assert df["待处理"].sum() == 1 and df.loc["STAFF", "待处理"] == 1
    gd = replace(MARCH, province_code="440000")
    assert run(workload.workload, gd)["已完成"].sum() == 2


def test_workload_by_province_adds_up_to_the_country(engine, users):
    """The whole country's completions come from the rollup, one province's from the inquiries:
    per person, the provinces' completions add up to the country's; and with every inquiry in
    one province, that province's workload is the country's, medians included."""
    from dashboard import seed

    seed.seed(engine, rows=600, seed=11, end=datetime(2026, 3, 31, tzinfo=UTC))
    flt = ReportFilter(date(2024, 1, 1), date(2026, 3, 31), granularity="month")
    country = run(workload.workload, flt).set_index("assignee")
    with db.session_scope(write=False) as s:
        provinces = s.exec(select(Inquiry.province_code).distinct()).all()
    assert len(provinces) > 3 and (country["已完成"] > 0).sum() >= 2  # several people
    added = pd.Series(0, index=country.index)
    for code in provinces:
        df = run(workload.workload, replace(flt, province_code=code)).set_index("assignee")
        added += df["已完成"].reindex(country.index, fill_value=0)
    assert added.tolist() == country["已完成"].tolist()

    with db.session_scope() as s:  # the rollup's triggers follow the move
        s.execute(sa.update(Inquiry).values(province_code="440000", city_code="440100"))
    moved = run(workload.workload, flt)
    one = run(workload.workload, replace(flt, province_code="440000"))
    assert moved["完成用时中位数（小时）"].notna().sum() >= 2
    pd.testing.assert_frame_equal(moved, one)
    pd.testing.assert_frame_equal(
        moved.drop(columns="超时"), country.reset_index().drop(columns="超时")
    )


def test_the_whole_report_in_one_call_and_for_managers_only(assigned):
    report = run(reports.report, MARCH)
    assert report.total == 4
    assert report.by_intent["数量"].sum() == report.trend["数量"].sum() == 4
    assert report.regions["数量"].sum() == 4
    assert set(report.workload.columns) == set(workload.WORKLOAD_COLUMNS)
    from dashboard.errors import NotAllowed

    with db.session_scope(write=False) as s, pytest.raises(NotAllowed):
        reports.report(s, MARCH, actor=assigned["staff"])
    with db.session_scope(write=False) as s, pytest.raises(NotAllowed):
        workload.workload(s, MARCH, actor=assigned["staff"])
