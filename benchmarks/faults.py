"""Faults and load: concurrent readers, SIGKILL during writes, and the report-folder rules, counted.

Usage: python benchmarks/faults.py [--trials 60] [--kills 30] [--seed 0]

1. Optuna ``n_jobs=4`` with ``HpvizCallback(report_path=..., every=5)`` (an
   .html report and a PNG folder), while a reader thread reads the report as
   fast as it can: every read must be complete (target: 0 incomplete reads).
2. SIGKILL at random moments of a process that saves an experiment, writes an
   .html report, or writes a PNG-folder report, in a loop: after each kill
   the file (or every file of the folder) must be complete, the folder must
   still be accepted as hpviz's, and the next write must leave no temporary
   behind (targets: 0 broken files, 0 leftover temporaries).
3. The folder cases of issue 20 §1 (a user's folder, user files added to a
   report folder, a copied marker, ``-o .``, a symlink to a user folder, a
   path under a file): every user file must survive byte for byte and hpviz
   must refuse with its own error (target: 0 user files lost, 0 raw errors).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import hpviz  # noqa: E402
from hpviz._output import MANIFEST, TMP_TAG, OutputPathError, check_output_path  # noqa: E402
from hpviz.testing import make_experiment  # noqa: E402

VIEWS = ["progress", "tendrils"]


def _png_complete(data: bytes) -> bool:
    return data.startswith(b"\x89PNG\r\n\x1a\n") and data.endswith(b"IEND\xaeB`\x82")


def _html_complete(data: bytes) -> bool:
    return data.startswith(b"<!DOCTYPE html>") and data.rstrip().endswith(b"</html>")


def _folder_complete(folder: Path) -> bool:
    """Every file of a report folder complete, and the folder still accepted as an hpviz report."""
    try:
        check_output_path(folder)
    except OutputPathError:
        return False
    for p in folder.iterdir():
        if p.name.startswith("."):
            continue
        data = p.read_bytes()
        if not (_png_complete(data) if p.suffix == ".png" else _html_complete(data)):
            return False
    return True


def _temporaries(folder: Path) -> list[str]:
    return [p.name for p in folder.rglob("*") if TMP_TAG in p.name]


# --------------------------------------------------------------------------- 1. concurrent reader


def concurrent_reader(trials: int, folder: Path) -> dict:
    import optuna

    from hpviz_optuna import HpvizCallback

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    html, pngs = folder / "live.html", folder / "live"
    cbs = [HpvizCallback(report_path=html, every=5, report_options={"views": VIEWS}),
           HpvizCallback(report_path=pngs, every=5, report_options={"views": VIEWS})]
    counts = {"reads": 0, "incomplete": 0, "missing": 0}
    done = threading.Event()

    def reader() -> None:
        while not done.is_set():
            for path in (html, pngs):
                try:
                    ok = _html_complete(path.read_bytes()) if path.suffix else all(
                        _png_complete(p.read_bytes()) if p.suffix == ".png" else _html_complete(p.read_bytes())
                        for p in path.iterdir() if not p.name.startswith("."))
                except FileNotFoundError:
                    counts["missing"] += 1  # before the first report
                    continue
                counts["reads"] += 1
                counts["incomplete"] += not ok

    def objective(trial):
        x = trial.suggest_float("x", -5, 5)
        y = trial.suggest_float("y", 1e-4, 1, log=True)
        for step in range(5):
            trial.report((x - 1) ** 2 + y / (step + 1), step)
        return (x - 1) ** 2 + y

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    t0 = time.perf_counter()
    study.optimize(objective, n_trials=trials, n_jobs=4, callbacks=cbs)
    for cb in cbs:
        cb.report()
    done.set()
    thread.join()
    counts["seconds"] = time.perf_counter() - t0
    counts["final complete"] = _html_complete(html.read_bytes()) and _folder_complete(pngs)
    return counts


# --------------------------------------------------------------------------- 2. SIGKILL during writes

WRITER = """
import sys
sys.path.insert(0, {root!r})
import hpviz
from hpviz.testing import make_experiment
exps = [make_experiment(n, log_steps=30, seed=n) for n in (30, 300)]
kind, path = {kind!r}, {path!r}
if kind.endswith("-write"):  # render two different reports once, then only write them, over and over
    import pathlib
    from hpviz._output import check_output_path, write_report_file, write_report_folder
    scratch = pathlib.Path({scratch!r})
    variants = []
    for i, (exp, views) in enumerate(zip(exps, ({views!r}, {views!r}[:1]))):
        out = hpviz.report(exp, scratch / (f"v{{i}}.html" if kind == "html-write" else f"v{{i}}"), views=views)
        variants.append(out.read_bytes() if kind == "html-write" else
                        {{p.name: p.read_bytes() for p in out.iterdir() if not p.name.startswith(".")}})
    target = check_output_path(path)
print("ready", flush=True)
i = 0
while True:
    exp = exps[i % 2]
    i += 1
    if kind == "save":
        exp.save(path)
    elif kind == "html-write":
        write_report_file(target, variants[i % 2])
    elif kind == "dir-write":
        write_report_folder(target, variants[i % 2])
    else:
        hpviz.report(exp, path, views={views!r})
