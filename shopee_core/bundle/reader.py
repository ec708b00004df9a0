"""Reading and validating bundles. The dashboard and ``check-bundle`` share this code.

``Bundle.open`` refuses a bundle whose files do not match its manifest (checksums,
unlisted or missing files, unsafe paths or formats); ``check_bundle`` also loads
every array and checks shapes, NaN, ranges and unit norms. A checksum verified once is
remembered by the file's identity (:mod:`.verified`), so reopening an unchanged bundle
hashes nothing; ``check_bundle`` always hashes every file.

Optional parts, absent from older bundles (which still open): a trained model's epoch history
(``files["history"]``, :meth:`Bundle.history`), sweep results (manifest ``sweeps``, files under
``sweeps/``, :meth:`Bundle.sweep`) and the study's sweep tables (``reference/seed_sweeps.csv``).
Each is validated when read and by ``check_bundle``.

Candidate pools: each shown split (``valid``, ``test``) and, when the bundle carries it,
``all`` — every labelled posting in one pool (``dataset.shown_splits`` lists them).

Readers never lock; a writer replaces a bundle by swapping a whole verified folder in
(:mod:`.edit`). A :class:`Bundle` is one version: ``open`` retries when a swap lands while it
reads, and every later file load checks that the folder is still the version it opened
(the manifest's identity), raising :class:`BundleChanged` otherwise, so no page ever shows
an old manifest with a new file. ``digest`` (the manifest's sha256, which lists every
file's checksum) is the version's key for caches.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..analysis.noise import NoiseError, check_shipped
from ..analysis.sweeps import read_seed_sweeps, read_sweep
from ..cache import Cache
from ..errors import ShopeeError
from ..io import load_npy
from ..matching import Neighbors
from ..metrics import counts_to_scores, group_sizes
from ..training.history import read_history
from .entry import ModelEntry
from .format import (
    ALL_POOL,
    ALLOWED_SUFFIXES,
    FAMILIES,
    FORMAT_VERSION,
    LEGACY_STORAGE,
    MANIFEST,
    MODEL_FIELDS,
    POSTING_COLUMNS,
    POSTINGS,
    STORAGE_DTYPES,
    THRESHOLD_FIELDS,
    TOP_FIELDS,
    VECTORIZER,
    BundleChanged,
    BundleError,
    model_dir,
    storage_dtype,
)
from .verified import VerifiedFiles, bundle_key
from .writer import rows_key, sha256


class _Resolver:
    """``(root / rel).resolve()`` as a string, each folder resolved once (thousands of thumbnails
    share one folder); a file that is itself a symlink is resolved in full. Plain ``os.path``
    strings: pathlib costs ~0.1 ms a path, seconds for a Kaggle-sized bundle."""

    def __init__(self, root: Path):
        self.root = os.fspath(root)
        self.real_root = os.path.realpath(self.root)
        self.prefix = self.real_root.rstrip(os.sep) + os.sep
        self._dirs: dict[str, str] = {}

    def folder(self, parent: str) -> str:
        real = self._dirs.get(parent)
        if real is None:
            real = self._dirs[parent] = os.path.realpath(os.path.join(self.root, parent) if parent else self.root)
        return real

    def __call__(self, rel: str) -> str:
        parent, _, name = rel.rpartition("/")
        full = self.folder(parent) + os.sep + name
        return os.path.realpath(full) if os.path.islink(full) else full


def _safe_rel(root: Path, rel, resolver: _Resolver | None = None) -> str:
    """The resolved path (a string) of a manifest entry, or a one-line BundleError."""
    if not isinstance(rel, str) or not rel:
        raise BundleError(f"manifest path {rel!r} is not a file name")
    parts = rel.split("/")
    if rel.startswith(("/", "~")) or "\\" in rel or ".." in parts or "" in parts[:-1] or not parts[-1] \
            or ":" in parts[0] or "\0" in rel:
        raise BundleError(f"manifest path {rel!r} points outside the bundle")
    resolver = resolver or _Resolver(root)
    full = resolver("/".join(x for x in parts if x != "."))
    if not full.startswith(resolver.prefix):
        raise BundleError(f"manifest path {rel!r} points outside the bundle")
    suffix = os.path.splitext(full)[1]
    if suffix not in ALLOWED_SUFFIXES:
        raise BundleError(f"manifest path {rel!r}: {suffix or 'no'} extension is not an allowed data format")
    return full


def _npz(path: Path, keys=None) -> dict:
    """The file's arrays (those of ``keys`` it holds, when given: a model's rows.npz holds every pool's)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files if keys is None or k in keys}
    except Exception as exc:
        raise BundleError(f"{path.name}: unreadable .npz ({' '.join(str(exc).split())})") from None


