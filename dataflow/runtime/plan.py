"""Planning a run: prune -> place -> segment -> generate straight-line programs -> lower to Dask.

A plan is made once per (graph version, fetches, feed keys) and reused by every later run.

1. **Prune** (:func:`prune`): walk back from the fetches through inputs and control inputs, stopping
   at fed tensors; the result is the needed ops in topological order. A needed Placeholder that is
   not fed is an InvalidArgumentError naming it.
2. **Place** (:func:`place`): each op's device string picks a backend (``backends/placement.py``: TF's
   rules, soft placement, colocation with variables); edges between backends get ``_Send``/``_Recv`` steps.
3. **Segment** (:func:`segment`): consecutive ops on one device (job/task of the op's
   :func:`~dataflow.framework.device.canonical_device` + the backend running it: ``''`` and
   ``'/cpu:0'`` are one device) become one segment. An op joins the
   newest segment of its device unless an input comes from a segment made after it, so segment order
   stays topological and segments form a DAG.
4. **Generate**: each segment becomes one Python function, a straight-line program of kernel calls
   (``v3 = k3(v1, c2)``) with kernels and constants bound in its namespace, each op on its own line
   so a failing line maps back to the op, and intermediates dropped (``del``) after their last use.
5. **Lower** (:class:`Plan`): segments become tasks of a Dask graph keyed ``f"{op_name}-{token}"``,
   feeds become keys, outputs are ``getitem`` tasks. A plan of one segment runs inline (the Dask
   graph still exists, for inspection); larger plans run on a Dask scheduler.
"""

from __future__ import annotations

import functools
import linecache
import operator
import sys
import uuid
from dataclasses import dataclass, field

import numpy as np

from ..framework import errors
from ..framework.device import DeviceSpec, canonical_device
from ..framework.graph import Operation, Tensor
from ..framework.registry import Shared
from .. import rewrite
from ..rewrite.memory import reusable_inputs
from .trace import Tracer

_NO_CODE = {"Const", "NoOp", "Placeholder"}
# ops whose kernel returns its input: generated as an assignment, not a call (variable reads are
# Identity ops: a training step has one per variable); traced runs still call them, to time them
_PASS_THROUGH = {"Identity", "StopGradient"}


# ---- 1. prune --------------------------------------------------------------------------------
def prune(fetch_tensors, target_ops, fed: set) -> list[Operation]:
    """The ops needed to compute ``fetch_tensors`` and run ``target_ops``, in topological order."""
    order: list[Operation] = []
    state: dict[Operation, int] = {}  # 1 = on the stack, 2 = done
    roots = [t.op for t in fetch_tensors if t not in fed] + list(target_ops)
    for root in roots:
        if root in state:
            continue
        stack = [(root, False)]
        while stack:
            op, expanded = stack.pop()
            if expanded:
                state[op] = 2
                order.append(op)
                continue
            if state.get(op) == 2:
                continue
            if state.get(op) == 1:
                continue
            state[op] = 1
            stack.append((op, True))
            # control inputs first: a read that is not itself ordered (a variable's snapshot) then runs
            # after the assigns its consumer waits for
            deps = op._control_inputs + [t.op for t in op._inputs if t not in fed]
            for dep in reversed(deps):
                s = state.get(dep)
                if s is None:
                    stack.append((dep, False))
                elif s == 1 and dep is not op:
                    raise errors.InvalidArgumentError(None, op, f"Graph has a cycle through {op.name}")
    for op in order:
        if op.type == "Placeholder":
            dt = op.attrs["dtype"]
            shape = op.attrs["shape"]
            sdesc = f" and shape {shape.as_list()}" if shape.ndims is not None else ""
            raise errors.with_op(errors.InvalidArgumentError,
                                 f"You must feed a value for placeholder tensor '{op.name}' with dtype "
                                 f"{dt.name}{sdesc}", op)
    return order


# ---- 2. place ----------------------------------------------------------------------------------
def place(ops, config=None) -> dict:
    """``{op: backend}``: TF's placement rules, soft placement and colocation (``backends/placement.py``)."""
    from backends.placement import place as place_ops

    return place_ops(ops, config)


# ---- 3. segment --------------------------------------------------------------------------------
@dataclass
class SegmentSpec:
    device: str
    backend: object
    ops: list = field(default_factory=list)


