"""Label-noise suspects: postings and group pairs whose labels the models contradict.

Shopee's ``label_group`` is noisy in two ways, and a threshold tuned on noisy truth is tuned to
the noise: a posting that shows another product than its group's (*posting* suspects: move it
to the group it shows), and one product listed under two groups (*group-pair* suspects: merge
them). Both are found from the evidence of every single model of a pool, not of one:

1. **Witnesses.** Each single model's neighbour table (combinations are made of these and add
   no new evidence) gives similarities for its candidate pairs. A similarity means different
   things for different models, so each is *calibrated* on the pool itself into the share of
   same-group pairs at that similarity (isotonic, monotone; a pair outside a model's top k gets
   the same-group share of all such pairs). The labels are mostly right, so this is the chance
   that two postings are one product as that model sees it.
2. **Modalities.** Models of one modality read the same photo (or title) and err together, so
   they are averaged, weighted by their validation F1; image and text are two independent
   witnesses, combined by their likelihood ratios against the pool's base rate (naive Bayes):
   a pair both photo and title vouch for is far likelier the same product than one either
   alone does.
3. **Groups.** A posting's *affinity* to a group is its mean combined probability to the
   group's members, and a group's *cohesion* the mean over its own pairs. A posting suspect is
   a posting as close to another group B as B's members are to each other and much farther
   from its own group A than A's members are from each other. A group-pair suspect is two
   groups whose members match across about as strongly as within (and most members of each,
   not one mislabelled posting, carry the link): the cross-pair probability counts for it, and
   where it falls short of the two groups' own pairs of independent listings (a re-posted photo
   or copied title left out) the shortfall counts against it. One
   product listed twice has fresh photos and titles on both sides, so its cross pairs look like
   each group's own pairs; siblings one attribute apart look alike too, but a group's own
   listings agree on that attribute and the cross pairs do not, however close they are.
4. **Evidence against.** Titles that state different quantities or variants (100ml vs 250ml,
   red vs blue, A51 vs A12: :class:`~shopee_core.analysis.errors.PostingFeatures`) mark
   siblings, correctly labelled; the share of such conflicts across the two sides beyond the
   share within them lowers the score. Words one group's titles state and the other's never do
   count against a group pair by what such a split meant among the pool's look-alike groups
   (:class:`TitleSplits`, learnt from the labels): it reads what no parser knows.

:func:`find_suspects` works on any pool (tables, labels, titles, pHashes);
:func:`bundle_suspects` feeds it a bundle split's single models, each weighted by its
validation F1 from the manifest.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
import scipy.sparse as sp
from tqdm import tqdm

from ..data.units import BASE_UNITS, parse_quantities
from ..errors import ShopeeError
from ..matching import Neighbors
from ..metrics import run_starts
from . import decisions
from .errors import PostingFeatures, features, variant_attributes

logger = logging.getLogger(__name__)

KINDS = ("posting", "group_pair")
COLUMNS = ["kind", "posting_id", "label_group", "other_label_group", "score", "evidence"]
MODALITIES = ("image", "text")
_EPS = 1e-6


class NoiseError(ShopeeError):
    """Bad input to the suspect finder (no witness, unknown split, unlabelled pool)."""


@dataclass(frozen=True)
class Witness:
    """One single model's view of a pool: its neighbour table, modality and weight. ``seen``:
    the postings whose labels trained it (None: none). A model trained on a posting's label has
    learnt that label, noise included, so its similarities for that posting are its memory of the
    labels, not evidence about them: pairs touching a seen posting do not hear this witness."""

    id: str
    modality: str
    weight: float
    neighbors: Neighbors
    seen: np.ndarray | None = None

    def __post_init__(self):
        if self.modality not in MODALITIES:
            raise NoiseError(f"witness {self.id}: modality must be one of {', '.join(MODALITIES)}, "
                             f"got {self.modality!r}")
        if not np.isfinite(self.weight) or self.weight <= 0:
            raise NoiseError(f"witness {self.id}: weight must be a positive number, got {self.weight!r}")


@dataclass(frozen=True)
class SuspectConfig:
    """Knobs of the finder (defaults measured on the demo catalogs, see README)."""

    min_score: float = 0.0         # posting suspects at most this (log-odds: B no likelier than A) are not listed
    min_pair_score: float = -6.0   # group pairs at most this (log-odds that a cross pair is one product) neither
    conflict_penalty: float = 10.0  # log-odds a stated quantity or variant conflict takes off
    agreement_bonus: float = 4.0   # log-odds a pair gains when both state the value of a kind their family varies in
    family_floor: float = -8.0     # groups linked above this cross part are each other's family (look-alikes)
    split_weight: float = 1.0      # scale of the title-split evidence (1: its log-likelihood ratio as learnt)
    split_support: int = 5         # a word is weighed once this many pairs of either kind state it
    split_prior: float = 2.0       # pseudo-pairs pulling each word's rates towards every word's
    clip: float = 1e-5             # probabilities are kept in [clip, 1 - clip]


# ----------------------------------------------------------------------------- pair evidence
@dataclass(frozen=True)
class Calibration:
    """One witness's map from similarity to P(same group) on the pool: the isotonic fit's steps,
    never below ``absent``, the rate of pairs outside its table (a similarity of NaN: beyond it)."""

    x: np.ndarray
    y: np.ndarray
    absent: float

    def __call__(self, sims) -> np.ndarray:
        sims = np.asarray(sims, dtype=np.float64)
        out = np.full(sims.shape, self.absent)
        ok = np.isfinite(sims)
        if len(self.x) and ok.any():
            out[ok] = np.maximum(np.interp(sims[ok], self.x, self.y), self.absent)
        return out


@dataclass
class PairEvidence:
    """Every candidate pair of the pool (``a < b``) with each modality's probability and the
    combined one; ``absent``: the same for a pair no witness holds. Each witness's own view is its
    table read through its ``calibration`` (:func:`pair_similarities`): a (witnesses x pairs)
    matrix would hold 2 GB at 70,000 postings."""

    n: int
    a: np.ndarray
    b: np.ndarray
    witness_ids: list[str]
    modality: list[str]
    calibration: list = field(default_factory=list)     # per witness: Calibration
    by_modality: dict = field(default_factory=dict)   # modality -> (P,) weighted mean probability
    combined: np.ndarray | None = None                # (P,)
    absent_witness: np.ndarray | None = None          # (W,)
    absent_modality: dict = field(default_factory=dict)  # modality -> probability of a pair no witness holds
    absent: float = 0.0
    prior: float = 0.0

    @cached_property
    def keys(self) -> np.ndarray:
        """Sorted ``a * n + b`` of every pair: made once, a suspect's description looks pairs up
        thousands of times (at 34,253 postings remaking it per look-up was 38% of the finder's time)."""
        return self.a.astype(np.int64) * self.n + self.b

    def lookup(self, i, j) -> np.ndarray:
        """Positions of pairs (i, j) in the evidence (-1 where no witness holds the pair)."""
        i, j = np.asarray(i, dtype=np.int64), np.asarray(j, dtype=np.int64)
        key = np.minimum(i, j) * self.n + np.maximum(i, j)
        keys = self.keys
        pos = np.searchsorted(keys, key)
        pos = np.minimum(pos, max(len(keys) - 1, 0))
        found = (len(keys) > 0) & (keys[pos] == key) if len(keys) else np.zeros(len(key), bool)
        return np.where(found, pos, -1)


def _table_pairs(nb: Neighbors, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Unordered candidate pairs of a table as sorted int64 keys ``a * n + b`` (a < b) with the
    pair's similarity (the larger of its two directions)."""
    rows = np.repeat(np.arange(nb.n, dtype=np.int64), nb.k)
    cols = nb.idx.astype(np.int64).ravel()
    sim = nb.sim.astype(np.float32).ravel()
    keep = (cols >= 0) & (cols != rows)
    rows, cols, sim = rows[keep], cols[keep], sim[keep]
    key = np.minimum(rows, cols) * n + np.maximum(rows, cols)
    order = np.argsort(key, kind="stable")
    key = key[order]
    first = np.flatnonzero(run_starts(key))
    return key[first], (np.maximum.reduceat(sim[order], first) if len(key) else sim)


def pair_similarities(nb: Neighbors, i, j) -> np.ndarray:
    """Each pair's (i, j) similarity in a table, the larger of its two directions as in
    :func:`_table_pairs`; NaN where neither row holds the other (beyond the top k)."""
    i, j = np.asarray(i, dtype=np.int64), np.asarray(j, dtype=np.int64)
    out = np.full(len(i), np.nan)
    for u, v in ((i, j), (j, i)):
        hit = nb.idx[u] == v[:, None]
        found = hit.any(axis=1)
        s = np.where(hit, nb.sim[u], -np.inf).max(axis=1) if len(u) else np.zeros(0)
        out = np.where(found, np.fmax(out, s), out)
    return out


def _sorted_union(parts: list[np.ndarray]) -> np.ndarray:
    """np.unique of sorted arrays, concatenated: a stable sort (timsort) merges their runs, where
    np.unique's quicksort took 10 s of the finder's minute at 34,253 postings."""
    if not parts:
        return np.zeros(0, dtype=np.int64)
    keys = np.concatenate(parts)
    keys.sort(kind="stable")
    return keys[run_starts(keys)]


def _same_pairs(codes: np.ndarray) -> int:
    sizes = np.bincount(codes)
    return int((sizes * (sizes - 1) // 2).sum())


def _calibrate(sim: np.ndarray, same: np.ndarray, absent_rate: float, fit: np.ndarray | None = None) -> Calibration:
    """P(same group | similarity) on the pool's own pairs: isotonic in the similarity, never
    below the rate of pairs outside the table (they are farther than every stored one).
    ``fit``: the pairs to learn it from (default all)."""
    if len(sim) == 0:
        return Calibration(np.zeros(0), np.zeros(0), absent_rate)
    from sklearn.isotonic import IsotonicRegression  # here: the server imports this module at start-up

    fit = np.ones(len(sim), dtype=bool) if fit is None or not fit.any() else fit
    iso = IsotonicRegression(increasing=True, y_min=0.0, y_max=1.0, out_of_bounds="clip")
    iso.fit(sim[fit].astype(np.float64), same[fit].astype(np.float64))
    return Calibration(np.asarray(iso.X_thresholds_, dtype=np.float64),
                       np.asarray(iso.y_thresholds_, dtype=np.float64), absent_rate)


def _odds(p):
    return p / (1.0 - p)


def pair_evidence(witnesses: list[Witness], labels, config: SuspectConfig = SuspectConfig(),
                  step: Callable[[str], None] | None = None) -> PairEvidence:
    """Calibrate every witness on the pool and combine them per pair (see the module docstring).

    One witness at a time: each adds its weighted probabilities to its modality's running sums, so
    memory is a few vectors of the pool's pairs whatever the number of models. ``step(what)``:
    called after each of the 3 x witnesses steps (:func:`find_suspects`' progress)."""
    step = step or (lambda what: None)
    if not witnesses:
        raise NoiseError("no single model with a neighbour table to take evidence from")
    labels = np.asarray(labels)
    n = len(labels)
    for w in witnesses:
        if w.neighbors.n != n:
            raise NoiseError(f"witness {w.id}: table has {w.neighbors.n} rows, the pool {n} postings")
    codes = np.unique(labels, return_inverse=True)[1].ravel()
    total_pairs = n * (n - 1) // 2
    total_same = _same_pairs(codes)
    prior = min(max(total_same / max(total_pairs, 1), config.clip), 1 - config.clip)
    tables = []
    for w in witnesses:
        tables.append(_table_pairs(w.neighbors, n))
        step(f"{w.id}: its pairs")
    keys = _sorted_union([k for k, _ in tables])
    index = np.int32 if n < 2**31 else np.int64
    a, b = (keys // n).astype(index), (keys % n).astype(index)
    same_all = codes[a] == codes[b]
    W, P = len(witnesses), len(keys)
    absent_w = np.empty(W, dtype=np.float64)
    calibration = []
    positions = []
    place = np.int32 if P < 2**31 else np.int64
    for w, (k, s) in enumerate(tables):
        pos = np.searchsorted(keys, k).astype(place)
        same = same_all[pos]
        rest_pairs = total_pairs - len(k)
        absent_w[w] = min(max((total_same - int(same.sum())) / max(rest_pairs, 1), config.clip), 1 - config.clip)
        seen = witnesses[w].seen
        fair = None
        if seen is not None and np.asarray(seen).any():
            seen = np.asarray(seen, dtype=bool)
            fair = ~(seen[k // n] | seen[k % n])  # calibrate on the pairs it never trained on
        calibration.append(_calibrate(s, same, absent_w[w], fit=fair))
        positions.append(pos)
        tables[w] = (None, s)  # its pairs are its positions from here (a third of the memory)
        del k, same, fair
        step(f"{witnesses[w].id}: calibrated")
    del keys

    def heard(w: int) -> np.ndarray | None:
        """Pairs the witness may speak about (None: all). Training pulls a seen posting towards its
        own group and away from the others: "close to its own group" is memory, not evidence;
        "close to another group" despite it still is."""
        seen = witnesses[w].seen
        if seen is None or not np.asarray(seen).any():
            return None
        seen = np.asarray(seen, dtype=bool)
        return ~((seen[a] | seen[b]) & same_all)

    def probs(w: int, out: np.ndarray) -> np.ndarray:
        out.fill(absent_w[w])
        out[positions[w]] = calibration[w](tables[w][1]).astype(np.float32)
        return np.clip(out, config.clip, 1 - config.clip, out=out)

    def log_odds_ratio(p: np.ndarray, out: np.ndarray) -> np.ndarray:
        """log(odds(p)) - log(odds(prior)) written into ``out``: the expression's steps, in place."""
        np.subtract(1.0, p, out=out)
        np.divide(p, out, out=out)
        np.log(out, out=out)
        out -= np.log(_odds(prior))
        return out

    ev = PairEvidence(n, a, b, [w.id for w in witnesses], [w.modality for w in witnesses], calibration,
                      absent_witness=absent_w, prior=prior)
    weights = np.asarray([w.weight for w in witnesses], dtype=np.float64)
    log_odds = np.full(P, np.log(_odds(prior)))
    log_odds_absent = np.log(_odds(prior))
    # the weighing's arrays (P pairs each: 20 million at 70,000 postings) are made once and filled in
    # place: with a temporary per operation (158 MB each there) the process peaked at 2.55 GB in this
    # loop, now 2.08. Each step is the operation it replaces, so every probability is the same to the bit.
    p32, part = np.empty(P, dtype=np.float32), np.empty(P)
    for mod in MODALITIES:
        sel = np.flatnonzero([w.modality == mod for w in witnesses])
        if not len(sel):
            continue
        num, total = np.zeros(P), np.zeros(P)
        for w in sel:
            h = heard(w)
            if h is None:
                num += np.multiply(probs(w, p32), weights[w], out=part)
                total += weights[w]
            else:
                np.multiply(h, weights[w], out=part)
                total += part
                num += np.multiply(part, probs(w, p32), out=part)
            del h
            step(f"{witnesses[w].id}: weighed")
        known = total > 0
        p_mod = np.divide(num, np.maximum(total, _EPS, out=total), out=num)
        p_mod[~known] = prior
        del total, known
        np.clip(p_mod, config.clip, 1 - config.clip, out=p_mod)
        ws = weights[sel] / weights[sel].sum()
        p_mod_absent = float(np.clip(ws @ absent_w[sel], config.clip, 1 - config.clip))
        ev.by_modality[mod] = p_mod.astype(np.float32)
        ev.absent_modality[mod] = p_mod_absent
        log_odds += log_odds_ratio(p_mod, part)
        log_odds_absent += np.log(_odds(p_mod_absent)) - np.log(_odds(prior))
        del p_mod, num
    del p32, part
    np.negative(log_odds, out=log_odds)
    np.exp(log_odds, out=log_odds)
    log_odds += 1.0
    ev.combined = np.divide(1.0, log_odds, out=log_odds).astype(np.float32)
    ev.absent = float(1.0 / (1.0 + np.exp(-log_odds_absent)))
    return ev


# ----------------------------------------------------------------------------- groups
@dataclass
class Affinities:
    """One modality's posting-to-group evidence in a pool (``codes``: group per posting), over the
    (posting, other group) keys of its links (:class:`_Links`' ``cross_keys``, one array for every
    modality)."""

    codes: np.ndarray
    sizes: np.ndarray
    aff: np.ndarray          # mean probability of posting x to the members of group g, per key x * G + g
    own: np.ndarray          # (N,) the same to its own group's other members (``absent`` when alone)
    cohesion: np.ndarray     # (G,) mean probability over the group's own pairs (NaN for one member)
    absent: float            # probability of a pair no witness holds


def _key_type(bound: int):
    """The narrowest of int32 / int64 holding keys below ``bound``: sorting 40 million int32 keys
    takes half the time of int64 ones (1.7 against 3.1 s here), in half the memory."""
    return np.int32 if bound <= 2**31 else np.int64


def _unique_inverse(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(key, return_inverse=True)`` with an int32 inverse where it fits, sorting ``key``
    in place: np.unique held six arrays of the key's size at once (1.7 GB at 70,000 postings), this
    three."""
    perm = np.argsort(key)
    key[:] = key[perm]
    step = run_starts(key)
    uniq = key[step]
    index = np.int32 if len(uniq) < 2**31 else np.int64
    inv = np.empty(len(perm), dtype=index)
    inv[perm] = np.cumsum(step, dtype=index) - 1
    return uniq, inv


@dataclass
class _Links:
    """Each (posting, group) some pair links, as sorted keys ``x * G + g`` (own group and other
    groups apart); ``inv``: for every pair in both directions (a's side first) the position of its
    key among all keys. The same for every modality, so found once: at 70,000 postings these are
    arrays of tens of millions."""

    codes: np.ndarray
    sizes: np.ndarray
    inv: np.ndarray          # int32 where it fits
    own_entry: np.ndarray    # the key is the posting's own group
    own_x: np.ndarray        # the posting of each own-group key
    own_counts: np.ndarray   # its pairs
    cross_keys: np.ndarray   # the keys of other groups than the posting's
    cross_members: np.ndarray  # that group's size, int32
    cross_unheld: np.ndarray   # its members no pair links the posting to, int32


def _links(a: np.ndarray, b: np.ndarray, codes: np.ndarray) -> _Links:
    """``codes``: each posting's group, 0 to G - 1 (``np.unique(labels, return_inverse=True)``)."""
    codes = np.asarray(codes, dtype=np.int64)
    sizes = np.bincount(codes).astype(np.int64)
    G = len(sizes)
    kind = _key_type(len(codes) * G)
    c = codes.astype(kind)
    uniq, inv = _unique_inverse(np.concatenate([a.astype(kind) * kind(G) + c[b], b.astype(kind) * kind(G) + c[a]]))
    del c
    counts = np.bincount(inv, minlength=len(uniq)).astype(np.int32)
    own_entry = codes[uniq // G] == uniq % G
    cross_keys = uniq[~own_entry]
    own_x = uniq[own_entry] // G
    del uniq
    members = sizes[cross_keys % G].astype(np.int32)
    return _Links(codes, sizes, inv, own_entry, own_x, counts[own_entry], cross_keys, members,
                  members - counts[~own_entry])


def affinities(p: np.ndarray, absent: float, L: _Links) -> Affinities:
    """Mean pair probability ``p`` (of the pairs ``L`` links, :func:`_links`) of every posting to
    every group it is linked to, to its own group, and each group's cohesion; a pair no witness
    holds counts as ``absent``."""
    codes, sizes, own_entry = L.codes, L.sizes, L.own_entry
    G, n, P = len(sizes), len(codes), len(p)
    p = np.asarray(p, dtype=np.float64)
    # float64 even with no pair at all (bincount of nothing is int64, and the sums below are in place)
    sums = np.bincount(L.inv[:P], weights=p, minlength=len(own_entry)).astype(np.float64, copy=False)
    sums += np.bincount(L.inv[P:], weights=p, minlength=len(own_entry))
    aff = sums[~own_entry]  # in place from here: these are the pool's largest arrays
    own_sum_known = sums[own_entry]
    del sums
    aff += L.cross_unheld * absent
    aff /= np.maximum(L.cross_members, 1)
    own_x = L.own_x
    own_sum = np.zeros(n)
    own_known = np.zeros(n, dtype=np.int64)
    own_sum[own_x] = own_sum_known
    own_known[own_x] = L.own_counts
    others = sizes[codes] - 1
    own_sum = own_sum + (others - own_known) * absent
    own = np.where(others > 0, own_sum / np.maximum(others, 1), absent)
    with np.errstate(invalid="ignore", divide="ignore"):
        pairs = sizes * (sizes - 1) / 2
        cohesion = np.where(pairs > 0, np.bincount(codes, weights=own_sum, minlength=G) / 2 / np.maximum(pairs, 1),
                            np.nan)
    return Affinities(codes, sizes, aff, own, cohesion, absent)


def _logit(p, clip: float) -> np.ndarray:
    """log(p / (1 - p)) of p clipped to [clip, 1 - clip], in place on one copy: at 70,000 postings p
    has tens of millions of values, and each temporary was another 240 MB of the finder's peak."""
    p = np.clip(np.asarray(p, dtype=np.float64), clip, 1 - clip)
    q = 1 - p
    np.divide(p, q, out=p)
    del q
    return np.log(p, out=p)


# kinds whose shared value is no evidence of one product: a "code" is any word with a digit, and
# sellers add codes that are no variant (combed 30s, no 02)
NOT_AGREEABLE = frozenset({"code"})


def _membership(codes: np.ndarray, G: int) -> sp.csr_matrix:
    """(G, n) membership: ``m @ per_row`` sums each group's rows."""
    return sp.csr_matrix((np.ones(len(codes)), (codes, np.arange(len(codes)))), shape=(G, len(codes)))


class _GroupAttributes:
    """Which quantities and variant values (colour, size, code) each group's titles state, any
    member counting: siblings rarely state their attribute in every title, a group does."""

    def __init__(self, features: PostingFeatures, codes: np.ndarray):
        G = int(codes.max()) + 1 if len(codes) else 0
        onehot = _membership(codes, G)
        self.codes = codes
        # (posting values, group value counts, value -> kind) for quantities and for variant attributes
        self.parts = [((v > 0).astype(np.float32).tocsr(), (onehot @ (v > 0).astype(np.float32)).tocsr(), kinds)
                      for v, kinds in ((features.qty_values, features.value_dims),
                                       (features.attr_values, features.attr_kinds))]
        # which per-kind columns may speak for a pair (quantities, colours, sizes; see NOT_AGREEABLE)
        n_qty = features.value_dims.shape[1]
        names = list(features.attr_kind_names) + [""] * (features.attr_kinds.shape[1] - len(features.attr_kind_names))
        self.agreeable = np.asarray([True] * n_qty + [name not in NOT_AGREEABLE for name in names], dtype=bool)

    @staticmethod
    def _per_kind(va, vb, kinds) -> tuple[np.ndarray, np.ndarray]:
        """(conflict, agreement), each (rows, kinds): both sides state the kind and share no
        value of it / share one."""
        va, vb = (va > 0).astype(np.float32), (vb > 0).astype(np.float32)
        both = ((va @ kinds) > 0).multiply((vb @ kinds) > 0).toarray()
        shared = ((va.multiply(vb) @ kinds) > 0)
        shared = shared.toarray() if sp.issparse(shared) else np.asarray(shared)
        return both & ~shared, both & shared

    @classmethod
    def _conflict(cls, va, vb, kinds) -> np.ndarray:
        """Rows where both sides state some kind and share no value of it."""
        return cls._per_kind(va, vb, kinds)[0].any(axis=1)

    def per_kind(self, ga, gb) -> tuple[np.ndarray, np.ndarray]:
        """Group pairs' conflicts and agreements per kind (quantity kinds, then variant kinds)."""
        ga, gb = np.asarray(ga), np.asarray(gb)
        if not len(ga):
            width = sum(kinds.shape[1] for _, _, kinds in self.parts)
            return np.zeros((0, width), bool), np.zeros((0, width), bool)
        conflict, agree = [], []
        for i in range(0, len(ga), BLOCK):  # sparse gathers of millions of group pairs at once held gigabytes
            a, b = ga[i:i + BLOCK], gb[i:i + BLOCK]
            parts = [self._per_kind(counts[a], counts[b], kinds) for _, counts, kinds in self.parts]
            conflict.append(np.hstack([c for c, _ in parts]))
            agree.append(np.hstack([t for _, t in parts]))
        return np.vstack(conflict), np.vstack(agree)

    def posting_conflict(self, x, g) -> np.ndarray:
        """Posting x's title against group g's titles, where it does not conflict with the rest of
        its own group (a posting at odds with its own group is what a mislabel looks like)."""
        x, g = np.asarray(x), np.asarray(g)
        out = np.zeros(len(x), dtype=bool)
        for post, counts, kinds in self.parts if len(x) else ():
            rest = counts[self.codes[x]] - post[x]  # its own group without it
            out |= self._conflict(post[x], counts[g], kinds) & ~self._conflict(post[x], rest, kinds)
        return out


@dataclass
class FreshCohesion:
    """Per group, each modality's summed probability over its own pairs of two independent
    listings, and how many such pairs it has. A re-posted photo (the same pHash) or a copied
    title makes a pair one listing twice: the models find it far closer than two sellers'
    listings of one product are, and a duplicate group, listed afresh, can never match across
    like that."""

    sums: dict      # modality -> (G,) summed probability over the group's fresh own pairs
    pairs: np.ndarray  # (G,) number of fresh own pairs

    def pooled(self, mod: str, ga, gb) -> np.ndarray:
        """Mean over the fresh own pairs of groups ``ga`` and ``gb`` together (each pair once);
        NaN where neither has one."""
        ga, gb = np.asarray(ga, dtype=np.int64), np.asarray(gb, dtype=np.int64)
        n = self.pairs[ga] + self.pairs[gb]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n > 0, (self.sums[mod][ga] + self.sums[mod][gb]) / np.maximum(n, 1), np.nan)


def _normalised_titles(features: PostingFeatures) -> np.ndarray:
    return np.asarray([" ".join(str(t).lower().split()) for t in features.titles], dtype=object)


def fresh_cohesion(ev: PairEvidence, features: PostingFeatures, codes: np.ndarray) -> FreshCohesion:
    """Every group's own pairs but copies (same pHash or the same title), per modality (a pair no
    witness holds counts as the modality's absent probability)."""
    codes = np.asarray(codes, dtype=np.int64)
    G = int(codes.max()) + 1 if len(codes) else 0
    order = np.argsort(codes, kind="stable")
    starts = np.searchsorted(codes[order], np.arange(G + 1))
    ii, jj = [], []
    for g in range(G):
        m = order[starts[g]:starts[g + 1]]
        if len(m) > 1:
            a, b = np.triu_indices(len(m), 1)
            ii.append(m[a])
            jj.append(m[b])
    i = np.concatenate(ii) if ii else np.zeros(0, dtype=np.int64)
    j = np.concatenate(jj) if jj else np.zeros(0, dtype=np.int64)
    titles = _normalised_titles(features)
    fresh = (features.image_distance(i, j) > 0) & (titles[i] != titles[j]) if len(i) else np.zeros(0, bool)
    i, j = i[fresh], j[fresh]
    pos = ev.lookup(i, j)
    g = codes[i]
    sums = {}
    for mod, p in ev.by_modality.items():
        vals = np.where(pos >= 0, p[np.maximum(pos, 0)] if len(p) else 0.0, ev.absent_modality[mod])
        sums[mod] = np.bincount(g, weights=vals, minlength=G).astype(np.float64)
    return FreshCohesion(sums, np.bincount(g, minlength=G).astype(np.float64))


@dataclass
class TitleSplits:
    """Words one group's listings state and the other's never do, weighed by what the pool's own
    labels say such a split means.

    Each word's weight is learnt from two kinds of pairs of distinct titles: two listings of one
    group (one product, two sellers) and two listings of look-alike groups (linked above
    ``family_floor``: mostly siblings). ``r`` is the share of such pairs, among those where at
    least one title has the word, where the other lacks it; the weight is
    ``max(0, log(r_look / r_same))``, the log-likelihood ratio of one listing lacking the word
    that the other states. Sellers' habits ("free ongkir") and the words sellers often leave out
    are missing as often within a group as across, and weigh ~0; the words a family varies in
    (a strap's material, a biscuit's flavour, a line: "karet" vs "rantai", "keju" vs "jagung")
    are stated by a group's listings and missing from its siblings', and weigh more; no list of
    words is needed, so it holds for whatever a catalog's siblings differ in. A group pair's
    evidence against is, over the words one side states and the other never does, the weight
    times the other side's listings (each one a listing lacking it) times the share of the
    stating side's listings that have it. A product listed twice has fresh titles of the same
    product on both sides, so it splits only in words sellers leave out at random."""

    counts: sp.csr_matrix   # (G, V) distinct titles of each group that have the word
    titles: np.ndarray      # (G,) distinct titles of each group
    weights: np.ndarray     # (V,) log-odds per listing lacking the word
    names: np.ndarray       # (V,) the words

    def _one_sided(self, ga, gb) -> np.ndarray:
        """Per pair: what ``ga``'s words that ``gb`` never states weigh (an (n, V) sparse matrix)."""
        share = sp.diags(1.0 / np.maximum(self.titles[ga], 1)) @ self.counts[ga]
        lacking = share - share.multiply(self.counts[gb] > 0)
        return sp.diags(self.titles[gb].astype(np.float64)) @ lacking.multiply(self.weights[None, :]).tocsr()

    def against(self, ga, gb) -> np.ndarray:
        """Log-odds against each group pair being one product, from the words they split in."""
        ga, gb = np.asarray(ga, dtype=np.int64), np.asarray(gb, dtype=np.int64)
        if not len(ga):
            return np.zeros(0)
        return (np.asarray(self._one_sided(ga, gb).sum(axis=1)).ravel()
                + np.asarray(self._one_sided(gb, ga).sum(axis=1)).ravel())

    def words(self, ga: int, gb: int, top: int = 3) -> list[str]:
        """The heaviest words of one pair, in words ("karet: 3 of 3 titles vs 0 of 6")."""
        out = []
        c = self.counts
        for a, b, flip in ((ga, gb, False), (gb, ga, True)):
            cols = c.indices[c.indptr[a]:c.indptr[a + 1]]
            have = c.data[c.indptr[a]:c.indptr[a + 1]]
            lacking = ~np.isin(cols, c.indices[c.indptr[b]:c.indptr[b + 1]][c.data[c.indptr[b]:c.indptr[b + 1]] > 0])
            # as _one_sided, a row at a time: share stating it x weight x the other side's listings
            weight = have / max(self.titles[a], 1) * self.weights[cols] * self.titles[b]
            for col, k, w in zip(cols[lacking], have[lacking], weight[lacking]):
                if not w > 0:
                    continue
                said = (f"0 of {int(self.titles[b])} titles vs {int(k)} of {int(self.titles[a])}" if flip else
                        f"{int(k)} of {int(self.titles[a])} titles vs 0 of {int(self.titles[b])}")
                out.append((w, f"'{self.names[col]}' ({said})"))
        # equal weights (to rounding) in the words' order, whatever order the sums were made in
        return [text for _, text in sorted(out, key=lambda x: (-round(x[0], 9), x[1]))[:top]]


def title_splits(features: PostingFeatures, codes: np.ndarray, la, lb,
                 config: SuspectConfig = SuspectConfig()) -> TitleSplits:
    """Learn each word's weight (:class:`TitleSplits`) from the pool: its groups' own pairs of distinct
    titles against the pairs across the look-alike group pairs ``(la, lb)``."""
    codes = np.asarray(codes, dtype=np.int64)
    G = int(codes.max()) + 1 if len(codes) else 0
    tokens = features.tokens
    V = tokens.shape[1]
    names = np.asarray(list(features.token_names) + [""] * (V - len(features.token_names)), dtype=object)
    # a copied title is one listing twice: each group's distinct titles only
    distinct = ~pd.DataFrame({"g": codes, "t": _normalised_titles(features)}).duplicated().to_numpy()
    rows = np.flatnonzero(distinct)
    onehot = _membership(codes[rows], G)
    counts = (onehot @ (tokens[rows] > 0).astype(np.float64)).tocsr()
    titles = np.asarray(onehot.sum(axis=1), dtype=np.float64).ravel()
    # within: pairs of one group's distinct titles where both / one of the two have the word
    c = counts.tocoo()
    both_s = np.bincount(c.col, weights=c.data * (c.data - 1) / 2, minlength=V)
    one_s = np.bincount(c.col, weights=c.data * (titles[c.row] - c.data), minlength=V)
    # across look-alike groups
    la, lb = np.asarray(la, dtype=np.int64), np.asarray(lb, dtype=np.int64)
    ka, kb = counts[la], counts[lb]
    both_l = np.asarray(ka.multiply(kb).sum(axis=0)).ravel()
    one_l = (np.asarray((sp.diags(titles[lb]) @ ka + sp.diags(titles[la]) @ kb).sum(axis=0)).ravel()
             - 2 * both_l) if len(la) else np.zeros(V)
    weights = np.zeros(V)
    if one_s.sum() > 0 and one_l.sum() > 0:
        base_s = one_s.sum() / (one_s.sum() + both_s.sum())
        base_l = one_l.sum() / (one_l.sum() + both_l.sum())
        r_s = (one_s + config.split_prior * base_s) / (one_s + both_s + config.split_prior)
        r_l = (one_l + config.split_prior * base_l) / (one_l + both_l + config.split_prior)
        known = (one_s + both_s >= config.split_support) & (one_l + both_l >= config.split_support)
        weights = np.where(known, np.maximum(0.0, np.log(r_l / r_s)), 0.0)
    return TitleSplits(counts, titles, weights, names)


def _family_agreement(pa, pb, linked, conf_k, agree_k, G: int) -> np.ndarray:
    """1.0 for a group pair that states the same value of a kind their family varies in, else 0.

    Their family: the groups the models link to both of them. A kind varies in it when such a common
    neighbour states another value than one of the two (a sibling: 100ml beside 250ml, mint beside
    navy). Siblings never agree on the kind they differ in, and agreeing on a kind the family shares
    (the brand's one colour) says nothing; a product listed twice states its one value on both sides.
    A kind only an unrelated neighbour of one side differs in does not count: that would let any two
    groups that share a common word (black, 1 pc) pass for one product."""
    out = np.zeros(len(pa))
    if not len(pa) or not linked.any():
        return out
    la, lb = pa[linked], pb[linked]
    link = sp.coo_matrix((np.ones(len(la)), (la, lb)), shape=(G, G)).tocsr()
    link = ((link + link.T) > 0).astype(np.float32)
    for k in np.flatnonzero(agree_k.any(axis=0)):
        rows = np.flatnonzero(agree_k[:, k])
        cl = linked & conf_k[:, k]
        if not cl.any():
            continue
        ck = sp.coo_matrix((np.ones(int(cl.sum())), (pa[cl], pb[cl])), shape=(G, G)).tocsr()
        ck = ((ck + ck.T) > 0).astype(np.float32)
        # a common neighbour c with (a, c) or (b, c) differing in kind k
        via = ((ck @ link) + (link @ ck)).tocsr()
        hit = np.asarray(via[pa[rows], pb[rows]]).ravel() > 0
        out[rows[hit]] = 1.0
    return out


# ----------------------------------------------------------------------------- suspects
def find_suspects(witnesses: list[Witness], labels, ids, features: PostingFeatures,
                  config: SuspectConfig = SuspectConfig(),
                  progress: Callable[[int, int, str], None] | None = None) -> pd.DataFrame:
    """Posting and group-pair suspects of one pool, best first: :data:`COLUMNS` but the evidence in
    words (:func:`describe` writes it), plus ``row`` (the posting's pool row, -1 for a pair),
    ``group`` / ``other_group`` (group codes), ``image`` / ``text`` (each modality's log-odds share
    of the score) and ``against`` (1 where a unit or variant conflict lowered it).

    The score is in log-odds for the suggested fix, image and text witnesses adding up:
    *posting* - how much likelier the models find the posting one product with group B than with
    its own group A (Σ over modalities of logit(affinity to B) - logit(affinity to A));
    *group pair* - how likely the models find a posting of A and one of B to be one product, less
    how far that falls short of A's and B's own pairs (Σ over modalities of logit(cross) -
    max(0, logit(within) - logit(cross)); cross: the mean cross-pair probability, within: the mean
    over both groups' own pairs of two independent listings, copies left out (:func:`fresh_cohesion`);
    ``image_within`` / ``text_within`` hold it, ``image_shortfall`` / ``text_shortfall`` the second
    term).
    A conflict of stated quantities or
    variants against the fix subtracts ``config.conflict_penalty``; a group pair that states the
    same value of a kind their family varies in (:func:`_family_agreement`: navy on both sides where a
    look-alike group linked to both says mint) gains ``config.agreement_bonus`` (``agrees``): the one
    thing a product listed twice has that its siblings, alike in every other way, cannot have. Words one side's
    titles state and the other's never do take off ``differs`` (:class:`TitleSplits`, times
    ``config.split_weight``), ordering like the shortfall. Postings scoring above
    ``config.min_score`` and group pairs whose cross-pair part (the score before the shortfall)
    is above ``config.min_pair_score`` are listed. A posting's ``image_to_b`` / ``image_own`` (and
    text's) are its mean probabilities to group B's members and to its own group's; ``attrs``
    hold each witness's ``calibration`` and the ``title_splits`` (:func:`model_table`, :func:`describe`).
    """
    labels = np.asarray(labels)
    ids = np.asarray(ids).astype(str)
    steps = {"done": 0, "total": 3 * len(witnesses) + 3}

    def step(what: str) -> None:
        """``progress(done, total, what)`` after each step (3 per witness, then 3 over groups)."""
        steps["done"] += 1
        if progress is not None:
            progress(steps["done"], steps["total"], what)

    ev = pair_evidence(witnesses, labels, config, step)
    groups, codes = np.unique(labels, return_inverse=True)
    codes = codes.ravel().astype(np.int64)
    # the groups' own pairs are looked up first, so that the pairs' evidence can go before the links
    # to groups are made (at 70,000 postings it held 400 MB through their peak)
    fresh = fresh_cohesion(ev, features, codes)
    a, b, probs, absent, calibration = ev.a, ev.b, ev.by_modality, ev.absent_modality, ev.calibration
    del ev
    links = _links(a, b, codes)
    del a, b
    # each modality's affinities (they share one ``key`` array: the same pairs link them), each
    # modality's pair probabilities given up once read
    mods = {mod: affinities(probs.pop(mod), absent[mod], links) for mod in list(probs)}
    keys = links.cross_keys  # sorted x * G + g of every (posting, other group) some witness links
    del links
    step("postings' affinities to groups")
    if not mods:
        raise NoiseError("no image or text witness")
    sizes = next(iter(mods.values())).sizes
    G = len(sizes)
    attrs = _GroupAttributes(features, codes)

    # postings: every (posting, other group) some witness links (the modalities share these keys),
    # the best group per posting; a score per key, each modality's parts made again for the best
    hope, score_h = _posting_scores(keys, G, mods, config)
    xh, gh = (keys[hope] // G).astype(np.int64), (keys[hope] % G).astype(np.int64)
    against = _blocked(attrs.posting_conflict, xh, gh)
    sh = score_h - config.conflict_penalty * against
    del score_h
    order = np.lexsort((gh, -sh, xh))
    best = order[run_starts(xh[order])]
    best = best[sh[best] > config.min_score]
    bx, bg, bk = xh[best], gh[best], hope[best]
    to_b = {mod: m.aff[bk] for mod, m in mods.items()}
    own = {mod: m.own[bx] for mod, m in mods.items()}
    posts = pd.DataFrame({
        "kind": "posting", "posting_id": ids[bx], "label_group": labels[bx],
        "other_label_group": groups[bg], "score": sh[best], "row": bx.astype(np.int64),
        "group": codes[bx], "other_group": bg, "against": against[best],
        **{mod: _logit(to_b[mod], config.clip) - _logit(own[mod], config.clip) for mod in mods},
        **{f"{mod}_to_b": to_b[mod] for mod in mods}, **{f"{mod}_own": own[mod] for mod in mods}})
    del hope, xh, gh, sh, against, order

    step("posting suspects")

    # group pairs: mean cross probability per modality, from either side's entries; the (group,
    # group) key of each (posting, group) key made a block at a time (four temporaries of the keys'
    # length at once, 940 MB at 70,000 postings)
    group_keys = np.empty(len(keys), dtype=_key_type(G * G))
    for start in range(0, len(keys), BLOCK):
        group_keys[start:start + BLOCK] = _group_key(keys[start:start + BLOCK], codes, G)
    del keys
    all_keys, inv = _unique_inverse(group_keys)
    del group_keys
    counts = np.bincount(inv, minlength=len(all_keys))
    pa, pb = (all_keys // G).astype(np.int64), (all_keys % G).astype(np.int64)
    keep = pa < pb
    pa, pb = pa[keep], pb[keep]
    del all_keys
    # (ga, gb) with ga > gb: the same pair read from gb's members, which link to ga as well
    shortfall, within, pair_parts = {}, {}, {}
    for mod in list(mods):
        m = mods.pop(mod)
        s_ = np.bincount(inv, weights=m.aff, minlength=len(counts))
        absent_m = m.absent
        del m  # each modality's affinities given up once summed
        total = s_[keep] + (sizes[pa] - counts[keep]) * absent_m
        pair_parts[mod] = _logit(total / sizes[pa], config.clip)
        within[mod] = fresh.pooled(mod, pa, pb)
        # one product under two labels: its cross pairs look like its own pairs; siblings' fall short
        shortfall[mod] = np.where(np.isfinite(within[mod]), np.maximum(
            0.0, _logit(np.nan_to_num(within[mod]), config.clip) - pair_parts[mod]), 0.0)
    del mods, s_, inv
    cross = sum(pair_parts.values()) if pair_parts else np.zeros(len(pa))
    linked = cross > config.family_floor
    conf_k, agree_k = attrs.per_kind(pa, pb)
    pagainst = conf_k.any(axis=1).astype(np.float64)
    pfor = _family_agreement(pa, pb, linked, conf_k, agree_k & attrs.agreeable, G)
    del agree_k
    cross = cross - config.conflict_penalty * pagainst + config.agreement_bonus * pfor
    splits = title_splits(features, codes, pa[linked], pb[linked], config)
    sel = np.flatnonzero(cross > config.min_pair_score)  # the floor reads the cross pairs alone
    # like the shortfall, the words' split only orders what the cross pairs list
    differs = config.split_weight * _blocked(splits.against, pa[sel], pb[sel])
    pscore = cross[sel] - differs - (sum(s_[sel] for s_ in shortfall.values()) if shortfall else 0.0)
    pairs = pd.DataFrame({
        "kind": "group_pair", "posting_id": "", "label_group": groups[pa[sel]], "other_label_group": groups[pb[sel]],
        "score": pscore, "row": -1, "group": pa[sel], "other_group": pb[sel], "against": pagainst[sel],
        "agrees": pfor[sel], "differs": differs,
        **{mod: pair_parts[mod][sel] for mod in pair_parts},
        **{f"{mod}_shortfall": shortfall[mod][sel] for mod in shortfall},
        **{f"{mod}_within": within[mod][sel] for mod in within}})
    step("group-pair suspects")
    out = pd.concat([posts, pairs], ignore_index=True)
    out = out.sort_values(["score", "kind", "label_group", "other_label_group", "posting_id"],
                          ascending=[False, True, True, True, True], kind="stable").reset_index(drop=True)
    out.attrs["calibration"] = calibration
    out.attrs["title_splits"] = splits
    return out


BLOCK = 1 << 18  # rows of sparse per-pair work at once: a 70,000-posting pool links millions of pairs


def _posting_scores(keys: np.ndarray, G: int, mods: dict, config: SuspectConfig) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the (posting, other group) ``keys`` scoring above ``config.min_score``, and
    their scores (Σ over modalities of logit(affinity to the group) - logit(affinity to its own)),
    a block of keys at a time: at 70,000 postings the keys are 29 million and each whole-length
    temporary was 240 MB of the finder's peak. A conflict only lowers a score, so the others cannot
    be listed whatever it says."""
    own_logit = {mod: _logit(m.own, config.clip) for mod, m in mods.items()}
    hope, scores = [np.zeros(0, dtype=np.int64)], [np.zeros(0)]
    for start in range(0, len(keys), BLOCK):
        block = slice(start, start + BLOCK)
        x = keys[block] // G
        score = np.zeros(len(x))
        for mod, m in mods.items():
            part = _logit(m.aff[block], config.clip)
            part -= own_logit[mod][x]
            score += part
        up = np.flatnonzero(score > config.min_score)
        hope.append(up + start)
        scores.append(score[up])
    return np.concatenate(hope), np.concatenate(scores)


def _group_key(keys: np.ndarray, codes: np.ndarray, G: int) -> np.ndarray:
    """(posting x, group g) keys ``x * G + g`` as (x's group, g) keys."""
    return codes[keys // G] * G + keys % G


def _blocked(fn, *rows: np.ndarray) -> np.ndarray:
    """``fn`` over aligned arrays ``rows`` a block at a time, concatenated (sparse gathers of
    millions of rows at once held gigabytes)."""
    if not len(rows[0]):
        return np.asarray(fn(*rows), dtype=np.float64)
    return np.concatenate([np.asarray(fn(*(r[i:i + BLOCK] for r in rows)), dtype=np.float64)
                           for i in range(0, len(rows[0]), BLOCK)])


# ----------------------------------------------------------------------------- a bundle's witnesses
def _witness_rows(bundle, split: str) -> list[tuple[str, str, float, bool]]:
    """(id, modality, weight, trained) of each witness of the pool, without reading a table."""
    out = []
    for m in bundle.entries:
        mid = m.id
        if m.members or m.predictions_only or not m.has_table("base"):
            continue
        mod = decisions.modality(bundle, mid)
        if mod not in MODALITIES:
            logger.info("noise: %s has no modality (image or text); left out", mid)
            continue
        valid = m.metrics.get("valid") or {}
        f1s = [v.get("f1") for k, v in valid.items() if k in ("base", "min2") and isinstance(v, dict)]
        f1s = [float(f) for f in f1s if f is not None and np.isfinite(f) and f > 0]
        if not f1s:
            logger.info("noise: %s has no validation F1; weighted 0.5", mid)
        out.append((mid, mod, max(f1s) if f1s else 0.5, bool(m.spec.get("trained"))))
    if not out:
        raise NoiseError(f"bundle {bundle.name} has no single model with a neighbour table: no evidence for suspects")
    return out


def witnesses(bundle, split: str) -> list[Witness]:
    """The bundle's single models with a base neighbour table in ``split``, each with its modality
    and its validation F1 (the better of plain and Min2: both decide from this table) as weight.
    Combinations (fusions, unions, INB entries) are made of these and add no evidence; imported
    predicted sets carry no similarities."""
    out = []
    for mid, mod, weight, trained in _witness_rows(bundle, split):
        seen = None
        if trained:
            seen = bundle.postings["split"].to_numpy()[bundle.split_rows(split)] == "train"
        out.append(Witness(mid, mod, weight, decisions.neighbors(bundle, split, mid), seen))
    return out


def pools_of(bundle, split: str) -> list[str]:
    """The candidate pools ``split`` names: one split, or for ``all`` the bundle's 'all' pool
    (every labelled posting at once) when it ships one, else every pool it shows."""
    if split in bundle.splits:
        return [split]
    if split == "all":
        return list(bundle.splits)
    raise NoiseError(f"bundle {bundle.name} has no {split!r} pool (it has {', '.join(bundle.splits)}; all)")


def _pool(bundle, split: str, config: SuspectConfig, progress=None) -> dict:
    """Everything the finder made for one pool (witnesses, calibration, suspects), once."""
    def make():
        try:
            labels = decisions.labels(bundle, split)
        except ShopeeError:
            raise NoiseError(f"bundle {bundle.name}: the {split} pool has postings without label_group; "
                             f"suspects need labels") from None
        ids = bundle.postings["posting_id"].to_numpy()[bundle.split_rows(split)]
        feats = errors_features(bundle, split)
        ws = witnesses(bundle, split)
        found = find_suspects(ws, labels, ids, feats, config, progress)
        return {"witnesses": ws, "labels": labels, "ids": ids, "features": feats,
                "calibration": found.attrs.pop("calibration"), "title_splits": found.attrs.pop("title_splits"),
                "suspects": found.assign(split=split)}
    return bundle.cached(("noise_pool", split, config), make)


# ----------------------------------------------------------------------------- the finder's results, shipped
FINDER_VERSION = 1  # raise it whenever the finder gives other suspects, scores, words or tables for the same input
TABLE_COLUMNS = ("sim_across", "p_across", "sim_own_group")  # model_table's numbers, shipped per suspect and witness


def finder_meta(witnesses, config: SuspectConfig = SuspectConfig()) -> dict:
    """What a pool's shipped finder results were made by: this finder, these knobs, these witnesses
    (:class:`Witness` objects or ``(id, modality, weight, ...)`` rows). Results whose meta differs from
    the running code's are not used."""
    rows = [(w.id, w.modality, w.weight) if isinstance(w, Witness) else w[:3] for w in witnesses]
    return {"finder": FINDER_VERSION, "config": asdict(config),
            "witnesses": [[str(i), str(m), float(x)] for i, m, x in rows]}


def shipped_results(bundle, split: str, config: SuspectConfig = SuspectConfig(),
                    progress: bool = False) -> tuple[pd.DataFrame, np.ndarray, dict]:
    """A pool's finder results as a bundle ships them (:mod:`shopee_core.bundle.suspects`): the
    suspects with their evidence in words, every suspect's :func:`model_table` numbers as an (S, W, 3)
    array (:data:`TABLE_COLUMNS`) and the meta of what made them: all a page needs to show any suspect,
    without the pool's tables, features and calibration the finder itself holds (hundreds of MB at
    70,000 postings). Made here by the finder, unless the bundle ships them already."""
    bundle = bundle.labelled if hasattr(bundle, "labelled") else bundle
    shipped = _shipped(bundle, split, config)
    if shipped is not None:  # already shipped by this finder, from these witnesses: the same, to the bit
        return (shipped["suspects"], shipped["tables"],
                {**finder_meta((), config), "witnesses": shipped["witnesses"]})
    if progress:  # the finder's own steps in a bar, its work then kept by the bundle
        bundle_suspects(bundle, split, config, progress=True, evidence=False)
    ctx = _pool(bundle, split, config)
    found = ctx["suspects"]
    rows = tqdm(found.itertuples(index=False), total=len(found), desc=f"evidence ({split})", unit="suspect",
                disable=not progress, leave=False)
    tables = np.full((len(found), len(ctx["witnesses"]), len(TABLE_COLUMNS)), np.nan)
    words = []
    for at, r in enumerate(rows):  # as _described, each table made once for both
        table = model_table(ctx, r)
        words.append(describe(ctx, r, table))
        tables[at] = table[list(TABLE_COLUMNS)].to_numpy(dtype=np.float64)
    return found.assign(evidence=words).reset_index(drop=True), tables, finder_meta(ctx["witnesses"], config)


def _suspect_key(r) -> tuple:
    return (str(r.kind), str(r.posting_id), int(r.label_group), int(r.other_label_group))


def _shipped(bundle, split: str, config: SuspectConfig) -> dict | None:
    """The pool's shipped results (suspects with words, per-model tables, witnesses), or None where the
    bundle ships none, or ones another finder, other knobs or other witnesses made (then the finder
    runs). Checked against the pool once per bundle object."""
    def make():
        stored = getattr(bundle, "shipped_suspects", None)
        got = stored(split) if stored is not None else None
        if got is None:
            return None
        meta, frame, tables = got
        want = finder_meta(_witness_rows(bundle, split), config)
        if meta != want:
            differs = [k for k in want if meta.get(k) != want[k]]
            logger.info("noise: bundle %s ships suspects of the %s pool made with another %s; finding them again",
                        bundle.name, split, " and ".join(differs))
            return None
        ids = bundle.postings["posting_id"].to_numpy()[bundle.split_rows(split)]
        check_shipped(frame, tables, len(meta["witnesses"]), ids)
        frame = frame.assign(split=split)
        return {"suspects": frame, "tables": tables, "witnesses": meta["witnesses"],
                "at": {_suspect_key(r): i for i, r in enumerate(frame.itertuples(index=False))}}
    return bundle.cached(("noise_shipped", split, config), make)


def check_shipped(frame: pd.DataFrame, tables: np.ndarray, n_witnesses: int, ids: np.ndarray) -> None:
    """Shipped results that fit their pool: the columns a page reads, posting suspects naming the pool's
    own postings at their rows, finite scores, one table per suspect and witness (a :class:`NoiseError`)."""
    lack = [c for c in ("kind", "posting_id", "label_group", "other_label_group", "score", "row", "evidence")
            if c not in frame]
    if lack:
        raise NoiseError(f"shipped suspects lack column(s) {', '.join(lack)}")
    r = frame["row"].to_numpy()
    posting = frame["kind"].to_numpy() == "posting"
    if (r[posting] < 0).any() or (r >= len(ids)).any() or \
            not np.array_equal(frame["posting_id"].to_numpy()[posting], ids[r[posting]]):
        raise NoiseError("shipped suspects: rows and posting ids disagree with the pool")
    if not np.isfinite(frame["score"].to_numpy(dtype=np.float64)).all():
        raise NoiseError("shipped suspects: scores must be finite")
    if np.shape(tables) != (len(frame), n_witnesses, len(TABLE_COLUMNS)):
        raise NoiseError(f"shipped model tables are {np.shape(tables)}, not one row per suspect and witness "
                         f"({len(frame)}, {n_witnesses}, {len(TABLE_COLUMNS)})")


def finder_shipped(bundle, split: str = "all", config: SuspectConfig = SuspectConfig()) -> bool:
    """Whether every pool of ``split`` has its suspects from what the bundle ships."""
    bundle = bundle.labelled if hasattr(bundle, "labelled") else bundle
    return all(_shipped(bundle, s, config) is not None for s in pools_of(bundle, split))


def suspect_evidence(bundle, r, config: SuspectConfig = SuspectConfig()) -> tuple[pd.DataFrame, str]:
    """One suspect's per-model table (:func:`model_table`) and its evidence in words (:func:`describe`):
    read from what the bundle ships, else made from the finder's work on its pool."""
    bundle = bundle.labelled if hasattr(bundle, "labelled") else bundle
    shipped = _shipped(bundle, r.split, config)
    if shipped is None:
        ctx = _pool(bundle, r.split, config)
        table = model_table(ctx, r)
        return table, describe(ctx, r, table)
    at = shipped["at"].get(_suspect_key(r))
    if at is None:
        raise NoiseError(f"no such suspect in the {r.split} pool")
    nums = shipped["tables"][at]
    table = pd.DataFrame({"model": [w[0] for w in shipped["witnesses"]],
                          "modality": [w[1] for w in shipped["witnesses"]],
                          "weight": [round(w[2], 4) for w in shipped["witnesses"]],
                          **{c: nums[:, i] for i, c in enumerate(TABLE_COLUMNS)}},
                         columns=["model", "modality", "weight", *TABLE_COLUMNS])
    return table, str(shipped["suspects"]["evidence"].iat[at])


def _described(bundle, split: str, config: SuspectConfig, progress: bool) -> pd.DataFrame:
    """A pool's suspects with their evidence in words (:func:`describe`, ~2 ms a suspect)."""
    def make():
        ctx = _pool(bundle, split, config)
        found = ctx["suspects"]
        rows = tqdm(found.itertuples(index=False), total=len(found), desc=f"evidence ({split})", unit="suspect",
                    disable=not progress, leave=False)
        return found.assign(evidence=[describe(ctx, r) for r in rows])
    return bundle.cached(("noise_described", split, config), make)


def pool_context(bundle, split: str, config: SuspectConfig = SuspectConfig()) -> dict:
    """The finder's work on one pool of the bundle (under its shipped labels): ``witnesses``,
    ``calibration`` (each witness's), ``title_splits``, ``features``, ``labels``, ``ids`` and
    ``suspects`` (without the evidence in words), for :func:`model_table` and :func:`describe`. The
    finder runs for it even where the bundle ships its results (:func:`suspect_evidence` reads those)."""
    bundle = bundle.labelled if hasattr(bundle, "labelled") else bundle
    if split not in bundle.splits:
        raise NoiseError(f"bundle {bundle.name} has no {split!r} pool")
    return _pool(bundle, split, config)


def bundle_suspects(bundle, split: str = "all", config: SuspectConfig = SuspectConfig(),
                    progress: bool = False, evidence: bool = True,
                    steps: Callable[[str, int, int, str], None] | None = None) -> pd.DataFrame:
    """The suspects of a bundle's pool(s) under the labels it ships, best first: :data:`COLUMNS`
    plus ``split``, ``row`` (split-local) and the score's parts. Made once per bundle object.
    ``evidence=False``: without the ``evidence`` column, whose words take a third of the work at
    70,000 postings; a page that shows one suspect at a time describes just that one
    (:func:`describe` on :func:`pool_context`). ``steps(pool, done, total, what)``: the finder's
    progress in a pool it has not worked on yet (a page's progress bar; a minute at 70,000 postings)."""
    bundle = bundle.labelled if hasattr(bundle, "labelled") else bundle

    def frame(s: str) -> pd.DataFrame:
        bar = []

        def report(done: int, total: int, what: str) -> None:
            if steps is not None:
                steps(s, done, total, what)
            if progress:
                if not bar:
                    bar.append(tqdm(total=total, desc=f"finder ({s})", unit="step", leave=False))
                bar[0].set_postfix_str(what, refresh=False)
                bar[0].update(1)
        shipped = _shipped(bundle, s, config)
        if shipped is not None:
            found = shipped["suspects"]
            return found if evidence else found.drop(columns="evidence")
        try:
            found = _pool(bundle, s, config, report)["suspects"]
        finally:
            for b in bar:
                b.close()
        return _described(bundle, s, config, progress) if evidence else found
    frames = [frame(s) for s in tqdm(pools_of(bundle, split), desc="suspects", unit="pool", disable=not progress)]
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)


def errors_features(bundle, split: str) -> PostingFeatures:
    return features(bundle, split)


# ----------------------------------------------------------------------------- evidence, in words and per model
class _Members:
    """Each group's pool rows, found by label in O(log G): a suspect's description and its model
    table read both sides' members, and comparing every label per suspect made describing the
    suspects of a 70,000-posting pool quadratic."""

    def __init__(self, labels):
        self.groups, codes = np.unique(np.asarray(labels), return_inverse=True)
        self.order = np.argsort(codes.ravel(), kind="stable")  # rows ascending within each group
        self.starts = np.searchsorted(codes.ravel()[self.order], np.arange(len(self.groups) + 1))

    def rows(self, label) -> np.ndarray:
        g = int(np.searchsorted(self.groups, label))
        if g >= len(self.groups) or self.groups[g] != label:
            return np.zeros(0, dtype=np.int64)
        return self.order[self.starts[g]:self.starts[g + 1]]


def _members(ctx: dict) -> _Members:
    if "members" not in ctx:
        ctx["members"] = _Members(ctx["labels"])
    return ctx["members"]


def pair_sides(ctx: dict, r) -> tuple[np.ndarray, np.ndarray]:
    """Pool rows of the two sides a suspect compares: the posting and group B's members, or the
    members of group A and of group B."""
    members = _members(ctx)
    b_rows = members.rows(r.other_label_group)
    if r.kind == "posting":
        return np.asarray([int(r.row)]), b_rows
    return members.rows(r.label_group), b_rows


def _cross_pairs(ctx: dict, r) -> tuple[np.ndarray, np.ndarray]:
    """Every pair (i, j) across a suspect's two sides (:func:`pair_sides`), i != j."""
    left, right = pair_sides(ctx, r)
    i, j = np.repeat(left, len(right)), np.tile(right, len(left))
    keep = i != j
    return i[keep], j[keep]


def _mates(ctx: dict, r) -> np.ndarray:
    """A posting suspect's own group without it."""
    mates = _members(ctx).rows(r.label_group)
    return mates[mates != int(r.row)]


def model_table(ctx: dict, r) -> pd.DataFrame:
    """Every witness's view of a suspect: its highest similarity across the two sides (NaN when the
    pair is beyond its top k), the same within the posting's own group (posting suspects), its
    calibrated probability, its modality and weight (validation F1). Read from the witnesses' own
    tables: the pool's pairs are not kept per witness."""
    i, j = _cross_pairs(ctx, r)
    posting = r.kind == "posting"
    mates = _mates(ctx, r) if posting else np.zeros(0, dtype=np.int64)

    def top(sims) -> float:
        return float(np.nanmax(sims)) if np.isfinite(sims).any() else float("nan")

    rows = []
    for wit, calibration in zip(ctx["witnesses"], ctx["calibration"]):
        across = top(pair_similarities(wit.neighbors, i, j))
        rows.append({"model": wit.id, "modality": wit.modality, "weight": round(wit.weight, 4),
                     "sim_across": across, "p_across": float(calibration([across])[0]) if len(i) else float("nan"),
                     "sim_own_group": top(pair_similarities(wit.neighbors, np.full(len(mates), int(r.row)), mates))
                     if posting else float("nan")})
    return pd.DataFrame(rows, columns=["model", "modality", "weight", "sim_across", "p_across", "sim_own_group"])


def describe(ctx: dict, r, table: pd.DataFrame | None = None) -> str:
    """A suspect's evidence in one line: each modality's probability across (and, for a posting,
    to its own group) with each model's highest similarity, a shared photo, title overlap and what
    argues against the fix. ``table``: its :func:`model_table`, when the caller shows it too."""
    feats: PostingFeatures = ctx["features"]
    table = model_table(ctx, r) if table is None else table
    left, right = pair_sides(ctx, r)
    def num(v) -> str:
        return "–" if v is None or not np.isfinite(v) else ("<0.01" if 0 < v < 0.005 else f"{v:.2f}")

    posting = r.kind == "posting"
    parts = []
    for mod in MODALITIES:
        if not np.isfinite(float(getattr(r, mod, np.nan))):
            continue  # no witness of this modality in the pool
        if posting:
            head = (f"{mod} {num(float(getattr(r, f'{mod}_to_b')))} to B vs "
                    f"{num(float(getattr(r, f'{mod}_own')))} to own group")
        else:
            within = float(getattr(r, f"{mod}_within", np.nan))
            head = f"{mod} {num(1 / (1 + np.exp(-getattr(r, mod))))} across " + (
                f"vs {num(within)} within" if np.isfinite(within) else "(no two independent listings within)")
        sims = table[table["modality"] == mod]
        models = ", ".join(f"{x.model} {num(x.sim_across)}" + (f" vs {num(x.sim_own_group)}" if posting else "")
                           for x in sims.itertuples())
        parts.append(f"{head} (highest similarity{' to B vs own group' if posting else ''}: {models})"
                     if models else head)
    i, j = _cross_pairs(ctx, r)
    if len(i):
        ham = feats.image_distance(i, j)
        jac = feats.jaccard(i, j)
        k = int(np.argmin(ham))
        if ham[k] <= 4:
            parts.append("same photo (pHash identical)" if ham[k] == 0 else f"near-identical photo (pHash Δ{ham[k]})")
        if posting:
            mates = _mates(ctx, r)
            own = feats.jaccard(np.full(len(mates), int(r.row)), mates).max() if len(mates) else 0.0
            parts.append(f"title shares up to {jac.max():.0%} of its words with B, {own:.0%} with its own group")
        else:
            parts.append(f"titles share up to {jac.max():.0%} of words across")
        if r.against:
            parts.append("against: " + "; ".join(stated_conflicts(feats.titles[left], feats.titles[right])[:3]))
        differs = getattr(r, "differs", 0.0)
        if not posting and ctx.get("title_splits") is not None and np.isfinite(differs) and differs >= 0.5:
            said = ctx["title_splits"].words(int(r.group), int(r.other_group))
            parts.append(f"against ({differs:.1f}): only one side's titles say {', '.join(said)}, words look-alike "
                         f"groups differ in")
        if getattr(r, "agrees", 0) and not posting:
            said = stated_agreements(feats.titles[left], feats.titles[right])
            parts.append(f"for: both state {', '.join(said[:3]) or 'the same value'}, where a look-alike group "
                         f"linked to both states another")
    return " · ".join(parts)


def _stated(titles) -> dict:
    out: dict = {}
    for t in titles:
        for kind, values in {**parse_quantities(str(t)), **variant_attributes(str(t))}.items():
            out.setdefault(kind, set()).update(values)
    return out


def _fmt(kind, values) -> str:
    unit = BASE_UNITS.get(kind, "")
    return "/".join(f"{v:g}" if isinstance(v, float) else str(v) for v in sorted(values, key=str)) + (
        f" {unit}" if unit else "")


def stated_conflicts(titles_a, titles_b) -> list[str]:
    """What the titles of two sides state differently, every title of a side counting: each
    quantity dimension or variant kind both sides state with no value in common, in words
    ("volume 100 ml vs 250 ml", "colour red vs blue")."""
    a, b = _stated(titles_a), _stated(titles_b)
    found = [f"{kind} {_fmt(kind, a[kind])} vs {_fmt(kind, b[kind])}" for kind in sorted(a.keys() & b.keys())
             if not a[kind] & b[kind]]
    return found or ["the two sides state different quantities or variants"]


def stated_agreements(titles_a, titles_b) -> list[str]:
    """The values both sides state, codes left out ("colour navy", "volume 350 ml"): what a group
    pair gains its agreement evidence from."""
    a, b = _stated(titles_a), _stated(titles_b)
    return [f"{kind} {_fmt(kind, a[kind] & b[kind])}" for kind in sorted(a.keys() & b.keys())
            if kind not in NOT_AGREEABLE and a[kind] & b[kind]]
