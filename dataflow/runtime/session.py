"""``tf.Session``: runs fetches of a graph with feeds, keeping variable state between runs.

``Session.run`` normalizes the fetches (any nesting of lists, tuples, dicts and namedtuples of
tensors, ops, variables or names) into a flat list and a builder that puts values back in that
structure, looks up or makes the :class:`~dataflow.runtime.plan.Plan` for (graph version, fetches,
feed keys), checks each fed value against its tensor's dtype and static shape, and executes the plan.
"""

from __future__ import annotations

import operator
import threading
from threading import get_ident
from collections.abc import Mapping

import numpy as np

from ..framework import dtypes, errors
from ..framework.graph import Graph, Operation, Tensor, get_default_graph
from ..rewrite import config_key
from ..framework.indexed_slices import IndexedSlices, IndexedSlicesValue
from . import control
from .plan import Plan, np_errstate
from .state import SessionState


class _GPUOptions:
    def __init__(self, allow_growth=False, per_process_gpu_memory_fraction=1.0, visible_device_list=""):
        self.allow_growth = allow_growth
        self.per_process_gpu_memory_fraction = per_process_gpu_memory_fraction
        self.visible_device_list = visible_device_list


class _OptimizerOptions:
    def __init__(self, opt_level=0, do_constant_folding=True, do_common_subexpression_elimination=True,
                 do_function_inlining=True, global_jit_level=0):
        self.opt_level = opt_level
        self.do_constant_folding = do_constant_folding
        self.do_common_subexpression_elimination = do_common_subexpression_elimination
        self.do_function_inlining = do_function_inlining
        self.global_jit_level = global_jit_level


class _GraphOptions:
    def __init__(self, optimizer_options=None, **kw):
        self.optimizer_options = optimizer_options or _OptimizerOptions()
        self.__dict__.update(kw)


class ConfigProto:
    """``tf.ConfigProto``: session options (TF's fields are accepted; those that matter are used).

    Beyond TF: ``dask_scheduler`` picks how plans of several tasks run: ``None`` (the default: a plan
    of one task runs inline, larger ones on Dask's threaded scheduler), ``"sync"``, ``"threads"``, or
    any ``get(dsk, keys)`` callable; naming one runs even one-task plans through Dask.
    """

    def __init__(self, allow_soft_placement=False, log_device_placement=False, device_count=None,
                 intra_op_parallelism_threads=0, inter_op_parallelism_threads=0, gpu_options=None,
                 graph_options=None, operation_timeout_in_ms=0, dask_scheduler=None, **kw):
        self.allow_soft_placement = allow_soft_placement
        self.log_device_placement = log_device_placement
        self.device_count = dict(device_count or {})
        self.intra_op_parallelism_threads = intra_op_parallelism_threads
        self.inter_op_parallelism_threads = inter_op_parallelism_threads
        self.gpu_options = gpu_options or _GPUOptions()
        self.graph_options = graph_options or _GraphOptions()
        self.operation_timeout_in_ms = operation_timeout_in_ms
        self.dask_scheduler = dask_scheduler
        self.__dict__.update(kw)


GPUOptions = _GPUOptions
GraphOptions = _GraphOptions
OptimizerOptions = _OptimizerOptions


class RunOptions:
    """``tf.RunOptions``: ``trace_level=FULL_TRACE`` (any level above NO_TRACE) traces the run into
    ``RunMetadata.step_stats`` and puts one GraphDef per segment that ran (after graph rewrites) in
    ``RunMetadata.partition_graphs``."""

    NO_TRACE = 0
    SOFTWARE_TRACE = 1
    HARDWARE_TRACE = 2
    FULL_TRACE = 3

    def __init__(self, trace_level=0, timeout_in_ms=0, **kw):
        self.trace_level = trace_level
        self.timeout_in_ms = timeout_in_ms
        self.__dict__.update(kw)


class RunMetadata:
    def __init__(self):
        self.step_stats = None
        self.partition_graphs = []


def _resolve_scheduler(name):
    if name is None or callable(name):
        return name
    import dask.local
    import dask.threaded

    table = {"sync": dask.local.get_sync, "synchronous": dask.local.get_sync, "single-threaded":
             dask.local.get_sync, "threads": dask.threaded.get, "threading": dask.threaded.get}
    if name not in table:
        raise ValueError(f"Unknown dask_scheduler {name!r}; use one of {sorted(table)} or a get function")
    return table[name]


