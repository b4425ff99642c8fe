"""tf.train optimizers, learning-rate schedules and clipping, against TensorFlow's golden trajectories
(tests/golden/optimizers.*, schedules.json, mlp.*) and against NumPy references of TF's update rules."""

import json
import os

import numpy as np
import pytest

import dataflow as tf
from dataflow.ops import training

GOLDEN = os.path.join(os.path.dirname(__file__), "golden")
OPT = np.load(os.path.join(GOLDEN, "optimizers.npz"))
with open(os.path.join(GOLDEN, "optimizers.json")) as f:
    OPT_DESC = json.load(f)
with open(os.path.join(GOLDEN, "schedules.json")) as f:
    SCHEDULES = json.load(f)
TOL = dict(atol=1e-5, rtol=1e-5)


# ---- golden trajectories: every optimizers.json config, replayed ---------------------------------------
def build_golden_model(cfg_name):
    """optimizers.json's model and construction code, in dataflow."""
    cfg = OPT_DESC["configs"][cfg_name]
    x = tf.constant(OPT["inputs/x"])
    y = tf.constant(OPT["inputs/y"])
    w = tf.Variable(OPT["inputs/w0"], name="w")
    b = tf.Variable(OPT["inputs/b0"], name="b")
    gs = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")
    loss = tf.reduce_mean(tf.square(tf.matmul(x, w) + b - y))
    hp = dict(cfg["hyperparameters"])
    if "global_step" in hp:
        hp["global_step"] = gs
    opt = getattr(tf.train, cfg["class"].rsplit(".", 1)[1])(**hp)
    norm = None
    if "clip" in cfg:
        gv = opt.compute_gradients(loss)
        clipped, norm = tf.clip_by_global_norm([g for g, _ in gv], cfg["clip"]["clip_norm"])
        train_op = opt.apply_gradients(list(zip(clipped, [v for _, v in gv])), global_step=gs)
    else:
        train_op = opt.minimize(loss, global_step=gs)
    return dict(w=w, b=b, gs=gs, loss=loss, opt=opt, train_op=train_op, norm=norm)


@pytest.mark.parametrize("cfg_name", sorted(OPT_DESC["configs"]))
def test_golden_trajectory(cfg_name):
    m = build_golden_model(cfg_name)
    steps = OPT_DESC["steps"]
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for i in range(steps):
            np.testing.assert_allclose(sess.run(m["loss"]), OPT[f"{cfg_name}/loss"][i], **TOL,
                                       err_msg=f"loss before step {i}")
            if m["norm"] is not None:
                _, norm = sess.run([m["train_op"], m["norm"]])
                np.testing.assert_allclose(norm, OPT[f"{cfg_name}/global_norm"][i], **TOL)
            else:
                sess.run(m["train_op"])
            w, b, gs = sess.run([m["w"], m["b"], m["gs"]])
            np.testing.assert_allclose(w, OPT[f"{cfg_name}/w"][i], **TOL, err_msg=f"w after step {i}")
            np.testing.assert_allclose(b, OPT[f"{cfg_name}/b"][i], **TOL, err_msg=f"b after step {i}")
            assert gs == OPT[f"{cfg_name}/global_step"][i] == i + 1
        np.testing.assert_allclose(sess.run(m["loss"]), OPT[f"{cfg_name}/final_loss"], **TOL)


@pytest.mark.parametrize("scheduler", ["sync", "threads"])
def test_golden_trajectory_across_devices(scheduler):
    """Adam with the model split over two devices: several segments, run by a Dask scheduler that holds
    intermediate values between tasks (updates must not write over a value a task still holds)."""
    with tf.device("/cpu:0"):
        x, y = tf.constant(OPT["inputs/x"]), tf.constant(OPT["inputs/y"])
        w = tf.Variable(OPT["inputs/w0"], name="w")
        xw = tf.matmul(x, w)
    with tf.device("/cpu:1"):  # a second device (no GPU here: /gpu:0 would need soft placement)
        b = tf.Variable(OPT["inputs/b0"], name="b")
        loss = tf.reduce_mean(tf.square(xw + b - y))
    train = tf.train.AdamOptimizer(learning_rate=0.01).minimize(loss)
    with tf.Session(config=tf.ConfigProto(dask_scheduler=scheduler)) as sess:
        sess.run(tf.global_variables_initializer())
        for i in range(OPT_DESC["steps"]):
            w_before = sess.run(w)
            np.testing.assert_allclose(sess.run(loss), OPT["adam/loss"][i], **TOL)
            sess.run(train)
            np.testing.assert_allclose(sess.run(w), OPT["adam/w"][i], **TOL)
            np.testing.assert_allclose(sess.run(b), OPT["adam/b"][i], **TOL)
            assert not np.array_equal(w_before, sess.run(w))


