"""Errors point at the user's line: every build-time and run-time error names the op and the file
and line of THIS test that created it, inside while/cond bodies too. Print (stderr and the
"dataflow" logger), Assert, check_numerics, add_check_numerics_ops, assert_*; graph editing after
runs and Graph.finalize."""

import logging
import sys

import numpy as np
import pytest

import dataflow as tf

HERE = __file__


def _next_line() -> str:
    """``this_file:N`` for the line after the caller's."""
    return f"{HERE}:{sys._getframe(1).f_lineno + 1}"


# ---- build time ------------------------------------------------------------------------------------
def test_matmul_shape_mismatch_names_both_shapes_and_the_line():
    a = tf.placeholder(tf.float32, [2, 3])
    b = tf.placeholder(tf.float32, [4, 5])
    with pytest.raises(ValueError) as info:
        where = _next_line()
        tf.matmul(a, b)
    msg = str(info.value)
    assert "(2, 3)" in msg and "(4, 5)" in msg and "MatMul" in msg
    assert where in msg


def test_shape_error_inside_a_loop_body_names_the_body_line():
    x = tf.placeholder(tf.float32, [2, 3])

    def body(i, h):
        return i + 1, tf.matmul(h, x)  # [2, 3] @ [2, 3]
    where = f"{HERE}:{body.__code__.co_firstlineno + 1}"
    with pytest.raises(ValueError) as info:
        tf.while_loop(lambda i, h: i < 2, body, [0, x])
    assert where in str(info.value) and "(2, 3)" in str(info.value)


# ---- run time ----------------------------------------------------------------------------------------
def test_nan_caught_by_check_numerics_names_the_line():
    x = tf.placeholder(tf.float32, [2])
    where = _next_line()
    y = tf.debugging.check_numerics(tf.log(x), "log of x")
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(y, {x: [1.0, np.e]}), [0.0, 1.0], rtol=1e-6)
        with pytest.raises(tf.errors.InvalidArgumentError) as info:
            sess.run(y, {x: [1.0, -1.0]})
    msg = str(info.value)
    assert "log of x" in msg and "NaN" in msg and where in msg


def test_unfed_placeholder_names_it_and_its_line():
    where = _next_line()
    x = tf.placeholder(tf.float32, [None, 3], name="features")
    y = x * 2.0
    with tf.Session() as sess, pytest.raises(tf.errors.InvalidArgumentError) as info:
        sess.run(y)
    msg = str(info.value)
    assert "You must feed a value for placeholder tensor 'features'" in msg and "float32" in msg and where in msg


def test_unfed_placeholder_used_only_in_a_loop_body():
    where = _next_line()
    step = tf.placeholder(tf.float32, [], name="step")
    r = tf.while_loop(lambda v: v < 10.0, lambda v: v + step, [0.0])
    with tf.Session() as sess:
        assert sess.run(r, {step: 4.0}) == 12.0
        with pytest.raises(tf.errors.InvalidArgumentError) as info:
            sess.run(r)
    assert "'step'" in str(info.value) and where in str(info.value)


def test_failed_assert_inside_a_cond_names_the_line():
    x = tf.placeholder(tf.float32, [])

    def checked():
        check = tf.Assert(x > 0.0, ["x must be positive, got", x])  # the line the error names
        with tf.control_dependencies([check]):
            return tf.sqrt(x)
    where = f"{HERE}:{checked.__code__.co_firstlineno + 1}"
    r = tf.cond(x > -100.0, checked, lambda: x)
    with tf.Session() as sess:
        assert sess.run(r, {x: 4.0}) == 2.0
        assert sess.run(r, {x: -500.0}) == -500.0  # the other branch: no check
        with pytest.raises(tf.errors.InvalidArgumentError) as info:
            sess.run(r, {x: -4.0})
    msg = str(info.value)
    assert "assertion failed" in msg and "x must be positive, got" in msg and "[-4]" in msg and where in msg


def test_kernel_error_inside_a_loop_body_names_the_body_op_and_line():
    x = tf.placeholder(tf.float32, [None])

    def body(i, v):
        return i + 1, tf.reshape(v, [2, 2])[0]  # fails at run time unless v has 4 elements
    where = f"{HERE}:{body.__code__.co_firstlineno + 1}"
    r = tf.while_loop(lambda i, v: i < 1, body, [0, x], shape_invariants=[tf.TensorShape([]), tf.TensorShape(None)])
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(r[1], {x: [1.0, 2.0, 3.0, 4.0]}), [1.0, 2.0])
        with pytest.raises(tf.errors.InvalidArgumentError) as info:
            sess.run(r, {x: [1.0, 2.0, 3.0]})
    assert "Reshape" in str(info.value) and where in str(info.value)


def test_nan_in_a_loop_body_is_caught_by_check_numerics():
    x = tf.placeholder(tf.float32, [])

    def body(i, v):
        return i + 1, tf.check_numerics(tf.sqrt(v - 1.0), "sqrt in loop")
    where = f"{HERE}:{body.__code__.co_firstlineno + 1}"
    r = tf.while_loop(lambda i, v: i < 3, body, [0, x])[1]
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError) as info:
            sess.run(r, {x: 2.0})  # sqrt(1) = 1, then sqrt(0) = 0, then sqrt(-1): NaN
    assert "sqrt in loop" in str(info.value) and where in str(info.value)


