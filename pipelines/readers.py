"""Reading files record by record, for tf.data's file datasets and TF1's reader ops.

One generator per file format yields ``(key, value)`` pairs from one fsspec URL, with TF's keys:

- TFRecord: ``"file:offset"`` (the record's byte offset, through :class:`pipelines.records.RecordReader`);
- text lines: ``"file:line"`` (1-based, header lines counted), lines without their ``\\n`` / ``\\r\\n``;
- fixed-length records: ``"file:index"`` after ``header_bytes``, stopping before ``footer_bytes``;
- whole files: ``"file"`` and the file's bytes.

:class:`ReaderState` is a TF1 reader in a session: it takes file names from a queue (blocking on the
queue's dequeue) and reads them one after another. The datasets (:class:`TFRecordDataset`,
:class:`TextLineDataset`, :class:`FixedLengthRecordDataset`) iterate over the values of the same
generators, interleaving ``num_parallel_reads`` files, each read ahead by a thread.
"""

from __future__ import annotations

import gzip
import io
import threading
import zlib

import numpy as np

from dataflow.framework import dtypes, errors
from dataflow.framework.tensor_shape import TensorShape

from . import files
from .datasets import Dataset, _interleave, _read_ahead, _tensor, epoch_counter
from .functions import Structure, skeleton


# ---- per-file record generators ------------------------------------------------------------------
def tfrecord_values(url: str, compression=None):
    """The records of one TFRecord file, without keys (the datasets' fast path)."""
    from .records import RecordReader

    with files.open_file(url, "rb") as f:
        yield from RecordReader(f, url, compression or None)


def tfrecord_records(url: str, compression=None):
    from .records import RecordReader

    with files.open_file(url, "rb") as f:
        reader = RecordReader(f, url, compression or None)
        while True:
            offset = reader.offset
            record = reader.read()
            if record is None:
                return
            yield f"{url}:{offset}".encode(), record


def _open_stream(url: str, compression=None):
    f = files.open_file(url, "rb")
    kind = (compression or "").upper()
    if kind == "GZIP":
        return gzip.GzipFile(fileobj=f)
    if kind == "ZLIB":
        return io.BytesIO(zlib.decompress(f.read()))
    if kind:
        raise errors.InvalidArgumentError(None, None, f"Unsupported compression_type: {compression}")
    return f


def text_lines(url: str, compression=None, skip_header_lines: int = 0):
    with _open_stream(url, compression) as f:
        for n, line in enumerate(f, 1):
            if n <= skip_header_lines:
                continue
            if line.endswith(b"\n"):
                line = line[:-2] if line.endswith(b"\r\n") else line[:-1]
            yield f"{url}:{n}".encode(), line


def fixed_length_records(url: str, record_bytes: int, header_bytes=0, footer_bytes=0, hop_bytes=0,
                         compression=None):
    with _open_stream(url, compression) as f:
        data = f.read()
    body = data[header_bytes:len(data) - footer_bytes if footer_bytes else len(data)]
    step = hop_bytes or record_bytes
    for i, start in enumerate(range(0, len(body) - record_bytes + 1, step)):
        yield f"{url}:{i}".encode(), body[start:start + record_bytes]


def whole_file(url: str):
    with files.open_file(url, "rb") as f:
        yield url.encode(), f.read()


def _names(value) -> list[str]:
    arr = np.asarray(value, dtype=object).reshape(-1)
    return [v.decode() if isinstance(v, bytes) else str(v) for v in arr]


# ---- TF1 readers ------------------------------------------------------------------------------------
class ReaderState:
    """A TF1 reader in one session: reads the files named by a queue's elements, one after another.

    Parameters
    ----------
    name : str
        The reader op's name.
    records : callable
        ``records(url) -> iterator of (key, value)``.
    """

    def __init__(self, name: str, records):
        self.name = name
        self._records = records
        self._current = None
        self._lock = threading.Lock()
        self.num_records_produced = 0
        self.num_work_units_completed = 0

    def read_up_to(self, queue, n: int, at_least_one: bool = True):
        """Up to ``n`` (key, value) pairs; fewer only when the queue closes (OutOfRangeError when none)."""
        keys, values = [], []
        with self._lock:
            while len(keys) < n:
                if self._current is None:
                    try:
                        name = queue.dequeue()[0]
                    except errors.OutOfRangeError:
                        if keys:
                            break
                        raise
                    name = name.decode() if isinstance(name, bytes) else str(name)
                    self._current = iter(self._records(name))
                pair = next(self._current, None)
                if pair is None:
                    self._current = None
                    self.num_work_units_completed += 1
                    if keys and not at_least_one:
                        break
                    continue
                keys.append(pair[0])
                values.append(pair[1])
            self.num_records_produced += len(keys)
        return keys, values

    def reset(self):
        with self._lock:
            self._current = None
            self.num_records_produced = 0
            self.num_work_units_completed = 0

    def cancel(self):
        self._current = None