# ---- fetch structures --------------------------------------------------------------------------
def _fetch_key(fetches):
    t = type(fetches)
    if t is list or t is tuple:
        return (t, tuple(_fetch_key(f) for f in fetches))
    if isinstance(fetches, Mapping):
        return (t, tuple((k, _fetch_key(v)) for k, v in fetches.items()))
    if isinstance(fetches, tuple):  # namedtuple
        return (t, tuple(_fetch_key(f) for f in fetches))
    return fetches


def _flatten_fetches(graph: Graph, fetches, flat: list):
    """Append the leaves of ``fetches`` to ``flat``; return a builder ``values -> structure``."""
    if isinstance(fetches, (list, tuple)) and not hasattr(fetches, "_fields"):
        builders = [_flatten_fetches(graph, f, flat) for f in fetches]
        kind = type(fetches)
        return lambda vals: kind(b(vals) for b in builders)
    if hasattr(fetches, "_fields"):  # namedtuple
        builders = [_flatten_fetches(graph, f, flat) for f in fetches]
        kind = type(fetches)
        return lambda vals: kind(*[b(vals) for b in builders])
    if isinstance(fetches, Mapping):
        items = [(k, _flatten_fetches(graph, v, flat)) for k, v in fetches.items()]
        kind = type(fetches)
        try:
            kind()
        except TypeError:
            kind = dict
        return lambda vals: _fill(kind(), ((k, b(vals)) for k, b in items))
    components = getattr(fetches, "_fetch_components", None)  # a composite: SparseTensor
    if components is not None:
        parts, rebuild = components()
        builder = _flatten_fetches(graph, parts, flat)
        return lambda vals: rebuild(builder(vals))
    if fetches is None:
        raise TypeError("Fetch argument None has invalid type <class 'NoneType'>")
    if isinstance(fetches, IndexedSlices):  # fetched as TF's IndexedSlicesValue(values, indices, dense_shape)
        parts = [_flatten_fetches(graph, t, flat) for t in (fetches.values, fetches.indices, fetches.dense_shape)]
        return lambda vals: IndexedSlicesValue(*[b(vals) for b in parts])
    try:
        element = graph.as_graph_element(fetches)
    except (KeyError, ValueError) as e:
        raise ValueError(f"Fetch argument {fetches!r} cannot be interpreted as a Tensor. ({e})") from None
    except TypeError as e:
        raise TypeError(f"Fetch argument {fetches!r} has invalid type {type(fetches)}, must be a string or "
                        f"Tensor. ({e})") from None
    i = len(flat)
    flat.append(element)
    return operator.itemgetter(i)


def _fill(mapping, items):
    for k, v in items:
        mapping[k] = v
    return mapping


def _single_builder(vals):
    return vals[0]


# ---- feeds ---------------------------------------------------------------------------------------
def _feed_checker(tensor: Tensor):
    """A function converting a fed value to ``tensor``'s dtype, checking it fits the static shape."""
    npd = np.dtype(tensor.dtype.as_numpy_dtype)
    shape = tensor.shape.as_tuple()
    is_string = tensor.dtype is dtypes.string

    def bad(msg):
        return errors.FeedError(None, tensor.op, f"{msg}" + errors.describe_op(tensor.op))

    def check(value):
        if type(value) is np.ndarray and value.dtype == npd:
            arr = value
        elif isinstance(value, (Tensor, Operation)):
            raise bad(f"The value of a feed cannot be a tf.Tensor object ({value!r}). Acceptable feed values "
                      "include Python scalars, strings, lists, numpy ndarrays, or TensorHandles.")
        elif is_string:
            from ..ops.constant import to_numpy

            arr = to_numpy(value, tensor.dtype)
        else:
            try:
                src = np.asarray(value)
            except Exception as e:
                raise bad(f"Cannot feed {value!r} to tensor {tensor.name}: {e}") from None
            if src.dtype.kind in "OSU" and npd.kind in "biufc":  # as TF: numeric strings, object numbers
                try:
                    src = src.astype(npd)
                except (TypeError, ValueError) as e:
                    raise bad(f"Cannot feed {value!r} to tensor '{tensor.name}' of dtype {tensor.dtype.name}: "
                              f"{e}") from None
            if src.dtype.kind in "OSUV" or (src.dtype != npd and not np.can_cast(src.dtype, npd, "same_kind")
                                             and not (src.dtype.kind in "biu" and npd.kind in "fc")
                                             and not _integral_fits(src, npd)):
                raise bad(f"Cannot feed value of dtype {src.dtype} to tensor '{tensor.name}' of dtype "
                          f"{tensor.dtype.name}" + (" (it would lose the fractional part or range)"
                                                    if src.dtype.kind == "f" else ""))
            arr = src.astype(npd, copy=False)
            if src.dtype.kind in "iu" and npd.kind in "iu" and arr.size and not np.array_equal(arr, src):
                raise bad(f"Value fed to '{tensor.name}' does not fit in {tensor.dtype.name}")
        if shape is not None:
            s = arr.shape
            if len(s) != len(shape) or any(d is not None and d != e for d, e in zip(shape, s)):
                raise bad(f"Cannot feed value of shape {s} for Tensor '{tensor.name}', which has shape "
                          f"{tensor.shape}")
        return arr

    return check


