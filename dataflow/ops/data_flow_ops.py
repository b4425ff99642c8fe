"""TF1 queues as graph ops: ``tf.FIFOQueue``, ``tf.RandomShuffleQueue``, ``tf.PaddingFIFOQueue``.

A queue op (``FIFOQueueV2`` ...) outputs a *handle*: the :class:`pipelines.queues.Queue` that the
session keeps for it (``SessionState.resource``, made when a run using it is first planned). The
enqueue, dequeue, size and close ops take the handle as input 0 and call the queue, from whatever
thread runs them; a dequeue blocks until it can return (or the queue closes, or the session does).
All are stateful: never merged or folded. Handles have dtype ``string`` (TF1's queue handles were
string refs) and are not meant to be fetched.
"""

from __future__ import annotations

import threading

import numpy as np

from ..framework import dtypes
from ..framework.graph import convert_to_tensor, get_default_graph, make_op
from ..framework.registry import OpDef, register
from ..framework.tensor_shape import TensorShape, as_shape

__all__ = ["FIFOQueue", "PaddingFIFOQueue", "QueueBase", "RandomShuffleQueue", "count_up_to"]

_HANDLE = [(dtypes.string, TensorShape([]))]


def _make_queue(op, timeout):
    from pipelines import queues

    a = op.attrs
    np_types = [dt.as_numpy_dtype for dt in a["component_types"]]
    shapes = [s.as_list() if s.ndims is not None else None for s in a["shapes"]] or None
    if op.type == "RandomShuffleQueueV2":
        seed = None if a.get("seed") is None else [a["seed"], a.get("seed2") or 0]
        return queues.RandomShuffleQueue(op.name, a["capacity"], np_types, shapes, a["min_after_dequeue"], seed,
                                         timeout)
    cls = queues.PaddingFIFOQueue if op.type == "PaddingFIFOQueueV2" else queues.Queue
    return cls(op.name, a["capacity"], np_types, shapes, timeout)


def _bind_queue(op, state):
    return {"queue": state.resource(op, lambda: _make_queue(op, state.op_timeout))}


def _queue_kernel(xp, *, queue):
    return queue


for _t in ("FIFOQueueV2", "RandomShuffleQueueV2", "PaddingFIFOQueueV2"):
    register(OpDef(_t, lambda op: _HANDLE, _queue_kernel, differentiable=False, stateful=True, bind=_bind_queue))


def _components_infer(op, batched: bool):
    q = op.inputs[0].op.attrs
    shapes = q["shapes"] or [TensorShape(None)] * len(q["component_types"])
    n = TensorShape([None]) if batched else TensorShape([])
    if batched and op.type == "QueueDequeueManyV2":
        from .common import constant_value

        v = constant_value(op.inputs[1])
        n = TensorShape([None if v is None else int(v)])
    return [(dt, n.concatenate(s) if batched else s) for dt, s in zip(q["component_types"], shapes)]


def _dequeue_kernel(xp, handle):
    out = handle.dequeue()
    return out[0] if len(out) == 1 else out


def _dequeue_many_kernel(xp, handle, n):
    out = handle.dequeue_many(n)
    return out[0] if len(out) == 1 else out


def _dequeue_up_to_kernel(xp, handle, n):
    out = handle.dequeue_up_to(n)
    return out[0] if len(out) == 1 else out


def _enqueue_kernel(xp, handle, *components):
    handle.enqueue(components)


def _enqueue_many_kernel(xp, handle, *components):
    handle.enqueue_many(components)


def _close_kernel(xp, handle, *, cancel_pending_enqueues):
    handle.close(cancel_pending_enqueues)


def _size_kernel(xp, handle):
    return np.array(handle.size(), np.int32)


def _is_closed_kernel(xp, handle):
    return np.array(handle.is_closed())


