"""Control flow: ``tf.while_loop``, ``tf.cond``, ``tf.case`` as functional ops ``While`` and ``If``.

The user's functions are called once, each inside its own
:class:`~dataflow.framework.func_graph.FuncGraph` (the loop's ``cond`` and ``body``, each branch of
a ``cond``). Tensors of enclosing graphs used inside are captured: they become extra inputs of the
functional op (after the loop variables, or after the predicate), and the body reads them through
placeholders. So the outer graph sees one op with plain inputs and outputs, and pruning, placement
and segmenting treat it as any other op; the body's ops are not in the outer graph at all.

Running: when a plan binds a ``While`` it compiles its cond and body into programs
(``runtime/program.py``: generated straight-line code, as a segment); the kernel calls them while
the condition holds (at most ``maximum_iterations`` times). An ``If`` compiles both branches and runs
only the one its predicate picks, so ops of the other branch (a Print, an assign) never run.

Gradients (``control_flow_grad.py``): each op has one more output, a :class:`History` (dtype
``variant``), holding what the gradient needs from the run: per iteration, the loop variables and
the body's intermediate values that the body's gradient reads (only once a gradient has been built;
an op whose gradient is never asked for records nothing).
"""

from __future__ import annotations

import numpy as np

from ..framework import dtypes, nest
from ..framework.func_graph import FuncGraph
from ..framework.graph import (
    Operation, Tensor, convert_to_tensor, get_default_graph, graph_of, name_scope)
from ..framework.registry import OpDef, register
from ..framework.tensor_shape import TensorShape, as_shape


class History:
    """What a ``While`` or ``If`` run keeps for its gradient: ``records`` (one tuple of arrays per
    iteration, or the taken branch's), ``count`` (iterations run) and ``branch`` (0 then, 1 else)."""

    __slots__ = ("records", "count", "branch")

    def __init__(self, records, count: int = 0, branch: int = 0):
        self.records = records
        self.count = count
        self.branch = branch

    def __repr__(self):
        return f"<History of {self.count} iterations, branch {self.branch}>"


def _capture_union(graphs) -> list:
    return list(dict.fromkeys(c for g in graphs for c in g.captures))


def _ref_positions(tensors, offset: int) -> tuple:
    return tuple(offset + i for i, t in enumerate(tensors) if t._is_ref)


def _as_body_tensor(graph: FuncGraph, value, what: str) -> Tensor:
    from .tensor_array import TensorArray

    if isinstance(value, TensorArray):
        value = value.handle
    if value is None:
        raise ValueError(f"{what} must have a return value (got None).")
    t = convert_to_tensor(value)
    return graph.capture(t) if t.graph is not graph else t


def _shape_le(a: TensorShape, b: TensorShape) -> bool:
    """``a`` is at least as specific as ``b`` (TF's _ShapeLessThanOrEqual)."""
    if b.ndims is None:
        return True
    if a.ndims != b.ndims:
        return False
    return all(db is None or da == db for da, db in zip(a.as_list(), b.as_list()))


def _leaf_tensor(x) -> Tensor:
    from .tensor_array import TensorArray

    return x.handle if isinstance(x, TensorArray) else convert_to_tensor(x)


def _leaf_back(proto, t):
    from .tensor_array import TensorArray

    return proto._with_handle(t) if isinstance(proto, TensorArray) else t


# ---- While -----------------------------------------------------------------------------------
def _while_infer(op):
    return [(t.dtype, s) for t, s in zip(op.inputs, op.attrs["shapes"])] + [(dtypes.variant, TensorShape([]))]


def host_scalar(backend):
    """A function reading a scalar (a predicate, a count) back from ``backend``'s device."""
    to_host = backend.to_host if backend is not None else np.asarray
    return lambda v: np.asarray(to_host(v))


def _bind_while(op, state, backend=None):
    from ..runtime.program import compile_program

    cond, body = op.attrs["cond"], op.attrs["body"]
    grad = op.attrs.get("grad")
    saved = grad.saved if grad is not None and op.attrs["back_prop"] else None
    cond_p = compile_program(f"{op.name}/cond", cond.args, cond.outputs, state, backend=backend)
    body_p = compile_program(f"{op.name}/body", body.args, body.outputs + (saved or []), state, backend=backend)
    keep = grad.recorded_vars if saved is not None else None
    return {"programs": (cond_p, body_p, keep), "scalar": host_scalar(backend)}


