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
(dead op removal); at the end they are put back in the planner's order as far as their new inputs
allow (:func:`in_original_order`). Fetched tensors keep their values (a fetch may
move to an equivalent tensor; a fetched op is only replaced by an op with its name); fed tensors are
never rewritten; stateful ops and variable reads are never merged, folded or bypassed; control
dependencies are kept (ops that carry them are left alone or cloned with them).

``memory_optimization`` is not a pass over ops: it lets ``plan.generate`` have elementwise kernels
write into a dead input's buffer (``memory.py``).
"""

from __future__ import annotations

import heapq

from ..framework.graph import Operation, Tensor
from .config import RewriterConfig, rewriter_config
from .core import Rewriter, origin_of
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
    rank = {op: i for i, op in enumerate(ops)}

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
    return in_original_order(ops, rank), [rw.target(f) for f in fetch_targets]


def in_original_order(ops: list, rank: dict) -> list:
    """``ops`` topologically sorted, each as close to where the op it stands for was planned as its
    inputs allow (Kahn's algorithm, the lowest original rank first): the planner's order says when
    variable reads die (so an update can overwrite a variable's array) and that a read that is not
    itself ordered runs after the assigns its consumer waits for; rewrites keep both."""
    members = set(ops)
    key = {op: (rank.get(origin_of(op)[-1], len(rank)), n) for n, op in enumerate(ops)}
    waits = {op: 0 for op in ops}
    after: dict = {}
    for op in ops:
        for dep in dict.fromkeys([t.op for t in op._inputs] + op._control_inputs):
            if dep in members and dep is not op:
                waits[op] += 1
                after.setdefault(dep, []).append(op)
    ready = [(key[op], op._id, id(op), op) for op in ops if waits[op] == 0]
    heapq.heapify(ready)
    out = []
    while ready:
        op = heapq.heappop(ready)[-1]
        out.append(op)
        for nxt in after.get(op, ()):
            waits[nxt] -= 1
            if waits[nxt] == 0:
                heapq.heappush(ready, (key[nxt], nxt._id, id(nxt), nxt))
    return out
