"""TF1's queue-based input helpers: producers (``string_input_producer``, ``slice_input_producer``...)
and batchers (``batch``, ``shuffle_batch``, ``batch_join``, ``shuffle_batch_join``).

Each helper builds a queue, an enqueue op and a :class:`QueueRunner` in the graph's QUEUE_RUNNERS
collection, and returns the queue (producers) or the dequeued tensors (batchers), as TF does.
``num_epochs`` limits a producer as TF's ``limit_epochs``: a local ``epochs`` variable counted up by
``CountUpTo`` before each enqueue, so the runner sees OutOfRangeError after ``num_epochs`` passes,
closes the queue, and consumers get OutOfRangeError once it drains (run
``tf.local_variables_initializer()`` first, as in TF).
"""

from __future__ import annotations

from ..framework import dtypes
from ..framework.graph import GraphKeys, control_dependencies, convert_to_tensor, name_scope
from ..framework.tensor_shape import TensorShape
from ..ops import data_flow_ops
from .queue_runner import QueueRunner, add_queue_runner


def limit_epochs(tensor, num_epochs=None, name=None):
    """``tensor``, raising OutOfRangeError when evaluated more than ``num_epochs`` times."""
    from ..ops.array import identity
    from ..ops.variables import Variable

    tensor = convert_to_tensor(tensor)
    if num_epochs is None:
        return tensor
    if num_epochs <= 0:
        raise ValueError(f"num_epochs must be > 0 not {num_epochs}.")
    with name_scope(name, "limit_epochs", [tensor]) as scope:
        epochs = Variable(convert_to_tensor(0, dtype=dtypes.int64), name="epochs", trainable=False,
                          collections=[GraphKeys.LOCAL_VARIABLES])
        counter = data_flow_ops.count_up_to(epochs, num_epochs)
        with control_dependencies([counter.op]):
            return identity(tensor, name=scope.rstrip("/").split("/")[-1] if scope else None)


def input_producer(input_tensor, element_shape=None, num_epochs=None, shuffle=True, seed=None, capacity=32,
                   shared_name=None, summary_name=None, name=None, cancel_op=None):
    """A FIFO queue filled with the rows of ``input_tensor``, ``num_epochs`` times (forever if None),
    each pass shuffled when ``shuffle``; its QueueRunner is added to the graph."""
    from ..ops.random import random_shuffle

    with name_scope(name, "input_producer", [input_tensor]):
        input_tensor = convert_to_tensor(input_tensor, name="input_tensor")
        element_shape = input_tensor.shape[1:] if element_shape is None else TensorShape(element_shape)
        if shuffle:
            input_tensor = random_shuffle(input_tensor, seed=seed)
        input_tensor = limit_epochs(input_tensor, num_epochs)
        q = data_flow_ops.FIFOQueue(capacity, [input_tensor.dtype],
                                    [element_shape] if element_shape.ndims is not None else None)
        enq = q.enqueue_many([input_tensor])
        add_queue_runner(QueueRunner(q, [enq], cancel_op=cancel_op))
        return q


def string_input_producer(string_tensor, num_epochs=None, shuffle=True, seed=None, capacity=32,
                          shared_name=None, name=None, cancel_op=None):
    """A queue of file names (strings) for readers: ``num_epochs`` passes, shuffled per pass.

    Raises
    ------
    ValueError
        If ``string_tensor`` is known to be empty.

    Examples
    --------
    >>> import dataflow as tf
    >>> q = tf.train.string_input_producer(["a.txt", "b.txt"], num_epochs=1, shuffle=False)
    """
    from ..ops.common import constant_value

    string_tensor = convert_to_tensor(string_tensor, dtype=dtypes.string)
    value = constant_value(string_tensor)
    if value is not None and value.size == 0:
        raise ValueError("string_input_producer requires a non-null input tensor")
    with name_scope(name, "input_producer", [string_tensor]) as scope:
        return input_producer(string_tensor, [], num_epochs, shuffle, seed, capacity, shared_name,
                              name=scope, cancel_op=cancel_op)


def range_input_producer(limit, num_epochs=None, shuffle=True, seed=None, capacity=32, shared_name=None,
                         name=None):
    """A queue of the integers ``0 .. limit-1`` (int32), ``num_epochs`` passes."""
    from ..ops.gather import range as range_

    with name_scope(name, "input_producer", [limit]) as scope:
        return input_producer(range_(limit), [], num_epochs, shuffle, seed, capacity, shared_name, name=scope)


def slice_input_producer(tensor_list, num_epochs=None, shuffle=True, seed=None, capacity=32, shared_name=None,
                         name=None):
    """One row of each tensor of ``tensor_list`` per dequeue (the same row index for all)."""
    from ..ops.array import shape
    from ..ops.gather import gather

    tensor_list = [convert_to_tensor(t) for t in tensor_list]
    if not tensor_list:
        raise ValueError("Expected at least one tensor in slice_input_producer().")
    with name_scope(name, "input_producer", tensor_list):
        n = tensor_list[0].shape.as_list()[0] if tensor_list[0].shape.ndims else None
        limit = n if n is not None else shape(tensor_list[0])[0]
        index = range_input_producer(limit, num_epochs, shuffle, seed, capacity, shared_name).dequeue()
        return [gather(t, index) for t in tensor_list]


