"""Intervals on a bundle's numbers: every leaderboard F1 with its 95 % interval, which models are
tied with the best, and A against B overall and per slice of the pool.

The statistics are :mod:`shopee_core.stats` (whole label groups resampled, paired comparisons
from the same resamples); this module feeds them a bundle's per-row scores. Those come from
the bundle's ``rows.npz`` (per-row |X∩Y| and |Y| of every stored decision, written by builds
since intervals came in) or, for an older bundle, from its neighbour tables through the one
decision layer; both give exactly the manifest's means. Everything is cached on the split's
pool, so a page pays for it once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import stats
from ..matching import Decision
from ..metrics import counts_to_scores, group_sizes
from . import decisions as D
from . import errors as E
from .leaderboard import VARIANT_LABELS, best_variant
from .leaderboard import leaderboard as scored_leaderboard

METRICS = stats.METRICS
SIZE_BINS = (("size 1 (alone in the pool)", 1, 1), ("size 2", 2, 2), ("size 3-5", 3, 5), ("size 6-10", 6, 10),
             ("size 11+", 11, None))


# --------------------------------------------------------------------------- entries and their rows
def resolve(bundle, model_id: str, variant: str = "best") -> str | None:
    """The concrete variant of an entry: ``best`` is the one with the best validation F1."""
    e = bundle.entry(model_id)
    v = best_variant(e) if variant == "best" else variant
    if v is None or not any(v in e.metrics.get(s, {}) for s in bundle.splits):
        return None
    return v


def variant_decision(bundle, model_id: str, variant: str) -> Decision:
    """The stored decision a manifest number ``metrics[split][variant]`` was measured with (the one
    mapping of a variant to a decision, :func:`decisions.variant_setting`)."""
    return D.decision(bundle, model_id, **D.variant_setting(bundle, model_id, variant))


def rows(bundle, split: str, model_id: str, variant: str) -> dict[str, np.ndarray]:
    """Per-row ``f1``, ``precision``, ``recall`` of a model's stored decision in ``split``:
    from ``rows.npz`` when the bundle has it, else scored from the tables (cached per pool)."""
    p = D.pool(bundle, split)

    def make():
        counts = bundle.row_counts(model_id, split, variant) if hasattr(bundle, "row_counts") else None
        if counts is not None:
            out = counts_to_scores(counts[0], counts[1], group_sizes(p.labels))
        else:
            r = D.row_arrays(bundle, variant_decision(bundle, model_id, variant), split)
            out = {k: r[k] for k in METRICS}
        return {k: np.asarray(out[k], dtype=np.float64) for k in METRICS}
    return p.cached(("rows", model_id, variant), make)


def boot(bundle, split: str, resamples: int = stats.DEFAULT_RESAMPLES,
         seed: int = stats.DEFAULT_SEED) -> stats.GroupBootstrap:
    """The split's group resamples (one count matrix per pool, B and seed)."""
    p = D.pool(bundle, split)
    resamples, seed = stats.check_resamples(resamples), stats.check_seed(seed)
    return p.cached(("group_bootstrap", resamples, seed), lambda: stats.group_bootstrap(p.labels, resamples, seed))


def decision_interval(bundle, split: str, d: Decision, r: dict | None = None, **kw) -> dict:
    """Interval of a live decision's mean scores (``r``: its per-row arrays when already made)."""
    r = D.row_arrays(bundle, d, split) if r is None else r
    return stats.interval(r, boot=boot(bundle, split, **kw))


def decision_paired(bundle, split: str, a: Decision, b: Decision, rows_a: dict | None = None, **kw) -> dict:
    """A live decision ``a`` against ``b`` on the split, from the same resamples."""
    rows_a = D.row_arrays(bundle, a, split) if rows_a is None else rows_a
    return stats.paired(rows_a, D.row_arrays(bundle, b, split), boot=boot(bundle, split, **kw))


