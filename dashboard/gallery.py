"""Thumbnail galleries and posting pickers shared by every page.

A gallery item is one row of a DataFrame with at least ``posting`` (row of
``bundle.postings``); optional columns ``sim``, ``margin`` (T - d), ``mark``
(correct / wrong / missed / candidate / predicted / query), ``min2`` and ``rank``
fill its caption. Cards are small HTML blocks (thumbnail inlined as base64, a
border coloured by the mark); the button under each opens that posting in
Query by example.
"""

from __future__ import annotations

import base64
import math
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from dashboard import state
from dashboard.text import code, html_text, md, plain, short
from shopee_core.data.text import display_title

# mark -> (border colour, icon, text). Icons are plain text glyphs (✔ ✘ ⚠ ●), not colour
# emoji, so they render even where no emoji font is installed (headless browsers, servers).
MARKS = {
    "correct": ("#2e7d32", "✔", "correct"),
    "wrong": ("#c62828", "✘", "wrong"),
    "missed": ("#ef6c00", "⚠", "missed"),
    "candidate": ("#b0b0b0", "", "not predicted"),
    "predicted": ("#1565c0", "●", "predicted"),
    "query": ("#ee4d2d", "", "query"),
}
LEGEND = (":green[**✔ correct**] predicted, same group · :red[**✘ wrong**] predicted, other group · "
          ":orange[**⚠ missed**] same group, not predicted · grey: nearest candidates not predicted")


def thumb_data_uri(bundle, row: int) -> str:
    """A posting's thumbnail as a data: URI (thumbnails are <= 160 px JPEGs, a few kB each), read
    once per bundle object: its files were verified when it was opened, and a bundle rebuilt at the
    same path is a new object (st.cache_data would hash and copy every one of them on every call)."""
    path = _columns(bundle)[3][row]

    def read() -> str:
        try:
            data = Path(path).read_bytes()
        except OSError:
            return ""
        return "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")
    return bundle.cached(("thumb", path), read)


def _fmt(v, spec: str, signed: bool = False) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    return format(float(v), ("+" if signed else "") + spec)


def card_html(uri: str, title: str, lines: list[str], mark: str | None, size: int = 128,
              tooltip: str = "") -> str:
    """One card as an HTML block. ``title`` and ``tooltip`` are text (escaped here; the tooltip's
    line breaks kept); ``lines`` are HTML made by :func:`_lines`."""
    colour, icon, text = MARKS.get(mark or "", ("#dddddd", "", ""))
    width = 3 if mark in ("correct", "wrong", "missed", "query", "predicted") else 1
    img = (f'<img src="{uri}" style="width:100%;max-width:{size}px;aspect-ratio:1/1;object-fit:contain;'
           f'display:block;margin:0 auto;border-radius:4px;background:#fafafa"/>' if uri else
           f'<div style="height:{size}px;display:flex;align-items:center;justify-content:center;color:#999">'
           f'no thumbnail</div>')
    badge = (f'<div style="font-weight:600;color:{colour};font-size:0.78rem">{icon} {html_text(text)}</div>'
             if text else "")
    info = "".join(f'<div style="font-size:0.72rem;color:#555;line-height:1.25">{line}</div>' for line in lines)
    caption = (f'<div style="font-size:0.78rem;line-height:1.2;margin-top:4px;height:2.4em;overflow:hidden">'
               f'{html_text(title)}</div>' if title else "")
    tip = "&#10;".join(html_text(part) for part in (tooltip or title).split("\n"))
    return (f'<div title="{tip}" style="border:{width}px solid {colour};border-radius:8px;'
            f'padding:6px;background:white">{img}{caption}{badge}{info}</div>')


def _lines(item) -> list[str]:
    out = []
    sim, margin = item.get("sim"), item.get("margin")
    if sim is not None and not pd.isna(sim):
        out.append(f"sim {_fmt(sim, '.3f')} · T−d {_fmt(margin, '.3f', signed=True)}")
    elif "sim" in item:
        out.append("sim n/a (not in the stored space)")
    members = item.get("members")
    if isinstance(members, str) and members:
        out.append(html_text(members))
    extra = []
    if item.get("min2"):
        extra.append("via Min2")
    rank = item.get("rank")
    if "rank" in item:
        extra.append(f"rank {int(rank)}" if rank is not None and not pd.isna(rank) else "beyond top-k")
    via = item.get("via")
    if item.get("show_via") and via:
        extra.append(html_text(via))
    if extra:
        out.append(" · ".join(extra))
    return out


