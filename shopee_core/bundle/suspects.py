"""The label-noise finder's work, built into a bundle so that no server has to redo it.

Finding the suspects of a 70,000-posting pool reads every single model's table of it: a minute on
two cores and gigabytes of memory (README, *Review suspects at 70,000 postings*), once per server
process. Its results depend on nothing but the bundle (the labels it ships, its tables, the models'
validation F1), so the builder runs the finder once per labelled pool and ships what the Review page
and ``suspects`` show: ``suspects/<pool>.parquet`` (the ranked suspects with their evidence in words)
and ``suspects/<pool>.npz`` (every suspect's per-model table), listed in the manifest's ``suspects``
with the finder version, knobs and witnesses that made them. A page then holds a few MB per pool
where the finder holds every model's table, the pool's features and calibrations. A reader uses
them only when all three are the running code's (:func:`shopee_core.analysis.noise.finder_meta`);
otherwise the finder runs as before. A bundle built before this ships none: :func:`add_suspects`
(``suspects --store``) adds them in one edit.
"""

from __future__ import annotations

import copy
import logging
import time
from pathlib import Path

from ..analysis import noise
from ..analysis.reviews import default_path
from ..io import atomic_path, atomic_save_npz
from .edit import staged
from .format import BundleError
from .reader import Bundle
from .writer import reseal

log = logging.getLogger(__name__)

FOLDER = "suspects"


def _rels(pool: str) -> tuple[str, str]:
    return f"{FOLDER}/{pool}.parquet", f"{FOLDER}/{pool}.npz"


def write_suspects(root: Path, bundle: Bundle, progress: bool = False) -> tuple[dict | None, list[str]]:
    """Run the finder on every labelled pool of ``bundle`` (opened on ``root``) and write its results
    there. Returns the manifest's ``suspects`` entry (None when no pool has any: an unlabelled or
    witness-less bundle) and the files written."""
    pools, written = {}, []
    config = noise.SuspectConfig()
    for pool in bundle.splits:
        try:
            frame, tables, meta = noise.shipped_results(bundle, pool, config, progress=progress)
        except noise.NoiseError as exc:
            log.info("suspects: pool %s left out (%s)", pool, exc)
            continue
        frame_rel, tables_rel = _rels(pool)
        (root / FOLDER).mkdir(exist_ok=True)
        with atomic_path(root / frame_rel) as tmp:
            frame.to_parquet(tmp, index=False)
        atomic_save_npz(root / tables_rel, compress=True, tables=tables)
        written += [frame_rel, tables_rel]
        pools[pool] = {"suspects": frame_rel, "tables": tables_rel, "count": int(len(frame)),
                       "witnesses": meta["witnesses"]}
        log.info("suspects: pool %s, %d suspects shipped", pool, len(frame))
    if not pools:
        return None, written
    meta = noise.finder_meta([], config)
    return {"finder": meta["finder"], "config": meta["config"], "pools": pools}, written


def add_suspects(root, progress: bool = False) -> dict | None:
    """Find the suspects of the bundle at ``root`` and ship them in it (replacing any it ships), in one
    edit (:func:`~shopee_core.bundle.edit.staged`): a failed or refused run changes nothing. Note
    that the manifest changes, so a review file's verdicts on the bundle before no longer apply to
    it (as after any edit): refused while the bundle's review file holds any."""
    reviews = default_path(root)
    if reviews.is_file() and reviews.stat().st_size > 0:
        raise BundleError(f"{reviews} holds verdicts on this bundle: shipping suspects changes its manifest and they "
                          f"would no longer apply to it; finish or move the review first (the Review page finds the "
                          f"suspects itself meanwhile)")
    with staged(root) as stage:
        bundle = Bundle.open(root)  # read under the edit lock
        old = [rel for p in ((bundle.manifest.get("suspects") or {}).get("pools") or {}).values()
               for rel in (p["suspects"], p["tables"])]
        for rel in old:  # links in the staging copy: the bundle keeps its own until the swap
            (stage / rel).unlink(missing_ok=True)
        entry, written = write_suspects(stage, bundle, progress)
        manifest = copy.deepcopy(bundle.manifest)
        manifest.pop("suspects", None)
        if entry is not None:
            manifest["suspects"] = entry
        manifest.setdefault("edits", []).append({"command": "suspects --store", "pools": sorted((entry or {}).get(
            "pools", {})), "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        reseal(stage, manifest, added=written, dropped=old)
    return entry


def ship_suspects(root: Path, manifest: dict, progress: bool = False) -> dict:
    """The builder's last step before its swap: the sealed folder ``root`` gets its suspects and the
    manifest that lists them (returned)."""
    bundle = Bundle.open(root, verify=False)  # sealed a moment ago by this very build
    entry, written = write_suspects(root, bundle, progress)
    if entry is None:
        return manifest
    return reseal(root, {**manifest, "suspects": entry}, added=written)