def _flatten_feeds(feed_dict) -> dict:
    """TF's nested feeds: a tuple key (an ``LSTMStateTuple`` of placeholders) takes a value of its structure."""
    flat = {}
    for k, v in feed_dict.items():
        if isinstance(k, tuple):
            if not isinstance(v, (tuple, list)) or len(v) != len(k):
                raise ValueError(f"The value fed to the structure {k!r} must have its structure, got {v!r}")
            flat.update(_flatten_feeds(dict(zip(k, v))))
        elif hasattr(k, "_feed_components"):  # a SparseTensor (tf.sparse_placeholder) fed as one value
            flat.update(k._feed_components(v))
        else:
            flat[k] = v
    return flat


def _integral_fits(src: np.ndarray, npd: np.dtype) -> bool:
    """Floats fed to an int or bool tensor: TF casts them; we do too when no value changes."""
    if src.dtype.kind != "f" or npd.kind not in "iub":
        return False
    if npd.kind == "b":
        return bool(np.all((src == 0) | (src == 1)))
    info = np.iinfo(npd)
    return bool(np.all(np.isfinite(src) & (src == np.round(src)) & (src >= info.min) & (src <= info.max)))


class _DefaultSessionStack(threading.local):
    def __init__(self):
        self.stack: list = []

    def get(self):
        return self.stack[-1] if self.stack else None

    def clear_if_graph(self, graph):
        self.stack = [s for s in self.stack if s.graph is not graph]


_default_session_stack = _DefaultSessionStack()


def get_default_session():
    """The innermost ``with sess.as_default()`` (or InteractiveSession), else None."""
    return _default_session_stack.get()


def _session_for(session, graph):
    s = session or get_default_session()
    if s is None:
        raise ValueError("Cannot evaluate tensor using `eval()`: No default session is registered. Use "
                         "`with sess.as_default()` or pass an explicit session to `eval(session=sess)`")
    if s.graph is not graph:
        raise ValueError("Cannot use the given session to evaluate tensor: the tensor's graph is different "
                         "from the session's graph.")
    return s


class _AsDefault:
    def __init__(self, session):
        self.session = session

    def __enter__(self):
        _default_session_stack.stack.append(self.session)
        return self.session

    def __exit__(self, *exc):
        stack = _default_session_stack.stack
        if self.session in stack:
            stack.reverse()
            stack.remove(self.session)
            stack.reverse()


def _forget(plan) -> None:
    """Drop a plan's generated source from ``linecache`` (kept there for tracebacks while it may run)."""
    import linecache

    for seg in getattr(plan, "segments", ()):  # a cluster's plan keeps no local generated code
        linecache.cache.pop(seg.key, None)


MAX_PLANS = 256  # plans one session keeps (a loop making new fetches each step must not grow memory)


