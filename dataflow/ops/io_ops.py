"""TF1 readers as graph ops: ``tf.TFRecordReader``, ``tf.TextLineReader``, ``tf.WholeFileReader``,
``tf.FixedLengthRecordReader``.

A reader op (``TFRecordReaderV2`` ...) outputs a handle to a :class:`pipelines.readers.ReaderState`
kept by the session. ``ReaderReadV2(reader, queue)`` returns the next ``(key, value)``, taking a new
file name from the queue (blocking) whenever the current file is done; OutOfRangeError once the queue
is closed and drained. ``ReaderReadUpToV2`` returns up to ``num_records`` pairs as vectors.
"""

from __future__ import annotations

import functools

import numpy as np

from ..framework import dtypes
from ..framework.graph import convert_to_tensor, get_default_graph, make_op
from ..framework.registry import OpDef, register
from ..framework.tensor_shape import TensorShape

__all__ = ["FixedLengthRecordReader", "ReaderBase", "TFRecordReader", "TextLineReader", "WholeFileReader"]

from .data_flow_ops import _HANDLE, _STATEFUL  # noqa: E402  (a handle output; stateful, no gradient)


def _records_for(op):
    from pipelines import readers

    a = op.attrs
    if op.type == "TFRecordReaderV2":
        return functools.partial(readers.tfrecord_records, compression=a.get("compression_type") or None)
    if op.type == "TextLineReaderV2":
        return functools.partial(readers.text_lines, skip_header_lines=a.get("skip_header_lines", 0))
    if op.type == "FixedLengthRecordReaderV2":
        return functools.partial(readers.fixed_length_records, record_bytes=a["record_bytes"],
                                 header_bytes=a["header_bytes"], footer_bytes=a["footer_bytes"],
                                 hop_bytes=a["hop_bytes"], compression=a.get("encoding") or None)
    return readers.whole_file


def _bind_reader(op, state):
    from pipelines.readers import ReaderState

    return {"reader": state.resource(op, lambda: ReaderState(op.name, _records_for(op)))}


def _reader_kernel(xp, *, reader):
    return reader


for _t in ("TFRecordReaderV2", "TextLineReaderV2", "WholeFileReaderV2", "FixedLengthRecordReaderV2"):
    register(OpDef(_t, lambda op: _HANDLE, _reader_kernel, bind=_bind_reader, **_STATEFUL))


def _string(value):
    out = np.empty((), object)
    out[()] = value
    return out


def _read_kernel(xp, reader, queue):
    keys, values = reader.read_up_to(queue, 1)
    return _string(keys[0]), _string(values[0])


def _read_up_to_kernel(xp, reader, queue, num_records):
    keys, values = reader.read_up_to(queue, int(num_records), at_least_one=False)
    return np.array(keys, dtype=object).reshape(-1), np.array(values, dtype=object).reshape(-1)


def _produced_kernel(xp, reader):
    return np.array(reader.num_records_produced, np.int64)


def _completed_kernel(xp, reader):
    return np.array(reader.num_work_units_completed, np.int64)


def _reset_kernel(xp, reader):
    reader.reset()


_PAIR = [(dtypes.string, TensorShape([]))] * 2
register(OpDef("ReaderReadV2", lambda op: _PAIR, _read_kernel, **_STATEFUL))
register(OpDef("ReaderReadUpToV2", lambda op: [(dtypes.string, TensorShape([None]))] * 2, _read_up_to_kernel,
               **_STATEFUL))
register(OpDef("ReaderNumRecordsProducedV2", lambda op: [(dtypes.int64, TensorShape([]))], _produced_kernel,
               **_STATEFUL))
register(OpDef("ReaderNumWorkUnitsCompletedV2", lambda op: [(dtypes.int64, TensorShape([]))], _completed_kernel,
               **_STATEFUL))
register(OpDef("ReaderResetV2", lambda op: [], _reset_kernel, **_STATEFUL))


class ReaderBase:
    """``tf.ReaderBase``: ``read(queue)`` -> (key, value) tensors, ``read_up_to(queue, n)``."""

    _op_type = "WholeFileReaderV2"

    def __init__(self, attrs=None, name=None):
        with get_default_graph().control_dependencies(None):
            self._reader_ref = make_op(self._op_type, [], attrs or {}, name or self._op_type[:-2]).outputs[0]

    @property
    def reader_ref(self):
        return self._reader_ref

    @staticmethod
    def _queue_ref(queue):
        return queue.queue_ref if hasattr(queue, "queue_ref") else convert_to_tensor(queue)

    def read(self, queue, name=None):
        """The next record: ``(key, value)`` string scalars; file names come from ``queue``."""
        op = make_op("ReaderReadV2", [self._reader_ref, self._queue_ref(queue)], {}, name or "ReaderReadV2")
        return op.outputs[0], op.outputs[1]

    def read_up_to(self, queue, num_records, name=None):
        """Up to ``num_records`` records as (keys, values) vectors."""
        op = make_op("ReaderReadUpToV2", [self._reader_ref, self._queue_ref(queue),
                                          convert_to_tensor(num_records, dtype=dtypes.int64)], {},
                     name or "ReaderReadUpToV2")
        return op.outputs[0], op.outputs[1]

    def num_records_produced(self, name=None):
        return make_op("ReaderNumRecordsProducedV2", [self._reader_ref], {}, name).outputs[0]

    def num_work_units_completed(self, name=None):
        return make_op("ReaderNumWorkUnitsCompletedV2", [self._reader_ref], {}, name).outputs[0]

    def reset(self, name=None):
        return make_op("ReaderResetV2", [self._reader_ref], {}, name or "ReaderResetV2")

    @property
    def supports_serialize(self) -> bool:
        return False


class TFRecordReader(ReaderBase):
    """``tf.TFRecordReader(options=None)``: TFRecord records; keys ``"file:offset"``."""

    _op_type = "TFRecordReaderV2"

    def __init__(self, name=None, options=None):
        from pipelines.records import TFRecordOptions

        super().__init__({"compression_type": TFRecordOptions.get_compression_type_string(options)
                          if options is not None else ""}, name)


class TextLineReader(ReaderBase):
    """``tf.TextLineReader(skip_header_lines=None)``: lines; keys ``"file:line"``."""

    _op_type = "TextLineReaderV2"

    def __init__(self, skip_header_lines=None, name=None):
        super().__init__({"skip_header_lines": int(skip_header_lines or 0)}, name)


class WholeFileReader(ReaderBase):
    """``tf.WholeFileReader()``: each file's whole contents; the key is the file name."""

    _op_type = "WholeFileReaderV2"

    def __init__(self, name=None):
        super().__init__({}, name)


class FixedLengthRecordReader(ReaderBase):
    """``tf.FixedLengthRecordReader(record_bytes, header_bytes, footer_bytes, hop_bytes, encoding)``."""

    _op_type = "FixedLengthRecordReaderV2"

    def __init__(self, record_bytes, header_bytes=None, footer_bytes=None, hop_bytes=None, name=None, encoding=None):
        super().__init__({"record_bytes": int(record_bytes), "header_bytes": int(header_bytes or 0),
                          "footer_bytes": int(footer_bytes or 0), "hop_bytes": int(hop_bytes or 0),
                          "encoding": encoding or ""}, name)
