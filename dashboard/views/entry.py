"""投保咨询 — this page is being built (see the open issue); it shows its title only."""

import streamlit as st

from dashboard.views import common

user = common.require_role("enterprise")
st.title("投保咨询")
