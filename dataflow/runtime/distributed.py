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

**State held explicitly.** The session holds, per variable, a Dask future of its current value (on the
variable's worker) -- never the value. A run submits one task per segment,
``_run_segment(plan_key, blob, session_id, *inputs, *variable_values)``; the task puts the variable
values in its slots, runs the generated program and returns ``(fetches, outputs, new values of the
variables it writes)``, or the new value alone when that is all it returns (an assign, a one-variable
update). Small ``getitem`` tasks on the same worker split a tuple that holds variables; the variable
versions thread through the segments in order, and when the whole run has finished the session swaps
its futures for the new ones (a failed run changes no variable). Only fetches are gathered; weights
never travel through the client.

**Shipping segments.** A plan's description (its ops, the tensors each segment takes and returns,
py_func functions) is pickled once by cloudpickle into a ``plan-<token>`` task; workers unpickle it
once (cache keyed by plan key) and rebuild their segments with :func:`plan.generate` against a
worker-local state (slots, and random generators shared by the session's segments on that worker).
As every task is pure given its inputs, Dask recomputes intermediates lost with a worker.

**Faults.** Variable values lost with a worker cannot be recomputed (their history is released). The
run then raises ``AbortedError`` naming the lost variables, unless ``recover_from`` is set: a
checkpoint directory written by :meth:`DistributedSession.save_variables` (restored on the workers
that own the variables) or a callable ``f(session, lost_names)``; the run is then retried once.
Every wait has a timeout (``ConfigProto(operation_timeout_in_ms=...)``, default 120 s); an
unreachable scheduler or a missing worker is ``UnavailableError``.
"""

from __future__ import annotations

import operator
import threading
import uuid

from .. import rewrite
from ..framework import errors
from ..framework.device import DeviceSpec
from ..framework.graph import Operation, Tensor
from .plan import SegmentSpec, _copy, _scalar, cross_segment_inputs, generate, place, prune, segment
from .state import SessionState, Slot

_DEFAULT_TIMEOUT_S = 120.0


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

    def submit_kw(self) -> dict:
        kw = {"pure": False}
        if self.worker is not None:
            kw.update(workers=[self.worker], allow_other_workers=False)
        if self.gpu:
            kw["resources"] = {"GPU": 1}
        return kw


class DistributedPlan:
    """A run planned for a cluster: the segment descriptions (pickled once) and how to submit them."""

    tracer = None

    def __init__(self, session: "DistributedSession", fetch_targets, feeds, builder):
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
        self.var_home = {v: sp.worker for sp in self.segs for v in sp.var_names}
        graph = session.graph
        blob = cloudpickle.dumps({"segments": descs, "fed": fed, "placing": placing,
                                  "pyfuncs": dict(script_ops._funcs.get(graph, {}))})
        self.key = f"plan-{self.token}"
        self.blob = session._client.submit(_identity, blob, key=self.key, pure=False)

    def execute(self, feed_values: list):
        try:
            return self._execute(feed_values)
        except _LostVariables as lost:
            self.session._recover(lost.names)
            return self._execute(feed_values)

    def _execute(self, feed_values: list):
        s = self.session
        s._check_connected()
        s._fast_stream()
        client = s._client
        step = next(s._steps)
        current = dict(s._vars)
        values: dict = dict(zip(self.feeds, feed_values))
        futures: dict = {}
        seg_futs, done, fetch_futs, new_vars = [], {}, {}, {}
        lost = [v for sp in self.segs for v in sp.var_names if v in current and
                current[v].status in ("lost", "cancelled", "error")]
        if lost:
            raise _LostVariables(sorted(set(lost)))
        for sp in self.segs:
            for t, var_op in sp.direct:  # a read of a variable nothing wrote yet: the variable's future
                if current.get(var_op.name) is None:
                    raise errors.with_op(errors.FailedPreconditionError,
                                         f"Attempting to use uninitialized value {var_op.name}", var_op)
                futures[t] = (current[var_op.name], None)
            if sp.skip:
                continue
            # an input is a feed's value, or (future, index) into a producer's result: a producer that
            # writes no variable is passed whole (no getitem task), else through its getitem task
            srcs = [(values[t], None) if t in values else futures[t] for t in sp.params]
            args = [a for a, _ in srcs] + [current.get(v) for v in sp.var_names] + \
                [done[j] for j in sp.control_after]
            picks = tuple(j for _, j in srcs)
            kw = sp.submit_kw()
            f = client.submit(_run_segment, self.key, self.blob, s._id, sp.index, picks,
                              len(sp.var_names), *args, key=f"{sp.name}-{self.token}-{step}", **kw)
            seg_futs.append(f)
            if sp.fetches and (sp.outputs or sp.written):
                fetch_futs[sp.index] = (client.submit(operator.getitem, f, 0, key=f"fetch-{self.token}-{step}-"
                                                      f"{sp.index}", **kw), None)
            elif sp.fetches:  # the result is the fetches alone: gather it as it is
                fetch_futs[sp.index] = (f, 0)
            for j, t in enumerate(sp.outputs):
                futures[t] = (f, 1 + j) if not sp.written else (client.submit(
                    operator.getitem, f, 1 + j, key=f"{t.op.name}-{self.token}-{step}-{t.value_index}", **kw), None)
            base = 1 + len(sp.outputs)
            if sp.bare:  # the segment's result is the variable's new value itself (no getitem task)
                current[sp.written[0]] = new_vars[sp.written[0]] = f
            for j, v in enumerate(sp.written if not sp.bare else ()):
                current[v] = new_vars[v] = client.submit(operator.getitem, f, base + j,
                                                         key=f"{v}-{self.token}-{step}", **kw)
            if sp.is_control_source:
                done[sp.index] = client.submit(_done, f, key=f"{sp.name}-done-{self.token}-{step}", **kw)
        fetched = self.session._wait(seg_futs, fetch_futs, new_vars, dict(s._vars))
        s._vars.update(new_vars)
        for sp in self.segs:
            for v in sp.var_names:
                s._var_home.setdefault(v, sp.worker)
        return self._finish(fetched, values)

    def _finish(self, fetched: dict, values: dict):
        produced = {}
        for sp in self.segs:
            for t, v in zip(sp.fetches, fetched.get(sp.index, ())):
                produced[t] = v
        out = []
        for f in self.fetch_targets:
            if isinstance(f, Operation):
                out.append(None)
            elif f in values:
                out.append(values[f])
            elif f.op.type == "Const" and f not in produced:
                out.append(_scalar(_copy(f.op.attrs["value"])))
            else:
                out.append(_scalar(produced[f]))
        return self.builder(out)


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
    def __init__(self, seg, slots, written_slots, n_fetches):
        self.seg = seg
        self.slots = slots
        self.written_slots = written_slots
        self.n_fetches = n_fetches
        self.lock = threading.Lock()


def _identity(x):
    return x


def _done(_):
    return None


def _build(plan_key: str, blob: bytes, sid: str, index: int) -> _BuiltSegment:
    import pickle

    from ..ops import script_ops

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
        seg, _ = generate(spec, f"{ops[-1].name if ops else 'segment'}-{plan_key}-{index}", params, outputs,
                          state, desc["fed"], pass_refs=True)
        slots = [state.slot(v) for v in var_ops]
        by_name = dict(zip((v.name for v in var_ops), slots))
        built = _built[(plan_key, index)] = _BuiltSegment(seg, slots, [by_name[v.name] for v in written],
                                                           n_fetches)
        return built


def _value(x):
    return _copy(x.read()) if isinstance(x, Slot) else x


def _run_segment(plan_key, blob, sid, index, picks, n_vars, *args):
    """Run one segment on this worker: ``(fetches, *outputs, *new variable values)``.

    A segment with no fetches or outputs that writes one variable returns that variable's new value
    alone (the client then needs no ``getitem`` task). ``args`` are the segment's inputs (``picks[i]``
    indexes into the i-th when it is a producer's whole result), then the current values of its
    variables, then control-edge tokens.
    """
    built = _build(plan_key, blob, sid, index)
    n = len(picks)
    params = [a if j is None else a[j] for a, j in zip(args[:n], picks)]
    var_values = args[n:n + n_vars]
    with built.lock:
        for slot, v in zip(built.slots, var_values):
            slot.value = v
        try:
            results = [_value(r) for r in built.seg(*params)]
            new = [slot.value for slot in built.written_slots]
        finally:
            for slot in built.slots:
                slot.value = None
    if not results and len(new) == 1:  # _SegmentPlan.bare: the new value is the result
        return new[0]
    return (tuple(results[:built.n_fetches]), *results[built.n_fetches:], *new)


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
def _save_on_worker(path: str, names, *values) -> str:
    import io

    import fsspec
    import numpy as np

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


__all__ = ["DistributedSession", "DistributedPlan", "assign_tasks", "segment_tasks", "task_of", "worker_name"]

from .distributed_session import DistributedSession  # noqa: E402
