"""The dashboard, warmed up before it accepts connections: ``streamlit run serve.py [-- --bundle PATH]``.

Same app as ``streamlit run app.py`` (this only wraps it in Streamlit's ASGI ``st.App``): its
startup hook imports the pages' libraries and opens (and verifies) the bundle first, so the
first visitor of a fresh server does not wait for them (dashboard/warm.py).
"""

from contextlib import asynccontextmanager

import streamlit as st


@asynccontextmanager
async def lifespan(_app):
    from dashboard.warm import warm_up

    warm_up()
    yield


app = st.App("app.py", lifespan=lifespan)