SLOT_NAMES = {
    "gd": [], "momentum": ["momentum"], "momentum_nesterov": ["momentum"], "adagrad": ["accumulator"],
    "adagrad_da": ["gradient_accumulator", "gradient_squared_accumulator"],
    "adagrad_da_l1l2": ["gradient_accumulator", "gradient_squared_accumulator"],
    "adadelta": ["accum", "accum_update"], "adam": ["m", "v"], "adam_custom": ["m", "v"],
    "rmsprop": ["momentum", "rms"], "rmsprop_centered_momentum": ["mg", "momentum", "rms"],
    "ftrl": ["accum", "linear"], "ftrl_l1l2": ["accum", "linear"], "gd_clip_global_norm": [],
}
# slot values before the first step (TF1's initializers: RMSProp's rms starts at ONES)
SLOT_INIT = {"momentum": 0.0, "accumulator": 0.1, "gradient_accumulator": 0.0, "gradient_squared_accumulator": 0.1,
             "accum": 0.0, "accum_update": 0.0, "m": 0.0, "v": 0.0, "mg": 0.0, "rms": 1.0, "linear": 0.0}


@pytest.mark.parametrize("cfg_name", sorted(OPT_DESC["configs"]))
def test_slots(cfg_name):
    m = build_golden_model(cfg_name)
    opt = m["opt"]
    assert opt.get_slot_names() == SLOT_NAMES[cfg_name]
    init = dict(SLOT_INIT, accum=0.1 if cfg_name.startswith("ftrl") else 0.0)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for var in (m["w"], m["b"]):
            for name in opt.get_slot_names():
                slot = opt.get_slot(var, name)
                assert isinstance(slot, tf.Variable) and not slot.trainable
                assert slot.shape.as_list() == var.shape.as_list() and slot.dtype is var.dtype
                assert slot.op.name.startswith(var.op.name + "/" + opt.get_name())
                np.testing.assert_array_equal(sess.run(slot), np.full(var.shape.as_list(), init[name], np.float32))
            assert opt.get_slot(var, "no_such_slot") is None
        assert set(opt.variables()) >= {opt.get_slot(v, n) for v in (m["w"], m["b"]) for n in opt.get_slot_names()}
    assert all(v not in tf.trainable_variables() for v in opt.variables())


def test_slot_variable_names():
    w = tf.Variable(np.ones((3, 2), np.float32), name="w")
    opt = tf.train.AdamOptimizer()
    opt.minimize(tf.reduce_sum(w * w))
    assert opt.get_slot(w, "m").op.name == "w/Adam"
    assert opt.get_slot(w, "v").op.name == "w/Adam_1"
    assert {v.op.name for v in opt.variables()} == {"beta1_power", "beta2_power", "w/Adam", "w/Adam_1"}


def test_adam_beta_powers_and_slots_after_steps():
    """m, v and beta^t after three steps on a loss with a known gradient, against NumPy."""
    w0 = np.array([1.0, -2.0, 3.0], np.float32)
    w = tf.Variable(w0)
    lr, b1, b2, eps = 0.1, 0.8, 0.95, 1e-7
    opt = tf.train.AdamOptimizer(lr, b1, b2, eps)
    train = opt.minimize(tf.reduce_sum(w * w))  # grad = 2 w
    beta1_power, beta2_power = opt._get_beta_accumulators()
    wn, m, v = w0.astype(np.float64), np.zeros(3), np.zeros(3)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        np.testing.assert_allclose(sess.run([beta1_power, beta2_power]), [b1, b2], rtol=1e-7)
        for t in range(1, 4):
            sess.run(train)
            g = 2 * wn
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            wn = wn - lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t) * m / (np.sqrt(v) + eps)
            np.testing.assert_allclose(sess.run(opt.get_slot(w, "m")), m, rtol=1e-5)
            np.testing.assert_allclose(sess.run(opt.get_slot(w, "v")), v, rtol=1e-5)
            np.testing.assert_allclose(sess.run(w), wn, rtol=1e-5)
            np.testing.assert_allclose(sess.run([beta1_power, beta2_power]), [b1 ** (t + 1), b2 ** (t + 1)],
                                       rtol=1e-6)


# ---- the update primitives against NumPy references (float64) --------------------------------------------
def ref_momentum(var, accum, lr, grad, momentum, use_nesterov=False):
    accum = accum * momentum + grad
    return (var - (grad * lr + accum * momentum * lr) if use_nesterov else var - accum * lr), accum


def ref_adagrad(var, accum, lr, grad):
    accum = accum + grad * grad
    return var - lr * grad / np.sqrt(accum), accum


def ref_adagrad_da(var, g, gg, grad, lr, l1, l2, step):
    g, gg = g + grad, gg + grad * grad
    shrunk = np.sign(g) * np.maximum(np.abs(g) - l1 * step, 0) if l1 > 0 else g
    return -lr * shrunk / (l2 * step * lr + np.sqrt(gg)), g, gg


