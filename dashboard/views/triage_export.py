"""咨询处理's export: every match of the filter as CSV or Excel, contact data masked unless the
account was granted 导出含联系方式 and it is ticked."""

from __future__ import annotations

import io

import streamlit as st

from dashboard import clock, db, export, queries
from dashboard.errors import DomainError
from dashboard.views import common
from dashboard.views.triage_state import K, state
from models import User, utcnow


def export_panel(user: User, flt: queries.InquiryFilter, sort: str, result: queries.Page) -> None:
    """Export every match (also past the cap of a broad search's count and pages). Contact data
    is masked unless the administrator granted this account 导出含联系方式 and it is ticked."""
    st.markdown("**导出**")
    contacts = False
    if user.may_export_contacts:
        contacts = st.checkbox(
            "导出含联系方式",
            key=K + "export_contacts",
            help="导出完整的手机号码、固话和邮箱；每次导出都会记入访问记录。",
        )
    c1, c2 = st.columns(2)
    kind = None
    if c1.button("导出 CSV", key=K + "export_csv", disabled=result.total == 0):
        kind = "csv"
    if c2.button("导出 Excel", key=K + "export_xlsx", disabled=result.total == 0):
        kind = "xlsx"
    if kind:
        out = io.BytesIO()
        writer = export.write_csv if kind == "csv" else export.write_xlsx
        try:
            # With contacts, a write scope: the access-log row commits with the export's read.
            with (
                st.spinner(f"正在导出 {result.total_label} 条…"),
                common.db_errors(),
                db.session_scope(write=contacts) as session,
            ):
                n = writer(session, flt, actor=user, out=out, sort=sort, contacts=contacts)
        except DomainError as err:  # the grant was withdrawn since the page was drawn
            st.error(common.md_escape(str(err)))
            return
        stamp = clock.local_time(utcnow()).strftime("%Y%m%d_%H%M")
        state().export = (flt, sort, kind, n, stamp, out.getvalue(), contacts)
    ready = state().export
    if ready and ready[:2] == (flt, sort) and ready[6] == contacts:
        _, _, kind, n, stamp, data, _ = ready
        mime = (
            "text/csv"
            if kind == "csv"
            else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        st.download_button(
            f"下载 {kind.upper()}（{n:,} 条）",
            data=data,
            file_name=export.safe_filename(f"询保申请_{stamp}", kind),
            mime=mime,
            on_click="ignore",  # downloading does not rerun, so the page stays as it is
            key=K + "download",
            icon=":material/download:",
        )
