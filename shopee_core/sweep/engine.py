"""Running a sweep: one Optuna study per sweep folder, any number of workers pulling configurations.

Layout of ``--out DIR``: ``sweep.json`` (model, profile, base overrides, grid: what makes the
folder this sweep's), ``study.db`` (the default storage, SQLite), ``runs/<config>/`` (a normal
``train`` run folder plus ``score.json``, its neighbour tables in ``scored/`` and
``attempts.jsonl``, one line per process that took it up), ``features/`` (a frozen recipe's
pooled backbone features, shared by the configurations) and ``results.csv`` / ``results.json``.

The engine is Optuna's: a :class:`~optuna.samplers.GridSampler` over the configurations' names on
an RDB storage (``--storage``: a SQLite file by default, a database server URL when several
machines join). The grid sampler hands grid point *n* to trial number *n*, and the storage numbers
trials atomically, so workers starting together never draw the same configuration. What Optuna
does not do for a grid, this module adds around it:

- resume: a configuration with a COMPLETE trial is skipped; one whose trial failed (Ctrl-C,
  SIGTERM: Optuna marks it FAIL) or whose worker died (a RUNNING trial whose process, on this
  host, is gone; on another host, whose heartbeat went stale) is queued again
  (``enqueue_trial``) and its run folder continues with ``train --resume``;
- a claim check: after a trial has drawn its configuration, any other live or finished trial of
  the same configuration makes it step back (PRUNED) — a run folder is never trained by two
  processes; a file lock on the run folder guards the same on one machine.

Each trial's value is the validation F1 with Min2 (the decision the recipe would be tuned for);
the full score goes to the trial's user attributes, so ``results.json`` is written from the
storage and any worker, on any machine, can write the whole table.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import random
import socket
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from ..analysis.sweeps import check_sweep, read_sweep, result_row, results_frame
from ..errors import ShopeeError
from ..io import append_jsonl, atomic_write_json, atomic_write_people_csv
from ..models import get, with_overrides
from ..models.registry import ModelEntry
from .grid import Axis, Config, configs, parse_grid
from .score import score_run

log = logging.getLogger(__name__)

SWEEP_JSON, RUNS, DB, SCORE, ATTEMPTS = "sweep.json", "runs", "study.db", "score.json", "attempts.jsonl"
RESULTS_JSON, RESULTS_CSV = "results.json", "results.csv"
HEARTBEAT_S, GRACE_S = 60, 300


@dataclass
class Sweep:
    """What one sweep folder is: the recipe (base overrides applied), the grid and where it lives."""
    entry: ModelEntry
    base: dict
    axes: list[Axis]
    configs: list[Config]
    out: Path
    data: Path
    storage: str | None = None     # None: sqlite:///<out>/study.db
    features: Path | None = None   # None: <out>/features
    meta: dict = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.configs]

    @property
    def storage_url(self) -> str:
        return self.storage or f"sqlite:///{(self.out / DB).resolve()}"

    @property
    def study_name(self) -> str:
        key = json.dumps({k: self.meta[k] for k in ("model", "profile", "overrides", "axes")}, sort_keys=True)
        return f"sweep-{self.entry.id}-{self.entry.profile}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"

    def run_dir(self, name: str) -> Path:
        return self.out / RUNS / name

    def config(self, name: str) -> Config:
        return next(c for c in self.configs if c.name == name)

    def entry_of(self, name: str) -> ModelEntry:
        return with_overrides(self.entry, self.config(name).overrides)


def prepare(model: str, profile: str, data, out, grid, overrides: dict | None = None, storage: str | None = None,
            features=None) -> Sweep:
    """Check everything a sweep needs before any training, and claim (or recognise) its folder."""
    base_entry = get(model, profile)
    if not base_entry.trainable:
        raise ShopeeError(f"model {model!r} is {base_entry.kind}: nothing to train, so nothing to sweep")
    overrides = dict(overrides or {})
    axes = parse_grid(grid)
    cfgs = configs(base_entry, axes, overrides)
    entry = with_overrides(base_entry, overrides)
    data = Path(data)
    if not (data / "train.csv").is_file():
        raise ShopeeError(f"{data}: no train.csv (a sweep trains on a labelled Kaggle-layout folder)")
    out = Path(out)
    meta = {"model": model, "profile": profile, "family": entry.family, "overrides": overrides,
            "axes": [a.as_dict() for a in axes], "configs": [c.name for c in cfgs], "data": str(data.resolve())}
    path = out / SWEEP_JSON
    if path.exists():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ShopeeError(f"{path}: unreadable ({' '.join(str(exc).split())})") from None
        if not isinstance(old, dict) or (old.get("model"), old.get("profile")) != (model, profile):
            what = f"{old.get('model')} ({old.get('profile')})" if isinstance(old, dict) else "something else"
            raise ShopeeError(f"{out} holds a sweep of {what}, not {model} ({profile}); choose another --out")
        for key, flag in (("axes", "--grid"), ("overrides", "--set/--config"), ("data", "--data")):
            if old.get(key) != meta[key]:
                raise ShopeeError(f"{out} holds a sweep with other {flag} ({json.dumps(old.get(key))[:200]}); "
                                  f"resume it with the same arguments or choose another --out")
    else:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_json(path, meta)
    return Sweep(entry, overrides, axes, cfgs, out, data, storage, Path(features) if features else None, meta)


# --------------------------------------------------------------------------- the study
def _optuna():
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    return optuna


@contextlib.contextmanager
def _setup_lock(folder: Path):
    """Workers starting together on a fresh storage would each create its tables and the study;
    on one machine they take turns (a database server serialises the rest, and a loser retries)."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / ".study.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def open_study(sw: Sweep, heartbeat: int = HEARTBEAT_S, grace: int = GRACE_S, tries: int = 3):
    optuna = _optuna()
    url = sw.storage_url
    kwargs = {"connect_args": {"timeout": 120}} if url.startswith("sqlite") else {}
    sampler = _grid_sampler(optuna, sw.names)
    for attempt in range(tries):
        try:
            with _setup_lock(sw.out):
                storage = optuna.storages.RDBStorage(url, engine_kwargs=kwargs, heartbeat_interval=heartbeat,
                                                     grace_period=grace)
                study = optuna.create_study(study_name=sw.study_name, storage=storage, sampler=sampler,
                                            direction="maximize", load_if_exists=True)
                if study.user_attrs.get("sweep") is None:
                    study.set_user_attr("sweep", sw.meta)
                return study
        except Exception as exc:  # a bad URL, a missing driver, an unreachable server, a setup race elsewhere
            if attempt == tries - 1:
                raise ShopeeError(f"--storage {url.split('@')[-1]}: cannot open "
                                  f"({' '.join(str(exc).split())[:300]})") from None
            time.sleep(random.uniform(0.5, 2.0))


