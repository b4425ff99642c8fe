"""``tf.data`` iterators as graph ops: ``IteratorV2``, ``MakeIterator``, ``IteratorGetNext`` ...

An iterator is session state: ``IteratorV2``'s handle is an :class:`IteratorState` kept by the
session (``SessionState.resource``). ``MakeIterator`` takes the handle and the tensors the dataset
captures, and starts the dataset's Python iterator over their values (the dataset itself is kept per
graph under a token attr, as ``py_func`` keeps its function). ``IteratorGetNext`` (stateful) pulls one
element: OutOfRangeError "End of sequence" at the end, FailedPreconditionError before an initializer
ran. A one-shot iterator's handle op carries the dataset token and its captured values (constants),
and initializes itself on first use. ``IteratorToStringHandle`` / ``IteratorFromStringHandle`` give
feedable iterators: the string names the handle op, looked up in the same session.
"""

from __future__ import annotations

import itertools
import threading
import weakref

import numpy as np

from ..framework import dtypes, errors
from ..framework.graph import convert_to_tensor, get_default_graph, make_op
from ..framework.registry import OpDef, register
from ..framework.tensor_shape import TensorShape

__all__ = ["Iterator", "make_initializable_iterator", "make_one_shot_iterator"]

_datasets: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # graph -> {token: Dataset}
_tokens = itertools.count()
_lock = threading.Lock()


def _keep(graph, dataset) -> str:
    with _lock:
        token = f"dataset_{next(_tokens)}"
        _datasets.setdefault(graph, {})[token] = dataset
    return token


class IteratorState:
    """One iterator in one session: the running Python iterator of flat elements."""

    def __init__(self, name: str, one_shot=None):
        self.name = name
        self._it = None
        self._lock = threading.Lock()
        self._one_shot = one_shot  # (dataset, values) to start from on first use

    def start(self, dataset, values: dict) -> None:
        with self._lock:
            self._close()
            self._it = iter(dataset._iterate(values))

    def get_next(self):
        with self._lock:
            if self._it is None:
                if self._one_shot is None:
                    raise errors.FailedPreconditionError(
                        None, None, "GetNext() failed because the iterator has not been initialized. Ensure that "
                        "you have run the initializer operation for this iterator before getting the next element.")
                dataset, values = self._one_shot
                self._it = iter(dataset._iterate(values))
            try:
                return next(self._it)
            except StopIteration:
                self._it = iter(())
                raise errors.OutOfRangeError(None, None, "End of sequence") from None

    def _close(self):
        if self._it is not None and hasattr(self._it, "close"):
            self._it.close()
        self._it = None

    def cancel(self) -> None:
        """The session closed: stop background readers."""
        try:
            self._close()
        except Exception:  # noqa: BLE001 (a generator running in another thread cannot be closed now)
            pass


def _iterator_state(op, state):
    one_shot = None
    if op.attrs.get("dataset"):
        dataset, captured = _datasets[op.graph][op.attrs["dataset"]]
        one_shot = (dataset, dict(captured))
    return IteratorState(op.name, one_shot)


def _bind_iterator(op, state):
    return {"iterator": state.resource(op, lambda: _iterator_state(op, state))}


def _iterator_kernel(xp, *, iterator):
    return iterator


def _bind_dataset(op, state):
    return {"dataset": _datasets[op.graph][op.attrs["token"]], "captured": op.inputs[1:]}


def _make_iterator_kernel(xp, handle, *values, dataset, captured):
    handle.start(dataset, dict(zip(captured, values)))


def _get_next_kernel(xp, handle, *, sparse):
    out = handle.get_next()
    if any(sparse):  # a SparseTensorValue leaf is three outputs
        out = [c for v, sp in zip(out, sparse) for c in (v if sp else (v,))]
    return out[0] if len(out) == 1 else out


def _get_next_infer(op):
    return list(op.attrs["components"])


def _to_string_kernel(xp, handle):
    out = np.empty((), object)
    out[()] = handle.name.encode()
    return out


def _bind_state(op, state):
    return {"state": state}


def _from_string_kernel(xp, string_handle, *, state):
    name = string_handle.item() if hasattr(string_handle, "item") else string_handle
    name = name.decode() if isinstance(name, bytes) else name
    entry = state.resources.get(name)
    if entry is None or not isinstance(entry[1], IteratorState):
        raise errors.InvalidArgumentError(None, None, f"No iterator for string handle {name!r} in this session")
    return entry[1]


from .data_flow_ops import _HANDLE, _STATEFUL  # noqa: E402  (a handle output; stateful, no gradient)
register(OpDef("IteratorV2", lambda op: _HANDLE, _iterator_kernel, bind=_bind_iterator, **_STATEFUL))
register(OpDef("OneShotIterator", lambda op: _HANDLE, _iterator_kernel, bind=_bind_iterator, **_STATEFUL))
register(OpDef("MakeIterator", lambda op: [], _make_iterator_kernel, bind=_bind_dataset, **_STATEFUL))
register(OpDef("IteratorGetNext", _get_next_infer, _get_next_kernel, **_STATEFUL))
register(OpDef("IteratorToStringHandle", lambda op: _HANDLE, _to_string_kernel, **_STATEFUL))
register(OpDef("IteratorFromStringHandleV2", lambda op: _HANDLE, _from_string_kernel, bind=_bind_state,
               **_STATEFUL))


