"""Running plans on a dask.distributed cluster: ``tf.Session("tcp://host:8786")``.

A distributed session plans a run as the local one does (prune, graph rewrites, place, generate: the
functions of :mod:`dataflow.runtime.plan` and :func:`dataflow.rewrite.optimize`, with the session's
``RewriterConfig``), but segments by *task* and keeps every variable's value on a worker. Rewritten ops
are detached operations; they are pickled with the plan's description like the user's ops.

**Placement.** An op's device string names a Dask worker *by name*: ``/job:ps/task:0`` runs on the
worker started as ``dask worker --name ps-0`` (or by ``tf.train.Server(spec, "ps", 0)``);
``/device:GPU:n`` asks for a worker with the resource ``GPU`` (``--resources GPU=1``). Ops with no job
run on any worker. An op that takes a variable's ref (a read, an ``Assign``, an optimizer's ``Apply*``)
runs where the variable lives, as TF colocates them. Tasks are restricted to worker names, never
addresses, so a worker restarted under its name takes its place.

**Segments** (:func:`segment_tasks`): consecutive ops of one task become one segment, split where an
input comes from a later segment (the rule of ``plan.segment``), so segments form a DAG in order.
``VariableV2`` ops are not segment members: each segment that uses a variable gets the variable's op
prepended, so it binds a slot of its own.

**State held explicitly.** The session holds, per variable, where its current value is -- never the
value: ``(future, index)``, a Dask future (on the variable's worker) of the result of the task that
last wrote it and the variable's place in that result (None: the whole result). A run submits one
task per segment, ``_run_segment_async(plan_key, session_id, index, picks, n_vars, push, *inputs,
*variable_values)``; the task picks its inputs and variables out of their producers' results, puts
the variable values in its slots, runs the generated program and returns ``(fetches, outputs, new
values of the variables it writes)``, or the new value alone when that is all it returns (an assign,
a one-variable update). Consumers and the next versions of the variables index into that tuple, so
no task runs to split it; the variable versions thread through the segments in order, and when the
whole run has finished the session swaps its entries for the new ones (a failed run changes no
variable). Only fetches come back to the client, small ones pushed by the worker with the task's
completion (:func:`_push_fetches`), larger ones gathered; weights never travel through the client.

**Shipping segments.** A plan's description (its ops, the tensors each segment takes and returns,
py_func functions) is pickled once by cloudpickle into the scheduler's metadata (:func:`_plan_path`,
dropped when the session closes); a worker reads it on its first run of the plan (:func:`_fetch_plan`),
unpickles it once (cache keyed by plan key) and rebuilds its segments with :func:`plan.generate`
against a worker-local state (slots, and random generators shared by the session's segments on that
worker). The tasks do not depend on it. As every task is pure given its inputs, Dask recomputes
intermediates lost with a worker.

**On the worker's event loop.** The segment task is a coroutine (Dask runs those on the worker's event
loop): a quick segment with small inputs and no op that may wait runs right there, everything else in
the worker's thread pool (:func:`_run_segment_async`).

**Faults.** Variable values lost with a worker cannot be recomputed (their history is released). The
run then raises ``AbortedError`` naming the lost variables, unless ``recover_from`` is set: a
checkpoint directory written by :meth:`DistributedSession.save_variables` (restored on the workers
that own the variables) or a callable ``f(session, lost_names)``; the run is then retried once.
Every wait has a timeout (``ConfigProto(operation_timeout_in_ms=...)``, default 120 s); an
unreachable scheduler or a missing worker is ``UnavailableError``.
"""

from __future__ import annotations

import threading
import time
import uuid

from .. import rewrite
from ..framework import errors
from ..framework.device import DeviceSpec
from ..framework.graph import Operation, Tensor
from .plan import Plan, SegmentSpec, _copy, _scalar, cross_segment_inputs, generate, place, prune, segment
from .state import SessionState, Slot
from .trace import _EPOCH_NS, Tracer, step_stats_of

_DEFAULT_TIMEOUT_S = 120.0
_PUSH_LIMIT = 4096  # bytes: fetches up to this size (pickled) come back with the task's completion
_INLINE_LIMIT_S = 0.001  # a segment whose last run took less runs on the worker's event loop ...
_INLINE_BYTES = 256 * 1024  # ... if its inputs and variables (arrays) hold at most this many bytes


# ---- client side: where each op runs -------------------------------------------------------------
def worker_name(job: str, task: int | None) -> str:
    """The Dask worker name of a TF task: ``("ps", 0) -> "ps-0"``."""
    return f"{job}-{task or 0}"


def task_of(device: str) -> tuple:
    """``(worker name or None, needs a GPU)`` for a device string."""
    spec = DeviceSpec.from_string(device)
    return (worker_name(spec.job, spec.task) if spec.job else None, spec.device_type == "GPU")


