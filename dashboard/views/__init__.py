"""Streamlit pages. Thin: widgets in, calls to the domain layer, widgets out."""
