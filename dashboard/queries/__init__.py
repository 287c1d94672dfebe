"""Listing inquiries: ``InquiryFilter`` → one parameterised SQL query; one page + the total count.

    filter.py      InquiryFilter (its fields come from the conditions table) ↔ URL parameters
    conditions.py  the conditions table: per filter field its URL key, bind name and SQL;
                   visibility; ``where``
    search.py      the search term: cleaning, exact matches, one class per backend
    statements.py  ``Condition``, ``Where`` and the statements built once per plan
    page.py        list_page, count, facets, possible_duplicates, user_labels

Callers use this package (``queries.list_page``, ``queries.InquiryFilter``…). Setting one of its
names (a test's ``monkeypatch.setattr(queries, "SEARCH_COUNT_CAP", 3)``) sets it in the module
that reads it as well.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from dashboard import lazy
from dashboard.queries import conditions, page, search, statements
from dashboard.queries import filter as _filter
from dashboard.queries.conditions import (
    COMPLETION_KEYS,
    DEFAULT_STATUSES,
    FIELDS,
    visibility,
    where,
)
from dashboard.queries.filter import PAGE_SIZES, InquiryFilter, view_params_from
from dashboard.queries.page import (
    DUPLICATE_FIELDS,
    VIEWER_ROLES,
    Page,
    count,
    facets,
    list_page,
    possible_duplicates,
    search_cap,
    user_labels,
)
from dashboard.queries.search import (
    DENSE_SEARCH_ROWS,
    MAX_SEARCH_LENGTH,
    NEWEST_PAGES_DEPTH,
    SEARCH_COLUMNS,
    SEARCH_COUNT_CAP,
    SPARSE_SEARCH_ROWS,
    clean_search,
    exact_search,
    fts_query,
)
from dashboard.queries.statements import SORTS, Condition, Where

__all__ = [
    "COMPLETION_KEYS",
    "DEFAULT_STATUSES",
    "DENSE_SEARCH_ROWS",
    "DUPLICATE_FIELDS",
    "FIELDS",
    "MAX_SEARCH_LENGTH",
    "NEWEST_PAGES_DEPTH",
    "PAGE_SIZES",
    "SEARCH_COLUMNS",
    "SEARCH_COUNT_CAP",
    "SORTS",
    "SPARSE_SEARCH_ROWS",
    "VIEWER_ROLES",
    "Condition",
    "InquiryFilter",
    "Page",
    "Where",
    "clean_search",
    "count",
    "exact_search",
    "facets",
    "fts_query",
    "list_page",
    "possible_duplicates",
    "search_cap",
    "user_labels",
    "view_params_from",
    "visibility",
    "where",
]

_MODULES = (conditions, _filter, page, search, statements)


# The export of a filter lives in dashboard.export, which imports this package.
__getattr__ = lazy.passed_through(__name__, "dashboard.export", ("EXPORT_COLUMNS", "export_rows"))


class _Package(types.ModuleType):
    def __setattr__(self, name: str, value: Any) -> None:
        for module in _MODULES:
            if name in vars(module):
                setattr(module, name, value)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
