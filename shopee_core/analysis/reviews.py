"""Review verdicts on label-noise suspects, and the truth they make.

A reviewer says of each suspect (:mod:`.noise`) ``y`` (the same product: the fix applies),
``n`` (different products: the labels stand) or ``s`` (skip); ``u`` takes the last verdict
back. Verdicts are kept in a JSON-lines *review file* beside the bundle, never inside it (the
bundle's checksums stay valid): ``NAME.reviews.jsonl`` next to the folder ``NAME``, or any
path the user names. The file is only ever appended to, one object a line::

    {"time": "...Z", "id": "...", "bundle": "<sha256 of manifest.json>", "action": "verdict",
     "verdict": "y", "suspect": {"kind": "posting", "posting_id": "...", "label_group": A,
     "other_label_group": B, "score": 0.93}, "split": "test"}
    {"time": "...Z", "id": "...", "bundle": "<sha>", "action": "undo", "undoes": "<id>"}

so two browser tabs (or a tab and a script) can write at once: writers take the file's lock
(:func:`shopee_core.locking.exclusive`, ``.NAME.reviews.jsonl.lock``) and append through
:func:`shopee_core.io.append_jsonl` (one flock'ed, fsynced write); a crash leaves at most a torn
last line (ignored with a note, cut by the next append), and the verdicts of a restarted app are
the file's. The live
verdict of a suspect is its latest verdict that no undo took back.

:func:`corrected_labels` turns the live ``y`` verdicts into labels: a posting moves to the
group it shows, two groups merge (union-find; a merged group keeps its smallest label).
The dashboard's "with my fixes" truth, ``relabel`` and ``label_fixes.csv`` all use it.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import logging
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .. import io
from ..errors import ShopeeError
from ..locking import exclusive
from . import decisions

logger = logging.getLogger(__name__)

SUFFIX = ".reviews.jsonl"
VERDICTS = {"y": "same product", "n": "different products", "s": "skipped"}
KINDS = ("posting", "group_pair")
FIX_COLUMNS = ["posting_id", "old_label_group", "new_label_group", "reason"]


class ReviewError(ShopeeError):
    """A review file that cannot be used: malformed, for another bundle, naming unknown postings."""


# ----------------------------------------------------------------------------- JSON lines
def read_jsonl(path) -> list[dict]:
    """Every record of the file (:func:`shopee_core.io.read_jsonl`: a torn last line is ignored with
    a note), each with ``_line``, its place in the file (the appender writes no blank lines)."""
    try:
        out = io.read_jsonl(path, error=ReviewError)
    except OSError as exc:
        raise ReviewError(f"{path}: cannot read ({exc.strerror or exc})") from None
    for i, r in enumerate(out, start=1):
        r["_line"] = i
    return out


def lock_path(path) -> Path:
    """The review file's writer lock (:func:`shopee_core.locking.exclusive`), beside it."""
    path = Path(path)
    return path.parent / f".{path.name}.lock"


# ----------------------------------------------------------------------------- suspects and verdicts
@dataclass(frozen=True)
class Suspect:
    """What a verdict is about: a posting that may belong to ``other_label_group``, or two groups
    that may be one product (``posting_id`` empty)."""

    kind: str
    posting_id: str
    label_group: int
    other_label_group: int

    @classmethod
    def from_dict(cls, d) -> Suspect:
        if not isinstance(d, dict):
            raise ReviewError("a suspect must be an object")
        kind = d.get("kind")
        if kind not in KINDS:
            raise ReviewError(f"suspect kind must be one of {', '.join(KINDS)}, got {kind!r}")
        pid = d.get("posting_id") or ""
        if not isinstance(pid, str):
            raise ReviewError(f"posting_id must be text, got {pid!r}")
        if (kind == "posting") != bool(pid):
            raise ReviewError("a posting suspect names its posting_id; a group pair names none")
        try:
            a, b = _int(d.get("label_group")), _int(d.get("other_label_group"))
        except (TypeError, ValueError):
            raise ReviewError(f"label_group and other_label_group must be integers, got {d.get('label_group')!r}, "
                              f"{d.get('other_label_group')!r}") from None
        if a == b:
            raise ReviewError(f"a suspect needs two different groups, got {a} twice")
        return cls(kind, pid, a, b)

    @property
    def key(self) -> tuple:
        """Identity: a group pair is the same suspect whichever group comes first."""
        if self.kind == "group_pair":
            return (self.kind, "", min(self.label_group, self.other_label_group),
                    max(self.label_group, self.other_label_group))
        return (self.kind, self.posting_id, self.label_group, self.other_label_group)

    def as_dict(self) -> dict:
        return {"kind": self.kind, "posting_id": self.posting_id, "label_group": self.label_group,
                "other_label_group": self.other_label_group}

    def describe(self) -> str:
        if self.kind == "posting":
            return (f"posting {self.posting_id} (group {self.label_group}) shows group {self.other_label_group}'s "
                    f"product")
        return f"groups {self.label_group} and {self.other_label_group} are one product"


