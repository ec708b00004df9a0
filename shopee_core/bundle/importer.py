"""Models made elsewhere, into a bundle: embeddings or predicted sets; and removing a model.

Embeddings (``.npy`` with an ids file, a ``.csv`` / ``.parquet`` with a ``posting_id``
column, a seed-style CSV of numbers only with ``--split``, or a scipy ``.npz`` CSR matrix)
become a model like a built one (:func:`~shopee_core.bundle.builder.table_model`: kNN
within each split, T and Min2 searched on validation, INB, metrics, map), so it fuses and
unites with the others on the Thresholds page.

Predicted sets (a Kaggle submission, ``posting_id,matches``) have no geometry, so they are
stored as a neighbour table the one decision layer already reads: every predicted member
(self included) at similarity 1, padding candidates (other rows of the split, never
predicted) at similarity −1, and the fixed threshold T = 0.5 without Min2; the manifest
marks the model ``predictions_only`` so pages offer no thresholds, INB or map for it.

Every input problem is refused with one line before anything is written, and the bundle
changes only through :func:`~shopee_core.bundle.edit.staged` (a verified copy swapped in
whole), so a refused or interrupted import leaves it byte for byte as it was. An import or
removal holds the bundle's lock (:func:`~shopee_core.bundle.edit.bundle_lock`) from reading
the manifest to the swap: concurrent edits queue, each staged from the state the one before
left, so none is lost.
"""

from __future__ import annotations

import copy
import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .. import faults
from .. import matching as M
from ..data.kaggle import read_postings_csv
from ..errors import DataError, EmbeddingError, ShopeeError, examples
from ..io import load_matrix
from ..matching import Decision, Embeddings, Neighbors, Pool, model_source
from ..matching.embeddings import row_norms
from ..models.embedders import to_storage
from .edit import bundle_lock, staged
from .entry import ModelEntry
from .format import FAMILIES, model_dir, storage_dtype
from .reader import Bundle
from .tables import score_variants, shown_pools, table_model, write_tables
from .writer import seal, sha256, write_rows

MODEL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,79}")
EMBEDDING_SUFFIXES = (".npy", ".npz", ".csv", ".parquet")
FIXED_T = 0.5  # predicted members sit at distance 0, padding at 2: any T in (0, 2] gives the same sets


class ImportRefused(ShopeeError):
    """An import or removal that would leave the bundle wrong, with the reason in one line."""


log = logging.getLogger(__name__)


def _file_info(path: Path) -> dict:
    return {"name": path.name, "sha256": sha256(path), "bytes": path.stat().st_size}


# --------------------------------------------------------------------------- reading embeddings
@dataclass
class Part:
    """One embedding file: its rows and the posting id of each."""

    path: Path
    matrix: object                   # float32 ndarray or CSR
    ids: np.ndarray | None = None    # str; None until an ids file or a split names them
    how: str = ""                    # where the ids came from
    info: dict = field(default_factory=dict)


def _numeric_frame(frame: pd.DataFrame, path: Path) -> tuple[object, np.ndarray | None]:
    """(matrix, ids or None) from a table of numbers with an optional ``posting_id`` column."""
    frame = frame.copy()
    frame.columns = [str(c) for c in frame.columns]
    ids = None
    if "posting_id" in frame:
        ids = frame.pop("posting_id").astype(str).str.strip().to_numpy()
    first = frame.columns[0] if len(frame.columns) else None
    if first is not None and (first == "" or first.startswith("Unnamed: ")):
        col = pd.to_numeric(frame[first], errors="coerce")
        if col.notna().all() and (col.to_numpy() == np.arange(len(frame))).all():
            frame = frame.drop(columns=[first])  # a pandas index written with to_csv()
    if frame.shape[1] == 0:
        raise EmbeddingError(f"{path}: no numeric columns besides posting_id")
    bad = [c for c in frame.columns
           if not pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c])]
    if bad:
        c = bad[0]
        value = frame[c].iloc[0] if len(frame) else ""
        raise EmbeddingError(f"{path}: column {c!r} is not numeric (first value {str(value)[:40]!r}); an embedding "
                             f"table holds posting_id and numbers only" + (f" ({len(bad)} such columns)"
                                                                          if len(bad) > 1 else ""))
    return frame.to_numpy(dtype=np.float32), ids