def segment(ops, placement, device_of=None) -> list[SegmentSpec]:
    """Segments of consecutive ops per device (``device_of(op)`` when given: distributed plans cut by task)."""
    segments: list[SegmentSpec] = []
    latest: dict[str, int] = {}  # device -> index of its newest segment
    where: dict[Operation, int] = {}
    for op in ops:
        dev = device_of(op) if device_of is not None else _segment_device(op, placement[op])
        s = latest.get(dev)
        producers = [where[t.op] for t in op._inputs if t.op in where] + \
                    [where[c] for c in op._control_inputs if c in where]
        if s is None or any(p > s for p in producers):
            segments.append(SegmentSpec(dev, placement[op]))
            s = latest[dev] = len(segments) - 1
        segments[s].ops.append(op)
        where[op] = s
    return segments


def cross_segment_inputs(specs, seg_of: dict, fed: set) -> dict[int, list]:
    """``{segment index: tensors it makes that other segments read}`` (feeds and constants excluded)."""
    out: dict[int, list] = {i: [] for i in range(len(specs))}
    for i, s in enumerate(specs):
        for op in s.ops:
            for t in op._inputs:
                j = seg_of.get(t.op)
                if j is not None and j != i and t not in fed and t.op.type != "Const":
                    out[j].append(t)
    return out


def _segment_device(op, backend) -> str:
    """The device a segment runs on: the op's job/task and the device of the backend that runs it."""
    spec = DeviceSpec.from_string(canonical_device(op.device))
    return DeviceSpec(spec.job, spec.replica, spec.task).to_string() + backend.device


# ---- 4. generate ------------------------------------------------------------------------------
class Segment:
    """One fused task: a generated straight-line program over bound kernels."""

    def __init__(self, key: str, fn, line_ops: dict, device: str):
        self.key = key
        self.fn = fn
        self.line_ops = line_ops
        self.device = device

    def __call__(self, *args):
        try:
            return self.fn(*args)
        except errors.OpError as e:
            if e.op is None or isinstance(e.op, Operation) and e.message.find("[[node") < 0:
                raise self._translate(e, sys.exc_info()[2]) from None
            raise
        except Exception as e:  # a kernel failed: re-raise as TF's error about the op that failed
            raise self._translate(e, sys.exc_info()[2]) from e

    def _failing_op(self, tb):
        op = None
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == self.key:
                op = self.line_ops.get(tb.tb_lineno, op)
            tb = tb.tb_next
        return op

    def _translate(self, exc, tb):
        op = self._failing_op(tb)
        op = getattr(op, "_origin", (op,))[-1]  # a rewritten op: the user's op it stands for
        cls = errors.error_class_for(exc)
        msg = exc.message if isinstance(exc, errors.OpError) else f"{type(exc).__name__}: {exc}"
        if op is not None:
            msg = f"{msg} (while running {op.type} '{op.name}')"
        return errors.with_op(cls, msg, op)

    def __repr__(self):
        return f"<Segment {self.key}>"

    def __reduce__(self):
        raise TypeError("Segments run in the process that planned them (distributed lowering comes later)")


def _copy(v):
    return v.copy()


def _scalar(v):
    """A 0-d result as a NumPy scalar (``np.float32(2.0)``), as TF's ``Session.run`` returns it."""
    return v[()] if getattr(v, "ndim", None) == 0 else v


def lazy_reads(ops, fed: set) -> set:
    """Outputs of variable snapshots (an ``Identity`` of a variable's ref, ``v/read``) read lazily.

    In TF1 the snapshot forwards the variable's buffer, so every consumer sees the value the variable
    holds when *that consumer* runs: a read ordered after an assign by a control dependency sees the
    assigned value even when another consumer of the same snapshot ran before the assign. The
    generated code keeps such a tensor as the variable's slot and reads it at each use (``s.read()``).
    """
    return {op.outputs[0] for op in ops if op.type == "Identity" and op._inputs[0]._is_ref
            and op._inputs[0] not in fed and op.outputs[0] not in fed}


@dataclass(frozen=True)
class Snapshot:
    """An output of :func:`generate`: a fetched lazy read's value, read (and copied unless ``copy`` is
    False) where its op runs, so a fetch of ``v/read`` ordered before an update keeps the old value."""

    tensor: Tensor
    copy: bool = True


def _shared_holders(ops) -> dict:
    """op -> its :class:`Shared` holder, for ops whose ``OpDef.shares`` key another op of ``ops`` has."""
    groups: dict = {}
    for op in ops:
        key = op.op_def.shares(op) if op.op_def.shares is not None else None
        if key is not None:
            groups.setdefault(key, []).append(op)
    return {op: holder for group in groups.values() if len(group) > 1
            for holder in [Shared()] for op in group}