def ref_adadelta(var, accum, accum_update, lr, rho, eps, grad):
    accum = rho * accum + (1 - rho) * grad * grad
    update = np.sqrt(accum_update + eps) / np.sqrt(accum + eps) * grad
    return var - lr * update, accum, rho * accum_update + (1 - rho) * update * update


def ref_adam(var, m, v, b1p, b2p, lr, b1, b2, eps, grad, use_nesterov=False):
    alpha = lr * np.sqrt(1 - b2p) / (1 - b1p)
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    num = m * b1 + (1 - b1) * grad if use_nesterov else m
    return var - alpha * num / (np.sqrt(v) + eps), m, v


def ref_rms_prop(var, ms, mom, lr, rho, momentum, eps, grad):
    ms = rho * ms + (1 - rho) * grad * grad
    mom = momentum * mom + lr * grad / np.sqrt(ms + eps)
    return var - mom, ms, mom


def ref_centered_rms_prop(var, mg, ms, mom, lr, rho, momentum, eps, grad):
    ms = rho * ms + (1 - rho) * grad * grad
    mg = rho * mg + (1 - rho) * grad
    mom = momentum * mom + lr * grad / np.sqrt(ms - mg * mg + eps)
    return var - mom, mg, ms, mom


def ref_ftrl_v2(var, accum, linear, grad, lr, l1, l2, l2_shrinkage, lr_power):
    new_accum = accum + grad * grad
    linear = linear + grad + 2 * l2_shrinkage * var - (new_accum ** -lr_power - accum ** -lr_power) / lr * var
    quadratic = new_accum ** -lr_power / lr + 2 * l2
    var = np.where(np.abs(linear) > l1, (l1 * np.sign(linear) - linear) / quadratic, 0.0)
    return var, new_accum, linear


def ref_ftrl(var, accum, linear, grad, lr, l1, l2, lr_power):
    return ref_ftrl_v2(var, accum, linear, grad, lr, l1, l2, 0.0, lr_power)


def _pos(rng, shape):
    return rng.uniform(0.1, 1.0, shape)


def _zeros(rng, shape):
    return np.zeros(shape)


def _ones(rng, shape):
    return np.ones(shape)


def _signed(rng, shape):
    return rng.uniform(-1, 1, shape)


# (name, wrapper, reference, n slots, slot initializers, scalars, attrs)
PRIMITIVES = [
    ("momentum", training.apply_momentum, ref_momentum, 1, [_zeros], dict(lr=0.1, momentum=0.9), {}),
    ("momentum_nesterov", training.apply_momentum, ref_momentum, 1, [_zeros], dict(lr=0.1, momentum=0.9),
     dict(use_nesterov=True)),
    ("adagrad", training.apply_adagrad, ref_adagrad, 1, [_pos], dict(lr=0.1), {}),
    ("adagrad_da", training.apply_adagrad_da, ref_adagrad_da, 2, [_zeros, _pos],
     dict(lr=0.1, l1=0.0, l2=0.0, step=3), {}),
    ("adagrad_da_l1l2", training.apply_adagrad_da, ref_adagrad_da, 2, [_zeros, _pos],
     dict(lr=0.1, l1=0.05, l2=0.02, step=3), {}),
    ("adadelta", training.apply_adadelta, ref_adadelta, 2, [_pos, _pos], dict(lr=1.0, rho=0.95, eps=1e-6), {}),
    ("adam", training.apply_adam, ref_adam, 2, [_zeros, _pos],
     dict(b1p=0.9 ** 2, b2p=0.999 ** 2, lr=0.01, b1=0.9, b2=0.999, eps=1e-8), {}),
    ("adam_nesterov", training.apply_adam, ref_adam, 2, [_zeros, _pos],
     dict(b1p=0.9 ** 2, b2p=0.999 ** 2, lr=0.01, b1=0.9, b2=0.999, eps=1e-8), dict(use_nesterov=True)),
    ("rms_prop", training.apply_rms_prop, ref_rms_prop, 2, [_ones, _zeros],
     dict(lr=0.01, rho=0.9, momentum=0.5, eps=1e-10), {}),
    ("centered_rms_prop", training.apply_centered_rms_prop, ref_centered_rms_prop, 3,
     [lambda rng, s: rng.uniform(-0.1, 0.1, s), lambda rng, s: rng.uniform(0.5, 1.0, s), _zeros],
     dict(lr=0.01, rho=0.9, momentum=0.5, eps=1e-10), {}),
    ("ftrl", training.apply_ftrl, ref_ftrl, 2, [_pos, _signed],
     dict(lr=0.1, l1=0.05, l2=0.01, lr_power=-0.5), {}),
    ("ftrl_power", training.apply_ftrl, ref_ftrl, 2, [_pos, _signed],
     dict(lr=0.1, l1=0.05, l2=0.01, lr_power=-0.7), {}),
    ("ftrl_v2", training.apply_ftrl_v2, ref_ftrl_v2, 2, [_pos, _signed],
     dict(lr=0.1, l1=0.05, l2=0.01, l2_shrinkage=0.1, lr_power=-0.5), {}),
]
# where the gradient goes in each wrapper's argument list (TF's input order)
GRAD_POSITION = {training.apply_momentum: 3, training.apply_adagrad: 3, training.apply_adagrad_da: 3,
                 training.apply_adadelta: -1, training.apply_adam: -1, training.apply_rms_prop: -1,
                 training.apply_centered_rms_prop: -1, training.apply_ftrl: 3, training.apply_ftrl_v2: 3}


