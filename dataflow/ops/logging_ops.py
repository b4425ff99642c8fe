"""Printing and assertion primitives: ``tf.Print``, ``tf.print`` and ``tf.Assert`` (TF1's ``logging_ops``).

Three stateful primitives live here:

- ``Print``: its output is its first input; when it runs it writes ``message`` and a summary of each
  data tensor to standard error, for the first ``first_n`` runs only if ``first_n`` is set. The run
  counter belongs to the session (TF keeps one per kernel, and a session keeps its kernels), so it is
  shared by every ``run`` of one session and starts again in a new one.
- ``PrintV2`` (no outputs): ``tf.print``'s op; the text template is an attr, the tensors are inputs,
  and the stream (stderr, stdout, a ``tf.logging`` level or a ``file://`` path) is resolved when it
  runs, so redirection of ``sys.stderr`` is honoured.
- ``Assert`` (no outputs): an InvalidArgumentError ``"assertion failed: [d0] [d1] ..."`` listing each
  data tensor when it runs with a false condition.

Values are summarized as TensorFlow's ``Tensor::SummarizeValue`` does: TF1's flat form for ``Print``
and ``Assert`` (``[1 2 3...]``: the first ``summarize`` elements), the NumPy-like form for ``tf.print``
(``[1 2 3 ... 8 9 10]``: ``summarize`` elements at each end of each axis); floats print as C's
``%g`` with the shortest of 6 or 9 significant digits (15 or 17 for float64) that round-trips.
"""

from __future__ import annotations

import logging
import sys
import threading
import weakref

import numpy as np

from ..framework import dtypes
from ..framework import errors
from ..framework.graph import Operation, Tensor, convert_to_tensor, make_op, name_scope
from ..framework.registry import OpDef, register

__all__ = ["Assert", "Print", "print_v2", "summarize_v1", "summarize_v2"]


# ---- summarizing values as TensorFlow prints them -------------------------------------------------
def _host(a) -> np.ndarray:
    """A kernel input as a host NumPy array (CuPy and pyopencl arrays have ``.get()``)."""
    return np.asarray(a.get() if hasattr(a, "get") and not isinstance(a, np.ndarray) else a)


_ESCAPES = {10: "\\n", 13: "\\r", 9: "\\t", 34: '\\"', 39: "\\'", 92: "\\\\"}


def _c_escape(b: bytes) -> str:
    """TF's ``Utf8SafeCEscape``: C escapes for quotes, backslash and control bytes; valid UTF-8 text is
    kept as it is, otherwise bytes above 0x7e become octal escapes."""
    try:
        text = b.decode("utf-8")
    except UnicodeDecodeError:
        return "".join(_ESCAPES.get(c) or (chr(c) if 32 <= c < 127 else f"\\{c:03o}") for c in b)
    return "".join(_ESCAPES.get(ord(c)) or (c if ord(c) >= 32 and ord(c) != 127 else f"\\{ord(c):03o}")
                   for c in text)


def _float_text(v, single: bool) -> str:
    digits, more = (6, 9) if single else (15, 17)
    s = "%.*g" % (digits, v)
    cast = np.float32 if single else np.float64
    if np.isfinite(v) and cast(float(s)) != cast(v):
        s = "%.*g" % (more, v)
    return s


def _element(v, print_v2: bool) -> str:
    if isinstance(v, (bytes, np.bytes_, str, np.str_)):
        text = _c_escape(v.encode("utf-8") if isinstance(v, str) else bytes(v))
        return f'"{text}"' if print_v2 else text
    if isinstance(v, (bool, np.bool_)):
        return "1" if v else "0"
    if isinstance(v, (np.floating, float)):
        return _float_text(float(v), np.dtype(type(v)).itemsize <= 4 if isinstance(v, np.floating) else False)
    if isinstance(v, (np.complexfloating, complex)):
        return "?"  # TF has no printer for complex values
    return str(int(v)) if isinstance(v, (np.integer, int)) else str(v)