_bind_while.on_device = True  # Backend.bind passes the device the op runs on: its bodies are placed there


def _while_kernel(xp, *inputs, n_vars, has_max, programs, scalar):
    # NOTE: the loop variables stay where the body's ops leave them (device arrays on a device); only the
    # predicate (one scalar per iteration) and maximum_iterations are read back to the host
    cond_p, body_p, keep = programs
    values = inputs[:n_vars]
    limit = int(scalar(inputs[n_vars])) if has_max else None
    caps = inputs[n_vars + has_max:]
    records = [] if keep is not None else None
    i = 0
    while limit is None or i < limit:
        if not scalar(cond_p(*values, *caps)[0]):
            break
        out = body_p(*values, *caps)
        if records is not None:
            records.append(tuple(values[j] for j in keep) + tuple(out[n_vars:]))
        values = out[:n_vars]
        i += 1
    return (*values, History(records, i))


def _while_grad(op, *grads, needed):
    from .control_flow_grad import while_grad

    return while_grad(op, *grads, needed=needed)


_while_grad.partial = True  # see dataflow.autodiff: the History output never has a gradient
register(OpDef("While", _while_infer, _while_kernel, grad=_while_grad, stateful=True, bind=_bind_while))


def _body(name: str, outer, dtypes_shapes) -> FuncGraph:
    g = FuncGraph(name, outer)
    g.inputs = [g.placeholder(dt, shape, "loop_var") for dt, shape in dtypes_shapes]
    return g


