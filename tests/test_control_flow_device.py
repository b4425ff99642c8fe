"""Loop and cond bodies on the OpenCL device: While/If/TensorArray (and their gradients) run there
WITHOUT soft placement, equal to the CPU (forward and gradients); loop variables stay device arrays
across iterations (the host copies of a run are counted); body ops pinned to ``/cpu:0`` run on the
CPU with copies both ways; the spec table's control-flow rows run on the device."""

import numpy as np
import pytest

import dataflow as tf
import opspec
from test_backends import CL, needs_cl

pytestmark = needs_cl


def run_both(build, feeds, grads_of=None):
    """``build(*placeholders) -> outputs`` on the OpenCL device and on the CPU, each with the gradients of
    ``sum(sin(1.3 o + 0.2) * o)`` over the outputs with respect to the placeholders listed in ``grads_of``;
    no soft placement."""
    results = []
    for device in (CL, "/cpu:0"):
        g = tf.Graph()
        with g.as_default(), g.device(device):
            ph = [tf.placeholder(tf.as_dtype(a.dtype), np.shape(a)) for a in feeds]
            outs = build(*ph)
            outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
            if grads_of:  # a loss whose gradient differs per element (a misplaced element shows)
                loss = tf.add_n([tf.reduce_sum(tf.sin(o * 1.3 + 0.2) * o) for o in outs if o.dtype.is_floating])
                outs += tf.gradients(loss, [ph[i] for i in grads_of])
        with tf.Session(graph=g) as s:
            results.append(s.run(outs, dict(zip(ph, feeds))))
    return results


def assert_same(got, want, rtol=1e-5, atol=1e-6):
    assert len(got) == len(want)
    for a, b in zip(got, want):
        assert np.shape(a) == np.shape(b) and np.asarray(a).dtype == np.asarray(b).dtype
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


def _rand(*shape, scale=1.0, dtype=np.float32, seed=0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)


# ---- forward and gradients equal to the CPU ------------------------------------------------------
def test_power_loop_forward_and_gradient():
    def build(x, n):
        return tf.while_loop(lambda i, y: i < n, lambda i, y: (i + 1, y * x), [0, tf.ones_like(x)])[1]
    got, want = run_both(build, [_rand(2, 3), np.int32(5)], grads_of=[0])
    assert_same(got, want)
    x = _rand(2, 3)
    np.testing.assert_allclose(got[0], x ** 5, rtol=1e-5)


def test_rnn_recurrence_with_a_captured_matrix():
    def build(xs, w, h0):
        def body(t, h):
            return t + 1, tf.tanh(tf.matmul(h, w) + xs[t])
        return tf.while_loop(lambda t, h: t < 6, body, [0, h0])[1]
    feeds = [_rand(6, 4, 5), _rand(5, 5, scale=0.4, seed=1), _rand(4, 5, seed=2)]
    got, want = run_both(build, feeds, grads_of=[0, 1, 2])
    assert_same(got, want, rtol=1e-4, atol=1e-5)


def test_nested_loops():
    def build(x):
        def outer(i, acc):
            inner = tf.while_loop(lambda j, a: j < i + 1, lambda j, a: (j + 1, a * 0.9 + tf.sin(x)), [0, acc])[1]
            return i + 1, inner
        return tf.while_loop(lambda i, a: i < 3, outer, [0, x])[1]
    got, want = run_both(build, [_rand(3, 2)], grads_of=[0])
    assert_same(got, want)


@pytest.mark.parametrize("pred", [True, False])
def test_cond_on_a_placeholder(pred):
    def build(x, p):
        return tf.cond(p, lambda: tf.exp(x) * x, lambda: tf.square(x) - 1.0)
    got, want = run_both(build, [_rand(4), np.bool_(pred)], grads_of=[0])
    assert_same(got, want)
    x = _rand(4)
    np.testing.assert_allclose(got[0], np.exp(x) * x if pred else x * x - 1, rtol=1e-5)


