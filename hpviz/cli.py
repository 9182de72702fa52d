"""The ``hpviz`` command line: ``hpviz report``, ``hpviz demo``, ``hpviz adapters``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from hpviz.errors import HpvizError, InsufficientDataError, SchemaError

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


class _UsageError(HpvizError):
    """A command line that cannot run as given (exit code 2, like argparse's own errors)."""


def _impls(pm: Any, hook: str) -> list[tuple[str, Any]]:
    """``(adapter name, hook function)`` of each adapter implementing ``hook``, in registration order."""
    return [(impl.plugin_name, impl.function) for impl in getattr(pm.hook, hook).get_hookimpls()]


def _frameworks(pm: Any) -> tuple[list[str], str | None]:
    """Framework ids of the loaded adapters, and the default demo framework.

    The default is the first id (alphabetically) whose adapter declares
    ``"demo": True`` in ``hpviz_adapter_info``; a broken adapter is skipped.
    """
    infos = []
    for _, fn in _impls(pm, "hpviz_adapter_info"):
        try:
            info = fn()
        except Exception:  # noqa: BLE001 - one broken adapter must not break the command line
            continue
        if isinstance(info, dict) and info.get("framework"):
            infos.append(info)
    ids = sorted({str(i["framework"]) for i in infos})
    demos = sorted({str(i["framework"]) for i in infos if i.get("demo")})
    return ids, (demos or ids or [None])[0]


def _parser(pm: Any) -> argparse.ArgumentParser:
    from hpviz import __version__

    parser = argparse.ArgumentParser(prog="hpviz", description="Visual analytics for hyperparameter optimization.")
    parser.add_argument("--version", action="version", version=f"hpviz {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    rep = sub.add_parser("report", help="write a report (HTML, PDF or a folder of PNGs) for a tuning run")
    rep.add_argument("source", nargs="?",
                     help="saved experiment .json, or a source an installed adapter reads (see `hpviz adapters`)")
    rep.add_argument("more", nargs="*", metavar="SOURCE",
                     help="more sources, one per tuned model: a comparison report (HTML) with one report per model")
    rep.add_argument("--pareto", metavar="METRIC:DIR,...",
                     help="with several sources: the Pareto front across models on these metrics, each max or min, "
                          "e.g. val_accuracy:max,duration:min (objectives, duration, numeric trial attributes)")
    rep.add_argument("--names", metavar="NAME,...", help="with several sources: the models' names, in order")
    rep.add_argument("-o", "--output", default="hpviz-report.html",
                     help="output path: .html, .pdf, or a directory for PNGs (default: %(default)s)")
    rep.add_argument("--objective", help="objective to analyse (default: the primary one)")
    rep.add_argument("--quiet", action="store_true", help="no progress bar")
    rep.add_argument("--trust", action="store_true",
                     help="allow loading pickled state from SOURCE; unpickling runs code from the files, so only "
                          "for sources you trust (an adapter says what trust adds when it needs it)")
    for name, fn in _impls(pm, "hpviz_add_cli_arguments"):
        group = rep.add_argument_group(f"{name} options")
        try:
            fn(parser=group)
        except Exception as exc:  # noqa: BLE001 - a broken adapter loses its options, the rest still work
            sys.stderr.write(f"hpviz: adapter {name!r} could not add its options: {type(exc).__name__}: {exc}\n")

    frameworks, default = _frameworks(pm)
    demo = sub.add_parser("demo", help="tune an MLP and a logistic regression on scikit-learn's digits (two rounds "
                                       "each) and write their reports and the multi-model report")
    demo.add_argument("--framework", choices=frameworks or None, default=default,
                      help="framework of an installed adapter (default: %(default)s)")
    demo.add_argument("--out", default="demo-output", help="output directory (default: %(default)s)")
    demo.add_argument("--trials", type=int, default=30, help="trials per round (default: %(default)s)")
    demo.add_argument("--rounds", type=int, default=2, help="steering rounds (default: %(default)s)")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--models", default="mlp,logreg",
                      help="demo model families, comma-separated, tuned one study each (default: %(default)s; "
                           "one model: no multi-model report)")
    demo.add_argument("--quiet", action="store_true", help="no progress bar")

    sub.add_parser("adapters", help="list the installed adapters and whether they loaded")
    return parser


def _report(args: argparse.Namespace, pm: Any) -> int:
    import hpviz
    from hpviz._output import check_output_path

    check_output_path(args.output)  # before loading the source: a bad -o fails in milliseconds
    several = _several_models_options(args)
    if getattr(args, "more", None):  # several models: one source each
        trust = {"trust": True} if getattr(args, "trust", False) else {}
        exps = [hpviz.experiment(src, plugin_manager=pm, **trust) for src in [args.source, *args.more]]
        path = hpviz.report(exps, args.output, **several, **({"objective": args.objective} if args.objective else {}))
        print(f"hpviz: wrote {path} ({len(exps)} models, one report each beside it)")
        return 0
    try:
        source: Any = pm.hook.hpviz_cli_source(args=args)
    except HpvizError as exc:
        if isinstance(exc, (SchemaError, InsufficientDataError)):
            raise  # the data, not the command line
        raise _UsageError(str(exc)) from exc
    # An adapter whose options qualify the positional SOURCE reads it itself and sets args.source to None.
    if source is not None and args.source:
        raise _UsageError(f"give either SOURCE ({args.source!r}) or an adapter's source options, not both")
    if source is None:
        if not args.source:
            raise _UsageError("give a SOURCE (a saved .json experiment, or a source an installed adapter reads: "
                              "see `hpviz adapters`) or an adapter's source options")
        options = {"trust": True} if args.trust else {}
        source = hpviz.experiment(args.source, plugin_manager=pm, **options)
    exp = hpviz.experiment(source, plugin_manager=pm)
    report_options: dict[str, Any] = {"progress": _Progress(not args.quiet and sys.stderr.isatty())}
    if args.objective:
        report_options["objective"] = args.objective
    path = hpviz.report(exp, args.output, **report_options)
    print(f"hpviz: wrote {path} ({len(exp.trials)} trials)")
    return 0


def _several_models_options(args: argparse.Namespace) -> dict[str, Any]:
    """``--pareto`` and ``--names`` as ``hpviz.report`` options, checked before any source is read."""
    n = 1 + len(getattr(args, "more", None) or [])
    given = [f"--{k}" for k in ("pareto", "names") if getattr(args, k, None)]
    if given and n < 2:
        raise _UsageError(f"{' and '.join(given)} apply to several sources (one per model); got one SOURCE")
    out: dict[str, Any] = {}
    if getattr(args, "pareto", None):
        metrics = {}
        for item in args.pareto.split(","):
            name, _, direction = item.strip().rpartition(":")
            if not name or direction not in ("min", "max"):
                raise _UsageError(f"--pareto takes METRIC:max or METRIC:min items, comma-separated "
                                  f"(e.g. val_accuracy:max,duration:min); got {item.strip()!r}")
            metrics[name] = direction
        if len(metrics) < 2:
            raise _UsageError(f"--pareto needs two or more metrics, got {args.pareto!r}")
        out["metrics"] = metrics
    if getattr(args, "names", None):
        names = [s.strip() for s in args.names.split(",")]
        if len(names) != n or not all(names):
            raise _UsageError(f"--names needs {n} comma-separated names (one per SOURCE), got {args.names!r}")
        out["names"] = names
    return out


def _demo_models(spec: str) -> list[Any]:
    """The demo models of ``--models`` (checked before any work)."""
    from hpviz.demo import MODELS

    keys = [k.strip() for k in spec.split(",") if k.strip()]
    unknown = [k for k in keys if k not in MODELS]
    if not keys or unknown:
        raise _UsageError(f"--models takes demo models among {sorted(MODELS)}, comma-separated; got {spec!r}")
    return [MODELS[k] for k in dict.fromkeys(keys)]


def _demo(args: argparse.Namespace, pm: Any) -> int:
    import hpviz

    models = _demo_models(args.models)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    options = {"n_trials": args.trials, "rounds": args.rounds, "seed": args.seed, "workdir": str(out)}
    if args.framework is None:
        raise HpvizError("no adapter is installed: install hpviz with an extra, e.g. `pip install -e '.[all]'` in "
                             "a clone (README: Install)")
    handler = None
    if not args.quiet:  # the demo's own progress lines (rounds, best so far) on stderr
        import logging

        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger = logging.getLogger("hpviz")
        logger.addHandler(handler)
        logger_level = logger.level
        logger.setLevel(logging.INFO)
        sys.stderr.write(f"hpviz demo: tuning with {args.framework}, {args.rounds} round(s) of {args.trials} trials "
                         f"for each of {', '.join(m.name for m in models)}\n")
    tuned = []
    try:
        for model in models:
            exp = _run_demo_model(pm, args.framework, options, model)
            if exp is not None:
                tuned.append((model, exp))
    finally:
        if handler is not None:
            logging.getLogger("hpviz").removeHandler(handler)
            logging.getLogger("hpviz").setLevel(logger_level)
    if not tuned:
        raise HpvizError(f"the {args.framework} adapter's demo tunes none of --models {args.models!r}")
    reports = []
    for k, (model, exp) in enumerate(tuned):
        suffix = "" if k == 0 else f"-{model.key}"  # the first model keeps experiment.json / report.html
        saved = exp.save(out / f"experiment{suffix}.json")
        print(f"hpviz: saved {saved} ({model.name}: {len(exp.trials)} trials, {len(exp.rounds)} rounds)")
        report = hpviz.report(exp, out / f"report{suffix}.html",
                              progress=_Progress(not args.quiet and sys.stderr.isatty()))
        reports.append(report)
        print(f"hpviz: wrote {report}")
    print("Open it in a browser. Look first at Findings (is the optimizer working?), then Importance (which "
          "hyperparameters matter), then Suggested next search space (what round 2 changed, and why).")
    if len(tuned) >= 2:
        exps = [e for _, e in tuned]
        # The Pareto front across models on accuracy and fit time, where every trial has its times.
        timed = all(t.duration is not None for e in exps for t in e.completed())
        metrics = {exps[0].primary: exps[0].objectives[exps[0].primary], "duration": "min"} if timed else None
        page = hpviz.report(exps, out / "models.html", names=[m.name for m, _ in tuned], metrics=metrics,
                            reports=reports)
        print(f"hpviz: wrote {page}: the models compared (verdict by trials, seconds and steps; each model's "
              f"section links to its report)")
    return 0


def _run_demo_model(pm: Any, framework: str, options: dict[str, Any], model: Any) -> Any:
    """One demo model tuned with ``framework``; ``None`` (said on stderr) when the adapter cannot tune it."""
    from hpviz.plugins import status

    exp = pm.hook.hpviz_run_demo(framework=framework, options={**options, "model": model.key})
    if exp is None:
        problems = "; ".join(f"{a.name}: {a.error}" for a in status(pm) if not a.available) or "none"
        raise HpvizError(f"no installed adapter runs the demo for {framework!r} (unavailable adapters: {problems})")
    if set(exp.space) != set(model.space):  # an adapter whose run_demo predates the demo's model option
        sys.stderr.write(f"hpviz demo: the {framework} adapter's demo does not take the demo's model option: "
                         f"{model.name} skipped\n")
        return None
    return exp


def _adapters(args: argparse.Namespace, pm: Any) -> int:
    from hpviz.plugins import status

    infos: dict[str, dict[str, Any]] = {}
    for name, fn in _impls(pm, "hpviz_adapter_info"):
        try:
            info = fn()
        except Exception:  # noqa: BLE001 - one broken adapter must not break the command line
            continue
        if isinstance(info, dict):
            infos[name] = info
    for a in status(pm):
        print(f"{a.name:<10} {'ok' if a.available else 'unavailable'}  {a.module}" + (f"  ({a.error})" if a.error else ""))
        info = infos.get(a.name, {})
        if info.get("note"):
            print(f"{'':<10} {info['note']}")
        if a.available:
            print(f"{'':<10} live: {info.get('live') or 'no (converts finished runs)'}")
    return 0


def main(argv: list[str] | None = None, *, plugin_manager: Any = None) -> int:
    """Run the command line; return the exit code (0 ok, 1 error in the data or a run, 2 usage error).

    ``plugin_manager`` (default: the process-wide one) supplies the adapters'
    own options, sources and demos.
    """
    from hpviz.plugins import get_plugin_manager

    pm = plugin_manager or get_plugin_manager()
    parser = _parser(pm)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help/--version (0) or a usage error (2), already printed
        return exc.code if isinstance(exc.code, int) else 2
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return {"report": _report, "demo": _demo, "adapters": _adapters}[args.command](args, pm)
    except _UsageError as exc:
        print(f"hpviz {args.command}: error: {exc} (see `hpviz {args.command} --help`)", file=sys.stderr)
        return 2
    except HpvizError as exc:
        print(f"hpviz: error: {exc}", file=sys.stderr)
        return 1
    except FileNotFoundError as exc:
        print(f"hpviz: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