def while_loop(cond, body, loop_vars, shape_invariants=None, parallel_iterations=10, back_prop=True,
               swap_memory=False, maximum_iterations=None, return_same_structure=False, name=None):
    """Repeat ``body`` while ``cond`` is true (TF1's ``tf.while_loop``).

    Parameters
    ----------
    cond : callable
        ``cond(*loop_vars) -> scalar bool tensor``.
    body : callable
        ``body(*loop_vars) -> new loop_vars`` (same structure, dtypes; shapes within the invariants).
    loop_vars : tensor, TensorArray, or (nested) list / tuple / namedtuple / dict of them
        The initial values.
    shape_invariants : same structure of TensorShape, optional
        Shapes a loop variable may take across iterations (default: its initial shape, so a
        variable whose shape changes needs a less specific invariant, else ValueError).
    parallel_iterations, swap_memory : accepted for TF's signature (iterations run one by one).
    back_prop : bool
        False: no gradient flows through the loop (and nothing is recorded for one).
    maximum_iterations : int or scalar int tensor, optional
        Stop after this many iterations even if ``cond`` still holds.
    return_same_structure : bool
        Return ``loop_vars``' structure even when it holds a single tensor.
    name : str, optional

    Returns
    -------
    The loop variables after the last iteration, in the structure of ``loop_vars``.

    Examples
    --------
    >>> import dataflow as tf
    >>> i, x = tf.while_loop(lambda i, x: i < 3, lambda i, x: (i + 1, x * 2.0), [0, 1.0])
    >>> print(tf.Session().run(x))
    8.0
    """
    if not callable(cond):
        raise TypeError("cond must be callable.")
    if not callable(body):
        raise TypeError("body must be callable.")
    if parallel_iterations < 1:
        raise TypeError("parallel_iterations must be a positive integer.")
    if loop_vars is None or (nest.is_sequence(loop_vars) and not nest.flatten(loop_vars)):
        raise ValueError("No loop variables provided")
    flat_protos = nest.flatten(loop_vars)
    with name_scope(name, "while", [x for x in flat_protos if isinstance(x, Tensor)]) as scope:
        flat = [_leaf_tensor(x) for x in flat_protos]
        graph = graph_of(flat)
        if shape_invariants is None:
            invariants = [t.shape for t in flat]
        else:
            nest.assert_same_structure(loop_vars, shape_invariants, check_types=False)
            invariants = [as_shape(s) for s in nest.flatten(shape_invariants)]
            for t, s in zip(flat, invariants):
                if not _shape_le(t.shape, s):
                    raise ValueError(
                        f"The shape invariant specified for {t.name} is not compatible with the initial shape of "
                        f"the loop variable. It enters the loop with shape {t.shape}, but the specified shape "
                        f"invariant is {s}.")
        specs = [(t.dtype, s) for t, s in zip(flat, invariants)]

        def packed(g):  # TF1 calls cond(*loop_vars) and body(*loop_vars) for a list or (named)tuple
            vals = nest.pack_sequence_as(loop_vars, [_leaf_back(p, t) for p, t in zip(flat_protos, g.inputs)])
            return list(vals) if isinstance(loop_vars, (list, tuple)) else [vals]

        cond_g = _body(scope + "cond", graph, specs)
        with cond_g.as_default():
            c = _as_body_tensor(cond_g, cond(*packed(cond_g)), "cond")
        if c.dtype is not dtypes.bool_:
            raise TypeError(f"Input 'input' of 'LoopCond' Op has type {c.dtype.name} that does not match expected "
                            "type of bool.")
        if c.shape.ndims not in (None, 0):
            raise ValueError(f"Shape must be rank 0 but is rank {c.shape.ndims} for the loop condition {c.name}")
        cond_g.outputs = [c]
        body_g = _body(scope + "body", graph, specs)
        with body_g.as_default():
            result = body(*packed(body_g))
            if not nest.is_sequence(result):
                result = [result]
            structure = list(loop_vars) if isinstance(loop_vars, (list, tuple)) else [loop_vars]
            nest.assert_same_structure(structure, list(result), check_types=False)
            outs = [_as_body_tensor(body_g, r, "body") for r in nest.flatten(result)]
        for t_in, t_out, s in zip(flat, outs, invariants):
            if t_out.dtype is not t_in.dtype:
                raise TypeError(f"Loop variable {t_in.name} enters the loop with type {t_in.dtype.name}, but has "
                                f"type {t_out.dtype.name} after one iteration.")
            if not _shape_le(t_out.shape, s):
                raise ValueError(
                    f"Input tensor '{t_in.name}' enters the loop with shape {s}, but has shape {t_out.shape} "
                    "after one iteration. To allow the shape to vary across iterations, use the "
                    "`shape_invariants` argument of tf.while_loop to specify a less-specific shape.")
        body_g.outputs = outs
        caps = _capture_union([cond_g, body_g])
        for g in (cond_g, body_g):
            g.args = g.inputs + [g.capture(c) for c in caps]
        inputs = list(flat)
        if maximum_iterations is not None:
            inputs.append(convert_to_tensor(maximum_iterations, dtype=dtypes.int32, name="maximum_iterations"))
        offset = len(inputs)
        attrs = {"cond": cond_g, "body": body_g, "n_vars": len(flat), "has_max": maximum_iterations is not None,
                 "shapes": invariants, "back_prop": bool(back_prop), "parallel_iterations": parallel_iterations,
                 "swap_memory": swap_memory, "_ref_inputs": _ref_positions(caps, offset), "grad": None}
        controls = list(dict.fromkeys(cond_g.outer_controls + body_g.outer_controls))
        op = graph.create_op("While", inputs + caps, attrs, "While", control_inputs=controls)
        exits = [_leaf_back(p, t) for p, t in zip(flat_protos, op.outputs[:len(flat)])]
        if not return_same_structure and len(exits) == 1:
            return exits[0]
        return nest.pack_sequence_as(loop_vars, exits)


# ---- If --------------------------------------------------------------------------------------
def _if_infer(op):
    return [(dt, s) for dt, s in zip(op.attrs["out_dtypes"], op.attrs["shapes"])] + \
        [(dtypes.variant, TensorShape([]))]


def _bind_if(op, state, backend=None):
    from ..runtime.program import compile_program

    grad = op.attrs.get("grad")
    progs = []
    for k, g in enumerate(op.attrs["branches"]):
        saved = grad.saved[k] if grad is not None else []
        progs.append(compile_program(f"{op.name}/branch{k}", g.args, g.outputs + saved, state,
                                     targets=g.control_outputs, backend=backend))
    return {"programs": tuple(progs), "record": grad is not None, "scalar": host_scalar(backend)}


