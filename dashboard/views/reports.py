"""统计报表 — this page is being built (see the open issue); it shows its title only."""

import streamlit as st

from dashboard.views import common

user = common.require_role("manager")
st.title("统计报表")
