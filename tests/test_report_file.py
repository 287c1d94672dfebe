"""The report as one file (下载报告, ``python -m dashboard report``): parsed, it holds the
sentences, at least three SVG charts and the tables, and nothing that loads from elsewhere (no
script, no http(s) URL in a src or href, no remote style or font); user text is escaped; the
command writes it as the manager it names (or the only one), and refuses anyone else."""

from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa
from sqlmodel import select

from dashboard import __main__ as cli
from dashboard import accounts, db, report_file, reports
from dashboard.errors import NotAllowed
from dashboard.reports import ReportFilter
from models import Inquiry
from tests.conftest import PASSWORD
from tests.report_data import make_inquiries

WEEK = ReportFilter(date(2026, 11, 23), date(2026, 11, 29), granularity="day")
MONTH = ReportFilter(date(2026, 11, 1), date(2026, 11, 29), granularity="day")
HOSTILE = '<img src="http://example.com/x.png">'


class Page(HTMLParser):
    """What the checks need of the document: tags with their attributes, text, style text."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.styles: list[str] = []
        self._in_style = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        (self.styles if self._in_style else self.text).append(data)

    def named(self, tag: str) -> list[dict]:
        return [attrs for name, attrs in self.tags if name == tag]


@pytest.fixture
def seeded(engine, users):
    people = [users["staff"].id, users["staff2"].id, users["manager"].id, None]
    make_inquiries(users, n=120, first_day=date(2026, 11, 1), days=29, assignees=people)
    with db.session_scope() as s:
        odd = accounts.create_user(
            s, username="odd", password=PASSWORD, role="staff", display_name=HOSTILE
        )
        first = s.exec(
            select(Inquiry).where(Inquiry.status == "submitted").order_by(Inquiry.id.desc())
        ).first()
        s.execute(sa.update(Inquiry).where(Inquiry.id == first.id).values(assignee_id=odd.id))
    return users


def make(flt: ReportFilter, actor) -> str:
    with db.session_scope(write=False) as s:
        return report_file.write_report(s, flt, actor=actor)


def test_the_file_holds_sentences_charts_and_tables_and_loads_nothing(seeded):
    text = make(MONTH, seeded["manager"])
    page = Page(text)
    assert text.startswith("<!DOCTYPE html>")
    assert page.named("meta")[0] == {"charset": "utf-8"}
    words = "".join(page.text)
    for heading in ("统计报表", "概览", "按询保内容", "按地区", "趋势", "处理效率", "人员工作量"):
        assert heading in [t for t in page.text]
    assert re.search(r"本期新增 [\d,]+ 条咨询", words)
    assert "按日统计共 29 个日" in words
    assert "2026-11-01 至 2026-11-29" in words
    assert len(page.named("svg")) >= 3
    assert len(page.named("table")) >= 2
    # Nothing from elsewhere: no script at all, no remote src or href, no remote style or font.
    assert page.named("script") == []
    assert page.named("link") == []
    for _tag, attrs in page.tags:
        for name in ("src", "href", "xlink:href"):
            assert not re.match(r"\s*(https?:)?//", attrs.get(name) or "", re.I), attrs
    style = "".join(page.styles)
    assert "@import" not in style and "@font-face" not in style and "url(" not in style
    # A display name is text, not markup.
    assert HOSTILE not in text and "&lt;img src=" in text


def test_the_numbers_of_the_file_are_the_reports(seeded):
    manager = seeded["manager"]
    with db.session_scope(write=False) as s:
        report = reports.report(s, WEEK, actor=manager)
    words = "".join(Page(report_file.render(report)).text)
    assert f"本期新增 {report.total:,} 条咨询" in words
    for row in report.workload.itertuples():
        assert row.负责人 in words


def test_an_empty_period_still_makes_a_readable_file(seeded):
    empty = ReportFilter(date(2020, 1, 6), date(2020, 1, 12), granularity="day")
    page = Page(make(empty, seeded["manager"]))
    assert "所选期间没有已提交的咨询。" in page.text
    assert "人员工作量" in page.text


def test_only_a_manager_gets_the_file(seeded):
    with pytest.raises(NotAllowed):
        make(WEEK, seeded["staff"])


def test_the_file_name_says_the_period_and_filters():
    flt = ReportFilter(date(2026, 11, 23), date(2026, 11, 29), ("insure",), "440000", "day")
    assert report_file.file_name(flt) == "统计报表_2026-11-23_2026-11-29_我要投保_广东省.html"


# ---------------------------------------------------------------------------------------------
# python -m dashboard report


def test_the_command_writes_the_week_as_the_only_manager(seeded, tmp_path, capsys):
    out = tmp_path / "week.html"
    argv = ["report", "--from", "2026-11-23", "--to", "2026-11-29", "--out", str(out)]
    assert cli.main(argv) == 0
    assert "2026-11-23 至 2026-11-29" in capsys.readouterr().out
    page = Page(out.read_text(encoding="utf-8"))
    assert len(page.named("svg")) >= 3 and page.named("script") == []
    assert "2026-11-23 至 2026-11-29" in "".join(page.text)


def test_the_command_names_the_manager_when_there_are_several(seeded, tmp_path, capsys):
    with db.session_scope() as s:
        accounts.create_user(s, username="boss2", password=PASSWORD, role="manager")
    out = tmp_path / "r.html"
    assert cli.main(["report", "--out", str(out)]) == 2
    assert "--as" in capsys.readouterr().err and not out.exists()
    assert cli.main(["report", "--as", "boss2", "--out", str(out)]) == 0
    assert out.exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["--as", "staff"],
        ["--as", "nobody"],
        ["--from", "2026-13-01"],
        ["--from", "2026-11-29", "--to", "2026-11-23"],
        ["--province", "999999"],
    ],
)
def test_the_command_refuses_what_is_not_right(seeded, tmp_path, argv, capsys):
    out = tmp_path / "r.html"
    assert cli.main(["report", "--out", str(out), *argv]) == 2
    assert capsys.readouterr().err and not out.exists()
