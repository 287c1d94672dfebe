"""Exports of the triage list: CSV (UTF-8 with BOM, so Excel opens it) and Excel (.xlsx).

Both stream ``export_rows`` — a server-side cursor read in chunks — into a binary file object,
so memory stays flat however many rows match. Headers are the Chinese column names; codes become
their labels and times Asia/Shanghai minutes in the query itself (rendering them in Python per
cell was half of a 100,000-row export), regions their names here. Every text cell that a
spreadsheet would read as a formula (it starts with = + - @, a tab or a carriage return) is
prefixed with an apostrophe. Staff exports show contact data masked unless the account holds the
grant 导出含联系方式 and asks for it; those exports are in the access log (``dashboard.privacy``).
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from typing import BinaryIO

import sqlalchemy as sa
import xlsxwriter
from sqlalchemy.orm import aliased
from sqlmodel import Session

from dashboard import accounts, dialect, privacy, queries, regions
from models import INTENT_LABELS, STATUS_LABELS, Inquiry, User

#: Columns of an export, in order: (header, key).
EXPORT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("询保流水号", "serial"),
    ("公司名称", "company_name"),
    ("省/市", "province_code"),
    ("市", "city_code"),
    ("区", "district_code"),
    ("详细地址", "address_detail"),
    ("联系人", "contact_name"),
    ("联系手机", "mobile"),
    ("联系固话", "landline"),
    ("联系邮箱", "email"),
    ("询保内容", "intent"),
    ("其他需求", "other_needs"),
    ("申请状态", "status"),
    ("负责人", "assignee"),
    ("提交日期", "submitted_at"),
    ("完成日期", "completed_at"),
)
BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
HEADERS = [header for header, _ in EXPORT_COLUMNS]
_UNSAFE_NAME = re.compile(r"[^0-9A-Za-z\u4e00-\u9fff._-]+")


def neutralise(value: str) -> str:
    """A text cell that no spreadsheet evaluates as a formula."""
    return "'" + value if value and value[0] in _FORMULA_FIRST else value


_FORMULA_FIRST = frozenset("".join(FORMULA_STARTS))


def safe_filename(stem: str, extension: str) -> str:
    """A file name without path separators, quotes or control characters."""
    cleaned = _UNSAFE_NAME.sub("_", stem).strip("._") or "export"
    return f"{cleaned[:80]}.{extension}"


def export_rows(
    session: Session,
    flt: queries.InquiryFilter,
    *,
    actor: User,
    sort: str = "-submitted_at",
    chunk_size: int = 2000,
    render: Callable[[str, sa.ColumnElement, str], sa.ColumnElement] | None = None,
    contacts: bool = False,
    kind: str = "rows",
) -> Iterator[tuple]:
    """Every matching row as a tuple of raw values in ``EXPORT_COLUMNS`` order (codes, UTC
    datetimes), streamed from a server-side cursor in chunks of ``chunk_size``: memory stays
    flat however many rows match. ``render(key, column, backend)``, when given, replaces each
    column by an expression of it (the exports turn codes and times into text in SQL).

    Staff and managers get the contact numbers and e-mail masked unless they ask for
    ``contacts`` (导出含联系方式, NotAllowed without an administrator's grant). Such an export is
    written to the access log before its first row is read, and its row count once it has been
    read, in this transaction (call it in a write scope): a log that cannot be written fails the
    export. A company's export of its own inquiries is never masked."""
    actor = accounts.require_role(session, actor, *queries.VIEWER_ROLES, write=contacts)
    masked = privacy.export_masked(actor, contacts=contacts)
    backend = dialect.name(session)
    conds = queries.where(flt, actor=actor, dialect=backend).clauses()
    assignee = aliased(User)
    label = sa.func.coalesce(assignee.display_name, assignee.username)
    columns = [label if key == "assignee" else getattr(Inquiry, key) for _, key in EXPORT_COLUMNS]
    # Masked here, not in SQL: the mask is written once (privacy.MASKS); a masked value is
    # neutralised after masking, as ``render`` would have done to the stored one.
    masks = {
        i: privacy.MASKS[key]
        for i, (_, key) in enumerate(EXPORT_COLUMNS)
        if masked and key in privacy.MASKS
    }
    if render is not None:
        columns = [
            column if i in masks else render(key, column, backend)
            for i, ((_, key), column) in enumerate(zip(EXPORT_COLUMNS, columns, strict=True))
        ]
    stmt = (
        sa.select(*columns)
        .select_from(Inquiry)
        .join(assignee, assignee.id == Inquiry.assignee_id, isouter=True)
        .where(*conds)
        .order_by(*queries.SORTS.get(sort, queries.SORTS["-submitted_at"]))
        .execution_options(yield_per=chunk_size, stream_results=True)
    )
    logged = (
        privacy.log_export(session, actor=actor, flt=flt, kind=kind)
        if contacts and actor.role in privacy.STAFF_ROLES
        else None
    )
    result = session.execute(stmt)
    n = 0
    try:
        for row in result:
            if masks:
                row = list(row)
                for i, mask in masks.items():
                    row[i] = mask(row[i])
                    if render is not None:
                        row[i] = neutralise(row[i])
            yield tuple(row)
            n += 1
    finally:
        result.close()
        if logged is not None:
            privacy.finish_export(session, logged, n)


def _neutralised(column: sa.ColumnElement) -> sa.ColumnElement:
    """``neutralise`` in SQL, '' for none."""
    text = sa.func.coalesce(column, "")
    first = sa.func.substr(text, 1, 1)
    return sa.case((first.in_(FORMULA_STARTS), sa.literal("'") + text), else_=text)


def _labelled(column: sa.ColumnElement, labels: dict[str, str]) -> sa.ColumnElement:
    return sa.case(labels, value=column, else_=sa.func.coalesce(column, ""))


REGION_KEYS = ("province_code", "city_code", "district_code")


def _rendered(key: str, column: sa.ColumnElement, backend: dialect.Name) -> sa.ColumnElement:
    """Each export column as the text a user reads, computed by the database (about twice as
    fast as making the same text per cell in Python: BENCHMARKS.md); region codes stay codes,
    named from the code table here."""
    if key in ("submitted_at", "completed_at"):
        return dialect.local_minutes(column, backend)
    if key == "intent":
        return _labelled(column, INTENT_LABELS)
    if key == "status":
        return _labelled(column, STATUS_LABELS)
    if key in REGION_KEYS:
        return column
    return _neutralised(column)


def display_rows(
    session: Session,
    flt: queries.InquiryFilter,
    *,
    actor: User,
    sort: str,
    contacts: bool = False,
    kind: str = "rows",
) -> Iterator[list[str]]:
    """The matching inquiries as the strings a user reads (labels, region names, Shanghai
    times), user text neutralised; contact data as ``export_rows`` gives it."""
    keys = [key for _, key in EXPORT_COLUMNS]
    regions_at = [i for i, key in enumerate(keys) if key in REGION_KEYS]
    names: dict[str | None, str] = {None: ""}
    rows = export_rows(
        session, flt, actor=actor, sort=sort, render=_rendered, contacts=contacts, kind=kind
    )
    for raw in rows:
        row = list(raw)
        for i in regions_at:
            code = row[i]
            name = names.get(code)
            if name is None:
                name = names[code] = regions.name(code) if code else ""
            row[i] = name
        yield row


def write_csv(
    session: Session,
    flt: queries.InquiryFilter,
    *,
    actor: User,
    out: BinaryIO,
    sort: str = "-submitted_at",
    chunk_rows: int = 2000,
    contacts: bool = False,
) -> int:
    """Write every matching inquiry as CSV to ``out``; returns the number of rows. Contact
    data masked for staff unless ``contacts`` (see ``export_rows``)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write(BOM)
    writer.writerow(HEADERS)
    n = 0
    for row in display_rows(session, flt, actor=actor, sort=sort, contacts=contacts, kind="CSV"):
        writer.writerow(row)
        n += 1
        if n % chunk_rows == 0:
            out.write(buffer.getvalue().encode("utf-8"))
            buffer.seek(0)
            buffer.truncate()
    out.write(buffer.getvalue().encode("utf-8"))
    return n


def _xlsx_template() -> bytes:
    """The workbook of an export without its rows, as xlsxwriter makes it: the sheet 询保申请 with
    the bold header row and the column widths (``write_xlsx`` streams the rows into it)."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        buffer, {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    sheet = workbook.add_worksheet("询保申请")
    bold = workbook.add_format({"bold": True})
    for col, header in enumerate(HEADERS):
        sheet.write_string(0, col, header, bold)
    sheet.set_column(0, 0, 22)
    sheet.set_column(1, 1, 30)
    workbook.close()
    return buffer.getvalue()


#: A cell text that needs more than copying into the XML: markup characters, control characters
#: (and text that looks like their ``_xHHHH_`` escape), the two non-characters, or whitespace at
#: either end (``xml:space="preserve"``).
_XLSX_SPECIAL = re.compile(r"[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9a-fA-F]{4}_|^\s|\s$")
#: The quick test of a whole row, its cells joined by DEL: none of these characters (markup,
#: control characters, whitespace other than the space, the non-characters), no ``_x`` and no
#: space at an end of a cell (``_xlsx_plain``). Such a row is written with one format call.
_XLSX_ROW_CHARS = re.compile(
    "[&<>\x00-\x1f\ufffe\uffff"
    + "".join(chr(c) for c in range(0x80, 0x3001) if chr(c).isspace())
    + "]"
)
_XLSX_ESCAPED_ESCAPE = re.compile(r"(_x[0-9a-fA-F]{4}_)")
_XLSX_CONTROL = re.compile(r"([\x00-\x08\x0b-\x1f])")
_XLSX_MAX_TEXT = 32767  # characters in one cell
_XLSX_SHEET = "xl/worksheets/sheet1.xml"


def _xlsx_text(text: str) -> str:
    """``<t>…</t>`` of an inline string, exactly as xlsxwriter's ``constant_memory`` mode writes
    it: control characters as ``_xHHHH_`` (a literal ``_xHHHH_`` with its underscore escaped),
    ``&``, ``<`` and ``>`` as entities, and ``xml:space="preserve"`` for whitespace at an end."""
    text = text[:_XLSX_MAX_TEXT]
    if not _XLSX_SPECIAL.search(text):
        return "<t>" + text + "</t>"
    text = _XLSX_ESCAPED_ESCAPE.sub(r"_x005F\1", text)
    text = _XLSX_CONTROL.sub(lambda m: f"_x{ord(m.group(1)):04X}_", text)
    text = text.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")
    preserve = text[:1].isspace() or text[-1:].isspace()
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return ('<t xml:space="preserve">' if preserve else "<t>") + text + "</t>"


def _xlsx_plain(joined: str) -> bool:
    """Whether every cell of a row (joined by DEL) is written as it is (``_xlsx_text``)."""
    return not (
        len(joined) > _XLSX_MAX_TEXT
        or _XLSX_ROW_CHARS.search(joined)
        or "_x" in joined
        or joined[:1] == " "
        or joined[-1:] == " "
        or " \x7f" in joined
        or "\x7f " in joined
    )


def _xlsx_rows(rows: Iterator[list[str]], body: BinaryIO, chunk_rows: int) -> int:
    """Write ``rows`` (row 2 on) as the ``<row>`` elements of the sheet; returns how many."""
    letters = [xlsxwriter.utility.xl_col_to_name(col) for col in range(len(HEADERS))]
    # One row of plain cells: {0} the row number, {1}… the texts.
    plain = (
        '<row r="{0}">'
        + "".join(
            f'<c r="{letter}{{0}}" t="inlineStr"><is><t>{{{i}}}</t></is></c>'
            for i, letter in enumerate(letters, start=1)
        )
        + "</row>"
    )
    cell = '<c r="{}{}" t="inlineStr"><is>{}</is></c>'
    parts: list[str] = []
    n = 0
    for n, row in enumerate(rows, start=1):
        joined = "\x7f".join(row)
        if _xlsx_plain(joined):
            parts.append(plain.format(n + 1, *row))
        else:
            r = n + 1
            cells = "".join(
                cell.format(letter, r, _xlsx_text(text))
                for letter, text in zip(letters, row, strict=True)
            )
            parts.append(f'<row r="{r}">{cells}</row>')
        if n % chunk_rows == 0:
            body.write("".join(parts).encode("utf-8"))
            parts.clear()
    body.write("".join(parts).encode("utf-8"))
    return n


def write_xlsx(
    session: Session,
    flt: queries.InquiryFilter,
    *,
    actor: User,
    out: BinaryIO,
    sort: str = "-submitted_at",
    contacts: bool = False,
    chunk_rows: int = 2000,
) -> int:
    """Write every matching inquiry as an Excel workbook to ``out``; returns the number of rows.
    Contact data masked for staff unless ``contacts`` (see ``export_rows``).

    The workbook is xlsxwriter's (``_xlsx_template``: sheet, header, formats, widths); the rows
    are written into its sheet here, as the same inline-string cells xlsxwriter's
    ``constant_memory`` mode writes, in chunks to a temporary file, then compressed into the
    package. Writing each cell through xlsxwriter cost about 10 µs a cell, 17 s for 100,000
    rows of 16 columns (BENCHMARKS.md). Cells are strings (never formulas), neutralised as in
    CSV for spreadsheets that re-evaluate text.
    """
    template = _xlsx_template()
    rows = display_rows(session, flt, actor=actor, sort=sort, contacts=contacts, kind="Excel")
    with tempfile.TemporaryFile() as body:
        n = _xlsx_rows(rows, body, chunk_rows)
        body.seek(0)
        last = xlsxwriter.utility.xl_col_to_name(len(HEADERS) - 1)
        with (
            zipfile.ZipFile(io.BytesIO(template)) as source,
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as package,
        ):
            for info in source.infolist():
                if info.filename != _XLSX_SHEET:
                    package.writestr(info, source.read(info), zipfile.ZIP_DEFLATED, 6)
                    continue
                head, tail = source.read(info).decode("utf-8").split("</sheetData>")
                head = head.replace(
                    f'<dimension ref="A1:{last}1"/>', f'<dimension ref="A1:{last}{n + 1}"/>'
                )
                entry = zipfile.ZipInfo(info.filename, date_time=info.date_time)
                entry.compress_type = zipfile.ZIP_DEFLATED
                with package.open(entry, "w", force_zip64=True) as sheet:
                    sheet.write(head.encode("utf-8"))
                    shutil.copyfileobj(body, sheet, 1 << 20)
                    sheet.write(("</sheetData>" + tail).encode("utf-8"))
    return n
