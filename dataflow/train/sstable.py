"""LevelDB's table format (an SSTable): the ``.index`` file of a TensorFlow V2 checkpoint.

A table maps sorted byte keys to byte values. Its layout, written and read here byte for byte as
LevelDB (and TensorFlow's ``core/lib/io/table_builder.cc``) lay it out::

    [data block 0] [data block 1] ... [metaindex block] [index block] [footer: 48 bytes]

* A **block** holds entries ``varint32 shared | varint32 non_shared | varint32 value_len |
  key[shared:] | value``: a key stores only the bytes that differ from the previous key (prefix
  compression), except at a *restart point* (every 16 entries), where ``shared`` is 0. The block
  ends with the restart offsets (``uint32`` each) and their count (``uint32``).
* Each block on disk is followed by a 5-byte **trailer**: a compression type (0 none, 1 snappy) and
  the *masked* crc32c of the block contents and the type byte.
* The **index block** maps, for each data block, a key >= every key of that block (its last key
  here) to the block's handle (``varint64 offset | varint64 size``); the **metaindex** block is empty.
* The **footer** holds the metaindex and index handles, zero padding to 40 bytes, and the magic
  number ``0xdb4775248b80fb57`` (little endian).

Reading validates everything (magic, every block's crc32c, every length against the bytes that are
there) and raises :class:`~dataflow.errors.DataLossError` naming the file: a truncated or tampered
index is reported, never a crash or a wrong key. Snappy blocks (LevelDB's default; TensorFlow writes
uncompressed ones) are decompressed by :func:`snappy_decompress`, a small pure-Python decoder.
"""

from __future__ import annotations

import struct

from ..framework.errors import DataLossError

MAGIC = 0xDB4775248B80FB57
FOOTER_SIZE = 48
BLOCK_SIZE = 4096
RESTART_INTERVAL = 16
_MASK_DELTA = 0xA282EAD8


def crc32c(data: bytes, crc: int = 0) -> int:
    """The crc32c (Castagnoli) of ``data``, extending ``crc``; by google-crc32c (imported on first use)."""
    try:
        import google_crc32c
    except ImportError:
        raise ImportError("Checkpoints need google-crc32c: pip install google-crc32c") from None
    return google_crc32c.extend(crc, bytes(data))


def mask(crc: int) -> int:
    """LevelDB's and TFRecord's masking of a crc: rotated right by 15 bits plus a constant."""
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    return mask(crc32c(data))


def unmask_crc32c(masked: int) -> int:
    rot = (masked - _MASK_DELTA) & 0xFFFFFFFF
    return ((rot >> 17) | (rot << 15)) & 0xFFFFFFFF


