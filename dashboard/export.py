"""Exports of the triage list: CSV (UTF-8 with BOM, so Excel opens it) and Excel (.xlsx).

Both stream ``export_rows`` — a server-side cursor read in chunks — into a binary file object,
so memory stays flat however many rows match. Headers are the Chinese column names; codes become
their labels and times Asia/Shanghai minutes in the query itself (rendering them in Python per
cell was half of a 100,000-row export), regions their names here. Every text cell that a
spreadsheet would read as a formula (it starts with = + - @, a tab or a carriage return) is
prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from typing import BinaryIO

import sqlalchemy as sa
import xlsxwriter
from sqlalchemy.orm import aliased
from sqlmodel import Session

from dashboard import accounts, dialect, queries, regions
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
) -> Iterator[tuple]:
    """Every matching row as a tuple of raw values in ``EXPORT_COLUMNS`` order (codes, UTC
    datetimes), streamed from a server-side cursor in chunks of ``chunk_size``: memory stays
    flat however many rows match. ``render(key, column, backend)``, when given, replaces each
    column by an expression of it (the exports turn codes and times into text in SQL)."""
    actor = accounts.require_role(session, actor, *queries.VIEWER_ROLES)
    backend = dialect.name(session)
    conds = queries.where(flt, actor=actor, dialect=backend).clauses()
    assignee = aliased(User)
    label = sa.func.coalesce(assignee.display_name, assignee.username)
    columns = [label if key == "assignee" else getattr(Inquiry, key) for _, key in EXPORT_COLUMNS]
    if render is not None:
        columns = [
            render(key, column, backend)
            for (_, key), column in zip(EXPORT_COLUMNS, columns, strict=True)
        ]
    stmt = (
        sa.select(*columns)
        .select_from(Inquiry)
        .join(assignee, assignee.id == Inquiry.assignee_id, isouter=True)
        .where(*conds)
        .order_by(*queries.SORTS.get(sort, queries.SORTS["-submitted_at"]))
        .execution_options(yield_per=chunk_size, stream_results=True)
    )
    result = session.execute(stmt)
    try:
        for row in result:
            yield tuple(row)
    finally:
        result.close()


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
    session: Session, flt: queries.InquiryFilter, *, actor: User, sort: str
) -> Iterator[list[str]]:
    """The matching inquiries as the strings a user reads (labels, region names, Shanghai
    times), user text neutralised."""
    keys = [key for _, key in EXPORT_COLUMNS]
    regions_at = [i for i, key in enumerate(keys) if key in REGION_KEYS]
    names: dict[str | None, str] = {None: ""}
    for raw in export_rows(session, flt, actor=actor, sort=sort, render=_rendered):
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
) -> int:
    """Write every matching inquiry as CSV to ``out``; returns the number of rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write(BOM)
    writer.writerow(HEADERS)
    n = 0
    for row in display_rows(session, flt, actor=actor, sort=sort):
        writer.writerow(row)
        n += 1
        if n % chunk_rows == 0:
            out.write(buffer.getvalue().encode("utf-8"))
            buffer.seek(0)
            buffer.truncate()
    out.write(buffer.getvalue().encode("utf-8"))
    return n


def write_xlsx(
    session: Session,
    flt: queries.InquiryFilter,
    *,
    actor: User,
    out: BinaryIO,
    sort: str = "-submitted_at",
) -> int:
    """Write every matching inquiry as an Excel workbook to ``out``; returns the number of rows.

    ``constant_memory`` flushes each row to a temporary file as it is written. Cells are written
    as strings (never formulas), neutralised as in CSV for spreadsheets that re-evaluate text.
    """
    workbook = xlsxwriter.Workbook(
        out, {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    sheet = workbook.add_worksheet("询保申请")
    bold = workbook.add_format({"bold": True})
    for col, header in enumerate(HEADERS):
        sheet.write_string(0, col, header, bold)
    sheet.set_column(0, 0, 22)
    sheet.set_column(1, 1, 30)
    n = 0
    for n, row in enumerate(display_rows(session, flt, actor=actor, sort=sort), start=1):
        for col, text in enumerate(row):
            sheet.write_string(n, col, text)
    workbook.close()
    return n
