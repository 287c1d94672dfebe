"""Widgets that several pages draw alike: a read-only table with fixed column widths, a select
whose empty choice means "all", and a multiselect of codes shown by their Chinese labels."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st


@dataclass(frozen=True)
class Column:
    """One column of a ``table``: its label, its width in pixels (chosen so that the table fits
    a laptop's window), and what it shows of a row."""

    label: str
    width: int
    value: Callable[[Any], Any]
    #: A number column (right-aligned) rather than text.
    number: bool = False
    help: str | None = None

    def config(self):
        kind = st.column_config.NumberColumn if self.number else st.column_config.TextColumn
        return kind(width=self.width, help=self.help)


def table(rows: Iterable[Any], columns: Iterable[Column], **kwargs: Any) -> None:
    """``rows`` as a read-only table, one line each; ``kwargs`` go to ``st.dataframe``. User
    text in it is plain (a data frame renders no markdown)."""
    rows, columns = list(rows), list(columns)
    st.dataframe(
        pd.DataFrame({c.label: [c.value(row) for row in rows] for c in columns}),
        hide_index=True,
        column_config={c.label: c.config() for c in columns},
        **kwargs,
    )


def choice_select(
    where, label: str, choices: Mapping[str, str], *, key: str, all_label: str = "全部", **kwargs
):
    """A select of ``choices`` (value → label) whose first, empty choice ``""`` stands for all
    of them (a select holding None would show no choice at all). ``where`` is ``st`` or a
    column."""
    return where.selectbox(
        label,
        ["", *choices],
        format_func=lambda c: choices.get(c, all_label),
        key=key,
        **kwargs,
    )


def code_multiselect(
    where,
    label: str,
    labels: Mapping[str, str],
    *,
    key: str,
    options: Iterable[str] | None = None,
    placeholder: str = "全部",
    **kwargs,
):
    """A multiselect of codes (``options``, else all of ``labels``) shown by their labels; none
    chosen means all."""
    return where.multiselect(
        label,
        list(labels if options is None else options),
        format_func=labels.get,
        placeholder=placeholder,
        key=key,
        **kwargs,
    )
