"""Safe output files: never overwrite without permission, never leave a partial file.

Every file CodecLab writes goes through :func:`atomic_write`: the bytes go to a temporary
file in the destination folder, which is then renamed over the destination in one step
(``os.replace`` is atomic on POSIX and Windows). A crash or an error part-way leaves the
destination as it was.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from codeclab.errors import InputError


def check_output_path(path: str | os.PathLike, *, force: bool = False) -> Path:
    """Refuse an existing output (unless ``force``) or a missing folder, before any work."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"output {path} is a directory")
    if path.exists() and not force:
        raise InputError(f"output {path} exists (use --force to overwrite)")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"output folder {parent} does not exist")
    return path


def _default_mode() -> int:
    """The permissions a plain ``open(path, "w")`` would give (0o666 less the umask)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and an atomic rename."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, _default_mode())  # mkstemp creates 0600 files
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def read_bytes(path: str | os.PathLike, *, what: str = "file", max_size: int = 1 << 32) -> bytes:
    """Read a whole input file, turning OS errors into one-line ``InputError`` messages."""
    path = Path(path)
    try:
        if path.is_dir():
            raise InputError(f"{what} {path} is a directory")
        size = path.stat().st_size
        if size > max_size:
            raise InputError(f"{what} {path} is larger than {max_size} bytes")
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{what} {path} does not exist") from None
    except PermissionError:
        raise InputError(f"{what} {path} is not readable (permission denied)") from None
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
