"""The build cache: simulator builds live in a folder the user owns, keyed by what is built.

An export folder may come from anyone, so nothing built is ever taken from it.
Builds go to ``$XDG_CACHE_HOME/lgn-hw`` (``~/.cache/lgn-hw``) or to a folder
the user names, one entry per key; the key is a hash of the source bytes, the
tool versions and the build options (:func:`build_key`). An entry is reused
only when its stamp carries a valid signature: an HMAC, under a secret kept in
the user's cache (mode 0600), over the key and the digest of every file the
entry holds. A stamp copied or written by someone else, an entry renamed to
another key, a file planted or changed after the build: each fails the check,
and the entry is removed and built again. Entries are locked while they are
checked and built, so concurrent runs do not build over each other.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import logging
import os
import secrets
import shutil
import stat
from pathlib import Path

__all__ = ["BuildCache", "build_key", "default_cache_root", "CacheError"]

log = logging.getLogger(__name__)

STAMP = ".lgn-build-stamp"
SECRET = "secret"
RUN_PREFIX = "run-"   # per-run folders inside an entry are not part of the build


class CacheError(ValueError):
    """The cache folder cannot be used (not a folder, not the user's, not writable); one line."""


def default_cache_root() -> Path:
    """``$XDG_CACHE_HOME/lgn-hw``, else ``~/.cache/lgn-hw``."""
    base = os.environ.get("XDG_CACHE_HOME")
    if not base or not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "lgn-hw"


def build_key(*parts) -> str:
    """A hex digest of ``parts`` (str or bytes), each length-prefixed so that no two lists collide."""
    h = hashlib.sha256()
    for part in parts:
        data = part if isinstance(part, bytes) else str(part).encode()
        h.update(len(data).to_bytes(8, "little") + data)
    return h.hexdigest()[:32]


def _make_private_dir(path: Path, what: str) -> Path:
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise CacheError(f"{what} {path}: cannot create ({exc.strerror})") from None
    st = os.stat(path)
    if not stat.S_ISDIR(st.st_mode):
        raise CacheError(f"{what} {path}: not a folder")
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        raise CacheError(f"{what} {path}: owned by another user (uid {st.st_uid}); use a folder of your own")
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not st.st_mode & stat.S_ISVTX:
        raise CacheError(f"{what} {path}: writable by others (mode {stat.S_IMODE(st.st_mode):o}); "
                         "chmod go-w it or use another folder")
    return path


def _secret() -> bytes:
    """The user's signing secret (created on first use in the default cache root, mode 0600)."""
    root = default_cache_root()
    try:
        _make_private_dir(root, "cache folder")
        path = root / SECRET
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(secrets.token_bytes(32))
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as fh:
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
                raise CacheError(f"{path}: must be a file of yours readable only by you (chmod 600)")
            value = fh.read(64)
        if len(value) >= 32:
            return value
        raise CacheError(f"{path}: too short to be a signing secret; delete it")
    except (CacheError, OSError) as exc:
        log.warning("no build-cache secret (%s): builds are not reused in this process", exc)
        return _PROCESS_SECRET


_PROCESS_SECRET = secrets.token_bytes(32)


def _tree_digest(entry: Path) -> str | None:
    """Digest of every file in ``entry`` (names, exec bits, bytes), or None when it holds a link or a special file."""
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(entry):
        rel = os.path.relpath(dirpath, entry)
        if rel == ".":
            dirnames[:] = [d for d in dirnames if not d.startswith(RUN_PREFIX)]
            filenames = [f for f in filenames if f != STAMP and not f.endswith(".lock")]
        dirnames.sort()
        for name in dirnames:
            if os.path.islink(os.path.join(dirpath, name)):
                return None
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            if not stat.S_ISREG(st.st_mode):
                return None
            h.update(f"{os.path.normpath(os.path.join(rel, name))}\0{st.st_mode & 0o111:o}\0".encode())
            with open(path, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
            h.update(b"\0")
    return h.hexdigest()


def _signature(key: str, digest: str) -> str:
    return hmac.new(_secret(), f"lgn-hw build\0{key}\0{digest}".encode(), hashlib.sha256).hexdigest()


class BuildCache:
    """A folder of builds: ``root`` (default :func:`default_cache_root`) / ``<name>``.

    >>> cache = BuildCache()                         # doctest: +SKIP
    >>> with cache.entry("icarus-" + key, key) as (folder, fresh):
    ...     if fresh:
    ...         build_into(folder)
    ...         cache.seal(folder, key)
    """

    def __init__(self, root=None, *, subfolder: str = "sim"):
        if root is None:
            self.root = _make_private_dir(default_cache_root() / subfolder, "cache folder")
        else:
            root = Path(root)
            if root.exists() and not root.is_dir():
                raise CacheError(f"build folder {root}: exists and is not a folder")
            try:
                root.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise CacheError(f"build folder {root}: cannot create ({exc.strerror})") from None
            self.root = root.resolve()

    @contextlib.contextmanager
    def entry(self, name: str, key: str):
        """Lock entry ``name``; yield ``(folder, fresh)``: ``fresh`` means build into it, then :meth:`seal`."""
        if not name or "/" in name or name.startswith("."):
            raise ValueError(f"cache entry name must be a plain name, not {name!r}")
        folder = self.root / name
        lock_fd = os.open(self.root / f"{name}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
            if self.valid(folder, key):
                log.info("reusing the build in %s", folder)
                yield folder, False
                return
            if os.path.lexists(folder):
                log.info("discarding %s: no valid stamp for this build", folder)
                if folder.is_symlink() or not folder.is_dir():
                    folder.unlink()
                else:
                    shutil.rmtree(folder)
            folder.mkdir(mode=0o700)
            yield folder, True
        finally:
            os.close(lock_fd)

    def valid(self, folder: Path, key: str) -> bool:
        """Whether ``folder`` is a real folder whose stamp signs ``key`` and exactly its current files."""
        if folder.is_symlink() or not folder.is_dir():
            return False
        try:
            fd = os.open(folder / STAMP, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            return False
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            return False
        with os.fdopen(fd, "rb") as fh:
            stamp = fh.read(256).decode("ascii", errors="replace").strip()
        digest = _tree_digest(folder)
        return digest is not None and hmac.compare_digest(stamp, _signature(key, digest))

    def seal(self, folder: Path, key: str) -> None:
        """Sign the finished build in ``folder`` for ``key``."""
        digest = _tree_digest(folder)
        if digest is None:
            raise CacheError(f"{folder}: the build holds a link or a special file; not cached")
        path = folder / STAMP
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(_signature(key, digest) + "\n")