def encode_varint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def decode_varint(buf: bytes, pos: int, limit: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= limit or shift > 63:
            raise ValueError("bad varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            if b == 0 and shift:  # an overlong encoding: no writer emits one, so the byte was damaged
                raise ValueError("non-canonical varint")
            return result, pos
        shift += 7


# ---- writing ----------------------------------------------------------------------------------
class _BlockBuilder:
    def __init__(self):
        self.buf = bytearray()
        self.restarts = [0]
        self.count = 0
        self.last = b""

    def add(self, key: bytes, value: bytes) -> None:
        shared = 0
        if self.count < RESTART_INTERVAL:
            limit = min(len(key), len(self.last))
            while shared < limit and key[shared] == self.last[shared]:
                shared += 1
        else:
            self.restarts.append(len(self.buf))
            self.count = 0
        self.buf += encode_varint(shared) + encode_varint(len(key) - shared) + encode_varint(len(value))
        self.buf += key[shared:] + value
        self.last = key
        self.count += 1

    def finish(self) -> bytes:
        tail = b"".join(struct.pack("<I", r) for r in self.restarts) + struct.pack("<I", len(self.restarts))
        return bytes(self.buf) + tail


def _emit(out: bytearray, contents: bytes) -> bytes:
    """Append a block and its trailer to ``out``; return its handle."""
    handle = encode_varint(len(out)) + encode_varint(len(contents))
    out += contents + b"\x00" + struct.pack("<I", masked_crc32c(contents + b"\x00"))
    return handle


def shortest_separator(start: bytes, limit: bytes) -> bytes:
    """A short key in ``[start, limit)`` (LevelDB's ``BytewiseComparator::FindShortestSeparator``)."""
    n = min(len(start), len(limit))
    i = 0
    while i < n and start[i] == limit[i]:
        i += 1
    if i < n and start[i] < 0xFF and start[i] + 1 < limit[i]:
        return start[:i] + bytes([start[i] + 1])
    return start


def short_successor(key: bytes) -> bytes:
    """A short key ``>= key`` (LevelDB's ``FindShortSuccessor``: the first byte below 0xff, plus one)."""
    for i, b in enumerate(key):
        if b != 0xFF:
            return key[:i] + bytes([b + 1])
    return key


def build_table(items) -> bytes:
    """The bytes of a table holding ``items``, (key, value) byte pairs in strictly increasing key order.

    As LevelDB's (and TensorFlow's) TableBuilder, a block's index key is a short separator between its
    last key and the next block's first (the last block's, a short successor), so the bytes are TF's.
    """
    out = bytearray()
    index = _BlockBuilder()
    block = _BlockBuilder()
    previous, pending = None, None
    for key, value in items:
        if previous is not None and key <= previous:
            raise ValueError(f"table keys must be strictly increasing: {key!r} after {previous!r}")
        if pending is not None:
            index.add(shortest_separator(previous, key), pending)
            pending = None
        previous = key
        block.add(key, value)
        if len(block.buf) >= BLOCK_SIZE:
            pending = _emit(out, block.finish())
            block = _BlockBuilder()
    if block.buf or previous is None:
        pending = _emit(out, block.finish())
    index.add(short_successor(previous or b""), pending)
    meta_handle = _emit(out, _BlockBuilder().finish())
    index_handle = _emit(out, index.finish())
    footer = meta_handle + index_handle
    out += footer + b"\x00" * (40 - len(footer)) + struct.pack("<Q", MAGIC)
    return bytes(out)


# ---- reading ----------------------------------------------------------------------------------
def snappy_decompress(buf: bytes) -> bytes:
    """Decode a raw snappy stream (``varint length`` then literal and copy elements)."""
    n, pos = decode_varint(buf, 0, len(buf))
    out = bytearray()
    while pos < len(buf):
        tag = buf[pos]
        pos += 1
        kind = tag & 3
        if kind == 0:
            length = tag >> 2
            if length >= 60:
                nbytes = length - 59
                length = int.from_bytes(buf[pos:pos + nbytes], "little")
                pos += nbytes
            length += 1
            if pos + length > len(buf):
                raise ValueError("snappy literal runs past the end")
            out += buf[pos:pos + length]
            pos += length
            continue
        if kind == 1:
            length, offset = ((tag >> 2) & 7) + 4, ((tag >> 5) << 8) | buf[pos]
            pos += 1
        else:
            nbytes = 2 if kind == 2 else 4
            length, offset = (tag >> 2) + 1, int.from_bytes(buf[pos:pos + nbytes], "little")
            pos += nbytes
        if offset == 0 or offset > len(out):
            raise ValueError("snappy copy offset out of range")
        for _ in range(length):  # byte by byte: a copy may overlap its own output
            out.append(out[-offset])
    if len(out) != n:
        raise ValueError("snappy length mismatch")
    return bytes(out)


def _block(data: bytes, handle: bytes, what: str) -> bytes:
    offset, pos = decode_varint(handle, 0, len(handle))
    size, _ = decode_varint(handle, pos, len(handle))
    end = offset + size
    if end + 5 > len(data):
        raise ValueError(f"{what} block [{offset}, {end}) runs past the end of the file")
    contents, kind = data[offset:end], data[end]
    (crc,) = struct.unpack_from("<I", data, end + 1)
    if masked_crc32c(contents + bytes([kind])) != crc:
        raise ValueError(f"{what} block at offset {offset}: crc32c mismatch")
    if kind == 1:
        return snappy_decompress(contents)
    if kind != 0:
        raise ValueError(f"{what} block at offset {offset}: unknown compression type {kind}")
    return contents


def _entries(block: bytes):
    if len(block) < 4:
        raise ValueError("block too short")
    (n_restarts,) = struct.unpack_from("<I", block, len(block) - 4)
    limit = len(block) - 4 * (n_restarts + 1)
    if limit < 0:
        raise ValueError("bad restart count")
    pos, key = 0, b""
    while pos < limit:
        shared, pos = decode_varint(block, pos, limit)
        unshared, pos = decode_varint(block, pos, limit)
        vlen, pos = decode_varint(block, pos, limit)
        if shared > len(key) or pos + unshared + vlen > limit:
            raise ValueError("block entry runs past its block")
        key = key[:shared] + block[pos:pos + unshared]
        pos += unshared
        yield key, block[pos:pos + vlen]
        pos += vlen


def read_table(data: bytes, filename: str) -> dict[bytes, bytes]:
    """All (key, value) pairs of the table in ``data``; DataLossError naming ``filename`` if corrupt."""
    try:
        if len(data) < FOOTER_SIZE:
            raise ValueError(f"file too short ({len(data)} bytes) to be an sstable")
        footer = data[-FOOTER_SIZE:]
        if struct.unpack_from("<Q", footer, 40)[0] != MAGIC:
            raise ValueError("not an sstable (bad magic number)")
        _, pos = decode_varint(footer, 0, 40)
        _, pos = decode_varint(footer, pos, 40)
        for _ in _entries(_block(data, footer[:pos], "metaindex")):  # checked, though nothing is read from it
            pass
        index_handle = footer[pos:40]
        _, end = decode_varint(index_handle, 0, len(index_handle))
        _, end = decode_varint(index_handle, end, len(index_handle))
        if any(index_handle[end:]):
            raise ValueError("footer padding is not zero")
        index = _block(data, index_handle, "index")
        table: dict[bytes, bytes] = {}
        previous = None
        for _, handle in _entries(index):
            for key, value in _entries(_block(data, handle, "data")):
                if previous is not None and key <= previous:
                    raise ValueError("keys out of order")
                table[key] = value
                previous = key
        return table
    except (ValueError, IndexError, struct.error) as e:
        raise DataLossError(None, None, f"Corrupted checkpoint index file {filename}: {e}") from None