def assign_tasks(ops) -> dict:
    """``{op: (worker, gpu)}`` for ``ops`` (in topological order).

    An op reading a ref tensor goes where that tensor's op goes (a variable's reads and updates run
    on its worker). An op with no job runs with its first non-constant input that has one (so a
    tower's gradients stay on the tower's worker), else with its first consumer that has one, else
    on any worker.
    """
    where: dict = {}
    for op in ops:
        refs = [t.op for t in op._inputs if t._is_ref and t.op in where]
        task = where[refs[0]] if refs else task_of(op.device)
        if task[0] is None:
            near = [where[t.op] for t in op._inputs if t.op in where and t.op.type != "Const"] + \
                   [where[c] for c in op._control_inputs if c in where]
            task = next((n for n in near if n[0] is not None), task)
        where[op] = task
    consumers: dict = {}
    for op in ops:
        for t in op._inputs:
            consumers.setdefault(t.op, []).append(op)
    for op in reversed(ops):
        if where[op][0] is None and not op.device:
            task = next((where[c] for c in consumers.get(op, ()) if where[c][0] is not None), None)
            if task is not None:
                where[op] = task
    return where


def _placement_config(config):
    """What placement needs of the session's config, as a small picklable object for the workers."""
    import types

    return types.SimpleNamespace(allow_soft_placement=bool(getattr(config, "allow_soft_placement", False)))


def segment_tasks(ops, where: dict, fetch_targets, config=None) -> list[SegmentSpec]:
    """Segments of consecutive ops per task, with each used VariableV2 op prepended to its segment."""
    placement = place(ops, config)
    segments = segment([op for op in ops if op.type != "VariableV2"], placement, where.__getitem__)
    wanted = {getattr(f, "op", f) for f in fetch_targets}
    for op in ops:  # a variable fetched by itself (its ref, or its op) gets a segment of its own
        if op.type == "VariableV2" and op in wanted and not any(
                t.op is op for s in segments for o in s.ops for t in o._inputs):
            segments.append(SegmentSpec(where[op], placement[op], []))
    for s in segments:
        used = [t.op for o in s.ops for t in o._inputs if t.op.type == "VariableV2"]
        if not s.ops:
            used = [op for op in ops if op.type == "VariableV2" and op in wanted and where[op] == s.device]
        s.ops[:0] = list(dict.fromkeys(used))
    return segments


def _written(spec: SegmentSpec) -> list:
    """The VariableV2 ops of a segment that one of its ops may write (a ref input of an op)."""
    out = []
    for op in spec.ops:
        for j in op.op_def.ref_inputs:
            if j < len(op._inputs) and op._inputs[j].op.type == "VariableV2":
                out.append(op._inputs[j].op)
    return list(dict.fromkeys(out))


def _direct_reads(specs) -> dict:
    """``{tensor: VariableV2 op}`` for reads that other segments may take as the variable's future.

    A read (``Identity`` of a variable's ref, no control inputs) that no op of its own segment writes
    before it sees the version the segment starts from: the future the run holds for the variable
    when it submits that segment. Consumers in other segments take that future directly (the data
    moves worker to worker, no task runs on the variable's worker for the read).
    """
    out = {}
    for s in specs:
        written: set = set()
        for op in s.ops:
            src = op._inputs[0] if op.type == "Identity" and op._inputs else None
            if src is not None and src._is_ref and src.op.type == "VariableV2" and not op._control_inputs \
                    and src.op not in written:
                out[op.outputs[0]] = src.op
            written.update(op._inputs[j].op for j in op.op_def.ref_inputs if j < len(op._inputs))
    return out


class _SegmentPlan:
    """Client-side bookkeeping of one segment: what it takes, returns and where it runs."""

    def __init__(self, index, spec, params, fetches, outputs, var_ops, written, name):
        self.index = index
        self.worker, self.gpu = spec.device
        self.params = params          # tensors from feeds or other segments
        self.fetches = fetches        # fetched tensors it produces
        self.outputs = outputs        # tensors other segments read
        self.var_names = [v.name for v in var_ops]
        self.written = [v.name for v in written]
        self.name = name              # the op name its task key starts with
        self.control_after: list[int] = []  # segments it must wait for (control edges)
        self.is_control_source = False
        # a segment that only writes one variable (an assign, a ps update) returns its new value bare
        self.bare = not fetches and not outputs and len(written) == 1
        self.only_fetches = not outputs and not written  # its result holds its fetches and nothing else

    def submit_kw(self) -> dict:
        kw = {"pure": False}
        if self.worker is not None:
            kw.update(workers=[self.worker], allow_other_workers=False)
        if self.gpu:
            kw["resources"] = {"GPU": 1}
        return kw


