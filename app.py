"""Streamlit entry: page config and navigation. Pages live in pages/; logic in shopee_core."""

import streamlit as st

st.set_page_config(page_title="Shopee match explorer", page_icon=":material/join_inner:", layout="wide")

pages = [
    st.Page("pages/overview.py", title="Overview", icon=":material/home:", default=True),
]
st.navigation(pages).run()
