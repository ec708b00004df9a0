"""Shopee product matching: data, models, matching, metrics and bundles.

The core never imports Streamlit; the dashboard (``app.py``, ``app_pages/``) and the
scripts import from here, never the reverse.
"""

__version__ = "0.1.0"
