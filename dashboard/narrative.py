"""The sentences of the report (统计报表), written once for the page and the report file.

A sentence is a tuple of parts; a ``Strong`` part is shown in bold. The page renders it as
Markdown (``as_markdown``, with its escaping), the file as HTML (``as_html``), so a person's or a
region's name is escaped by whichever renders it, never half by each.
"""

from __future__ import annotations

import html
import re
from datetime import date, timedelta

import pandas as pd

from dashboard import clock, regions, reports
from dashboard.reports import GRANULARITIES, Report, ReportFilter
from dashboard.settings import get_settings
from dashboard.workload import UNASSIGNED
from models import INTENT_LABELS


class Strong(str):
    """A part of a sentence shown in bold."""


Sentence = tuple[str, ...]


def as_markdown(sentence: Sentence, escape) -> str:
    """The sentence as Markdown; ``escape`` makes plain text safe for it."""
    return "".join(f"**{escape(p)}**" if isinstance(p, Strong) else escape(p) for p in sentence)


def as_html(sentence: Sentence) -> str:
    """The sentence as HTML, every part escaped."""
    return "".join(
        f"<strong>{html.escape(p)}</strong>" if isinstance(p, Strong) else html.escape(p)
        for p in sentence
    )


def as_text(sentence: Sentence) -> str:
    """The sentence as plain text."""
    return "".join(sentence)


# ---------------------------------------------------------------------------------------------
# Numbers and the filter in words


def fmt_int(n: float | int) -> str:
    """A count as the report prints it: 1,234."""
    return f"{int(n):,}"


def fmt_pct(x: float | None) -> str:
    """A share as a whole percentage, — for none."""
    return "—" if x is None or pd.isna(x) else f"{x:.0%}"


def duration(hours: float | None) -> str:
    """A time to complete: hours under two days, else days."""
    if hours is None or pd.isna(hours):
        return "—"
    return f"{hours:.1f} 小时" if hours < 48 else f"{hours / 24:.1f} 天"


def period_text(flt: ReportFilter) -> str:
    """``2026-11-01 至 2026-11-30``; 全部 begins 最早."""
    start = "最早" if flt.since_the_beginning else flt.start.isoformat()
    return f"{start} 至 {flt.end.isoformat()}"


def caption(flt: ReportFilter) -> str:
    """The period and filters in a line: every chart's subtitle and the file's heading."""
    intents = "、".join(INTENT_LABELS[i] for i in flt.intents) if flt.intents else "全部询保内容"
    province = regions.name(flt.province_code) if flt.province_code else "全部省份"
    return f"{period_text(flt)} · {intents} · {province}"


_UNSAFE = re.compile(r'[\\/:*?"<>|\s\x00-\x1f]+')


def file_stem(name: str, flt: ReportFilter) -> str:
    """A download's file name without extension: what it is, the period and the filters, e.g.
    ``趋势_2026-11-01_2026-11-30_我要投保_广东省``."""
    parts = [
        name,
        "全部" if flt.since_the_beginning else flt.start.isoformat(),
        flt.end.isoformat(),
    ]
    parts += [INTENT_LABELS[i] for i in flt.intents]
    if flt.province_code:
        parts.append(regions.name(flt.province_code) or flt.province_code)
    return _UNSAFE.sub("_", "_".join(parts))


def change_phrase(cur: float, prev: float | None) -> str:
    """How ``cur`` compares with the previous period: 较上期增长 12%, 与上期持平…"""
    change = reports.pct_change(cur, prev)
    if change is None:
        return "上期无数据可比"
    if change == 0:
        return "与上期持平"
    word = "增长" if change > 0 else "下降"
    return f"较上期{word} {abs(change):.0%}"


# ---------------------------------------------------------------------------------------------
# The sentences of each section


def overview(report: Report) -> list[Sentence]:
    """概览: the new inquiries, their change, the largest intent, completion and its median."""
    ov = report.overview.set_index("指标")
    total = report.total
    if not total:
        return [("所选期间没有已提交的咨询。",)]
    top = report.by_intent.sort_values("数量", ascending=False, kind="stable").iloc[0]
    compare = (
        ""
        if report.flt.since_the_beginning
        else "，" + change_phrase(total, ov.loc["新增咨询", "上期"])
    )
    rate = ov.loc["完成率", "当前"]
    return [
        (
            "本期新增 ",
            Strong(fmt_int(total)),
            f" 条咨询{compare}，其中{top['询保内容']}占 {fmt_pct(top['占比'])}。",
        ),
        (
            f"已完成 {fmt_int(ov.loc['已完成', '当前'])} 条（完成率 {fmt_pct(rate)}），"
            f"完成用时中位数 {duration(ov.loc['完成用时中位数（小时）', '当前'])}。",
        ),
    ]


