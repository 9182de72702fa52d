"""Output paths: hpviz never deletes or overwrites what it did not write, checks paths before any work,
writes atomically and cleans up after killed writers (docs/report.md, "Output paths")."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import hpviz
from hpviz import SchemaError
from hpviz._output import (
    MANIFEST,
    TMP_TAG,
    OutputPathError,
    atomic_write,
    check_output_path,
    write_report_folder,
)
from hpviz.testing import make_experiment

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def small():
    return make_experiment(5, log_steps=8, seed=1)


def _tree(folder: Path) -> dict[str, bytes | None]:
    """Every entry under ``folder`` (recursively) with its bytes (None for folders)."""
    out = {}
    for p in sorted(folder.rglob("*")):
        out[str(p.relative_to(folder))] = None if p.is_dir() else p.read_bytes()
    return out


def _never_called(*args):
    raise AssertionError(f"the report started work before refusing the path: {args}")


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# --------------------------------------------------------------------------- refused folders


def test_user_folder_with_report_named_files_is_refused_before_any_work(tmp_path, small):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "index.html").write_text("my page")
    (folder / "progress.png").write_bytes(b"my picture")
    before = _tree(folder)
    t0 = time.perf_counter()
    with pytest.raises(OutputPathError, match="not an hpviz report") as info:
        hpviz.report(small, folder, progress=_never_called)
    assert time.perf_counter() - t0 < 1.0
    assert str(folder) in str(info.value) and "mine-2" in str(info.value)  # names the path, suggests a fresh one
    assert _tree(folder) == before


def test_user_files_added_to_an_hpviz_folder_are_never_lost(tmp_path, small):
    folder = hpviz.report(small, tmp_path / "rep", views=["progress"])
    (folder / "notes.txt").write_text("keep me")
    (folder / "mine").mkdir()
    (folder / "mine" / "keep.csv").write_text("a,b\n1,2\n")
    before = _tree(folder)
    with pytest.raises(OutputPathError, match="did not write: mine/, notes.txt"):
        hpviz.report(small, folder, views=["progress"], progress=_never_called)
    assert _tree(folder) == before


def test_a_report_file_changed_by_the_user_is_not_overwritten(tmp_path, small):
    folder = hpviz.report(small, tmp_path / "rep", views=["progress"])
    (folder / "index.html").write_text("I edited this page")
    with pytest.raises(OutputPathError, match="changed since hpviz wrote it"):
        hpviz.report(small, folder, views=["progress"])
    assert (folder / "index.html").read_text() == "I edited this page"


@pytest.mark.parametrize("marker", ["copied", "legacy", "garbage"])
def test_a_copied_or_legacy_marker_is_not_enough(tmp_path, small, marker):
    real = hpviz.report(small, tmp_path / "rep", views=["progress"])
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "progress.png").write_bytes(b"my own picture")
    (folder / "notes.txt").write_text("keep")
    if marker == "copied":
        shutil.copy(real / MANIFEST, folder / MANIFEST)
    elif marker == "legacy":  # what hpviz 0.1 wrote
        (folder / MANIFEST).write_text("written by hpviz.report; the folder is replaced on the next report\n")
    else:
        (folder / MANIFEST).write_text("[[[[")
    before = _tree(folder)
    with pytest.raises(OutputPathError):
        hpviz.report(small, folder, views=["progress"])
    assert _tree(folder) == before


def test_dot_is_refused_unless_it_is_a_report_folder(tmp_path, small, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "train.py").write_text("print('mine')")
    with pytest.raises(OutputPathError, match="not empty"):
        hpviz.report(small, ".", views=["progress"])
    assert [p.name for p in tmp_path.iterdir()] == ["train.py"]
    # the CLI: a clear one-line error, before loading the source (which does not even exist here)
    from hpviz.cli import main

    assert main(["report", str(tmp_path / "missing.json"), "-o", "."]) == 1
    err = capsys.readouterr().err
    assert "not an hpviz report" in err and "fresh path" in err and "missing.json" not in err
    # a folder that is a report may be written from inside it
    rep = hpviz.report(small, tmp_path / "rep", views=["progress"])
    monkeypatch.chdir(rep)
    hpviz.report(small, ".", views=["progress", "tendrils"])
    assert (rep / "tendrils.png").exists()


def test_symlink_to_a_user_folder_is_refused(tmp_path, small):
    target = tmp_path / "photos"
    target.mkdir()
    (target / "cat.png").write_bytes(b"meow")
    link = tmp_path / "rep"
    link.symlink_to(target)
    with pytest.raises(OutputPathError, match="cat.png"):
        hpviz.report(small, link, views=["progress"])
    assert _tree(target) == {"cat.png": b"meow"}


def test_path_under_a_regular_file_is_a_clear_error(tmp_path, small):
    (tmp_path / "afile").write_text("x")
    for path in (tmp_path / "afile" / "rep", tmp_path / "afile" / "r.html", tmp_path / "afile" / "deeper" / "r.pdf"):
        with pytest.raises(OutputPathError, match="is a file, not a folder"):
            hpviz.report(small, path, progress=_never_called)
    with pytest.raises(OutputPathError, match="is a file"):
        check_output_path(tmp_path / "afile")  # no suffix: a folder was meant
    with pytest.raises(OutputPathError, match="is a folder"):
        (tmp_path / "d.html").mkdir()
        check_output_path(tmp_path / "d.html")


def test_missing_parent_fails_fast_with_the_users_path(tmp_path, small):
    for name in ("nope/r.html", "nope/r.pdf", "nope/rep"):
        path = tmp_path / name
        t0 = time.perf_counter()
        with pytest.raises(OutputPathError, match="does not exist") as info:
            hpviz.report(small, path, progress=_never_called)
        assert time.perf_counter() - t0 < 1.0
        assert str(path) in str(info.value) and TMP_TAG not in str(info.value)
    with pytest.raises(OutputPathError, match="does not exist"):
        small.save(tmp_path / "nope" / "exp.json")
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def unwritable(tmp_path):
    """A folder this process may not write in (a 0500 folder; for root, a read-only system folder)."""
    if os.name != "posix":
        pytest.skip("POSIX permissions")
    if os.geteuid() != 0:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        yield ro
        ro.chmod(0o700)
    elif not os.access("/proc/sys", os.W_OK):
        yield Path("/proc/sys")
    else:
        pytest.skip("running as root with no read-only folder to try")


def test_unwritable_location_fails_fast(unwritable, small):
    for name in ("r.html", "rep"):
        with pytest.raises(OutputPathError, match="no permission") as info:
            hpviz.report(small, unwritable / name, progress=_never_called)
        assert str(unwritable / name) in str(info.value)


def test_unknown_suffix_is_refused(tmp_path):
    with pytest.raises(SchemaError, match=r"\.html or \.pdf"):
        check_output_path(tmp_path / "report.txt")
    with pytest.raises(OutputPathError, match="expected dir"):
        check_output_path(tmp_path / "r.html", kinds=("dir",))


# --------------------------------------------------------------------------- accepted folders


def test_new_folder_gets_normal_permissions(tmp_path, small):
    out = hpviz.report(small, tmp_path / "rep", views=["progress"])
    assert out.stat().st_mode & 0o777 == 0o777 & ~_umask()
    assert (out / "progress.png").stat().st_mode & 0o777 == 0o666 & ~_umask()
    manifest = json.loads((out / MANIFEST).read_text())
    assert sorted(manifest["files"]) == ["index.html", "progress.png"] and "previous" not in manifest


def test_empty_user_folder_keeps_inode_mode_and_symlink(tmp_path, small):
    target = tmp_path / "mount"
    target.mkdir()
    target.chmod(0o751)
    link = tmp_path / "rep"
    link.symlink_to(target)
    inode = target.stat().st_ino
    hpviz.report(small, link, views=["progress", "tendrils"])
    hpviz.report(small, link, views=["progress"])  # again: tendrils.png was hpviz's, so it goes
    assert link.is_symlink() and target.stat().st_ino == inode and target.stat().st_mode & 0o777 == 0o751
    assert sorted(p.name for p in target.iterdir()) == [MANIFEST, "index.html", "progress.png"]


def test_tilde_is_expanded(tmp_path, small, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    out = hpviz.report(small, "~/r.html", views=["progress"])
    assert out == tmp_path / "r.html" and out.read_bytes().startswith(b"<!DOCTYPE html>")
    assert small.save("~/exp.json") == tmp_path / "exp.json"
    assert not (Path.cwd() / "~").exists()


def test_html_symlink_is_written_through_atomically(tmp_path, small):
    target = tmp_path / "shared" / "latest.html"
    target.parent.mkdir()
    target.write_text("old")
    target.chmod(0o640)
    link = tmp_path / "r.html"
    link.symlink_to(target)
    hpviz.report(small, link, views=["progress"])
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_bytes().startswith(b"<!DOCTYPE html>") and target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in target.parent.iterdir()) == ["latest.html"]


# --------------------------------------------------------------------------- crash safety


def test_interrupted_folder_write_leaves_complete_files_and_is_finished_next_time(tmp_path, small, monkeypatch):
    import hpviz._output as out_mod

    folder = tmp_path / "rep"
    write_report_folder(check_output_path(folder), {"a.png": b"A1", "b.png": b"B1", "index.html": b"I1"})
    real = out_mod.atomic_write
    calls = []

    def dies_after_one_file(path, data):
        if Path(path).name != MANIFEST:
            calls.append(Path(path).name)
            if len(calls) == 2:
                raise KeyboardInterrupt  # stands for a kill between two file replacements
        return real(path, data)

    monkeypatch.setattr(out_mod, "atomic_write", dies_after_one_file)
    with pytest.raises(KeyboardInterrupt):
        write_report_folder(check_output_path(folder), {"a.png": b"A2", "c.png": b"C2", "index.html": b"I2"})
    monkeypatch.setattr(out_mod, "atomic_write", real)
    # every file is complete, old or new; the folder is still accepted as hpviz's
    tree = _tree(folder)
    assert tree["a.png"] == b"A2" and tree["b.png"] == b"B1" and tree["index.html"] == b"I1"
    check_output_path(folder)
    write_report_folder(check_output_path(folder), {"a.png": b"A3", "index.html": b"I3"})
    assert {k: v for k, v in _tree(folder).items() if k != MANIFEST} == {"a.png": b"A3", "index.html": b"I3"}


def test_stale_temporaries_of_killed_writers_are_cleaned_and_live_ones_kept(tmp_path):
    fcntl = pytest.importorskip("fcntl")
    path = tmp_path / "exp.json"
    dead = tmp_path / f".exp.json{TMP_TAG}deadbeef"
    dead.write_bytes(b"x" * 1000)
    live = tmp_path / f".exp.json{TMP_TAG}cafef00d"
    live.write_bytes(b"y")
    other = tmp_path / ".exp.json.tmp"  # not hpviz's naming: never touched
    other.write_bytes(b"z")
    fd = os.open(live, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # a writer still at work
    try:
        atomic_write(path, "new")
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name, live.name, other.name])
    finally:
        os.close(fd)
    atomic_write(path, "newer")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name, other.name])


_SAVER = """
import sys
sys.path.insert(0, {root!r})
from hpviz.testing import make_experiment
exp = make_experiment(400, log_steps=200, seed=0)
print("ready", flush=True)
while True:
    exp.save({path!r})
