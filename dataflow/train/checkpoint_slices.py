"""Slices of partitioned variables in TensorFlow's V2 checkpoints, and the keys that name them.

TensorFlow saves a partitioned variable as ONE logical tensor: the index holds an entry under the full
name with the full dtype and shape, no data, and one ``TensorSliceProto`` per saved slice (field 7,
``slices``: per axis an extent ``start`` and, unless the slice takes the whole axis, ``length``). Each
slice's bytes are an ordinary entry under a binary key (TF's ``checkpoint::EncodeTensorNameSlice``)::

    OrderedCode.WriteNumIncreasing(0)            b"\\x00"        (sorts before every plain name)
    OrderedCode.WriteString(name)                name, 0x00 -> 00 ff, 0xff -> ff 00, then 00 01
    OrderedCode.WriteNumIncreasing(rank)         a length byte, then big-endian bytes
    per axis: WriteSignedNumIncreasing(start), WriteSignedNumIncreasing(length)   (-1: the whole axis)

A reader asks for the full name and gets the slices assembled; a restore of one part takes its
rows of that (so a checkpoint restores into any partitioning of the same full shape).
"""

from __future__ import annotations

import numpy as np

# kLengthToHeaderBits of TF's OrderedCode: the header bits of a signed number of 1..10 bytes
_HEADER = [(0, 0), (0x80, 0), (0xC0, 0), (0xE0, 0), (0xF0, 0), (0xF8, 0), (0xFC, 0), (0xFE, 0), (0xFF, 0),
           (0xFF, 0x80), (0xFF, 0xC0)]


def _num_increasing(v: int) -> bytes:
    body = v.to_bytes((v.bit_length() + 7) // 8, "big") if v else b""
    return bytes([len(body)]) + body


def _escape(s: bytes) -> bytes:
    out = bytearray()
    for c in s:
        out += b"\x00\xff" if c == 0 else b"\xff\x00" if c == 0xFF else bytes([c])
    return bytes(out)


def _signed_increasing(v: int) -> bytes:
    x = ~v if v < 0 else v
    if x < 64:
        return bytes([(_HEADER[1][0] ^ v) & 0xFF])
    n = x.bit_length() // 7 + 1  # TF's kBitsToLength: bits + 1 (the sign) in 7 bits per byte
    buf = bytearray((v & ((1 << 80) - 1)).to_bytes(10, "big"))
    begin = buf[10 - n:]
    begin[0] ^= _HEADER[n][0]
    begin[1] ^= _HEADER[n][1]
    return bytes(begin)


def slice_key(name: str, starts, lengths) -> bytes:
    """The index key of one slice of tensor ``name`` (TF's ``EncodeTensorNameSlice``)."""
    out = _num_increasing(0) + _escape(name.encode()) + b"\x00\x01" + _num_increasing(len(starts))
    for s, n in zip(starts, lengths):
        out += _signed_increasing(int(s)) + _signed_increasing(int(n))
    return out


def is_slice_key(key: bytes) -> bool:
    return key[:1] == b"\x00"


def slice_proto(proto_cls, starts, lengths):
    """A ``TensorSliceProto`` of explicit extents (as TF's Saver writes a SaveSliceInfo's spec)."""
    proto = proto_cls()
    for s, n in zip(starts, lengths):
        ext = proto.extent.add()
        if s:
            ext.start = int(s)
        ext.length = int(n)
    return proto


def slice_bounds(proto, full_shape) -> tuple[list, list, list]:
    """``(starts, lengths, key lengths)`` of a ``TensorSliceProto``: a missing length is the whole axis
    (its key says -1)."""
    starts, lengths, key_lengths = [], [], []
    for ext, full in zip(proto.extent, full_shape):
        has = ext.HasField("length")
        starts.append(ext.start)
        lengths.append(ext.length if has else full - ext.start)
        key_lengths.append(ext.length if has else -1)
    return starts, lengths, key_lengths


def region(starts, lengths) -> tuple:
    """The NumPy index of a slice."""
    return tuple(slice(s, s + n) for s, n in zip(starts, lengths))


def assemble(full_shape, dtype, pieces) -> np.ndarray:
    """The full tensor from ``[(starts, lengths, array)]`` slices (object arrays for strings)."""
    out = np.zeros(full_shape, dtype=dtype)
    for starts, lengths, arr in pieces:
        out[region(starts, lengths)] = arr
    return out
