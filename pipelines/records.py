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
one buffer and records are sliced out of it, so there is no system call per record; a record's CRC is computed on
the bytes object returned for it (one copy). A record never makes the reader ask for more than the file holds: a corrupt
length field (say 2**60) reads the rest of the file, in bounded chunks, and reports the record as
truncated rather than allocating the length.

Errors follow TensorFlow's ``RecordReader`` exactly:

- a header (12 bytes) cut short is the end of the file (TF reads it as OutOfRange, i.e. end of input);
- a header whose length checksum fails: ``DataLossError("corrupted record at <record offset>")``;
- data or its checksum cut short: ``DataLossError("truncated record at <record offset>' failed with Read
  less bytes than requested")`` (TF's wording, stray quote included);
- data whose checksum fails: ``DataLossError("corrupted record at <data offset>")`` (record offset + 12).

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
_unpack_u32 = struct.Struct("<I").unpack_from
_pack_u64 = struct.Struct("<Q").pack
_pack_u32 = struct.Struct("<I").pack


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
        self._buf = b""
        self._pos = 0            # position of self.offset within self._buf
        self.offset = 0
        self._gen = self._records()

    def read(self) -> bytes | None:
        """The next record, or None at the end of the file; DataLossError on a corrupt record."""
        try:
            return next(self._gen)
        except StopIteration:
            self._gen = iter(())
            return None
        except DataLossError:
            self._gen = self._records()   # a later read fails again at the same record
            raise

    def __iter__(self) -> Iterator[bytes]:
        while True:
            record = self.read()
            if record is None:
                return
            yield record

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
                        try:
                            chunk = self._inflater.flush()
                        except zlib.error as e:
                            raise DataLossError(None, None, f"{self.name}: corrupted compressed "
                                                            f"stream: {e}") from e
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

    def _records(self) -> Iterator[bytes]:
        """The record loop; keeps ``self.offset`` at the next record."""
        while True:
            if not self._fill(_HEADER):
                return                                   # no full header: end of file, as in TF
            buf, pos = self._buf, self._pos
            end = len(buf)
            while end - pos >= _HEADER:
                length, len_crc = _unpack_header(buf, pos)
                if masked_crc(buf[pos:pos + 8]) != len_crc:
                    self._pos = pos
                    raise DataLossError(None, None, f"{self.name}: corrupted record at {self.offset}")
                stop = pos + _HEADER + length
                if stop + _FOOTER > end:
                    break                                # needs more input
                record = buf[pos + _HEADER:stop]
                if masked_crc(record) != _unpack_u32(buf, stop)[0]:
                    self._pos = pos
                    raise DataLossError(None, None,
                                        f"{self.name}: corrupted record at {self.offset + _HEADER}")
                self.offset += stop + _FOOTER - pos
                pos = stop + _FOOTER
                self._pos = pos
                yield record
            self._pos = pos
            if end - pos >= _HEADER:                     # a record longer than the buffer
                length = _unpack_header(buf, pos)[0]
                if not self._fill(_HEADER + length + _FOOTER):
                    raise DataLossError(None, None, f"{self.name}: truncated record at {self.offset}' "
                                                    "failed with Read less bytes than requested")


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
        yield from RecordReader(f, path, options)


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