# ---- Print, Assert, checks ----------------------------------------------------------------------------
def test_print_goes_to_stderr_and_the_dataflow_logger(capfd, caplog):
    x = tf.constant([1.0, 2.0, 3.0, 4.0])
    printed = tf.Print(x, [x, tf.reduce_sum(x)], message="x, sum: ")
    unused = tf.Print(x, [x], message="NEVER ")  # noqa: F841  (not fetched: does not print)
    with caplog.at_level(logging.INFO, logger="dataflow"), tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(printed * 1.0), [1, 2, 3, 4])
    err = capfd.readouterr().err
    assert "x, sum: [1 2 3...][10]" in err and "NEVER" not in err
    assert any("x, sum: [1 2 3...][10]" in r.getMessage() for r in caplog.records if r.name == "dataflow")


def test_assert_with_data_and_asserts_from_tf_debugging():
    x = tf.placeholder(tf.int32, [3])
    check = tf.Assert(tf.reduce_all(x > 0), ["bad x:", x])
    with tf.control_dependencies([check]):
        y = tf.identity(x)
    eq = tf.debugging.assert_equal(x, tf.constant([1, 2, 3]), message="not 1 2 3")
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(y, {x: [1, 2, 3]}), [1, 2, 3])
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"bad x:\] \[1 -2 3\]"):
            sess.run(y, {x: [1, -2, 3]})
        sess.run(eq, {x: [1, 2, 3]})
        with pytest.raises(tf.errors.InvalidArgumentError, match="not 1 2 3"):
            sess.run(eq, {x: [1, 2, 4]})
        with pytest.raises(tf.errors.InvalidArgumentError):
            sess.run(tf.debugging.assert_positive(x), {x: [1, 0, 1]})


def test_add_check_numerics_ops_covers_loops():
    x = tf.placeholder(tf.float32, [])
    y = tf.while_loop(lambda i, v: i < 2, lambda i, v: (i + 1, v * 10.0), [0, x])[1]
    z = tf.log(y)
    checks = tf.add_check_numerics_ops()
    with tf.Session() as sess:
        sess.run([z, checks], {x: 2.0})
        with pytest.raises(tf.errors.InvalidArgumentError, match="Log:0"):
            sess.run([z, checks], {x: -2.0})


# ---- graph editing ----------------------------------------------------------------------------------
def test_ops_added_after_a_run_are_planned_anew():
    x = tf.placeholder(tf.float32, [])
    y = x * 2.0
    with tf.Session() as sess:
        assert sess.run(y, {x: 1.0}) == 2.0
        version = tf.get_default_graph().version
        z = y + 1.0
        r = tf.while_loop(lambda v: v < 20.0, lambda v: v * 2.0, [z])
        assert tf.get_default_graph().version > version
        assert sess.run([y, z, r], {x: 1.0}) == [2.0, 3.0, 24.0]
        assert sess.run(y, {x: 5.0}) == 10.0
        assert all(k[0] == tf.get_default_graph().version for k in sess._plans)


def test_finalized_graph_rejects_new_ops_and_control_flow():
    x = tf.placeholder(tf.float32, [])
    y = x + 1.0
    g = tf.get_default_graph()
    g.finalize()
    assert g.finalized
    with pytest.raises(RuntimeError, match="Graph is finalized and cannot be modified"):
        x * 2.0
    with pytest.raises(RuntimeError, match="finalized"):
        tf.while_loop(lambda v: v < 1.0, lambda v: v + 1.0, [x])
    with pytest.raises(RuntimeError, match="finalized"):
        tf.cond(x > 0, lambda: x, lambda: y)
    with tf.Session() as sess:
        assert sess.run(y, {x: 1.0}) == 2.0  # running needs no new ops
    g._unsafe_unfinalize()
    assert tf.Session().run(x * 3.0, {x: 1.0}) == 3.0


def test_monotonicity_rank_in_and_float_dtype_checks():
    x = tf.placeholder(tf.float32, [None])
    nd, si = tf.debugging.is_non_decreasing(x), tf.debugging.is_strictly_increasing(x)
    with tf.Session() as sess:
        for v, want in (([1, 1, 2], (True, False)), ([1, 2, 3], (True, True)), ([2, 1], (False, False)),
                        ([5], (True, True)), ([], (True, True))):
            assert tuple(sess.run([nd, si], {x: v})) == want, v
    with pytest.raises(TypeError, match="numeric"):
        tf.debugging.is_non_decreasing(tf.constant(["a"]))
    with pytest.raises(ValueError, match=r"must have rank in \(1, 3\).*Received rank 2"):
        tf.debugging.assert_rank_in(tf.zeros([2, 2]), [1, 3])
    assert tf.debugging.assert_rank_in(tf.zeros([2]), [1, 3]).type == "NoOp"
    u = tf.placeholder(tf.float32)
    check = tf.debugging.assert_rank_in(u, [0, 1])
    with tf.Session() as sess:
        sess.run(check, {u: [1.0]})
        with pytest.raises(tf.errors.InvalidArgumentError, match="must have rank in"):
            sess.run(check, {u: [[1.0]]})
    assert tf.debugging.assert_same_float_dtype([tf.zeros([1]), tf.ones([2])]) is tf.float32
    assert tf.debugging.assert_same_float_dtype() is tf.float32
    with pytest.raises(ValueError, match="expected type float32"):
        tf.debugging.assert_same_float_dtype([tf.zeros([1]), tf.zeros([1], tf.float64)])
    with pytest.raises(ValueError, match="Expected floating point type"):
        tf.debugging.assert_same_float_dtype([tf.zeros([1], tf.int32)])