def _npy(path: Path, mmap: bool = False) -> np.ndarray:
    return load_npy(path, mmap=mmap, error=BundleError)


CACHE_BYTES = 1 << 30
OPEN_TRIES = 5
# cache keys of values made from the files alone (rows of a pool, arrays, tables, histories, sweeps):
# a truth view shares them with the bundle it views
_LABEL_FREE = frozenset({"rows", "emb", "norms", "umap", "nb", "history", "sweep", "thumb", "tfidf_query",
                         "shown_titles"})


def generation(root) -> tuple | None:
    """The identity of the bundle version now at ``root``: its manifest file's (device, inode,
    ctime, size). Every edit or build seals a new manifest file in a new folder, so a swap
    changes it; None when there is no manifest."""
    try:
        st = os.stat(os.path.join(root, MANIFEST))
    except OSError:
        return None
    return st.st_dev, st.st_ino, st.st_ctime_ns, st.st_size


class Bundle:
    """A verified bundle: manifest, postings and lazily loaded, read-only arrays.

    Everything made from the bundle (its arrays, the analysis' pools, a page's predictions,
    thumbnails) lives in the bundle object's own bounded cache (:meth:`cached`), so it goes when
    the object goes: a bundle rebuilt or edited at the same path is opened as a new object and
    nothing made from the old one can be served for it.

    ``truth``: None for the labels the bundle ships; a truth view (:meth:`relabelled`) names its
    own (e.g. "with my fixes"), and its manifest metrics no longer describe it."""

    truth: str | None = None

    def __init__(self, root: Path, manifest: dict, postings: pd.DataFrame, version: tuple | None = None,
                 digest: str | None = None, cache_bytes: int = CACHE_BYTES):
        self.root, self.manifest, self.postings = root, manifest, postings
        self._models = {m["id"]: m for m in manifest["models"]}
        self._cache, self._cache_bytes = Cache(cache_bytes), cache_bytes
        self._version, self.digest = version, digest

    @property
    def cache_bytes(self) -> int:
        """This bundle object's cache budget (:meth:`open`)."""
        return self._cache_bytes

    def cached(self, key, make):
        """``make()`` once per ``key`` for this bundle object (bounded, thread-safe, single-flight).
        A truth view (:meth:`relabelled`) takes what does not depend on labels (the files' arrays)
        from the bundle it views, and keeps the rest (pools, scorers, leaderboards) to itself."""
        base = self.__dict__.get("_labelled")
        if base is not None and isinstance(key, tuple) and key and key[0] in _LABEL_FREE:
            return base.cached(key, make)
        return self._cache.get(key, make)

    def relabelled(self, labels, truth: str) -> Bundle:
        """The same bundle version under another truth: ``labels`` (one per posting, in postings
        order) replace ``label_group``. ``truth`` names it (e.g. "with my fixes"); its ``digest``
        is the version's plus the labels', so nothing keyed by digest mixes the two truths."""
        labels = np.asarray(labels)
        if labels.shape != (len(self.postings),):
            raise BundleError(f"a truth needs {len(self.postings)} labels, got {labels.shape}")
        base = self.labelled
        digest = None if base.digest is None else \
            f"{base.digest}+{hashlib.sha256(np.ascontiguousarray(labels.astype(np.int64)).tobytes()).hexdigest()[:16]}"
        view = Bundle(base.root, base.manifest, base.postings.assign(label_group=labels), version=base._version,
                      digest=digest, cache_bytes=base._cache_bytes)
        view.truth = truth
        view._labelled = base
        return view

    @property
    def labelled(self) -> Bundle:
        """The bundle under the labels it ships (itself, unless this is a truth view)."""
        return self.__dict__.get("_labelled", self)

    # ----------------------------------------------------------- opening
    @classmethod
    def open(cls, root, verify: bool | str = True, cache_bytes: int = CACHE_BYTES) -> Bundle:
        """``verify``: True checks every file, re-hashing only files whose identity changed since
        they were last verified (:mod:`.verified`); ``"full"`` hashes every file; False none.
        ``cache_bytes``: what this bundle object keeps of what was computed from it (its own cache;
        its pools share another half as large, :func:`~shopee_core.analysis.decisions.pool`).

        A swap that lands while it reads (another command's edit finishing) makes it start
        again on the new version, so it returns one whole version or a real error."""
        root = Path(root)
        for _ in range(OPEN_TRIES):
            version = generation(root)
            try:
                bundle = cls._open(root, verify, cache_bytes)
            except (BundleError, OSError):
                if generation(root) != version:
                    continue
                raise
            if generation(root) == version:
                bundle._version = version
                return bundle
        raise BundleError(f"{root}: replaced {OPEN_TRIES} times while being opened (edits running back to back); "
                          f"try again")

    @classmethod
    def _open(cls, root: Path, verify, cache_bytes: int = CACHE_BYTES) -> Bundle:
        if not (root / MANIFEST).is_file():
            raise BundleError(f"{root}: not a bundle (no {MANIFEST})")
        raw = (root / MANIFEST).read_bytes()
        try:
            manifest = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise BundleError(f"{root / MANIFEST}: not valid JSON ({exc})") from None
        _check_manifest(manifest)
        listed = _listed_files(root, manifest)
        if verify:
            remembered = None if verify == "full" else VerifiedFiles(bundle_key(root, raw))
            _check_files(root, listed, remembered)
        postings = _read_postings(root, set(manifest["files"]))
        return cls(root, manifest, postings, digest=hashlib.sha256(raw).hexdigest(), cache_bytes=cache_bytes)

    def check_current(self) -> None:
        """Raise :class:`BundleChanged` when the folder no longer holds the version this object opened."""
        if self._version is not None and generation(self.root) != self._version:
            raise BundleChanged(f"bundle {self.name} was replaced by another command while it was being read; "
                                f"open it again")

    def load_file(self, path: Path, load):
        """``load(path)`` for a file of this bundle, checked to come from the version opened
        (a file read after a swap belongs to the new version: :class:`BundleChanged`)."""
        try:
            value = load(path)
        except (BundleError, OSError):
            self.check_current()  # a file the new version lacks: say that, not "missing"
            raise
        self.check_current()
        return value

    # ----------------------------------------------------------- metadata
    @property
    def name(self) -> str:
        return self.root.name

    @property
    def k(self) -> int:
        return int(self.manifest["k"])

    @property
    def profile(self) -> str | None:
        """The recipe profile the bundle was built with (None for one built otherwise)."""
        return self.manifest.get("profile")

    @property
    def models(self) -> list[dict]:
        """The manifest's model entries as stored (the edit path rewrites them); read a model through
        :meth:`entry` / :attr:`entries`."""
        return self.manifest["models"]

    def model(self, model_id: str) -> dict:
        return self._known(self._models, model_id)

    def _known(self, models: dict, model_id: str):
        if model_id not in models:
            raise BundleError(f"bundle {self.name} has no model {model_id!r}")
        return models[model_id]

    @cached_property
    def entries(self) -> tuple[ModelEntry, ...]:
        """Every model as a :class:`ModelEntry`, in manifest order."""
        listed = set(self.manifest.get("files") or ())
        plain = {}
        for m in self.models:
            e = ModelEntry.from_manifest(m, self.root)
            shared = f"{model_dir(e.id)}/{VECTORIZER}"  # builders that listed it among the bundle's own files
            if "vectorizer" not in e.paths and shared in listed:
                e = replace(e, paths=MappingProxyType({**e.paths, "vectorizer": self.root / shared}))
            plain[e.id] = e

        def can_embed(mid: str, seen: tuple = ()) -> bool:
            e = plain[mid]
            if "embeddings" in e.paths:
                return True
            return e.is_mean_fusion and all(x in plain and x not in seen and can_embed(x, seen + (mid,))
                                            for x in e.members)

        def modality(mid: str, seen: tuple = ()) -> str | None:
            e = plain[mid]
            if e.modality is not None or not e.members:
                return e.modality
            found = {modality(x, seen + (mid,)) for x in e.members if x in plain and x not in seen}
            return found.pop() if len(found) == 1 else None

        return tuple(replace(e, can_embed=can_embed(e.id), modality=modality(e.id)) for e in plain.values())

    @cached_property
    def _entries(self) -> dict[str, ModelEntry]:
        return {e.id: e for e in self.entries}

    def entry(self, model_id: str) -> ModelEntry:
        return self._known(self._entries, model_id)

    @cached_property
    def splits(self) -> list[str]:
        """The candidate pools the bundle has tables for (``dataset.shown_splits``; older bundles:
        the postings' splits)."""
        shown = (self.manifest.get("dataset") or {}).get("shown_splits")
        if shown:
            return [str(s) for s in shown]
        order = ["valid", "test", "train"]
        present = set(self.postings["split"].unique())
        return [s for s in order if s in present] + sorted(present - set(order))

    def split_rows(self, split: str) -> np.ndarray:
        """Rows of a pool: a split's postings, or every posting for the ``all`` pool."""
        def make():
            if split == ALL_POOL and ALL_POOL in self.splits:
                rows = np.arange(len(self.postings))
            else:
                rows = np.flatnonzero(self.postings["split"].to_numpy() == split)
            rows.flags.writeable = False
            return rows
        return self.cached(("rows", split), make)

    def labels(self, split: str) -> np.ndarray:
        return self.postings["label_group"].to_numpy()[self.split_rows(split)]

    @property
    def has_labels(self) -> bool:
        return bool(self.postings["label_group"].notna().all())

    def thumb_path(self, row: int) -> Path:
        return self.root / self.postings["thumb"].iat[row]

    def file(self, model_id: str, name: str) -> Path | None:
        return self.entry(model_id).path(name)

    # ----------------------------------------------------------- arrays
    def embeddings(self, model_id: str):
        """Dense rows as stored (float32 or float16, memory-mapped, read-only) or a CSR matrix; None
        for combinations."""
        def load():
            path = self.file(model_id, "embeddings")
            return None if path is None else self.load_file(path, _load_embeddings)
        return self.cached(("emb", model_id), load)

    def norms(self, model_id: str) -> np.ndarray | None:
        """Row lengths of the raw embeddings before they were stored normalised (None if not shipped)."""
        def load(path):
            norms = _npy(path).astype(np.float32)
            if norms.shape != (len(self.postings),) or not np.isfinite(norms).all():
                raise BundleError(f"{model_id}: norms must be {len(self.postings)} finite values, got {norms.shape}")
            norms.flags.writeable = False
            return norms
        return self._model_array(model_id, "norms", load)

    def _model_array(self, model_id: str, name: str, load):
        """A model's optional file, loaded once (None when the model does not ship it)."""
        path = self.file(model_id, name)
        if path is None:
            return None
        return self.cached((name, model_id), lambda: self.load_file(path, load))

    def neighbors(self, model_id: str, split: str, variant: str = "base", cache: bool = False):
        """A :class:`~shopee_core.matching.Neighbors` table in split-local indices, read from its file.

        Not kept here unless ``cache``: the dashboard's pools (analysis.decisions) keep the tables they
        use in one memory-bounded cache; a copy held here too would keep every table ever shown (at
        70,000 postings 42 tables are ~2 GB)."""
        def make():
            name = "neighbors" if variant == "base" else f"neighbors_{variant}"
            path = self.file(model_id, name)
            if path is None:
                raise BundleError(f"model {model_id!r} has no {name} table")
            arrays = self.load_file(path, _npz)
            if f"{split}_idx" not in arrays:
                raise BundleError(f"{path.name}: no table for split {split!r}")
            local = self._to_local(arrays[f"{split}_idx"], split, path.name)
            return Neighbors(local, arrays[f"{split}_sim"].astype(np.float32))
        key = ("nb", model_id, split, variant)
        return self.cached(key, make) if cache or self._cache.holds(key) else make()  # one already held is used

    def row_counts(self, model_id: str, split: str, variant: str) -> tuple[np.ndarray, np.ndarray] | None:
        """Per-row ``tp`` and ``n_pred`` (|X∩Y|, |Y|, self included) of the model's stored decision
        ``variant`` in ``split`` (``rows.npz``, written by builds since intervals came in); None
        when the bundle does not store them (they are then recomputed from the tables), and on a
        truth view (:meth:`relabelled`): the stored counts are against the labels the bundle ships."""
        if self.truth is not None:
            return None
        path = self.file(model_id, "rows")
        if path is None:
            return None
        keys = [rows_key(split, variant, x) for x in ("tp", "n_pred")]

        def make():  # only this pool's two arrays are read and kept (every pool's: 46 MB at 70,000)
            arrays = self.load_file(path, lambda p: _npz(p, keys))
            if len(arrays) < 2:
                return ()
            tp, n_pred = (arrays[k] for k in keys)
            n = len(self.split_rows(split))
            if tp.shape != (n,) or n_pred.shape != (n,) or tp.dtype.kind not in "iu" or n_pred.dtype.kind not in "iu":
                raise BundleError(f"{model_id}: rows.npz {split}/{variant} must be {n} integers per array, got "
                                  f"{tp.shape} {tp.dtype} and {n_pred.shape} {n_pred.dtype}")
            if n and (tp.min() < 1 or (tp > n_pred).any()):
                raise BundleError(f"{model_id}: rows.npz {split}/{variant}: counts out of range "
                                  "(need 1 <= tp <= n_pred: self is always predicted)")
            tp, n_pred = tp.astype(np.int64), n_pred.astype(np.int64)
            tp.flags.writeable = n_pred.flags.writeable = False
            return tp, n_pred
        return self.cached(("rowcounts", model_id, split, variant), make) or None

    def umap(self, model_id: str) -> np.ndarray | None:
        return self._model_array(model_id, "umap", lambda path: _npy(path, mmap=True))

    def _to_local(self, idx: np.ndarray, split: str, what: str) -> np.ndarray:
        rows = self.split_rows(split)
        if idx.shape[0] != len(rows):
            raise BundleError(f"{what}: {split} table has {idx.shape[0]} rows, the split has {len(rows)} postings")
        if idx.size and (idx.min() < 0 or idx.max() >= len(self.postings)):
            raise BundleError(f"{what}: neighbour index outside the postings")
        if len(rows) == len(self.postings) and np.array_equal(rows, np.arange(len(rows))):
            return idx.astype(np.int32, copy=False)  # a pool of every posting in order: indices are local
        pos = np.full(len(self.postings), -1, dtype=np.int64)
        pos[rows] = np.arange(len(rows))
        local = pos[idx]
        if (local < 0).any():
            raise BundleError(f"{what}: {split} neighbours point into another split")
        return local.astype(np.int32)

    def history(self, model_id: str) -> list[dict] | None:
        """A trained model's epoch records (None when the bundle ships none for it)."""
        def load(path):
            try:
                return read_history(path)
            except ShopeeError as exc:
                raise BundleError(f"{model_id}: {exc}") from None
        return self._model_array(model_id, "history", load)

    @property
    def sweep_names(self) -> list[str]:
        return [s["name"] for s in self.manifest.get("sweeps") or []]

    def sweep(self, name: str) -> dict:
        """A shipped sweep's results document, checked (rows per configuration)."""
        entry = next((s for s in self.manifest.get("sweeps") or [] if s["name"] == name), None)
        if entry is None:
            raise BundleError(f"bundle {self.name} has no sweep {name!r}")
        def load():
            try:
                return read_sweep(self.root / entry["path"])
            except ShopeeError as exc:
                raise BundleError(f"sweep {name}: {exc}") from None
        return self.cached(("sweep", name), load)

    def shipped_suspects(self, pool: str) -> tuple[dict, pd.DataFrame, np.ndarray] | None:
        """The label-noise finder's results for ``pool`` as built into the bundle (``suspects``
        in the manifest: :mod:`shopee_core.bundle.suspects`): ``(meta, suspects, tables)`` with
        meta the finder version, knobs and witnesses that made them, or None (then the finder runs).
        Only ever of the labels the bundle ships (a truth view reads its base's)."""
        shipped = self.manifest.get("suspects") or {}
        entry = (shipped.get("pools") or {}).get(pool)
        if entry is None:
            return None
        meta = {"finder": shipped["finder"], "config": shipped["config"], "witnesses": entry["witnesses"]}

        def load():
            try:
                frame = self.load_file(self.root / entry["suspects"], pd.read_parquet)
                with self.load_file(self.root / entry["tables"], lambda p: np.load(p, allow_pickle=False)) as z:
                    tables = z["tables"]
            except (BundleError, BundleChanged):
                raise
            except Exception as exc:  # a malformed file still gives a one-line reason
                raise BundleError(f"suspects of pool {pool}: unreadable ({type(exc).__name__}: "
                                  f"{' '.join(str(exc).split())})") from None
            return meta, frame, tables
        return load()  # not kept here: its one reader (analysis.noise) keeps what it makes of them

    @cached_property
    def seed_sweeps(self) -> pd.DataFrame | None:
        """The study's sweep tables shipped with the bundle (None for older bundles)."""
        rel = next((r for r in self.manifest["files"] if r.endswith("seed_sweeps.csv")), None)
        if rel is None:
            return None
        try:
            return read_seed_sweeps(self.root / rel)
        except ShopeeError as exc:
            raise BundleError(str(exc)) from None

    @cached_property
    def reference(self) -> pd.DataFrame | None:
        rel = next((r for r in self.manifest["files"] if r.endswith("seed_results.csv")), None)
        return None if rel is None else self.load_file(self.root / rel, pd.read_csv)