"""


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_sigkill_during_save_keeps_the_old_file_and_the_next_save_cleans_up(tmp_path):
    path = tmp_path / "exp.json"
    original = make_experiment(3, seed=0).save(path).read_bytes()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for delay in (0.05, 0.2, 0.35):
        proc = subprocess.Popen([sys.executable, "-c", _SAVER.format(root=str(ROOT), path=str(path))],
                                stdout=subprocess.PIPE, env=env)
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        exp = hpviz.load(path)  # the old file or a complete new one, never half of one
        assert len(exp.trials) in (3, 400)
    make_experiment(3, seed=0).save(path)
    assert path.read_bytes() == original
    assert [p.name for p in tmp_path.iterdir()] == ["exp.json"]  # temporaries of the killed writers are gone


def test_concurrent_writers_and_checkers_of_one_folder_never_see_a_foreign_file(tmp_path):
    """Writers take the folder's lock, checks a shared one: a check never catches a write half-way."""
    import threading

    folder = tmp_path / "rep"
    big = b"x" * 2_000_000  # files large enough for writes and checks to overlap
    sets = [{"a.png": b"A%d" % i + big, "b.png": b"B%d" % i + big, "index.html": b"I%d" % i} if i % 2 else
            {"a.png": b"A%d" % i + big, "c.png": b"C%d" % i + big, "index.html": b"I%d" % i} for i in range(20)]
    errors = []

    def writer(offset):
        try:
            for files in sets[offset::2]:
                write_report_folder(check_output_path(folder), files)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    def checker():
        try:
            for _ in range(60):
                check_output_path(folder)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    write_report_folder(check_output_path(folder), sets[0])
    threads = [threading.Thread(target=writer, args=(k,)) for k in (0, 1)] + [threading.Thread(target=checker)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    names = sorted(p.name for p in folder.iterdir())
    assert names in ([MANIFEST, "a.png", "b.png", "index.html"], [MANIFEST, "a.png", "c.png", "index.html"])
