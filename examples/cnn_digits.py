"""A convolutional network on scikit-learn's 8x8 handwritten digits (offline, ships with sklearn).

conv 5x5 + relu + max_pool, twice, dense, dropout, softmax; Adam. Reaches >= 97% test accuracy.
Run: pip install -e ".[examples]" && python examples/cnn_digits.py [--device /device:OPENCL:0] [--epochs 40]
(``--device`` places the model and its training step on that device; ops without a kernel there run on
the CPU: soft placement.)
"""

import argparse
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import dataflow as tf

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--device", default=None, help="e.g. /device:OPENCL:0 (default: the CPU)")
parser.add_argument("--epochs", type=int, default=40)
args = parser.parse_args()

digits = load_digits()
images = (digits.images / 16.0).astype(np.float32)[..., None]  # (1797, 8, 8, 1) in [0, 1]
x_train, x_test, y_train, y_test = train_test_split(images, digits.target.astype(np.int64), test_size=0.2,
                                                    random_state=0, stratify=digits.target)

tf.set_random_seed(0)
with tf.device(args.device):  # the model and its training step on --device
    x = tf.placeholder(tf.float32, [None, 8, 8, 1], name="x")
    y = tf.placeholder(tf.int64, [None], name="y")
    training = tf.placeholder_with_default(False, [], name="training")

    net = tf.layers.conv2d(x, 32, 5, padding="same", activation=tf.nn.relu)
    net = tf.layers.max_pooling2d(net, 2, 2)                                  # 4x4x32
    net = tf.layers.conv2d(net, 64, 5, padding="same", activation=tf.nn.relu)
    net = tf.layers.max_pooling2d(net, 2, 2)                                  # 2x2x64
    net = tf.layers.flatten(net)
    net = tf.layers.dense(net, 256, activation=tf.nn.relu)
    net = tf.layers.dropout(net, rate=0.4, training=training)
    logits = tf.layers.dense(net, 10)

    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
    accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1), y), tf.float32))
    global_step = tf.train.get_or_create_global_step()
    train_op = tf.train.AdamOptimizer(1e-3).minimize(loss, global_step=global_step)

batch_size, epochs = 64, args.epochs
rng = np.random.default_rng(0)
with tf.Session(config=tf.ConfigProto(allow_soft_placement=True)) as sess:
    sess.run(tf.global_variables_initializer())
    start = time.perf_counter()
    steps = 0
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(x_train))
        for i in range(0, len(order), batch_size):
            idx = order[i:i + batch_size]
            _, batch_loss = sess.run([train_op, loss], {x: x_train[idx], y: y_train[idx], training: True})
            steps += 1
        if epoch % 5 == 0 or epoch == epochs:
            acc = sess.run(accuracy, {x: x_test, y: y_test})
            rate = steps / (time.perf_counter() - start)
            print(f"epoch {epoch:3d}  step {steps:5d}  loss {batch_loss:.4f}  test accuracy {acc:.4f}  "
                  f"{rate:.0f} steps/s")
    final = sess.run(accuracy, {x: x_test, y: y_test})
    print(f"final test accuracy: {final:.4f} after {steps} steps in {time.perf_counter() - start:.1f} s")