# --------------------------------------------------------------------------- the leaderboard
def leaderboard(bundle, split: str, entries, resamples: int = stats.DEFAULT_RESAMPLES,
                seed: int = stats.DEFAULT_SEED, level: float = stats.LEVEL) -> pd.DataFrame:
    """Intervals for ``entries`` ((model id, concrete variant) pairs) and each against the best.

    One row per entry: ``id``, ``variant``, ``f1``/``precision``/``recall`` with ``*_lo`` /
    ``*_hi``, and against the entry with the best F1 among them: ``gap`` (best − this),
    ``gap_lo`` / ``gap_hi`` (its paired interval), ``p_best_better`` (share of resamples in
    which the best is ahead) and ``tied`` (the gap's interval includes 0: not significantly
    worse than the best; the best itself is tied with itself). All entries in one matrix
    product, the same resamples for all."""
    entries = [(str(m), str(v)) for m, v in entries]
    if not entries:
        return pd.DataFrame(columns=["id", "variant"])
    p = D.pool(bundle, split)

    def make():
        bt = boot(bundle, split, resamples, seed)
        cols = [rows(bundle, split, m, v) for m, v in entries]
        stacked = np.stack([c[k] for c in cols for k in METRICS], axis=1)  # (N, 3E)
        means = stacked.mean(axis=0).reshape(len(entries), len(METRICS))
        res = bt.means(stacked).reshape(bt.resamples, len(entries), len(METRICS))
        out = pd.DataFrame({"id": [m for m, _ in entries], "variant": [v for _, v in entries]})
        for j, k in enumerate(METRICS):
            out[k] = means[:, j]
            lo, hi = np.percentile(res[:, :, j], [50 * (1 - level), 50 * (1 + level)], axis=0)
            out[f"{k}_lo"], out[f"{k}_hi"] = lo, hi
        best = int(np.argmax(means[:, 0]))
        f1 = stacked[:, 0::len(METRICS)]
        gaps = bt.means(f1[:, [best]] - f1)  # (B, E), from the same resamples
        lo, hi = np.percentile(gaps, [50 * (1 - level), 50 * (1 + level)], axis=0)
        out["best"] = np.arange(len(entries)) == best
        out["gap"] = means[best, 0] - means[:, 0]
        out["gap_lo"], out["gap_hi"] = lo, hi
        out["p_best_better"] = (gaps > stats.TIE).mean(axis=0)
        out["tied"] = lo <= stats.TIE
        out.attrs.update(resamples=bt.resamples, seed=bt.seed, groups=bt.n_groups, level=level,
                         best=entries[best][0])
        return out
    return p.cached(("lb_intervals", tuple(entries), resamples, seed, level), make).copy()


# --------------------------------------------------------------------------- A against B
def slices(bundle, split: str, pred_a: np.ndarray | None = None, pred_b: np.ndarray | None = None) -> dict:
    """Named boolean row masks of the split: true group size bins, postings whose photo (identical
    pHash) another label group of the pool shares, titles with a stated quantity and, given the
    two decisions' predictions, every failure-taxonomy type that A or B shows on the row."""
    labels = D.labels(bundle, split)
    n_true = group_sizes(labels)
    out = {}
    for name, lo, hi in SIZE_BINS:
        mask = (n_true >= lo) & (n_true <= (hi if hi is not None else n_true.max(initial=lo)))
        if mask.any():
            out[name] = mask
    phash = bundle.postings["image_phash"].to_numpy()[bundle.split_rows(split)]
    frame = pd.DataFrame({"h": pd.Series(phash, dtype="object").astype(str), "g": labels})
    valid = frame["h"].str.fullmatch(r"[0-9a-fA-F]{4,}")
    groups_per_photo = frame[valid].groupby("h")["g"].nunique()
    shared = set(groups_per_photo.index[groups_per_photo > 1])
    out["photo shared with another group"] = (valid & frame["h"].isin(shared)).to_numpy()
    feats = E.features(bundle, split)
    qty = np.diff(feats.qty_dims.indptr) > 0
    out["title states a quantity"] = qty
    out["title states no quantity"] = ~qty
    if pred_a is not None and pred_b is not None:
        fa, _ = E.classify(pred_a, labels, feats)
        fb, _ = E.classify(pred_b, labels, feats)
        for t in E.ERROR_TYPES:
            mask = fa[t].to_numpy() | fb[t].to_numpy()
            if mask.any():
                out[f"error (A or B): {E.ERROR_LABELS[t]}"] = mask
    return {name: mask for name, mask in out.items() if mask.any()}


