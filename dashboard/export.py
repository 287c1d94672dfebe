"""Exports of the triage list: CSV (UTF-8 with BOM, so Excel opens it) and Excel (.xlsx).

Both stream ``queries.export_rows`` — a server-side cursor read in chunks — into a binary file
object, so memory stays flat however many rows match. Headers are the Chinese column names;
codes become their labels, regions their names, times Asia/Shanghai. Every text cell that a
spreadsheet would read as a formula (it starts with = + - @, a tab or a carriage return) is
prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import BinaryIO

import xlsxwriter
from sqlmodel import Session

from dashboard import queries, regions
from dashboard.inquiries import SHANGHAI
from models import INTENT_LABELS, STATUS_LABELS, User

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
HEADERS = [header for header, _ in queries.EXPORT_COLUMNS]
_UNSAFE_NAME = re.compile(r"[^0-9A-Za-z\u4e00-\u9fff._-]+")


def neutralise(value: str) -> str:
    """A text cell that no spreadsheet evaluates as a formula."""
    return "'" + value if value and value[0] in _FORMULA_FIRST else value


_FORMULA_FIRST = frozenset("".join(FORMULA_STARTS))


def safe_filename(stem: str, extension: str) -> str:
    """A file name without path separators, quotes or control characters."""
    cleaned = _UNSAFE_NAME.sub("_", stem).strip("._") or "export"
    return f"{cleaned[:80]}.{extension}"


def _when(value: datetime | None) -> str:
    # isoformat is C-fast; strftime per cell was a tenth of a 100,000-row export
    return value.astimezone(SHANGHAI).isoformat(" ", "minutes")[:16] if value else ""


def _text(value) -> str:
    return "" if value is None else neutralise(str(value))


def _converters() -> list:
    region_names: dict[str | None, str] = {}

    def region(code: str | None) -> str:
        name = region_names.get(code)
        if name is None:
            name = region_names[code] = regions.name(code) if code else ""
        return name

    by_key = {
        "province_code": region,
        "city_code": region,
        "district_code": region,
        "intent": lambda v: INTENT_LABELS.get(v, v or ""),
        "status": lambda v: STATUS_LABELS.get(v, v or ""),
        "submitted_at": _when,
        "completed_at": _when,
    }
    return [by_key.get(key, _text) for _, key in queries.EXPORT_COLUMNS]


def display_rows(raw: Iterable[tuple]) -> Iterator[list[str]]:
    """Raw export tuples → the strings a user reads, user text neutralised."""
    converters = _converters()
    for row in raw:
        yield [convert(value) for convert, value in zip(converters, row, strict=True)]


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
    for row in display_rows(queries.export_rows(session, flt, actor=actor, sort=sort)):
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
    for n, row in enumerate(
        display_rows(queries.export_rows(session, flt, actor=actor, sort=sort)), start=1
    ):
        for col, text in enumerate(row):
            sheet.write_string(n, col, text)
    workbook.close()
    return n