_bind_if.on_device = True


def _if_kernel(xp, pred, *caps, n_out, programs, record, scalar):
    p = scalar(pred)  # the predicate comes to the host; the branch's values stay on the device
    if p.ndim != 0:
        raise ValueError(f"The predicate of a cond must be a scalar, got shape {list(p.shape)}")
    branch = 0 if bool(p) else 1
    out = programs[branch](*caps)
    return (*out[:n_out], History(tuple(out[n_out:]) if record else None, 1, branch))


def _if_grad(op, *grads, needed):
    from .control_flow_grad import if_grad

    return if_grad(op, *grads, needed=needed)


_if_grad.partial = True
register(OpDef("If", _if_infer, _if_kernel, grad=_if_grad, stateful=True, bind=_bind_if))


def _merge_shapes(a: TensorShape, b: TensorShape) -> TensorShape:
    if a.ndims is None or b.ndims is None or a.ndims != b.ndims:
        return TensorShape(None)
    return TensorShape([x if x == y else None for x, y in zip(a.as_list(), b.as_list())])


def _branch(name: str, outer, fn, pred_value: bool):
    from .array import identity
    from .constant import constant

    g = FuncGraph(name, outer)
    with g.as_default():
        result = fn()
        if result is None:
            raise ValueError(f"{'true_fn' if pred_value else 'false_fn'} must have a return value.")
        leaves = []
        for leaf in nest.flatten(result):
            if isinstance(leaf, Operation):  # TF1: the op's place holds the predicate, computed after it
                g.control_outputs.append(leaf)
                with g.control_dependencies([leaf]):
                    leaf = identity(constant(pred_value))
            leaves.append(_as_body_tensor(g, leaf, "true_fn" if pred_value else "false_fn"))
    g.outputs = leaves
    return g, result


def _unpack_singleton(x):
    if isinstance(x, (list, tuple)) and len(x) == 1 and not hasattr(x, "_fields"):
        return _unpack_singleton(x[0])
    return x


def cond(pred, true_fn=None, false_fn=None, strict=False, name=None, fn1=None, fn2=None):
    """``true_fn()`` if ``pred`` else ``false_fn()``; only the chosen branch runs (TF1's ``tf.cond``).

    Parameters
    ----------
    pred : scalar bool tensor
    true_fn, false_fn : callables returning the same (nested) structure of tensors, TensorArrays,
        or ops; ``fn1``/``fn2`` are TF1's deprecated names for them.
    strict : bool
        Keep singleton lists and tuples (by default a one-element result is unpacked).
    name : str, optional

    Examples
    --------
    >>> import dataflow as tf
    >>> x = tf.placeholder(tf.float32, [])
    >>> y = tf.cond(x > 0, lambda: x * 2.0, lambda: -x)
    >>> print(tf.Session().run(y, {x: -3.0}))
    3.0
    """
    if fn1 is not None:
        if true_fn is not None:
            raise TypeError("cond(): true_fn and fn1 may not be set simultaneously.")
        true_fn = fn1
    if fn2 is not None:
        if false_fn is not None:
            raise TypeError("cond(): false_fn and fn2 may not be set simultaneously.")
        false_fn = fn2
    if not callable(true_fn):
        raise TypeError("true_fn must be callable.")
    if not callable(false_fn):
        raise TypeError("false_fn must be callable.")
    if isinstance(pred, (bool, np.bool_)):
        raise TypeError("pred must not be a Python bool")
    with name_scope(name, "cond", [pred]) as scope:
        pred = convert_to_tensor(pred)
        if pred.dtype is not dtypes.bool_:
            raise TypeError(f"pred must be a bool tensor, got {pred.dtype.name} ({pred.name})")
        if pred.shape.ndims not in (None, 0):
            raise ValueError(f"Shape must be rank 0 but is rank {pred.shape.ndims} for cond predicate {pred.name}")
        graph = graph_of([pred])
        then_g, res_t = _branch(scope + "true", graph, true_fn, True)
        else_g, res_f = _branch(scope + "false", graph, false_fn, False)
        try:
            nest.assert_same_structure(res_t, res_f, check_types=False)
        except (ValueError, TypeError) as e:
            raise ValueError(f"Outputs of true_fn and false_fn must have the same structure: {e}") from None
        for a, b in zip(then_g.outputs, else_g.outputs):
            if a.dtype is not b.dtype:
                raise ValueError(f"Outputs of true_fn and false_fn must have the same type: {a.dtype.name}, "
                                 f"{b.dtype.name}")
        caps = _capture_union([then_g, else_g])
        for g in (then_g, else_g):
            g.args = [g.capture(c) for c in caps]
        attrs = {"branches": (then_g, else_g), "n_out": len(then_g.outputs),
                 "out_dtypes": [t.dtype for t in then_g.outputs],
                 "shapes": [_merge_shapes(a.shape, b.shape) for a, b in zip(then_g.outputs, else_g.outputs)],
                 "_ref_inputs": _ref_positions(caps, 1), "grad": None}
        controls = list(dict.fromkeys(then_g.outer_controls + else_g.outer_controls))
        op = graph.create_op("If", [pred] + caps, attrs, "If", control_inputs=controls)
        flat_t = nest.flatten(res_t)
        merged = [_leaf_back(p, t) for p, t in zip(flat_t, op.outputs[:len(flat_t)])]
        out = nest.pack_sequence_as(res_t, merged)
        return out if strict else _unpack_singleton(out)