def _load_embeddings(path: Path | None):
    if path is None:
        return None
    if path.suffix == ".npz":
        z = _npz(path)
        try:
            m = sp.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=tuple(int(v) for v in z["shape"]))
        except Exception as exc:
            raise BundleError(f"{path.name}: not CSR arrays ({exc})") from None
        return m
    return _npy(path, mmap=True)


def _check_manifest(m: dict) -> None:
    if not isinstance(m, dict):
        raise BundleError("manifest is not a JSON object")
    missing = [f for f in TOP_FIELDS if f not in m]
    if missing:
        raise BundleError(f"manifest lacks field(s) {', '.join(missing)}")
    if m["format_version"] != FORMAT_VERSION:
        raise BundleError(f"bundle format {m['format_version']} is not supported (this tool reads {FORMAT_VERSION})")
    if storage_dtype(m) not in STORAGE_DTYPES:
        raise BundleError(f"manifest storage {m.get('storage')!r} is not one of {', '.join(STORAGE_DTYPES)}")
    if not isinstance(m["models"], list):  # an empty list is a bundle of data awaiting its models
        raise BundleError("manifest 'models' must be a list")
    ids = set()
    for i, model in enumerate(m["models"]):
        lack = [f for f in MODEL_FIELDS if f not in model]
        if lack:
            raise BundleError(f"manifest model #{i} ({model.get('id', '?')}) lacks field(s) {', '.join(lack)}")
        if model["id"] in ids:
            raise BundleError(f"manifest lists model {model['id']!r} twice")
        ids.add(model["id"])
        if model["family"] not in FAMILIES:
            raise BundleError(f"model {model['id']}: family {model['family']!r} not one of {', '.join(FAMILIES)}")
        lack = [f for f in THRESHOLD_FIELDS if f not in model["thresholds"]]
        if lack:
            raise BundleError(f"model {model['id']}: thresholds lack {', '.join(lack)}")
        for name, f in model["files"].items():
            if not isinstance(f, dict) or "path" not in f or "sha256" not in f:
                raise BundleError(f"model {model['id']}: file entry {name!r} needs path and sha256")
    sweeps = m.get("sweeps", [])
    if not isinstance(sweeps, list) or not all(isinstance(s, dict) and isinstance(s.get("name"), str) and
                                               isinstance(s.get("path"), str) for s in sweeps):
        raise BundleError("manifest 'sweeps' must be a list of {name, path}")
    names = [s["name"] for s in sweeps]
    if len(set(names)) != len(names):
        raise BundleError("manifest lists a sweep twice")
    for s in sweeps:
        if not isinstance(m["files"], dict) or s["path"] not in m["files"]:
            raise BundleError(f"sweep {s['name']}: {s['path']} is not among the manifest's checksummed files")
    shipped = m.get("suspects")
    if shipped is not None:
        pools = shipped.get("pools") if isinstance(shipped, dict) else None
        if not isinstance(pools, dict) or not isinstance(shipped.get("config"), dict) or \
                not isinstance(shipped.get("finder"), int):
            raise BundleError("manifest 'suspects' must be {finder, config, pools}")
        for pool, entry in pools.items():
            if not isinstance(entry, dict) or not isinstance(entry.get("witnesses"), list):
                raise BundleError(f"suspects of pool {pool!r}: need suspects, tables and witnesses")
            for key in ("suspects", "tables"):
                if not isinstance(m["files"], dict) or entry.get(key) not in m["files"]:
                    raise BundleError(f"suspects of pool {pool!r}: {entry.get(key)} is not among the manifest's "
                                      f"checksummed files")
    for model in m["models"]:
        for member in model["spec"].get("members", []) or []:
            if member not in ids:
                raise BundleError(f"model {model['id']}: member {member!r} is not in the bundle")