class DistributedPlan:
    """A run planned for a cluster: the segment descriptions (pickled once) and how to submit them."""

    partition_graphs = Plan.partition_graphs  # one GraphDef per task's segment

    def __init__(self, session: "DistributedSession", fetch_targets, feeds, builder, trace: bool = False):
        import cloudpickle

        from ..ops import script_ops

        self.session = session
        self.fetch_targets = fetch_targets
        self.feeds = feeds
        self.builder = builder
        self.token = uuid.uuid4().hex[:8]
        fed = set(feeds)
        fetch_tensors = [f for f in fetch_targets if isinstance(f, Tensor)]
        target_ops = [f for f in fetch_targets if isinstance(f, Operation)]
        ops = prune(fetch_tensors, target_ops, fed)
        # graph rewrites as the local Plan runs them (detached ops, pickled to the workers with the plan)
        ops, fetch_targets = rewrite.optimize(ops, fetch_targets, fed, session.config)
        self.fetch_targets = fetch_targets
        fetch_tensors = [f for f in fetch_targets if isinstance(f, Tensor)]
        where = assign_tasks(ops)
        placing = _placement_config(session.config)
        specs = segment_tasks(ops, where, fetch_targets, placing)
        seg_of = {op: i for i, s in enumerate(specs) for op in s.ops if op.type != "VariableV2"}
        wanted_out = cross_segment_inputs(specs, seg_of, fed)
        direct = _direct_reads(specs)
        self.segs: list[_SegmentPlan] = []
        self.segment_ops = [s.ops for s in specs]  # RunMetadata.partition_graphs of a traced run
        self.segment_devices = [s.device for s in specs]
        self.transfers: list = []  # values cross workers as Dask's own transfers, not plan steps
        self.tracer = _ClusterTrace(self) if trace else None
        descs = []
        for i, s in enumerate(specs):
            own = set(s.ops)
            params = list(dict.fromkeys(t for op in s.ops for t in op._inputs
                                        if (t in fed or t.op not in own) and t.op.type != "Const"))
            fetches = list(dict.fromkeys(f for f in fetch_tensors if f.op in own and f not in fed
                                         and f.op.type != "Const"))
            outputs = list(dict.fromkeys(t for t in wanted_out[i] if t not in direct))
            var_ops = [op for op in s.ops if op.type == "VariableV2"]
            written = _written(s)
            body = [op for op in s.ops if op.type not in ("Const", "VariableV2")]
            name = (body or s.ops)[-1].name
            sp = _SegmentPlan(i, s, params, fetches, outputs, var_ops, written, name)
            sp.control_after = sorted({seg_of[c] for op in s.ops for c in op._control_inputs
                                       if seg_of.get(c, i) != i})
            sp.direct = [(t, direct[t]) for t in dict.fromkeys(wanted_out[i]) if t in direct]
            sp.only_reads = all(op.type in ("Const", "VariableV2") or op.outputs[0] in direct for op in s.ops)
            self.segs.append(sp)
            descs.append((s.device, s.ops, params, fetches + outputs, var_ops, written, len(fetches)))
        for sp in self.segs:
            for j in sp.control_after:
                self.segs[j].is_control_source = True
        for sp in self.segs:  # a segment of variable reads that only other segments consume need not run
            sp.skip = sp.only_reads and not (sp.fetches or sp.outputs or sp.written or sp.is_control_source)
        self.running = [sp for sp in self.segs if not sp.skip]  # one task each, in _submit's order
        self.var_home = {v: sp.worker for sp in self.segs for v in sp.var_names}
        graph = session.graph
        blob = cloudpickle.dumps({"segments": descs, "fed": fed, "placing": placing, "trace": trace,
                                  "pyfuncs": dict(script_ops._funcs.get(graph, {}))})
        self.key = f"plan-{self.token}"
        # the description waits in the scheduler's metadata; a worker reads it once, on its first run
        session._send_plan(_plan_path(session._id, self.key), blob)

    def execute(self, feed_values: list):
        try:
            return self._execute(feed_values)
        except _LostVariables as lost:
            self.session._recover(lost.names)
            return self._execute(feed_values)

    def _submit(self, emit, values: dict, current: dict, step, lowering: bool = False) -> tuple:
        """Emit one task per segment that runs, through ``emit(key, func, *args, **submit_kw)``.

        ``values`` are the feeds' values, ``current`` the variables' ``(future, index)`` entries
        (updated in place as segments write them). Returns ``(segment handles, {segment index:
        handle of a result that holds fetches}, {variable: new (handle, index)})``. ``emit`` is
        ``client.submit`` for a run, a graph builder for :class:`LoweredClusterRun` (``lowering``:
        no task key or event topic among the arguments, where a graph would read it as a key).
        """
        futures: dict = {}
        seg_futs, done, fetch_futs, new_vars = [], {}, {}, {}
        topic = self.session._topic
        for sp in self.segs:
            for t, var_op in sp.direct:  # a read of a variable nothing wrote yet: the variable's future
                if current.get(var_op.name) is None:
                    raise errors.with_op(errors.FailedPreconditionError,
                                         f"Attempting to use uninitialized value {var_op.name}", var_op)
                futures[t] = current[var_op.name]
            if sp.skip:
                continue
            # an input is a feed's value, or (handle, index) into a producer's result (index None: the
            # whole result); the variables' current values likewise, then the control tokens
            srcs = [(values[t], None) if t in values else futures[t] for t in sp.params] + \
                [current.get(v) or (None, None) for v in sp.var_names]
            key = f"{sp.name}-{self.token}-{step}"
            f = emit(key, _run_segment_async, self.key, self.session._id, sp.index, tuple(j for _, j in srcs),
                     len(sp.var_names), None if lowering else (topic, key),
                     *[a for a, _ in srcs], *[done[j] for j in sp.control_after], **sp.submit_kw())
            seg_futs.append(f)
            if sp.fetches:
                fetch_futs[sp.index] = f
            for j, t in enumerate(sp.outputs):
                futures[t] = (f, 1 + j)
            base = 1 + len(sp.outputs)
            for j, v in enumerate(sp.written):  # the new versions: indexes into the result, no task each
                current[v] = new_vars[v] = (f, None) if sp.bare else (f, base + j)
            if sp.is_control_source:
                done[sp.index] = emit(f"{sp.name}-done-{self.token}-{step}", _done, f, **sp.submit_kw())
        return seg_futs, fetch_futs, new_vars

    def _execute(self, feed_values: list):
        s = self.session
        s._check_connected()
        s._fast_stream()
        client = s._client
        step = next(s._steps)
        lost = [v for sp in self.segs for v in sp.var_names if v in s._vars and
                s._vars[v][0].status in ("lost", "cancelled", "error")]
        if lost:
            raise _LostVariables(sorted(set(lost)))
        values: dict = dict(zip(self.feeds, feed_values))

        def submit():
            graph = _RunGraph()
            handles = self._submit(graph.emit, values, dict(s._vars), step)
            return graph.submit(client, self.token, step, handles)

        seg_futs, fetch_futs, new_vars, done = s._submit_and_wait(submit)
        try:
            if not done:  # not finished within the first wait, or failed: the bounded wait says what
                s._wait(seg_futs, {n: e[0] for n, e in s._vars.items() if e is not None})
                s._vars.update(new_vars)
            # results that are only fetches small enough to have come with the event (or nothing)
            small = [sp.only_fetches and (not sp.fetches or s._pushed.get(f.key) is not None)
                     for f, sp in zip(seg_futs, self.running)]
            fetched = s._fetch({i: (f, self.segs[i]) for i, f in fetch_futs.items()})
        finally:
            for f in seg_futs:
                s._pushed.pop(f.key, None)
        s._retire(seg_futs, small)  # released with a later run's tasks
        for sp in self.segs:
            for v in sp.var_names:
                s._var_home.setdefault(v, sp.worker)
        return self._finish(fetched, values)

    def _recipe(self, values: dict) -> list:
        """Where each fetch target's value comes from: ``(segment index, j)``, or ``(None, value)``."""
        at = {t: (sp.index, j) for sp in self.segs for j, t in enumerate(sp.fetches)}
        out = []
        for f in self.fetch_targets:
            if isinstance(f, Operation):
                out.append((None, None))
            elif f in values:
                out.append((None, values[f]))
            elif f.op.type == "Const" and f not in at:
                out.append((None, _scalar(_copy(f.op.attrs["value"]))))
            else:
                out.append(at[f])
        return out

    def _finish(self, fetched: dict, values: dict):
        return _build_fetched(self._recipe(values), self.builder, fetched)