_STATEFUL = {"differentiable": False, "stateful": True}
register(OpDef("QueueEnqueueV2", lambda op: [], _enqueue_kernel, **_STATEFUL))
register(OpDef("QueueEnqueueManyV2", lambda op: [], _enqueue_many_kernel, **_STATEFUL))
register(OpDef("QueueDequeueV2", lambda op: _components_infer(op, False), _dequeue_kernel, **_STATEFUL))
register(OpDef("QueueDequeueManyV2", lambda op: _components_infer(op, True), _dequeue_many_kernel, **_STATEFUL))
register(OpDef("QueueDequeueUpToV2", lambda op: _components_infer(op, True), _dequeue_up_to_kernel, **_STATEFUL))
register(OpDef("QueueCloseV2", lambda op: [], _close_kernel, **_STATEFUL))
register(OpDef("QueueSizeV2", lambda op: [(dtypes.int32, TensorShape([]))], _size_kernel, **_STATEFUL))
register(OpDef("QueueIsClosedV2", lambda op: [(dtypes.bool_, TensorShape([]))], _is_closed_kernel, **_STATEFUL))


# ---- the Python API -----------------------------------------------------------------------------
def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


class QueueBase:
    """``tf.QueueBase``: the ops of a queue made by a subclass; elements are lists, tuples or dicts.

    ``enqueue(vals)`` / ``enqueue_many(vals)`` return ops; ``dequeue()``, ``dequeue_many(n)`` and
    ``dequeue_up_to(n)`` return tensors in the structure the queue was built with (a single tensor
    for a one-component queue, a dict when ``names`` were given).
    """

    _op_type = "FIFOQueueV2"

    def __init__(self, dtypes_, shapes, names, capacity, name, extra=None):
        self._dtypes = [dtypes.as_dtype(d) for d in _as_list(dtypes_)]
        self._shapes = [as_shape(s) for s in shapes] if shapes is not None else []
        if self._shapes and len(self._shapes) != len(self._dtypes):
            raise ValueError("Queue shapes must have the same length as dtypes")
        self._names = list(names) if names is not None else None
        attrs = {"component_types": tuple(self._dtypes), "shapes": tuple(self._shapes), "capacity": capacity}
        attrs.update(extra or {})
        with get_default_graph().control_dependencies(None):
            self._queue_ref = get_default_graph().create_op(self._op_type, [], attrs, name or self._default_name)\
                .outputs[0]
        self._name = self._queue_ref.op.name

    _default_name = "fifo_queue"

    @property
    def queue_ref(self):
        return self._queue_ref

    @property
    def name(self) -> str:
        return self._name

    @property
    def dtypes(self):
        return list(self._dtypes)

    @property
    def shapes(self):
        return list(self._shapes)

    @property
    def names(self):
        return self._names

    def _flatten(self, vals):
        if isinstance(vals, dict):
            if self._names is None:
                raise ValueError("Queue must have names to enqueue a dictionary")
            if sorted(vals) != sorted(self._names):
                raise ValueError(f"Keys in dictionary to enqueue do not match names of Queue. Dictionary: "
                                 f"{sorted(vals)}, Queue: {sorted(self._names)}")
            vals = [vals[k] for k in self._names]
        elif self._names is not None:
            raise ValueError("You must enqueue a dictionary in a Queue with names")
        vals = _as_list(vals)
        if len(vals) != len(self._dtypes):
            raise ValueError(f"Expected {len(self._dtypes)} components to enqueue, got {len(vals)}")
        return [convert_to_tensor(v, dtype=dt) for v, dt in zip(vals, self._dtypes)]

    def _pack(self, tensors):
        if self._names is not None:
            return dict(zip(self._names, tensors))
        return tensors[0] if len(tensors) == 1 else list(tensors)

    def enqueue(self, vals, name=None):
        """An op putting one element in the queue (blocks while it is full)."""
        return make_op("QueueEnqueueV2", [self._queue_ref] + self._flatten(vals), {}, name or "enqueue")

    def enqueue_many(self, vals, name=None):
        """An op putting the slices of ``vals`` along axis 0 in the queue, as many elements."""
        return make_op("QueueEnqueueManyV2", [self._queue_ref] + self._flatten(vals), {}, name or "enqueue_many")

    def dequeue(self, name=None):
        """One element; OutOfRangeError once the queue is closed and empty."""
        op = make_op("QueueDequeueV2", [self._queue_ref], {}, name or "dequeue")
        return self._pack(op.outputs)

    def dequeue_many(self, n, name=None):
        """``n`` elements stacked along a new axis 0; OutOfRangeError when closed with fewer."""
        op = make_op("QueueDequeueManyV2", [self._queue_ref, convert_to_tensor(n, dtype=dtypes.int32)], {},
                     name or "dequeue_many")
        return self._pack(op.outputs)

    def dequeue_up_to(self, n, name=None):
        """Up to ``n`` elements: fewer only once the queue is closed; OutOfRangeError when it is empty."""
        op = make_op("QueueDequeueUpToV2", [self._queue_ref, convert_to_tensor(n, dtype=dtypes.int32)], {},
                     name or "dequeue_up_to")
        return self._pack(op.outputs)

    def close(self, cancel_pending_enqueues=False, name=None):
        """An op closing the queue; with ``cancel_pending_enqueues`` blocked enqueues fail (CancelledError)."""
        return make_op("QueueCloseV2", [self._queue_ref], {"cancel_pending_enqueues": bool(cancel_pending_enqueues)},
                       name or "close")

    def size(self, name=None):
        """The number of elements in the queue (int32 scalar)."""
        return make_op("QueueSizeV2", [self._queue_ref], {}, name or "size").outputs[0]

    def is_closed(self, name=None):
        """Whether the queue is closed (bool scalar)."""
        return make_op("QueueIsClosedV2", [self._queue_ref], {}, name or "is_closed").outputs[0]