def _listed_files(root: Path, m: dict) -> dict[str, str]:
    """Resolved path (string) -> sha256 of every file the manifest lists."""
    listed: dict[str, str] = {}
    resolver = _Resolver(root)
    for model in m["models"]:
        for f in model["files"].values():
            listed[_safe_rel(root, f["path"], resolver)] = f["sha256"]
    if not isinstance(m["files"], dict):
        raise BundleError("manifest 'files' must map paths to sha256")
    for rel, digest in m["files"].items():
        listed[_safe_rel(root, rel, resolver)] = digest
    if _safe_rel(root, POSTINGS, resolver) not in listed:
        raise BundleError(f"manifest does not list {POSTINGS}")
    return listed


def _walk(top: str):
    """(relative path, is a symlink) of every file under ``top`` (os.scandir, no pathlib)."""
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        with os.scandir(os.path.join(top, rel_dir) if rel_dir else top) as it:
            for entry in it:
                rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
                if entry.is_dir(follow_symlinks=False):
                    stack.append(rel)
                elif entry.is_file():
                    yield rel, entry.is_symlink()


def _check_files(root: Path, listed: dict[str, str], remembered: VerifiedFiles | None = None) -> None:
    """Every listed file present with its checksum and nothing else in the folder. ``remembered``:
    skip hashing a file whose identity is unchanged since it last matched this digest."""
    problems = []
    prefix = _Resolver(root).prefix
    for path, digest in listed.items():
        rel = path[len(prefix):].replace(os.sep, "/")
        try:
            st = os.stat(path)
        except OSError:
            st = None
        if st is None or not stat.S_ISREG(st.st_mode):
            problems.append(f"{rel} is missing")
            continue
        if remembered is not None and remembered.known(rel, st, digest):
            continue
        if sha256(path) != digest:
            problems.append(f"{rel} does not match its checksum (changed after the bundle was built)")
            if remembered is not None:
                remembered.forget(rel)
        elif remembered is not None:
            after = os.stat(path)
            if (after.st_size, after.st_mtime_ns, after.st_ctime_ns) == (st.st_size, st.st_mtime_ns, st.st_ctime_ns):
                remembered.remember(rel, st, digest)
    if remembered is not None:
        remembered.save()
    resolver = _Resolver(root)
    for rel, link in _walk(os.fspath(root)):
        if rel == MANIFEST:
            continue
        parent, _, name = rel.rpartition("/")
        real = resolver(rel) if link else resolver.folder(parent) + os.sep + name
        if real not in listed:
            suffix = os.path.splitext(rel)[1]
            kind = "not an allowed data format" if suffix not in ALLOWED_SUFFIXES else "not in the manifest"
            problems.append(f"unexpected file {rel} ({kind})")
    if problems:
        more = f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""
        raise BundleError(f"{root}: {'; '.join(problems[:3])}{more}")


