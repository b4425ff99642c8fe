"""``tf.map_fn``, ``tf.scan``, ``tf.foldl``, ``tf.foldr``: loops over the first axis of tensors, written
as TF1 writes them: a ``while_loop`` that reads each element from a TensorArray (``unstack``) and
writes each result to another (``stack`` at the end). Gradients come from the loop's."""

from __future__ import annotations

from ..framework import dtypes, nest
from ..framework.graph import convert_to_tensor, name_scope
from .tensor_array import TensorArray


def _elements(elems):
    from .array import shape

    flat = [convert_to_tensor(e) for e in nest.flatten(elems)]
    if not flat:
        raise ValueError("elems must not be empty")
    n = flat[0].shape[0].value if flat[0].shape.ndims else None
    size = n if n is not None else shape(flat[0])[0]
    tas = [TensorArray(t.dtype, size=size, element_shape=t.shape[1:] if t.shape.ndims else None).unstack(t)
           for t in flat]
    return flat, size, tas


def _loop(fn_step, size, init, back_prop, parallel_iterations, first: int = 0):
    """The loop variables after ``i`` runs from ``first`` to ``size`` (the counter dropped)."""
    from .control_flow import while_loop

    return while_loop(lambda i, *_: i < size, fn_step, [first, *init], back_prop=back_prop,
                      parallel_iterations=parallel_iterations or 10)[1:]


def _start(elems, tas, initializer):
    """(the accumulator's structure, its flat tensors, the first index): TF starts from the first
    element when there is no initializer."""
    if initializer is None:
        init = nest.pack_sequence_as(elems, [ta.read(0) for ta in tas])
        return init, [convert_to_tensor(a) for a in nest.flatten(init)], 1
    return initializer, [convert_to_tensor(a) for a in nest.flatten(initializer)], 0


def map_fn(fn, elems, dtype=None, parallel_iterations=None, back_prop=True, swap_memory=False, infer_shape=True,
           name=None):
    """``fn`` applied to each element of ``elems`` along axis 0, results stacked (TF1's ``tf.map_fn``).

    ``elems`` may be a (nested) structure of tensors with the same first dimension; ``fn`` gets the
    same structure of slices. ``dtype`` gives the structure and dtypes of ``fn``'s results when they
    differ from ``elems``'.

    Examples
    --------
    >>> import dataflow as tf
    >>> print(tf.Session().run(tf.map_fn(lambda x: x * x, tf.constant([1.0, 2.0, 3.0]))))
    [1. 4. 9.]
    """
    with name_scope(name, "map", nest.flatten(elems)):
        flat, size, tas = _elements(elems)
        out_struct = dtype if dtype is not None else elems
        out_dtypes = [dtypes.as_dtype(d) for d in nest.flatten(dtype)] if dtype is not None else [t.dtype for t in flat]
        outs = [TensorArray(d, size=size, infer_shape=infer_shape) for d in out_dtypes]

        def step(i, *accs):
            x = nest.pack_sequence_as(elems, [ta.read(i) for ta in tas])
            y = nest.flatten(fn(x))
            if len(y) != len(accs):
                raise ValueError(f"The structure of fn's result ({len(y)} tensors) does not match dtype "
                                 f"({len(accs)} tensors)")
            return (i + 1, *[a.write(i, v) for a, v in zip(accs, y)])

        results = _loop(step, size, outs, back_prop, parallel_iterations)
        stacked = [r.stack() for r in results]
        if isinstance(out_struct, dtypes.DType) or not nest.is_sequence(out_struct):
            return stacked[0]
        return nest.pack_sequence_as(out_struct, stacked)


def scan(fn, elems, initializer=None, parallel_iterations=10, back_prop=True, swap_memory=False, infer_shape=True,
         reverse=False, name=None):
    """The successive values of ``a = fn(a, x)`` over the elements of ``elems`` (TF1's ``tf.scan``).

    Without ``initializer`` the first element is the start and the first output (as TF).

    Examples
    --------
    >>> import dataflow as tf
    >>> print(tf.Session().run(tf.scan(lambda a, x: a + x, tf.constant([1, 2, 3, 4]))))
    [ 1  3  6 10]
    """
    from .indexing import reverse as _reverse

    with name_scope(name, "scan", nest.flatten(elems)):
        flat, size, tas = _elements(elems)
        if reverse:
            flat = [_reverse(t, [0]) for t in flat]
            flat, size, tas = _elements(nest.pack_sequence_as(elems, flat))
        init, a_flat, first = _start(elems, tas, initializer)
        outs = [TensorArray(a.dtype, size=size, infer_shape=infer_shape) for a in a_flat]
        if first:
            outs = [o.write(0, a) for o, a in zip(outs, a_flat)]

        def step(i, *state):
            a = nest.pack_sequence_as(init, list(state[:len(a_flat)]))
            x = nest.pack_sequence_as(elems, [ta.read(i) for ta in tas])
            new = [convert_to_tensor(v) for v in nest.flatten(fn(a, x))]
            accs = state[len(a_flat):]
            return (i + 1, *new, *[o.write(i, v) for o, v in zip(accs, new)])

        results = _loop(step, size, [*a_flat, *outs], back_prop, parallel_iterations, first)[len(a_flat):]
        stacked = [r.stack() for r in results]
        if reverse:
            stacked = [_reverse(s, [0]) for s in stacked]
        return nest.pack_sequence_as(init, stacked)


def foldl(fn, elems, initializer=None, parallel_iterations=10, back_prop=True, swap_memory=False, name=None):
    """``fn(...fn(fn(initializer, e0), e1)..., en)`` (TF1's ``tf.foldl``); the first element starts
    when there is no ``initializer``."""
    return _fold(fn, elems, initializer, parallel_iterations, back_prop, name, False)


def foldr(fn, elems, initializer=None, parallel_iterations=10, back_prop=True, swap_memory=False, name=None):
    """As :func:`foldl`, from the last element to the first."""
    return _fold(fn, elems, initializer, parallel_iterations, back_prop, name, True)


def _fold(fn, elems, initializer, parallel_iterations, back_prop, name, from_end):
    from .indexing import reverse as _reverse

    with name_scope(name, "foldr" if from_end else "foldl", nest.flatten(elems)):
        if from_end:
            elems = nest.map_structure(lambda t: _reverse(convert_to_tensor(t), [0]), elems)
        flat, size, tas = _elements(elems)
        init, a_flat, first = _start(elems, tas, initializer)

        def step(i, *state):
            a = nest.pack_sequence_as(init, list(state))
            x = nest.pack_sequence_as(elems, [ta.read(i) for ta in tas])
            return (i + 1, *[convert_to_tensor(v) for v in nest.flatten(fn(a, x))])

        final = _loop(step, size, a_flat, back_prop, parallel_iterations, first)
        return nest.pack_sequence_as(init, list(final))