class _RunGraph:
    """One run's tasks, sent to the scheduler in one ``update-graph`` message.

    ``emit`` (the ``emit`` of :meth:`DistributedPlan._submit`) records a task and returns a
    ``TaskRef`` to it; :meth:`submit` sends them all. Every ``Client.submit`` is an update-graph of
    its own, which the scheduler handles one after the other (each handing the graph to a thread to
    materialize it and reporting the variables it depends on to the client), so a run of three
    segments (two towers and the ps update) paid three of them, and the last segment's task reached
    its worker ~1 ms per segment after the first. A run of several segments is therefore one
    ``HighLevelGraph`` with a layer per worker whose annotations restrict it (``workers``, by name;
    ``resources``), given to ``Client.get(..., sync=False)``; a single task stays a
    ``Client.submit`` (whose message also carries its priority: the scheduler has no graph to order).
    """

    def __init__(self):
        self.tasks: dict = {}  # key -> (func, args, submit keywords)

    def emit(self, key, func, *args, **kw):
        from dask._task_spec import TaskRef

        self.tasks[key] = (func, args, kw)
        return TaskRef(key)

    def graph(self, token: str, step):
        """The tasks as a ``HighLevelGraph``: a layer per worker, annotated with ``workers``/``resources``."""
        from dask._task_spec import Task
        from dask.highlevelgraph import HighLevelGraph, MaterializedLayer

        layers: dict = {}  # layer name -> (tasks, annotations)
        layer_of: dict = {}
        for key, (func, args, kw) in self.tasks.items():
            annotations = {k: kw[k] for k in ("workers", "resources") if k in kw}
            name = f"{'-'.join(annotations.get('workers', ['any']))}{'-gpu' if 'resources' in kw else ''}" \
                   f"-{token}-{step}"
            layers.setdefault(name, ({}, annotations))[0][key] = Task(key, func, *args)
            layer_of[key] = name
        deps = {name: {layer_of[d] for t in tasks.values() for d in t.dependencies if d in layer_of} - {name}
                for name, (tasks, _) in layers.items()}
        return HighLevelGraph({name: MaterializedLayer(tasks, annotations=annotations or None)
                               for name, (tasks, annotations) in layers.items()}, deps)

    def submit(self, client, token: str, step, handles: tuple) -> tuple:
        """Send the tasks; ``handles`` (what :meth:`DistributedPlan._submit` returned) with futures."""
        from dask._task_spec import TaskRef

        if len(self.tasks) == 1:
            (key, (func, args, kw)), = self.tasks.items()
            futures = {key: client.submit(func, *args, key=key, **kw)}
        else:
            keys = list(self.tasks)
            futures = dict(zip(keys, client.get(self.graph(token, step), keys, sync=False)))

        def real(h):
            return futures[h.key] if isinstance(h, TaskRef) and h.key in futures else h

        seg_futs, fetch_futs, new_vars = handles
        return ([real(h) for h in seg_futs], {i: real(h) for i, h in fetch_futs.items()},
                {v: (real(h), j) for v, (h, j) in new_vars.items()})


