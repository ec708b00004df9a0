"""evaluate's intervals: --bootstrap, --seed, --compare and --threshold-stability.

Every JSON that ``evaluate`` writes carries its pool's fingerprint and the per-row counts
(|X∩Y| and |Y| per posting), so a later run can be compared with it row by row on the
same resamples (``--compare``). The statistics are :mod:`shopee_core.stats`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import stats
from ..errors import ShopeeError
from ..metrics import counts_to_scores, group_sizes


def add_interval_args(s) -> None:
    s.add_argument("--bootstrap", metavar="B", help="add 95%% intervals of F1, precision and recall from B resamples "
                   "of whole label groups (e.g. 1000) -> 'ci' in the JSON")
    s.add_argument("--seed", default="0", metavar="S", help="seed of the resamples (default 0: reruns give the same "
                   "intervals)")
    s.add_argument("--compare", metavar="OTHER.json", help="a JSON this command wrote on the same pool: add the paired "
                   "difference (this − other), its interval and P(this > other) from the same resamples "
                   "(B from --bootstrap, default 1000)")
    s.add_argument("--threshold-stability", metavar="B", help="re-run the threshold search on B resamples of the "
                   "tuning pool (e.g. 200; needs --tune-split or --search-threshold): the spread of T, T2 and of the "
                   "F1 they give here")


@dataclass
class IntervalOptions:
    resamples: int | None
    seed: int
    compare: dict | None
    compare_path: str | None
    stability: int | None

    @property
    def any(self) -> bool:
        return bool(self.resamples or self.compare is not None or self.stability)


def options(args) -> IntervalOptions:
    """The flags checked before any work (one-line errors; nothing is written on a bad flag)."""
    resamples = None if args.bootstrap is None else stats.check_resamples(args.bootstrap, "--bootstrap")
    seed = stats.check_seed(args.seed, "--seed")
    stability = None if args.threshold_stability is None else stats.check_resamples(args.threshold_stability,
                                                                                    "--threshold-stability")
    if stability and not (args.tune_split or args.search_threshold):
        raise ShopeeError("--threshold-stability re-runs the threshold search: give --tune-split or "
                          "--search-threshold too")
    other = None
    if args.compare:
        other = _read_other(args.compare)
    return IntervalOptions(resamples, seed, other, args.compare, stability)


def _read_other(path: str) -> dict:
    try:
        other = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ShopeeError(f"--compare {path}: cannot read it ({exc.strerror or exc})") from None
    except (ValueError, UnicodeDecodeError):
        raise ShopeeError(f"--compare {path}: not a JSON file written by evaluate") from None
    if not isinstance(other, dict) or not isinstance(other.get("pool"), dict):
        raise ShopeeError(f"--compare {path}: not a JSON file written by evaluate (no pool fingerprint)")
    r = other.get("rows")
    if not isinstance(r, dict) or not isinstance(r.get("tp"), list) or not isinstance(r.get("n_pred"), list):
        raise ShopeeError(f"--compare {path}: has no per-row counts (written by an older evaluate); run evaluate again "
                          "to write them")
    return other


def fingerprint(ids, labels, split: str) -> dict:
    """What identifies a pool: its posting ids and labels in order (hashed), size, groups and split."""
    h = hashlib.sha256()
    h.update("\n".join(map(str, ids)).encode("utf-8"))
    h.update(b"\0")
    h.update("\n".join(map(str, labels)).encode("utf-8"))
    return {"split": split, "n": len(ids), "groups": len(np.unique(labels)), "sha256": h.hexdigest()}


def _other_rows(opts: IntervalOptions, pool_fp: dict, labels) -> dict:
    other, path = opts.compare, opts.compare_path
    ofp = other["pool"]
    if ofp.get("sha256") != pool_fp["sha256"]:
        raise ShopeeError(f"--compare {path}: scored on another pool ({ofp.get('n', '?')} postings of split "
                          f"{ofp.get('split', '?')!r}) than this one ({pool_fp['n']} postings of split "
                          f"{pool_fp['split']!r}): the posting ids or labels differ; compare decisions on the same pool")
    try:
        tp = np.asarray(other["rows"]["tp"], dtype=np.int64)
        n_pred = np.asarray(other["rows"]["n_pred"], dtype=np.int64)
    except (TypeError, ValueError):
        raise ShopeeError(f"--compare {path}: its per-row counts are not whole numbers") from None
    n_true = group_sizes(labels)
    if tp.shape != n_true.shape or n_pred.shape != n_true.shape or (tp < 1).any() or (tp > n_pred).any() \
            or (tp > n_true).any():
        raise ShopeeError(f"--compare {path}: its per-row counts do not fit this pool of {len(n_true)} postings")
    return counts_to_scores(tp, n_pred, n_true)


def check_pool(opts: IntervalOptions, pool_fp: dict, labels) -> dict | None:
    """Checks that need the scored pool, before anything is computed or written: at least 2 label
    groups, and a --compare file from this very pool. Returns the other file's per-row scores."""
    if not opts.any:
        return None
    if pool_fp["groups"] < 2:
        raise ShopeeError(f"the pool ({pool_fp['n']} postings of split {pool_fp['split']!r}) has {pool_fp['groups']} "
                          "label group: intervals resample whole label groups and need at least 2")
    return None if opts.compare is None else _other_rows(opts, pool_fp, labels)


