"""Every file and folder hpviz writes goes through here: path checks, atomic writes, report folders.

The rules (stated for users in docs/report.md, "Output paths"):

* An output path is checked before any work: ``~`` is expanded; the suffix
  picks the format (``.html``/``.htm``, ``.pdf``, or no suffix for a folder of
  PNGs); the parent folder must exist and be writable; a path under a regular
  file, or a file where a folder is expected (and the reverse), is refused. The
  message names the user's path, never a temporary file.
* A file is replaced atomically: the new bytes go to a temporary file of
  hpviz's own naming (``.<name>.hpviz-tmp-<random>``) in the same folder,
  flushed to disk, then renamed over the old file. A reader (or a crash at any
  point) sees the old file or the new one. A temporary left by a killed
  process is removed by the next write to that folder: a live writer holds an
  ``flock`` on its temporary, a dead one does not, so no PID, clock or age is
  involved. A symlinked output is written through: the link stays, its target
  is replaced atomically.
* A PNG-folder report goes only into a new folder, an empty folder, or a
  folder that holds exactly a previous hpviz report: the manifest
  ``.hpviz-report`` lists each file hpviz wrote with its size and SHA-256, and
  every entry in the folder must be in it with those contents. Anything else
  (a user file, a sub-folder, a file changed since, a copied or legacy
  marker without a manifest) is refused before any work, suggesting a fresh
  path. The folder itself is never moved, deleted or re-created: its inode,
  mode, owner and any symlink to it stay. Files are replaced one by one,
  atomically, ``index.html`` last; the manifest is first widened to accept old
  and new contents, so a crash at any point leaves a folder of complete files
  that the next report accepts and finishes.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import stat
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from hpviz.errors import SchemaError

try:  # POSIX: a live writer is told apart from a dead one by its lock
    import fcntl
except ImportError:  # pragma: no cover - Windows: fall back to the age of the temporary
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "OutputPathError",
    "OutputTarget",
    "check_output_path",
    "check_file_path",
    "atomic_write",
    "write_report_file",
    "write_report_folder",
    "MANIFEST",
    "TMP_TAG",
]

#: Name of the manifest of a PNG-folder report.
MANIFEST = ".hpviz-report"
MANIFEST_FORMAT = "hpviz-report-manifest"
#: Marks hpviz's own temporaries: ``.<name>.hpviz-tmp-<random>``.
TMP_TAG = ".hpviz-tmp-"
#: Without ``fcntl``, a temporary this old (seconds) is taken as left by a dead writer.
_STALE_AGE = 3600.0

FORMATS = {".html": "html", ".htm": "html", ".pdf": "pdf"}


class OutputPathError(SchemaError):
    """An output path hpviz will not write to (missing folder, not writable, a user's folder...).

    Raised before any work; the message names the path and what to do instead. A
    :class:`~hpviz.SchemaError` (so a ``ValueError``), as bad report paths always were.
    """


@dataclass(frozen=True)
class OutputTarget:
    """A checked output path: ``path`` as the user gave it (``~`` expanded), ``kind`` html | pdf | dir."""

    path: Path
    kind: str


# --------------------------------------------------------------------------- checks


def _expand(path: str | os.PathLike) -> Path:
    if isinstance(path, bytes) or not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"output path must be a str or os.PathLike, got {type(path).__name__}")
    text = os.fspath(path)
    if not text:
        raise OutputPathError("output path is empty: give a .html or .pdf file, or a folder")
    return Path(os.path.expanduser(text))


def _check_parent(folder: Path, shown: Path) -> None:
    """``folder`` must exist, be a folder, and be writable; errors name ``shown`` (the user's path)."""
    if not folder.is_dir():
        probe = folder
        while not os.path.lexists(probe) and probe.parent != probe:
            probe = probe.parent
        if os.path.lexists(probe) and not probe.is_dir():
            raise OutputPathError(f"cannot write {str(shown)!r}: {str(probe)!r} is a file, not a folder")
        raise OutputPathError(f"cannot write {str(shown)!r}: the folder {str(folder)!r} does not exist "
                              "(create it first, or choose another path)")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputPathError(f"cannot write {str(shown)!r}: no permission to write in {str(folder)!r}")


def _kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in FORMATS:
        return FORMATS[suffix]
    if suffix == "" or path.is_dir():
        return "dir"
    raise OutputPathError(f"report path {str(path)!r}: use a .html or .pdf file, or a folder (no suffix)")


def check_output_path(path: str | os.PathLike, *, kinds: tuple[str, ...] = ("html", "pdf", "dir")) -> OutputTarget:
    """Check an output path before any work; return it expanded, with its format.

    Parameters
    ----------
    path:
        ``.html``/``.htm`` or ``.pdf`` file, or a folder (no suffix, or an existing folder).
    kinds:
        The formats the caller accepts.

    Raises
    ------
    OutputPathError
        The path cannot or may not be written (see the module docstring); the message says why and what to do.
    """
    p = _expand(path)
    kind = _kind(p)
    if kind not in kinds:
        raise OutputPathError(f"output path {str(p)!r}: expected {' or '.join(kinds)}, got {kind}")
    if kind == "dir":
        if os.path.lexists(p):
            if not p.is_dir():
                what = "a broken symlink" if p.is_symlink() else "a file"
                raise OutputPathError(f"report folder {str(p)!r} is {what}: choose a folder path, "
                                      "or a .html/.pdf file name")
            real = Path(os.path.realpath(p))
            _check_parent(real, p)
            lock = _lock_folder(real, shared=True)  # not while another hpviz process is mid-write
            try:
                _folder_manifest(real, p)
            finally:
                if lock is not None:
                    os.close(lock)
        else:
            _check_parent(p.parent, p)
    else:
        real = _file_target(p)
        _check_parent(real.parent, p)
    return OutputTarget(p, kind)


def _file_target(p: Path) -> Path:
    """Where a file write to ``p`` lands: through a symlink to its target; refuse folders and special files."""
    real = Path(os.path.realpath(p)) if p.is_symlink() else p
    try:
        st = real.stat()
    except FileNotFoundError:
        return real
    except NotADirectoryError:
        return real  # _check_parent names the file in the way
    if stat.S_ISDIR(st.st_mode):
        raise OutputPathError(f"cannot write {str(p)!r}: it is a folder (choose a file name)")
    if not stat.S_ISREG(st.st_mode):
        raise OutputPathError(f"cannot write {str(p)!r}: it is not a regular file")
    return real


def check_file_path(path: str | os.PathLike) -> Path:
    """Check that a file may be written at ``path`` (any suffix); return it with ``~`` expanded.

    The parent folder must exist and be writable; a folder or a special file at ``path`` is refused;
    a symlink is fine (it is written through).
    """
    shown = _expand(path)
    _check_parent(_file_target(shown).parent, shown)
    return shown


# --------------------------------------------------------------------------- atomic files


def _holds_no_writer(path: Path) -> bool:
    """Whether a temporary of ours was left by a dead writer (a live one holds a lock on it)."""
    if fcntl is None:  # pragma: no cover
        try:
            return time.time() - path.stat().st_mtime > _STALE_AGE
        except OSError:
            return False
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return False
    os.close(fd)  # nobody held it; the unlink that follows is safe (see _create_temp)
    return True


def clean_stale_temporaries(folder: Path, name: str | None = None) -> list[str]:
    """Remove temporaries of hpviz's own naming in ``folder`` (for ``name`` only, if given) left by dead writers."""
    prefix = f".{name}{TMP_TAG}" if name is not None else "."
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(prefix) or TMP_TAG not in entry.name:
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
        except OSError:
            continue
        if _holds_no_writer(Path(entry.path)):
            try:
                os.unlink(entry.path)
                removed.append(entry.name)
            except OSError:
                pass
    return removed


def _read_umask() -> int:
    # os.umask can only be read by setting it: do it once, at import, not while callbacks run in threads.
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


_UMASK = _read_umask()


def _target_mode(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        return 0o666 & ~_UMASK


def _create_temp(target: Path, shown: Path) -> tuple[int, Path]:
    """Create and lock a fresh temporary next to ``target``.

    The lock is taken after the file exists; a cleaner that found it unlocked in between may have
    unlinked it, so the name is checked to still be ours once locked (else try another name).
    """
    for _ in range(8):
        tmp = target.parent / f".{target.name}{TMP_TAG}{secrets.token_hex(8)}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
        except FileExistsError:
            continue
        except OSError as exc:
            raise OutputPathError(f"cannot write {str(shown)!r}: {exc.strerror or exc}") from exc
        if fcntl is None:  # pragma: no cover
            return fd, tmp
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            if os.stat(tmp, follow_symlinks=False).st_ino == os.fstat(fd).st_ino:
                return fd, tmp
        except FileNotFoundError:
            pass
        os.close(fd)
    raise OutputPathError(f"cannot write {str(shown)!r}: could not create a temporary file next to it")


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: str | os.PathLike, data: bytes | str | Iterable[bytes | str]) -> Path:
    """Write ``data`` to ``path`` so a reader sees the old file or the new one, never half of one.

    ``data`` is bytes, a str (written as UTF-8), or an iterable of them written one after the other
    (a large file streamed without ever holding all of it in memory).

    The data goes to a locked temporary file of hpviz's naming in the same folder, is flushed to
    disk, then renamed over ``path`` (atomic on POSIX and Windows). The file keeps the old file's
    mode (a new one gets the mode a plain ``open()`` would give). A symlink is written through:
    the link stays and its target is replaced. Stale temporaries of earlier, killed writes of the
    same file are removed first. The parent folder must exist.

    Returns the path as given (``~`` expanded).
    """
    shown = check_file_path(path)
    target = _file_target(shown)
    clean_stale_temporaries(target.parent, target.name)
    mode = _target_mode(target)
    fd, tmp = _create_temp(target, shown)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, mode)
        else:  # pragma: no cover
            os.chmod(tmp, mode)
        for chunk in ([data] if isinstance(data, (bytes, bytearray, str)) else data):
            view = memoryview(chunk.encode("utf-8") if isinstance(chunk, str) else chunk)
            while view:
                view = view[os.write(fd, view):]
        os.fsync(fd)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        os.close(fd)
        raise
    os.close(fd)
    _fsync_dir(target.parent)
    return shown


def write_report_file(target: OutputTarget, data: bytes | str) -> Path:
    """Write a one-file report (``.html`` / ``.pdf``) atomically."""
    return atomic_write(target.path, data)


# --------------------------------------------------------------------------- report folders


def _digest(data: bytes) -> list:
    return [len(data), hashlib.sha256(data).hexdigest()]


def _file_digest(path: str) -> list | None:
    h = hashlib.sha256()
    size = 0
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                h.update(chunk)
                size += len(chunk)
    except OSError:
        return None
    return [size, h.hexdigest()]


def _fresh_suggestion(shown: Path) -> str:
    base = shown.name or "hpviz-report"
    for i in range(2, 1000):
        candidate = shown.parent / f"{base}-{i}"
        if not os.path.lexists(candidate):
            return str(candidate)
    return str(shown.parent / f"{base}-new")


def _refuse(shown: Path, why: str) -> OutputPathError:
    return OutputPathError(
        f"report folder {str(shown)!r} {why}; hpviz writes a folder report only into a new or empty folder or "
        f"one holding exactly an earlier hpviz report, and never deletes or overwrites other files: "
        f"choose a fresh path such as {_fresh_suggestion(shown)!r}")


def _read_manifest(folder: Path, shown: Path) -> dict[str, list[list]] | None:
    """Accepted contents per file name from the manifest (``None`` when there is none)."""
    mpath = folder / MANIFEST
    if not os.path.lexists(mpath):
        return None
    if mpath.is_symlink() or not mpath.is_file():
        raise _refuse(shown, f"has a {MANIFEST} that is not a regular file")
    try:
        raw = mpath.read_bytes()
        if len(raw) > 1 << 20:
            raise ValueError("too large")
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
            raise ValueError("not a manifest")
        accepted: dict[str, list[list]] = {}
        for key in ("files", "previous"):
            for name, digest in (data.get(key) or {}).items():
                if (not isinstance(name, str) or not isinstance(digest, list) or len(digest) != 2
                        or not isinstance(digest[0], int) or not isinstance(digest[1], str)):
                    raise ValueError("bad entry")
                accepted.setdefault(name, []).append(digest)
    except (OSError, ValueError, AttributeError, RecursionError):
        raise _refuse(shown, f"has a {MANIFEST} marker without a valid hpviz manifest (copied, or from an "
                             "older hpviz)") from None
    return accepted


def _folder_manifest(folder: Path, shown: Path) -> dict[str, list[list]]:
    """Check that ``folder`` is empty or holds exactly an hpviz report; return what the manifest accepts.

    Temporaries of hpviz's own naming are ignored (they are cleaned when the folder is written).
    """
    try:
        entries = list(os.scandir(folder))
    except OSError as exc:
        raise OutputPathError(f"cannot read report folder {str(shown)!r}: {exc.strerror or exc}") from exc
    names = [e for e in entries if e.name != MANIFEST and not (e.name.startswith(".") and TMP_TAG in e.name)]
    accepted = _read_manifest(folder, shown)
    if accepted is None:
        if names:
            shown_names = sorted(e.name + ("/" if e.is_dir(follow_symlinks=False) else "") for e in names)
            more = f" and {len(shown_names) - 5} more" if len(shown_names) > 5 else ""
            raise _refuse(shown, f"is not empty (it holds {', '.join(shown_names[:5])}{more}) and is not an "
                                 "hpviz report")
        return {}
    foreign = []
    for entry in names:
        if entry.name not in accepted or not entry.is_file(follow_symlinks=False):
            foreign.append(entry.name + ("/" if entry.is_dir(follow_symlinks=False) else ""))
        elif _file_digest(entry.path) not in accepted[entry.name]:
            foreign.append(f"{entry.name} (changed since hpviz wrote it)")
    if foreign:
        more = f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
        raise _refuse(shown, f"holds files hpviz did not write: {', '.join(sorted(foreign)[:5])}{more}")
    return accepted


def _write_manifest(folder: Path, files: Mapping[str, list], previous: Mapping[str, list] | None = None) -> None:
    data: dict = {"format": MANIFEST_FORMAT, "version": 1,
                  "note": "written by hpviz.report: the files it wrote (size, sha256); a later report replaces "
                          "only these, and refuses the folder if it holds anything else",
                  "files": dict(files)}
    if previous:
        data["previous"] = dict(previous)
    atomic_write(folder / MANIFEST, json.dumps(data, indent=1, sort_keys=True) + "\n")


def _lock_folder(folder: Path, *, shared: bool = False) -> int | None:
    """Serialize hpviz writers of one folder (other processes included), and checks against writes
    (``shared``); released when the fd closes."""
    if fcntl is None:  # pragma: no cover
        return None
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
    except OSError:
        os.close(fd)
        return None
    return fd


def write_report_folder(target: OutputTarget, files: Mapping[str, bytes], *, last: str = "index.html") -> Path:
    """Write a PNG-folder report: ``files`` (plain names -> bytes) into ``target.path`` by the folder rule.

    The folder is re-checked here (it may have changed while the report rendered). The manifest is
    first widened to accept the old and the new contents, then each file is replaced atomically
    (``last`` at the end, so an ``index.html`` never points to images older than itself), files of
    the previous report that are not in this one are removed, and the manifest is narrowed to the
    new files. The folder is never moved or re-created.
    """
    shown = target.path
    for name in files:
        if not name or "/" in name or os.sep in name or name.startswith(".") or name in (".", ".."):
            raise ValueError(f"report file names must be plain visible names, got {name!r}")
    try:
        os.mkdir(shown)
    except FileExistsError:
        pass
    except OSError as exc:
        raise OutputPathError(f"cannot create report folder {str(shown)!r}: {exc.strerror or exc}") from exc
    if not shown.is_dir():
        raise OutputPathError(f"report folder {str(shown)!r} is not a folder")
    folder = Path(os.path.realpath(shown))
    lock = _lock_folder(folder)
    try:
        accepted = _folder_manifest(folder, shown)
        clean_stale_temporaries(folder)
        new = {name: _digest(data) for name, data in files.items()}
        on_disk = {}
        for name in accepted:
            if os.path.lexists(folder / name):
                on_disk[name] = _file_digest(str(folder / name))
        # Widen: every state from here to the end holds files the manifest accepts.
        if accepted or on_disk:
            _write_manifest(folder, new, {k: v for k, v in on_disk.items() if v is not None})
        else:
            _write_manifest(folder, new)
        order = [n for n in files if n != last] + ([last] if last in files else [])
        for name in order:
            if on_disk.get(name) != new[name]:
                atomic_write(folder / name, files[name])
        for name in on_disk:
            if name not in new:
                try:
                    os.unlink(folder / name)
                except FileNotFoundError:
                    pass
        _write_manifest(folder, new)
    finally:
        if lock is not None:
            os.close(lock)
    return shown