class Session:
    """``tf.Session(target, graph, config)``: runs ops of ``graph`` (the default graph if None).

    Examples
    --------
    >>> import dataflow as tf
    >>> a = tf.placeholder(tf.float32)
    >>> with tf.Session() as sess:
    ...     print(sess.run(a * 2, feed_dict={a: 3}))
    6.0
    """

    def __new__(cls, target="", *args, **kwargs):
        if target not in ("", None) and cls in (Session, InteractiveSession):  # runs go to dask.distributed
            from .distributed import DistributedInteractiveSession, DistributedSession

            cls = DistributedSession if cls is Session else DistributedInteractiveSession
        return super().__new__(cls)

    def __init__(self, target: str = "", graph: Graph | None = None, config: ConfigProto | None = None):
        self.graph = graph if graph is not None else get_default_graph()
        self.target = target
        self.config = config or ConfigProto()
        if target not in ("", None):
            raise errors.UnimplementedError(None, None, f"{type(self).__name__} target {target!r}: "
                                            "only tf.Session runs on a dask.distributed cluster")
        self._scheduler = _resolve_scheduler(self.config.dask_scheduler)
        control.install_sigint_handler()
        self._timeout = self.config.operation_timeout_in_ms  # ms; 0: none
        self._state = SessionState()
        timeout_ms = getattr(self.config, "operation_timeout_in_ms", 0) or 0
        self._state.op_timeout = timeout_ms / 1000 if timeout_ms > 0 else None  # blocked queue ops give up
        self._state.config = self.config  # bodies of loops and conds are placed when their op is bound
        self._plans: dict = {}
        self._plan_lock = threading.RLock()
        self._closed = False
        self._default_ctx = None
        self._graph_ctx = None

    # ---- context management -------------------------------------------------------------------
    def as_default(self):
        return _AsDefault(self)

    def __enter__(self):
        """``with tf.Session(graph=g) as sess``: ``sess`` is the default session, ``g`` the default graph."""
        self._graph_ctx = self.graph.as_default()
        self._graph_ctx.__enter__()
        self._default_ctx = self.as_default()
        self._default_ctx.__enter__()
        return self

    def __exit__(self, *exc):
        if self._default_ctx is not None:
            self._default_ctx.__exit__(*exc)
            self._default_ctx = None
        if self._graph_ctx is not None:
            self._graph_ctx.__exit__(*exc)
            self._graph_ctx = None
        self.close()

    def close(self) -> None:
        """Release the session's state; later runs raise RuntimeError. Runs blocked in a queue or
        reader op are woken with CancelledError."""
        self._closed = True
        for plan in list(self._plans.values()):
            _forget(plan)
        self._plans = {}
        self._state.clear()

    @property
    def sess_str(self) -> str:
        return self.target or ""

    # ---- run ----------------------------------------------------------------------------------
    def run(self, fetches, feed_dict=None, options=None, run_metadata=None):
        """Compute ``fetches`` (any nesting of tensors/ops/names), with ``feed_dict`` values fed.

        Returns the same structure with NumPy values in place of tensors and None for ops.
        """
        if self._closed:
            raise RuntimeError("Attempted to use a closed Session.")
        feed_dict = feed_dict or {}
        trace = options is not None and run_metadata is not None and getattr(options, "trace_level", 0) > 0
        try:
            key = (self.graph.version, _fetch_key(fetches), tuple(feed_dict), config_key(self.config))
            if trace:
                key += ("trace",)
            plan = self._plans.get(key)
        except TypeError:  # an unhashable fetch: plan anew (and fail with TF's message if it is bad)
            key, plan = None, None
        if plan is None:
            with self._plan_lock:  # concurrent runs (queue-runner threads) plan one at a time
                plan = self._plans.get(key) if key is not None else None
                if plan is None:
                    plan = self._make_plan(fetches, _flatten_feeds(feed_dict), trace)
                    plan.nested_feeds = any(isinstance(k, tuple) or hasattr(k, "_feed_components")
                                            for k in feed_dict)
                    if key is not None:
                        if any(k[0] != key[0] for k in self._plans):  # older graph versions never hit again
                            for k in [k for k in self._plans if k[0] != key[0]]:
                                _forget(self._plans.pop(k))
                        if len(self._plans) >= MAX_PLANS:  # bounded: the least recently made plan goes
                            _forget(self._plans.pop(next(iter(self._plans))))
                        self._plans[key] = plan
        if plan.nested_feeds:  # TF's nested feeds: a tuple of placeholders takes a tuple of values
            feed_dict = _flatten_feeds(feed_dict)
        values = [check(v) for check, v in zip(plan.checkers, feed_dict.values())]
        timeout = self._timeout if options is None else getattr(options, "timeout_in_ms", 0) or self._timeout
        held = control.SIGINT if get_ident() == control.MAIN else None  # Ctrl-C waits for the run's end
        if held is not None:
            held.depth += 1
        try:
            with np_errstate():
                result = control.run_with_deadline(plan.execute, (values,), timeout) if timeout else \
                    plan.execute(values)
        except BaseException:
            if held is not None:
                held.leave()
            raise
        if held is not None:
            held.depth -= 1
            if held.pending and not held.depth:
                held.leave(counted=True)
        if trace:
            run_metadata.step_stats = plan.tracer.step_stats()
            run_metadata.partition_graphs = plan.partition_graphs()
        return result

    def _make_plan(self, fetches, feed_dict, trace: bool = False) -> Plan:
        flat: list = []
        builder = _flatten_fetches(self.graph, fetches, flat)
        if isinstance(fetches, (Tensor, Operation, str)) or hasattr(fetches, "_as_graph_element"):
            builder = _single_builder
        feeds = []
        for k in feed_dict:
            try:
                t = self.graph.as_graph_element(k, allow_operation=False)
            except (KeyError, ValueError, TypeError) as e:
                raise TypeError(f"Cannot interpret feed_dict key as Tensor: {e}") from None
            if not isinstance(t, Tensor):
                raise TypeError(f"Cannot interpret feed_dict key as Tensor: {k!r} is not a Tensor")
            if not self.graph.is_feedable(t):
                raise ValueError(f"Tensor {t.name} may not be fed.")
            feeds.append(t)
        plan = Plan(flat, feeds, builder, self._state, self.config, self._scheduler, trace)
        plan.checkers = [_feed_checker(t) for t in feeds]
        return plan

    def make_callable(self, fetches, feed_list=None, accept_options=False):
        """A function running ``fetches`` with its positional arguments fed to ``feed_list`` (TF's
        ``Session.make_callable``); with ``accept_options`` it takes ``options`` and ``run_metadata``."""
        feed_list = list(feed_list or [])

        def call(*args, options=None, run_metadata=None):
            if len(args) != len(feed_list):
                raise TypeError(f"Expected {len(feed_list)} feed arguments, got {len(args)}")
            return self.run(fetches, dict(zip(feed_list, args)), options, run_metadata)

        if accept_options:
            return call
        return lambda *args: call(*args)

    def lower(self, fetches, feed_dict=None) -> "LoweredRun":
        """The Dask graph one ``run(fetches, feed_dict)`` executes, as a Dask collection.

        ``dask.visualize(sess.lower(y, {x: 1}))`` draws it; ``dask.compute`` runs it.
        """
        feed_dict = feed_dict or {}
        plan = self._make_plan(fetches, feed_dict)
        values = [check(v) for check, v in zip(plan.checkers, feed_dict.values())]
        return LoweredRun(plan, values)

    def list_devices(self):
        from backends import available_backends

        return [b.device for b in available_backends()]

    def partial_run_setup(self, *args, **kwargs):
        raise errors.UnimplementedError(None, None, "partial_run is not supported")


