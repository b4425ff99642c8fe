"""``tf.py_func`` / ``tf.numpy_function``: a Python function on NumPy arrays, as an op of the graph.

Two primitives, as TF has: ``PyFunc`` (stateful: never merged or folded; the default) and
``PyFuncStateless`` (``stateful=False``: a pure function, which graph rewrites may merge). The
function is not an attr: it is kept per graph under a token (``pyfunc_0``, as TF's ``token`` attr),
for as long as the graph lives, and bound to the kernel when a run is planned.

When the op runs, its inputs arrive as NumPy arrays; the function's results (one value, or a list or
tuple with one value per output) are converted to the declared ``Tout`` dtypes. Output static shapes
are unknown (``set_shape`` them). There is no gradient: ``tf.gradients`` through a py_func is None.

An exception in the function becomes TF's error class, as TF's py_func maps them: ValueError and
TypeError -> InvalidArgumentError, StopIteration -> OutOfRangeError, MemoryError ->
ResourceExhaustedError, NotImplementedError -> UnimplementedError, anything else -> UnknownError. A
``tf.errors.OpError`` raised by the function keeps its class. The message has the function's traceback,
and the runtime appends the op's name and the line that created it.
"""

from __future__ import annotations

import itertools
import threading
import traceback
import weakref

import numpy as np

from ..framework import dtypes, errors
from ..framework.graph import convert_to_tensor, get_default_graph, graph_of, make_op
from ..framework.registry import OpDef, register
from ..framework.tensor_shape import TensorShape
from ..runtime.control import check_cancelled

__all__ = ["numpy_function", "py_func"]

_funcs: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # graph -> {token: function}
_tokens = itertools.count()
_lock = threading.Lock()

_ERROR_CLASSES = [  # TF's py_func.cc mapping, first match wins
    ((ValueError, TypeError), errors.InvalidArgumentError),
    ((StopIteration,), errors.OutOfRangeError),
    ((MemoryError,), errors.ResourceExhaustedError),
    ((NotImplementedError,), errors.UnimplementedError),
]


def _host(a):
    return np.asarray(a.get() if hasattr(a, "get") and not isinstance(a, np.ndarray) else a)


def _bind_func(op, state):
    return {"func": _funcs[op.graph][op.attrs["token"]]}


def _error_for(exc: BaseException, token: str) -> errors.OpError:
    if isinstance(exc, errors.OpError):
        return type(exc)(None, None, exc.message)
    cls = next((c for types, c in _ERROR_CLASSES if isinstance(exc, types)), errors.UnknownError)
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__.tb_next))
    return cls(None, None, f"{type(exc).__name__}: {exc}\n{tb.rstrip()}")


def _convert(value, dtype, i: int, token: str):
    if dtype is dtypes.string:
        return np.asarray(value, dtype=object)
    arr = np.asarray(value)
    if arr.dtype.kind in "OSU" and dtype is not dtypes.string:
        raise errors.InvalidArgumentError(
            None, None, f"{i}-th value returned by {token} is {arr.dtype}, but expects {dtype.name}")
    try:
        return arr.astype(dtype.as_numpy_dtype, copy=False)
    except (TypeError, ValueError) as e:
        raise errors.InvalidArgumentError(
            None, None, f"{i}-th value returned by {token} is {arr.dtype}, but expects {dtype.name}: {e}") from None


def _py_func_kernel(xp, *args, token, Tout, func):
    try:
        ret = func(*[_host(a) for a in args])
    except Exception as e:  # noqa: BLE001  (every failure of user code becomes TF's error class)
        raise _error_for(e, token) from e
    check_cancelled()  # a slow function may have outlived the run's deadline: stop the run here
    if not Tout:
        return None
    values = list(ret) if isinstance(ret, (list, tuple)) else [ret]
    if len(values) != len(Tout):
        raise errors.InvalidArgumentError(
            None, None, f"{token} returns {len(values)} values, but expects to see {len(Tout)} values.")
    outs = tuple(_convert(v, dt, i, token) for i, (v, dt) in enumerate(zip(values, Tout)))
    outs = tuple(o if o.dtype == object else xp.asarray(o) for o in outs)
    return outs[0] if len(outs) == 1 else outs


def _py_func_infer(op):
    return [(dt, TensorShape(None)) for dt in op.attrs["Tout"]]


register(OpDef("PyFunc", _py_func_infer, _py_func_kernel, differentiable=False, stateful=True, bind=_bind_func))
register(OpDef("PyFuncStateless", _py_func_infer, _py_func_kernel, differentiable=False, bind=_bind_func))


def py_func(func, inp, Tout, stateful=True, name=None):  # noqa: N803 (TF's argument name)
    """An op calling ``func`` on the NumPy values of ``inp`` each time it runs.

    Parameters
    ----------
    func : callable
        ``func(*arrays)`` returning one value (``Tout`` a dtype, or a list of one) or a list/tuple of
        values, one per entry of ``Tout``.
    inp : list
        The input tensors (or values).
    Tout : DType or list of DType
        The output dtype, or a list of them.
    stateful : bool
        False declares ``func`` pure (op ``PyFuncStateless``): rewrites may then merge two calls.
    name : str, optional
        The op's name.

    Returns
    -------
    Tensor or list of Tensor
        One tensor if ``Tout`` is a single dtype, else a list; static shapes are unknown.

    Examples
    --------
    >>> import numpy as np
    >>> import dataflow as tf
    >>> x = tf.constant([1.0, 4.0, 9.0])
    >>> y = tf.py_func(lambda a: np.sqrt(a), [x], tf.float32)
    >>> tf.Session().run(y)
    array([1., 2., 3.], dtype=float32)
    """
    is_list = isinstance(Tout, (list, tuple))
    touts = [dtypes.as_dtype(t) for t in (Tout if is_list else [Tout])]
    inputs = [convert_to_tensor(x) for x in (inp or [])]
    graph = graph_of(inputs) if inputs else get_default_graph()
    with _lock:
        token = f"pyfunc_{next(_tokens)}"
        _funcs.setdefault(graph, {})[token] = func
    op = make_op("PyFunc" if stateful else "PyFuncStateless", inputs, {"token": token, "Tout": tuple(touts)},
                 name or ("PyFunc" if stateful else "PyFuncStateless"))
    return list(op.outputs) if is_list else op.outputs[0]


def numpy_function(func, inp, Tout, name=None):  # noqa: N803
    """``tf.numpy_function``: :func:`py_func` with ``stateful=True``.

    Parameters
    ----------
    func, inp, Tout, name
        As :func:`py_func`.

    Returns
    -------
    Tensor or list of Tensor
        As :func:`py_func`.
    """
    return py_func(func, inp, Tout, stateful=True, name=name)