def _read_postings(root: Path, checked: set | frozenset = frozenset()) -> pd.DataFrame:
    """The postings table; each thumbnail path must be safe (``checked``: paths the manifest lists,
    already resolved and checked when the manifest was read)."""
    try:
        frame = pd.read_parquet(root / POSTINGS)
    except Exception as exc:
        raise BundleError(f"{POSTINGS}: unreadable ({' '.join(str(exc).split())})") from None
    missing = [c for c in POSTING_COLUMNS if c not in frame]
    if missing:
        raise BundleError(f"{POSTINGS} lacks column(s) {', '.join(missing)}")
    if frame["posting_id"].duplicated().any():
        raise BundleError(f"{POSTINGS}: duplicate posting_id values")
    resolver = _Resolver(root)
    for rel in frame["thumb"]:
        if rel not in checked:
            _safe_rel(root, rel, resolver)
    return frame


def check_bundle(root) -> Bundle:
    """Open with every checksum hashed, then load every array and check it against the postings
    (all of one version: a swap landing meanwhile starts the check again on the new one)."""
    for _ in range(OPEN_TRIES - 1):
        try:
            return _check_bundle(root)
        except BundleChanged:
            continue
    return _check_bundle(root)


def _check_bundle(root) -> Bundle:
    b = Bundle.open(root, verify="full")
    n = len(b.postings)
    problems = []
    for model in b.models:
        mid = model["id"]
        try:
            emb = b.embeddings(mid)
            if emb is not None:
                _check_embeddings(emb, n, mid, storage_dtype(b.manifest))
            for name in model["files"]:
                if name.startswith("neighbors"):
                    variant = "base" if name == "neighbors" else name.split("_", 1)[1]
                    for split in b.splits:
                        _check_similarities(b, mid, name, split)
                        nb = b.neighbors(mid, split, variant)
                        # an imported predictions-only table is as wide as its largest predicted set
                        if nb.k != b.k and nb.k != min(b.k, nb.n) and not model.get("predictions_only"):
                            raise BundleError(f"{mid}: {name} has k={nb.k}, manifest says {b.k}")
            b.history(mid)
            um = b.umap(mid)
            if um is not None and (um.shape != (n, 2) or not np.isfinite(um).all()):
                raise BundleError(f"{mid}: umap must be ({n}, 2) finite, got {um.shape}")
            if "rows" in model["files"]:
                _check_rows(b, model)
        except BundleChanged:
            raise
        except BundleError as exc:
            problems.append(str(exc))
        except Exception as exc:  # a malformed array must still give a one-line reason
            problems.append(f"{mid}: {type(exc).__name__}: {' '.join(str(exc).split())}")
    for name in b.sweep_names:
        try:
            b.sweep(name)
        except BundleError as exc:
            problems.append(str(exc))
    for pool in (b.manifest.get("suspects") or {}).get("pools", {}):
        try:
            got = b.shipped_suspects(pool)
            if pool not in b.splits:
                raise BundleError(f"suspects of pool {pool}: the bundle has no such pool")
            _check_suspects(b, pool, *got)
        except BundleError as exc:
            problems.append(str(exc))
    try:
        b.seed_sweeps  # noqa: B018  (reading it validates the file)
    except BundleError as exc:
        problems.append(str(exc))
    if problems:
        raise BundleError(f"{root}: {'; '.join(problems[:3])}" + (f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""))
    return b


