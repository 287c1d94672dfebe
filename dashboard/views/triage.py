"""咨询处理 — this page is being built (see the open issue); it shows its title only."""

import streamlit as st

from dashboard.views import common

user = common.require_role("staff", "manager")
st.title("咨询处理")
