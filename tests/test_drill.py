"""Drill-through: for random marks of every chart and table of the report, the inquiries that
咨询处理 lists from the mark's link are exactly as many as the mark says, on SQLite and
PostgreSQL. The link goes through the triage page's own URL reading
(``InquiryFilter.from_params``) and its own count and listing (``queries.count``,
``queries.list_page``), with inquiries submitted on both sides of Shanghai midnights."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, timedelta

import pytest

from dashboard import clock, db, drill, queries, reports, workload
from dashboard.drill import Mark
from dashboard.reports import ReportFilter
from tests.report_data import make_inquiries

TRIAGE_STATUSES = ("submitted", "completed")  # what the triage page offers (views/triage.py)
FIRST_DAY = date(2026, 7, 1)
DAYS = 120


@pytest.fixture
def inquiries_of_many_kinds(users):
    """150 inquiries over four months (some a second from a Shanghai midnight), assigned to
    staff, staff2, the manager or nobody; drafts too."""
    people = [users["staff"].id, users["staff2"].id, users["manager"].id, None]
    make_inquiries(users, n=150, first_day=FIRST_DAY, days=DAYS, assignees=people)
    return users


def triage_count(flt: ReportFilter, mark: Mark, manager) -> int:
    """What 咨询处理 shows for the mark's link: its URL read as the page reads it, then counted
    and listed as the page does."""
    params = drill.triage_params(flt, mark, actor_id=manager.id)
    triage, notices = queries.InquiryFilter.from_params(params, statuses=TRIAGE_STATUSES)
    assert notices == [], params
    with db.session_scope(write=False) as s:
        n = queries.count(s, triage, actor=manager)
        page = queries.list_page(s, triage, actor=manager, page_size=100)
    assert page.total == n
    assert all(row.status != "draft" for row in page.rows)
    return n


def random_filters(rng: random.Random) -> list[ReportFilter]:
    out = []
    for granularity in ("day", "week", "month"):
        for _ in range(2):
            start = FIRST_DAY + timedelta(days=rng.randrange(-10, DAYS))
            end = start + timedelta(days=rng.choice([0, 3, 9, 40, 90]))
            intents = rng.choice([(), (), ("insure",), ("buyer_credit", "other")])
            province = rng.choice([None, None, "440000"])
            out.append(ReportFilter(start, end, intents, province, granularity))
    out.append(ReportFilter(clock.EARLIEST, FIRST_DAY + timedelta(days=DAYS), (), None, "month"))
    return out


def marks_of(
    report: reports.Report, rng: random.Random, manager, k: int = 6
) -> list[tuple[str, Mark, int]]:
    """(chart, mark, the chart's value) for a random sample of every chart's and table's marks."""
    flt = report.flt
    found: list[tuple[str, Mark, int]] = [("概览", Mark(), report.total)]
    ov = report.overview.set_index("指标")["当前"]
    found += [
        ("待处理", Mark(status="submitted"), int(ov["待处理"])),
        ("已完成", Mark(status="completed"), int(ov["已完成"])),
        ("超时", Mark(overdue=True), report.overdue),
    ]
    found += [("按询保内容", Mark(intent=r.intent), r.数量) for r in report.by_intent.itertuples()]
    found += [
        ("趋势", Mark(bucket=r.bucket, intent=r.intent), r.数量) for r in report.trend.itertuples()
    ]
    found += [
        ("占比", Mark(bucket=r.bucket, intent=r.intent), r.数量) for r in report.share.itertuples()
    ]
    found += [("按地区", Mark(region=r.code), r.数量) for r in report.regions.itertuples()]
    found += [
        ("处理用时", Mark(completion=str(r.序号)), r.数量)
        for r in report.completion_time.itertuples()
    ]
    found += [
        ("处理状态", Mark(intent=r.intent, status=r.status), r.数量)
        for r in report.status_mix.itertuples()
    ]
    for r in report.workload.itertuples():
        found += [
            ("工作量待处理", Mark(assignee=r.assignee, status="submitted"), r.待处理),
            ("工作量已完成", Mark(assignee=r.assignee, status="completed"), r.已完成),
            ("工作量超时", Mark(assignee=r.assignee, overdue=True), r.超时),
        ]
    if flt.province_code is None and len(report.regions):
        province = report.regions["code"].iloc[0]
        with db.session_scope(write=False) as s:
            cities = reports.volume_by_region(s, flt, province, actor=manager)
        found += [
            ("城市", Mark(region=r.code, province=province), r.数量)
            for r in cities.itertuples()
            if r.code
        ]
    nonzero = [m for m in found[4:] if m[2]]
    zero = [m for m in found[4:] if not m[2]]
    return (
        found[:4]
        + rng.sample(nonzero, min(4 * k, len(nonzero)))
        + rng.sample(zero, min(k, len(zero)))
    )


def test_every_sampled_mark_counts_what_triage_lists(inquiries_of_many_kinds):
    manager = inquiries_of_many_kinds["manager"]
    rng = random.Random(2026)
    checked = 0
    for flt in random_filters(rng):
        with db.session_scope(write=False) as s:
            report = reports.report(s, flt, actor=manager)
        for chart, mark, value in marks_of(report, rng, manager):
            assert triage_count(flt, mark, manager) == value, (chart, mark, flt)
            checked += 1
    assert checked > 100


def test_a_bucket_at_the_edge_of_the_period_counts_only_the_periods_days(inquiries_of_many_kinds):
    manager = inquiries_of_many_kinds["manager"]
    # Wednesday to the next Tuesday by weeks: both weeks are cut by the period.
    flt = ReportFilter(date(2026, 8, 5), date(2026, 8, 11), granularity="week")
    with db.session_scope(write=False) as s:
        report = reports.report(s, flt, actor=manager)
    assert report.trend["bucket"].unique().tolist() == ["2026-08-03", "2026-08-10"]
    first = drill.inquiries_of(flt, Mark(bucket="2026-08-03"))
    assert (first.submitted_from, first.submitted_to) == (date(2026, 8, 5), date(2026, 8, 9))
    for bucket in ("2026-08-03", "2026-08-10"):
        want = int(report.trend.loc[report.trend["bucket"] == bucket, "数量"].sum())
        assert triage_count(flt, Mark(bucket=bucket), manager) == want


def test_the_viewers_own_row_links_to_me_and_a_colleague_by_id(users):
    flt = ReportFilter(date(2026, 8, 1), date(2026, 8, 31))
    manager, staff = users["manager"], users["staff"]
    mine = drill.triage_params(flt, Mark(assignee=str(manager.id)), actor_id=manager.id)
    theirs = drill.triage_params(flt, Mark(assignee=str(staff.id)), actor_id=manager.id)
    nobody = drill.triage_params(flt, Mark(assignee=workload.UNASSIGNED), actor_id=manager.id)
    assert (mine["assignee"], theirs["assignee"], nobody["assignee"]) == (
        "me",
        str(staff.id),
        "none",
    )


@pytest.mark.parametrize(
    ("mark", "expected"),
    [
        (Mark(), {"status": "submitted,completed", "from": "2026-08-01", "to": "2026-08-31"}),
        (
            Mark(intent="insure", status="completed"),
            {"status": "completed", "intent": "insure", "from": "2026-08-01", "to": "2026-08-31"},
        ),
        (
            Mark(region="440000"),
            {
                "status": "submitted,completed",
                "province": "440000",
                "from": "2026-08-01",
                "to": "2026-08-31",
            },
        ),
        (
            Mark(region="440300", province="440000"),
            {
                "status": "submitted,completed",
                "province": "440000",
                "city": "440300",
                "from": "2026-08-01",
                "to": "2026-08-31",
            },
        ),
        (
            Mark(bucket="2026-08-10", overdue=True),
            {
                "status": "submitted,completed",
                "from": "2026-08-10",
                "to": "2026-08-10",
                "overdue": "1",
            },
        ),
        (
            Mark(completion="1", status="submitted"),  # a bar of 处理用时分布: completed ones
            {"status": "completed", "from": "2026-08-01", "to": "2026-08-31", "hours": "4-24"},
        ),
        # What a tampered click sends is ignored, never widened into something else.
        (
            Mark(
                intent="drop table",
                status="draft",
                region="999999",
                bucket="2026-13-01",
                assignee="x",
                completion="6",
            ),
            {"status": "submitted,completed", "from": "2026-08-01", "to": "2026-08-31"},
        ),
        (
            Mark(bucket="2025-01-01"),
            {"status": "submitted,completed", "from": "2026-08-01", "to": "2026-08-31"},
        ),
    ],
)
def test_a_mark_becomes_the_triage_pages_url(mark, expected):
    flt = ReportFilter(date(2026, 8, 1), date(2026, 8, 31), granularity="day")
    assert drill.triage_params(flt, mark) == expected


def test_the_reports_own_filters_go_along(users):
    flt = ReportFilter(date(2026, 8, 1), date(2026, 8, 31), ("insure", "other"), "440000", "week")
    params = drill.triage_params(flt, Mark(region="440300"))
    assert params["intent"] == "insure,other"
    assert (params["province"], params["city"]) == ("440000", "440300")
    # A bar of an intent the report does not show is not widened to it.
    assert drill.triage_params(flt, Mark(intent="buyer_credit"))["intent"] == "insure,other"
    everything = replace(flt, start=clock.EARLIEST)
    assert "from" not in drill.triage_params(everything)


def test_the_workload_adds_up_to_the_overview_for_random_filters(inquiries_of_many_kinds):
    manager = inquiries_of_many_kinds["manager"]
    for flt in random_filters(random.Random(5)):
        with db.session_scope(write=False) as s:
            report = reports.report(s, flt, actor=manager)
        ov = report.overview.set_index("指标")["当前"]
        wl = report.workload
        assert (wl["待处理"].sum(), wl["已完成"].sum()) == (ov["待处理"], ov["已完成"]), flt
        assert wl["超时"].sum() == report.overdue, flt
