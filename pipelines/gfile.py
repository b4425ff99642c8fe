"""``tf.gfile`` / ``tf.io.gfile`` on fsspec: files and directories on any filesystem by URL.

Every function takes a local path or an fsspec URL (``memory://``, ``s3://bucket/key``,
``simplecache::s3://...``). Errors are TensorFlow's: a missing file or directory is ``NotFoundError``
(``<path>; No such file or directory``), renaming or copying onto an existing file without
``overwrite`` is ``AlreadyExistsError``. TF1's CamelCase names (``tf.gfile.Exists``) and TF2's
(``tf.io.gfile.exists``) are the same functions.

On object stores (S3) directories are key prefixes: ``makedirs`` is a no-op below the bucket, and a
"directory" exists once a key is under it, as with TensorFlow's S3 and GCS filesystems.

:class:`GFile` opens lazily (as TF's does: a missing file fails on the first read), in text (``"r"``,
``"w"``: str) or binary (``"rb"``, ``"wb"``: bytes) mode.
"""

from __future__ import annotations

import collections
import posixpath

from dataflow.errors import AlreadyExistsError, NotFoundError

from .files import expand, open_file, protocol_of, url_fs

__all__ = ["Copy", "DeleteRecursively", "Exists", "FastGFile", "FileStatistics", "GFile", "Glob", "IsDirectory",
           "ListDirectory", "MakeDirs", "MkDir", "Open", "Remove", "Rename", "Stat", "Walk", "copy", "exists",
           "glob", "isdir", "listdir", "makedirs", "mkdir", "remove", "rename", "rmtree", "stat", "walk"]

FileStatistics = collections.namedtuple("FileStatistics", ["length", "mtime_nsec", "is_directory"])


def _missing(path: str) -> NotFoundError:
    return NotFoundError(None, None, f"{path}; No such file or directory")


def _url(like: str, fs, path: str) -> str:
    """``path`` of ``fs`` as a URL in the style of ``like`` (a local path stays a path)."""
    if protocol_of(like) in (None, "file", "local") and "::" not in like:
        return path
    return (like.rsplit("::", 1)[0] + "::" if "::" in like else "") + fs.unstrip_protocol(path)


class GFile:
    """A file on any fsspec filesystem (``tf.gfile.GFile``, ``tf.io.gfile.GFile``).

    Parameters
    ----------
    name : str
        A path or URL.
    mode : str
        ``"r"``, ``"w"``, ``"a"`` (text) or with ``"b"`` (binary).

    Examples
    --------
    >>> with GFile("memory://gfile_doc/a.txt", "w") as f:
    ...     _ = f.write("one\\ntwo\\n")
    >>> [line for line in GFile("memory://gfile_doc/a.txt")]
    ['one\\n', 'two\\n']
    """

    def __init__(self, name: str, mode: str = "r"):
        if mode.replace("b", "").replace("+", "") not in ("r", "w", "a"):
            raise ValueError(f"Invalid mode {mode!r}")
        self.name, self.mode = name, mode
        self._binary = "b" in mode
        self._file = None

    def _open(self):
        if self._file is None:
            self._file = open_file(self.name, self.mode if self._binary else self.mode + "t",
                                   **({} if self._binary else {"encoding": "utf-8", "newline": ""}))
        return self._file

    def read(self, n: int = -1):
        """Up to ``n`` bytes/characters (all the rest by default)."""
        return self._open().read(n)

    def readline(self):
        return self._open().readline()

    def readlines(self) -> list:
        return self._open().readlines()

    def write(self, data):
        """Write str or bytes (converted to the file's mode, as TF's compat.as_bytes/as_str)."""
        if self._binary and isinstance(data, str):
            data = data.encode("utf-8")
        elif not self._binary and isinstance(data, (bytes, bytearray)):
            data = bytes(data).decode("utf-8")
        return self._open().write(data)

    def seek(self, offset=None, whence: int = 0, position=None):
        return self._open().seek(position if position is not None else offset, whence)

    def tell(self) -> int:
        return self._open().tell()

    def size(self) -> int:
        return stat(self.name).length

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __iter__(self):
        return iter(self._open())

    def __next__(self):
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    next = __next__

    def __enter__(self) -> "GFile":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


FastGFile = Open = GFile


def exists(path: str) -> bool:
    """Whether a file or directory exists at ``path``."""
    fs, p = url_fs(path)
    return fs.exists(p) or fs.isdir(p)


def glob(pattern) -> list:
    """The URLs matching a glob (or list of globs); ``[]`` when nothing matches."""
    try:
        return [u for u in expand(pattern) if exists(u)]
    except NotFoundError:
        return []


