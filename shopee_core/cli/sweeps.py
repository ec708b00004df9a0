"""sweep, add-sweep and remove-sweep: a recipe over a grid of spec values, and its results in a bundle."""

from __future__ import annotations

from ..bundle import sweeps as bundle_sweeps
from ..models import PROFILES, parse_overrides
from ..sweep import prepare, read_results, work
from .common import command, data_arg, device_args, override_args


def cmd_sweep(args) -> int:
    sw = prepare(args.model, args.profile, args.data, args.out, args.grid, parse_overrides(args.set, args.config),
                 storage=args.storage, features=args.features)
    print(f"{args.out}: {len(sw.configs)} configuration(s) of {sw.entry.id} ({sw.entry.profile}): "
          + ", ".join(sw.names), flush=True)
    if args.plan:
        return 0
    report = work(sw, device=args.device, workers=args.workers, progress=not args.quiet, max_configs=args.max_configs)
    doc = read_results(sw.out)
    done = {r["config"]: r for r in doc["results"]}
    print(f"trained here: {', '.join(report.trained) or 'none'}; recorded from earlier runs: "
          f"{', '.join(report.reused) or 'none'}; finished: {len(done)}/{len(sw.configs)}")
    for name in sw.names:
        r = done.get(name)
        if r:
            print(f"  {name:<40} valid F1 (Min2) {r['valid_min2_f1']:.4f}   test F1 base {r['test_base_f1']:.4f} · "
                  f"Min2 {r['test_min2_f1']:.4f} · INB {r['test_inb_f1'] if r['test_inb_f1'] is None else format(r['test_inb_f1'], '.4f')}")
        else:
            print(f"  {name:<40} not finished (another worker has it, or it stopped)")
    print(f"{sw.out / 'results.csv'}")
    return 0


def cmd_add_sweep(args) -> int:
    entry = bundle_sweeps.add_sweep(args.bundle, args.sweep, name=args.name, replace=args.replace)
    print(f"{args.bundle}: sweep {entry['name']} ({entry['model']}, {entry['configs']} configurations) added")
    return 0


def cmd_remove_sweep(args) -> int:
    left = bundle_sweeps.remove_sweep(args.bundle, args.name)
    print(f"{args.bundle}: removed sweep {args.name}; {len(left)} left")
    return 0


def add_sweep(sub) -> None:
    s = command(sub, "sweep", cmd_sweep, help="train a recipe over a grid of spec values and score each configuration",
                description="One run per configuration of the grid (any spec key can be an axis), each embedded and "
                            "scored as build-bundle scores a model (thresholds re-tuned on valid: plain, Min2, INB); "
                            "results in OUT/results.csv and results.json. Rerun the same command to resume: finished "
                            "configurations are skipped, an interrupted one continues its run. Several workers (one "
                            "per GPU: --device cuda:N, or machines with --storage URL) share one sweep through "
                            "Optuna's grid sampler on a shared storage.")
    s.add_argument("--model", required=True, metavar="ID", help="model id (see `models`)")
    s.add_argument("--profile", choices=PROFILES, default="seed18", help="recipe profile (default seed18)")
    data_arg(s)
    s.add_argument("--out", required=True, metavar="DIR", help="the sweep folder (runs/, study.db, results.*)")
    s.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2,...",
                   help="a grid axis (repeatable; axes multiply). Keys joined by ':' move together: "
                        "--grid loss:head_init=arcface:xavier_uniform,curricularface:normal_0.01")
    override_args(s)
    s.add_argument("--storage", metavar="URL", help="Optuna RDB storage shared by the workers (default: "
                   "sqlite:///OUT/study.db; a database server URL when several machines join)")
    s.add_argument("--features", metavar="DIR", help="cache of a frozen recipe's pooled backbone features "
                   "(default OUT/features; give build-bundle's .NAME.build/features to share it)")
    s.add_argument("--max-configs", type=int, metavar="N", help="stop this worker after N configurations")
    s.add_argument("--plan", action="store_true", help="check the grid and list the configurations; train nothing")
    device_args(s)


def add_add_sweep(sub) -> None:
    s = command(sub, "add-sweep", cmd_add_sweep, help="put a sweep's results into a bundle (the Training page draws them)",
                description="Copies SWEEP_DIR/results.json into the bundle as sweeps/NAME.json through the bundle "
                            "edit path (staged copy, verified, swapped in whole).")
    s.add_argument("--bundle", required=True, metavar="DIR")
    s.add_argument("--sweep", required=True, metavar="SWEEP_DIR", help="a sweep folder (or its results.json)")
    s.add_argument("--name", help="name in the bundle (default: the sweep folder's name)")
    s.add_argument("--replace", action="store_true", help="replace a sweep of the same name")


def add_remove_sweep(sub) -> None:
    s = command(sub, "remove-sweep", cmd_remove_sweep, help="take a sweep's results out of a bundle")
    s.add_argument("--bundle", required=True, metavar="DIR")
    s.add_argument("--name", required=True)
