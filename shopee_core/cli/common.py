"""Helpers shared by the command modules."""

from __future__ import annotations

import os
import sys


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


def device_args(s, quiet: bool = True, workers: str = "data-loading worker processes") -> None:
    """--device and --workers (and --quiet) for the commands that run models."""
    s.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when present)")
    s.add_argument("--workers", type=int, help=workers)
    if quiet:
        s.add_argument("--quiet", action="store_true", help="no progress bar")


def command(sub, name: str, func, help: str, description: str | None = None):
    """A subcommand parser whose run is ``func(args)``."""
    s = sub.add_parser(name, help=help, description=description or help)
    s.set_defaults(func=func)
    return s


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
    from ..errors import ShopeeError
    from ..matching.index import parse_index

    spec = parse_index(args.index)
    if args.min_recall is not None and not 0 < args.min_recall <= 1:
        raise ShopeeError(f"--min-recall must be in (0, 1], got {args.min_recall}")
    return spec