def _headerless(columns) -> bool:
    """True when a CSV's 'header' is really its first row of numbers (np.savetxt output)."""
    names = [str(c) for c in columns if not str(c).startswith("Unnamed: ")]
    if not names or names == [str(i) for i in range(len(names))]:
        return False
    try:
        [float(c) for c in names]
    except ValueError:
        return False
    return True


def _read_csv(path: Path) -> pd.DataFrame:
    def read(header):
        return pd.read_csv(path, encoding="utf-8-sig", header=header, low_memory=False)
    try:
        frame = read("infer")
        if _headerless(frame.columns):
            frame = read(None)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: empty file") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataError(f"{path}: cannot parse as CSV ({' '.join(str(exc).split())[:200]})") from None
    if len(frame) == 0:
        raise DataError(f"{path}: header only, no rows")
    return frame


def read_embedding_file(path) -> Part:
    """One file's rows (never unpickling) and, for a table with a ``posting_id`` column, its ids.

    NaN/inf and all-zero rows are refused by :meth:`Embeddings.from_array`, naming the
    first bad row of the file."""
    path = Path(path)
    if not path.is_file():
        raise EmbeddingError(f"{path}: no such file")
    suffix = path.suffix.lower()
    ids = None
    if suffix in (".npy", ".npz"):
        matrix = load_matrix(path)  # np.load(allow_pickle=False); scipy's CSR format for .npz
        if not sp.issparse(matrix):
            if matrix.dtype.names is not None:
                raise EmbeddingError(f"{path}: a structured array; save a plain 2-D float array")
            if matrix.ndim != 2:
                raise EmbeddingError(f"{path}: expected a 2-D array (one row per posting), got shape {matrix.shape}")
    elif suffix == ".csv":
        matrix, ids = _numeric_frame(_read_csv(path), path)
    elif suffix == ".parquet":
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:
            raise DataError(f"{path}: unreadable parquet ({' '.join(str(exc).split())[:200]})") from None
        if len(frame) == 0:
            raise DataError(f"{path}: no rows")
        matrix, ids = _numeric_frame(frame, path)
    else:
        raise EmbeddingError(f"{path}: unsupported embedding file ({suffix or 'no extension'}); "
                             f"use {', '.join(EMBEDDING_SUFFIXES)}")
    Embeddings.from_array(matrix, name=str(path))  # NaN/inf, all-zero rows, non-float dtype
    matrix = sp.csr_matrix(matrix, dtype=np.float32) if sp.issparse(matrix) else np.asarray(matrix, np.float32)
    info = {**_file_info(path), "rows": int(matrix.shape[0]), "dim": int(matrix.shape[1])}
    return Part(path, matrix, ids, "posting_id column" if ids is not None else "", info)


