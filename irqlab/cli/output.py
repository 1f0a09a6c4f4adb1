"""Every file a command writes goes through :func:`open_output`.

* A regular file, or a name that does not exist yet, is written to a temporary
  file in the same directory and renamed over the target when complete
  (``rename(2)`` is atomic within a file system), so readers never see half a
  file and a failed or interrupted write leaves the old file, or nothing.
* A symlink is followed: the file it points to is written, the link stays.
* A character device or FIFO (``/dev/null``, ``/dev/stdout``, a named pipe,
  ``/dev/full``) is written through, never replaced by a regular file.
* A block device, socket or directory is refused: writing a trace over a disk
  is never what was meant.
* Any ``OSError`` (``ENOSPC``, ``EACCES``, ``EROFS`` ...) becomes one
  :class:`~irqlab.cli.errors.InputError` naming the option and the file (exit 2).
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Literal, overload

from irqlab.cli.errors import InputError


def output_error(err: OSError, path: str | os.PathLike[str], option: str | None = None) -> InputError:
    """One line naming the option and file that could not be written."""
    where = f"{option} {path}" if option else str(path)
    return InputError(f"cannot write: {err.strerror or err}", source=where)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@overload
def open_output(path: str | os.PathLike[str], *, binary: Literal[False] = False,
                option: str | None = None) -> contextlib.AbstractContextManager[IO[str]]: ...


@overload
def open_output(path: str | os.PathLike[str], *, binary: Literal[True],
                option: str | None = None) -> contextlib.AbstractContextManager[IO[bytes]]: ...


def open_output(path: str | os.PathLike[str], *, binary: bool = False,
                option: str | None = None) -> contextlib.AbstractContextManager[IO[Any]]:
    """Open ``path`` for writing (text in UTF-8 unless ``binary``), as the module
    docstring says; ``option`` (e.g. ``"--trace"``) names it in errors.  The file
    is complete when the ``with`` block ends without an exception; on an
    exception (Ctrl-C included) a renamed target is left untouched."""
    return _open_output(path, binary, option)


@contextmanager
def _open_output(path: str | os.PathLike[str], binary: bool, option: str | None) -> Iterator[IO[Any]]:
    target = Path(os.path.realpath(path))  # a symlink is followed, never replaced
    try:
        try:
            mode: int | None = os.stat(target).st_mode
        except FileNotFoundError:
            mode = None
        if mode is None or stat.S_ISREG(mode):
            with _replacing(target, mode, binary) as f:
                yield f
        elif stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
            with _open(os.open(target, os.O_WRONLY), binary) as f:
                yield f
        else:
            kind = ("a directory" if stat.S_ISDIR(mode) else "a block device"
                    if stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode)
                    else "not a regular file")
            raise InputError(f"is {kind}: refusing to write over it",
                             source=f"{option} {path}" if option else str(path))
    except OSError as err:
        raise output_error(err, path, option) from None


def _open(fd: int, binary: bool) -> IO[Any]:
    if binary:
        return os.fdopen(fd, "wb")
    return os.fdopen(fd, "w", encoding="utf-8")


@contextmanager
def _replacing(target: Path, mode: int | None, binary: bool) -> Iterator[IO[Any]]:
    """A temporary file next to ``target``, renamed over it on success and
    removed on failure; keeps the permissions of the file it replaces (a new
    file gets 0666 less the umask, as ``open(2)`` would give it)."""
    import tempfile  # only when writing a file: start-up

    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        os.fchmod(fd, stat.S_IMODE(mode) if mode is not None else 0o666 & ~_umask())
        with _open(fd, binary) as f:
            yield f
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
