"""Reading and validating bundles. The dashboard and ``check-bundle`` share this code.

``Bundle.open`` refuses a bundle whose files do not match its manifest (checksums,
unlisted or missing files, unsafe paths or formats); ``check_bundle`` also loads
every array and checks shapes, NaN, ranges and unit norms.
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .format import (ALLOWED_SUFFIXES, FAMILIES, FORMAT_VERSION, MANIFEST, MODEL_FIELDS, POSTING_COLUMNS, POSTINGS,
                     THRESHOLD_FIELDS, TOP_FIELDS, BundleError)
from ..io import load_npy
from ..matching import Neighbors
from .writer import sha256


def _safe_rel(root: Path, rel) -> Path:
    if not isinstance(rel, str) or not rel:
        raise BundleError(f"manifest path {rel!r} is not a file name")
    p = PurePosixPath(rel)
    if p.is_absolute() or ".." in p.parts or "\\" in rel or rel.startswith("~"):
        raise BundleError(f"manifest path {rel!r} points outside the bundle")
    full = (root / p).resolve()
    if root.resolve() not in full.parents:
        raise BundleError(f"manifest path {rel!r} points outside the bundle")
    if full.suffix not in ALLOWED_SUFFIXES:
        raise BundleError(f"manifest path {rel!r}: {full.suffix or 'no'} extension is not an allowed data format")
    return full


def _npz(path: Path) -> dict:
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except Exception as exc:
        raise BundleError(f"{path.name}: unreadable .npz ({' '.join(str(exc).split())})") from None


def _npy(path: Path, mmap: bool = False) -> np.ndarray:
    return load_npy(path, mmap=mmap, error=BundleError)


class Bundle:
    """A verified bundle: manifest, postings and lazily loaded, read-only arrays."""

    def __init__(self, root: Path, manifest: dict, postings: pd.DataFrame):
        self.root, self.manifest, self.postings = root, manifest, postings
        self._models = {m["id"]: m for m in manifest["models"]}
        self._cache: dict = {}

    # ----------------------------------------------------------- opening
    @classmethod
    def open(cls, root, verify: bool = True) -> "Bundle":
        root = Path(root)
        if not (root / MANIFEST).is_file():
            raise BundleError(f"{root}: not a bundle (no {MANIFEST})")
        try:
            manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise BundleError(f"{root / MANIFEST}: not valid JSON ({exc})") from None
        _check_manifest(manifest)
        listed = _listed_files(root, manifest)
        if verify:
            _check_files(root, listed)
        postings = _read_postings(root)
        return cls(root, manifest, postings)

    # ----------------------------------------------------------- metadata
    @property
    def name(self) -> str:
        return self.root.name

    @property
    def k(self) -> int:
        return int(self.manifest["k"])

    @property
    def models(self) -> list[dict]:
        return self.manifest["models"]

    def model(self, model_id: str) -> dict:
        try:
            return self._models[model_id]
        except KeyError:
            raise BundleError(f"bundle {self.name} has no model {model_id!r}") from None

    @cached_property
    def splits(self) -> list[str]:
        order = ["valid", "test", "train"]
        present = set(self.postings["split"].unique())
        return [s for s in order if s in present] + sorted(present - set(order))

    def split_rows(self, split: str) -> np.ndarray:
        key = ("rows", split)
        if key not in self._cache:
            rows = np.flatnonzero(self.postings["split"].to_numpy() == split)
            rows.flags.writeable = False
            self._cache[key] = rows
        return self._cache[key]

    def labels(self, split: str) -> np.ndarray:
        return self.postings["label_group"].to_numpy()[self.split_rows(split)]

    @property
    def has_labels(self) -> bool:
        return bool(self.postings["label_group"].notna().all())

    def thumb_path(self, row: int) -> Path:
        return self.root / self.postings["thumb"].iat[row]

    def file(self, model_id: str, name: str) -> Path | None:
        files = self.model(model_id)["files"]
        return self.root / files[name]["path"] if name in files else None

    # ----------------------------------------------------------- arrays
    def embeddings(self, model_id: str):
        """float16 rows (memory-mapped, read-only) or a CSR matrix; None for combinations."""
        key = ("emb", model_id)
        if key not in self._cache:
            self._cache[key] = _load_embeddings(self.file(model_id, "embeddings"))
        return self._cache[key]

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
        key = (name, model_id)
        if key not in self._cache:
            self._cache[key] = load(path)
        return self._cache[key]

    def neighbors(self, model_id: str, split: str, variant: str = "base"):
        """A :class:`~shopee_core.matching.Neighbors` table in split-local indices."""
        key = ("nb", model_id, split, variant)
        if key not in self._cache:
            name = "neighbors" if variant == "base" else f"neighbors_{variant}"
            path = self.file(model_id, name)
            if path is None:
                raise BundleError(f"model {model_id!r} has no {name} table")
            arrays = _npz(path)
            if f"{split}_idx" not in arrays:
                raise BundleError(f"{path.name}: no table for split {split!r}")
            local = self._to_local(arrays[f"{split}_idx"], split, path.name)
            self._cache[key] = Neighbors(local, arrays[f"{split}_sim"].astype(np.float32))
        return self._cache[key]

    def umap(self, model_id: str) -> np.ndarray | None:
        return self._model_array(model_id, "umap", lambda path: _npy(path, mmap=True))

    def _to_local(self, idx: np.ndarray, split: str, what: str) -> np.ndarray:
        rows = self.split_rows(split)
        pos = np.full(len(self.postings), -1, dtype=np.int64)
        pos[rows] = np.arange(len(rows))
        if idx.shape[0] != len(rows):
            raise BundleError(f"{what}: {split} table has {idx.shape[0]} rows, the split has {len(rows)} postings")
        if idx.size and (idx.min() < 0 or idx.max() >= len(self.postings)):
            raise BundleError(f"{what}: neighbour index outside the postings")
        local = pos[idx]
        if (local < 0).any():
            raise BundleError(f"{what}: {split} neighbours point into another split")
        return local.astype(np.int32)

    @cached_property
    def reference(self) -> pd.DataFrame | None:
        rel = next((r for r in self.manifest["files"] if r.endswith("seed_results.csv")), None)
        return None if rel is None else pd.read_csv(self.root / rel)


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
    for model in m["models"]:
        for member in model["spec"].get("members", []) or []:
            if member not in ids:
                raise BundleError(f"model {model['id']}: member {member!r} is not in the bundle")


def _listed_files(root: Path, m: dict) -> dict[Path, str]:
    listed: dict[Path, str] = {}
    for model in m["models"]:
        for f in model["files"].values():
            listed[_safe_rel(root, f["path"])] = f["sha256"]
    if not isinstance(m["files"], dict):
        raise BundleError("manifest 'files' must map paths to sha256")
    for rel, digest in m["files"].items():
        listed[_safe_rel(root, rel)] = digest
    if (root / POSTINGS).resolve() not in listed:
        raise BundleError(f"manifest does not list {POSTINGS}")
    return listed


def _check_files(root: Path, listed: dict[Path, str]) -> None:
    problems = []
    for path, digest in listed.items():
        rel = path.relative_to(root.resolve()).as_posix()
        if not path.is_file():
            problems.append(f"{rel} is missing")
        elif sha256(path) != digest:
            problems.append(f"{rel} does not match its checksum (changed after the bundle was built)")
    for path in root.rglob("*"):
        if path.is_file() and path.name != MANIFEST and path.resolve() not in listed:
            rel = path.relative_to(root).as_posix()
            kind = "not an allowed data format" if path.suffix not in ALLOWED_SUFFIXES else "not in the manifest"
            problems.append(f"unexpected file {rel} ({kind})")
    if problems:
        more = f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""
        raise BundleError(f"{root}: {'; '.join(problems[:3])}{more}")


def _read_postings(root: Path) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(root / POSTINGS)
    except Exception as exc:
        raise BundleError(f"{POSTINGS}: unreadable ({' '.join(str(exc).split())})") from None
    missing = [c for c in POSTING_COLUMNS if c not in frame]
    if missing:
        raise BundleError(f"{POSTINGS} lacks column(s) {', '.join(missing)}")
    if frame["posting_id"].duplicated().any():
        raise BundleError(f"{POSTINGS}: duplicate posting_id values")
    for rel in frame["thumb"]:
        _safe_rel(root, rel)
    return frame


def check_bundle(root) -> Bundle:
    """Open with checksums, then load every array and check it against the postings."""
    b = Bundle.open(root, verify=True)
    n = len(b.postings)
    problems = []
    for model in b.models:
        mid = model["id"]
        try:
            emb = b.embeddings(mid)
            if emb is not None:
                _check_embeddings(emb, n, mid)
            for name in model["files"]:
                if name.startswith("neighbors"):
                    variant = "base" if name == "neighbors" else name.split("_", 1)[1]
                    for split in b.splits:
                        nb = b.neighbors(mid, split, variant)
                        # an imported predictions-only table is as wide as its largest predicted set
                        if nb.k != b.k and nb.k != min(b.k, nb.n) and not model.get("predictions_only"):
                            raise BundleError(f"{mid}: {name} has k={nb.k}, manifest says {b.k}")
            um = b.umap(mid)
            if um is not None and (um.shape != (n, 2) or not np.isfinite(um).all()):
                raise BundleError(f"{mid}: umap must be ({n}, 2) finite, got {um.shape}")
        except BundleError as exc:
            problems.append(str(exc))
        except Exception as exc:  # a malformed array must still give a one-line reason
            problems.append(f"{mid}: {type(exc).__name__}: {' '.join(str(exc).split())}")
    if problems:
        raise BundleError(f"{root}: {'; '.join(problems[:3])}" + (f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""))
    return b


def _check_embeddings(emb, n: int, mid: str) -> None:
    if emb.shape[0] != n:
        raise BundleError(f"{mid}: embeddings have {emb.shape[0]} rows, postings {n}")
    if sp.issparse(emb):
        data = emb.data
        norms = np.sqrt(np.asarray(emb.multiply(emb).sum(axis=1)).ravel())
    else:
        if emb.dtype != np.float16:
            raise BundleError(f"{mid}: embeddings must be float16, got {emb.dtype}")
        data = np.asarray(emb, dtype=np.float32)
        norms = np.linalg.norm(data, axis=1)
    if not np.isfinite(data).all():
        raise BundleError(f"{mid}: embeddings hold NaN or inf")
    bad = ~((np.abs(norms - 1) < 2e-2) | (norms == 0))
    if bad.any():
        raise BundleError(f"{mid}: {int(bad.sum())} embedding rows are not L2-normalised")