# ---- batching ------------------------------------------------------------------------------------
def _flatten(tensors):
    """(flat tensors, a function putting a flat list back in the structure of ``tensors``)."""
    if isinstance(tensors, dict):
        keys = sorted(tensors)
        return [tensors[k] for k in keys], lambda flat: dict(zip(keys, flat))
    if isinstance(tensors, (list, tuple)):
        kind = type(tensors)
        return list(tensors), lambda flat: kind(flat) if kind is not tuple else tuple(flat)
    return [tensors], lambda flat: flat[0]


def _shapes(tensors, shapes, enqueue_many, dynamic_pad):
    if shapes is not None:
        return [TensorShape(s) for s in shapes]
    out = [t.shape[1:] if enqueue_many else t.shape for t in tensors]
    for t, s in zip(tensors, out):
        if not dynamic_pad and not s.is_fully_defined():
            raise ValueError(f"All shapes must be fully defined: {out}")
        if dynamic_pad and s.ndims is None:
            raise ValueError(f"dynamic_pad needs tensors of known rank: {t}")
    return out


def _batch(tensors_list, batch_size, num_threads, capacity, enqueue_many, shapes, dynamic_pad,
           allow_smaller_final_batch, name, default_name, min_after_dequeue=None, seed=None):
    structured = tensors_list[0]
    flats = []
    for tensors in tensors_list:
        flat, pack = _flatten(tensors)
        flats.append([convert_to_tensor(t) for t in flat])
    with name_scope(name, default_name, flats[0]):
        types = [t.dtype for t in flats[0]]
        shp = _shapes(flats[0], shapes, enqueue_many, dynamic_pad)
        if min_after_dequeue is not None:
            q = data_flow_ops.RandomShuffleQueue(capacity, min_after_dequeue, types, shp, seed=seed)
        elif dynamic_pad:
            q = data_flow_ops.PaddingFIFOQueue(capacity, types, shp)
        else:
            q = data_flow_ops.FIFOQueue(capacity, types, shp)
        if enqueue_many:
            ops = [q.enqueue_many(flat) for flat in flats]
        else:
            ops = [q.enqueue(flat) for flat in flats]
        add_queue_runner(QueueRunner(q, ops * num_threads if len(flats) == 1 else ops))
        out = q.dequeue_up_to(batch_size) if allow_smaller_final_batch else q.dequeue_many(batch_size)
        out = out if isinstance(out, list) else [out]
        _, pack = _flatten(structured)
        return pack(out)


def batch(tensors, batch_size, num_threads=1, capacity=32, enqueue_many=False, shapes=None, dynamic_pad=False,
          allow_smaller_final_batch=False, shared_name=None, name=None):
    """Batches of ``batch_size`` from ``tensors`` (a tensor, list or dict), filled by ``num_threads``
    threads through a FIFO queue (a padding queue with ``dynamic_pad``).

    Examples
    --------
    >>> import dataflow as tf
    >>> x = tf.train.slice_input_producer([tf.range(10)], shuffle=False)[0]
    >>> xb = tf.train.batch([x], batch_size=4)
    """
    return _batch([tensors], batch_size, num_threads, capacity, enqueue_many, shapes, dynamic_pad,
                  allow_smaller_final_batch, name, "batch")


def batch_join(tensors_list, batch_size, capacity=32, enqueue_many=False, shapes=None, dynamic_pad=False,
               allow_smaller_final_batch=False, shared_name=None, name=None):
    """Batches mixing several producers: one enqueue thread per entry of ``tensors_list``."""
    return _batch(list(tensors_list), batch_size, 1, capacity, enqueue_many, shapes, dynamic_pad,
                  allow_smaller_final_batch, name, "batch_join")


def shuffle_batch(tensors, batch_size, capacity, min_after_dequeue, num_threads=1, seed=None, enqueue_many=False,
                  shapes=None, allow_smaller_final_batch=False, shared_name=None, name=None):
    """Batches of random elements, through a RandomShuffleQueue keeping ``min_after_dequeue`` back."""
    return _batch([tensors], batch_size, num_threads, capacity, enqueue_many, shapes, False,
                  allow_smaller_final_batch, name, "shuffle_batch", min_after_dequeue, seed)


def shuffle_batch_join(tensors_list, batch_size, capacity, min_after_dequeue, seed=None, enqueue_many=False,
                       shapes=None, allow_smaller_final_batch=False, shared_name=None, name=None):
    """:func:`shuffle_batch` with one enqueue thread per entry of ``tensors_list``."""
    return _batch(list(tensors_list), batch_size, 1, capacity, enqueue_many, shapes, False,
                  allow_smaller_final_batch, name, "shuffle_batch_join", min_after_dequeue, seed)
