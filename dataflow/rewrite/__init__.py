"""Graph rewrites: what a plan runs instead of the pruned ops, computed once per plan.

``Plan.__init__`` calls :func:`optimize` right after pruning. The passes run in phases, as
PyTensor's rewriter and TF's Grappler do, each a pure function from an op list to a new one (the
user's Graph is never modified: rewritten ops are detached, see ``core.py``):

1. **merge** (``common_subgraph_elimination``): equal ops over equal inputs become one (CSE).
2. **simplify**, repeated while it finds something (at most 4 rounds):
   ``constant_folding`` (ops over constants, and shapes known statically, evaluated now);
   ``arithmetic_optimization``: ``x*1``, ``1*x``, ``x+0``, ``x-0`` -> x; integer ``x-x`` -> 0;
   ``-(-x)`` -> x; ``c*a + c*b`` -> ``c*(a+b)`` and ``AddN(c*a, c*b, ...)`` -> ``c*AddN(a, b, ...)``;
   a Cast to the same type -> x; a Cast through a wider type -> one Cast; Reshape of Reshape,
   Transpose of Transpose -> one op (none when it is the identity);
   ``dependency_optimization``: Identity / StopGradient bypassed.
3. **merge** again, when simplifying changed anything.
4. **fuse** (``remapping``): elementwise trees -> ``FusedElementwise`` (``fusion.py``).

After each phase the ops are pruned again from the fetches, which drops what no longer feeds them
(dead op removal) and restores topological order. Fetched tensors keep their values (a fetch may
move to an equivalent tensor; a fetched op is only replaced by an op with its name); fed tensors are
never rewritten; stateful ops and variable reads are never merged, folded or bypassed; control
dependencies are kept (ops that carry them are left alone or cloned with them).

``memory_optimization`` is not a pass over ops: it lets ``plan.generate`` have elementwise kernels
write into a dead input's buffer (``memory.py``).
"""

from __future__ import annotations

from ..framework.graph import Operation, Tensor
from .config import RewriterConfig, rewriter_config
from .core import Rewriter
from . import fusion, passes

__all__ = ["RewriterConfig", "optimize", "config_key"]

_ROUNDS = 4


def config_key(config) -> tuple:
    """The part of a plan's cache key that says which rewrites run."""
    return rewriter_config(config).key()


def optimize(ops: list, fetch_targets: list, fed, config=None) -> tuple[list, list]:
    """Rewrite the pruned ``ops`` for ``fetch_targets`` (tensors and ops) given the ``fed`` tensors.

    Returns the new op list, in topological order, and the fetch targets it computes (the same
    objects, or the tensors and ops that now produce their values), in the same order.
    """
    rc = rewriter_config(config)
    on = {p: rc.enabled(p) for p in RewriterConfig.PASSES}
    if not any(v for p, v in on.items() if p != "memory_optimization") or not ops:
        return ops, list(fetch_targets)
    from ..runtime.plan import prune  # the planner imports this package

    rw = Rewriter(fed, fetch_targets)
    fed = set(fed)

    def repruned(new_ops):
        targets = [rw.target(f) for f in fetch_targets]
        return prune([t for t in targets if isinstance(t, Tensor)],
                     [t for t in targets if isinstance(t, Operation)], fed)

    if on["common_subgraph_elimination"]:
        ops = repruned(passes.cse(rw, ops))
    simplify = [passes.fold_constants if on["constant_folding"] else None,
                passes.arithmetic if on["arithmetic_optimization"] else None,
                passes.dependencies if on["dependency_optimization"] else None]
    simplified = False
    for _ in range(_ROUNDS):
        before = rw.changed
        for p in simplify:
            if p is not None:
                ops = repruned(p(rw, ops))
        if rw.changed == before:
            break
        simplified = True
    if simplified and on["common_subgraph_elimination"]:
        ops = repruned(passes.cse(rw, ops))
    if on["remapping"]:
        ops = repruned(fusion.fuse(rw, ops))
    return ops, [rw.target(f) for f in fetch_targets]