def case(pred_fn_pairs, default=None, exclusive=False, strict=False, name="case"):
    """The result of the first callable whose predicate is true, else ``default()`` (``tf.case``).

    ``pred_fn_pairs``: a list of ``(pred, fn)`` (or a dict). With ``exclusive`` a run where more than
    one predicate is true fails with InvalidArgumentError. Without ``default`` the last pair's
    callable is the default, and a run where no predicate is true fails (TF's behaviour).

    Examples
    --------
    >>> import dataflow as tf
    >>> x = tf.placeholder(tf.int32, [])
    >>> r = tf.case([(x < 0, lambda: tf.constant(-1)), (x > 0, lambda: tf.constant(1))],
    ...             default=lambda: tf.constant(0))
    >>> print(tf.Session().run(r, {x: 5}))
    1
    """
    from .check_ops import Assert
    from .indexing import stack
    from .math import cast
    from .reduction import reduce_sum

    pairs = list(pred_fn_pairs.items()) if isinstance(pred_fn_pairs, dict) else list(pred_fn_pairs)
    for p in pairs:
        if not isinstance(p, tuple) or len(p) != 2:
            raise TypeError(f"Each entry in pred_fn_pairs must be a 2-tuple, got {p!r}")
        if not callable(p[1]):
            raise TypeError(f"fn for pred {getattr(p[0], 'name', p[0])} must be callable.")
    if default is not None and not callable(default):
        raise TypeError("default must be callable.")
    if not pairs:
        if default is None:
            raise ValueError("No predicates or default given to case.")
        return default()
    with name_scope(name, "case", [p for p, _ in pairs]):
        preds = [convert_to_tensor(p) for p, _ in pairs]
        fns = [f for _, f in pairs]
        if default is None:  # TF: the last pair is the default, checked to hold
            last_pred, last_fn, all_preds = preds[-1], fns[-1], list(preds)
            preds, fns = preds[:-1], fns[:-1]

            def default():
                msg = ["Input error: None of conditions evaluated as True:", stack(all_preds, name="preds_c")]
                with get_default_graph().control_dependencies([Assert(last_pred, msg)]):
                    return _identity_all(last_fn())

        result = default
        for k in reversed(range(len(preds))):
            result = (lambda k, nxt: lambda: cond(preds[k], fns[k], nxt, strict=True))(k, result)
        out = result()
        if exclusive and len(pairs) > 1:
            every = [convert_to_tensor(p) for p, _ in pairs]
            count = reduce_sum(cast(stack(every), dtypes.int32))
            check = Assert(count <= 1, ["Input error: exclusive=True: more than 1 conditions evaluated as True:",
                                        stack(every, name="preds_c")])
            with get_default_graph().control_dependencies([check]):
                out = _identity_all(out)
        return out if strict else _unpack_singleton(out)


def _identity_all(result):
    from .array import identity

    return nest.map_structure(lambda t: identity(t) if isinstance(t, Tensor) else t, result)