def gallery(bundle, items: pd.DataFrame, *, key: str, columns: int = 6, title_chars: int = 60,
            empty: str = "Nothing to show.", open_button: bool = True, limit: int | None = None) -> int:
    """Draw ``items`` as a grid of cards; returns how many were drawn (``empty``: Markdown).

    A click on an item's button opens that posting in Query by example.
    """
    if items is None or len(items) == 0:
        st.caption(empty)
        return 0
    if limit is not None and len(items) > limit:
        st.caption(f"showing the first {limit:,} of {len(items):,}")
        items = items.head(limit)
    ids, titles, groups, _ = _columns(bundle)
    records = items.to_dict("records")
    for start in range(0, len(records), columns):
        cols = st.columns(columns, gap="small")
        for offset, item in enumerate(records[start:start + columns]):
            i = start + offset
            row = int(item["posting"])
            pid = str(ids[row])
            title = display_title(titles[row])
            with cols[offset]:
                st.markdown(card_html(thumb_data_uri(bundle, row), short(title, title_chars),
                                      _lines(item), item.get("mark"),
                                      tooltip=f"{title}\n{pid} · group {groups[row]}"),
                            unsafe_allow_html=True)
                if open_button and st.button("Open", key=f"{key}-open-{i}-{pid}",
                                             help=f"Query by example: {md(pid)}", width="stretch"):
                    state.open_posting(pid)
                pair = item.get("plane")
                if isinstance(pair, tuple) and st.button("Plane", key=f"{key}-plane-{i}-{pid}",
                                                         icon=":material/scatter_plot:", width="stretch",
                                                         help="This pair in the fusion's decision plane "
                                                              "(image × text similarity), on Thresholds"):
                    state.open_pair(pair[0], pair[1], pid, pair[2], pair[3])
    return len(records)


def _columns(bundle):
    """posting_id, title, label_group and thumbnail path per bundle row, as plain arrays (made once
    per bundle: a pandas lookup per card costs more than drawing it)."""
    def make():
        post = bundle.postings
        root = str(bundle.root)
        return (post["posting_id"].to_numpy(), post["title"].to_numpy(), post["label_group"].to_numpy(),
                [f"{root}/{t}" for t in post["thumb"]])
    return bundle.cached(("gallery_columns",), make)


def pair_html(uris: list[str], titles: list[str], note: str, same: bool, title_chars: int = 40) -> str:
    """Two thumbnails side by side with their (shortened) titles and a note, as an HTML block;
    the texts are escaped here, each full title in its tooltip."""
    colour = "#2e7d32" if same else "#c62828"
    halves = "".join(
        f'<div style="flex:1;min-width:0" title="{html_text(title)}">'
        + (f'<img src="{uri}" style="width:100%;max-width:110px;aspect-ratio:1/1;object-fit:contain;display:block;'
           f'margin:auto"/>' if uri else '<div style="aspect-ratio:1/1;color:#999">no thumbnail</div>')
        + f'<div style="font-size:0.72rem;line-height:1.2;height:2.4em;overflow:hidden">'
        f'{html_text(short(title, title_chars))}</div></div>' for uri, title in zip(uris, titles))
    return (f'<div style="border:2px solid {colour};border-radius:8px;padding:6px;background:white">'
            f'<div style="display:flex;gap:6px">{halves}</div>'
            f'<div style="font-size:0.74rem;color:{colour};font-weight:600">{html_text(note)}</div></div>')


