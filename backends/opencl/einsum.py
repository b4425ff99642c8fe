"""The OpenCL ``Einsum``: an equation lowered to diagonals, sums, transposes and the batched GEMM.

Each run plans from the operands' shapes (cheap Python over labels), then moves data only through the
vocabulary of ``vocab.py``:

1. ``...`` becomes explicit labels, right-aligned as broadcasting is (an operand with fewer of them
   simply lacks the leading ones);
2. a repeated label (``ii``) is a diagonal: ONE strided copy whose stride along the label is the sum of
   the repeated axes' strides;
3. an axis of size 1 is dropped from its operand (a reshape): the label is then absent there, which is
   how NumPy's einsum broadcasts a label of size 1 against the other operands;
4. operands are contracted left to right in pairs. Before a pair, a label that neither the other operand
   nor anything later needs (the output, the operands still to come) is summed out (``vocab.reduce``). The
   pair's labels then fall in four classes: batch (in both, needed later), contracted (in both, not
   needed), and the free labels of each side. Both operands are transposed (only if needed) to
   ``[batch, free, contracted]`` / ``[batch, contracted, free]`` and reshaped to three dims for
   ``vocab.matmul``: a ``[batch, M, K] x [batch, K, N]`` product (an operand already in the other order
   is read transposed instead of copied). With nothing to contract, the product is one broadcasting
   elementwise multiply instead of a GEMM with K = 1;
5. the last result is summed over what the output lacks, transposed to the output's order and reshaped
   (labels of size 1 dropped in step 3 come back as axes of size 1).

float32 and float64 only (the GEMM's); other einsums run on the CPU under soft placement.
"""

from __future__ import annotations

import math

import numpy as np

from dataflow.ops.linalg import _ELL, _parse_einsum

from . import elementwise as ew
from . import vocab
from .kernels import _np, kernel


class _Term:
    """A device array and one label per axis."""

    def __init__(self, x, labels):
        self.x, self.labels = x, list(labels)

    def size(self, label):
        return self.x.shape[self.labels.index(label)]


def _explicit(ins, out, shapes):
    """Token lists with ``...`` replaced by fresh labels ``("...", k)``, right-aligned."""
    counts = [len(shape) - len(s) + 1 if _ELL in s else 0 for s, shape in zip(ins, shapes)]
    nb = max(counts, default=0)
    ell = [(_ELL, k) for k in range(nb)]

    def expand(s, r):
        return [t for c in s for t in (ell[nb - r:] if c == _ELL else [c])]
    return [expand(s, r) for s, r in zip(ins, counts)], expand(out, nb)


def _diagonal(dev, x, labels):
    """Repeated labels of one operand taken along their diagonal (one strided copy)."""
    uniq = list(dict.fromkeys(labels))
    if len(uniq) == len(labels):
        return _Term(x, labels)
    st = ew.contiguous_strides(x.shape)
    shape = [x.shape[labels.index(c)] for c in uniq]
    strides = [sum(s for s, c2 in zip(st, labels) if c2 == c) for c in uniq]
    return _Term(vocab.copy_view(dev, x, shape, strides), uniq)


def _drop_ones(t):
    keep = [k for k, d in enumerate(t.x.shape) if d != 1]
    if len(keep) == len(t.labels):
        return t
    return _Term(t.x.reshape(tuple(t.x.shape[k] for k in keep)), [t.labels[k] for k in keep])


def _sum_out(dev, t, needed):
    axes = tuple(k for k, c in enumerate(t.labels) if c not in needed)
    if not axes:
        return t
    return _Term(vocab.reduce(dev, t.x, axes, "sum"), [c for c in t.labels if c in needed])


def _arranged(dev, t, order):
    """``t`` transposed so its labels read ``order`` (a copy only when they do not already)."""
    if t.labels == list(order):
        return t.x
    return vocab.transpose(dev, t.x, [t.labels.index(c) for c in order])


def _as_3d(dev, t, groups):
    """``t`` as ``[prod g0, prod g1, prod g2]`` in that label order, and whether it is read transposed:
    an operand whose labels are ``g0 + g2 + g1`` is not copied (the GEMM reads it transposed)."""
    dims = [math.prod(t.size(c) for c in g) for g in groups]
    g0, g1, g2 = groups
    if t.labels == g0 + g2 + g1 and g1 and g2:
        return t.x.reshape((dims[0], dims[2], dims[1])), True
    return _arranged(dev, t, g0 + g1 + g2).reshape(tuple(dims)), False


def _pair(dev, a, b, later):
    """The contraction of two terms, keeping the labels in ``later`` (needed by the output or an operand
    still to come)."""
    a = _sum_out(dev, a, set(b.labels) | later)
    b = _sum_out(dev, b, set(a.labels) | later)
    batch = [c for c in a.labels if c in b.labels and c in later]
    contract = [c for c in a.labels if c in b.labels and c not in later]
    a_free = [c for c in a.labels if c not in b.labels]
    b_free = [c for c in b.labels if c not in a.labels]
    size = {c: t.size(c) for t in (a, b) for c in t.labels}
    nb, m, n = (math.prod(size[c] for c in g) for g in (batch, a_free, b_free))
    labels = batch + a_free + b_free
    if not contract:  # an outer (or elementwise) product: one broadcasting multiply
        x = _arranged(dev, a, batch + a_free).reshape((nb, m, 1))
        y = _arranged(dev, b, batch + b_free).reshape((nb, 1, n))
        z, = ew.run(dev, [], [("in0 * in1", x.dtype, None)], [x, y], (nb, m, n))
    else:
        x, ta = _as_3d(dev, a, (batch, a_free, contract))
        y, tb = _as_3d(dev, b, (batch, contract, b_free))
        z = vocab.matmul(dev, x, y, ta, tb)
    return _Term(z.reshape(tuple(size[c] for c in labels)), labels)


def einsum(dev, equation, xs):
    """``numpy.einsum(equation, *xs)`` of device arrays (floating), on the device."""
    ins, out = _parse_einsum(equation, len(xs))
    ins, out = _explicit(ins, out, [x.shape for x in xs])
    dims: dict = {}
    for s, x in zip(ins, xs):
        for c, d in zip(s, x.shape):
            dims[c] = d if d != 1 else dims.get(c, 1)
    terms = [_drop_ones(_diagonal(dev, x, s)) for s, x in zip(ins, xs)]
    acc = terms[0]
    for k in range(1, len(terms)):
        later = set(out).union(*(t.labels for t in terms[k + 1:]))
        acc = _pair(dev, acc, terms[k], later)
    acc = _sum_out(dev, acc, set(out))
    order = [c for c in out if c in acc.labels]
    return _arranged(dev, acc, order).reshape(tuple(dims[c] for c in out))


@kernel("Einsum")
def _einsum(dev, op, state=None):
    if np.dtype(_np(op.outputs[0].dtype)) not in (np.float32, np.float64):
        return None
    equation = op.attrs["equation"]
    return lambda *xs: einsum(dev, equation, [dev.operand(x) for x in xs])