# ---- datasets ---------------------------------------------------------------------------------------
class _FileDataset(Dataset):
    """Values of one record generator over every file, ``num_parallel_reads`` files interleaved."""

    def __init__(self, filenames, num_parallel_reads=None):
        if isinstance(filenames, Dataset):
            raise TypeError("pass file names as a string, a list or a string tensor "
                            "(for a dataset of names use .interleave)")
        t = _tensor(filenames, dtypes.string)
        if t.shape.ndims not in (0, 1, None):
            raise ValueError(f"`filenames` must be a scalar or a vector, got shape {t.shape}")
        self._tensors = (t,)
        self._parallel = int(num_parallel_reads or 1)
        self.structure = Structure(skeleton(b""), [dtypes.string], [TensorShape([])])

    def _file_values(self, url):
        """The values of one file's records."""
        raise NotImplementedError

    def _iterate(self, values):
        urls = _names(values[self._tensors[0]])
        if self._parallel <= 1:
            for url in urls:
                for v in self._file_values(url):
                    yield (v,)
            return
        sources = (_read_ahead(((v,) for v in self._file_values(u)), 256) for u in urls)
        yield from _interleave(sources, self._parallel, 1)


class TFRecordDataset(_FileDataset):
    """``tf.data.TFRecordDataset(filenames, compression_type, buffer_size, num_parallel_reads)``:
    the records of TFRecord files (fsspec URLs), CRC-checked; DataLossError names file and offset."""

    def __init__(self, filenames, compression_type=None, buffer_size=None, num_parallel_reads=None):
        super().__init__(filenames, num_parallel_reads)
        self._compression = compression_type or None

    def _file_values(self, url):
        return tfrecord_values(url, self._compression)


class TextLineDataset(_FileDataset):
    """``tf.data.TextLineDataset(filenames, compression_type, buffer_size, num_parallel_reads)``: lines."""

    def __init__(self, filenames, compression_type=None, buffer_size=None, num_parallel_reads=None):
        super().__init__(filenames, num_parallel_reads)
        self._compression = compression_type or None

    def _file_values(self, url):
        return (v for _, v in text_lines(url, self._compression))


class FixedLengthRecordDataset(_FileDataset):
    """``tf.data.FixedLengthRecordDataset(filenames, record_bytes, header_bytes, footer_bytes, buffer_size,
    compression_type, num_parallel_reads)``: records of ``record_bytes`` bytes."""

    def __init__(self, filenames, record_bytes, header_bytes=None, footer_bytes=None, buffer_size=None,
                 compression_type=None, num_parallel_reads=None):
        super().__init__(filenames, num_parallel_reads)
        if int(record_bytes) <= 0:
            raise ValueError("record_bytes must be positive")
        self._args = (int(record_bytes), int(header_bytes or 0), int(footer_bytes or 0))
        self._compression = compression_type or None

    def _file_values(self, url):
        r, h, f = self._args
        return (v for _, v in fixed_length_records(url, r, h, f, compression=self._compression))


class _ListFilesDataset(Dataset):
    def __init__(self, patterns, shuffle, seed):
        from dataflow.ops.random import get_seed

        self._tensors = (_tensor(patterns, dtypes.string),)
        self._shuffle = True if shuffle is None else bool(shuffle)
        s1, s2 = get_seed(seed)
        self._seed = None if s1 is None else [s1, s2 or 0]
        self.structure = Structure(skeleton(b""), [dtypes.string], [TensorShape([])])

    def _iterate(self, values):
        names = files.expand(_names(values[self._tensors[0]]))
        if self._shuffle:
            seed = None if self._seed is None else self._seed + [next(epoch_counter(values, self))]
            np.random.default_rng(seed).shuffle(names)
        for n in names:
            yield (n.encode(),)


def list_files(file_pattern, shuffle=None, seed=None) -> Dataset:
    return _ListFilesDataset(file_pattern, shuffle, seed)