class Iterator:
    """``tf.data.Iterator``: ``get_next()`` gives tensors of the next element each time it runs.

    Examples
    --------
    >>> import dataflow as tf
    >>> x = tf.placeholder(tf.int64, [])
    >>> it = tf.data.Dataset.range(x).make_initializable_iterator()
    >>> nxt = it.get_next()
    >>> with tf.Session() as sess:
    ...     sess.run(it.initializer, {x: 3})
    ...     print([int(sess.run(nxt)) for _ in range(3)])
    [0, 1, 2]
    """

    def __init__(self, handle, structure, initializer=None):
        self._handle = handle
        self._structure = structure
        self._initializer = initializer

    @staticmethod
    def from_structure(output_types, output_shapes=None, shared_name=None, output_classes=None, _structure=None):
        """An iterator not bound to a dataset: ``make_initializer(ds)`` for each dataset of this structure."""
        from pipelines.functions import Structure, flatten, skeleton

        if _structure is None:
            from ..framework.sparse_tensor import SparseTensor

            types = [dtypes.as_dtype(t) for t in flatten(output_types)]
            shapes = flatten(output_shapes) if output_shapes is not None else [None] * len(types)
            classes = flatten(output_classes) if output_classes is not None else [None] * len(types)
            _structure = Structure(skeleton(output_types), types, [TensorShape(s) for s in shapes],
                                   [c is SparseTensor for c in classes])
        with get_default_graph().control_dependencies(None):
            handle = make_op("IteratorV2", [], {"shared_name": shared_name or ""}, "Iterator").outputs[0]
        return Iterator(handle, _structure)

    @staticmethod
    def from_string_handle(string_handle, output_types, output_shapes=None, output_classes=None):
        """A feedable iterator: ``string_handle`` (a string placeholder) picks the iterator, by the value
        of another iterator's ``string_handle()`` in the same session."""
        it = Iterator.from_structure(output_types, output_shapes, output_classes=output_classes)
        handle = make_op("IteratorFromStringHandleV2", [convert_to_tensor(string_handle, dtype=dtypes.string)], {},
                         "IteratorFromStringHandle").outputs[0]
        return Iterator(handle, it._structure)

    @staticmethod
    def _one_shot(dataset):
        from ..ops.common import constant_value

        captured = dataset._captured()
        values = []
        for t in captured:
            v = constant_value(t)
            if v is None:
                raise ValueError(f"Failed to capture {t.name} in a one-shot iterator: use "
                                 "make_initializable_iterator() for datasets that depend on placeholders or state")
            values.append((t, v))
        graph = get_default_graph()
        with graph.control_dependencies(None):
            # the dataset and its captured values stay in Python, out of the op's attrs (a token names them)
            handle = make_op("OneShotIterator", [], {"dataset": _keep(graph, (dataset, tuple(values)))},
                             "OneShotIterator").outputs[0]
        return Iterator(handle, dataset.structure)

    @property
    def initializer(self):
        if self._initializer is None:
            raise ValueError("Iterator does not have an initializer.")
        return self._initializer

    @property
    def output_types(self):
        return self._structure.output_types

    @property
    def output_shapes(self):
        return self._structure.output_shapes

    @property
    def output_classes(self):
        from ..framework.graph import Tensor
        from ..framework.sparse_tensor import SparseTensor

        return self._structure.pack([SparseTensor if sp else Tensor for sp in self._structure.sparse])

    def make_initializer(self, dataset, name=None):
        """An op (re)starting this iterator on ``dataset`` (whose structure must match)."""
        if [t.name for t in dataset.structure.types] != [t.name for t in self._structure.types]:
            raise TypeError(f"Expected output types {self.output_types} but got dataset with output types "
                            f"{dataset.output_types}.")
        if self._structure.sparse != dataset.structure.sparse:
            raise TypeError(f"Expected output classes {self.output_classes} but got dataset with output classes "
                            f"{dataset.output_classes}.")
        for want, got in zip(self._structure.shapes, dataset.structure.shapes):
            if not want.is_compatible_with(got):
                raise TypeError(f"Expected output shapes compatible with {self.output_shapes} but got dataset "
                                f"with output shapes {dataset.output_shapes}.")
        graph = self._handle.graph
        captured = dataset._captured()
        return make_op("MakeIterator", [self._handle] + captured, {"token": _keep(graph, dataset)},
                       name or "MakeIterator")

    def get_next(self, name=None):
        """The next element's tensors, in the dataset's structure (OutOfRangeError at the end)."""
        st = self._structure
        op = make_op("IteratorGetNext", [self._handle], {"output_types": tuple(st.types),
                                                           "output_shapes": tuple(st.shapes),
                                                           "components": tuple(st.component_specs()),
                                                           "sparse": tuple(st.sparse)},
                     name or "IteratorGetNext")
        return st.pack(st.tensors(op.outputs))

    def string_handle(self, name=None):
        """A string tensor naming this iterator, to feed a :meth:`from_string_handle` iterator."""
        return make_op("IteratorToStringHandle", [self._handle], {}, name or "IteratorToStringHandle").outputs[0]


def make_one_shot_iterator(dataset):
    """``tf.compat.v1.data.make_one_shot_iterator(dataset)``."""
    return dataset.make_one_shot_iterator()


def make_initializable_iterator(dataset, shared_name=None):
    """``tf.compat.v1.data.make_initializable_iterator(dataset)``."""
    return dataset.make_initializable_iterator(shared_name)