def generate(spec: SegmentSpec, key: str, params: list, outputs: list, state, fed: set,
             pass_refs: bool = False, tracer=None, lazy: set = frozenset(), reuse: bool = False):
    """Python source for one segment, compiled, with its line -> op map.

    ``params``: tensors the function takes, in order. ``outputs``: what it returns, in order: a
    Tensor, an Operation (returns None: it only had to run) or None. With ``pass_refs`` a variable's
    ref tensor is returned as its slot (for ops of other segments to read or write), else as a copy
    of its value. ``lazy``: tensors (:func:`lazy_reads`) held as a slot and read at each use.
    """
    ns = {"_copy": _copy, "_scalar": _scalar, "_host": spec.backend.to_host}
    on_device = spec.backend.name != "CPU"  # values are device arrays; fetches are copied back once
    expr: dict[Tensor, str] = {}
    for i, t in enumerate(params):
        expr[t] = f"a{i}"
    owned: set = set(params)  # values that may alias memory the caller or the graph holds
    lines: list[str] = []
    line_ops: dict[int, Operation] = {}
    first_line = 2

    def ref(t: Tensor, as_ref: bool) -> str:
        e = expr.get(t)
        if e is None:
            if t.op.type == "Const":
                name = f"c_{len(ns)}"
                ns[name] = spec.backend.constant(t.op.attrs["value"]) if on_device else t.op.attrs["value"]
                expr[t] = e = name
                owned.add(t)
            else:
                raise errors.InternalError(None, t.op, f"No value for {t.name} in segment {key}")
        if (t._is_ref or t in lazy) and not as_ref and t not in fed:
            return f"{e}.read()"
        return e

    if on_device:  # feeds are copied to the device once, when the segment starts
        ns["_dev"] = spec.backend.from_host
        lines.extend(f"a{i} = _dev(a{i})" for i, t in enumerate(params) if t in fed)
    last_use: dict[Tensor, int] = {}
    body_ops = [op for op in spec.ops if op.type not in _NO_CODE]
    for n, op in enumerate(body_ops):
        for t in op._inputs:
            last_use[t] = n
            if t in lazy:  # a use of a snapshot is a use of its variable's slot
                last_use[t.op._inputs[0]] = n
    out_set = {t for t in outputs if isinstance(t, Tensor)}
    snapshots = {o.tensor: o for o in outputs if isinstance(o, Snapshot)}
    snap_expr: dict = {}
    out_set |= {t.op._inputs[0] for t in out_set if t in lazy}
    shared = _shared_holders(body_ops)
    into = reusable_inputs(body_ops, last_use, out_set, set(params)) \
        if reuse and tracer is None and spec.backend.xp is np else {}
    for n, op in enumerate(body_ops):
        opdef = op.op_def
        if opdef.kernel is None:
            raise errors.UnimplementedError(None, op, f"No kernel for op type {op.type}" + errors.describe_op(op))
        refs = op.attrs.get("_ref_inputs", opdef.ref_inputs)  # a functional op's captured variables
        args = [ref(t, j in refs) for j, t in enumerate(op._inputs)]
        kname = f"k{n}"
        ns[kname] = spec.backend.bind(op, state)
        if op in shared and not on_device:
            ns[kname] = functools.partial(ns[kname], shared=shared[op])
        if tracer is not None:
            ns[kname] = tracer.wrap(ns[kname], op, op.device)
        # outputs that may share memory with a constant, a feed or a variable's storage: a fetch of
        # them is copied (a view of such an input, a variable, an op writing a variable returns its value)
        if (opdef.view and any(t in owned for t in op._inputs)) or op.type == "VariableV2" or \
                any(j in opdef.ref_inputs for j in range(len(op._inputs))):
            owned.update(op.outputs)
        outs = [f"v{n}_{k}" for k in range(len(op.outputs))]
        for t, o in zip(op.outputs, outs):
            if t not in fed:  # an op may run for a control edge; its fed outputs keep the fed value
                expr[t] = o
        if op.outputs and op.outputs[0] in lazy:  # a snapshot: its consumers read the slot when they run
            expr[op.outputs[0]] = ref(op._inputs[0], True)
            owned.add(op.outputs[0])
            if op.outputs[0] in snapshots:  # fetched: its value as of this line
                snap_expr[op.outputs[0]] = outs[0]
                call = f"{kname}({args[0]})"
                call = f"_copy({call})" if snapshots[op.outputs[0]].copy else call
            elif tracer is None:
                continue
            else:
                outs, call = [], f"{kname}({args[0]})"  # traced: timed, the value unused
        elif tracer is None and op.type in _PASS_THROUGH:
            call = args[0]
        elif tracer is None and op.type == "VariableV2":  # its kernel returns the slot bound to it
            ns[f"s{n}"] = ns[kname]()
            call = f"s{n}"
        elif op in into:  # the output goes into a dead input's buffer
            if opdef.xp_name is not None:
                ns[kname] = getattr(np, opdef.xp_name)
            call = f"{kname}({', '.join(args)}, out={args[into[op]]})"
        else:
            call = f"{kname}({', '.join(args)})"
        if not outs:
            line = call
        elif len(outs) == 1:
            line = f"{outs[0]} = {call}"
        else:
            line = f"{', '.join(outs)} = {call}"
        dead = [expr[t] for t in op._inputs if last_use.get(t) == n and t not in out_set
                and t not in lazy and expr[t].startswith("v")]
        if dead:
            line += "; del " + ", ".join(dict.fromkeys(dead))
        line_ops[first_line + len(lines)] = op
        lines.append(line)
    for op in spec.ops:  # make Const outputs that are fetched resolvable
        if op.type == "Const":
            for t in op.outputs:
                if t in out_set:
                    ref(t, True)
    rets = []
    for t in outputs:
        if isinstance(t, Tensor):
            e = ref(t, True)
            if (t._is_ref or t in lazy) and t not in fed:
                e = e if pass_refs else f"_host({e}.read())" if on_device else f"_copy({e}.read())"
            elif on_device and not pass_refs:
                e = f"_host({e})"
            elif t in owned and t not in params and not on_device:
                e = f"_copy({e})"
            if not pass_refs and t.shape.ndims in (0, None):  # a fetch: 0-d values as scalars
                e = f"_scalar({e})"
            rets.append(e)
        elif isinstance(t, Snapshot):
            e = snap_expr[t.tensor]
            rets.append(f"_scalar({e})" if not pass_refs and t.tensor.shape.ndims in (0, None) else e)
        else:
            rets.append("None")
    for i, holder in enumerate(dict.fromkeys(shared.values())):  # nothing shared outlives the run
        ns[f"sh{i}"] = holder
        lines.append(f"sh{i}.value = None")
    src = f"def segment({', '.join(f'a{i}' for i in range(len(params)))}):\n"
    src += "".join(f"    {line}\n" for line in lines)
    src += f"    return ({', '.join(rets)}{',' if len(rets) == 1 else ''})\n"
    code = compile(src, key, "exec")
    linecache.cache[key] = (len(src), None, src.splitlines(True), key)
    exec(code, ns)
    return Segment(key, ns["segment"], line_ops, spec.device), src