class _ClusterTrace:
    """``plan.tracer`` of a traced cluster plan: ``step_stats()`` collects the workers' timings."""

    def __init__(self, plan: DistributedPlan):
        self.plan = plan

    def step_stats(self):
        """TF's StepStats of the last traced run: one device per worker (its TF name), ops and tasks."""
        client = self.plan.session._client
        try:
            logs = client.run(_take_traces, self.plan.key, on_error="ignore")
        except Exception as e:  # noqa: BLE001 - the run itself succeeded; say why its trace is missing
            raise errors.UnavailableError(None, None, f"Could not collect the run's trace from the workers: {e}") \
                from None
        return step_stats_of([e for entries in logs.values() for e in entries])


class LoweredClusterRun:
    """A planned cluster run as a Dask collection (what ``DistributedSession.lower`` returns).

    Its graph (a ``HighLevelGraph`` with a layer per worker, annotated with ``workers`` and
    ``resources`` as a run's tasks are) holds the tasks a run would submit, keyed as a run's (op
    names first), with the variables' current values as futures on the cluster; ``dask.compute`` runs
    it on the session's client and gives what ``sess.run`` gives. The new variable values it
    computes are not kept: the session's variables do not change.
    """

    def __init__(self, plan: DistributedPlan, feed_values: list):
        self.plan = plan
        self.values = dict(zip(plan.feeds, feed_values))
        tasks = _RunGraph()
        step = f"lower{next(plan.session._steps)}"
        _, fetches, _ = plan._submit(tasks.emit, self.values, dict(plan.session._vars), step, lowering=True)
        # placed as a run's tasks are: a layer per worker whose annotations name it
        self.dsk = tasks.graph(plan.token, step) if tasks.tasks else {}
        self.indexes = list(fetches)
        self.keys = [h.key for h in fetches.values()]

    def __dask_graph__(self):
        return self.dsk

    def __dask_keys__(self):
        return list(self.keys)

    def __dask_postcompute__(self):
        return _lowered_results, (self.plan._recipe(self.values), self.plan.builder, self.indexes)

    def __dask_tokenize__(self):
        return tuple(self.keys) or (self.plan.key,)

    @staticmethod
    def __dask_optimize__(dsk, keys, **kwargs):
        return dsk

    @property
    def __dask_scheduler__(self):
        return self.plan.session._client.get


