"""The Excel export, read back with openpyxl: the sheet, headers, every row as text, masked and
unmasked contact columns, Shanghai times; and the workbook is, part for part, the one
xlsxwriter's own ``constant_memory`` writer makes of the same rows (the export writes the rows'
XML itself, several times faster)."""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest
import sqlalchemy as sa
import xlsxwriter

from dashboard import clock, db, export, inquiries, privacy
from dashboard.queries import InquiryFilter
from models import Inquiry
from tests.conftest import valid_form

TRICKY = (
    '=HYPERLINK("http://x")',
    " leading and trailing ",
    "a & b < c > d",
    "bell\x07 and _x0041_ literal",
    "tab\there",
    "line\nbreak",
    "\u3000全角空格",
    "non-char \ufffe",
)


@pytest.fixture
def rows(engine, users):
    with db.session_scope() as s:
        ids = [
            inquiries.submit(
                s, actor=users["company"], form=valid_form(company_name=f"表格公司{i:03d}")
            ).id
            for i in range(30)
        ]
        for inquiry_id, text in zip(ids, TRICKY, strict=False):
            s.execute(sa.update(Inquiry).where(Inquiry.id == inquiry_id).values(contact_name=text))
        inquiries.complete(s, actor=users["staff"], inquiry_ids=ids[:3], note="已处理")
        inquiries.save_draft(s, actor=users["company"], form=valid_form(company_name="草稿公司"))
    return ids


def _xlsx(users, actor="staff", **kw) -> bytes:
    out = io.BytesIO()
    with db.session_scope() as s:
        n = export.write_xlsx(s, InquiryFilter(), actor=users[actor], out=out, **kw)
    data = out.getvalue()
    assert n == openpyxl.load_workbook(io.BytesIO(data)).active.max_row - 1
    return data


def _cells(data: bytes) -> list[list[str | None]]:
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    assert book.sheetnames == ["询保申请"]
    return [list(r) for r in book["询保申请"].iter_rows(values_only=True)]


def test_the_workbook_has_the_headers_and_every_row_as_text(users, rows):
    data = _xlsx(users)
    table = _cells(data)
    assert table[0] == export.HEADERS
    assert len(table) == 31  # no draft
    body = table[1:]
    assert all(isinstance(v, str) for r in body for v in r if v is not None)
    by_serial = {r[0]: r for r in body}
    with db.session_scope(write=False) as s:
        stored = {i.serial: i for i in s.exec(sa.select(Inquiry)).scalars()}
    for serial, row in by_serial.items():
        inquiry = stored[serial]
        assert row[1] == inquiry.company_name
        assert row[2:5] == ["广东省", "深圳市", "南山区"]
        assert row[7] == privacy.mask_mobile(inquiry.mobile)  # staff: masked
        assert row[9] == privacy.mask_email(inquiry.email)
        local = inquiry.submitted_at.astimezone(clock.SHANGHAI).strftime("%Y-%m-%d %H:%M")
        assert row[14] == local
        if inquiry.completed_at is not None:
            assert row[12] == "已完成"
            done = inquiry.completed_at.astimezone(clock.SHANGHAI).strftime("%Y-%m-%d %H:%M")
            assert row[15] == done
        else:
            assert row[12] == "已提交" and row[15] in ("", None)
    contacts = {r[6] for r in body}
    assert '\'=HYPERLINK("http://x")' in contacts
    assert " leading and trailing " in contacts and "a & b < c > d" in contacts
    assert "tab\there" in contacts and "line\nbreak" in contacts
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book["询保申请"]
    assert sheet["A1"].font.b and not sheet["A2"].font.b
    assert sheet.column_dimensions["A"].width == pytest.approx(22.7109375)
    assert sheet.column_dimensions["B"].width == pytest.approx(30.7109375)
    assert sheet.dimensions == "A1:P31"


def test_a_granted_export_has_the_contact_data_unmasked(engine, users, rows):
    with db.session_scope() as s:
        privacy.set_export_contacts(
            s, actor=users["admin"], user_id=users["staff"].id, allowed=True
        )
    table = _cells(_xlsx(users, contacts=True))
    with db.session_scope(write=False) as s:
        stored = {i.serial: i for i in s.exec(sa.select(Inquiry)).scalars()}
    for row in table[1:]:
        assert row[7] == stored[row[0]].mobile and row[9] == stored[row[0]].email


def test_an_empty_export_is_the_header_row(users):
    table = _cells(_xlsx(users))
    assert table == [export.HEADERS]


def _reference(users) -> bytes:
    """The same rows through xlsxwriter's own writer, cell by cell (the export before it wrote
    the rows' XML itself)."""
    out = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        out, {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    sheet = workbook.add_worksheet("询保申请")
    bold = workbook.add_format({"bold": True})
    for col, header in enumerate(export.HEADERS):
        sheet.write_string(0, col, header, bold)
    sheet.set_column(0, 0, 22)
    sheet.set_column(1, 1, 30)
    with db.session_scope(write=False) as s:
        found = export.display_rows(s, InquiryFilter(), actor=users["staff"], sort="-submitted_at")
        for n, row in enumerate(found, start=1):
            for col, text in enumerate(row):
                sheet.write_string(n, col, text)
    workbook.close()
    return out.getvalue()


def test_the_workbook_is_the_one_xlsxwriter_writes(users, rows):
    ours, theirs = (
        zipfile.ZipFile(io.BytesIO(_xlsx(users))),
        zipfile.ZipFile(io.BytesIO(_reference(users))),
    )
    assert [i.filename for i in ours.infolist()] == [i.filename for i in theirs.infolist()]
    for name in ours.namelist():
        if name == "docProps/core.xml":  # the creation time
            continue
        assert ours.read(name) == theirs.read(name), name


@pytest.mark.parametrize("text", [*TRICKY, "", "x" * 40000, "_x00A0_", "\x00\x1f"])
def test_each_cell_is_escaped_as_xlsxwriter_escapes_it(text):
    out = io.BytesIO()
    workbook = xlsxwriter.Workbook(out, {"constant_memory": True})
    workbook.add_worksheet().write_string(0, 0, text)
    workbook.close()
    sheet = zipfile.ZipFile(out).read("xl/worksheets/sheet1.xml").decode()
    cell = sheet[sheet.index("<is>") + 4 : sheet.index("</is>")]
    assert export._xlsx_text(text) == cell
    row = [text, "plain"]
    if export._xlsx_plain("\x7f".join(row)):  # the quick test of a row never lets one through
        assert all(export._xlsx_text(t) == f"<t>{t}</t>" for t in row)