HOST = socket.gethostname()


def _grid_sampler(optuna, names):
    """Optuna's grid sampler that also stamps each new trial with its worker (host, pid) the moment
    the trial exists, so a worker killed at any point afterwards is recognised as gone."""
    class GridWithWorker(optuna.samplers.GridSampler):
        def before_trial(self, study, trial):
            study._storage.set_trial_user_attr(trial._trial_id, "worker", {"host": HOST, "pid": os.getpid()})
            super().before_trial(study, trial)

    return GridWithWorker({"config": names}, seed=0)


def _pid_alive(pid) -> bool:
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError, TypeError):
        return True
    return True


def _alive(t) -> bool:
    """Is a RUNNING trial's worker still there? (on this host: its process; elsewhere: Optuna's
    heartbeat, whose stale trials fail_stale_trials has already failed)."""
    who = t.user_attrs.get("worker") or {}
    if who.get("host") == HOST and "pid" in who:
        return _pid_alive(who["pid"])
    return True


def _reap(study) -> list[str]:
    """Fail the RUNNING trials whose worker is gone, so their configurations are taken up again."""
    optuna = _optuna()
    from optuna.trial import TrialState

    gone = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        optuna.storages.fail_stale_trials(study)
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if not _alive(t):
            study._storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
            gone.append(str(t.params.get("config")))
    return gone


def states(study, names) -> dict[str, str]:
    """done | live | todo for every configuration."""
    from optuna.trial import TrialState

    out = {n: "todo" for n in names}
    for t in study.get_trials(deepcopy=False):
        name = t.params.get("config")
        if name not in out:
            continue
        if t.state == TrialState.COMPLETE:
            out[name] = "done"
        elif t.state == TrialState.RUNNING and out[name] != "done" and _alive(t):
            out[name] = "live"
    return out