class LoweredRun:
    """A planned run as a Dask collection (``__dask_graph__`` and friends).

    ``dask.compute(sess.lower(fetches, feed_dict))`` gives what ``sess.run(fetches, feed_dict)`` gives.
    """

    def __init__(self, plan: Plan, feed_values):
        self.plan = plan
        self.dsk = plan.graph_with(feed_values)
        self.keys = plan.result_keys()

    def __dask_graph__(self):
        return self.dsk

    def __dask_keys__(self):
        return list(self.keys)

    def __dask_postcompute__(self):
        return self.plan.finish, ()

    def __dask_tokenize__(self):
        return self.plan.token

    @staticmethod
    def __dask_optimize__(dsk, keys, **kwargs):
        return dsk

    @staticmethod
    def __dask_scheduler__(dsk, keys, **kwargs):
        import dask.local

        return dask.local.get_sync(dsk, keys, **kwargs)


class InteractiveSession(Session):
    """A Session that installs itself, and its graph, as the defaults (for ``t.eval()`` in shells)."""

    def __init__(self, target="", graph=None, config=None):
        super().__init__(target, graph, config)
        self._interactive_graph_ctx = self.graph.as_default()
        self._interactive_graph_ctx.__enter__()
        self._interactive_ctx = self.as_default()
        self._interactive_ctx.__enter__()

    def close(self):
        super().close()
        if self._interactive_ctx is not None:
            self._interactive_ctx.__exit__(None, None, None)
            self._interactive_ctx = None
            self._interactive_graph_ctx.__exit__(None, None, None)