def entry_label(model_id: str, variant: str) -> str:
    return f"{model_id} ({VARIANT_LABELS.get(variant, variant)})"


def compare(bundle, split: str, a: tuple[str, str], b: tuple[str, str], resamples: int = stats.DEFAULT_RESAMPLES,
            seed: int = stats.DEFAULT_SEED, with_slices: bool = True) -> dict:
    """Entry A = (model id, concrete variant) against entry B on ``split``: :func:`stats.paired`
    overall (``overall``, plus each side's means), and per slice (``slices``: a frame sorted by how
    much the two differ, each slice with its own paired interval from the same resamples)."""
    a, b = (str(a[0]), str(a[1])), (str(b[0]), str(b[1]))
    key = ("compare", a, b, resamples, seed, with_slices)
    made = D.pool(bundle, split).cached(key, lambda: _compare(bundle, split, a, b, resamples, seed, with_slices))
    return {"overall": dict(made["overall"]), "slices": made["slices"].copy()}


def _compare(bundle, split, a, b, resamples, seed, with_slices) -> dict:
    bt = boot(bundle, split, resamples, seed)
    ra, rb = rows(bundle, split, *a), rows(bundle, split, *b)
    overall = stats.paired(ra, rb, boot=bt)
    overall.update(a=entry_label(*a), b=entry_label(*b), mean_a={k: float(ra[k].mean()) for k in METRICS},
                   mean_b={k: float(rb[k].mean()) for k in METRICS})
    out = {"overall": overall, "slices": pd.DataFrame()}
    if not with_slices:
        return out
    pa = D.predictions(bundle, variant_decision(bundle, *a), split)
    pb = D.predictions(bundle, variant_decision(bundle, *b), split)
    records = []
    n = len(ra["f1"])
    for name, mask in slices(bundle, split, pa, pb).items():
        res = stats.paired(ra, rb, boot=bt, mask=mask)
        lo, hi = res["ci"]["f1"]
        records.append({"slice": name, "rows": int(mask.sum()), "share": float(mask.sum() / n),
                        "f1_a": float(ra["f1"][mask].mean()), "f1_b": float(rb["f1"][mask].mean()),
                        "diff": res["difference"]["f1"], "lo": lo, "hi": hi, "p_better": res["p_better"],
                        "significant": res["significant"]})
    frame = pd.DataFrame(records)
    if len(frame):
        frame = frame.iloc[np.argsort(-frame["diff"].abs().to_numpy(), kind="stable")].reset_index(drop=True)
    out["slices"] = frame
    return out


def pairs_table(bundle, split: str, pairs, resamples: int = stats.DEFAULT_RESAMPLES,
                seed: int = stats.DEFAULT_SEED) -> pd.DataFrame:
    """Paired comparisons of many (A, B) entry pairs on one split (no slices): the README's
    "tied or really different" table. Each pair: means, the difference and its interval,
    P(A > B) and a verdict."""
    records = []
    for a, b in pairs:
        res = compare(bundle, split, a, b, resamples, seed, with_slices=False)["overall"]
        lo, hi = res["ci"]["f1"]
        verdict = ("A better" if lo > stats.TIE else "B better" if hi < -stats.TIE else "tied (within noise)")
        records.append({"a": res["a"], "b": res["b"], "f1_a": res["mean_a"]["f1"], "f1_b": res["mean_b"]["f1"],
                        "diff": res["difference"]["f1"], "lo": lo, "hi": hi, "p_better": res["p_better"],
                        "verdict": verdict})
    return pd.DataFrame(records)