def read_ids(path) -> np.ndarray:
    """Posting ids, one per row: a text file of one id per line, or a CSV with a posting_id column."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise DataError(f"{path}: empty ids file")
    if "posting_id" in [c.strip().strip('"') for c in lines[0].split(",")]:
        frame, _ = read_postings_csv(path, require_labels=False, required=("posting_id",))
        return frame["posting_id"].to_numpy(dtype=str)
    ids = [line.strip().strip('"') for line in lines]
    blank = [i + 1 for i, x in enumerate(ids) if not x]
    if blank:
        raise DataError(f"{path}: empty line(s) {examples(blank, 3)}: one posting_id per line, in the embedding's order")
    if any("," in x for x in ids):
        raise DataError(f"{path}: several columns but no posting_id header; give one id per line or a CSV with a "
                        f"posting_id column")
    return np.asarray(ids, dtype=str)


def _posting_index(bundle: Bundle) -> pd.Index:
    return pd.Index(bundle.postings["posting_id"].astype(str).to_numpy())


def _place(bundle: Bundle, ids: np.ndarray, where: list[str], ignore_extra: bool,
           what: str) -> tuple[np.ndarray, np.ndarray]:
    """Bundle rows of ``ids`` and which entries are used; refuses duplicates, unknown ids (unless
    ``ignore_extra``) and any bundle posting left without a row. ``where[i]``: names id i's source,
    ``what``: the files."""
    ids = np.asarray(ids, dtype=str)
    seen = pd.Series(ids)
    dup = seen[seen.duplicated(keep=False)]
    if len(dup):
        first = dup.iloc[0]
        at = [where[i] for i in np.flatnonzero(ids == first)[:2]]
        raise ImportRefused(f"{what}: {dup.nunique()} posting_id(s) occur more than once, e.g. {first} ({' and '.join(at)}); "
                            f"every posting needs exactly one row")
    rows = _posting_index(bundle).get_indexer(ids)
    extra = rows < 0
    if extra.any():
        if not ignore_extra:
            raise ImportRefused(
                f"{what}: {int(extra.sum()):,} of {len(ids):,} posting_id(s) are not in the bundle, e.g. "
                f"{examples(ids[extra], 3)}; a file covering more postings than the bundle (e.g. all of train.csv) "
                f"needs --ignore-extra-ids")
        log.warning(f"{int(extra.sum()):,} posting_id(s) not in the bundle ignored (--ignore-extra-ids)")
    covered = np.zeros(len(bundle.postings), dtype=bool)
    covered[rows[~extra]] = True
    if not covered.all():
        missing = np.flatnonzero(~covered)
        splits = bundle.postings["split"].to_numpy()[missing]
        per = ", ".join(f"{s} {n:,}" for s, n in pd.Series(splits).value_counts(sort=False).items())
        raise ImportRefused(f"{what}: {len(missing):,} of the bundle's {len(covered):,} postings have no row ({per}), e.g. "
                            f"{examples(bundle.postings['posting_id'].to_numpy()[missing], 3)}; every shown posting "
                            f"(splits {', '.join(bundle.splits)}) must be present once")
    return rows, ~extra


def read_embeddings(bundle: Bundle, files, ids=(), splits=(), ignore_extra: bool = False) -> tuple[object, list]:
    """Every file's rows put in the bundle's posting order, with each file's provenance.

    Files without a ``posting_id`` column get their ids from ``ids`` (one ids file per
    embedding file, same order) or ``splits`` (rows in the bundle's order of that split:
    the seed's ``*_valid_embed.csv`` / ``*_test_embed.csv``)."""
    files, ids, splits = list(files), list(ids or ()), list(splits or ())
    if not files:
        raise ImportRefused("no embedding file given")
    if ids and splits:
        raise ImportRefused("give --ids or --split, not both")
    named = ids or splits
    if named and len(named) != len(files):
        raise ImportRefused(f"{len(files)} --embeddings file(s) but {len(named)} --{'ids' if ids else 'split'}: give "
                            f"one per file, in the same order")
    parts = [read_embedding_file(f) for f in files]
    for i, part in enumerate(parts):
        if part.ids is not None and named:
            raise ImportRefused(f"{part.path}: has its own posting_id column; drop --ids / --split")
        if part.ids is None and not named:
            raise ImportRefused(f"{part.path}: no posting_id column; name its rows with --ids FILE (one id per row) "
                                f"or --split NAME (rows in the bundle's order of that split)")
        if ids:
            part.ids = read_ids(ids[i])
            part.how = f"ids from {Path(ids[i]).name}"
            part.info["ids"] = _file_info(Path(ids[i]))
        elif splits:
            s = splits[i]
            if s not in bundle.splits:
                raise ImportRefused(f"--split {s}: the bundle has splits {', '.join(bundle.splits)}")
            part.ids = bundle.postings["posting_id"].astype(str).to_numpy()[bundle.split_rows(s)]
            part.how = f"rows in the bundle's order of the {s} split"
            part.info["split"] = s
        if len(part.ids) != part.matrix.shape[0]:
            what = f"the bundle's {splits[i]} split has" if splits else f"{part.how.removeprefix('ids from ')} names"
            raise ImportRefused(f"{part.path}: {part.matrix.shape[0]:,} rows, but {what} {len(part.ids):,} "
                                f"posting{'s' if len(part.ids) != 1 else ''}")
    dims = {p.matrix.shape[1] for p in parts}
    if len(dims) > 1:
        raise ImportRefused(f"embedding files of different widths: {', '.join(f'{p.path.name} {p.matrix.shape[1]}' for p in parts)}")
    where = [f"{p.path.name} row {r + 1}" for p in parts for r in range(len(p.ids))]
    all_ids = np.concatenate([p.ids for p in parts])
    rows, used = _place(bundle, all_ids, where, ignore_extra, " + ".join(
        str(p.path) + (f" ({p.how})" if p.how.startswith("ids") else "") for p in parts))
    order = np.empty(len(bundle.postings), dtype=np.int64)
    order[rows[used]] = np.flatnonzero(used)
    if any(sp.issparse(p.matrix) for p in parts):
        stacked = sp.vstack([sp.csr_matrix(p.matrix) for p in parts], format="csr")
    else:
        stacked = np.concatenate([p.matrix for p in parts], axis=0)
    ends = np.cumsum([len(p.ids) for p in parts])
    infos = [{**p.info, "ids_from": p.how, "ignored_rows": int((~used[end - len(p.ids):end]).sum())}
             for p, end in zip(parts, ends)]
    return stacked[order], infos


# --------------------------------------------------------------------------- reading predictions
def read_predictions(bundle: Bundle, path, ignore_extra: bool = False) -> tuple[dict, dict]:
    """Per split, each posting's predicted set as split-local rows (self first), and provenance.

    Kaggle's format lists the posting itself among its matches; a row that does not is
    taken to mean it too (self is always predicted) and it is added, with a note."""
    path = Path(path)
    frame, _ = read_postings_csv(path, require_labels=False, required=("posting_id", "matches"))
    ids = frame["posting_id"].to_numpy(dtype=str)
    rows, used = _place(bundle, ids, [f"{path.name} line {i + 2}" for i in range(len(ids))], ignore_extra, str(path))
    index = _posting_index(bundle)
    split_of = bundle.postings["split"].to_numpy()
    local = np.empty(len(bundle.postings), dtype=np.int64)
    for s in bundle.splits:
        local[bundle.split_rows(s)] = np.arange(len(bundle.split_rows(s)))
    sets = {s: [None] * len(bundle.split_rows(s)) for s in bundle.splits}
    no_self = dupes = 0
    for i in np.flatnonzero(used):
        r = int(rows[i])
        names = str(frame["matches"].iat[i]).split()
        found = index.get_indexer(names) if names else np.zeros(0, dtype=np.int64)
        if (found < 0).any():
            bad = [n for n, f in zip(names, found) if f < 0]
            raise ImportRefused(f"{path}: the matches of {ids[i]} (line {i + 2}) name {len(bad)} posting_id(s) not in "
                                f"the bundle, e.g. {examples(bad, 3)}; predictions must be made within each shown "
                                f"split ({', '.join(bundle.splits)}) of this bundle")
        other = found[split_of[found] != split_of[r]]
        if len(other):
            raise ImportRefused(f"{path}: {ids[i]} ({split_of[r]}) is matched with {index[other[0]]} "
                                f"({split_of[other[0]]}); retrieval is within one split, so predictions across "
                                f"splits are refused")
        uniq = list(dict.fromkeys(found.tolist()))
        dupes += len(found) - len(uniq)
        if r not in uniq:
            no_self += 1
        members = [r] + [x for x in uniq if x != r]
        sets[split_of[r]][local[r]] = np.asarray([local[x] for x in members], dtype=np.int64)
    if no_self:
        log.warning(f"{no_self:,} row(s) do not list the posting itself among its matches; it is added (self is always "
              f"predicted, as in Kaggle's format)")
    if dupes:
        log.warning(f"{dupes:,} repeated match(es) counted once")
    info = {**_file_info(path), "rows": int(len(ids)), "ignored_rows": int((~used).sum()), "self_added": no_self,
            "format": "posting_id,matches (space-separated, self included; added where missing)"}
    return sets, info


def fixed_table(sets: list) -> Neighbors:
    """A neighbour table whose T = 0.5 prediction is exactly ``sets`` (each self first): members
    at similarity 1, padding at −1 with distinct other rows of the pool (never predicted)."""
    n = len(sets)
    width = max(len(x) for x in sets)
    idx = np.empty((n, width), dtype=np.int32)
    sim = np.full((n, width), -1.0, dtype=np.float32)
    for i, members in enumerate(sets):
        m = len(members)
        idx[i, :m] = members
        sim[i, :m] = 1.0
        if m < width:
            taken = set(members.tolist())
            idx[i, m:] = [j for j in range(width + m) if j not in taken][:width - m]
    return Neighbors(idx, sim)


# --------------------------------------------------------------------------- the bundle edit
def dependents(manifest: dict, model_id: str) -> list[str]:
    """Models whose stored tables and metrics were made from ``model_id`` (members, INB base, union sides)."""
    out = []
    for m in manifest["models"]:
        spec, th = m.get("spec") or {}, m.get("thresholds") or {}
        if m["id"] != model_id and (model_id in (spec.get("members") or []) or spec.get("of") == model_id
                                    or any(s.get("model") == model_id for s in th.get("sides") or [])):
            out.append(m["id"])
    return out


def _check_target(bundle: Bundle, model_id: str, label: str, family: str, replace: bool) -> None:
    if not isinstance(model_id, str) or not MODEL_ID.fullmatch(model_id):
        raise ImportRefused(f"model id {model_id!r}: use letters, digits, '_', '-' or '.' (at most 80, starting with "
                            f"a letter or digit)")
    if not str(label or "").strip():
        raise ImportRefused("--label must say what the model is")
    if family not in FAMILIES:
        raise ImportRefused(f"--family must be one of {', '.join(FAMILIES)}, got {family!r}")
    if any(m["id"] == model_id for m in bundle.models):
        if not replace:
            raise ImportRefused(f"bundle {bundle.name} already has a model {model_id!r}; give --replace to replace it")
        users = dependents(bundle.manifest, model_id)
        if users:
            raise ImportRefused(f"{model_id} is part of {', '.join(users)}; their stored tables and metrics come from "
                                f"the current {model_id}: remove them first")
    if not bundle.has_labels:
        raise ImportRefused(f"bundle {bundle.name} has postings without label_group: imports are tuned and scored "
                            f"against labels")
    if "valid" not in bundle.splits:
        raise ImportRefused(f"bundle {bundle.name} has no valid split to tune thresholds on")


def _labels(bundle: Bundle) -> dict:
    return {s: np.asarray(bundle.labels(s), dtype=np.int64) for s in bundle.splits}


def _split_rows(bundle: Bundle) -> dict:
    return {s: np.asarray(bundle.split_rows(s)) for s in bundle.splits}


def _commit(root: Path, bundle: Bundle, entry: dict, write, drop=()) -> ModelEntry:
    """Write the model's files in a staged copy (``write(stage) -> files``), put ``entry`` in the
    manifest where the old model of that id was (or last), seal, verify, swap in."""
    manifest = copy.deepcopy(bundle.manifest)
    with staged(root, drop) as stage:
        entry["files"] = write(stage)
        faults.step("edit:written")
        models = manifest["models"]
        at = next((i for i, m in enumerate(models) if m["id"] == entry["id"]), None)
        if at is None:
            models.append(entry)
        else:
            models[at] = entry
        manifest.setdefault("edits", []).append({"command": "import-model", "model": entry["id"],
                                                 "replaced": at is not None, "at": _now()})
        manifest = seal(stage, manifest)
    return ModelEntry.from_manifest(next(m for m in manifest["models"] if m["id"] == entry["id"]), root)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _old_files(bundle: Bundle, model_id: str) -> list[str]:
    if not any(m["id"] == model_id for m in bundle.models):
        return []
    return [f["path"] for f in bundle.model(model_id)["files"].values()]


def import_model(root, model_id: str, label: str, family: str, *, embeddings=(), ids=(), splits=(),
                 predictions=None, replace: bool = False, ignore_extra_ids: bool = False, inb_iters: int = 1,
                 search: str = "full", umap: bool = True, wait: bool = True, graph=None) -> ModelEntry:
    """Add (or with ``replace`` swap in) a model made elsewhere; returns its entry.

    ``wait``: False refuses at once while another edit of the bundle runs (else it queues).
    ``graph``: none, auto or a step, tuned on valid as the builder does (:func:`tables.graph_variant`);
    None: the bundle's own (what its build used, ``manifest["graph"]``; none for older bundles)."""
    try:
        given = None if graph is None else M.graph_mode(graph)
    except ShopeeError as exc:
        raise ImportRefused(str(exc)) from None
    if predictions and given not in (None, "none"):
        raise ImportRefused("a graph step needs the pairs' similarities; an imported predictions CSV has only its "
                            "sets (import embeddings, or drop --graph)")
    with bundle_lock(root, wait=wait):
        return _import_model(Path(root), model_id, label, family, embeddings, ids, splits, predictions, replace,
                             ignore_extra_ids, inb_iters, search, umap, given)


def _import_model(root: Path, model_id, label, family, embeddings, ids, splits, predictions, replace,
                  ignore_extra_ids, inb_iters, search, umap, given) -> ModelEntry:
    bundle = Bundle.open(root)
    graph = M.graph_mode(bundle.manifest.get("graph", "none")) if given is None else given
    _check_target(bundle, model_id, label, family, replace)
    if bool(embeddings) == bool(predictions):
        raise ImportRefused("give exactly one source: --embeddings FILE (repeatable) or --predictions CSV")
    entry = {"id": model_id, "label": str(label).strip(), "family": family, "recipe": None, "kind": "external",
             "source": "external", "query": False}
    drop = _old_files(bundle, model_id)
    if predictions:
        if ids or splits:
            raise ImportRefused("--ids / --split name embedding rows; a predictions CSV names its postings itself")
        sets, info = read_predictions(bundle, predictions, ignore_extra_ids)
        rows = _split_rows(bundle)
        labels = _labels(bundle)
        pools = {s: Pool(labels[s], k=bundle.k, tables={(model_id, "base"): fixed_table(sets[s])}, name=s)
                 for s in bundle.splits}
        d = Decision.single(model_source(model_id), FIXED_T, name=model_id)
        entry.update(predictions_only=True,
                     spec={"source": "external", "embedding": "predicted sets", "dim": None, "trained": None,
                           "loss": None, "epochs": 0},
                     thresholds={"t": FIXED_T, "t2": None, "inb_t": None, "inb_t2": None, "inb_iters": 0,
                                 "fixed": "the imported sets: members at similarity 1, padding at -1"},
                     imported={"from": "predictions", "files": [info]})
        metrics, row_counts = score_variants(pools, bundle.splits, {"base": d})
        entry["metrics"] = metrics

        def write(stage):
            return {"neighbors": write_tables(rows, pools, stage, f"{model_dir(model_id)}/neighbors.npz",
                                              d.sides[0].source, storage_dtype(bundle.manifest)),
                    "rows": write_rows(stage, f"{model_dir(model_id)}/rows.npz", row_counts)}
        return _commit(root, bundle, entry, write, drop)

    if search not in ("seed", *M.SEARCHES):
        raise ImportRefused(f"--search must be seed or one of {', '.join(M.SEARCHES)}, got {search!r}")
    if not 0 <= int(inb_iters) <= M.MAX_INB_ITERS:
        raise ImportRefused(f"--inb-iters must be 0-{M.MAX_INB_ITERS}, got {inb_iters}")
    matrix, infos = read_embeddings(bundle, embeddings, ids, splits, ignore_extra_ids)
    srch = "seed_single" if search == "seed" else search
    if sp.issparse(matrix):
        storage, norms = M.l2_normalise(matrix), None
    else:
        storage, norms = to_storage(matrix), row_norms(matrix)
    entry.update(spec={"source": "external", "embedding": "sparse" if sp.issparse(matrix) else "dense",
                       "dim": int(matrix.shape[1]), "trained": None, "loss": None, "epochs": 0},
                 imported={"from": "embeddings", "files": infos, "dim": int(matrix.shape[1])})

    def write(stage):  # tuned and scored on float32 rows; written in the bundle's storage dtype
        pools = shown_pools(_labels(bundle), _split_rows(bundle), {model_id: storage}, {model_id: norms}, bundle.k)
        _, thresholds, metrics, files = table_model(pools, _split_rows(bundle), stage, model_id, search=srch,
                                                    inb_iters=int(inb_iters), storage=storage, norms=norms, umap=umap,
                                                    dtype=storage_dtype(bundle.manifest), graph=graph)
        entry.update(thresholds=thresholds, metrics=metrics)
        return files
    return _commit(root, bundle, entry, write, drop)


def remove_model(root, model_id: str, wait: bool = True) -> list[str]:
    """Drop a model and its files; refused while other models are made from it. Returns the ids left."""
    with bundle_lock(root, wait=wait):
        return _remove_model(Path(root), model_id)


def _remove_model(root: Path, model_id: str) -> list[str]:
    bundle = Bundle.open(root)
    bundle.model(model_id)  # a one-line error for an unknown id
    users = dependents(bundle.manifest, model_id)
    if users:
        raise ImportRefused(f"{model_id} is part of {', '.join(users)} (a fusion, union or INB entry made from it): "
                            f"remove {'it' if len(users) == 1 else 'them'} first")
    manifest = copy.deepcopy(bundle.manifest)
    manifest["models"] = [m for m in manifest["models"] if m["id"] != model_id]
    manifest.setdefault("edits", []).append({"command": "remove-model", "model": model_id, "at": _now()})
    with staged(root, _old_files(bundle, model_id)) as stage:
        seal(stage, manifest)
    return [m["id"] for m in manifest["models"]]
