"""Saving and loading large experiments: time and peak memory, this hpviz against the previous format.

Usage: python benchmarks/io.py [--trials 20000] [--steps 100] [--old-ref 94a00b0]

Builds ``make_experiment(trials, log_steps=steps)`` (every trial with a
``steps``-point learning curve), saves it and loads it back, each phase in a
fresh process so its peak RSS is its own. The reference is the hpviz of git
commit ``--old-ref`` (schema version 1: one JSON row per log point, the
generator replayed on load), extracted with ``git archive`` and run the same
way in the same run. Targets (issue 19, item 5): save and load under 2 s each
and under 500 MB peak RSS at 20,000 trials x 100 steps.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SAVE = """
import json, resource, sys, time
from hpviz.testing import make_experiment
t0 = time.perf_counter()
exp = make_experiment({trials}, log_steps={steps}, seed=0)
built = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t1 = time.perf_counter()
path = exp.save({path!r})
t2 = time.perf_counter()
print(json.dumps({{"build_s": t1 - t0, "save_s": t2 - t1, "built_mb": built / 1024,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""

LOAD = """
import json, resource, time
import hpviz
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
exp = hpviz.load({path!r})
t1 = time.perf_counter()
n_points = sum(len(t.log) for t in exp.trials if t.log is not None)
print(json.dumps({{"file": hpviz.__file__, "load_s": t1 - t0, "import_mb": base / 1024, "n_trials": len(exp.trials), "n_points": n_points,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def _run(code: str, pythonpath: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=pythonpath, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _extract(ref: str, into: Path) -> Path:
    archive = into / "old.tar"
    with open(archive, "wb") as fh:
        subprocess.run(["git", "-C", str(ROOT), "archive", ref, "hpviz"], stdout=fh, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into / "old", filter="data")
    return into / "old"


def _measure(label: str, pythonpath: Path, folder: Path, trials: int, steps: int) -> dict:
    path = str(folder / f"{label}.json")
    saved = _run(SAVE.format(trials=trials, steps=steps, path=path), pythonpath)
    loaded = _run(LOAD.format(path=path), pythonpath)
    assert loaded.pop("file").startswith(str(pythonpath)), "the wrong hpviz was imported"
    return {"label": label, "size_mb": os.path.getsize(path) / 1e6, **saved,
            **{f"load_{k}" if k == "peak_mb" else k: v for k, v in loaded.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20_000)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--old-ref", default="94a00b0", help="git commit of the reference (schema 1) hpviz")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rows = [_measure("old", _extract(args.old_ref, folder), folder, args.trials, args.steps),
                _measure("new", ROOT, folder, args.trials, args.steps)]
    old, new = rows
    print(f"{args.trials} trials x {args.steps}-step logs ({new['n_points']} kept points); "
          f"old = hpviz {args.old_ref} (schema 1), new = this tree")
    print(f"{'':>6} {'file MB':>8} {'save s':>7} {'save peak MB':>13} {'load s':>7} {'load peak MB':>13}"
          f" {'(build s, RSS MB after build)':>30}")
    for r in rows:
        print(f"{r['label']:>6} {r['size_mb']:8.1f} {r['save_s']:7.2f} {r['peak_mb']:13.0f} {r['load_s']:7.2f}"
              f" {r['load_peak_mb']:13.0f} {r['build_s']:15.1f} s {r['built_mb']:8.0f} MB")
    print(f"ratios new/old: size {new['size_mb'] / old['size_mb']:.2f}, save time {new['save_s'] / old['save_s']:.2f},"
          f" load time {new['load_s'] / old['load_s']:.2f}, load peak {new['load_peak_mb'] / old['load_peak_mb']:.2f},"
          f" save peak {new['peak_mb'] / old['peak_mb']:.2f}")
    print(f"machine speed: the old load took {old['load_s']:.1f} s here against 7.6 s when issue 19 measured it "
          f"(this run {old['load_s'] / 7.6:.1f}x slower; the new times scaled to that machine: save "
          f"{new['save_s'] * 7.6 / old['load_s']:.2f} s, load {new['load_s'] * 7.6 / old['load_s']:.2f} s)")
    ok = lambda c: "ok" if c else "MISSED"  # noqa: E731
    print(f"targets: save < 2 s: {new['save_s']:.2f} s {ok(new['save_s'] < 2)}; "
          f"load < 2 s: {new['load_s']:.2f} s {ok(new['load_s'] < 2)}; "
          f"peak RSS < 500 MB: save {new['peak_mb']:.0f} MB {ok(new['peak_mb'] < 500)}, "
          f"load {new['load_peak_mb']:.0f} MB {ok(new['load_peak_mb'] < 500)}")


if __name__ == "__main__":
    main()