def _primitive_case(row, dtype, shape=(4, 3), seed=0):
    name, fn, ref, n_slots, inits, scalars, attrs = row
    rng = np.random.default_rng(seed)
    var0 = rng.uniform(-1, 1, shape).astype(dtype)
    slots0 = [np.asarray(init(rng, shape)).astype(dtype) for init in inits]
    grads = [rng.uniform(-1, 1, shape).astype(dtype) for _ in range(3)]
    return var0, slots0, grads


def _build_primitive(row, var0, slots0, dtype):
    name, fn, ref, n_slots, inits, scalars, attrs = row
    var = tf.Variable(var0)
    slots = [tf.Variable(s) for s in slots0]
    grad = tf.placeholder(tf.as_dtype(dtype), var0.shape)
    values = [tf.constant(np.asarray(v, dtype)) if k != "step" else tf.constant(np.int64(v))
              for k, v in scalars.items()]
    args = [var, *slots] + values
    pos = GRAD_POSITION[fn]
    args.insert(len(args) if pos == -1 else pos, grad)
    return var, slots, grad, fn(*args, **attrs)


def _ref_step(row, var, slots, g):
    name, fn, ref, n_slots, inits, scalars, attrs = row
    vals = list(scalars.values())
    args = [var, *slots] + vals
    pos = GRAD_POSITION[fn]
    args.insert(len(args) if pos == -1 else pos, g)
    out = ref(*args, **attrs)
    return out[0], list(out[1:])


@pytest.mark.parametrize("row", PRIMITIVES, ids=[r[0] for r in PRIMITIVES])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("hold", [False, True], ids=["reuse", "held"])
def test_primitive_vs_numpy(row, dtype, hold):
    """Three steps of each Apply* op against its NumPy reference. ``held``: the caller keeps every value the
    runs return (the Apply op's output is the variable's array itself), so the kernel must not write over
    them: they stay as they were, and the update takes fresh arrays."""
    var0, slots0, grads = _primitive_case(row, dtype)
    var, slots, grad, update = _build_primitive(row, var0, slots0, dtype)
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-5, atol=2e-6)
    ref_var, ref_slots = var0.astype(np.float64), [s.astype(np.float64) for s in slots0]
    held = []
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for g in grads:
            out = sess.run(update, {grad: g})
            if hold:
                held.append((out, out.copy()))
            assert out.dtype == dtype and out.shape == var0.shape
            ref_var, ref_slots = _ref_step(row, ref_var, ref_slots, g.astype(np.float64))
            np.testing.assert_allclose(out, ref_var, **tol)
            np.testing.assert_allclose(sess.run(var), ref_var, **tol)
            for s, r in zip(slots, ref_slots):
                np.testing.assert_allclose(sess.run(s), r, **tol)
    for out, copy in held:
        np.testing.assert_array_equal(out, copy)


@pytest.mark.parametrize("row", PRIMITIVES, ids=[r[0] for r in PRIMITIVES])
def test_primitive_scalar_variable(row):
    """0-d variables (NumPy hands back scalars for 0-d arithmetic)."""
    var0, slots0, grads = _primitive_case(row, np.float64, shape=())
    var, slots, grad, update = _build_primitive(row, var0, slots0, np.float64)
    ref_var, ref_slots = var0, slots0
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for g in grads:
            sess.run(update, {grad: g})
            ref_var, ref_slots = _ref_step(row, ref_var, ref_slots, g)
            np.testing.assert_allclose(sess.run(var), ref_var, rtol=1e-12)


def test_primitive_shape_and_dtype_checks():
    v = tf.Variable(np.zeros((3, 2), np.float32))
    acc = tf.Variable(np.zeros((3, 2), np.float32))
    with pytest.raises(ValueError, match="same shape|shape"):
        training.apply_momentum(v, acc, 0.1, np.zeros((2, 3), np.float32), 0.9)
    with pytest.raises(ValueError, match="scalar"):
        training.apply_momentum(v, acc, np.ones(2, np.float32), np.zeros((3, 2), np.float32), 0.9)
    with pytest.raises((TypeError, ValueError)):
        training.apply_momentum(v, acc, 0.1, tf.constant(np.zeros((3, 2), np.float64)), 0.9)
    g = tf.placeholder(tf.float32)  # unknown shape: checked when it runs
    op = training.apply_gradient_descent(v, 0.1, g)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        with pytest.raises(tf.errors.InvalidArgumentError, match="same shape"):
            sess.run(op, {g: np.zeros(2, np.float32)})


