"""A convolutional network on scikit-learn's 8x8 handwritten digits (offline, ships with sklearn).

conv 5x5 + relu + max_pool, twice, dense, dropout, softmax; Adam. Reaches >= 97% test accuracy.
Run: pip install -e ".[examples]" && python examples/cnn_digits.py

:func:`build_model` is the model alone, on any image and label tensors (examples/digits_pipeline.py
feeds it from a tf.data pipeline over TFRecord shards).
"""

import time

import numpy as np

import dataflow as tf


def build_model(x, y, training, learning_rate=1e-3) -> dict:
    """The CNN on ``x`` ([N, 8, 8, 1] float32 in [0, 1]) and ``y`` ([N] int64 labels).

    Returns a dict of ``logits``, ``loss``, ``accuracy``, ``train_op`` (Adam) and ``global_step``;
    ``training`` (a bool tensor) switches dropout on.
    """
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
    train_op = tf.train.AdamOptimizer(learning_rate).minimize(loss, global_step=global_step)
    return {"logits": logits, "loss": loss, "accuracy": accuracy, "train_op": train_op, "global_step": global_step}


def main():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[..., None]  # (1797, 8, 8, 1) in [0, 1]
    x_train, x_test, y_train, y_test = train_test_split(images, digits.target.astype(np.int64), test_size=0.2,
                                                        random_state=0, stratify=digits.target)

    tf.set_random_seed(0)
    x = tf.placeholder(tf.float32, [None, 8, 8, 1], name="x")
    y = tf.placeholder(tf.int64, [None], name="y")
    training = tf.placeholder_with_default(False, [], name="training")
    model = build_model(x, y, training)
    train_op, loss, accuracy = model["train_op"], model["loss"], model["accuracy"]

    batch_size, epochs = 64, 40
    rng = np.random.default_rng(0)
    with tf.Session() as sess:
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


if __name__ == "__main__":
    main()
