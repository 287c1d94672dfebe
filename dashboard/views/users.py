"""用户管理 — this page is being built (see the open issue); it shows its title only."""

import streamlit as st

from dashboard.views import common

user = common.require_role("admin")
st.title("用户管理")