def _check_suspects(b: Bundle, pool: str, meta: dict, frame: pd.DataFrame, tables: np.ndarray) -> None:
    """Shipped suspects name the pool's own postings, and carry one table row per suspect and witness."""
    try:
        check_shipped(frame, tables, len(meta["witnesses"]), b.postings["posting_id"].to_numpy()[b.split_rows(pool)])
    except NoiseError as exc:
        raise BundleError(f"suspects of pool {pool}: {exc}") from None


def _check_rows(b: Bundle, model: dict) -> None:
    """Stored per-row counts: every stored decision of every pool, in range, and their means equal
    to the manifest's metrics (so intervals describe the very numbers the leaderboard shows)."""
    mid = model["id"]
    for split, variants in (model.get("metrics") or {}).items():
        if split not in b.splits:
            continue
        n_true = group_sizes(b.labels(split))
        for variant, want in variants.items():
            counts = b.row_counts(mid, split, variant)
            if counts is None:
                raise BundleError(f"{mid}: rows.npz lacks {split}/{variant}")
            tp, n_pred = counts
            if (tp > n_true).any():
                raise BundleError(f"{mid}: rows.npz {split}/{variant}: more true matches than the group has")
            got = counts_to_scores(tp, n_pred, n_true)
            for k in ("f1", "precision", "recall"):
                if want.get(k) is not None and abs(float(got[k].mean()) - float(want[k])) > 1e-5:
                    raise BundleError(f"{mid}: rows.npz {split}/{variant} gives mean {k} {got[k].mean():.6f}, the "
                                      f"manifest says {float(want[k]):.6f}")


