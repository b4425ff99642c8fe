"""TFRecord files: TensorFlow's record framing, read and written on fsspec file objects.

A TFRecord file is a sequence of records, each framed as::

    uint64 length               (little endian)
    uint32 masked_crc32c(length bytes)
    byte   data[length]
    uint32 masked_crc32c(data)

where ``masked(crc) = ((crc >> 15) | (crc << 17)) + 0xa282ead8`` (mod 2**32), CRC-32C (Castagnoli) as
computed by ``google_crc32c``. The whole stream may be compressed as one GZIP or ZLIB stream; offsets
are then positions in the *uncompressed* stream, as in TensorFlow.

Reading (:class:`RecordReader`) works on large blocks: the file is read ``BLOCK`` bytes at a time into
one buffer, and all the complete records of the buffer are decoded at once (:func:`_scan_block`: NumPy
gathers and compares the headers and checksums; a record's CRC is computed on the bytes object returned
for it), so there is neither a system call nor much Python per record. A record never makes the reader
ask for more than the file holds: a corrupt length field (say 2**60) reads the rest of the file, in
bounded chunks, and reports the record as truncated rather than allocating the length.

Errors follow TensorFlow's ``RecordReader`` exactly:

- a header (12 bytes) cut short is the end of the file (TF reads it as OutOfRange, i.e. end of input);
- a header whose length checksum fails: ``DataLossError("corrupted record at <record offset>")``;
- data or its checksum cut short: ``DataLossError("truncated record at <record offset>' failed with Read
  less bytes than requested")`` (TF's wording, stray quote included);
- data whose checksum fails: ``DataLossError("corrupted record at <data offset>")`` (record offset + 12);
- a GZIP/ZLIB stream that is corrupt, or cut before its end marker, is ``DataLossError`` too (after the
  records decoded before the damage), so a cut at a record boundary never silently drops records.

Each message is prefixed with the file's name. After an error the reader stays at the failing record.

Writing (:class:`TFRecordWriter`) frames records into a buffer that is written (through a zlib compressor
when asked: level 6, memLevel 9, as TensorFlow's ``ZlibCompressionOptions``) in large blocks. The writer
is deterministic: the same records give the same bytes, and uncompressed files are byte-identical to
TensorFlow's.
"""

from __future__ import annotations

import struct
import zlib
from typing import BinaryIO, Iterator

import google_crc32c
import numpy as np

from dataflow.errors import DataLossError, InvalidArgumentError

from . import files

__all__ = ["RecordReader", "TFRecordCompressionType", "TFRecordOptions", "TFRecordWriter",
           "masked_crc", "tf_record_iterator"]

BLOCK = 1 << 20          # bytes read from the file (or decompressed) at a time
_MAX_CHUNK = 16 << 20    # the largest single read while collecting a long record
_HEADER = 12
_FOOTER = 4
_MASK_DELTA = 0xA282EAD8
_crc = google_crc32c.value
_unpack_header = struct.Struct("<QI").unpack_from
_pack_u64 = struct.Struct("<Q").pack
_pack_u32 = struct.Struct("<I").pack
_unpack_u64 = struct.Struct("<Q").unpack_from
_HEAD_COLS = np.arange(_HEADER)
_LEN_COLS = np.arange(8)
_FOOT_COLS = np.arange(_FOOTER)