def isdir(path: str) -> bool:
    fs, p = url_fs(path)
    return fs.isdir(p)


def makedirs(path: str) -> None:
    """Create a directory and its parents (no error if it exists)."""
    fs, p = url_fs(path)
    fs.makedirs(p, exist_ok=True)


def mkdir(path: str) -> None:
    """Create one directory; its parent must exist (``NotFoundError``), itself must not."""
    fs, p = url_fs(path)
    parent = posixpath.dirname(p.rstrip("/"))
    protocols = (fs.protocol,) if isinstance(fs.protocol, str) else fs.protocol
    has_dirs = bool({"file", "local", "memory"} & set(protocols))    # object stores have only prefixes
    if has_dirs and parent and parent not in ("/", ".") and not fs.isdir(parent):
        raise _missing(path)
    if fs.exists(p):
        raise AlreadyExistsError(None, None, f"{path}; File exists")
    fs.makedirs(p, exist_ok=True)


def listdir(path: str) -> list:
    """The names (not paths) of the entries of a directory."""
    fs, p = url_fs(path)
    if not fs.isdir(p):
        raise _missing(path)
    base = p.rstrip("/")
    return sorted(posixpath.basename(e.rstrip("/")) for e in fs.ls(p, detail=False)
                  if e.rstrip("/") != base)


def remove(path: str) -> None:
    """Delete a file (``NotFoundError`` if there is none)."""
    fs, p = url_fs(path)
    if not fs.exists(p) or fs.isdir(p):
        raise _missing(path)
    fs.rm_file(p)


def rmtree(path: str) -> None:
    """Delete a directory and everything under it."""
    fs, p = url_fs(path)
    if not fs.exists(p):
        raise _missing(path)
    fs.rm(p, recursive=True)


def _source_and_target(old: str, new: str, overwrite: bool):
    """``(fs, path, new_fs, new_path)`` once ``old`` exists and ``new`` may be written."""
    fs, path = url_fs(old)
    if not fs.exists(path):
        raise _missing(old)
    if exists(new) and not overwrite:
        raise AlreadyExistsError(None, None, f"{new}; File already exists")
    return (fs, path) + tuple(url_fs(new))


def copy(oldpath: str, newpath: str, overwrite: bool = False) -> None:
    """Copy a file, across filesystems too (``AlreadyExistsError`` onto a file unless ``overwrite``)."""
    src_fs, src, dst_fs, dst = _source_and_target(oldpath, newpath, overwrite)
    if dst_fs is src_fs:
        src_fs.copy(src, dst)
        return
    with open_file(oldpath, "rb") as fin, open_file(newpath, "wb") as fout:
        while chunk := fin.read(1 << 22):
            fout.write(chunk)


def rename(oldname: str, newname: str, overwrite: bool = False) -> None:
    """Rename (move) a file or directory (``AlreadyExistsError`` onto a file unless ``overwrite``)."""
    fs, old, new_fs, new = _source_and_target(oldname, newname, overwrite)
    if new_fs is not fs:
        copy(oldname, newname, overwrite=True)
        remove(oldname)
        return
    if fs.exists(new):
        fs.rm_file(new)
    fs.mv(old, new, recursive=fs.isdir(old))


def stat(path: str) -> FileStatistics:
    """``FileStatistics(length, mtime_nsec, is_directory)``."""
    fs, p = url_fs(path)
    try:
        info = fs.info(p)
    except FileNotFoundError:
        raise _missing(path) from None
    mtime = info.get("mtime", info.get("LastModified", info.get("created", 0)))
    if hasattr(mtime, "timestamp"):
        mtime = mtime.timestamp()
    return FileStatistics(int(info.get("size") or 0), int(float(mtime or 0) * 1e9), info["type"] == "directory")


def walk(top: str, in_order: bool = True):
    """Yield ``(dirname, subdirectory names, file names)`` for ``top`` and every directory below it,
    parents first (``in_order``) or last."""
    fs, p = url_fs(top)
    if not fs.isdir(p):
        return
    entries = [(_url(top, fs, root), sorted(dirs), sorted(files)) for root, dirs, files in fs.walk(p)]
    yield from (entries if in_order else reversed(entries))


# TF 1.x's names
Copy, DeleteRecursively, Exists, Glob, IsDirectory = copy, rmtree, exists, glob, isdir
ListDirectory, MakeDirs, MkDir, Remove, Rename, Stat, Walk = listdir, makedirs, mkdir, remove, rename, stat, walk
