"""Training curves of a bundle's trained models, as one long table the Training page draws.

Each trained model ships its epochs (``models/<id>/history.json``, :mod:`shopee_core.training.history`):
loss, the LR of each parameter group, validation F1 at the recipe's selection threshold and the
best F1 of a full scan (with its T), items/s and wall time, and which epoch's checkpoint was kept.
Epochs are numbered from 1 here, as the training log prints them.
"""

from __future__ import annotations

import pandas as pd

from ..training.history import group_names, kept_epoch

COLUMNS = ["model", "epoch", "loss", "valid_f1", "valid_threshold", "best_f1", "best_threshold", "items_per_s",
           "seconds", "kept"]


def trained_models(bundle) -> list[str]:
    """Models of the bundle that ship a training history."""
    return [m["id"] for m in bundle.models if "history" in (m.get("files") or {})]


def curves(bundle, model_ids) -> pd.DataFrame:
    """One row per (model, epoch); ``lr:<group>`` columns hold each parameter group's LR and
    ``kept`` marks the epoch whose checkpoint the run kept."""
    rows = []
    for mid in model_ids:
        records = bundle.history(mid)
        if not records:
            continue
        kept = kept_epoch(records)
        for r in records:
            valid = r.get("valid") or {}
            threshold = valid.get("threshold")
            row = {"model": mid, "epoch": int(r["epoch"]) + 1, "loss": r.get("loss"), "valid_f1": valid.get("f1"),
                   "valid_threshold": None if threshold == "scan" else threshold,
                   "best_f1": valid.get("best_f1"), "best_threshold": valid.get("best_threshold"),
                   "items_per_s": r.get("items_per_s"), "seconds": r.get("seconds"), "kept": r["epoch"] == kept}
            lrs = r.get("lrs") or ([r["lr"]] if r.get("lr") is not None else [])
            for name, lr in zip(group_names(len(lrs)), lrs):
                row[f"lr:{name}"] = lr
            rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=COLUMNS)
    lr_cols = sorted(c for c in frame.columns if c.startswith("lr:"))
    return frame[COLUMNS + lr_cols]


def kept_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Per model: epochs trained, the kept epoch and its validation F1 (at the selection threshold)."""
    out = []
    for mid, g in frame.groupby("model", sort=False):
        k = g[g["kept"]]
        out.append({"model": mid, "epochs": int(g["epoch"].max()),
                    "kept_epoch": int(k["epoch"].iloc[0]) if len(k) else None,
                    "kept_valid_f1": float(k["valid_f1"].iloc[0]) if len(k) and pd.notna(k["valid_f1"].iloc[0])
                    else None,
                    "best_scan_f1": float(g["best_f1"].max()) if g["best_f1"].notna().any() else None})
    return pd.DataFrame(out, columns=["model", "epochs", "kept_epoch", "kept_valid_f1", "best_scan_f1"])