def test_update_does_not_touch_values_the_run_still_reads():
    """A read of the variable fetched in the same run as its update keeps the old value."""
    w = tf.Variable(np.arange(4.0, dtype=np.float32))
    read = w.read_value()
    with tf.control_dependencies([read]):
        update = training.apply_gradient_descent(w, 1.0, tf.ones([4]))
    with tf.Session() as sess:
        sess.run(w.initializer)
        before, after = sess.run([read, update])
        np.testing.assert_array_equal(before, np.arange(4.0))
        np.testing.assert_array_equal(after, np.arange(4.0) - 1)


# ---- every optimizer: dtypes, scalar variables, tensor learning rates ----------------------------------------
def _optimizers(gs):
    return {
        "gd": tf.train.GradientDescentOptimizer(0.1),
        "momentum": tf.train.MomentumOptimizer(0.1, 0.9),
        "adagrad": tf.train.AdagradOptimizer(0.1),
        "adagrad_da": tf.train.AdagradDAOptimizer(0.1, gs, l1_regularization_strength=0.001),
        "adadelta": tf.train.AdadeltaOptimizer(1.0),
        "adam": tf.train.AdamOptimizer(0.1),
        "rmsprop": tf.train.RMSPropOptimizer(0.01, momentum=0.5, centered=True),
        "ftrl": tf.train.FtrlOptimizer(0.1, l2_shrinkage_regularization_strength=0.01, beta=0.1),
    }


@pytest.mark.parametrize("name", ["gd", "momentum", "adagrad", "adagrad_da", "adadelta", "adam", "rmsprop", "ftrl"])
@pytest.mark.parametrize("dtype", [tf.float32, tf.float64])
def test_optimizer_reduces_loss(name, dtype):
    gs = tf.train.get_or_create_global_step()
    w = tf.Variable(np.array([1.5, -2.0], dtype.as_numpy_dtype))
    s = tf.Variable(np.array(0.7, dtype.as_numpy_dtype))  # a 0-d variable
    loss = tf.reduce_sum(tf.square(w - 0.5)) + tf.square(s + 1.0)
    train = _optimizers(gs)[name].minimize(loss, global_step=gs)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        first = sess.run(loss)
        for _ in range(20):
            sess.run(train)
        assert sess.run(loss) < first
        assert sess.run(gs) == 20
        assert sess.run(w).dtype == dtype.as_numpy_dtype


@pytest.mark.parametrize("name", ["gd", "momentum", "adagrad", "adagrad_da", "adadelta", "adam", "rmsprop", "ftrl"])
def test_constraint_projects_the_variable_after_each_update(name):
    """TF1's optimizers run ``v.assign(v.constraint(v))`` after the update of a variable with a constraint."""
    bound = 1e-4

    def clip(v):
        return tf.clip_by_value(v, -bound, bound)

    gs = tf.train.get_or_create_global_step()
    w = tf.Variable(np.zeros(3, np.float32), constraint=clip)
    u = tf.Variable(np.zeros(3, np.float32))  # the same first update, no constraint
    push = tf.constant([-50.0, 0.0, 50.0])
    train = _optimizers(gs)[name].minimize(tf.reduce_sum(w * push) + tf.reduce_sum(u * push), global_step=gs)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(train)
        wv, uv = sess.run([w, u])
        assert uv[0] > bound and uv[2] < -bound  # the update alone goes past the bounds
        np.testing.assert_allclose(wv, np.clip(uv, -bound, bound))  # the projection saw the updated value
        for _ in range(3):
            sess.run(train)
            assert np.all(np.abs(sess.run(w)) <= bound)


def test_global_step_increments_only_when_given():
    gs = tf.train.get_or_create_global_step()
    w = tf.Variable(1.0)
    with_step = tf.train.MomentumOptimizer(0.1, 0.9).minimize(tf.square(w), global_step=gs)
    without = tf.train.MomentumOptimizer(0.1, 0.9).minimize(tf.square(w))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for i in range(1, 4):
            sess.run(with_step)
            assert sess.run(gs) == i and tf.train.global_step(sess, gs) == i
        sess.run(without)
        assert sess.run(gs) == 3
    assert gs.dtype is tf.int64
    assert with_step in tf.get_collection(tf.GraphKeys.TRAIN_OP)