"""


def _check(kind: str, path: Path) -> bool:
    if kind == "save":
        try:
            hpviz.load(path)
            return True
        except Exception:  # noqa: BLE001 - counted as broken
            return False
    if kind.startswith("html"):
        return _html_complete(path.read_bytes())
    return _folder_complete(path)


def sigkill(kills: int, folder: Path, rng: random.Random) -> dict:
    counts = {}
    small = make_experiment(12, seed=1)
    for kind, name in (("save", "exp.json"), ("html", "r.html"), ("dir", "rep"), ("html-write", "r.html"),
                       ("dir-write", "rep")):
        where = folder / f"kill-{kind}"
        where.mkdir()
        scratch = folder / f"scratch-{kind}"
        scratch.mkdir()
        path = where / name
        if kind == "save":
            small.save(path)
        else:
            hpviz.report(small, path, views=VIEWS)
        broken = leftovers = mid_write = 0
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        for _ in range(kills):
            proc = subprocess.Popen(
                [sys.executable, "-c", WRITER.format(root=str(ROOT), kind=kind, path=str(path), views=VIEWS,
                                                     scratch=str(scratch))],
                stdout=subprocess.PIPE, env=env, cwd=str(where))
            proc.stdout.readline()
            time.sleep(rng.uniform(0.0, 1.5 if kind in ("html", "dir") else 0.3))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            proc.stdout.close()
            broken += not _check(kind, path)
            manifest = path / MANIFEST
            mid_write += bool(_temporaries(where)) or (manifest.exists() and '"previous"' in manifest.read_text())
        # the next write cleans what the killed writers left
        if kind == "save":
            small.save(path)
        else:
            hpviz.report(small, path, views=VIEWS)
        leftovers = len(_temporaries(where))
        counts[kind] = {"kills": kills, "broken": broken, "leftover temporaries": leftovers, "mid-write": mid_write}
    return counts


# --------------------------------------------------------------------------- 3. folder cases


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def folder_cases(folder: Path) -> dict:
    exp = make_experiment(12, seed=2)
    results = {}

    def case(name: str, setup, target) -> None:
        base = folder / name
        base.mkdir()
        setup(base)
        user = {k: v for k, v in _snapshot(base).items() if MANIFEST not in k}
        raw = refused = 0
        cwd = os.getcwd()
        try:
            os.chdir(base)
            hpviz.report(exp, target(base), views=VIEWS)
        except OutputPathError:
            refused = 1
        except Exception:  # noqa: BLE001 - a raw error is what this counts
            raw = 1
        finally:
            os.chdir(cwd)
        after = _snapshot(base)
        lost = sum(1 for k, v in user.items() if after.get(k) != v)
        results[name] = {"user files": len(user), "lost": lost, "refused": refused, "raw errors": raw}

    def user_report_names(b: Path) -> None:
        (b / "mine").mkdir()
        (b / "mine" / "index.html").write_text("my page")
        (b / "mine" / "progress.png").write_bytes(b"my picture")

    def added_files(b: Path) -> None:
        hpviz.report(exp, b / "rep", views=VIEWS)
        (b / "rep" / "notes.txt").write_text("keep")
        (b / "rep" / "mine").mkdir()
        (b / "rep" / "mine" / "keep.csv").write_text("a,b\n")

    def copied_marker(b: Path) -> None:
        hpviz.report(exp, b / "real", views=VIEWS)
        (b / "mine").mkdir()
        shutil.copy(b / "real" / MANIFEST, b / "mine" / MANIFEST)
        (b / "mine" / "progress.png").write_bytes(b"mine")
        shutil.rmtree(b / "real")

    def dot(b: Path) -> None:
        (b / "train.py").write_text("print()")

    def symlink(b: Path) -> None:
        (b / "photos").mkdir()
        (b / "photos" / "cat.png").write_bytes(b"meow")
        (b / "link").symlink_to(b / "photos")

    def under_file(b: Path) -> None:
        (b / "afile").write_text("x")

    case("user folder with report names", user_report_names, lambda b: b / "mine")
    case("user files added to a report folder", added_files, lambda b: b / "rep")
    case("copied marker", copied_marker, lambda b: b / "mine")
    case("-o .", dot, lambda b: ".")
    case("symlink to a user folder", symlink, lambda b: b / "link")
    case("path under a regular file", under_file, lambda b: b / "afile" / "rep")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=60)
    parser.add_argument("--kills", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print("1. Optuna n_jobs=4, every=5 reports (.html and PNG folder), a reader reading all the time")
        r = concurrent_reader(args.trials, folder)
        print(f"   {args.trials} trials in {r['seconds']:.1f} s; {r['reads']} reads, {r['incomplete']} incomplete "
              f"(target 0); final reports complete: {r['final complete']}")
        print(f"2. SIGKILL at random moments of a writer in a loop, {args.kills} kills per kind (save: exp.save; "
              "html, dir: hpviz.report, mostly rendering; html-write, dir-write: the writes alone)")
        for kind, c in sigkill(args.kills, folder, rng).items():
            print(f"   {kind:>5}: {c['broken']} broken files of {c['kills']} kills, {c['mid-write']} of them mid-write "
                  f"(target 0 broken); "
                  f"{c['leftover temporaries']} temporaries left after the next write (target 0)")
        print("3. Report folders (issue 20 §1)")
        total_lost = 0
        for name, c in folder_cases(folder).items():
            total_lost += c["lost"]
            print(f"   {name:<38} user files {c['user files']}, lost {c['lost']}, refused {c['refused']}, "
                  f"raw errors {c['raw errors']}")
        print(f"   user files lost in total: {total_lost} (target 0)")


if __name__ == "__main__":
    main()
