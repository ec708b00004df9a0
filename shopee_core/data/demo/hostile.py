"""Hostile seller titles: text that must be shown literally everywhere (no markup, link, image,
icon, formula or reordered layout), for a demo catalog that exercises the dashboard's text paths.

The corpus (``hostile_titles.json`` beside this module, shipped with the package so
``demo-data --hostile-titles`` works anywhere; tests read the same file) holds Markdown images
and links, ``javascript:`` and ``data:`` URLs, raw HTML, ``$`` math, Streamlit directives and
shortcodes, leading heading / list markers, zero-width and right-to-left override characters, a
1,000-character token, a title of spaces only, one of an emoji only and spreadsheet formulas.
URLs use the reserved ``.invalid`` domain only. Extend it with ``{"why", "title"}`` entries, or
give another file of the same shape.
"""

from __future__ import annotations

import json
from pathlib import Path

from ...errors import DataError

CORPUS = Path(__file__).with_name("hostile_titles.json")
# every HOSTILE_EVERY-th posting (in plan order) gets a hostile title, the corpus in turn; the
# others keep their generated title, so text models still have something to match
HOSTILE_EVERY = 2


def hostile_titles(path=None) -> list[str]:
    """The titles of the corpus (``path``: another file of the same shape)."""
    path = Path(path) if path is not None else CORPUS
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise DataError(f"{path}: not JSON ({exc})") from None
    entries = data.get("titles") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries or not all(
            isinstance(e, dict) and isinstance(e.get("title"), str) for e in entries):
        raise DataError(f'{path}: expected {{"titles": [{{"why": ..., "title": "..."}}, ...]}} with at least one '
                        "title")
    return [e["title"] for e in entries]


def hostile_assignment(n_postings: int, titles: list[str]) -> dict[int, str]:
    """Plan index -> hostile title: every ``HOSTILE_EVERY``-th posting, cycling through ``titles``."""
    picked = range(0, n_postings, HOSTILE_EVERY)
    return {i: titles[k % len(titles)] for k, i in enumerate(picked)}