def test_learning_rate_schedule_drives_optimizer():
    """GD with lr = exponential_decay(global_step): each step uses the rate of the step being taken."""
    gs = tf.train.get_or_create_global_step()
    w = tf.Variable(np.array([1.0, -1.0], np.float32))
    lr = tf.train.exponential_decay(0.5, gs, 2, 0.5, staircase=True)
    train = tf.train.GradientDescentOptimizer(lr).minimize(tf.reduce_sum(w * w), global_step=gs)
    wn = np.array([1.0, -1.0])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for step in range(6):
            sess.run(train)
            wn = wn - 0.5 * 0.5 ** (step // 2) * 2 * wn
            np.testing.assert_allclose(sess.run(w), wn, rtol=1e-6)


def test_callable_hyperparameters():
    w = tf.Variable(np.array([1.0, 2.0], np.float32))
    train = tf.train.AdamOptimizer(lambda: 0.1, beta1=lambda: 0.9).minimize(tf.reduce_sum(w * w))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(train)
        np.testing.assert_allclose(sess.run(w), [0.9, 1.9], rtol=1e-5)  # Adam's first step is lr * sign(g)


def test_constructor_checks():
    with pytest.raises(ValueError):
        tf.train.AdagradOptimizer(0.1, initial_accumulator_value=0.0)
    with pytest.raises(ValueError):
        tf.train.FtrlOptimizer(0.1, learning_rate_power=0.5)
    with pytest.raises(ValueError):
        tf.train.FtrlOptimizer(0.1, l1_regularization_strength=-1.0)
    with pytest.raises(ValueError):
        tf.train.AdagradDAOptimizer(0.1, None, initial_gradient_squared_accumulator_value=0.0)


# ---- learning-rate schedules vs schedules.json ---------------------------------------------------------------
def _schedule(name, step):
    t = tf.train
    return {
        "exponential_decay": lambda: t.exponential_decay(0.1, step, 10, 0.96, staircase=False),
        "exponential_decay_staircase": lambda: t.exponential_decay(0.1, step, 10, 0.96, staircase=True),
        "piecewise_constant": lambda: t.piecewise_constant(step, [5, 10], [1.0, 0.5, 0.1]),
        "polynomial_decay_p1": lambda: t.polynomial_decay(0.1, step, 20, end_learning_rate=0.01, power=1.0),
        "polynomial_decay_p2": lambda: t.polynomial_decay(0.1, step, 20, end_learning_rate=0.01, power=2.0),
        "polynomial_decay_p1_cycle": lambda: t.polynomial_decay(0.1, step, 20, end_learning_rate=0.01, power=1.0,
                                                                cycle=True),
        "polynomial_decay_p2_cycle": lambda: t.polynomial_decay(0.1, step, 20, end_learning_rate=0.01, power=2.0,
                                                                cycle=True),
    }[name]()


@pytest.mark.parametrize("name", sorted(SCHEDULES["schedules"]))
def test_schedule_golden(name):
    spec = SCHEDULES["schedules"][name]
    step = tf.placeholder(tf.int64, [])
    lr = _schedule(name, step)
    assert lr.dtype is tf.as_dtype(spec["dtype"]) and lr.shape.ndims == 0
    with tf.Session() as sess:
        got = [sess.run(lr, {step: s}) for s in SCHEDULES["steps"]]
    np.testing.assert_allclose(got, spec["values"], rtol=1e-6, atol=1e-8)


def test_other_schedules_vs_numpy():
    step = tf.placeholder(tf.int64, [])
    cases = [
        (tf.train.inverse_time_decay(0.1, step, 10, 0.5), lambda s: 0.1 / (1 + 0.5 * s / 10)),
        (tf.train.inverse_time_decay(0.1, step, 10, 0.5, staircase=True), lambda s: 0.1 / (1 + 0.5 * (s // 10))),
        (tf.train.natural_exp_decay(0.1, step, 10, 0.5), lambda s: 0.1 * np.exp(-0.5 * s / 10)),
        (tf.train.natural_exp_decay(0.1, step, 10, 0.5, staircase=True), lambda s: 0.1 * np.exp(-0.5 * (s // 10))),
        (tf.train.cosine_decay(0.1, step, 20, alpha=0.1),
         lambda s: 0.1 * (0.9 * 0.5 * (1 + np.cos(np.pi * min(s, 20) / 20)) + 0.1)),
    ]
    with tf.Session() as sess:
        for t, ref in cases:
            for s in (0, 3, 10, 17, 25):
                np.testing.assert_allclose(sess.run(t, {step: s}), ref(s), rtol=1e-5)


def test_schedule_argument_checks():
    with pytest.raises(ValueError, match="global_step is required"):
        tf.train.exponential_decay(0.1, None, 10, 0.9)
    with pytest.raises(ValueError, match="global_step is required"):
        tf.train.polynomial_decay(0.1, None, 10)
    with pytest.raises(ValueError, match="1 less"):
        tf.train.piecewise_constant(tf.constant(1), [1, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="same dtype"):
        tf.train.piecewise_constant(tf.constant(1), [1], [tf.constant(0.1), tf.constant(1, tf.int32)])


def test_piecewise_constant_float_step_and_tensor_values():
    x = tf.placeholder(tf.float32, [])
    lr = tf.train.piecewise_constant(x, [1.5, 2.5], [tf.constant(3), tf.constant(2), tf.constant(1)])
    with tf.Session() as sess:
        assert [sess.run(lr, {x: v}) for v in (0.0, 1.5, 2.0, 2.5, 3.0)] == [3, 3, 2, 2, 1]


# ---- clipping vs NumPy ------------------------------------------------------------------------------------------
def test_clip_by_value():
    rng = np.random.default_rng(0)
    a = rng.uniform(-2, 2, (4, 5)).astype(np.float32)
    lo = rng.uniform(-1, 0, (1, 5)).astype(np.float32)
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(tf.clip_by_value(a, -0.5, 0.7)), np.clip(a, -0.5, 0.7))
        np.testing.assert_array_equal(sess.run(tf.clip_by_value(a, lo, 1.0)), np.clip(a, lo, 1.0))
    with pytest.raises(ValueError):
        tf.clip_by_value(tf.constant([1.0, 2.0]), -1.0, tf.constant([[1.0, 2.0], [3.0, 4.0]]))


def test_clip_by_norm():
    rng = np.random.default_rng(1)
    a = rng.uniform(-2, 2, (4, 5))
    norm = np.sqrt((a * a).sum())
    rows = np.sqrt((a * a).sum(axis=1, keepdims=True))
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(tf.clip_by_norm(a, 1.0)), a / norm, rtol=1e-12)
        np.testing.assert_allclose(sess.run(tf.clip_by_norm(a, 100.0)), a, rtol=1e-12)
        np.testing.assert_allclose(sess.run(tf.clip_by_norm(a, 1.5, axes=[1])), a * 1.5 / np.maximum(rows, 1.5),
                                   rtol=1e-12)
        np.testing.assert_array_equal(sess.run(tf.clip_by_norm(np.zeros(3), 1.0)), np.zeros(3))


def test_global_norm_and_clip_by_global_norm():
    rng = np.random.default_rng(2)
    arrays = [rng.uniform(-1, 1, s) for s in ((3, 2), (2,), (4, 1, 2))]
    norm = np.sqrt(sum((x * x).sum() for x in arrays))
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(tf.global_norm(arrays)), norm, rtol=1e-12)
        np.testing.assert_allclose(sess.run(tf.global_norm([arrays[0], None])), np.sqrt((arrays[0] ** 2).sum()))
        clipped, n = tf.clip_by_global_norm([arrays[0], None, arrays[1], arrays[2]], 1.0)
        assert clipped[1] is None
        got = sess.run([clipped[0], clipped[2], clipped[3], n])
        np.testing.assert_allclose(got[3], norm, rtol=1e-12)
        for g, x in zip(got[:3], arrays):
            np.testing.assert_allclose(g, x / norm, rtol=1e-12)
        unclipped, n2 = tf.clip_by_global_norm(arrays, 10.0)  # norm below clip_norm: unchanged
        got = sess.run(unclipped + [n2])
        for g, x in zip(got, arrays):
            np.testing.assert_allclose(g, x, rtol=1e-12)
        # use_norm replaces the computed norm; an infinite norm makes everything NaN (TF's rule)
        used, n3 = tf.clip_by_global_norm(arrays[:1], 1.0, use_norm=tf.constant(4.0, tf.float64))
        np.testing.assert_allclose(sess.run(used[0]), arrays[0] / 4.0)
        assert sess.run(n3) == 4.0
        nan, _ = tf.clip_by_global_norm(arrays[:1], 1.0, use_norm=tf.constant(np.inf, tf.float64))
        assert np.isnan(sess.run(nan[0])).all()
    with pytest.raises(TypeError):
        tf.clip_by_global_norm(tf.constant([1.0]), 1.0)


def test_clip_by_average_norm():
    a = np.array([[3.0, 4.0], [0.0, 0.0]])
    with tf.Session() as sess:
        # average norm = 5 / 4 = 1.25
        np.testing.assert_allclose(sess.run(tf.clip_by_average_norm(a, 0.5)), a * 0.5 / 1.25)
        np.testing.assert_allclose(sess.run(tf.clip_by_average_norm(a, 2.0)), a)


def _central_difference_check(build, x0, seed=0, eps=1e-6):
    """d(sum(f(x) * r))/dx from tf.gradients against central differences along a random direction."""
    rng = np.random.default_rng(seed)
    x = tf.placeholder(tf.float64, x0.shape)
    y = build(x)
    r = rng.standard_normal(y.shape.as_list())
    loss = tf.reduce_sum(y * r)
    (g,) = tf.gradients(loss, x)
    d = rng.standard_normal(x0.shape)
    with tf.Session() as sess:
        analytic = float((sess.run(g, {x: x0}) * d).sum())
        numeric = (sess.run(loss, {x: x0 + eps * d}) - sess.run(loss, {x: x0 - eps * d})) / (2 * eps)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


def test_clip_gradients_central_differences():
    rng = np.random.default_rng(3)
    x0 = rng.uniform(-2, 2, (3, 4))
    x0[np.abs(np.abs(x0) - 1.0) < 0.05] = 0.3  # keep away from the kinks at +-1
    _central_difference_check(lambda x: tf.clip_by_value(x, -1.0, 1.0), x0)
    _central_difference_check(lambda x: tf.clip_by_norm(x, 1.0), x0)          # clipping: through the norm
    _central_difference_check(lambda x: tf.clip_by_norm(x, 100.0), x0)        # not clipping: identity
    _central_difference_check(lambda x: tf.clip_by_norm(x, 1.0, axes=[0]), x0)
    _central_difference_check(lambda x: tf.clip_by_global_norm([x, 2 * x], 1.0)[0][1], x0)


def test_clip_by_value_gradient_is_masked():
    x = tf.constant([-2.0, 0.5, 2.0])
    (g,) = tf.gradients(tf.reduce_sum(tf.clip_by_value(x, -1.0, 1.0)), x)
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(g), [0.0, 1.0, 0.0])


# ---- the MLP golden runs (Adam + softmax CE, GD + sparse softmax CE) ---------------------------------------------
@pytest.mark.parametrize("run", ["mlp_adam", "mlp_sgd_sparse"])
def test_mlp_golden(run):
    gold = np.load(os.path.join(GOLDEN, "mlp.npz"))
    X = tf.constant(gold["data/X"])
    labels = tf.constant(gold["data/labels"])
    params = {k: tf.Variable(gold[f"init/{k}"], name=k) for k in ("W1", "b1", "W2", "b2")}
    h = tf.nn.relu(tf.matmul(X, params["W1"]) + params["b1"])
    logits = tf.matmul(h, params["W2"]) + params["b2"]
    if run == "mlp_adam":
        loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=tf.one_hot(labels, 4), logits=logits))
        train = tf.train.AdamOptimizer(0.01).minimize(loss)
    else:
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
        train = tf.train.GradientDescentOptimizer(0.5).minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        losses = []
        for _ in range(len(gold[f"{run}/loss"])):
            losses.append(sess.run(loss))
            sess.run(train)
        np.testing.assert_allclose(losses, gold[f"{run}/loss"], **TOL)
        np.testing.assert_allclose(sess.run(loss), gold[f"{run}/final_loss"], **TOL)
        for k, v in params.items():
            np.testing.assert_allclose(sess.run(v), gold[f"{run}/{k}"], **TOL, err_msg=k)


def test_adam_on_a_large_variable_takes_the_chunked_path_and_matches_the_whole_array_update(monkeypatch):
    """Variables from ``_BLOCKED_FROM`` elements update in cache-sized blocks, from ``_CHUNK_MIN`` on a
    thread pool when DATAFLOW_NUM_THREADS allows (set to 2 here); the arithmetic is elementwise, so the
    result must equal the single-pass update bit for bit."""
    import dataflow.ops.parallel as parallel
    import dataflow.ops.training as training

    monkeypatch.setattr(parallel, "WORKERS", 2)
    rng = np.random.default_rng(0)
    n = training._CHUNK_MIN + 12345  # not a multiple of the block size
    w0 = rng.standard_normal(n).astype(np.float32)
    grads = [rng.standard_normal(n).astype(np.float32) for _ in range(3)]

    def run(chunk_min, blocked_from):
        saved = training._CHUNK_MIN, training._BLOCKED_FROM
        training._CHUNK_MIN, training._BLOCKED_FROM = chunk_min, blocked_from
        try:
            g = tf.Graph()
            with g.as_default():
                w = tf.Variable(w0)
                gp = tf.placeholder(tf.float32, [n])
                train = tf.train.AdamOptimizer(0.01).apply_gradients([(gp, w)])
                init = tf.global_variables_initializer()
            with tf.Session(graph=g) as sess:
                sess.run(init)
                for gr in grads:
                    sess.run(train, {gp: gr})
                return sess.run(w)
        finally:
            training._CHUNK_MIN, training._BLOCKED_FROM = saved

    chunked = run(training._CHUNK_MIN, training._BLOCKED_FROM)
    blocked = run(1 << 62, training._BLOCKED_FROM)  # cache-sized blocks, one thread
    whole = run(1 << 62, 1 << 62)  # one pass per step over the whole array
    np.testing.assert_array_equal(blocked, whole)
    np.testing.assert_array_equal(chunked, whole)
    assert not np.array_equal(chunked, w0)
