"""The leaderboard: every model of a bundle with its measured numbers and the seed's.

Numbers are the bundle's (each model entry's ``metrics``): row-wise mean F1, precision and
recall within one split (the candidate pool), for the plain threshold (``base``), with
Min2 (``min2``), after INB (``inb``) and with the graph step tuned for the Min2 decision
(``graph``, where the bundle has one); thresholds were tuned on the validation split.
The seed report's test numbers (``reference/seed_results.csv``) sit beside each seed
recipe.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..errors import ShopeeError
from ..metrics import counts_to_scores, group_sizes, summarise
from . import decisions

VARIANTS = ("base", "min2", "inb", "graph")
VARIANT_LABELS = {"base": "plain threshold", "min2": "+ Min2", "inb": "+ INB", "graph": "+ Min2 + graph step",
                  "best": "best on validation"}
SEED_COLUMNS = {"base": ("f1", "precision", "recall"), "min2": ("f1_min2", "precision_min2", "recall_min2"),
                "inb": ("f1_inb", "precision_inb", "recall_inb")}


def describe(model) -> str:
    """What a model (a bundle's model entry) is, in one line: backbone, loss, weights, size, training."""
    spec = model.spec
    members = model.members
    if model.external:
        files = ", ".join(f["name"] for f in model.imported.get("files", []))
        what = "predicted sets" if model.predictions_only else f"{spec.get('dim', '?')}-d embeddings"
        return f"imported {what}" + (f" from {files}" if files else "")
    if model.of:
        return f"INB ×{spec.get('inb_iters', '?')} on {model.of} ({' + '.join(members)})"
    if members:
        how = {"mean": "mean of cosine similarities", "union": "union of predicted sets"}.get(model.combine,
                                                                                              model.combine)
        ws = "" if not model.weights else " weights " + "/".join(f"{x:g}" for x in model.weights)
        return f"{how}: {' + '.join(members)}{ws}"
    parts = []
    backbone = spec.get("stand_in_for") and f"{spec.get('backbone')} (stand-in for {spec['stand_in_for']})" \
        or spec.get("backbone")
    if backbone:
        parts.append(str(backbone))
    if spec.get("loss"):
        loss = {"arcface": "ArcFace", "curricularface": "CurricularFace"}.get(spec["loss"], spec["loss"])
        parts.append(f"{loss} m={spec['margin']}" if spec.get("margin") is not None else loss)
    weights = spec.get("weights")
    if weights and weights != "none":
        text = str(weights)
        parts.append({"imagenet": "ImageNet weights", "hub": "Hugging Face weights"}.get(
            weights, f"ImageNet weights {text[5:]}" if text.startswith("timm:") else text.replace("package:", "")
            + " weights")
            + (" (frozen)" if model.kind == "image_frozen" else ""))
    elif weights == "none" and spec.get("trained"):
        parts.append("random init")
    if spec.get("image_size"):
        parts.append(f"{spec['image_size']} px")
    if spec.get("trained"):
        steps = spec.get("max_steps")
        parts.append(f"{steps} steps" if steps else f"{spec.get('epochs', '?')} epochs")
    return " · ".join(parts) if parts else model.label


def shown_name(model) -> str:
    """A model's name in charts and tables: its id, or for a demo stand-in what it is with the id it
    plays ("MiniLM-L6 ArcFace m=0.6 (as bert_indonesian)"), since the id names a backbone it is not."""
    if not model.spec.get("stand_in_for"):
        return model.id
    what = str(model.label).split(" — ")[0]
    what = re.sub(r"\+ \S+ neck and ", "", re.sub(r"\s*\([^)]*\)", "", what))  # backbone, loss, margin
    what = what.split(",")[0].replace(" head", "").strip() or model.id
    return f"{what} (as {model.id})"


def source(model) -> str:
    """``imported`` for a model made elsewhere (``import-model``), else ``built`` (by ``build-bundle``)."""
    return "imported" if model.external else "built"


def training(model) -> str:
    spec = model.spec
    if model.external:
        return "made elsewhere"
    if model.members:
        return "combination"
    if model.kind == "image_frozen":
        return "neck + head trained"
    if spec.get("trained"):
        return "trained"
    if spec.get("pretrained"):
        return "zero-shot"
    return "no training"


def _metric(metrics: dict, split: str, variant: str, key: str) -> float:
    v = (metrics or {}).get(split, {}).get(variant, {}).get(key)
    return float("nan") if v is None else float(v)


def model_metrics(bundle, model) -> dict:
    """``{split: {variant: {f1, precision, recall}}}`` of a model (a ModelEntry) under the bundle's
    truth: the manifest's numbers, or, on a truth view (:meth:`~shopee_core.bundle.Bundle.relabelled`,
    e.g. "with my fixes"), the same decisions scored again against its labels (once per view)."""
    if bundle is None or getattr(bundle, "truth", None) is None:
        return model.metrics
    return bundle.cached(("truth_metrics", model.id), lambda: _rescored(bundle, model))


def _rescored(bundle, model) -> dict:
    out: dict = {}
    for split, variants in model.metrics.items():
        if split not in bundle.splits:
            continue
        out[split] = {}
        for v in variants:
            if v not in VARIANTS:
                continue
            try:  # the one mapping of a stored variant to its decision, as the builder scored it
                sc = decisions.scores(bundle, model.id, split, **decisions.variant_setting(bundle, model.id, v))
            except ShopeeError:
                continue
            out[split][v] = {k: round(float(sc[k]), 6) for k in ("f1", "precision", "recall")}
    return out


def best_variant(model, metrics: dict | None = None) -> str | None:
    """The variant with the best validation F1 (chosen on valid, reported anywhere)."""
    metrics = model.metrics if metrics is None else metrics
    scored = [(v, _metric(metrics, "valid", v, "f1")) for v in VARIANTS]
    scored = [(v, f) for v, f in scored if np.isfinite(f)]
    return max(scored, key=lambda x: x[1])[0] if scored else None


# The decision a user chooses once for every model (the dashboard's sidebar): a variant, or "best".
RULES = {"best": "best on valid", "base": "plain T", "min2": "Min2", "inb": "INB", "graph": "graph step"}
RULE_HELP = {
    "best": "each model on its variant with the best validation F1 (plain, Min2, INB or the graph step)",
    "base": "every candidate closer than the tuned T, nothing else",
    "min2": "plain T, and a posting left alone gets its nearest candidate if within the looser T2",
    "inb": "neighbourhood blending, then thresholds T', T2' re-tuned on valid",
    "graph": "Min2, then the group-level graph step (mutual pairs, closure, clustering or cut bridges) tuned on valid",
}


def variant_for(model, rule: str, metrics: dict | None = None) -> str | None:
    """The variant ``rule`` picks for a model entry: the rule itself where the model has it (a
    validation F1 stored for it), else — a union has no INB, an INB-only entry nothing else — the
    model's best on valid, so every model still gets one decision and the page says which.
    ``metrics`` (default the manifest's) is :func:`model_metrics` under a truth view."""
    metrics = model.metrics if metrics is None else metrics
    available = [v for v in VARIANTS if np.isfinite(_metric(metrics, "valid", v, "f1"))]
    if rule in available:
        return rule
    if rule != "best" and rule not in RULES:
        raise ValueError(f"unknown decision rule {rule!r} (one of {', '.join(RULES)})")
    return best_variant(model, metrics)


def ranked(bundle, rule: str) -> list[str]:
    """Model ids by validation F1 under ``rule``, best first (chosen on valid: choosing on the
    split one reports would flatter the winner); models that lack the rule's variant (scored on
    another) after those that have it, models without a validation F1 last."""
    def key(m):
        met = model_metrics(bundle, m)  # under the bundle's truth view, as the Leaderboard shows them
        v = variant_for(m, rule, met)
        f = _metric(met, "valid", v, "f1") if v else float("nan")
        return (0 if rule == "best" or v == rule else 1, -f) if np.isfinite(f) else (2, 0.0)
    return [m.id for m in sorted(bundle.entries, key=key)]


def leaderboard(bundle, split: str, variant: str = "best") -> pd.DataFrame:
    """One row per model: what it is, its F1/P/R on ``split`` for ``variant`` (base, min2,
    inb or best = the variant with the best validation F1), every variant's F1, the
    validation F1, thresholds and the seed's numbers for the same recipe and variant.
    Made once per bundle object (its manifest does not change); each call gets a copy."""
    return bundle.cached(("leaderboard", split, variant), lambda: _leaderboard(bundle, split, variant)).copy()


def _leaderboard(bundle, split: str, variant: str) -> pd.DataFrame:
    ref = bundle.reference
    ref = ref.set_index("id") if ref is not None and "id" in ref else None
    rows = []
    for m in bundle.entries:
        met = model_metrics(bundle, m)
        v = variant_for(m, variant, met)
        row = {
            "id": m.id, "label": m.label, "family": m.family, "kind": m.kind,
            "recipe": m.recipe, "what": describe(m), "training": training(m), "source": source(m),
            "variant": v,
            "f1": _metric(met, split, v, "f1") if v else np.nan,
            "precision": _metric(met, split, v, "precision") if v else np.nan,
            "recall": _metric(met, split, v, "recall") if v else np.nan,
            "valid_f1": _metric(met, "valid", v, "f1") if v else np.nan,
        }
        for x in VARIANTS:
            row[f"f1_{x}"] = _metric(met, split, x, "f1")
        graph = m.graph or {}
        row.update(t=m.t, t2=m.t2, inb_t=m.inb_t, inb_t2=m.inb_t2, inb_iters=m.inb_iters,
                   graph=(graph["step"] + ("" if graph.get("param") is None else f":{graph['param']:g}")) if graph
                   else None)
        if m.predictions_only:
            row.update(t="fixed", t2="—")
        if m.sides:
            row["t"] = " / ".join(f"{t:.3f}" for _, t, _ in m.sides)
            row["t2"] = " / ".join("—" if t2 is None else f"{t2:.3f}" for _, _, t2 in m.sides)
        if m.inb_sides:  # a union's INB: each side on its own INB table
            row["inb_t"] = " / ".join(f"{t:.3f}" for _, t, _ in m.inb_sides)
            row["inb_t2"] = " / ".join("—" if t2 is None else f"{t2:.3f}" for _, _, t2 in m.inb_sides)
        seed = np.nan
        seed_p = seed_r = np.nan
        recipe = m.recipe
        if (ref is not None and recipe is not None and not pd.isna(recipe) and int(recipe) in ref.index
                and v in SEED_COLUMNS):  # the seed had no graph steps
            cols = SEED_COLUMNS[v]
            seed, seed_p, seed_r = (float(ref.at[int(recipe), c]) if c in ref and not pd.isna(ref.at[int(recipe), c])
                                    else np.nan for c in cols)
        row.update(seed_f1=seed, seed_precision=seed_p, seed_recall=seed_r,
                   seed_delta=row["f1"] - seed if np.isfinite(seed) else np.nan)
        rows.append(row)
    frame = pd.DataFrame(rows)
    for c in ("t", "t2"):
        frame[c] = frame[c].map(dashed)
    return frame


def dashed(v, fmt: str = "{:.3f}") -> str:
    """A number as text and a dash for none (Streamlit prints a missing number as "None"); text stays."""
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return "—"
    return v if isinstance(v, str) else fmt.format(float(v))


def long_metrics(bundle) -> pd.DataFrame:
    """Tidy (model, split, variant, f1, precision, recall) rows of every stored number."""
    out = []
    for m in bundle.entries:
        for split, variants in m.metrics.items():
            for v, d in variants.items():
                out.append({"model": m.id, "split": split, "variant": v, **{k: d.get(k) for k in
                                                                            ("f1", "precision", "recall")}})
    return pd.DataFrame(out)


def pool(bundle, split: str) -> dict:
    """The candidate pool a score is computed on: postings and groups of the split."""
    labels = bundle.labels(split)
    n_groups = int(pd.Series(labels).nunique()) if len(labels) else 0
    return {"split": split, "postings": int(len(labels)), "groups": n_groups}


def self_only(bundle, split: str) -> dict:
    """The floor: every posting predicted alone."""
    labels = np.asarray(bundle.labels(split))
    if len(labels) == 0:
        return {"f1": float("nan"), "precision": float("nan"), "recall": float("nan"), "n": 0}
    ones = np.ones(len(labels))
    return summarise(counts_to_scores(ones, ones, group_sizes(labels)))


def markdown_table(bundle, split: str = "test") -> str:
    """The README leaderboard: measured F1/P/R (plain, Min2, INB) beside the seed report's test F1."""
    reference = bundle.reference
    seed = {} if reference is None else {int(r["id"]): r for _, r in reference.iterrows()}

    def num(x):
        return "–" if x is None or x != x else f"{x:.4f}"

    lines = ["| # | model | what it is | F1 | P | R | F1 Min2 | F1 INB | seed F1 | seed F1 Min2 |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    rows = sorted(bundle.entries, key=lambda m: (m.recipe is None, m.recipe or 0, m.id))
    for m in rows:
        met = m.metrics.get(split, {})
        base, mn2, inb = met.get("base", {}), met.get("min2", {}), met.get("inb", {})
        s = seed.get(m.recipe) if m.recipe else None
        lines.append("| {} | `{}` | {} | {} | {} | {} | {} | {} | {} | {} |".format(
            m.recipe or "", m.id, describe(m).replace("|", "/"), num(base.get("f1")),
            num(base.get("precision")), num(base.get("recall")), num(mn2.get("f1")), num(inb.get("f1")),
            num(None if s is None else float(s["f1"])), num(None if s is None else float(s["f1_min2"]))))
    return "\n".join(lines)