def by_intent(report: Report) -> list[Sentence]:
    """按询保内容: each intent with its count and share (the shares add up to 100 %)."""
    parts = "，".join(
        f"{r['询保内容']} {fmt_int(r['数量'])} 条（{fmt_pct(r['占比'])}）"
        for _, r in report.by_intent.iterrows()
    )
    return [(f"本期{parts}。",)]


def by_region(regions_df: pd.DataFrame, province_code: str | None) -> list[Sentence]:
    """The region sentence: the top provinces, or the cities of ``province_code``."""
    if regions_df.empty:
        return [("所选期间没有来自这些地区的咨询。",)]
    if province_code:
        top = regions_df.iloc[0]
        return [
            (
                f"{regions.name(province_code)}本期共 ",
                Strong(fmt_int(regions_df["数量"].sum())),
                f" 条咨询，来自 {len(regions_df)} 个城市，最多的是{top['地区']}"
                f"（{fmt_int(top['数量'])} 条）。",
            )
        ]
    shares = reports.shares_of(regions_df["数量"].tolist())
    top3 = "、".join(regions_df["地区"].head(3))
    return [(f"咨询最多的省份是{top3}，合计占 {fmt_pct(sum(shares[:3]))}。",)]


def _partial(flt: ReportFilter, bucket: str) -> bool:
    """Whether the period holds only some of the bucket's days (a week or month at its edge)."""
    day = date.fromisoformat(bucket)
    last = reports.next_bucket(day, flt.granularity) - timedelta(days=1)
    return reports.bucket_days(flt, day) != (day, last)


def trend(report: Report) -> list[Sentence]:
    """趋势: how many buckets (zeros counted, partial edges said), the mean, the peak."""
    flt = report.flt
    label = GRANULARITIES[flt.granularity]
    per_bucket = report.trend.groupby("bucket", sort=True)["数量"].sum()
    if not per_bucket.sum():
        return [("所选期间没有咨询。",)]
    peak_at = str(per_bucket.idxmax())
    peak_name = {"day": peak_at, "week": f"{peak_at} 起的一周", "month": peak_at[:7]}
    cut = (_partial(flt, per_bucket.index[0]), _partial(flt, per_bucket.index[-1]))
    if len(per_bucket) == 1:
        cut = (cut[0], False)
    edges = {(True, True): "首尾两", (True, False): "首", (False, True): "末"}.get(cut)
    note = f"，{edges}{label}不完整，只计期间内的日期" if edges else ""
    return [
        (
            f"按{label}统计共 {len(per_bucket)} 个{label}（无咨询的{label}计为 0{note}），"
            f"平均每{label} {per_bucket.mean():,.1f} 条，"
            f"最高在 {peak_name[flt.granularity]}（{fmt_int(per_bucket.max())} 条）。",
        )
    ]


def efficiency(report: Report) -> list[Sentence]:
    """处理效率: completed, the share within 24 hours, and the overdue ones."""
    mix, times = report.status_mix, report.completion_time
    done = int(mix.loc[mix["status"] == "completed", "数量"].sum())
    fast = times.loc[times["序号"] <= 1, "数量"].sum()
    return [
        (
            f"本期已完成 {fmt_int(done)} 条，其中 {fmt_pct(fast / done if done else None)} "
            "在 24 小时内完成；仍有 ",
            Strong(fmt_int(report.overdue)),
            f" 条已提交咨询超过 {get_settings().sla_working_days} 个工作日未处理（超时）。",
        )
    ]


def workload(df: pd.DataFrame) -> list[Sentence]:
    """The 人员工作量 sentences of ``dashboard.workload.workload``."""
    waiting = int(df["待处理"].sum())
    if not waiting and not int(df["已完成"].sum()):
        return [("本期没有需要处理的咨询。",)]
    unassigned = int(df.loc[df["assignee"] == UNASSIGNED, "待处理"].sum())
    people = df[df["assignee"] != UNASSIGNED]
    out: list[Sentence] = [
        (
            "本期咨询中仍有 ",
            Strong(fmt_int(waiting)),
            f" 条待处理，其中 {fmt_int(unassigned)} 条未分配。",
        )
    ]
    busiest = people.sort_values(["待处理", "超时"], ascending=False, kind="stable")
    if len(busiest) and busiest.iloc[0]["待处理"] > 0:
        top = busiest.iloc[0]
        out.append(
            (
                "待处理最多的是",
                Strong(str(top["负责人"])),
                f"（{fmt_int(top['待处理'])} 条，其中 {fmt_int(top['超时'])} 条超时）。",
            )
        )
    return out


def clock_text(report: Report) -> str:
    """When the report was made, Beijing time."""
    return clock.show(report.made_at)