# --------------------------------------------------------------------------- the study's comparisons
IMAGE_RECIPES, TEXT_RECIPES, FUSION_RECIPES = (1, 2, 3, 4, 5), (8, 9, 10, 11, 12), (16, 17)


def _by_recipe(bundle) -> dict[int, str]:
    return {int(e.recipe): e.id for e in bundle.entries if e.recipe is not None}


def study_pairs(bundle, split: str = "test") -> list[tuple[str, tuple, tuple]]:
    """The seed study's questions as (group, A, B) entry pairs, found by recipe number: fusion 17 vs
    16 at each decision, each of the two fusions vs its members, the five image (1-5) and five text
    (8-12) recipes each vs the best of them, Min2 vs the plain threshold and INB vs Min2 for every
    model. Pairs the bundle lacks are left out."""
    recipe = _by_recipe(bundle)
    out = []
    f16, f17 = recipe.get(16), recipe.get(17)
    if f16 and f17:
        out += [("fusion 17 vs 16", (f17, v), (f16, v)) for v in ("base", "min2", "inb")
                if resolve(bundle, f17, v) and resolve(bundle, f16, v)]
    for r in FUSION_RECIPES:
        f = recipe.get(r)
        if f:
            out += [("fusion vs member", (f, resolve(bundle, f, "best")), (m, resolve(bundle, m, "best")))
                    for m in bundle.entry(f).members if resolve(bundle, m, "best")]
    shown = leaderboard_f1(bundle, split)
    for group, recipes in (("image recipes 1-5", IMAGE_RECIPES), ("text recipes 8-12", TEXT_RECIPES)):
        present = [recipe[r] for r in recipes if r in recipe and resolve(bundle, recipe[r], "best")]
        if len(present) < 2:
            continue
        top = max(present, key=lambda m: shown.get(m, float("-inf")))
        out += [(f"{group} vs the best of them", (top, resolve(bundle, top, "best")), (m, resolve(bundle, m, "best")))
                for m in present if m != top]
    for a, b, group in (("min2", "base", "Min2 vs plain"), ("inb", "min2", "INB vs Min2")):
        out += [(group, (e.id, a), (e.id, b)) for e in bundle.entries
                if resolve(bundle, e.id, a) and resolve(bundle, e.id, b)]
    return out


def leaderboard_f1(bundle, split: str) -> dict[str, float]:
    """Each model's F1 on ``split`` at its best decision on valid."""
    frame = scored_leaderboard(bundle, split, "best").dropna(subset=["f1"])
    return dict(zip(frame["id"], frame["f1"]))


def markdown_pairs(bundle, split: str = "test", resamples: int = stats.DEFAULT_RESAMPLES,
                   seed: int = stats.DEFAULT_SEED) -> str:
    """The README's table of the study's comparisons (:func:`study_pairs`), one line each."""
    ps = study_pairs(bundle, split)
    table = pairs_table(bundle, split, [(a, b) for _, a, b in ps], resamples, seed)
    lines = ["| comparison | A | B | F1 A | F1 B | A − B [95 %] | P(A > B) | verdict |",
             "|---|---|---|---|---|---|---|---|"]
    for (group, _, _), (_, r) in zip(ps, table.iterrows()):
        lines.append(f"| {group} | `{r['a']}` | `{r['b']}` | {r['f1_a']:.4f} | {r['f1_b']:.4f} | "
                     f"{r['diff']:+.4f} [{r['lo']:+.4f}, {r['hi']:+.4f}] | {r['p_better']:.3f} | {r['verdict']} |")
    return "\n".join(lines)
