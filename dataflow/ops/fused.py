"""``FusedElementwise``: a tree of elementwise ops run as one op, in one pass over cache-sized blocks.

The rewriter (``dataflow/rewrite/fusion.py``) replaces a connected group of elementwise ops on one
device by one ``FusedElementwise`` op; it is never made by users, and needs no gradient (gradients are
taken on the user's graph before any rewrite). Its attrs are the contract every backend compiles from:

``program``
    a tuple of steps ``(tf_op_type, (arg, ...), attrs_tuple)``; an ``arg`` is ``("in", i)``, the
    fused op's i-th input, or ``("step", j)``, the value of an earlier step; ``attrs_tuple`` holds the
    original op's kernel attrs as ``(name, value)`` pairs (``(("DstT", float32),)`` for a Cast).
``outputs``
    the step indices whose values the op returns, in output order.
``out_types``, ``out_shapes``
    the outputs' dtypes and static shapes (for shape inference and GraphDef export).

A backend may provide ``compile_fused(program, outputs, in_dtypes, out_dtypes) -> callable``; this
module's :func:`compile_fused` is NumPy's. It evaluates the program **one block at a time**: the
output's index space is cut into blocks of about ``BLOCK`` elements (whole trailing axes, a run of
the first split axis), every input is broadcast to the output shape as a view and sliced per block,
each step writes into a block-sized buffer (``ufunc(..., out=buf)``) reused by later steps once its
value is dead, and output steps write straight into their slice of the full-size outputs. So an
N-op chain reads its inputs and writes its outputs once, with no full-size intermediate, and the
working set stays in the CPU cache. Each block's steps are one generated Python function.

Small inputs (each under one block) run a generated straight-line function, one kernel call per
step as the ops would make, without blocking. When the outputs are small (under two blocks) or a
runtime shape defeats blocking (an output step whose runtime shape is not the full shape), the
steps run once over whole arrays, writing into ``out``.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ..framework import errors
from ..framework.registry import OpDef, get, register
from ..framework.tensor_shape import TensorShape
from . import parallel

BLOCK = 32 * 1024  # elements per block: 128 KiB of float32 per live buffer


# ---- one step: a NumPy call writing into ``out`` ----------------------------------------------------
def _rsqrt(x, out):
    np.sqrt(x, out=out)
    return np.reciprocal(out, out=out)


def _squared_difference(x, y, out):
    np.subtract(x, y, out=out)
    return np.multiply(out, out, out=out)


def _relu(x, out):
    return np.maximum(x, x.dtype.type(0), out=out)


_SPECIAL = {"Rsqrt": _rsqrt, "SquaredDifference": _squared_difference, "Relu": _relu}


def step_function(op_type: str, attrs: tuple):
    """``f(*args, out=buf)`` computing one step into ``buf``, as the op's kernel computes it."""
    opdef = get(op_type)
    if op_type in _SPECIAL:
        return _SPECIAL[op_type]
    if op_type == "Cast":
        def cast(x, out):
            np.copyto(out, x, casting="unsafe")
            return out
        return cast
    if opdef.xp_name is not None:
        return getattr(np, opdef.xp_name)
    kernel = functools.partial(opdef.kernel, np, **dict(attrs))

    def generic(*args, out):
        out[...] = kernel(*args)
        return out

    return generic


def step_dtypes(program, in_dtypes) -> list:
    """Each step's NumPy result dtype, found by running its kernel on one-element arrays."""
    types: list = []
    with np.errstate(all="ignore"):
        for op_type, args, attrs in program:
            dummies = [np.ones(1, in_dtypes[i] if kind == "in" else types[i]) for kind, i in args]
            opdef = get(op_type)
            types.append(np.asarray(opdef.kernel(np, *dummies, **dict(attrs))).dtype)
    return types


# ---- compiling a program ----------------------------------------------------------------------
def _last_uses(program, outputs) -> list:
    """For each step, the steps after which buffers die: ``dies[j]`` = step values last read at step j."""
    last: dict = {}
    for j, (_, args, _) in enumerate(program):
        for kind, i in args:
            if kind == "step":
                last[i] = j
    dies: list = [[] for _ in program]
    for i, j in last.items():
        if i not in outputs:
            dies[j].append(i)
    return dies


