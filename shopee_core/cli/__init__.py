"""``python -m shopee_core <command>``: thin argument parsing over the library.

Every command exits 0 on success and prints ``error: <one line>`` with a
non-zero exit on bad input (no traceback); long work shows a progress bar.
One module per concern holds its commands and their arguments. The library
reports through module loggers; :func:`~.common.setup_logging` sends them to
stderr once per run (``-qq``: warnings only, ``-v``: debug too; one ``-q`` only
turns a progress bar off).
"""

from __future__ import annotations

import argparse
import errno
import sys

from ..bundle.format import BundleChanged
from ..errors import ShopeeError
from . import bundles, data, evaluate, models, noise, sweeps
from .common import quiet_stdout, setup_logging

EXIT_ERROR = 1
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell tool killed by a closed pipe returns


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m shopee_core",
                                description="Shopee product matching: data, models, matching, bundles.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    data.add_demo_data(sub)
    data.add_split(sub)
    models.add_train(sub)
    models.add_embed(sub)
    evaluate.add_evaluate(sub)
    bundles.add_build_bundle(sub)
    bundles.add_import_model(sub)
    bundles.add_remove_model(sub)
    bundles.add_check_bundle(sub)
    bundles.add_predict(sub)
    models.add_models(sub)
    sweeps.add_sweep(sub)
    sweeps.add_add_sweep(sub)
    sweeps.add_remove_sweep(sub)
    noise.add_suspects(sub)
    noise.add_relabel(sub)
    return p


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(quiet=args.quiet >= 2, verbose=args.verbose)
    try:
        code = args.func(args)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return code
    except BrokenPipeError:  # the reader went away (`models --json | head`): stop quietly
        quiet_stdout()
        return EXIT_BROKEN_PIPE
    except (ShopeeError, BundleChanged) as exc:
        print(f"error: {exc}", file=sys.stderr)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:  # a full disk: every write is atomic, so nothing was changed
            where = f": {exc.filename}" if exc.filename else ""
            print(f"error: {exc.strerror}{where}; the previous files are unchanged: free some space and run it "
                  f"again", file=sys.stderr)
        else:
            print(f"error: {type(exc).__name__}: {' '.join(str(exc).split())}", file=sys.stderr)
    except MemoryError as exc:
        print(f"error: {type(exc).__name__}: {' '.join(str(exc).split())}", file=sys.stderr)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    return EXIT_ERROR