def summarize_v1(a, summarize: int) -> str:
    """TF1's ``SummarizeValue``: the first ``summarize`` elements (all when negative), ``...`` if more."""
    a = np.asarray(a)
    n = a.size
    limit = n if summarize is None or summarize < 0 else min(summarize, n)
    flat = a.reshape(-1)
    if a.ndim == 0:
        return " ".join(_element(flat[i], False) for i in range(limit)) + ("..." if n > limit else "")
    out: list[str] = []
    index = [0]

    def dim(d):
        if index[0] >= limit:
            return
        count = a.shape[d]
        if d == a.ndim - 1:
            for i in range(count):
                if index[0] >= limit:
                    if d != 0:
                        out.append("...")
                    return
                if i > 0:
                    out.append(" ")
                out.append(_element(flat[index[0]], False))
                index[0] += 1
            return
        for _ in range(count):
            opened = index[0] < limit
            if opened:
                out.append("[")
            dim(d + 1)
            if index[0] < limit or opened:
                out.append("]")

    dim(0)
    return "".join(out) + ("..." if n > limit else "")


def summarize_v2(a, summarize: int) -> str:
    """``tf.print``'s form: NumPy-like, ``summarize`` entries at each end of each axis (-1: all)."""
    a = np.asarray(a)
    n = a.size
    ends = n if summarize is None or summarize < 0 else min(summarize, n)
    if a.ndim == 0:
        return _element(a[()], True)
    out: list[str] = []

    def spacing(d):
        out.append(" " if d == a.ndim - 1 else "\n" * (a.ndim - d - 1) + " " * (d + 1))

    def dim(d, index):
        if d == a.ndim:
            out.append(_element(a[index], True))
            return
        out.append("[")
        count = a.shape[d]
        for i in range(min(ends, count)):
            if i > 0:
                spacing(d)
            dim(d + 1, index + (i,))
        if count > 2 * ends:
            spacing(d)
            out.append("...")
        for i in range(max(ends, count - ends), count):
            spacing(d)
            dim(d + 1, index + (i,))
        out.append("]")

    dim(0, ())
    return "".join(out)


# ---- Print (TF1) -------------------------------------------------------------------------------
class _RunCounter:
    """How many times one Print op printed in one session."""

    __slots__ = ("op", "n", "lock")

    def __init__(self, op):
        self.op = op
        self.n = 0
        self.lock = threading.Lock()

    def take(self, first_n: int) -> bool:
        """True (and count it) while fewer than ``first_n`` prints happened; always True if negative."""
        if first_n < 0:
            return True
        with self.lock:
            if self.n >= first_n:
                return False
            self.n += 1
            return True


_counters: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # session state -> {op name: counter}
_counters_lock = threading.Lock()


def _bind_counter(op, state):
    with _counters_lock:
        per_session = _counters.setdefault(state, {})
        c = per_session.get(op.name)
        if c is None or c.op is not op:
            c = per_session[op.name] = _RunCounter(op)
    return {"counter": c}


def _print_kernel(xp, x, *data, message, first_n, summarize, counter):
    if counter.take(first_n):
        text = message + "".join(f"[{summarize_v1(_host(d), summarize)}]" for d in data)
        sys.stderr.write(text + "\n")
        sys.stderr.flush()
        logging.getLogger("dataflow").info("%s", text)  # also to the logger, for captured or remote runs
    return x


register(OpDef("Print", lambda op: [(op.inputs[0].dtype, op.inputs[0].shape)], _print_kernel,
               grad=lambda op, g: [g] + [None] * (len(op.inputs) - 1), stateful=True, view=True,
               bind=_bind_counter))


