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
