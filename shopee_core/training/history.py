"""How a run trained, epoch by epoch: JSON lines in the run folder and TensorBoard event files.

A run's ``metrics.json`` holds the history as one document the loop rewrites; users look at
training as curves, with the tools they already have. So every epoch also goes to

- ``history.jsonl``: one JSON object per finished epoch (``epoch`` is the 0-based index,
  as in ``metrics.json``): ``loss``, ``lrs`` (the LR of each parameter group at the start of the
  epoch, named as :func:`group_names` says), ``valid`` (F1 at the recipe's selection threshold,
  and the best F1 of a full scan with its T), ``items_per_s``, ``seconds`` and ``wall`` (Unix
  time at the end of the epoch), and ``selection``: whether the epoch could be kept, whether its
  checkpoint became ``best.safetensors`` when it finished, and the kept epoch so far. The file
  is rewritten whole (atomically) from the run's history each epoch, so a resumed run never
  holds an epoch twice.
- TensorBoard event files in the run folder itself (``tensorboard --logdir runs/`` shows each
  run folder as one run), global step = the 1-based epoch number; a resumed run purges the
  steps it re-does. Needs the ``tensorboard`` package; without it only the JSON lines are
  written (said once in the log).

:func:`read_history` reads either form back (``history.jsonl``, or the ``{"history": [...]}``
document a bundle stores) and refuses records that are not what this module writes.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

from ..errors import ShopeeError
from ..io import atomic_write_text

log = logging.getLogger(__name__)

HISTORY = "history.jsonl"
EVENTS_GLOB = "events.out.tfevents.*"
TAGS = {  # TensorBoard tag -> how to read it off a record
    "train/loss": lambda r: r["loss"],
    "valid/f1_at_selection_T": lambda r: r["valid"].get("f1"),
    "valid/f1_best_scan": lambda r: r["valid"].get("best_f1"),
    "valid/best_scan_T": lambda r: r["valid"].get("best_threshold"),
    "speed/items_per_s": lambda r: r.get("items_per_s"),
    "time/epoch_seconds": lambda r: r.get("seconds"),
    "checkpoint/kept_epoch": lambda r: None if r["selection"].get("best_epoch") is None
    else r["selection"]["best_epoch"] + 1,
}


def group_names(n: int) -> list[str]:
    """Names of the optimiser's parameter groups, in order (training.optim.param_groups: one
    group for the whole network, or the backbone then the neck + head at ``head_lr_mult``)."""
    if n == 1:
        return ["all"]
    if n == 2:
        return ["backbone", "head"]
    return [f"group{i}" for i in range(n)]


def selection_mark(epoch: int, eligible: bool, kept: bool, best_epoch) -> dict:
    """The checkpoint-selection decision recorded with an epoch."""
    return {"eligible": bool(eligible), "kept": bool(kept), "best_epoch": best_epoch}


class HistoryWriter:
    """Writes a run's history (main process only). ``start_epoch``: the first epoch this
    process trains (a resumed run's TensorBoard steps from there on are purged)."""

    def __init__(self, run_dir, start_epoch: int = 0):
        self.run_dir = Path(run_dir)
        self.start_epoch = int(start_epoch)
        self._tb = None
        self._tb_failed = False

    def _writer(self):
        if self._tb is None and not self._tb_failed:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:  # torch's writer needs the tensorboard package
                self._tb_failed = True
                log.warning("tensorboard is not installed: %s gets history.jsonl but no event files", self.run_dir)
                return None
            self._tb = SummaryWriter(log_dir=str(self.run_dir), purge_step=self.start_epoch + 1)
        return self._tb

    def write(self, history: list[dict], new: list[dict] | None = None) -> None:
        """Rewrite ``history.jsonl`` from ``history``; send ``new`` records (default: the last) to TensorBoard."""
        text = "".join(json.dumps(_clean(r), allow_nan=False) + "\n" for r in history)
        atomic_write_text(self.run_dir / HISTORY, text)
        tb = self._writer()
        if tb is None:
            return
        for r in (history[-1:] if new is None else new):
            step = int(r["epoch"]) + 1
            wall = r.get("wall")
            for tag, get in TAGS.items():
                value = get(r)
                if isinstance(value, (int, float)) and math.isfinite(value):
                    tb.add_scalar(tag, float(value), step, walltime=wall)
            for name, lr in zip(group_names(len(r.get("lrs") or [])), r.get("lrs") or []):
                tb.add_scalar(f"lr/{name}", float(lr), step, walltime=wall)
        tb.flush()

    def note(self, text: str, epoch: int) -> None:
        """A text entry (the final checkpoint decision) at the epoch's step."""
        tb = self._writer()
        if tb is not None:
            tb.add_text("checkpoint", text, int(epoch) + 1)
            tb.flush()

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
            self._tb = None


def _clean(record: dict) -> dict:
    """NaN (no validation split) is not JSON: written as null."""
    def fix(v):
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {k: fix(x) for k, x in v.items()}
        if isinstance(v, list):
            return [fix(x) for x in v]
        return v
    return fix(record)


# ----------------------------------------------------------------------------- reading

def _number(v, what: str, nullable: bool = True) -> None:
    if v is None and nullable:
        return
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ShopeeError(f"{what} must be a finite number, not {v!r}")


def check_records(records, where: str) -> list[dict]:
    """``records`` as a list of epoch records, or a one-line ShopeeError naming what is wrong."""
    if not isinstance(records, list) or not records:
        raise ShopeeError(f"{where}: a history must be a non-empty list of epoch records")
    seen = set()
    for i, r in enumerate(records):
        at = f"{where}: record {i + 1}"
        if not isinstance(r, dict):
            raise ShopeeError(f"{at} is not an object")
        epoch = r.get("epoch")
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0 or epoch in seen:
            raise ShopeeError(f"{at}: epoch must be a new integer >= 0, not {epoch!r}")
        seen.add(epoch)
        _number(r.get("loss"), f"{at}: loss", nullable=False)
        for key in ("items_per_s", "seconds", "wall", "lr"):
            _number(r.get(key), f"{at}: {key}")
        lrs = r.get("lrs", [])
        if not isinstance(lrs, list):
            raise ShopeeError(f"{at}: lrs must be a list")
        for lr in lrs:
            _number(lr, f"{at}: lrs", nullable=False)
        valid = r.get("valid", {})
        if not isinstance(valid, dict):
            raise ShopeeError(f"{at}: valid must be an object")
        for key in ("f1", "best_f1", "best_threshold"):
            _number(valid.get(key), f"{at}: valid.{key}")
        t = valid.get("threshold")
        if t is not None and t != "scan":
            _number(t, f"{at}: valid.threshold")
        sel = r.get("selection", {})
        if not isinstance(sel, dict):
            raise ShopeeError(f"{at}: selection must be an object")
        best = sel.get("best_epoch")
        if best is not None and (isinstance(best, bool) or not isinstance(best, int) or best < 0):
            raise ShopeeError(f"{at}: selection.best_epoch must be an epoch index or null")
    return records


def read_history(path) -> list[dict]:
    """The epoch records of a run folder (its ``history.jsonl``), a ``history.jsonl`` file or a
    ``{"history": [...]}`` JSON document (what a bundle ships), checked."""
    path = Path(path)
    if path.is_dir():
        path = path / HISTORY
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ShopeeError(f"{path}: no training history (runs record it from this version on)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ShopeeError(f"{path}: unreadable history ({' '.join(str(exc).split())})") from None
    try:
        if path.suffix == ".jsonl":
            records = [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            doc = json.loads(text)
            records = doc.get("history") if isinstance(doc, dict) else None
    except json.JSONDecodeError as exc:
        raise ShopeeError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None
    return check_records(records, str(path))


def run_history(run_dir) -> dict:
    """A finished run's history as a bundle ships it: ``{"history", "best", "selection"}``.

    Runs trained before ``history.jsonl`` existed have only ``metrics.json``; their records get
    the checkpoint decision from its ``best`` (the kept epoch; no per-epoch LR of each group)."""
    run = Path(run_dir)
    try:
        metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        metrics = {}
    best, rule = metrics.get("best") or {}, metrics.get("selection")
    if (run / HISTORY).is_file():
        records = read_history(run)
    else:
        records = [_clean(dict(r)) for r in metrics.get("history") or []]
        kept = best.get("epoch")
        for r in records:
            r.setdefault("selection", {"eligible": None, "kept": r.get("epoch") == kept, "best_epoch": kept})
        records = check_records(records, str(run / "metrics.json"))
    return {"history": records, "best": _clean(best), "selection": rule}


def kept_epoch(records: list[dict]):
    """The epoch whose checkpoint the run kept: the last record's decision."""
    return records[-1].get("selection", {}).get("best_epoch") if records else None