def test_map_fn_and_scan():
    def build(x, w):
        m = tf.map_fn(lambda r: tf.reduce_sum(tf.tanh(r * w)), x)
        s = tf.scan(lambda a, r: a * 0.5 + r * w, x)
        return m, s
    got, want = run_both(build, [_rand(5, 3), _rand(3, seed=3)], grads_of=[0, 1])
    assert_same(got, want)


# ---- values stay on the device ---------------------------------------------------------------------
class _Copies:
    """Counts every copy between the host and the OpenCL device: ``Array.get`` (device -> host) and
    ``pyopencl.array.to_device`` (host -> device, what ``from_host`` and operand uploads call)."""

    def __init__(self, monkeypatch):
        import pyopencl.array as cla

        self.down = self.up = 0
        get, to_device = cla.Array.get, cla.to_device

        def counting_get(arr, *a, **k):
            self.down += 1
            return get(arr, *a, **k)

        def counting_to_device(*a, **k):
            self.up += 1
            return to_device(*a, **k)
        monkeypatch.setattr(cla.Array, "get", counting_get)
        monkeypatch.setattr(cla, "to_device", counting_to_device)

    def during(self, fn):
        d, u = self.down, self.up
        out = fn()
        return out, self.down - d, self.up - u


def test_loop_variables_stay_on_the_device(monkeypatch):
    """Per run: one upload per feed, one read-back of the predicate per iteration, one of the fetch. A loop
    that copied its variables to the host and back would read back and upload O(iterations) arrays more."""
    copies = _Copies(monkeypatch)
    with tf.Graph().as_default(), tf.device(CL):
        x = tf.placeholder(tf.float32, [64])
        n = tf.placeholder(tf.int32, [])
        y = tf.while_loop(lambda i, y: i < n, lambda i, y: (i + 1, tf.sin(y) * x + 0.5), [0, tf.zeros_like(x)])[1]
        sess = tf.Session()
        xv = _rand(64)
        sess.run(y, {x: xv, n: 2})  # planned, constants uploaded
        for iterations in (3, 12):
            out, down, up = copies.during(lambda: sess.run(y, {x: xv, n: iterations}))
            ref = np.zeros(64, np.float32)
            for _ in range(iterations):
                ref = np.sin(ref) * xv + 0.5
            np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)
            assert down == iterations + 2, down  # n + 1 predicates, the fetch
            assert up == 2, up  # the feeds x and n


def test_cond_branch_values_stay_on_the_device(monkeypatch):
    copies = _Copies(monkeypatch)
    with tf.Graph().as_default(), tf.device(CL):
        x = tf.placeholder(tf.float32, [8])
        y = tf.cond(tf.reduce_sum(x) > 0, lambda: tf.exp(x), lambda: tf.square(x) * 2.0)
        sess = tf.Session()
        xv = np.abs(_rand(8)) + 0.1
        sess.run(y, {x: xv})
        out, down, up = copies.during(lambda: sess.run(y, {x: xv}))
        np.testing.assert_allclose(out, np.exp(xv), rtol=1e-6)
        assert (down, up) == (2, 1)  # the predicate and the fetch; the feed


# ---- explicit devices inside a body ------------------------------------------------------------------
def _programs(sess):
    """The compiled body programs of the While/If ops of a session's plans."""
    out = []
    for plan in sess._plans.values():
        for seg in plan.segments:
            for k in seg.fn.__globals__.values():
                progs = getattr(k, "keywords", {}).get("programs")
                if progs:
                    out.extend(p for p in progs if p is not None and not isinstance(p, (list, int)))
    return out