def pair_gallery(bundle, pairs: np.ndarray, split: str, *, key: str, captions: list[str] | None = None,
                 columns: int = 3, title_chars: int = 40) -> int:
    """Pairs of split-local rows (i, j) side by side, one card per pair; 'Open' opens i."""
    pairs = np.asarray(pairs).reshape(-1, 2)
    if len(pairs) == 0:
        st.caption("No pairs in this cell.")
        return 0
    rows = bundle.split_rows(split)
    post = bundle.postings
    for start in range(0, len(pairs), columns):
        cols = st.columns(columns, gap="small")
        for offset, (i, j) in enumerate(pairs[start:start + columns]):
            n = start + offset
            gi, gj = int(rows[int(i)]), int(rows[int(j)])
            same = post["label_group"].iat[gi] == post["label_group"].iat[gj]
            note = captions[n] if captions and n < len(captions) else ("same group" if same else "different groups")
            with cols[offset]:
                st.markdown(pair_html([thumb_data_uri(bundle, g) for g in (gi, gj)],
                                      [display_title(post["title"].iat[g]) for g in (gi, gj)], note, bool(same),
                                      title_chars), unsafe_allow_html=True)
                pid = str(post["posting_id"].iat[gi])
                if st.button("Open", key=f"{key}-pair-{n}-{pid}", help=f"Query by example: {md(pid)}",
                             width="stretch"):
                    state.open_posting(pid)
    return len(pairs)


def model_matches(bundle, model_id: str, split: str, row: int, predicted, extra: int = 3) -> pd.DataFrame:
    """A posting's marked matches under a model, for a gallery. An imported predictions-only model
    has no similarities and no candidates beyond its sets, so none are shown for it."""
    from shopee_core.analysis.decisions import is_predictions_only, modality
    from shopee_core.analysis.query import member_similarities, posting_matches

    if is_predictions_only(bundle, model_id):
        return posting_matches(bundle, model_id, split, row, predicted, extra=0).drop(columns=["sim", "margin",
                                                                                               "rank"])
    matches = posting_matches(bundle, model_id, split, row, predicted, extra=extra)
    parts = member_similarities(bundle, model_id, split, row, matches["row"].to_numpy()) if len(matches) else None
    if parts is not None:  # a fusion's tile says what each member saw and which one carried the match
        abbr = {m: {"image": "img", "text": "txt"}.get(modality(bundle, m) or "", m) for m in parts.columns[1:-1]}
        if len(set(abbr.values())) < len(abbr):
            abbr = {m: m for m in abbr}
        img = next((m for m in abbr if abbr[m] == "img"), None)
        txt = next((m for m in abbr if abbr[m] == "txt"), None)
        query_id = str(bundle.postings["posting_id"].iat[int(bundle.split_rows(split)[row])])
        matches = matches.assign(plane=[(model_id, query_id, img, txt)] * len(matches), members=[
            " · ".join(f"{abbr[m]} {_fmt(r[m], '.3f')}" for m in abbr)
            + f" · {({'img': 'image', 'txt': 'text'}).get(abbr[r['carried']], r['carried'])} carried"
            for _, r in parts.iterrows()])
    return matches


def posting_card(bundle, row: int, split: str, extra: str = "") -> None:
    """The query posting: a larger thumbnail, its title, id and group."""
    post = bundle.postings
    labels = bundle.labels(split)
    local = int(np.flatnonzero(bundle.split_rows(split) == row)[0]) if row in set(bundle.split_rows(split)) else None
    group = post["label_group"].iat[row]
    size = int((labels == group).sum()) if local is not None and not pd.isna(group) else 0
    left, right = st.columns([1, 5], gap="medium")
    with left:
        st.markdown(card_html(thumb_data_uri(bundle, row), "", [], "query", size=160),
                    unsafe_allow_html=True)
    with right:
        st.markdown(f"#### {md(display_title(post['title'].iat[row]))}")
        group_text = "no label" if pd.isna(group) else f"group **{md(group)}** ({size:,} postings in {md(split)})"
        st.markdown(f"{code(post['posting_id'].iat[row])} · {group_text} · pHash {code(post['image_phash'].iat[row])}"
                    + (f"  \n{extra}" if extra else ""))


# ----------------------------------------------------------------------------- pickers

def _row_of(bundle, split: str, posting_id: str) -> int | None:
    if not posting_id:
        return None
    hit = np.flatnonzero(_columns(bundle)[0][bundle.split_rows(split)] == posting_id)
    return int(hit[0]) if len(hit) else None