def _int(v) -> int:
    if isinstance(v, bool) or v is None:
        raise TypeError(v)
    if isinstance(v, float) and not v.is_integer():
        raise ValueError(v)
    return int(v)


def manifest_sha(bundle_root) -> str:
    """sha256 of the bundle's manifest.json: every verdict records it, so a review file is
    never applied to a bundle it was not made on."""
    path = Path(bundle_root) / "manifest.json"
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise ReviewError(f"{path}: cannot read ({exc.strerror or exc})") from None


def default_path(bundle_root) -> Path:
    """``NAME.reviews.jsonl`` beside the bundle folder ``NAME`` (never inside it)."""
    root = Path(bundle_root).resolve()
    return root.parent / f"{root.name}{SUFFIX}"


def check_outside(path, bundle_root) -> Path:
    """The review path, refused inside the bundle folder (a file there breaks its checksums)."""
    path = Path(path).expanduser().resolve()
    root = Path(bundle_root).resolve()
    if path == root or root in path.parents:
        raise ReviewError(f"{path}: a review file lives beside the bundle, not inside it (it would break the "
                          f"bundle's checksums); use {default_path(root)}")
    return path


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ReviewFile:
    """The verdicts of one bundle (``sha``: its manifest's sha256; None accepts the sha the file's
    lines share, for ``relabel`` which has no bundle). ``postings`` / ``groups``: the ids every
    verdict must name (None: not checked). Reads validate every line; writes append one line."""

    def __init__(self, path, sha: str | None, postings=None, groups=None, name: str = "the bundle"):
        self.path = Path(path)
        self.sha, self.name = sha, name
        self.postings = None if postings is None else {str(p) for p in postings}
        self.groups = None if groups is None else {int(g) for g in groups}

    # ------------------------------------------------------------------ reading
    def records(self) -> list[dict]:
        """Every line, validated (one-line :class:`ReviewError` naming the first bad one)."""
        out = read_jsonl(self.path)
        shas = set()
        ids = set()
        for r in out:
            where = f"{self.path}: line {r['_line']}"
            sha = r.get("bundle")
            if not isinstance(sha, str) or not sha:
                raise ReviewError(f"{where} names no bundle (the sha256 of its manifest)")
            if self.sha is not None and sha != self.sha:
                raise ReviewError(f"{where} is a verdict on another bundle (manifest sha256 {sha[:12]}…), not on "
                                  f"{self.name} ({self.sha[:12]}…): start a review file of its own with --reviews")
            shas.add(sha)
            action = r.get("action")
            rid = r.get("id")
            if not isinstance(rid, str) or not rid:
                raise ReviewError(f"{where} has no id")
            if action == "verdict":
                if r.get("verdict") not in VERDICTS:
                    raise ReviewError(f"{where}: verdict must be one of {', '.join(VERDICTS)}, "
                                      f"got {r.get('verdict')!r}")
                try:
                    s = Suspect.from_dict(r.get("suspect"))
                except ReviewError as exc:
                    raise ReviewError(f"{where}: {exc}") from None
                self._check_known(s, where)
                r["_suspect"] = s
            elif action == "undo":
                if r.get("undoes") not in ids:
                    raise ReviewError(f"{where} undoes {r.get('undoes')!r}, which no earlier line is")
            else:
                raise ReviewError(f"{where}: action must be 'verdict' or 'undo', got {action!r}")
            ids.add(rid)
        if self.sha is None and len(shas) > 1:
            raise ReviewError(f"{self.path} mixes verdicts on {len(shas)} different bundles")
        return out

    def _check_known(self, s: Suspect, where: str) -> None:
        if self.postings is not None and s.posting_id and s.posting_id not in self.postings:
            raise ReviewError(f"{where}: unknown posting {s.posting_id!r} (not in {self.name})")
        if self.groups is not None:
            for g in (s.label_group, s.other_label_group):
                if g not in self.groups:
                    raise ReviewError(f"{where}: unknown label group {g} (not in {self.name})")

    def live(self, records: list[dict] | None = None) -> dict[tuple, dict]:
        """Suspect key -> its live verdict record (the latest one not undone), in file order."""
        records = self.records() if records is None else records
        undone = {r["undoes"] for r in records if r.get("action") == "undo"}
        out: dict[tuple, dict] = {}
        for r in records:
            if r.get("action") == "verdict" and r["id"] not in undone:
                out.pop(r["_suspect"].key, None)
                out[r["_suspect"].key] = r
        return out

    def verdicts(self) -> pd.DataFrame:
        """The live verdicts as a table: kind, posting_id, label_group, other_label_group, verdict,
        time, id (file order)."""
        rows = [{**r["_suspect"].as_dict(), "verdict": r["verdict"], "time": r.get("time", ""), "id": r["id"]}
                for r in self.live().values()]
        return pd.DataFrame(rows, columns=["kind", "posting_id", "label_group", "other_label_group", "verdict",
                                           "time", "id"])

    # ------------------------------------------------------------------ writing
    def add(self, suspect: Suspect | dict, verdict: str, *, split: str | None = None,
            score: float | None = None) -> dict:
        """Append one verdict; returns its record (with its ``id``, for an undo)."""
        if self.sha is None:
            raise ReviewError("a verdict needs the bundle it is made on")
        if verdict not in VERDICTS:
            raise ReviewError(f"verdict must be one of {', '.join(VERDICTS)}, got {verdict!r}")
        s = suspect if isinstance(suspect, Suspect) else Suspect.from_dict(suspect)
        self._check_known(s, str(self.path))
        record = {"time": _now(), "id": uuid.uuid4().hex, "bundle": self.sha, "action": "verdict",
                  "verdict": verdict, "suspect": {**s.as_dict(), **({} if score is None else {"score": float(score)})}}
        if split is not None:
            record["split"] = split
        with self._writing():
            io.append_jsonl(self.path, record)
        return record

    def _writing(self):
        """One writer at a time decides and appends (an undo reads what stands, then appends):
        two tabs or a tab and a script never act on a file the other is changing. The append
        itself is locked and fsynced (:func:`shopee_core.io.append_jsonl`)."""
        return exclusive(lock_path(self.path), name=str(self.path), what="review")

    def undo(self, verdict_id: str | None = None) -> dict | None:
        """Take back ``verdict_id`` (default: the latest verdict still standing); None when there is
        nothing to take back. Taking back an already undone verdict changes nothing."""
        if self.sha is None:
            raise ReviewError("an undo needs the bundle it is made on")
        with self._writing():
            records = self.records()
            undone = {r["undoes"] for r in records if r.get("action") == "undo"}
            standing = [r for r in records if r.get("action") == "verdict" and r["id"] not in undone]
            if verdict_id is None:
                if not standing:
                    return None
                verdict_id = standing[-1]["id"]
            elif verdict_id in undone:
                return None
            elif verdict_id not in {r["id"] for r in standing}:
                raise ReviewError(f"{self.path}: no verdict {verdict_id!r} to undo")
            record = {"time": _now(), "id": uuid.uuid4().hex, "bundle": self.sha, "action": "undo",
                      "undoes": verdict_id}
            io.append_jsonl(self.path, record)
        return record