def test_body_op_pinned_to_the_cpu_runs_there_with_copies(capfd):
    def build(h0, w):
        def body(i, h):
            a = tf.matmul(h, w, name="mm")
            with tf.device("/cpu:0"):
                b = tf.sin(a, name="pinned")
            return i + 1, tf.tanh(b, name="back")
        return tf.while_loop(lambda i, h: i < 4, body, [0, h0])[1]
    feeds = [_rand(3, 4), _rand(4, 4, scale=0.5, seed=1)]
    got, want = run_both(build, feeds, grads_of=[0, 1])
    assert_same(got, want, rtol=1e-4, atol=1e-5)
    with tf.Graph().as_default():
        with tf.device(CL):
            h0, w = tf.placeholder(tf.float32, [3, 4]), tf.placeholder(tf.float32, [4, 4])
            y = build(h0, w)
        sess = tf.Session(config=tf.ConfigProto(log_device_placement=True))
        sess.run(y, dict(zip([h0, w], feeds)))
    err = capfd.readouterr().err
    assert "while/mm: (MatMul): /job:localhost/replica:0/task:0/device:OPENCL:0" in err
    assert "while/pinned: (Sin): /job:localhost/replica:0/task:0/device:CPU:0" in err
    assert "while/back: (Tanh): /job:localhost/replica:0/task:0/device:OPENCL:0" in err
    body = [p for p in _programs(sess) if "/body" in getattr(p, "key", "")]
    assert len(body) == 1 and len(body[0].steps) == 3  # OpenCL, CPU, OpenCL segments
    moves = {(t.op.name, src, dst) for t, src, dst in body[0].transfers}
    assert moves == {("while/mm", CL, "/device:CPU:0"), ("while/pinned", "/device:CPU:0", CL)}


def test_cpu_loop_with_a_body_op_pinned_to_the_device():
    results = []
    for dev in (CL, "/cpu:0"):
        with tf.Graph().as_default():
            x = tf.placeholder(tf.float32, [4])

            def body(i, h):
                with tf.device(dev):
                    h2 = tf.sin(h) * x
                return i + 1, h2 + 1.0
            y = tf.while_loop(lambda i, h: i < 4, body, [0, x])[1]
            sess = tf.Session()
            results.append(sess.run([y, tf.gradients(y, x)[0]], {x: np.arange(4, dtype=np.float32)}))
            if dev == CL:
                (prog,) = [p for p in _programs(sess) if p.key.startswith("while/While/body")]
                assert {(src, dst) for _, src, dst in prog.transfers} == {("/device:CPU:0", CL), (CL, "/device:CPU:0")}
    assert_same(*results)


def test_variables_assigned_in_bodies_on_the_device():
    """A cond whose branches assign a device variable, a loop that counts in one and reads another."""
    results = []
    for dev in (CL, "/cpu:0"):
        with tf.Graph().as_default():
            with tf.device(dev):
                v = tf.Variable(np.ones(3, np.float32), name="v")
                c = tf.Variable(0.0, name="c")
                p = tf.placeholder(tf.bool, [])
                update = tf.cond(p, lambda: tf.assign_add(v, [1.0, 2.0, 3.0]), lambda: tf.assign(v, v * 3.0))

                def body(i, acc):
                    with tf.control_dependencies([tf.assign_add(c, 1.0)]):
                        return i + 1, acc + v * tf.identity(c)
                y = tf.while_loop(lambda i, a: i < 3, body, [0, tf.zeros([3])])[1]
                g = tf.gradients(tf.reduce_sum(y * y), v)[0]
            sess = tf.Session()
            sess.run(tf.global_variables_initializer())
            results.append([sess.run(update, {p: True}), sess.run(update, {p: False}), *sess.run([y, g]),
                            sess.run(c)])
    assert_same(*results)
    np.testing.assert_allclose(results[0][2], np.array([6.0, 9.0, 12.0]) * 6)  # v * (1 + 2 + 3)


