"""reports: every aggregate against hand-computed numbers on a small fixed dataset, on SQLite and
PostgreSQL; previous period, empty period, drafts excluded, Shanghai day and Monday weeks."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlmodel import select

from dashboard import clock, db, inquiries, reports
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
    ("granularity", "expected"),
    [
        (
            "day",
            [
                ("2026-03-01", "insure", 2),
                ("2026-03-10", "insure", 1),
                ("2026-03-15", "buyer_credit", 1),
            ],
        ),
        (
            "week",
            [
                ("2026-02-23", "insure", 2),
                ("2026-03-09", "buyer_credit", 1),
                ("2026-03-09", "insure", 1),
            ],
        ),
        ("month", [("2026-03-01", "buyer_credit", 1), ("2026-03-01", "insure", 3)]),
    ],
)
def test_trend_buckets_in_shanghai_time_with_monday_weeks(data, granularity, expected):
    from dataclasses import replace

    df = run(reports.trend, replace(MARCH, granularity=granularity))
    got = [(d.strftime("%Y-%m-%d"), i, n) for d, i, n in df[["期间", "intent", "数量"]].values]
    assert got == expected


def test_an_inquiry_submitted_late_on_the_first_counts_on_that_shanghai_day(data):
    one_day = ReportFilter(date(2026, 3, 1), date(2026, 3, 1), granularity="day")
    assert run(reports.overview, one_day).set_index("指标").loc["新增咨询", "当前"] == 2
    feb_last = ReportFilter(date(2026, 2, 28), date(2026, 2, 28))
    assert run(reports.overview, feb_last).set_index("指标").loc["新增咨询", "当前"] == 1  # G


def test_intent_share_over_time_sums_to_one_per_bucket(data):
    from dataclasses import replace

    df = run(reports.intent_share_over_time, replace(MARCH, granularity="week"))
    assert df.groupby("期间")["占比"].sum().tolist() == pytest.approx([1.0, 1.0])
    week2 = df[df["期间"] == pd.Timestamp("2026-03-09")]
    assert week2["占比"].tolist() == pytest.approx([0.5, 0.5])


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
    empty = ReportFilter(date(2025, 1, 1), date(2025, 1, 31))
    ov = run(reports.overview, empty).set_index("指标")
    assert ov.loc["新增咨询", "当前"] == 0
    assert ov.loc["完成率", "当前"] is None or pd.isna(ov.loc["完成率", "当前"])
    assert run(reports.volume_by_intent, empty).empty
    assert run(reports.volume_by_region, empty).empty
    assert run(reports.trend, empty).empty
    assert run(reports.intent_share_over_time, empty).empty
    assert run(reports.completion_time_distribution, empty)["数量"].sum() == 0
    assert run(reports.overdue_count, empty) == 0


def test_the_filter_round_trips_through_the_url():
    flt = ReportFilter(date(2026, 1, 5), date(2026, 2, 1), ("insure", "other"), "440000", "month")
    back, notices = ReportFilter.from_params(flt.to_params(), default=MARCH)
    assert back == flt and notices == []
    assert hash(back) == hash(flt)


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2026-13-01"},
        {"from": "2026-03-05", "to": "2026-03-01"},
        {"intent": "insure,drop table"},
        {"province": "999999"},
        {"province": "440300"},  # a city, not a province
        {"granularity": "hour"},
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
