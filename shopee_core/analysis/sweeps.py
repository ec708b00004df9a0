"""Sweep results: their schema, and the study's figures (F1/R/P against the margin) from them.

A sweep (``python -m shopee_core sweep``) writes one row per configuration: the recipe
(``model``, ``profile``, ``family``, ``backbone`` = the seed backbone it stands for, ``loss``,
``margin``), its grid values (``axes``), and per split (valid, test) and decision (base, min2,
inb) the mean F1, precision and recall, with the thresholds tuned on valid. The same document
(``{"name", "model", ..., "axes", "results": [rows]}``) is the sweep's ``results.json`` and what
a bundle ships under ``sweeps/``; :func:`check_sweep` refuses anything else in one line.

The study's own sweep tables (``reference/seed_sweeps.csv``: family, backbone, loss, margin, test
F1, recall, precision, plain threshold) are drawn beside ours by :func:`figure_frame`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from ..errors import ShopeeError

SPLITS = ("valid", "test")
VARIANTS = ("base", "min2", "inb")
METRICS = ("f1", "precision", "recall")
THRESHOLDS = ("t", "t2", "inb_t", "inb_t2")
ROW_TEXT = ("config", "model", "profile", "family", "backbone", "loss")
SEED_SWEEPS = "seed_sweeps.csv"
SEED_COLUMNS = ("family", "backbone", "loss", "margin", "f1", "recall", "precision")
REPO_SEED_SWEEPS = Path(__file__).resolve().parents[2] / "precomputed" / "reference" / SEED_SWEEPS
DOC_FIELDS = ("name", "model", "profile", "axes", "results")


def metric_column(split: str, variant: str, metric: str) -> str:
    return f"{split}_{variant}_{metric}"


def result_row(config: str, overrides: dict, entry_dict: dict, score: dict) -> dict:
    """One configuration's row (``entry_dict``: the effective recipe, ``ModelEntry.as_dict()``)."""
    spec = entry_dict["spec"]
    row = {"config": config, "model": entry_dict["id"], "profile": entry_dict["profile"],
           "family": entry_dict["family"], "backbone": str(spec.get("stand_in_for") or spec.get("backbone")),
           "loss": spec.get("loss"), "margin": spec.get("margin"), "axes": dict(overrides)}
    for split in SPLITS:
        for variant in VARIANTS:
            m = (score["metrics"].get(split) or {}).get(variant) or {}
            for k in METRICS:
                row[metric_column(split, variant, k)] = m.get(k)
    th = score.get("thresholds") or {}
    row.update({k: th.get(k) for k in THRESHOLDS})
    row.update({k: score.get(k) for k in ("kept_epoch", "epochs", "train_seconds", "score_seconds")})
    return row


def _finite_or_none(v, what: str) -> None:
    if v is None:
        return
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ShopeeError(f"{what} must be a finite number or null, not {v!r}")


def check_sweep(doc, where: str) -> dict:
    """``doc`` if it is a sweep results document, else a one-line ShopeeError."""
    if not isinstance(doc, dict):
        raise ShopeeError(f"{where}: a sweep document must be a JSON object")
    missing = [f for f in DOC_FIELDS if f not in doc]
    if missing:
        raise ShopeeError(f"{where}: lacks field(s) {', '.join(missing)}")
    if not isinstance(doc["name"], str) or not doc["name"]:
        raise ShopeeError(f"{where}: name must be a non-empty string")
    if not isinstance(doc["results"], list):
        raise ShopeeError(f"{where}: results must be a list of rows")
    seen = set()
    for i, row in enumerate(doc["results"]):
        at = f"{where}: row {i + 1}"
        if not isinstance(row, dict):
            raise ShopeeError(f"{at} is not an object")
        for key in ROW_TEXT:
            if key in ("loss",):
                if row.get(key) is not None and not isinstance(row[key], str):
                    raise ShopeeError(f"{at}: {key} must be text or null")
            elif not isinstance(row.get(key), str):
                raise ShopeeError(f"{at}: {key} must be text")
        if row["config"] in seen:
            raise ShopeeError(f"{at}: configuration {row['config']!r} listed twice")
        seen.add(row["config"])
        if not isinstance(row.get("axes"), dict):
            raise ShopeeError(f"{at}: axes must be an object")
        _finite_or_none(row.get("margin"), f"{at}: margin")
        for split in SPLITS:
            for variant in VARIANTS:
                for k in METRICS:
                    v = row.get(metric_column(split, variant, k))
                    _finite_or_none(v, f"{at}: {metric_column(split, variant, k)}")
                    if v is not None and not 0 <= v <= 1:
                        raise ShopeeError(f"{at}: {metric_column(split, variant, k)} = {v} is not in [0, 1]")
        for k in THRESHOLDS + ("train_seconds", "score_seconds"):
            _finite_or_none(row.get(k), f"{at}: {k}")
    return doc