def masked_crc(data) -> int:
    """TFRecord's masked CRC-32C of ``data`` (bytes)."""
    crc = _crc(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


class TFRecordCompressionType:
    """The compression of a TFRecord file: ``NONE``, ``ZLIB`` or ``GZIP`` (TF's enum values)."""

    NONE = 0
    ZLIB = 1
    GZIP = 2


_NAMES = {TFRecordCompressionType.NONE: "", TFRecordCompressionType.ZLIB: "ZLIB",
          TFRecordCompressionType.GZIP: "GZIP"}
_WBITS = {"ZLIB": zlib.MAX_WBITS, "GZIP": zlib.MAX_WBITS | 16}


class TFRecordOptions:
    """Options for reading and writing TFRecord files (``tf.io.TFRecordOptions``).

    Parameters
    ----------
    compression_type : {None, "", "ZLIB", "GZIP"} or TFRecordCompressionType value
        How the whole file is compressed.
    compression_level : int, optional
        zlib level 0-9 for writing (-1, the default, is zlib's 6).
    mem_level, window_bits, compression_strategy
        zlib parameters for writing (TensorFlow's defaults: 9, 15, 0).
    flush_mode, input_buffer_size, output_buffer_size, compression_method
        Accepted for compatibility; the block sizes here are fixed.

    Examples
    --------
    >>> opts = TFRecordOptions("GZIP")
    >>> TFRecordOptions.get_compression_type_string(opts)
    'GZIP'
    """

    compression_type_map = {TFRecordCompressionType.ZLIB: "ZLIB", TFRecordCompressionType.GZIP: "GZIP",
                            TFRecordCompressionType.NONE: ""}

    def __init__(self, compression_type=None, flush_mode=None, input_buffer_size=None,
                 output_buffer_size=None, window_bits=None, compression_level=None,
                 compression_method=None, mem_level=None, compression_strategy=None):
        self.compression_type = _compression_name(compression_type)
        self.flush_mode = flush_mode
        self.input_buffer_size = input_buffer_size
        self.output_buffer_size = output_buffer_size
        self.window_bits = window_bits
        self.compression_level = compression_level
        self.compression_method = compression_method
        self.mem_level = mem_level
        self.compression_strategy = compression_strategy

    @classmethod
    def get_compression_type_string(cls, options) -> str:
        """``""``, ``"ZLIB"`` or ``"GZIP"`` for options, a string, an enum value or None."""
        if isinstance(options, TFRecordOptions):
            return options.compression_type
        return _compression_name(options)

    def _compressor(self):
        wbits = self.window_bits or zlib.MAX_WBITS
        if self.compression_type == "GZIP":
            wbits |= 16
        level = -1 if self.compression_level is None else self.compression_level
        mem = 9 if self.mem_level is None else self.mem_level
        return zlib.compressobj(level, zlib.DEFLATED, wbits, mem, self.compression_strategy or 0)


def _compression_name(value) -> str:
    if value is None:
        return ""
    if isinstance(value, TFRecordOptions):
        return value.compression_type
    if isinstance(value, int) and value in _NAMES:
        return _NAMES[value]
    if isinstance(value, str) and value.upper() in ("", "NONE", "ZLIB", "GZIP"):
        return "" if value.upper() == "NONE" else value.upper()
    raise InvalidArgumentError(None, None, f"Unsupported compression_type: {value!r}; "
                                           "expected '', 'ZLIB' or 'GZIP'")


class RecordReader:
    """Reads TFRecord records from an open binary file object, in large blocks.

    Parameters
    ----------
    fileobj : binary file object
        Any object with ``read(n)`` (a local file, an fsspec file, ``io.BytesIO``), positioned at the
        start of the record stream. The reader does not close it.
    name : str
        The file's name, used in error messages.
    compression : str, TFRecordOptions or None
        ``""``/None, ``"ZLIB"`` or ``"GZIP"``.

    Attributes
    ----------
    offset : int
        The (uncompressed) byte offset of the next record to read.

    Examples
    --------
    >>> import io
    >>> buf = io.BytesIO()
    >>> with TFRecordWriter(buf) as w:
    ...     w.write(b"hello")
    >>> _ = buf.seek(0)
    >>> r = RecordReader(buf, "mem")
    >>> r.read(), r.offset, r.read()
    (b'hello', 21, None)
    """

    def __init__(self, fileobj: BinaryIO, name: str = "<stream>", compression=None):
        self._file = fileobj
        self.name = name
        kind = _compression_name(compression)
        self._inflater = zlib.decompressobj(_WBITS[kind]) if kind else None
        self._wbits = _WBITS.get(kind)
        self._eof = False
        self._stream_cut = False     # the compressed stream ended before its end marker
        self._buf = b""
        self._pos = 0                # where the next unscanned record starts in self._buf
        self._pending: list = []     # records scanned from the buffer, not yet returned
        self._next = 0               # index of the next pending record
        self._error = None           # the DataLossError met after the pending records
        self._header_crcs: dict = {}  # length -> masked CRC of its 8 bytes (lengths repeat)
        self.offset = 0

    def read(self) -> bytes | None:
        """The next record, or None at the end of the file; DataLossError on a corrupt record (again on
        every later call: the reader stays at the bad record)."""
        if self._next == len(self._pending) and not self._scan():
            return None
        record = self._pending[self._next]
        self._next += 1
        self.offset += len(record) + _HEADER + _FOOTER
        return record

    def read_block(self) -> list[bytes]:
        """All the records decoded from the current block (``[]`` at the end of the file): the fast
        way through a file. ``offset`` moves past all of them."""
        if self._next == len(self._pending) and not self._scan():
            return []
        out = self._pending[self._next:] if self._next else self._pending
        self._next = len(self._pending)
        self.offset += sum(map(len, out)) + (_HEADER + _FOOTER) * len(out)
        return out

    def __iter__(self) -> Iterator[bytes]:
        while block := self.read_block():
            yield from block

    def read_batch(self, n: int) -> list[bytes]:
        """Up to ``n`` records (fewer only at the end of the file)."""
        out = []
        for _ in range(n):
            record = self.read()
            if record is None:
                break
            out.append(record)
        return out

    # -- block input -------------------------------------------------------------------------------

    def _raw(self, n: int) -> bytes:
        """Up to ``n`` more bytes of the uncompressed stream (b"" at its end)."""
        if self._inflater is None:
            return self._file.read(n)
        out = []
        size = 0
        while size < n:
            if self._inflater.unconsumed_tail:
                chunk = self._inflater.decompress(self._inflater.unconsumed_tail, n - size)
            else:
                if self._inflater.eof:
                    rest = self._inflater.unused_data
                    if not rest:
                        rest = self._file.read(BLOCK)
                        if not rest:
                            break
                    self._inflater = zlib.decompressobj(self._wbits)   # a next gzip member
                    chunk = self._inflater.decompress(rest, n - size)
                else:
                    data = self._file.read(BLOCK)
                    if not data:
                        chunk = self._inflater.flush()
                        self._stream_cut = not self._inflater.eof
                        out.append(chunk)
                        size += len(chunk)
                        break
                    chunk = self._inflater.decompress(data, n - size)
            out.append(chunk)
            size += len(chunk)
        return b"".join(out)

    def _fill(self, need: int) -> bool:
        """Make ``need`` bytes available from ``self._pos``; False when the stream ends first."""
        have = len(self._buf) - self._pos
        if have >= need:
            return True
        parts = [self._buf[self._pos:]]
        while have < need and not self._eof:
            try:
                chunk = self._raw(min(max(BLOCK, need - have), _MAX_CHUNK))
            except zlib.error as e:
                raise DataLossError(None, None, f"{self.name}: corrupted compressed stream at or after "
                                                f"{self.offset}: {e}") from e
            if not chunk:
                self._eof = True
                break
            parts.append(chunk)
            have += len(chunk)
        self._buf = b"".join(parts)
        self._pos = 0
        return have >= need

    def _scan(self) -> bool:
        """Decode the complete records of the buffer into ``_pending`` (reading more input as needed);
        False at the end of the file. A bad record is raised once the records before it are taken."""
        if self._error is not None:
            raise self._error
        self._pending, self._next = [], 0
        while not self._pending:
            if not self._fill(_HEADER):
                if self._stream_cut:
                    self._error = DataLossError(None, None, f"{self.name}: truncated compressed stream "
                                                            f"after record at {self.offset}")
                    raise self._error
                return False                             # no full header: end of file, as in TF
            error, need = self._scan_buffer()
            if self._pending:
                self._error = error
                return True
            if error is not None:
                self._error = error
                raise error
            if need and not self._fill(need):            # a record longer than the buffer
                self._error = DataLossError(None, None, f"{self.name}: truncated record at {self.offset}' "
                                                        "failed with Read less bytes than requested")
                raise self._error
        return True

    def _scan_buffer(self):
        """Append each complete, checked record of ``_buf`` from ``_pos`` to ``_pending``. Returns
        ``(error or None, bytes needed for the next, incomplete record or 0)``."""
        buf, pos, out = self._buf, self._pos, self._pending
        end, offset = len(buf), self.offset
        records, pos, bad = _scan_block(buf, pos, self._header_crcs)
        out += records
        offset += sum(map(len, records)) + (_HEADER + _FOOTER) * len(records)
        if bad is not None:
            self._pos = pos
            return DataLossError(None, None, f"{self.name}: corrupted record at {offset + bad}"), 0
        self._pos = pos
        if end - pos < _HEADER:
            return None, 0
        # what is left is one incomplete record (its header checked here) or the start of a header
        length, len_crc = _unpack_header(buf, pos)
        if masked_crc(buf[pos:pos + 8]) != len_crc:
            return DataLossError(None, None, f"{self.name}: corrupted record at {offset}"), 0
        return None, _HEADER + length + _FOOTER


def _scan_block(buf: bytes, pos: int, header_crcs: dict):
    """Decode the complete records of ``buf`` from ``pos`` with few Python steps per record.

    One tight loop follows the length fields to find where records start (a run of equal lengths is
    checked with one NumPy comparison and taken at once: fixed-size records cost no loop steps); then
    NumPy gathers every
    header and footer at once, the length checksums come from ``header_crcs`` (one CRC per distinct
    length), the data checksums from one ``map`` of the CRC over the record slices, and NumPy compares
    them all. Returns ``(good records, position after them, None)``, or with the bad record's error
    offset relative to its start (0: its length checksum failed, 12: its data checksum) in place of
    None; its position is then that record's start.
    """
    starts, end = [], len(buf)
    unpack = _unpack_u64
    arr = np.frombuffer(buf, dtype=np.uint8)
    previous = -1
    while end - pos >= _HEADER:
        length = unpack(buf, pos)[0]
        step = length + _HEADER + _FOOTER
        if length == previous and (end - pos) // step >= 8:
            # a run of equal lengths (fixed-size records): check the next length fields at once
            run = pos + step * np.arange((end - pos) // step)
            same = arr[run[:, None] + _LEN_COLS].copy().view("<u8").ravel() == length
            count = int(np.argmin(same)) if not same.all() else len(same)
            starts.extend(range(pos, pos + step * count, step))
            pos += step * count
            previous = -1
            continue
        if pos + step > end:
            break
        starts.append(pos)
        pos += step
        previous = length
    if not starts:
        return [], pos, None
    at = np.array(starts, dtype=np.int64)
    heads = arr[at[:, None] + _HEAD_COLS]
    lengths = heads[:, :8].copy().view("<u8").ravel().astype(np.int64)
    stored_len_crcs = heads[:, 8:].copy().view("<u4").ravel()
    distinct, inverse = np.unique(lengths, return_inverse=True)
    for n in distinct.tolist():
        if n not in header_crcs:
            header_crcs[n] = masked_crc(_pack_u64(n))
    want_len_crcs = np.array([header_crcs[n] for n in distinct.tolist()], dtype=np.uint32)[inverse.ravel()]
    data_at = at + _HEADER
    stored_crcs = arr[(data_at + lengths)[:, None] + _FOOT_COLS].copy().view("<u4").ravel()
    records = [buf[a:b] for a, b in zip(data_at.tolist(), (data_at + lengths).tolist())]
    crcs = np.fromiter(map(_crc, records), dtype=np.uint64, count=len(records))
    masked = (((crcs >> 15) | (crcs << 17)) + _MASK_DELTA) & 0xFFFFFFFF
    bad_len = want_len_crcs != stored_len_crcs
    bad = np.nonzero(bad_len | (masked != stored_crcs))[0]
    if len(bad) == 0:
        if len(header_crcs) > 4096:
            header_crcs.clear()
        return records, pos, None
    k = int(bad[0])
    return records[:k], starts[k], 0 if bad_len[k] else _HEADER


def tf_record_iterator(path: str, options=None) -> Iterator[bytes]:
    """Yield the records of a TFRecord file (``tf.io.tf_record_iterator``).

    Parameters
    ----------
    path : str
        A local path or fsspec URL (``memory://x.tfrecord``, ``s3://bucket/x.tfrecord``...).
    options : TFRecordOptions, str or None
        The compression (``"GZIP"``, ``"ZLIB"``).

    Yields
    ------
    bytes
        Each record; a corrupt record raises ``DataLossError`` naming the file and byte offset.

    Examples
    --------
    >>> for record in tf_record_iterator("memory://doc.tfrecord"):  # doctest: +SKIP
    ...     print(len(record))
    """
    with files.open_file(path, "rb") as f:
        reader = RecordReader(f, path, options)
        while block := reader.read_block():
            yield from block


class TFRecordWriter:
    """Writes records to a TFRecord file (``tf.io.TFRecordWriter``).

    Parameters
    ----------
    path : str or binary file object
        A local path or fsspec URL to create (truncating it), or an open binary file (not closed by
        :meth:`close`).
    options : TFRecordOptions, str or None
        The compression (``"GZIP"``, ``"ZLIB"``) and zlib parameters.

    Examples
    --------
    >>> with TFRecordWriter("memory://doc.tfrecord") as w:
    ...     w.write(b"one")
    ...     w.write(b"two")
    >>> list(tf_record_iterator("memory://doc.tfrecord"))
    [b'one', b'two']
    """

    def __init__(self, path, options=None):
        opts = options if isinstance(options, TFRecordOptions) else TFRecordOptions(options)
        if hasattr(path, "write"):
            self._file, self._owns = path, False
            self.name = getattr(path, "name", "<stream>")
        else:
            self._file, self._owns = files.open_file(path, "wb"), True
            self.name = path
        self._zip = opts._compressor() if opts.compression_type else None
        self._parts: list[bytes] = []
        self._size = 0
        self._closed = False

    def write(self, record) -> None:
        """Append one record (bytes, or a str encoded as UTF-8)."""
        if self._closed:
            raise ValueError(f"TFRecordWriter for {self.name} is closed")
        if isinstance(record, str):
            record = record.encode()
        header = _pack_u64(len(record))
        self._parts += (header, _pack_u32(masked_crc(header)), record, _pack_u32(masked_crc(record)))
        self._size += len(record) + _HEADER + _FOOTER
        if self._size >= BLOCK:
            self._drain()

    def _drain(self) -> None:
        data = b"".join(self._parts)
        self._parts, self._size = [], 0
        if self._zip is not None:
            data = self._zip.compress(data)
        if data:
            self._file.write(data)

    def flush(self) -> None:
        """Write buffered records to the file (compressed data up to a zlib sync point)."""
        self._drain()
        if self._zip is not None:
            self._file.write(self._zip.flush(zlib.Z_SYNC_FLUSH))
        self._file.flush()

    def close(self) -> None:
        """Write everything and close the file (finishing the compressed stream)."""
        if self._closed:
            return
        self._drain()
        if self._zip is not None:
            self._file.write(self._zip.flush(zlib.Z_FINISH))
        self._closed = True
        if self._owns:
            self._file.close()
        else:
            self._file.flush()

    def __enter__(self) -> "TFRecordWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
