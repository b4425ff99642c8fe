"""The op registry: one :class:`OpDef` per op type, filled by decorators in ``dataflow/ops/*.py``.

An op is declared once: its type name (TensorFlow's), how it infers output dtypes and static shapes,
its gradient rule and its kernel written against an array namespace ``xp``. The registry is a plain
dict; ``dataflow.ops`` imports every family, so registration never depends on what a user imported.

Kernels are ``kernel(xp, *inputs, **attrs)``. Their keyword-only parameters name the op attrs they
take; the runtime binds those once, when it plans a run, so a training step calls ``kernel(*arrays)``.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Callable

OP_DEFS: dict[str, "OpDef"] = {}


class _AllInputs:
    """``ref_inputs=ALL_INPUTS``: every input is a ref (ops over a list of variables)."""

    def __contains__(self, index) -> bool:
        return True


ALL_INPUTS = _AllInputs()
GRADIENT_OVERRIDES: dict[str, Callable] = {}  # tf.RegisterGradient("name") -> rule


@dataclass
class OpDef:
    """Everything about one op type.

    Attributes
    ----------
    type: TensorFlow's op type name (``"MatMul"``).
    infer: ``infer(op) -> [(DType, TensorShape), ...]`` one pair per output; may raise ValueError.
    kernel: ``kernel(xp, *inputs, **attrs)``; None for ops the runtime handles itself (Const,
        Placeholder, NoOp, VariableV2).
    grad: ``grad(op, *out_grads) -> [Tensor | None per input]``, built from graph ops.
    differentiable: False for ops through which no gradient flows (comparisons, integer outputs).
    stateful: reads or writes session state or randomness: never merged or folded away.
    ref_inputs: input indices that receive the variable's storage slot rather than its value.
    view: the output may share memory with input 0 (Identity, Reshape): fetches of it are copied.
    broadcasting: inputs broadcast against each other (elementwise binary ops): the gradient engine
        sums each input's gradient back to that input's shape.
    broadcast_core_dims: trailing dimensions that do not broadcast (2 for batched matmul's matrices).
    bind: ``bind(op, state) -> dict`` extra kernel keywords from session state (slots, RNGs).
    xp_name: the kernel is exactly ``xp.<xp_name>(*inputs)``: bound without a Python wrapper.
    shares: ``shares(op) -> key | None``: ops of one planned segment whose keys are equal get one
        :class:`Shared` holder (kernel keyword ``shared``) through which they may pass work they
        both need within a run (a convolution's input patches, built by the forward op, reused by
        its filter gradient); the runtime empties it when the segment's run ends.
    """

    type: str
    infer: Callable
    kernel: Callable | None = None
    grad: Callable | None = None
    differentiable: bool = True
    stateful: bool = False
    ref_inputs: tuple | _AllInputs = ()
    view: bool = False
    broadcasting: bool = False
    broadcast_core_dims: int = 0
    bind: Callable | None = None
    xp_name: str | None = None
    shares: Callable | None = None
    kernel_attrs: tuple = field(default=(), init=False)

    def __post_init__(self):
        if self.kernel is not None:
            params = inspect.signature(self.kernel).parameters.values()
            self.kernel_attrs = tuple(p.name for p in params if p.kind is p.KEYWORD_ONLY)


class Shared:
    """What ops with equal ``OpDef.shares`` keys pass each other within one run (``value``, None at
    the start of every run). A kernel must check that a value is the one it needs (by the identity
    of the input array it was made from): concurrent runs of one plan share the holder."""

    __slots__ = ("value",)

    def __init__(self):
        self.value = None


def register(opdef: OpDef) -> OpDef:
    if opdef.type in OP_DEFS:
        raise KeyError(f"Op type {opdef.type!r} is registered twice")
    OP_DEFS[opdef.type] = opdef
    return opdef


def primitive(op_type: str, infer: Callable, grad: Callable | None = None, **options):
    """Decorator: register the decorated kernel as the op ``op_type``.

    Examples
    --------
    >>> @primitive("Square", infer=same_as_input, grad=lambda op, g: [g * 2 * op.inputs[0]])
    ... def _square(xp, x):
    ...     return xp.square(x)
    """

    def deco(kernel):
        register(OpDef(op_type, infer, kernel, grad, **options))
        return kernel

    return deco


def get(op_type: str) -> OpDef:
    try:
        return OP_DEFS[op_type]
    except KeyError:
        raise KeyError(f"No op is registered with type {op_type!r}") from None


class RegisterGradient:
    """``@tf.RegisterGradient("MyGrad")``: a gradient rule usable through ``gradient_override_map``."""

    def __init__(self, op_type: str):
        if not isinstance(op_type, str):
            raise TypeError("op_type must be a string")
        self._op_type = op_type

    def __call__(self, fn):
        if self._op_type in GRADIENT_OVERRIDES:
            raise KeyError(f"Registering two gradient with name '{self._op_type}'!")
        GRADIENT_OVERRIDES[self._op_type] = fn
        return fn


def NotDifferentiable(op_type: str) -> None:  # noqa: N802 (TF's name)
    get(op_type).differentiable = False