def Print(input_, data, message=None, first_n=None, summarize=None, name=None) -> Tensor:  # noqa: N802
    """``input_``, printing ``message`` and ``data`` to standard error each time it is computed.

    Parameters
    ----------
    input_ : Tensor
        The value passed through.
    data : list
        Tensors (or values) whose contents are printed, each as ``[v0 v1 v2...]``.
    message : str, optional
        Printed first.
    first_n : int, optional
        Print only the first ``first_n`` times this op runs in a session (default: always).
    summarize : int, optional
        How many elements of each tensor to print (default 3; -1 for all).
    name : str, optional
        The op's name.

    Returns
    -------
    Tensor
        Same value as ``input_``: use it in place of ``input_`` so the print happens.

    Examples
    --------
    >>> import dataflow as tf
    >>> x = tf.constant([1.0, 2.0, 3.0, 4.0])
    >>> x = tf.Print(x, [x, tf.reduce_sum(x)], message="x, sum: ")
    >>> _ = tf.Session().run(x)  # stderr: x, sum: [1 2 3...][10]

    The same line goes to the ``logging.getLogger("dataflow")`` logger at INFO level.
    """
    x = convert_to_tensor(input_)
    data = [convert_to_tensor(d) for d in (data or [])]
    attrs = {"message": "" if message is None else str(message),
             "first_n": -1 if first_n is None else int(first_n),
             "summarize": 3 if summarize is None else int(summarize)}
    return make_op("Print", [x, *data], attrs, name or "Print").outputs[0]


# ---- tf.print (PrintV2) ------------------------------------------------------------------------
def _emit(stream: str, text: str) -> None:
    if stream == "stderr":
        sys.stderr.write(text)
        sys.stderr.flush()
    elif stream == "stdout":
        sys.stdout.write(text)
        sys.stdout.flush()
    elif stream.startswith("log("):
        from .. import logging as tf_logging

        level = {"info": tf_logging.INFO, "warning": tf_logging.WARN, "error": tf_logging.ERROR,
                 "debug": tf_logging.DEBUG, "fatal": tf_logging.FATAL}[stream[4:-1]]
        tf_logging.log(level, "%s", text[:-1] if text.endswith("\n") else text)
    else:
        with open(stream[len("file://"):], "a", encoding="utf-8") as f:
            f.write(text)


def _print_v2_kernel(xp, *values, template, output_stream, end, summarize):
    text = "".join(summarize_v2(_host(values[p]), summarize) if isinstance(p, int) else p for p in template)
    _emit(output_stream, text + end)


register(OpDef("PrintV2", lambda op: [], _print_v2_kernel, stateful=True, differentiable=False))


def _stream_name(output_stream) -> str:
    from .. import logging as tf_logging

    if output_stream is sys.stderr or output_stream is sys.__stderr__:
        return "stderr"
    if output_stream is sys.stdout or output_stream is sys.__stdout__:
        return "stdout"
    levels = {tf_logging.info: "log(info)", tf_logging.warning: "log(warning)", tf_logging.warn: "log(warning)",
              tf_logging.error: "log(error)", tf_logging.debug: "log(debug)", tf_logging.fatal: "log(fatal)"}
    if output_stream in levels:
        return levels[output_stream]
    if isinstance(output_stream, str) and (output_stream in ("stderr", "stdout") or
                                           output_stream.startswith("file://")):
        return output_stream
    raise ValueError(f"Unsupported output stream {output_stream!r}: use sys.stderr, sys.stdout, a tf.logging "
                     f"function or a 'file://' path")


def _is_tensorish(x) -> bool:
    from .variables import Variable

    return isinstance(x, (Tensor, Variable))


def _template(obj, tensors: list, top: bool) -> list:
    """Pieces of ``obj``'s text: strings, and ints indexing ``tensors`` (filled in when the op runs)."""
    if _is_tensorish(obj):
        tensors.append(convert_to_tensor(obj))
        return [len(tensors) - 1]
    if isinstance(obj, (list, tuple)):
        items = [_template(o, tensors, False) for o in obj]
        open_, close = ("[", "]") if isinstance(obj, list) else ("(", ",)" if len(obj) == 1 else ")")
        return [open_, *_joined(items, ", "), close]
    if isinstance(obj, dict):
        items = [[repr(k), ": ", *_template(v, tensors, False)] for k, v in obj.items()]
        return ["{", *_joined(items, ", "), "}"]
    return [str(obj) if top or not isinstance(obj, str) else repr(obj)]


def _joined(items: list, sep: str) -> list:
    out: list = []
    for i, pieces in enumerate(items):
        if i:
            out.append(sep)
        out.extend(pieces)
    return out


