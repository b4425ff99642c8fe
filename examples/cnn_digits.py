"""A convolutional network on scikit-learn's 8x8 handwritten digits (offline, ships with sklearn).

conv 5x5 + relu + max_pool, twice, dense, dropout, softmax; Adam. Reaches >= 97% test accuracy.
Run: pip install -e ".[examples]" && python examples/cnn_digits.py [--device /device:OPENCL:0] [--epochs 40]
(``--device`` places the model and its training step on that device; ops without a kernel there run on
the CPU: soft placement.)

:func:`build_model` is the model alone, on any image and label tensors (examples/digits_pipeline.py
feeds it from a tf.data pipeline over TFRecord shards).

With ``--logdir DIR`` (a local path or an fsspec URL) it trains under ``tf.train.MonitoredTrainingSession``:
a checkpoint every ``--checkpoint-steps`` steps (and at the end), summaries of the loss and the batch
accuracy every 10 steps, the test accuracy as ``eval`` summaries, and the graph, all in DIR; killed and
started again, it resumes at its last checkpoint. Watch it with ``tensorboard --logdir DIR``.
"""

import argparse
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


def main(argv=None):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", help="checkpoints and TensorBoard summaries go here (resumes from it)")
    parser.add_argument("--checkpoint-steps", type=int, default=100, help="steps between checkpoints")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--device", default=None, help="e.g. /device:OPENCL:0 (default: the CPU)")
    args = parser.parse_args(argv)

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[..., None]  # (1797, 8, 8, 1) in [0, 1]
    x_train, x_test, y_train, y_test = train_test_split(images, digits.target.astype(np.int64), test_size=0.2,
                                                        random_state=0, stratify=digits.target)

    tf.set_random_seed(0)
    with tf.device(args.device):  # the model and its training step on --device
        x = tf.placeholder(tf.float32, [None, 8, 8, 1], name="x")
        y = tf.placeholder(tf.int64, [None], name="y")
        training = tf.placeholder_with_default(False, [], name="training")
        model = build_model(x, y, training)
    config = tf.ConfigProto(allow_soft_placement=True)
    train_op, loss, accuracy, global_step = (model["train_op"], model["loss"], model["accuracy"],
                                             model["global_step"])

    batch_size, epochs = 64, args.epochs
    steps_per_epoch = -(-len(x_train) // batch_size)
    test_feed = {x: x_test, y: y_test}
    if args.logdir:
        tf.summary.scalar("loss", loss)
        tf.summary.scalar("accuracy", accuracy)
        eval_summary = tf.summary.scalar("eval/accuracy", accuracy, collections=[])
        eval_writer = tf.summary.FileWriter(args.logdir.rstrip("/") + "/eval")
        sess = tf.train.MonitoredTrainingSession(
            checkpoint_dir=args.logdir, save_checkpoint_steps=args.checkpoint_steps, save_summaries_steps=10, config=config,
            hooks=[tf.train.StopAtStepHook(last_step=epochs * steps_per_epoch)])

        def evaluate(step):  # outside the hooks: no training summaries of the test set
            acc, summary = sess.run_step_fn(lambda ctx: ctx.session.run([accuracy, eval_summary], test_feed))
            eval_writer.add_summary(summary, step)
            return acc

        steps = sess.run_step_fn(lambda ctx: int(ctx.session.run(global_step)))  # > 0 when resuming
    else:
        sess = tf.Session(config=config)
        sess.run(tf.global_variables_initializer())
        steps = 0

        def evaluate(step):
            return sess.run(accuracy, test_feed)

    rng = np.random.default_rng(0)
    with sess:
        start, first, acc = time.perf_counter(), steps, None
        for epoch in range(1, epochs + 1):
            order = rng.permutation(len(x_train))
            if epoch <= steps // steps_per_epoch:
                continue  # done before a restart (same shuffles: the generator is advanced all the same)
            for i in range((steps % steps_per_epoch) * batch_size if epoch == steps // steps_per_epoch + 1 else 0,
                           len(order), batch_size):
                idx = order[i:i + batch_size]
                _, batch_loss = sess.run([train_op, loss], {x: x_train[idx], y: y_train[idx], training: True})
                steps += 1
            if epoch % 5 == 0 or epoch == epochs:
                acc = evaluate(steps)
                rate = (steps - first) / (time.perf_counter() - start)
                print(f"epoch {epoch:3d}  step {steps:5d}  loss {batch_loss:.4f}  test accuracy {acc:.4f}  "
                      f"{rate:.0f} steps/s")
        final = acc if acc is not None else evaluate(steps)  # the last epoch was just evaluated
        print(f"final test accuracy: {final:.4f} after {steps} steps in {time.perf_counter() - start:.1f} s")
    if args.logdir:
        eval_writer.close()
        tf.summary.FileWriterCache.clear()


if __name__ == "__main__":
    main()