def test_a_loop_soft_placed_to_the_cpu_runs_its_body_there(monkeypatch):
    """Body ops whose device is only the one the loop was built under follow the loop: a While moved to the
    CPU (here: its OpenCL kernel hidden) runs its whole body on the CPU, with no copy per iteration."""
    from backends import get

    cl = get("OPENCL", 0)
    has_kernel = type(cl).has_kernel
    monkeypatch.setattr(cl, "has_kernel", lambda op: op.type != "While" and has_kernel(cl, op))
    with tf.Graph().as_default(), tf.device(CL):
        x = tf.placeholder(tf.float32, [3])
        y = tf.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, tf.sin(v) + x), [0, x])[1]
        sess = tf.Session(config=tf.ConfigProto(allow_soft_placement=True))
        xv = _rand(3)
        ref = xv
        for _ in range(3):
            ref = np.sin(ref) + xv
        np.testing.assert_allclose(sess.run(y, {x: xv}), ref, rtol=1e-6)
        assert _programs(sess) and not any(hasattr(p, "transfers") for p in _programs(sess))


def test_body_op_without_a_device_kernel_needs_soft_placement():
    with tf.Graph().as_default():
        with tf.device(CL):
            x = tf.placeholder(tf.float32, [3])
            y = tf.while_loop(lambda i, v: i < 2, lambda i, v: (
                i + 1, tf.reshape(tf.py_func(lambda a: a, [v], tf.float32), [3]) * 2.0), [0, x])[1]
        with pytest.raises(tf.errors.InvalidArgumentError, match="no supported kernel for OPENCL.*PyFunc"):
            tf.Session().run(y, {x: np.ones(3, np.float32)})
        sess = tf.Session(config=tf.ConfigProto(allow_soft_placement=True))
        np.testing.assert_allclose(sess.run(y, {x: np.ones(3, np.float32)}), np.full(3, 4.0))
        (body,) = [p for p in _programs(sess) if "/body" in getattr(p, "key", "")]
        assert {(src, dst) for _, src, dst in body.transfers} == {(CL, "/device:CPU:0"), ("/device:CPU:0", CL)}


def test_tensor_array_elements_stay_on_the_device(monkeypatch):
    """unstack, reads, writes and stack inside and around a loop: the elements are device arrays, and a run
    copies only the feed in and, per iteration, the predicate out (plus the fetch)."""
    import pyopencl.array as cla

    from backends import get
    from dataflow.ops.tensor_array import TensorList

    copies = _Copies(monkeypatch)
    with tf.Graph().as_default(), tf.device(CL):
        x = tf.placeholder(tf.float32, [5, 3])
        xs = tf.TensorArray(tf.float32, size=5).unstack(x)
        out = tf.TensorArray(tf.float32, size=0, dynamic_size=True)
        _, out = tf.while_loop(lambda t, o: t < 5, lambda t, o: (t + 1, o.write(t, tf.exp(xs.read(t)) * 2.0)),
                               [0, out])
        y = out.stack()
        sess = tf.Session()
        xv = _rand(5, 3)
        sess.run(y, {x: xv})
        got, down, up = copies.during(lambda: sess.run(y, {x: xv}))
        np.testing.assert_allclose(got, np.exp(xv) * 2, rtol=1e-6)
        assert (down, up) == (5 + 2, 1), (down, up)
        b = get("OPENCL", 0)
        lst = b.bind(xs.handle.op, None)(b.from_host(xv))
        assert isinstance(lst, TensorList) and len(lst) == 5 and all(isinstance(r, cla.Array) for r in lst.items)
        np.testing.assert_array_equal(lst.items[3].get(), xv[3])


# ---- the op table's control-flow rows, on the device, without soft placement --------------------------
_ROWS = [s for s in opspec.all_specs() if s.name.startswith(("while_", "cond_", "tensor_array_"))]


@pytest.mark.parametrize("spec", _ROWS, ids=[s.name for s in _ROWS])
def test_spec_rows_without_soft_placement(spec, monkeypatch):
    monkeypatch.setattr(opspec, "session_for", lambda graph, device: tf.Session(graph=graph))
    opspec.check_forward(spec, CL)
    if spec.grad:
        opspec.check_gradient(spec, CL)