# ---- 5. lower and run -----------------------------------------------------------------------
class Plan:
    """A planned run: feed order, per-feed checks, segments, the Dask graph, the fetch builder."""

    def __init__(self, fetch_targets, feeds, builder, state, config=None, scheduler=None, trace=False):
        self.fetch_targets = fetch_targets  # Tensor | Operation per flat fetch
        self.feeds = feeds                  # fed tensors, in feed_dict key order
        self.builder = builder
        self.token = uuid.uuid4().hex[:8]
        self.scheduler = scheduler
        self.tracer = Tracer() if trace else None
        fed = set(feeds)
        fetch_tensors = [f for f in fetch_targets if isinstance(f, Tensor)]
        target_ops = [f for f in fetch_targets if isinstance(f, Operation)]
        self.ops = prune(fetch_tensors, target_ops, fed)
        # graph rewrites (dataflow/rewrite): the ops that run, and what now computes each fetch
        self.ops, fetch_targets = rewrite.optimize(self.ops, fetch_targets, fed, config)
        self.fetch_targets = fetch_targets
        fetch_tensors = [f for f in fetch_targets if isinstance(f, Tensor)]
        target_ops = [f for f in fetch_targets if isinstance(f, Operation)]
        reuse = rewrite.rewriter_config(config).enabled("memory_optimization")
        placement = place(self.ops, config)
        specs = segment(self.ops, placement)
        lazy = lazy_reads(self.ops, fed)
        self.segment_ops = [s.ops for s in specs]  # what RunMetadata.partition_graphs shows
        self.segment_devices = [s.device for s in specs]
        self.segments: list[Segment] = []
        self.transfers: list = []  # (tensor, from device, to device, Dask key): the plan's _Send/_Recv steps
        self.sources_code = []
        self.dsk: dict = {}
        self.feed_keys = [f"feed-{t.name}-{self.token}" for t in feeds]
        key_of: dict[Tensor, str] = dict(zip(feeds, self.feed_keys))
        seg_of_op = {op: i for i, s in enumerate(specs) for op in s.ops}
        consumers_outside = cross_segment_inputs(specs, seg_of_op, fed)
        self.single = len(specs) == 1
        for i, s in enumerate(specs):
            key = f"{s.ops[-1].name}-{self.token}"
            own = set(s.ops)
            if self.single:
                params = list(feeds)
                outputs = [Snapshot(f) if f in lazy else f if (
                    isinstance(f, Operation) or f.op in own or f in fed or f.op.type == "Const")
                           else None for f in fetch_targets]
            else:
                params = []
                for op in s.ops:
                    for t in op._inputs:
                        if (t in fed or t.op not in own) and t.op.type != "Const" and t not in params:
                            params.append(t)
                outputs = list(dict.fromkeys(consumers_outside[i] + [Snapshot(f) if f in lazy else f
                                                                     for f in fetch_tensors
                                                                     if f.op in own and f not in fed]))
            seg, src = generate(s, key, params, outputs, state, fed, pass_refs=not self.single,
                                tracer=self.tracer, lazy=lazy, reuse=reuse)
            args = [self._recv(t, specs[seg_of_op[t.op]].backend, s.backend, key_of[t])
                    if t not in fed and t.op in seg_of_op and _crosses(specs[seg_of_op[t.op]].backend, s.backend)
                    else key_of.get(t) for t in params]
            self.segments.append(seg)
            self.sources_code.append(src)
            self.dsk[key] = (seg, *args) if not self.single else (seg, *self.feed_keys)
            # control inputs made in other segments: Dask runs those segments first
            after = dict.fromkeys(self.segments[seg_of_op[c]].key for op in s.ops for c in op._control_inputs
                                  if seg_of_op.get(c, i) != i)
            if after:
                self.dsk[key] = (_after, self.dsk[key], *after)
            if not self.single:
                for j, t in enumerate(outputs):
                    k = f"{t.tensor.name}-snapshot-{self.token}" if isinstance(t, Snapshot) else \
                        f"{t.name}-{self.token}"
                    self.dsk[k] = (operator.getitem, key, j)
                    key_of[t] = k
        # what each fetch reads from in the multi-segment case
        self.fetch_keys = []
        self.fetch_fill = []
        for f in fetch_targets:
            if isinstance(f, Operation):
                self.fetch_keys.append(specs and self.segments[seg_of_op[f]].key)
                self.fetch_fill.append("none")
            elif f.op.type == "Const" and f not in key_of:
                self.fetch_keys.append(None)
                self.fetch_fill.append(f.op.attrs["value"])
            elif f in lazy:
                self.fetch_keys.append(key_of.get(Snapshot(f)))
                self.fetch_fill.append(None)
            else:
                self.fetch_keys.append(key_of.get(f))
                # a variable's ref is its slot between segments; the fetch is a copy of its value
                self.fetch_fill.append("read" if f._is_ref and f not in fed and not self.single else None)
        self.sink_keys = [seg.key for seg in self.segments]
        self._result_keys = ([self.segments[0].key] if self.single else
                             [k for k in self.fetch_keys if k is not None] + self.sink_keys)

    def _recv(self, t, src, dst, key):
        """A ``_Send``/``_Recv`` step: the Dask task copying ``t``'s value from ``src``'s device to ``dst``'s."""
        k = f"{t.op.name}/_Recv_{t.value_index}-{self.token}"
        if k not in self.dsk:
            self.dsk[k] = (_transfer, src, dst, key)
            self.transfers.append((t, src.device, dst.device, k))
        return k

    def partition_graphs(self) -> list:
        """``RunMetadata.partition_graphs``: one GraphDef per segment, with a ``_Send`` node in the sending
        device's graph and a ``_Recv`` node in the receiving device's graph for each copy between devices."""
        from ..framework.graph_def import ops_to_graph_def, transfer_node_defs

        graphs = [ops_to_graph_def(ops) for ops in self.segment_ops]
        devices = list(self.segment_devices)
        for t, src, dst, _ in self.transfers:
            send, recv = transfer_node_defs(t, src, dst)
            for node, dev, side in ((send, src, self.segment_ops), (recv, dst, None)):
                on_dev = [j for j, d in enumerate(devices) if d.endswith(dev)]
                # the producer's graph for _Send, a consumer's graph for _Recv
                i = next((j for j in on_dev if j < len(self.segment_ops) and (
                    t.op in self.segment_ops[j] if side is not None else
                    any(t in op.inputs for op in self.segment_ops[j]))), on_dev[0] if on_dev else None)
                if i is None:
                    graphs.append(ops_to_graph_def([]))
                    devices.append(dev)
                    i = len(graphs) - 1
                graphs[i].node.append(node)
        return graphs

    # The Dask graph for this plan with ``feed_values`` in place of the feed keys.
    def graph_with(self, feed_values) -> dict:
        dsk = dict(self.dsk)
        dsk.update(zip(self.feed_keys, feed_values))
        return dsk

    def execute(self, feed_values: list):
        if self.single and self.scheduler is None:
            return self.builder(self.segments[0](*feed_values))
        if not self.segments:
            return self.builder([_scalar(_copy(self.fetch_fill[i])) if self.fetch_fill[i] is not None and
                                 not isinstance(self.fetch_fill[i], str) else
                                 (None if self.fetch_fill[i] == "none" else feed_values[self.feeds.index(f)])
                                 for i, f in enumerate(self.fetch_targets)])
        get = self.scheduler or _threaded_get
        return self.finish(get(self.graph_with(feed_values), self._result_keys))

    def result_keys(self) -> list:
        """The Dask keys a run computes: the fetches' keys, then every segment (so each one runs)."""
        return list(self._result_keys)

    def finish(self, results):
        """The fetched structure from the values of :meth:`result_keys`."""
        if self.single:
            return self.builder(results[0])
        it = iter(results)
        out = []
        for k, fill in zip(self.fetch_keys, self.fetch_fill):
            if k is None:
                out.append(_scalar(_copy(fill)))
                continue
            v = next(it)
            out.append(None if fill == "none" else
                       _scalar(_host_value(_copy(v.read())) if fill == "read" else _host_value(v)))
        return self.builder(out)


