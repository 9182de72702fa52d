"""The ``hpviz`` command line: ``hpviz report``, ``hpviz demo``, ``hpviz adapters``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from hpviz.errors import HpvizError

__all__ = ["main"]


class _Progress:
    """A one-line text progress bar on stderr for long analyses (silent when not a terminal and quiet)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled

    def __call__(self, label: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        width = 24
        filled = int(width * done / max(total, 1))
        end = "\n" if done >= total else ""
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label:<40.40}{end}")
        sys.stderr.flush()


def _parser() -> argparse.ArgumentParser:
    from hpviz import __version__

    parser = argparse.ArgumentParser(prog="hpviz", description="Visual analytics for hyperparameter optimization.")
    parser.add_argument("--version", action="version", version=f"hpviz {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    rep = sub.add_parser("report", help="write a report (HTML, PDF or a folder of PNGs) for a tuning run")
    rep.add_argument("source", nargs="?", help="saved experiment .json, or a Ray Tune experiment directory")
    rep.add_argument("-o", "--output", default="hpviz-report.html",
                     help="output path: .html, .pdf, or a directory for PNGs (default: %(default)s)")
    rep.add_argument("--optuna-storage", metavar="URL", help="Optuna storage URL, e.g. sqlite:///study.db")
    rep.add_argument("--study", metavar="NAME", help="Optuna study name (with --optuna-storage)")
    rep.add_argument("--objective", help="objective to analyse (default: the primary one)")
    rep.add_argument("--quiet", action="store_true", help="no progress bar")

    demo = sub.add_parser("demo", help="tune an MLP on scikit-learn's digits for two rounds and write a report")
    demo.add_argument("--framework", choices=["optuna", "ray", "hyperopt"], default="optuna")
    demo.add_argument("--out", default="demo-output", help="output directory (default: %(default)s)")
    demo.add_argument("--trials", type=int, default=30, help="trials per round (default: %(default)s)")
    demo.add_argument("--rounds", type=int, default=2, help="steering rounds (default: %(default)s)")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--quiet", action="store_true", help="no progress bar")

    sub.add_parser("adapters", help="list the installed adapters and whether they loaded")
    return parser


def _report(args: argparse.Namespace) -> int:
    import hpviz

    options: dict[str, Any] = {}
    if args.optuna_storage:
        if not args.study:
            raise HpvizError("--optuna-storage needs --study NAME")
        source: Any = args.optuna_storage
        options.update(optuna_storage=args.optuna_storage, study=args.study)
    elif args.source:
        source = args.source
    else:
        raise HpvizError("give a SOURCE (saved .json or Ray Tune experiment directory) or --optuna-storage URL --study NAME")
    exp = hpviz.experiment(source, **options)
    report_options: dict[str, Any] = {"progress": _Progress(not args.quiet and sys.stderr.isatty())}
    if args.objective:
        report_options["objective"] = args.objective
    path = hpviz.report(exp, args.output, **report_options)
    print(f"hpviz: wrote {path} ({len(exp.trials)} trials)")
    return 0


def _demo(args: argparse.Namespace) -> int:
    import hpviz
    from hpviz.plugins import get_plugin_manager, status

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    options = {"n_trials": args.trials, "rounds": args.rounds, "seed": args.seed, "workdir": str(out)}
    exp = get_plugin_manager().hook.hpviz_run_demo(framework=args.framework, options=options)
    if exp is None:
        problems = "; ".join(f"{a.name}: {a.error}" for a in status() if not a.available) or "none"
        raise HpvizError(f"no installed adapter runs the demo for {args.framework!r} (unavailable adapters: {problems})")
    saved = exp.save(out / "experiment.json")
    print(f"hpviz: saved {saved} ({len(exp.trials)} trials, {len(exp.rounds)} rounds)")
    report = hpviz.report(exp, out / "report.html", progress=_Progress(not args.quiet and sys.stderr.isatty()))
    print(f"hpviz: wrote {report}")
    return 0


def _adapters(args: argparse.Namespace) -> int:
    from hpviz.plugins import status

    for a in status():
        print(f"{a.name:<10} {'ok' if a.available else 'unavailable'}  {a.module}" + (f"  ({a.error})" if a.error else ""))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return {"report": _report, "demo": _demo, "adapters": _adapters}[args.command](args)
    except HpvizError as exc:
        print(f"hpviz: error: {exc}", file=sys.stderr)
        return 1
    except FileNotFoundError as exc:
        print(f"hpviz: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