def _check_similarities(b, mid: str, name: str, split: str) -> None:
    dtype = storage_dtype(b.manifest)
    got = _npz(b.file(mid, name))[f"{split}_sim"].dtype
    if got != np.dtype(dtype):
        raise BundleError(f"{mid}: {name} similarities are {got}, the manifest's storage is {dtype}")


def _check_embeddings(emb, n: int, mid: str, dtype: str = LEGACY_STORAGE) -> None:
    if emb.shape[0] != n:
        raise BundleError(f"{mid}: embeddings have {emb.shape[0]} rows, postings {n}")
    if sp.issparse(emb):
        data = emb.data
        norms = np.sqrt(np.asarray(emb.multiply(emb).sum(axis=1)).ravel())
    else:
        if emb.dtype != np.dtype(dtype):
            raise BundleError(f"{mid}: embeddings must be {dtype} (the manifest's storage), got {emb.dtype}")
        data = np.asarray(emb, dtype=np.float32)
        norms = np.linalg.norm(data, axis=1)
    if not np.isfinite(data).all():
        raise BundleError(f"{mid}: embeddings hold NaN or inf")
    bad = ~((np.abs(norms - 1) < 2e-2) | (norms == 0))
    if bad.any():
        raise BundleError(f"{mid}: {int(bad.sum())} embedding rows are not L2-normalised")
