"""Fuzzing the TFRecord reader: flipped and truncated bytes never crash it and never return wrong data.

Seeded cases over uncompressed, GZIP and ZLIB files, with a small read block so records straddle
refills. Each case must read exactly a prefix of the intact records and then raise DataLossError, or
read them all. Uncompressed cases are checked more sharply: a flipped byte fails at the record that holds
it; a cut ends quietly (TF's end of file) only when it falls at a record's start or inside its 12-byte
header, else fails with "truncated record" at that record.
"""

import io

import numpy as np
import pytest

import dataflow as tf
from pipelines import records
from pipelines.records import RecordReader, TFRecordWriter


def _file(rng, compression, fixed=False):
    sizes = [40] * 60 if fixed else rng.choice([0, 1, 7, 40, 300, 2500], size=24)
    data = [rng.bytes(int(n)) for n in sizes]
    buf = io.BytesIO()
    with TFRecordWriter(buf, compression) as w:
        for d in data:
            w.write(d)
    return data, buf.getvalue()


def _read(blob: bytes, compression):
    got = []
    reader = RecordReader(io.BytesIO(blob), "fuzz", compression)
    try:
        while (record := reader.read()) is not None:
            got.append(record)
    except tf.errors.DataLossError as e:
        return got, e
    return got, None


def _starts(data):
    return np.cumsum([0] + [len(d) + 16 for d in data])


@pytest.mark.parametrize("compression,fixed", [(None, False), (None, True), ("GZIP", False), ("ZLIB", True)])
def test_flips_and_cuts(compression, fixed, monkeypatch):
    monkeypatch.setattr(records, "BLOCK", 512 if not fixed else 1500)   # fixed: runs of equal lengths
    rng = np.random.default_rng({None: 11, "GZIP": 12, "ZLIB": 13}[compression] + fixed)
    data, blob = _file(rng, compression, fixed)
    starts = _starts(data)
    cases = 300 if compression is None else 150
    outcomes = {True: 0, False: 0}
    for case in range(cases):
        mutated = bytearray(blob)
        kind = ("flip", "cut", "both")[case % 3]
        flip_at = cut_at = None
        if kind in ("flip", "both"):
            flip_at = int(rng.integers(0, len(blob)))
            mutated[flip_at] ^= int(rng.integers(1, 256))
        if kind in ("cut", "both"):
            cut_at = int(rng.integers(0, len(blob)))
            del mutated[cut_at:]
        got, error = _read(bytes(mutated), compression)
        k = len(got)
        assert got == data[:k], f"case {case}: wrong data returned"
        if error is None:
            if compression is None and k < len(data):
                assert cut_at is not None and starts[k] <= cut_at < starts[k] + 12, f"case {case}: silent loss"
            elif compression is not None:
                assert k == len(data), f"case {case}: compressed stream lost records silently"
            continue
        assert "fuzz" in str(error)
        outcomes[k < len(data)] += 1
        if compression is None:
            if flip_at is not None and (cut_at is None or flip_at < cut_at):
                assert starts[k] <= flip_at < starts[k + 1], f"case {case}: failed at the wrong record"
            elif cut_at is not None:
                assert starts[k] + 12 <= cut_at < starts[k + 1]
                assert f"truncated record at {starts[k]}'" in str(error)
    assert outcomes[True] > cases // 2                   # most cases do fail, after a prefix


def test_huge_lengths_stay_bounded():
    """A length field of petabytes with a valid checksum reads the rest of the file only."""
    import tracemalloc

    rng = np.random.default_rng(5)
    data, blob = _file(rng, None)
    mutated = bytearray(blob)
    at = int(_starts(data)[3])
    mutated[at:at + 8] = (1 << 52).to_bytes(8, "little")
    mutated[at + 8:at + 12] = records.masked_crc(bytes(mutated[at:at + 8])).to_bytes(4, "little")
    tracemalloc.start()
    got, error = _read(bytes(mutated), None)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert got == data[:3] and error is not None
    assert peak < 64 * len(blob) + (4 << 20)