def print_v2(*inputs, **kwargs) -> Operation:
    """``tf.print``: an op that prints ``inputs`` when it runs (run it, or make something depend on it).

    Parameters
    ----------
    *inputs
        Tensors, Python values and nested lists/tuples/dicts of them, printed separated by ``sep``.
    output_stream : optional
        ``sys.stderr`` (default), ``sys.stdout``, a ``tf.logging`` function (``tf.logging.info``...),
        or ``"file://<path>"`` (appended to).
    summarize : int, optional
        Elements printed at each end of each axis (default 3; -1 for all).
    sep : str, optional
        Between inputs (default ``" "``).
    end : str, optional
        After the last input (default ``"\\n"``).
    name : str, optional
        The op's name.

    Returns
    -------
    Operation
        The print op.

    Examples
    --------
    >>> import dataflow as tf
    >>> x = tf.range(10)
    >>> op = tf.print("x:", x, output_stream=sys.stdout)
    >>> tf.Session().run(op)  # stdout: x: [0 1 2 ... 7 8 9]
    """
    output_stream = kwargs.pop("output_stream", sys.stderr)
    summarize = kwargs.pop("summarize", 3)
    sep = kwargs.pop("sep", " ")
    end = kwargs.pop("end", "\n")
    name = kwargs.pop("name", None)
    if kwargs:
        raise ValueError(f"Unrecognized keyword arguments for tf.print: {sorted(kwargs)}")
    tensors: list = []
    pieces = _joined([_template(x, tensors, True) for x in inputs], sep)
    template: list = []
    for p in pieces:  # adjacent strings as one
        if isinstance(p, str) and template and isinstance(template[-1], str):
            template[-1] += p
        else:
            template.append(p)
    attrs = {"template": tuple(template), "output_stream": _stream_name(output_stream), "end": end,
             "summarize": 3 if summarize is None else int(summarize)}
    with name_scope(name, "PrintV2", tensors) as scope:
        return make_op("PrintV2", tensors, attrs, scope)


# ---- Assert -----------------------------------------------------------------------------------
def _assert_infer(op):
    c = op.inputs[0]
    if c.dtype is not dtypes.bool_:
        raise TypeError(f"Assert: condition must be a bool tensor, got {c.dtype.name}")
    return []


def _assert_kernel(xp, condition, *data, summarize):
    c = _host(condition)
    if c.ndim != 0:
        raise errors.InvalidArgumentError(None, None, f"In[0] is not a scalar: {list(c.shape)}")
    if bool(c):
        return None
    raise errors.InvalidArgumentError(
        None, None, "assertion failed: " + " ".join(f"[{summarize_v1(_host(d), summarize)}]" for d in data))


register(OpDef("Assert", _assert_infer, _assert_kernel, stateful=True, differentiable=False))


def Assert(condition, data, summarize=None, name=None) -> Operation:  # noqa: N802
    """An op that fails with InvalidArgumentError ``"assertion failed: [d0] [d1] ..."`` when it runs and
    ``condition`` is false.

    Parameters
    ----------
    condition : Tensor
        A scalar bool.
    data : list
        Tensors (or values) printed in the error.
    summarize : int, optional
        Elements of each data tensor printed (default 3).
    name : str, optional
        The name scope (default ``"Assert"``).

    Returns
    -------
    Operation
        Run it, or put it under ``tf.control_dependencies``.

    Examples
    --------
    >>> import dataflow as tf
    >>> x = tf.placeholder(tf.float32)
    >>> check = tf.Assert(x > 0, ["x must be positive, got", x])
    >>> with tf.control_dependencies([check]):
    ...     y = tf.sqrt(x)
    """
    # NOTE: TF1 wraps the op in a cond so the data is computed only when the condition fails; here the
    # data is always computed (it is small in practice, and one op keeps the failing line exact).
    with name_scope(name, "Assert", [condition, data]):
        xs = [convert_to_tensor(d) for d in data]
        condition = convert_to_tensor(condition, name="Condition")
        return make_op("Assert", [condition, *xs], {"summarize": 3 if summarize is None else int(summarize)},
                       "Assert")
