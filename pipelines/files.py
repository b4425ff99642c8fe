"""Files and shards on fsspec: every path is a local path or an fsspec URL (``memory://``, ``s3://``,
``simplecache::s3://``...), and every pattern may be a glob.

:func:`open_file` opens one file, turning a missing file into TensorFlow's ``NotFoundError``;
:func:`expand` turns patterns (``data/train-*-of-00016.tfrecord``) or lists of them into the sorted list
of URLs that readers, queues and datasets iterate over. The URLs keep their protocol (and any chained
``simplecache::`` prefix), so each can be opened again anywhere, by any worker of a cluster.
"""

from __future__ import annotations

import os

from dataflow.errors import NotFoundError

__all__ = ["expand", "open_file", "protocol_of", "url_fs"]

_GLOB_CHARS = "*?["


def url_fs(url: str):
    """``(filesystem, path)`` for a URL or local path (a chained URL's outer filesystem).

    fsspec is imported here, on first use, so ``import dataflow`` does not pay for it."""
    from fsspec.core import url_to_fs

    return url_to_fs(url)


def protocol_of(url: str) -> str | None:
    """The protocol of a URL (of its innermost part when chained), None for a plain path."""
    from fsspec.core import split_protocol

    return split_protocol(url.rsplit("::", 1)[-1])[0]


def _to_url(pattern: str, fs, path: str) -> str:
    """A matched filesystem ``path`` as a URL like ``pattern`` (keeping chains such as ``simplecache::``)."""
    if "::" in pattern:
        return pattern.rsplit("::", 1)[0] + "::" + fs.unstrip_protocol(path)
    if protocol_of(pattern) is None and not os.path.isabs(pattern):
        return os.path.relpath(path)                   # a relative pattern gives relative paths, as TF
    if protocol_of(pattern) in (None, "file", "local"):
        return path
    return fs.unstrip_protocol(path)


def open_file(url: str, mode: str = "rb", **kwargs):
    """Open ``url`` with fsspec; a missing file is ``NotFoundError`` naming it (TF's message)."""
    try:
        if "r" in mode:
            fs, path = url_fs(url)
            if not fs.exists(path):
                raise FileNotFoundError(url)
        import fsspec

        return fsspec.open(url, mode, **kwargs).open()
    except FileNotFoundError as e:
        raise NotFoundError(None, None, f"{url}; No such file or directory") from e


def expand(patterns) -> list[str]:
    """The sorted, de-duplicated URLs matching a pattern or a list of patterns.

    Parameters
    ----------
    patterns : str or iterable of str
        Paths, fsspec URLs or globs. A name without glob characters is kept as given (even if the file
        does not exist yet: opening it reports NotFoundError); a glob that matches nothing is
        ``NotFoundError``.

    Returns
    -------
    list of str
        URLs with their protocol, sorted.

    Examples
    --------
    >>> expand("memory://shards/train-*-of-00002.tfrecord")  # doctest: +SKIP
    ['memory://shards/train-00000-of-00002.tfrecord', 'memory://shards/train-00001-of-00002.tfrecord']
    """
    if isinstance(patterns, (str, bytes)):
        patterns = [patterns]
    out = set()
    for pattern in patterns:
        if isinstance(pattern, bytes):
            pattern = pattern.decode()
        if not any(c in pattern for c in _GLOB_CHARS):
            out.add(pattern)
            continue
        fs, path = url_fs(pattern)
        matches = fs.glob(path)
        if not matches:
            raise NotFoundError(None, None, f"No files matched pattern: {pattern}")
        out.update(_to_url(pattern, fs, m) for m in matches)
    return sorted(out)