def _build_fetched(recipe: list, builder, fetched: dict):
    """The fetched structure: ``builder`` of the recipe's values (``fetched``: segment -> its fetches)."""
    return builder([v if i is None else _scalar(fetched[i][v]) for i, v in recipe])


def _lowered_results(results, recipe, builder, indexes):
    """``LoweredClusterRun``'s post-compute (picklable: dask may finish on a worker)."""
    return _build_fetched(recipe, builder, {i: r[0] for i, r in zip(indexes, results)})


class _LostVariables(Exception):
    def __init__(self, names):
        super().__init__(names)
        self.names = names


# ---- worker side -----------------------------------------------------------------------------------
_built: dict = {}          # (plan key, segment index) -> _BuiltSegment
_session_rngs: dict = {}   # session id -> {op name: Generator}, shared by the session's segments here
_plans: dict = {}          # plan key -> unpickled description
_worker_lock = threading.Lock()


class _BuiltSegment:
    def __init__(self, seg, slots, written_slots, n_fetches, name, tracer, never_inline):
        self.seg = seg
        self.slots = slots
        self.written_slots = written_slots
        self.n_fetches = n_fetches
        self.name = name
        self.tracer = tracer  # a _WorkerTracer in a traced plan, else None
        self.lock = threading.Lock()
        # an op that can wait (a queue, a reader, user code), or a GPU segment (its time as measured
        # here is mostly kernel launches; untested on the loop): always in the thread pool
        self.never_inline = never_inline
        self.last_s = None  # how long its last run took (seconds); None: not run yet
        self.runs = {"loop": 0, "thread": 0}  # where its runs ran (_run_segment_async)

    @property
    def inline(self) -> bool:
        """Whether the next run may run on the worker's event loop (see :func:`_run_segment_async`)."""
        return not self.never_inline and self.last_s is not None and self.last_s < _INLINE_LIMIT_S


class _WorkerTracer(Tracer):
    """A traced plan's kernel timings on a worker, with the worker's TF device name and wall-clock times.

    Every op of the segment is logged on ``device`` (``/job:ps/replica:0/task:0/device:CPU:0`` for the
    worker ``ps-0``), and each whole segment task under its task key (op type ``_RunSegment``).
    """

    def __init__(self, device: str):
        super().__init__()
        self.device = device

    def wrap(self, kernel, op, device: str):
        return super().wrap(kernel, op, self.device)

    def segment(self, key: str, start: int) -> None:
        self.log.append((key, "_RunSegment", f"{key} (segment task)", self.device, start,
                         time.perf_counter_ns(), threading.get_ident()))

    def take(self) -> list:
        """The entries logged since the last call, with wall-clock nanoseconds."""
        entries, self.log[:] = list(self.log), []
        return [(n, t, lab, d, s + _EPOCH_NS, e + _EPOCH_NS, th) for n, t, lab, d, s, e, th in entries]


def _worker_device(gpu: bool) -> str:
    """This worker's TF device name: ``ps-0`` -> ``/job:ps/replica:0/task:0/device:CPU:0``."""
    from distributed import get_worker

    name = str(get_worker().name)
    job, _, task = name.rpartition("-")
    if not job or not task.isdigit():
        job, task = name, "0"
    return f"/job:{job}/replica:0/task:{task}/device:{'GPU' if gpu else 'CPU'}:0"


def _done(_):
    return None


def _plan_path(sid: str, plan_key: str | None = None) -> list:
    """Where a plan's pickled description is in the scheduler's metadata (``Client.set_metadata``);
    without ``plan_key``, where all the session's are."""
    return ["dataflow-plans", sid] + ([plan_key] if plan_key else [])


def _fetch_plan(sid: str, plan_key: str) -> bytes:
    """A plan's pickled description, read from the scheduler (in a worker's task thread)."""
    from distributed import get_client

    blob = get_client().get_metadata(_plan_path(sid, plan_key), default=None)
    if blob is None:
        raise errors.FailedPreconditionError(None, None, f"The plan {plan_key} of session {sid} is not on the "
                                             "Dask scheduler (the session was closed, or the scheduler restarted)")
    return blob


