"""export: CSV with BOM and Chinese headers, Excel, formula neutralisation, every matching row
(not one page), streamed in chunks."""

from __future__ import annotations

import csv
import io
import zipfile
from xml.etree import ElementTree

import pytest
import sqlalchemy as sa

from dashboard import clock, db, export, inquiries
from dashboard.queries import InquiryFilter
from models import Inquiry
from tests.conftest import valid_form


@pytest.fixture
def submitted(engine, users):
    with db.session_scope() as s:
        ids = [
            inquiries.submit(
                s, actor=users["company"], form=valid_form(company_name=f"导出测试公司{i:03d}")
            ).id
            for i in range(120)
        ]
        inquiries.save_draft(s, actor=users["company"], form=valid_form(company_name="草稿公司"))
        # a hostile company name and contact, as if typed into the form
        s.execute(
            sa.update(Inquiry)
            .where(Inquiry.id == ids[0])
            .values(company_name='=HYPERLINK("http://x")', contact_name="@SUM(A1)")
        )
        s.execute(sa.update(Inquiry).where(Inquiry.id == ids[1]).values(contact_name="-1+2"))
        s.execute(sa.update(Inquiry).where(Inquiry.id == ids[2]).values(contact_name="\tcmd"))
        inquiries.assign(s, actor=users["staff"], inquiry_id=ids[3], assignee_id=users["staff"].id)
    return ids


def _csv(users, flt=None, **kw) -> tuple[bytes, int]:
    flt = flt or InquiryFilter()
    out = io.BytesIO()
    with db.session_scope(write=False) as s:
        n = export.write_csv(s, flt, actor=users["staff"], out=out, **kw)
    return out.getvalue(), n


def test_csv_has_a_bom_chinese_headers_and_every_matching_row(users, submitted):
    data, n = _csv(users)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == [
        "询保流水号", "公司名称", "省/市", "市", "区", "详细地址", "联系人", "联系手机",
        "联系固话", "联系邮箱", "询保内容", "其他需求", "申请状态", "负责人", "提交日期",
        "完成日期",
    ]  # fmt: skip
    assert n == len(rows) - 1 == 120  # all rows, not a page of 50; no draft
    assert "草稿公司" not in data.decode("utf-8-sig")
    body = {r[1]: r for r in rows[1:]}
    row = body["导出测试公司010"]
    assert row[2:5] == ["广东省", "深圳市", "南山区"]
    assert row[10] == "我要投保" and row[12] == "已提交"
    assert row[7] == "138****5678"  # masked: staff export contacts only when granted
    assert row[9] == "z***@example.com"
    assert "STAFF" in {r[13] for r in rows[1:]}


def test_cells_that_look_like_formulas_are_neutralised(users, submitted):
    text = _csv(users)[0].decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    cells = {c for r in rows for c in r}
    assert '\'=HYPERLINK("http://x")' in cells
    assert "'@SUM(A1)" in cells and "'-1+2" in cells and "'\tcmd" in cells
    assert not any(c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in cells)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+86", "'+86"),
        ("-5", "'-5"),
        ("@x", "'@x"),
        ("\rx", "'\rx"),
        ("公司=1", "公司=1"),
        ("", ""),
    ],
)
def test_neutralise(value, expected):
    assert export.neutralise(value) == expected


NEUTRALISE_CASES = ["=1+1", "+86", "-5", "@x", "\rx", "\tx", "公司=1", "'quoted", "x"]


def test_the_database_neutralises_cells_exactly_like_neutralise(users, submitted):
    """The export renders text in SQL; it must agree with the Python rule on every backend."""
    ids = submitted[10 : 10 + len(NEUTRALISE_CASES)]
    with db.session_scope() as s:
        for inquiry_id, value in zip(ids, NEUTRALISE_CASES, strict=True):
            s.execute(sa.update(Inquiry).where(Inquiry.id == inquiry_id).values(contact_name=value))
    rows = list(csv.reader(io.StringIO(_csv(users)[0].decode("utf-8-sig"))))
    contact = {r[0]: r[6] for r in rows[1:]}
    with db.session_scope(write=False) as s:
        serials = dict(s.execute(sa.select(Inquiry.id, Inquiry.serial)).all())
    for inquiry_id, value in zip(ids, NEUTRALISE_CASES, strict=True):
        assert contact[serials[inquiry_id]] == export.neutralise(value)


