"""Buffer reuse (TF's ``memory_optimization``): an elementwise kernel writes into a dead input.

``plan.generate`` already drops each intermediate after its last use in a segment. On top of that,
:func:`reusable_inputs` picks, for each elementwise op of a segment, one input whose buffer the op
may overwrite (NumPy ``out=``): so a chain ``exp(x * 2) + 1`` runs in one buffer instead of three.
An input qualifies when all of these hold:

* the op is a NumPy ufunc op (``OpDef.xp_name``) or a FusedElementwise with one output, whose
  output's static shape is fully known and equal to the input's, with the same dtype;
* this op is the input's last reader in the segment, and the input is not returned by the segment
  (a fetch, or a value another segment reads);
* the input was computed in this segment by an op that returns a fresh array nobody else keeps (an
  elementwise op, a fused op or a Cast): not a feed, a constant, a variable's value, or a view;
* every reader of the input is such an op too, so no view of its buffer outlives it.
"""

from __future__ import annotations

import numpy as np

_FRESH_EXTRA = {"FusedElementwise", "Cast"}


def _fresh(op) -> bool:
    """``op`` returns new arrays that nothing else references."""
    return op.op_def.xp_name is not None or op.type in _FRESH_EXTRA


def _writes_out(op) -> bool:
    """``op``'s bound kernel can take ``out=``: a NumPy ufunc, or the fused kernel with one output."""
    if op.type == "FusedElementwise":
        return len(op.outputs) == 1
    return isinstance(getattr(np, op.op_def.xp_name or "", None), np.ufunc)


def reusable_inputs(body_ops: list, last_use: dict, returned: set, params: set) -> dict:
    """``{op: input index}``: the input whose buffer each op may write its output into."""
    made_here = {t for op in body_ops for t in op.outputs}
    readers: dict = {}
    for op in body_ops:
        for t in op._inputs:
            readers.setdefault(t, []).append(op)
    out: dict = {}
    for n, op in enumerate(body_ops):
        if not _writes_out(op) or not op.outputs:
            continue
        res = op.outputs[0]
        if not res.shape.is_fully_defined() or res.shape.ndims == 0:  # NumPy returns 0-d results as scalars
            continue
        for j, t in enumerate(op._inputs):
            if (last_use.get(t) == n and t in made_here and t not in returned and t not in params
                    and t.dtype == res.dtype and t.shape == res.shape and not t._is_ref
                    and _fresh(t.op) and all(_fresh(r) for r in readers[t])):
                out[op] = j
                break
    return out