def _pair(x) -> list:
    return [None if v is None else round(float(v), 6) for v in x]


def results(opts: IntervalOptions, labels, rows: dict, other_rows: dict | None, stability=None) -> dict:
    """The JSON keys the flags add: ``ci``, ``compare``, ``threshold_stability`` (``stability``: a
    zero-argument call that runs the threshold-stability study)."""
    out: dict = {}
    if opts.resamples or other_rows is not None:
        boot = stats.group_bootstrap(labels, opts.resamples or stats.DEFAULT_RESAMPLES, opts.seed)
        if opts.resamples:
            ci = stats.interval(rows, boot=boot)
            out["ci"] = {**{k: _pair(ci[k]) for k in stats.METRICS}, "resamples": ci["resamples"], "unit": ci["unit"],
                         "seed": ci["seed"], "level": ci["level"], "groups": ci["groups"]}
            print(f"95% interval ({ci['resamples']:,} resamples of {ci['groups']:,} label groups): "
                  + " ".join(f"{k} [{ci[k][0]:.4f}, {ci[k][1]:.4f}]" for k in stats.METRICS))
        if other_rows is not None:
            p = stats.paired(rows, other_rows, boot=boot)
            lo, hi = p["ci"]["f1"]
            out["compare"] = {
                "other": opts.compare_path, "other_decision": opts.compare.get("decision"),
                "difference": {k: round(v, 6) for k, v in p["difference"].items()},
                "ci": {k: _pair(v) for k, v in p["ci"].items()}, "p_better": p["p_better"], "p_worse": p["p_worse"],
                "significant": p["significant"], "resamples": p["resamples"], "unit": p["unit"], "seed": p["seed"],
                "level": p["level"], "ties": "a resample counts as better only when ahead by more than 1e-12"}
            print(f"vs {opts.compare_path}: Δf1 {p['difference']['f1']:+.4f} [{lo:+.4f}, {hi:+.4f}], "
                  f"P(this > other) {p['p_better']:.3f} — " + ("a real difference" if p["significant"] else
                                                               "within noise"))
    if opts.stability:
        st = stability()
        out["threshold_stability"] = st
        sides = "; ".join(
            f"{s['source']}: T {s['t']['interval'][0]:.3f}-{s['t']['interval'][1]:.3f} (median {s['t']['median']:.3f})"
            + ("" if s["t2"] is None else f", T2 {s['t2']['interval'][0]:.3f}-{s['t2']['interval'][1]:.3f}")
            for s in st["sides"])
        f1 = st["f1"]["interval"]
        print(f"threshold stability ({st['resamples']:,} resamples of {st['tuned_on']}): {sides}; F1 here "
              f"{f1[0]:.4f}-{f1[1]:.4f}")
    return out


def row_counts(rows: dict) -> dict:
    """Per-row counts for the JSON (what a later --compare reads)."""
    return {"tp": np.asarray(rows["tp"]).astype(int).tolist(), "n_pred": np.asarray(rows["n_pred"]).astype(int).tolist()}