def test_times_are_shanghai_minutes_and_codes_are_labels(users, submitted):
    with db.session_scope() as s:
        inquiries.complete(s, actor=users["staff"], inquiry_ids=[submitted[5]], note="已处理")
    with db.session_scope(write=False) as s:
        done = s.get(Inquiry, submitted[5])
        waiting = s.get(Inquiry, submitted[6])
    rows = {r[0]: r for r in csv.reader(io.StringIO(_csv(users)[0].decode("utf-8-sig")))}

    def local(t):
        return t.astimezone(clock.SHANGHAI).strftime("%Y-%m-%d %H:%M")

    assert rows[done.serial][12] == "已完成"
    assert rows[done.serial][14:] == [local(done.submitted_at), local(done.completed_at)]
    assert rows[waiting.serial][14:] == [local(waiting.submitted_at), ""]
    assert rows[waiting.serial][11] == ""  # no other needs: empty, not "None"


def test_export_follows_the_filter(users, submitted):
    data, n = _csv(users, InquiryFilter(search="导出测试公司00"))
    assert n == 9  # 001..009 (000 was renamed)


def test_export_is_streamed_in_chunks(users, submitted, monkeypatch):
    """The rows come from a cursor in chunks and the CSV is written in pieces, never whole."""
    writes: list[int] = []

    class Sink(io.BytesIO):
        def write(self, b):
            writes.append(len(b))
            return super().write(b)

    seen = {}
    original = export.export_rows

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return original(*args, **kwargs, chunk_size=25)

    monkeypatch.setattr(export, "export_rows", spy)
    with db.session_scope(write=False) as s:
        n = export.write_csv(s, InquiryFilter(), actor=users["staff"], out=Sink(), chunk_rows=25)
    assert n == 120
    assert len(writes) == 120 // 25 + 1


def test_excel_export_has_headers_and_every_row_as_text(users, submitted, tmp_path):
    path = tmp_path / "x.xlsx"
    with db.session_scope(write=False) as s, path.open("wb") as out:
        n = export.write_xlsx(s, InquiryFilter(), actor=users["staff"], out=out)
    rows = _xlsx_rows(path)
    assert n == len(rows) - 1 == 120
    assert rows[0][:2] == ("询保流水号", "公司名称")
    names = {r[1] for r in rows[1:]}
    assert '\'=HYPERLINK("http://x")' in names
    assert all(isinstance(v, str) for r in rows for v in r if v is not None)


NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


def _xlsx_rows(path) -> list[tuple]:
    """The cell values of the first sheet (a tiny reader: shared or inline strings only)."""
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        shared = []
        if "xl/sharedStrings.xml" in names:
            root = ElementTree.fromstring(z.read("xl/sharedStrings.xml"))
            shared = ["".join(t.text or "" for t in si.iter(f"{{{NS['m']}}}t")) for si in root]
        sheet = ElementTree.fromstring(z.read("xl/worksheets/sheet1.xml"))
    rows = []
    for row in sheet.iter(f"{{{NS['m']}}}row"):
        values = []
        for cell in row.findall("m:c", NS):
            kind = cell.get("t")
            if kind == "s":
                values.append(shared[int(cell.find("m:v", NS).text)])
            elif kind == "inlineStr":
                values.append("".join(t.text or "" for t in cell.iter(f"{{{NS['m']}}}t")))
            else:
                v = cell.find("m:v", NS)
                values.append(None if v is None else v.text)
        rows.append(tuple(values))
    return rows


@pytest.mark.parametrize(
    ("stem", "expected"),
    [
        ("询保申请_20260101_1200", "询保申请_20260101_1200.csv"),
        ("../../etc/passwd", "etc_passwd.csv"),
        ('a"b\r\nc', "a_b_c.csv"),
        ("", "export.csv"),
    ],
)
def test_safe_file_names(stem, expected):
    assert export.safe_filename(stem, "csv") == expected
