"""Helpers shared by the command modules."""

from __future__ import annotations

import logging
import os
import sys

from ..errors import ShopeeError
from ..matching.index import parse_index


def quiet_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def float_list(values):
    return None if values is None else [float(v) for v in values]


def override_args(s) -> None:
    s.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a spec key (repeatable; VALUE is JSON when it parses, else a string; dotted keys "
                        "reach nested dicts, e.g. --set lr_schedule.max=1e-3)")
    s.add_argument("--config", metavar="FILE.json", help="a JSON object of spec overrides (applied before --set)")


def device_args(s, workers: str = "data-loading worker processes") -> None:
    """--device and --workers for the commands that run models."""
    s.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when present)")
    s.add_argument("--workers", type=int, help=workers)


def command(sub, name: str, func, help: str, description: str | None = None, bar: bool = False):
    """A subcommand parser whose run is ``func(args)``, with -q / -v (``bar``: the command draws a
    progress bar, which one -q turns off, as --quiet always did; -qq also keeps only warnings)."""
    s = sub.add_parser(name, help=help, description=description or help)
    s.set_defaults(func=func)
    talk = s.add_mutually_exclusive_group()
    talk.add_argument("-q", "--quiet", action="count", default=0,
                      help=("no progress bar; " if bar else "") + "given twice (-qq): only warnings and errors")
    talk.add_argument("-v", "--verbose", action="store_true", help="also the library's debug messages")
    return s


class _Stderr(logging.StreamHandler):
    """A handler writing to whatever ``sys.stderr`` is when a record comes (a test may swap it)."""

    def __init__(self):
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


class _Lines(logging.Formatter):
    """Messages as plain lines, as the commands always printed them; a warning says that it is one,
    unless it already names itself a ``note:`` (logged at warning level so ``--quiet`` still shows it)."""

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.levelno == logging.WARNING and not text.startswith("note: "):
            return f"warning: {text}"
        return text


def setup_logging(quiet: bool = False, verbose: bool = False) -> None:
    """The library's loggers (``shopee_core.*``) to stderr, once per process: what it reports on the
    way (build steps, epochs, reused caches) by default, warnings only with ``quiet``, debug messages
    too with ``verbose``."""
    root = logging.getLogger("shopee_core")
    for h in [h for h in root.handlers if isinstance(h, _Stderr)]:
        root.removeHandler(h)
    handler = _Stderr()
    handler.setFormatter(_Lines())
    root.addHandler(handler)
    root.setLevel(logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO)


def data_arg(s, help: str = "Kaggle-layout folder (train.csv + train_images/)") -> None:
    s.add_argument("--data", required=True, metavar="DIR", help=help)


def index_args(s) -> None:
    """--index and --min-recall for the commands that search candidates."""
    s.add_argument("--index", default="exact", metavar="exact|ivf|hnsw[:PARAM=N,...]",
                   help="candidate search: exact (every pair compared; the default and the seed's), ivf or hnsw "
                        "(faiss indexes that compare a fraction of the pairs, for pools of 100,000s; e.g. "
                        "ivf:nprobe=32,nlist=1024 or hnsw:ef=256). An approximate index's recall@k against the "
                        "exact search is measured on a sample of rows and recorded")
    s.add_argument("--min-recall", type=float, metavar="R",
                   help="refuse (one error line) an approximate index whose measured recall@k is below R")


def index_spec(args):
    """The parsed --index (a one-line error for an unknown one or a --min-recall outside (0, 1])."""
    spec = parse_index(args.index)
    if args.min_recall is not None and not 0 < args.min_recall <= 1:
        raise ShopeeError(f"--min-recall must be in (0, 1], got {args.min_recall}")
    return spec