def _block_source(program, outputs, n_in: int, dtypes: list):
    """The generated body of one block: ``def block(i0, .., o0, .., b0, ..)`` with buffer reuse.

    Returns the source, the number of buffers and each buffer's dtype.
    """
    dies = _last_uses(program, outputs)
    free: dict = {}          # dtype -> free buffer numbers
    buffers: list = []       # buffer number -> dtype
    where: dict = {}         # step -> expression holding its value
    lines = []
    for j, (_, args, _) in enumerate(program):
        argx = ", ".join(f"i{i}" if kind == "in" else where[i] for kind, i in args)
        if j in outputs:
            target = f"o{outputs.index(j)}"
        else:
            pool = free.setdefault(dtypes[j], [])
            if pool:
                b = pool.pop()
            else:
                b = len(buffers)
                buffers.append(dtypes[j])
            target = f"b{b}"
        where[j] = target
        lines.append(f"    f{j}({argx}{', ' if argx else ''}out={target})")
        for d in dies[j]:  # values read for the last time here: their buffers serve later steps
            if where[d].startswith("b"):
                free.setdefault(dtypes[d], []).append(int(where[d][1:]))
    params = [f"i{i}" for i in range(n_in)] + [f"o{k}" for k in range(len(outputs))] + \
             [f"b{b}" for b in range(len(buffers))]
    src = f"def block({', '.join(params)}):\n" + "\n".join(lines) + "\n"
    return src, buffers


def _plain_source(program, outputs, n_in: int) -> str:
    """The generated straight-line function for small inputs: ``s3 = g3(s1, i0)``, one call per step,
    each kernel returning a new array as the ops would, without the blocking machinery."""
    lines = []
    for j, (_, args, _) in enumerate(program):
        lines.append(f"    s{j} = g{j}({', '.join(f'i{i}' if kind == 'in' else f's{i}' for kind, i in args)})")
    rets = "".join(f"s{j}, " for j in outputs)
    params = ", ".join(f"i{i}" for i in range(n_in))
    small = " and ".join(f"i{i}.size < {BLOCK}" for i in range(n_in)) or "True"
    return (f"def plain({params}):\n" + "\n".join(lines) + f"\n    return ({rets})\n"
            f"def small({params}):\n    return {small}\n")


@functools.lru_cache(maxsize=512)
def compile_fused(program: tuple, outputs: tuple, in_dtypes: tuple, out_dtypes: tuple):
    """NumPy's compiled FusedElementwise: ``fn(*inputs, out=None) -> tuple of outputs``.

    ``out`` (one array, for a one-output program) is written with the result: the runtime passes a
    dead input's buffer of the output's shape and dtype. Values equal those of the ops run one by one.
    """
    in_dtypes = tuple(np.dtype(d) for d in in_dtypes)
    dtypes = step_dtypes(program, in_dtypes)
    out_dtypes = tuple(np.dtype(d) for d in out_dtypes)
    for k, j in enumerate(outputs):
        if dtypes[j] != out_dtypes[k]:
            raise TypeError(f"FusedElementwise step {j} ({program[j][0]}) computes {dtypes[j]}, "
                            f"its output is declared {out_dtypes[k]}")
    fns = {f"f{j}": step_function(t, a) for j, (t, _, a) in enumerate(program)}
    src, buffers = _block_source(program, outputs, len(in_dtypes), dtypes)
    ns = dict(fns)
    ns.update({f"g{j}": getattr(np, get(t).xp_name) if get(t).xp_name else functools.partial(get(t).kernel, np, **dict(a))
               for j, (t, _, a) in enumerate(program)})
    exec(compile(src + _plain_source(program, outputs, len(in_dtypes)), f"<fused {len(program)} steps>", "exec"),
         ns)
    block, plain, small = ns["block"], ns["plain"], ns["small"]

    direct_ok = len(outputs) == 1 and outputs[0] == len(program) - 1

    def shapes_of(inputs):
        shapes: list = []
        for j, (_, args, _) in enumerate(program):
            try:
                shapes.append(np.broadcast_shapes(*[inputs[i].shape if kind == "in" else shapes[i]
                                                    for kind, i in args]) if args else ())
            except ValueError as e:
                raise StepError(j, e) from None
        return shapes

    def whole(inputs, outs, shapes):
        """Every step over whole arrays (small outputs, shapes that do not block)."""
        vals: list = []
        for j, (_, args, _) in enumerate(program):
            argv = [inputs[i] if kind == "in" else vals[i] for kind, i in args]
            k = outputs.index(j) if j in outputs else -1
            buf = outs[k] if k >= 0 else np.empty(shapes[j], dtypes[j])
            fns[f"f{j}"](*argv, out=buf)
            vals.append(buf)

    def run(*inputs, out=None):
        if small(*inputs):  # blocks would not pay for themselves
            try:
                return plain(*inputs)
            except ValueError:
                shapes_of(inputs)  # a shape error: which step?
                raise
        shapes = shapes_of(inputs)
        full = shapes[outputs[0]] if len(outputs) == 1 else np.broadcast_shapes(*[shapes[j] for j in outputs])
        # the runtime may pass a dead input's buffer as ``out``; writing into it as we go is safe when
        # the one output is the last step (every read of a block precedes its write), else copy at the end
        aliased = out is not None and any(out is x for x in inputs) and not direct_ok
        outs = [out if (k == 0 and out is not None and not aliased) else np.empty(shapes[j], dtypes[j])
                for k, j in enumerate(outputs)]
        size = math.prod(full)
        blockable = all(shapes[j] == full for j in outputs) and len(full) > 0 and size >= 2 * BLOCK
        if not blockable:
            whole(inputs, outs, shapes)
        else:
            _blocks(block, inputs, outs, full, buffers)
        if aliased:  # the runtime gave a dead input's buffer: the result lands there, after all reads
            np.copyto(out, outs[0])
            outs[0] = out
        return tuple(outs)

    return run