def read_sweep(path) -> dict:
    """A sweep results document from a file (a sweep folder's ``results.json``, or a bundle's copy)."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ShopeeError(f"{path}: no sweep results (run `python -m shopee_core sweep ...` first)") from None
    except (OSError, ValueError) as exc:
        raise ShopeeError(f"{path}: unreadable ({' '.join(str(exc).split())})") from None
    return check_sweep(doc, str(path))


def results_frame(doc: dict) -> pd.DataFrame:
    """The rows as a table; each grid key also as its own column (``axis:KEY``)."""
    rows = []
    for r in doc["results"]:
        flat = {k: v for k, v in r.items() if k != "axes"}
        flat.update({f"axis:{k}": (v if isinstance(v, (int, float, str, bool)) or v is None else str(v))
                     for k, v in (r.get("axes") or {}).items()})
        rows.append(flat)
    return pd.DataFrame(rows)


def long_form(docs: list[dict], split: str = "test", variant: str = "base") -> pd.DataFrame:
    """One row per (sweep, configuration): ``sweep, model, family, backbone, loss, margin, config, f1,
    precision, recall`` for one split and decision — what the figures draw."""
    if split not in SPLITS or variant not in VARIANTS:
        raise ShopeeError(f"split must be one of {', '.join(SPLITS)} and decision one of {', '.join(VARIANTS)}")
    out = []
    for doc in docs:
        for r in doc["results"]:
            out.append({"sweep": doc["name"], "model": r["model"], "family": r["family"], "backbone": r["backbone"],
                        "loss": r.get("loss"), "margin": r.get("margin"), "config": r["config"],
                        **{k: r.get(metric_column(split, variant, k)) for k in METRICS}})
    cols = ["sweep", "model", "family", "backbone", "loss", "margin", "config", *METRICS]
    return pd.DataFrame(out, columns=cols)


def read_seed_sweeps(path=None) -> pd.DataFrame:
    """The study's sweep tables (``seed_sweeps.csv``), checked."""
    path = Path(path or REPO_SEED_SWEEPS)
    try:
        frame = pd.read_csv(path)
    except FileNotFoundError:
        raise ShopeeError(f"{path}: no such file") from None
    except Exception as exc:
        raise ShopeeError(f"{path}: unreadable ({' '.join(str(exc).split())})") from None
    missing = [c for c in SEED_COLUMNS if c not in frame]
    if missing:
        raise ShopeeError(f"{path}: lacks column(s) {', '.join(missing)}")
    return frame[list(SEED_COLUMNS)]


def figure_frame(ours: pd.DataFrame, seed: pd.DataFrame | None, metric: str = "f1", variant: str = "base",
                 split: str = "test") -> pd.DataFrame:
    """What a sweep figure draws: ``source`` (ours / study), ``line`` (backbone · loss, one line
    each), ``margin`` and ``value`` — ours for the sweeps given, the study's for the same
    backbones and losses (its tables are test numbers with the plain threshold; shown beside
    ours only when ours are test numbers too)."""
    if metric not in METRICS:
        raise ShopeeError(f"metric must be one of {', '.join(METRICS)}")
    rows = []
    for r in ours.itertuples(index=False):
        if r.margin is None or pd.isna(r.margin) or pd.isna(getattr(r, metric)):
            continue
        rows.append({"source": "ours", "model": r.model, "backbone": r.backbone, "loss": r.loss,
                     "line": f"{r.backbone} · {r.loss}", "margin": float(r.margin), "value": float(getattr(r, metric)),
                     "split": split, "decision": variant})
    if seed is not None and split == "test" and len(ours):
        wanted = {(r.backbone, r.loss) for r in ours.itertuples(index=False)}
        for r in seed.itertuples(index=False):
            if (r.backbone, r.loss) in wanted:
                rows.append({"source": "study", "model": None, "backbone": r.backbone, "loss": r.loss,
                             "line": f"{r.backbone} · {r.loss}", "margin": float(r.margin),
                             "value": float(getattr(r, metric)), "split": "test", "decision": "base"})
    frame = pd.DataFrame(rows, columns=["source", "model", "backbone", "loss", "line", "margin", "value", "split",
                                        "decision"])
    return frame.sort_values(["source", "line", "margin"], kind="stable").reset_index(drop=True)


def best_margins(ours: pd.DataFrame, metric: str = "f1") -> pd.DataFrame:
    """Per backbone and loss: the margin with the best ``metric``, its value, and the spread
    (best - worst) across margins."""
    rows = []
    for (backbone, loss), g in ours.dropna(subset=["margin", metric]).groupby(["backbone", "loss"], dropna=False):
        g = g.sort_values("margin")
        best = g.loc[g[metric].idxmax()]
        rows.append({"backbone": backbone, "loss": loss, "best_margin": float(best["margin"]),
                     metric: float(best[metric]), "spread": float(g[metric].max() - g[metric].min()),
                     "configs": int(len(g))})
    return pd.DataFrame(rows, columns=["backbone", "loss", "best_margin", metric, "spread", "configs"])