def default_row(bundle, split: str) -> int:
    """A posting worth looking at first: the first one whose group has >= 3 members."""
    labels = bundle.labels(split)
    if len(labels) == 0:
        return 0
    _, inverse, counts = np.unique(labels.astype(str), return_inverse=True, return_counts=True)
    big = np.flatnonzero(counts[inverse.ravel()] >= 3)
    return int(big[0]) if len(big) else 0


def posting_picker(bundle, split: str, key: str) -> int:
    """Search by title words or id, pick from the matches, or draw one at random.

    Bound to the shared ``posting`` state; returns the split-local row.
    """
    from shopee_core.analysis.query import search_postings, shown_titles

    rows = bundle.split_rows(split)
    # the bundle's arrays made once (ids, titles as shown): the picker's format function outlives the run
    # (the widget keeps it), and the copies of 70,000 ids and titles it made on every rerun stayed
    # alive with it, ~10 MB per page and session
    ids, titles = _columns(bundle)[0], shown_titles(bundle, split)

    def pid(r) -> str:
        return str(ids[rows[r]])
    c_search, c_pick, c_rand = st.columns([2, 4, 1], vertical_alignment="bottom")
    with c_rand:
        if st.button("Random", icon=":material/shuffle:", key=f"{key}-random",
                     help="Pick a random posting of this split",
                     width="stretch"):
            r = int(np.random.default_rng().integers(len(rows)))
            state.set("posting", pid(r))
    current = _row_of(bundle, split, state.get("posting"))
    if current is None:
        current = default_row(bundle, split)
    with c_search:
        text = st.text_input("Find a posting", key=f"{key}-search", placeholder="title words or posting id")
    matches = search_postings(bundle, split, text, limit=300)
    options = [current] + [int(r) for r in matches if int(r) != current]
    sk, synced = f"{key}-select", f"{key}-synced"
    if st.session_state.get(sk) not in options or st.session_state.get(synced) != pid(current):
        st.session_state[sk] = current
    with c_pick:
        label = f"Posting ({len(matches)} match{'es' if len(matches) != 1 else ''})" if text else "Posting"
        choice = st.selectbox(label, options, key=sk,
                              format_func=lambda r: f"{plain(short(titles[r], 40))} · {plain(pid(r))}")
    if choice != current:
        state.set("posting", pid(choice))
        current = choice
    elif state.get("posting") != pid(current):
        state.set("posting", pid(current))
    st.session_state[synced] = pid(current)
    return int(current)


def model_label(bundle, model_id: str) -> str:
    return short(bundle.entry(model_id).label, 60)


def model_picker(bundle, key: str, label: str = "Models", allowed: list[str] | None = None,
                 default: list[str] | None = None, min_count: int = 1, help: str | None = None) -> list[str]:
    """A multiselect of models bound to the shared ``models`` state.

    Shows the shared selection (restricted to ``allowed``), topped up to ``min_count``
    from ``default`` (the best models under the sidebar's decision). Only a change
    the user makes here is written back, so opening a page never rewrites the selection.
    """
    from shopee_core.analysis.leaderboard import ranked

    ids = [e.id for e in bundle.entries if allowed is None or e.id in allowed]
    # by default the best and the runner-up under the sidebar's decision (validation F1), as the Leaderboard stars
    fallback = [m for m in (default or ranked(bundle, state.rule())) if m in ids] or ids[:2]
    chosen = [m for m in state.get("models") if m in ids]
    for m in fallback + ids:
        if len(chosen) >= min_count:
            break
        if m not in chosen:
            chosen.append(m)
    synced = f"{key}-synced"
    previous = st.session_state.get(synced)
    # the widget's own state is gone after a page switch (Streamlit drops it): seed it again from the shared one
    if previous != chosen or key not in st.session_state or any(m not in ids for m in st.session_state[key]):
        st.session_state[key] = chosen
    value = st.multiselect(label, ids, key=key, format_func=lambda m: f"{plain(m)} — {plain(model_label(bundle, m))}",
                           help=help)
    if value and value != chosen:  # the user changed it
        state.set("models", list(value))
        chosen = list(value)
    st.session_state[synced] = chosen
    return list(value)
