"""The report as one file (下载报告, ``python -m dashboard report``): a self-contained HTML page.

The sentences of the page (``narrative``), every chart as inline SVG (vl-convert renders the same
altair charts the page draws) and the tables. No script, no external style sheet, image or font:
it opens offline, from a mail attachment or a shared drive, and prints. Text in the SVG stays
text, drawn with the reader's own Chinese font (``charts.FONT`` names the usual ones).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import altair as alt
import pandas as pd
from sqlmodel import Session

from dashboard import charts, narrative, regions, reports
from dashboard.narrative import Sentence
from dashboard.reports import GRANULARITIES, Report, ReportFilter
from models import User

_XML_PROLOGUE = re.compile(r"^\s*<\?xml[^>]*>\s*")

STYLE = """
body { font-family: "WenQuanYi Zen Hei", "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei",
  sans-serif; color: #1f2933; margin: 0; background: #fff; }
main { max-width: 800px; margin: 0 auto; padding: 24px 32px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 1px solid #d9dee3; }
p { line-height: 1.7; margin: 6px 0; }
.meta { color: #52606d; font-size: 14px; }
figure { margin: 12px 0 20px; overflow-x: auto; }
figure svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 14px; }
th, td { border: 1px solid #d9dee3; padding: 4px 10px; text-align: right; }
th { background: #f5f7fa; }
td:first-child, th:first-child { text-align: left; }
@media print { h2 { break-after: avoid; } figure, table { break-inside: avoid; } }
"""


def svg(chart: alt.TopLevelMixin) -> str:
    """The chart as an inline ``<svg>`` element, at the file's width."""
    import vl_convert as vlc  # a compiled extension: loaded when a file is made

    out = vlc.vegalite_to_svg(charts.for_file(chart).to_json())
    return _XML_PROLOGUE.sub("", out)


def _figure(chart: alt.TopLevelMixin, label: str) -> str:
    return f'<figure role="img" aria-label="{html.escape(label)}">{svg(chart)}</figure>'


def _sentences(sentences: list[Sentence]) -> str:
    return "".join(f"<p>{narrative.as_html(s)}</p>" for s in sentences)


def _table(df: pd.DataFrame) -> str:
    return df.to_html(index=False, border=0, escape=True, na_rep="—")


def _overview_table(report: Report) -> pd.DataFrame:
    ov = report.overview.set_index("指标")

    def show(metric: str, value) -> str:
        if value is None or pd.isna(value):
            return "—"
        if metric == "完成率":
            return narrative.fmt_pct(value)
        if metric.startswith("完成用时"):
            return narrative.duration(value)
        return narrative.fmt_int(value)

    rows = [
        (
            metric.replace("（小时）", ""),
            show(metric, ov.loc[metric, "当前"]),
            show(metric, ov.loc[metric, "上期"]),
        )
        for metric in reports.OVERVIEW_METRICS
    ]
    return pd.DataFrame(rows, columns=["指标", "本期", "上期"])


def workload_table(df: pd.DataFrame) -> pd.DataFrame:
    """人员工作量 as shown in the file (and the page's CSV): the median as a duration."""
    out = df[["负责人", "待处理", "超时", "已完成"]].copy()
    out["完成用时中位数"] = [narrative.duration(h) for h in df["完成用时中位数（小时）"]]
    return out


def summary(report: Report) -> dict[str, list[Sentence]]:
    """The sentences of the report under their headings, in the order of the page: what the file
    says in words (and the mail that carries the file, ``notify.report_mail``)."""
    said = {"概览": narrative.overview(report)}
    if report.total:
        said |= {
            "按询保内容": narrative.by_intent(report),
            "按地区": narrative.by_region(report.regions, report.flt.province_code),
            "趋势": narrative.trend(report),
            "处理效率": narrative.efficiency(report),
        }
    return said | {"人员工作量": narrative.workload(report.workload)}


def render(report: Report) -> str:
    """The report as one HTML document."""
    flt = report.flt
    sub = narrative.caption(flt)
    granularity = flt.granularity
    said = summary(report)
    parts = [
        "<h1>统计报表</h1>",
        f'<p class="meta">{html.escape(sub)}（北京时间，按提交日期；暂存不计入）<br>'
        f"生成于 {html.escape(narrative.clock_text(report))}（北京时间）</p>",
        "<h2>概览</h2>",
        _sentences(said["概览"]),
        _table(_overview_table(report)),
    ]
    if report.total:
        region_title = (
            f"{regions.name(flt.province_code)}各城市咨询数量"
            if flt.province_code
            else "各省份咨询数量"
        )
        parts += [
            "<h2>按询保内容</h2>",
            _sentences(said["按询保内容"]),
            _figure(charts.intent_bar(report.by_intent, subtitle=sub), "各类询保内容的咨询数量"),
            _figure(
                charts.intent_share(report.share, granularity, subtitle=sub), "询保内容占比变化"
            ),
            "<h2>按地区</h2>",
            _sentences(said["按地区"]),
            _figure(
                charts.region_bar(
                    report.regions, title=region_title, subtitle=sub, selectable=False
                ),
                region_title,
            ),
            "<h2>趋势</h2>",
            _sentences(said["趋势"]),
            _figure(charts.trend_chart(report.trend, granularity, subtitle=sub), "咨询量趋势"),
            "<h2>处理效率</h2>",
            _sentences(said["处理效率"]),
            _figure(
                charts.status_mix_chart(report.status_mix, subtitle=sub), "各类询保内容的处理状态"
            ),
        ]
        if report.completion_time["数量"].sum():
            parts.append(
                _figure(
                    charts.completion_time_chart(report.completion_time, subtitle=sub),
                    "处理用时分布",
                )
            )
    parts += ["<h2>人员工作量</h2>", _sentences(said["人员工作量"])]
    if report.workload["待处理"].sum():
        parts.append(
            _figure(charts.workload_chart(report.workload, subtitle=sub), "各负责人的待处理咨询")
        )
    parts.append(_table(workload_table(report.workload)))
    title = f"统计报表 {narrative.period_text(flt)}（按{GRANULARITIES[granularity]}）"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><main>{''.join(parts)}</main></body></html>\n"
    )


@dataclass(frozen=True)
class ReportFile:
    """A report made into a file: its filter, the document, its name and its sentences."""

    flt: ReportFilter
    html: str
    name: str
    summary: dict[str, list[Sentence]]


def build(session: Session, flt: ReportFilter, *, actor: User) -> ReportFile:
    """The report file for ``flt`` as ``actor`` (a manager; NotAllowed for anyone else), with
    what a mail that carries it says (``notify.queue_report``)."""
    report = reports.report(session, flt, actor=actor)
    return ReportFile(flt, render(report), file_name(flt), summary(report))


def write_report(session: Session, flt: ReportFilter, *, actor: User) -> str:
    """The report file for ``flt`` as ``actor`` (a manager; NotAllowed for anyone else)."""
    return build(session, flt, actor=actor).html


def file_name(flt: ReportFilter) -> str:
    """The file's name: 统计报表, the period and the filters (``narrative.file_stem``)."""
    return narrative.file_stem("统计报表", flt) + ".html"
