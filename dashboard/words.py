"""The words the pages use, explained once: the glossary popover every page reaches from the sidebar.

A competitor meets T−d, T′ or |Y| on a page without a guide; the sidebar's Glossary says what each
means in the terms of the Kaggle task, so a page can use the short form beside a number.
"""

from __future__ import annotations

import streamlit as st

from dashboard.text import md

GLOSSARY = {
    "F1": "The Kaggle metric: per posting 2|X∩Y| / (|X|+|Y|), averaged over postings. Every F1 says which "
          "decision it comes from (\"· INB, tuned on valid\").",
    "X, |X|": "A posting's true group (itself included) and its size.",
    "Y, |Y|": "A posting's predicted set (itself included) and its size.",
    "pool": "The postings a posting is matched against: one split (train, valid, test) or all labelled postings. "
            "A bigger pool has more look-alikes, so the best threshold and F1 move with its size.",
    "d, sim": "Cosine distance d = 1 − cosine similarity (sim) between two postings' embeddings.",
    "T": "Distance threshold: a candidate with d < T is predicted. Tuned on the valid split.",
    "T−d": "How far inside the threshold a match is: positive = predicted with room to spare, negative = "
           "missed by that much.",
    "T2, Min2": "Min2 (\"at least two\"): a posting predicted alone gets its nearest other candidate if that one "
                "is within the looser T2 — every true group has at least two members.",
    "INB": "Iterative neighbourhood blending: each embedding is replaced by the similarity-weighted sum of itself "
           "and its accepted neighbours, then matched again. \"INB×3\" iterates it three times.",
    "T′, T2′": "The thresholds after INB (re-tuned on valid), as T and T2 are before it.",
    "orphan": "A posting predicted alone (|Y| = 1): always wrong, since every true group has ≥ 2 members.",
    "Δ vs tuned": "The difference to the model's tuned setting (not an uncertainty).",
    "fusion": "Mean of the members' cosine similarities (one image and one text model, say); a union instead "
              "predicts what either side predicts at its own thresholds.",
    "stand-in": "A demo model that plays a seed recipe (e.g. EfficientNet-Lite0 playing resnet50) because "
                "the recipe's weights are not available offline.",
}


def glossary() -> None:
    """The glossary as one Markdown list; each entry shown literally (T−d, |X|, quotes), as every text."""
    st.markdown("\n".join(f"- **{md(term)}** — {md(text)}" for term, text in GLOSSARY.items()))
