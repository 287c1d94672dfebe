"""访问记录 (role admin): the personal-data access log — every full view of an inquiry's contact
data, every export with contacts (its filter and row count), every anonymisation, purge and
deleted draft — filtered by days, kind, who and serial, with the matching rows as a CSV file.

Thin: what is logged and who may read it live in ``dashboard.privacy``; this page reads widgets,
calls one function and shows the outcome. Names, filters and descriptions are shown in data
frames, never as markdown.
"""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from dashboard import clock, db, privacy
from dashboard.views import common, widgets
from dashboard.views.widgets import Column
from models import ACCESS_ACTION_LABELS, utcnow

K = "access_log_"
MAX_LISTED = 500
DEFAULT_DAYS = 30
#: Widths that fit a laptop's window (1440 px: about 980 px for the table).
LOG_COLUMNS = (
    Column("时间", 125, lambda e: clock.show(e.at)),
    Column("操作人", 110, lambda e: e.actor),
    Column("操作", 110, lambda e: e.action_label),
    Column("询保流水号", 150, lambda e: e.serial),
    Column("条数", 60, lambda e: e.row_count, number=True),
    Column("筛选条件", 160, lambda e: e.filter),
    Column("说明", 265, lambda e: e.detail),
)

admin = common.admin_page(
    "访问记录",
    "业务人员查看完整联系方式、导出含联系方式的数据，以及匿名化、定期清理和删除暂存，均记录在此。",
)


def _filters() -> privacy.AccessLogFilter:
    today = clock.today()
    days_col, action_col = st.columns([1, 2])
    chosen = days_col.date_input(
        "日期范围",
        value=(today - timedelta(days=DEFAULT_DAYS - 1), today),
        max_value=today,
        key=K + "days",
    )
    actions = widgets.code_multiselect(action_col, "操作", ACCESS_ACTION_LABELS, key=K + "actions")
    actor_col, search_col = st.columns([1, 2])
    actor = actor_col.text_input("操作人", placeholder="用户名", max_chars=64, key=K + "actor")
    search = search_col.text_input(
        "搜索", placeholder="询保流水号或说明中的文字", max_chars=100, key=K + "search"
    )
    days = tuple(chosen) if isinstance(chosen, list | tuple) else (chosen,)
    start = days[0] if days else None
    end = days[1] if len(days) > 1 else start
    return privacy.AccessLogFilter(
        start=start, end=end, actions=tuple(actions), actor=actor, search=search
    )


def _listed(flt: privacy.AccessLogFilter) -> int:
    with common.db_errors(), db.session_scope(write=False) as session:
        total = privacy.count_access_log(session, flt, actor=admin)
        entries = privacy.access_log(session, flt, actor=admin, limit=MAX_LISTED)
    st.markdown(f"**共 {total:,} 条**")
    if total > len(entries):
        st.caption(f"显示最新的 {len(entries)} 条；请缩小日期范围或加上筛选条件，或导出全部。")
    if not entries:
        st.info("所选期间没有符合条件的访问记录。", icon=":material/search_off:")
        return total
    widgets.table(entries, LOG_COLUMNS, width="stretch")
    return total


def _download(flt: privacy.AccessLogFilter, total: int) -> None:
    """Every matching row (not only the newest shown) as CSV, made when asked for."""
    if st.button("导出 CSV", key=K + "export", disabled=total == 0, icon=":material/download:"):
        with common.db_errors(), db.session_scope(write=False) as session:
            data = privacy.access_log_csv(session, flt, actor=admin)
        stamp = clock.local_time(utcnow()).strftime("%Y%m%d_%H%M")
        st.session_state[K + "file"] = (flt, stamp, data)
    ready = st.session_state.get(K + "file")
    if ready and ready[0] == flt:
        _, stamp, data = ready
        st.download_button(
            f"下载访问记录（{total:,} 条）",
            data=data,
            file_name=f"访问记录_{stamp}.csv",
            mime="text/csv",
            on_click="ignore",
            key=K + "download",
            icon=":material/download:",
        )


flt = _filters()
_download(flt, _listed(flt))