class FIFOQueue(QueueBase):
    """``tf.FIFOQueue(capacity, dtypes, shapes=None, names=None)``: first in, first out.

    Examples
    --------
    >>> import dataflow as tf
    >>> q = tf.FIFOQueue(3, tf.float32)
    >>> with tf.Session() as sess:
    ...     sess.run(q.enqueue_many([[1.0, 2.0]]))
    ...     print(sess.run(q.dequeue()))
    1.0
    """

    def __init__(self, capacity, dtypes, shapes=None, names=None, shared_name=None, name="fifo_queue"):
        super().__init__(dtypes, shapes, names, capacity, name)


class PaddingFIFOQueue(QueueBase):
    """``tf.PaddingFIFOQueue``: a FIFO queue whose ``dequeue_many`` pads components (None dims in
    ``shapes``) to the largest element of the batch."""

    _op_type = "PaddingFIFOQueueV2"
    _default_name = "padding_fifo_queue"

    def __init__(self, capacity, dtypes, shapes, names=None, shared_name=None, name="padding_fifo_queue"):
        if shapes is None or len(_as_list(shapes)) != len(_as_list(dtypes)):
            raise ValueError("Shapes must be provided for all components, but received "
                             f"{len(_as_list(dtypes))} dtypes and {0 if shapes is None else len(shapes)} shapes.")
        super().__init__(dtypes, shapes, names, capacity, name)


class RandomShuffleQueue(QueueBase):
    """``tf.RandomShuffleQueue(capacity, min_after_dequeue, dtypes, shapes, names, seed)``: dequeues a
    random element, keeping ``min_after_dequeue`` back until the queue is closed."""

    _op_type = "RandomShuffleQueueV2"
    _default_name = "random_shuffle_queue"

    def __init__(self, capacity, min_after_dequeue, dtypes, shapes=None, names=None, seed=None,
                 shared_name=None, name="random_shuffle_queue"):
        from .random import get_seed

        s1, s2 = get_seed(seed)
        super().__init__(dtypes, shapes, names, capacity, name,
                         {"min_after_dequeue": int(min_after_dequeue), "seed": s1, "seed2": s2})


# ---- CountUpTo: the epoch counter of input producers ----------------------------------------------
_count_lock = threading.Lock()


def _count_up_to_kernel(xp, ref, *, limit):
    from ..framework import errors

    with _count_lock:  # producer threads share the counter
        value = ref.read()
        if value >= limit:
            raise errors.OutOfRangeError(None, None, f"Reached limit of {limit}")
        ref.assign(np.array(value + 1, dtype=np.asarray(value).dtype))
        return np.array(value)


register(OpDef("CountUpTo", lambda op: [(op.inputs[0].dtype, op.inputs[0].shape)], _count_up_to_kernel,
               ref_inputs=(0,), **_STATEFUL))


def count_up_to(ref, limit, name=None):
    """``tf.count_up_to``: increment the variable ``ref`` until it reaches ``limit``; returns the old
    value, OutOfRangeError once it is ``limit``."""
    ref = ref._ref() if hasattr(ref, "_ref") else ref
    return make_op("CountUpTo", [ref], {"limit": int(limit)}, name or "CountUpTo").outputs[0]