def _build(plan_key: str, sid: str, index: int) -> _BuiltSegment:
    import pickle

    from ..ops import script_ops

    with _worker_lock:
        built = _built.get((plan_key, index))
        if built is not None:
            return built
        known = plan_key in _plans
    blob = None if known else _fetch_plan(sid, plan_key)  # a request to the scheduler: not under the lock
    with _worker_lock:
        built = _built.get((plan_key, index))
        if built is not None:
            return built
        desc = _plans.get(plan_key)
        if desc is None:
            desc = _plans[plan_key] = pickle.loads(blob)
            segs = desc["segments"]
            if segs and desc["pyfuncs"]:
                graph = next(op.graph for s in segs for op in s[1])
                script_ops._funcs.setdefault(graph, {}).update(desc["pyfuncs"])
        device, ops, params, outputs, var_ops, written, n_fetches = desc["segments"][index]
        state = SessionState()
        state.rngs = _session_rngs.setdefault(sid, {})
        state.config = desc["placing"]  # loop and cond bodies are placed with the session's soft placement
        spec = SegmentSpec(device, place(ops, desc["placing"])[ops[0]] if ops else None, ops)
        tracer = _WorkerTracer(_worker_device(device[1])) if desc.get("trace") else None
        name = ops[-1].name if ops else "segment"
        seg, _ = generate(spec, f"{name}-{plan_key}-{index}", params, outputs, state, desc["fed"],
                          pass_refs=True, tracer=tracer)
        slots = [state.slot(v) for v in var_ops]
        by_name = dict(zip((v.name for v in var_ops), slots))
        built = _built[(plan_key, index)] = _BuiltSegment(seg, slots, [by_name[v.name] for v in written],
                                                           n_fetches, name, tracer,
                                                           device[1] or any(map(_may_block, ops)))
        return built


# Ops that may wait on something other than their inputs (a queue, a file, user code) or run a body.
_BLOCKING_TYPES = frozenset({"PyFunc", "PyFuncStateless", "EagerPyFunc", "While", "If"})


def _may_block(op) -> bool:
    """Whether ``op`` may wait (for a queue, a reader, a file, user code) rather than only compute.

    Stateless kernels compute; of the stateful ones, variable updates (ref inputs) and random ops
    (bound to a generator) do too. Everything else stateful (queues, readers, iterators, Print,
    Assert) and py_func/loop/cond ops may wait, so their segments always run in a worker thread.
    """
    d = op.op_def
    if op.type in _BLOCKING_TYPES:
        return True
    if not d.stateful or op.type == "VariableV2" or d.ref_inputs:
        return False
    return getattr(d.bind, "__name__", "") != "_bind_rng"


def _value(x):
    return _copy(x.read()) if isinstance(x, Slot) else x


def _run_segment(plan_key, sid, index, picks, n_vars, push, *args):
    """Run one segment on this worker: ``(fetches, *outputs, *new variable values)``.

    A segment with no fetches or outputs that writes one variable returns that variable's new value
    alone. ``args`` are the segment's inputs, then the current values of its variables (``picks[i]``
    indexes into the i-th of those when it is a producer's whole result), then control-edge tokens.
    ``push`` is ``(topic, task key)``, the topic None unless the client wants small fetches sent as
    an event (:func:`_push_fetches`); None in a lowered graph.
    """
    built = _build(plan_key, sid, index)
    with built.lock:
        built.runs["thread"] += 1
        return _run_built(built, plan_key, index, picks, n_vars, push, args)


def _run_built(built: _BuiltSegment, plan_key, index, picks, n_vars, push, args, push_later=None):
    """:func:`_run_segment`'s work on a built segment, its lock held by the caller.

    ``push_later``: a function that schedules the completion event instead of sending it now.
    """
    n = len(picks)
    picked = [a if j is None else a[j] for a, j in zip(args[:n], picks)]
    params, var_values = picked[:n - n_vars], picked[n - n_vars:]
    start = time.perf_counter_ns()
    for slot, v in zip(built.slots, var_values):
        slot.value = v
    try:
        results = [_value(r) for r in built.seg(*params)]
        new = [slot.value for slot in built.written_slots]
    finally:
        for slot in built.slots:
            slot.value = None
        built.last_s = (time.perf_counter_ns() - start) * 1e-9
    if built.tracer is not None:
        built.tracer.segment(push[1] if push else f"{built.name}-{plan_key}-{index}", start)
    fetched = tuple(results[:built.n_fetches])
    if push is not None and push[0] is not None:
        (push_later or _push_fetches)(*push, fetched if built.n_fetches else None)
    if not results and len(new) == 1:  # _SegmentPlan.bare: the new value is the result
        return new[0]
    return (fetched, *results[built.n_fetches:], *new)


def _small(args) -> bool:
    """Whether the arrays among a segment task's arguments hold at most :data:`_INLINE_BYTES`.

    A segment that ran quickly on small inputs may not on large ones (a fed batch that grew): its
    time is only a guide while the inputs stay small. Producers' results are tuples (picked from).
    """
    total = 0
    for a in args:
        for x in (a if isinstance(a, tuple) else (a,)):
            total += getattr(x, "nbytes", 0)
            if total > _INLINE_BYTES:
                return False
    return True