def _crosses(src, dst) -> bool:
    """Whether values must be copied between the devices of two backends (CPU devices share memory)."""
    return src is not dst and not (src.name == "CPU" and dst.name == "CPU")


class _RemoteSlot:
    """A variable's slot seen from another device: reads copy its value across."""

    __slots__ = ("slot", "src", "dst")

    def __init__(self, slot, src, dst):
        self.slot, self.src, self.dst = slot, src, dst

    def read(self):
        return self.dst.from_host(self.src.to_host(self.slot.read()))


def _transfer(src, dst, value):
    """``_Send`` on ``src``'s device, ``_Recv`` on ``dst``'s: the value copied through the host."""
    if hasattr(value, "read") and hasattr(value, "assign"):  # a variable's slot (its ref)
        return _RemoteSlot(value, src, dst)
    return dst.from_host(src.to_host(value))


def _host_value(v):
    """A device array (pyopencl, CuPy) as a NumPy array; host values as they are."""
    mod = type(v).__module__
    return v.get() if mod.startswith(("pyopencl", "cupy")) else v


def _after(value, *_):
    """A segment's task that waits for other tasks (control dependencies): its own value."""
    return value


class _TrackingPool:
    """The pool of one multi-task run: the shared pool, remembering the tasks it started, so that a run
    that fails returns only when all of them have stopped (no variable changes after ``run`` raised)."""

    _shared = None

    def __init__(self):
        if _TrackingPool._shared is None:
            import concurrent.futures
            import os

            _TrackingPool._shared = concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 2,
                                                                          thread_name_prefix="dataflow")
        self._max_workers = _TrackingPool._shared._max_workers
        self.futures: list = []

    def submit(self, fn, *args, **kwargs):
        import contextvars

        # the run's context (its deadline, NumPy's error state) goes with each task
        f = _TrackingPool._shared.submit(contextvars.copy_context().run, fn, *args, **kwargs)
        self.futures.append(f)
        return f


def _threaded_get(dsk, keys):
    import concurrent.futures

    import dask.threaded

    pool = _TrackingPool()
    try:
        return dask.threaded.get(dsk, keys, pool=pool)
    except BaseException:
        concurrent.futures.wait(pool.futures)
        raise


def np_errstate():
    return np.errstate(all="ignore")
