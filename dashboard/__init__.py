"""Streamlit-side helpers shared by the pages: cached bundle access, cross-page state, widgets.

Only the dashboard imports this package; it imports ``shopee_core``, never the reverse.
"""
