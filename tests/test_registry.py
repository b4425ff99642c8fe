"""Registry completeness: every op type has a shape function, a kernel and a gradient rule (or is
marked not differentiable), and every op type is exercised by a spec row of ``tests/specs``.

A new op registered without a spec row fails :func:`test_every_op_type_is_exercised_by_a_spec`: add a
row to ``tests/specs/<family>.py`` (or, for an op that keeps session state, a test elsewhere and its
type to ``COVERED_ELSEWHERE``).
"""

import os

import numpy as np
import pytest

import dataflow as tf
from dataflow.framework.registry import OP_DEFS
from opspec import all_specs, build_graph, op_types

# No kernel: the runtime binds a Const's value, takes a Placeholder's from the feeds; a NoOp only orders.
RUNTIME_OPS = {"Const", "Placeholder", "NoOp"}

# Ops with session state or randomness, which a forward-vs-NumPy row cannot check, by the test file
# that exercises them. Only stateful ops may be listed (test_covered_elsewhere_is_true checks it).
COVERED_ELSEWHERE = {
    "test_session.py": {"NoOp"},
    "test_variables.py": {
        "VariableV2", "Assign", "AssignAdd", "AssignSub", "IsVariableInitialized", "InitializedValue",
        "ReportUninitialized", "RandomStandardNormal", "TruncatedNormal", "RandomUniform", "RandomUniformInt",
        "RandomShuffle", "ApplyGradientDescent"},
    "test_optimizers.py": {  # the optimizers' update ops, against TensorFlow's golden values
        "ApplyMomentum", "ApplyAdagrad", "ApplyAdagradDA", "ApplyAdadelta", "ApplyAdam", "ApplyRMSProp",
        "ApplyCenteredRMSProp", "ApplyFtrl", "ApplyFtrlV2"},
    "test_tf1_surface.py": {"Print", "PrintV2", "Assert", "PyFunc", "Multinomial"},
}
# Ops that only the graph rewriter makes (after gradients are taken, so they need none), by the test
# file that runs graphs with and without the rewrite and compares the results.
REWRITER_OPS = {"test_fusion.py": {"FusedElementwise"}}
EXEMPT = {t for types in [*COVERED_ELSEWHERE.values(), *REWRITER_OPS.values()] for t in types}


def _exercised_op_types() -> set:
    """Op types in every spec row's graph, and in its gradient graph where the row is differentiable."""
    seen = set()
    for spec in all_specs():
        arrays = [np.asarray(a) for a in spec.inputs(np.random.default_rng(0))]
        graph, ins, outs = build_graph(spec, arrays)
        if spec.grad:
            with graph.as_default():
                floats = [o for o in outs if o.dtype.is_floating]
                xs = [t for t in ins if t.dtype.is_floating]
                if floats and xs:
                    try:
                        tf.gradients(floats, xs)
                    except Exception:  # noqa: BLE001  (test_ops.py reports a broken gradient)
                        pass
        seen |= op_types(graph)
    return seen


@pytest.fixture(scope="module")
def exercised():
    return _exercised_op_types()


@pytest.mark.parametrize("op_type", sorted(OP_DEFS))
def test_op_def_is_complete(op_type):
    opdef = OP_DEFS[op_type]
    assert opdef.type == op_type
    assert callable(opdef.infer), f"{op_type} has no infer (shape) function"
    if op_type not in RUNTIME_OPS:
        assert opdef.kernel is not None or opdef.xp_name is not None, f"{op_type} has no kernel"
    assert opdef.grad is not None or not opdef.differentiable, \
        f"{op_type} has no gradient rule and is not marked differentiable=False"


def _without_spec(exercised) -> list:
    return sorted(set(OP_DEFS) - exercised - EXEMPT)


def test_every_op_type_is_exercised_by_a_spec(exercised):
    missing = _without_spec(exercised)
    assert not missing, f"op types with no spec row in tests/specs: {missing}"


def test_a_new_op_without_a_spec_is_caught(exercised, monkeypatch):
    from dataflow.framework.registry import OpDef

    monkeypatch.setitem(OP_DEFS, "BrandNewOp", OpDef("BrandNewOp", lambda op: [], lambda xp: None))
    assert "BrandNewOp" in _without_spec(exercised)


def test_covered_elsewhere_is_true(exercised):
    unknown = sorted(EXEMPT - set(OP_DEFS))
    assert not unknown, f"COVERED_ELSEWHERE names op types that are not registered: {unknown}"
    redundant = sorted(EXEMPT & exercised - {"NoOp"})
    assert not redundant, f"these have spec rows now; drop them from COVERED_ELSEWHERE: {redundant}"
    stateless = sorted(t for t in EXEMPT if not OP_DEFS[t].stateful and t not in RUNTIME_OPS
                       and not any(t in types for types in REWRITER_OPS.values()))
    assert not stateless, f"stateless ops need a spec row, not an exemption: {stateless}"
    here = os.path.dirname(os.path.abspath(__file__))
    absent = {f: sorted(types) for f, types in [*COVERED_ELSEWHERE.items(), *REWRITER_OPS.items()]
              if not os.path.exists(os.path.join(here, f))}
    assert not absent, f"the tests said to cover these op types do not exist: {absent}"


def test_spec_names_are_unique():
    names = [s.name for s in all_specs()]
    assert len(names) == len(set(names)), sorted({n for n in names if names.count(n) > 1})