# ----------------------------------------------------------------------------- the truth they make
def corrected_labels(posting_ids, labels, verdicts: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """Labels with every ``y`` verdict applied, and one row per changed posting (:data:`FIX_COLUMNS`).

    A posting verdict moves the posting to the group it shows; a group-pair verdict merges the two
    groups (every group linked by merges becomes one, labelled by its smallest label, so the result
    does not depend on the order of the verdicts). Moves apply before merges: a posting moved into
    a group that is then merged follows it. ``n`` and ``s`` change nothing.
    """
    ids = np.asarray(posting_ids).astype(str)
    old = np.asarray(labels).astype(np.int64)
    new = old.copy()
    yes = verdicts[verdicts["verdict"] == "y"] if len(verdicts) else verdicts
    reason = np.full(len(ids), "", dtype=object)
    pos = {p: i for i, p in enumerate(ids)}
    present = set(old.tolist())
    for r in yes.itertuples(index=False):
        for g in (int(r.label_group), int(r.other_label_group)):
            if g not in present:
                raise ReviewError(f"a verdict names label group {g}, which no posting has")
        if r.kind == "posting":
            if r.posting_id not in pos:
                raise ReviewError(f"a verdict names posting {r.posting_id!r}, which is not there")
            i = pos[r.posting_id]
            if old[i] != int(r.label_group):
                raise ReviewError(f"posting {r.posting_id} is labelled {old[i]}, the verdict says {r.label_group}")
            new[i] = int(r.other_label_group)
            reason[i] = f"moved to group {int(r.other_label_group)}: shows its product (reviewed {r.time})"
    parent: dict[int, int] = {}

    def find(g: int) -> int:
        parent.setdefault(g, g)
        while parent[g] != g:
            parent[g] = parent[parent[g]]
            g = parent[g]
        return g

    merged_by: dict[int, str] = {}
    for r in yes.itertuples(index=False):
        if r.kind == "group_pair":
            a, b = find(int(r.label_group)), find(int(r.other_label_group))
            if a != b:
                parent[max(a, b)] = min(a, b)
            merged_by[int(r.label_group)] = merged_by[int(r.other_label_group)] = str(r.time)
    if parent:
        mapped = np.asarray([find(int(g)) if int(g) in parent else int(g) for g in new], dtype=np.int64)
        changed = mapped != new
        for i in np.flatnonzero(changed):
            members = sorted(g for g in parent if find(g) == mapped[i])
            note = f"groups {' + '.join(map(str, members))} merged: one product"
            reason[i] = f"{reason[i]}; {note}" if reason[i] else note + (
                f" (reviewed {merged_by.get(int(new[i]), '')})" if merged_by.get(int(new[i])) else "")
        new = mapped
    changed = np.flatnonzero(new != old)
    fixes = pd.DataFrame({"posting_id": ids[changed], "old_label_group": old[changed],
                          "new_label_group": new[changed], "reason": reason[changed]}, columns=FIX_COLUMNS)
    return new, fixes


def truth_effect(fixed, decision, split: str, tune_split: str = "valid") -> dict:
    """What the fixes of a truth view (:meth:`~shopee_core.bundle.Bundle.relabelled`) change for
    one decision: its F1 on ``split`` as labelled and with the fixes, the share of its remaining
    error (1 - F1 as labelled) that was label noise, and the thresholds searched on ``tune_split``
    under each truth with the F1 they reach on ``split`` under the fixes (does the tuned T move?)."""
    def tuned(bundle):  # a search per decision shape, not per threshold move
        key = (decision.sources, tuple(s.t2 is not None for s in decision.sides), tune_split)
        return bundle.cached(("truth_tuned", *key), lambda: decisions.tuned(bundle, decision, tune_split,
                                                                             min2=any(key[1])))

    labelled = fixed.labelled
    as_labelled = decisions.scores(labelled, decision, split)
    with_fixes = decisions.scores(fixed, decision, split)
    tuned_labelled, tuned_fixed = tuned(labelled), tuned(fixed)
    error = 1.0 - as_labelled["f1"]
    return {"f1_labelled": as_labelled["f1"], "f1_fixed": with_fixes["f1"],
            "noise_share": (with_fixes["f1"] - as_labelled["f1"]) / error if error > 0 else 0.0,
            "tuned_labelled": tuned_labelled, "tuned_fixed": tuned_fixed,
            "f1_fixed_retuned": decisions.scores(fixed, tuned_fixed, split)["f1"]}