async def _run_segment_async(plan_key, sid, index, picks, n_vars, push, *args):
    """:func:`_run_segment` as a coroutine task: small segments run on the worker's event loop.

    Dask runs a coroutine task on the worker's event loop. A segment already built on this worker
    whose last run took under :data:`_INLINE_LIMIT_S`, with inputs of at most :data:`_INLINE_BYTES`,
    no op that may wait (:func:`_may_block`) and not placed on a GPU runs right there: no hop to the
    worker's thread pool and back (two thread wake-ups, most of a tiny step's time on the worker). Its completion event is scheduled on the
    loop rather than sent at once, so that it leaves in one write with the task's completion
    report. Everything else (the first run, which builds the segment; long segments; queues,
    readers, py_func) runs in the worker's thread pool as a plain task would, so a long segment
    never holds up the worker's heartbeats and transfers.
    """
    import asyncio
    import contextvars

    from distributed import get_worker

    built = _built.get((plan_key, index))
    if built is not None and built.inline and _small(args) and built.lock.acquire(blocking=False):
        loop = asyncio.get_running_loop()
        try:
            built.runs["loop"] += 1
            return _run_built(built, plan_key, index, picks, n_vars, push, args,
                              push_later=lambda *a: loop.call_soon(_push_fetches, *a))
        finally:
            built.lock.release()
    worker = get_worker()
    call = contextvars.copy_context().run  # get_worker() in the thread, as in a plain task
    return await asyncio.get_running_loop().run_in_executor(
        worker.executor, call, _run_segment, plan_key, sid, index, picks, n_vars, push, *args)


def _push_fetches(topic: str, key: str, fetched: tuple | None) -> None:
    """Tell the client that the task ``key`` ran, with its small fetched values: a Dask event.

    The event (``Worker.log_event``) travels on the worker's stream to the scheduler ahead of the
    task's completion, and the scheduler forwards it to the subscribed client ahead of the
    ``key-in-memory`` report, so the client can finish the run on it: no gather round trip to the
    worker, no wait for the scheduler's transitions. Values over :data:`_PUSH_LIMIT` bytes pickled
    (the scheduler keeps a topic's last events) or that do not pickle are not sent; the client then
    gathers them from the task's result as usual. ``fetched`` None: the segment fetches nothing.
    """
    import pickle

    from distributed import get_worker

    msg = {"key": key}
    if fetched is not None:
        try:
            data = pickle.dumps(fetched, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001 - the gather path returns it (or says what went wrong)
            data = None
        if data is not None and len(data) <= _PUSH_LIMIT:
            msg["data"] = data
    get_worker().log_event(topic, msg)


def _run_counts(plan_key: str) -> dict:
    """Run on a worker: ``{segment index: {"loop": n, "thread": n}}`` for the plan's segments built there."""
    with _worker_lock:
        return {i: dict(b.runs) for (k, i), b in _built.items() if k == plan_key}


def _take_traces(plan_key: str) -> list:
    """Run on every worker after a traced run: the timings its segments of ``plan_key`` logged."""
    with _worker_lock:
        built = [b for (k, _), b in _built.items() if k == plan_key and b.tracer is not None]
    return [e for b in built for e in b.tracer.take()]


def _forget(sid: str, plan_keys) -> None:
    """Drop a closed session's cached segments and generators on this worker."""
    with _worker_lock:
        _session_rngs.pop(sid, None)
        for k in list(_built):
            if k[0] in plan_keys:
                del _built[k]
        for k in plan_keys:
            _plans.pop(k, None)


# ---- checkpoints on the workers -------------------------------------------------------------------
def _save_on_worker(path: str, names, picks, *values) -> str:
    """Write the variables ``names`` (``values[i][picks[i]]``, or the whole value where None) to ``path``."""
    import io

    import fsspec
    import numpy as np

    values = [v if j is None else v[j] for v, j in zip(values, picks)]
    buf = io.BytesIO()
    np.savez(buf, **{n.replace("/", "__"): v for n, v in zip(names, values) if v is not None})
    with fsspec.open(path, "wb") as f:
        f.write(buf.getvalue())
    return path


def _load_on_worker(path: str, names) -> tuple:
    import io

    import fsspec
    import numpy as np

    try:
        with fsspec.open(path, "rb") as f:
            data = np.load(io.BytesIO(f.read()))
    except FileNotFoundError:
        raise errors.NotFoundError(None, None, f"Checkpoint file {path} not found") from None
    return tuple(data[n.replace("/", "__")] if n.replace("/", "__") in data.files else None for n in names)


__all__ = ["DistributedInteractiveSession", "DistributedSession", "LoweredClusterRun", "DistributedPlan", "assign_tasks", "segment_tasks", "task_of", "worker_name"]

from .distributed_session import DistributedInteractiveSession, DistributedSession  # noqa: E402