@contextlib.contextmanager
def _run_lock(run: Path):
    """An exclusive lock on a run folder (non-blocking): None when another process holds it."""
    run.mkdir(parents=True, exist_ok=True)
    fd = os.open(run / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


@dataclass
class WorkerReport:
    trained: list = field(default_factory=list)    # configurations this worker trained (or resumed) and scored
    reused: list = field(default_factory=list)     # scored earlier (score.json there), only recorded now
    yielded: int = 0                               # trials that stepped back for another worker


def work(sw: Sweep, device=None, workers=None, progress: bool = True, max_configs: int | None = None,
         heartbeat: int = HEARTBEAT_S, grace: int = GRACE_S) -> WorkerReport:
    """Pull configurations until none is left to do (or ``max_configs`` are done by this worker)."""
    optuna = _optuna()
    from optuna.trial import TrialState

    from ..training.loop import train

    study = open_study(sw, heartbeat, grace)
    names = sw.names
    report = WorkerReport()
    features = sw.features or sw.out / "features"

    def objective(trial):
        name = trial.suggest_categorical("config", names)
        rivals = [t for t in study.get_trials(deepcopy=False)
                  if t.number != trial.number and t.params.get("config") == name
                  and (t.state == TrialState.COMPLETE or (t.state == TrialState.RUNNING and _alive(t)))]
        if rivals:  # another worker has (or had) it: step back; whoever checks later always yields
            report.yielded += 1
            raise optuna.TrialPruned(f"{name} is taken by trial {rivals[0].number}")
        run = sw.run_dir(name)
        with _run_lock(run) as mine:
            if not mine:
                report.yielded += 1
                raise optuna.TrialPruned(f"{name}: its run folder is locked by another process")
            append_jsonl(run / ATTEMPTS, {"host": HOST, "pid": os.getpid(), "trial": trial.number, "time": time.time()})
            score = _read_score(run)
            if score is None:
                entry = sw.entry_of(name)
                log.info(f"[sweep] {sw.entry.id} {name}: training ({sw.names.index(name) + 1}/{len(names)})")
                train(entry, sw.data, run, resume=(run / "config.json").exists(), device=device, progress=progress,
                      workers=workers, features_dir=features)
                score = score_run(entry, run, sw.data, features_dir=features, device=device, workers=workers,
                                  progress=progress)
                score["config"] = name
                atomic_write_json(run / SCORE, score)
                report.trained.append(name)
            else:
                report.reused.append(name)
        trial.set_user_attr("score", score)
        return float(score["metrics"]["valid"]["min2"]["f1"])

    done_here = 0
    while max_configs is None or done_here < max_configs:
        for name in _reap(study):
            log.warning(f"note: [sweep] {name}: its worker is gone; queued again (its run resumes)")
        st = states(study, names)
        todo = [n for n in names if st[n] == "todo"]
        if not todo:
            break
        trials = study.get_trials(deepcopy=False)
        if len(trials) >= len(names):  # every grid point was handed out once: retries go through the queue
            waiting = {t.params.get("config") or t.system_attrs.get("fixed_params", {}).get("config")
                       for t in trials if t.state == TrialState.WAITING}
            pick = random.choice(todo)
            if pick not in waiting:
                study.enqueue_trial({"config": pick})
        before = len(report.trained) + len(report.reused)
        study.optimize(objective, n_trials=1, catch=(), gc_after_trial=False)
        if len(report.trained) + len(report.reused) > before:
            done_here += 1
            write_results(sw, study)
        else:
            time.sleep(random.uniform(0.2, 1.5))  # stepped back: let the other worker's claim settle
    write_results(sw, study)
    return report


def _read_score(run: Path) -> dict | None:
    path = run / SCORE
    if not path.is_file():
        return None
    try:
        score = json.loads(path.read_text(encoding="utf-8"))
        return score if isinstance(score, dict) and "metrics" in score else None
    except (OSError, ValueError):
        return None


# --------------------------------------------------------------------------- results
def results_doc(sw: Sweep, study) -> dict:
    from optuna.trial import TrialState

    best: dict[str, dict] = {}
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        name, score = t.params.get("config"), t.user_attrs.get("score")
        if name in sw.names and isinstance(score, dict) and name not in best:
            best[name] = score
    rows = [result_row(c.name, c.overrides, sw.entry_of(c.name).as_dict(), best[c.name])
            for c in sw.configs if c.name in best]
    doc = {"name": sw.out.name, "model": sw.entry.id, "profile": sw.entry.profile, "family": sw.entry.family,
           "label": sw.entry.label, "overrides": sw.base, "axes": [a.as_dict() for a in sw.axes],
           "configs": len(sw.configs), "data": Path(sw.meta["data"]).name,
           "command": command_line(sw), "results": rows}
    return check_sweep(doc, str(sw.out / RESULTS_JSON))


def command_line(sw: Sweep) -> str:
    grid = " ".join(f"--grid {a.name}=" + ",".join(":".join(json.dumps(v) if not isinstance(v, str) else v
                                                             for v in p) for p in a.values) for a in sw.axes)
    sets = " ".join(f"--set {k}={json.dumps(v) if not isinstance(v, str) else v}" for k, v in sw.base.items())
    return (f"python -m shopee_core sweep --model {sw.entry.id} --profile {sw.entry.profile} --data DIR "
            f"--out {sw.out.name} {grid}" + (f" {sets}" if sets else ""))


def write_results(sw: Sweep, study) -> dict:
    doc = results_doc(sw, study)
    atomic_write_json(sw.out / RESULTS_JSON, doc)
    frame = results_frame(doc)
    atomic_write_people_csv(sw.out / RESULTS_CSV, frame)  # for people; programs read results.json
    return doc


def read_results(folder) -> dict:
    """A sweep folder's ``results.json`` (or the file itself), checked."""
    path = Path(folder)
    return read_sweep(path / RESULTS_JSON if path.is_dir() else path)