def _blocks(block, inputs, outs, full: tuple, buffers: list) -> None:
    """Run ``block`` over ``full``'s index space cut into runs of the axis where ~BLOCK elements fit.

    When that axis is the first, its range is split over the CPU thread pool as other kernels' rows are
    (``parallel.run_rows``: off unless ``DATAFLOW_NUM_THREADS`` allows), each part with its own buffers.
    """
    axis = 0
    while math.prod(full[axis + 1:]) > BLOCK:
        axis += 1
    inner = math.prod(full[axis + 1:])
    k = max(1, BLOCK // max(inner, 1))
    views = [np.broadcast_to(x, full) for x in inputs]
    n = full[axis]

    def run(outer, start, stop):
        bufs = [np.empty((k,) + tuple(full[axis + 1:]), dt) for dt in buffers]
        for lo in range(start, stop, k):
            hi = min(lo + k, stop)
            idx = outer + (slice(lo, hi),)
            part = bufs if hi - lo == k else [b[:hi - lo] for b in bufs]
            block(*[v[idx] for v in views], *[o[idx] for o in outs], *part)

    if axis == 0:
        parallel.run_rows(np, n, math.prod(full), lambda lo, hi: run((), lo, hi))
        return
    for outer in np.ndindex(*full[:axis]):
        run(outer, 0, n)


class StepError(Exception):
    """Step ``step`` of a program failed with ``cause`` (its inputs' shapes do not broadcast)."""

    def __init__(self, step: int, cause: Exception):
        super().__init__(str(cause))
        self.step = step
        self.cause = cause


# ---- the op ---------------------------------------------------------------------------------------
def _fused_kernel(xp, *inputs, run, step_ops=(), out=None):
    """``run``: the program compiled when the plan was made (see :func:`_bind_fused`)."""
    try:
        result = run(*inputs, out=out)
    except errors.OpError:
        raise
    except Exception as e:  # name the user's op whose step failed (the last one when it is not known)
        raise _step_error(e, step_ops) from e
    return result[0] if len(result) == 1 else result


def _step_error(exc, step_ops):
    cause = exc.cause if isinstance(exc, StepError) else exc
    op = None
    if step_ops:
        op = step_ops[exc.step] if isinstance(exc, StepError) else step_ops[-1]
    names = ", ".join(o.name for o in step_ops or ())
    return errors.with_op(errors.error_class_for(cause), f"{type(cause).__name__}: {cause} (while running "
                          f"{op.type if op else 'a step'} '{op.name if op else '?'}', fused with {names})", op)


def _fused_infer(op):
    return list(zip(op.attrs["out_types"], [TensorShape(s) for s in op.attrs["out_shapes"]]))


def _bind_fused(op, state) -> dict:
    """NumPy's compiled program for the op's static dtypes, and the user's op of each step (for errors).
    Another backend binds its own ``compile_fused`` result instead."""
    run = compile_fused(op.attrs["program"], op.attrs["outputs"],
                        tuple(np.dtype(t.dtype.as_numpy_dtype) for t in op.inputs),
                        tuple(np.dtype(t.as_numpy_dtype) for t in op.attrs["out_types"]))
    return {"run": run, "step_ops": tuple(getattr(op, "_step_ops", ()))}


register(OpDef("FusedElementwise", _fused_infer, _fused_kernel, differentiable=False, bind=_bind_fused))
