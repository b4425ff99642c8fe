"""End to end: scikit-learn's digits as TFRecord shards, a tf.data input pipeline, the CNN, evaluation.

1. The preprocessing job (``pipelines.preprocess.write_digits_shards``, a Dask job) writes the 1797
   digits as 8 TFRecord shards of ``tf.train.Example`` (``image_raw``: 64 uint8 bytes, ``label``).
2. Training reads shards 0-5 with tf.data: ``TFRecordDataset -> shuffle -> batch -> map(parse_example)
   -> prefetch``, one initializable iterator pass per epoch; the model is examples/cnn_digits.py's.
3. Shards 6-7 are held out: a second dataset on the same (reinitializable) iterator evaluates them.

Run: ``python examples/digits_pipeline.py`` (``--data memory://digits``, the default, keeps the shards in
memory; ``--data /some/dir`` or any fsspec URL writes them there). ``--epochs N`` shortens the run.
``--logdir DIR`` (a folder or fsspec URL) keeps a checkpoint after every evaluation and TensorBoard
summaries (the graph, the training loss every 10 steps, the held-out accuracy); run again with the same
DIR and training resumes from the last checkpoint. Watch it with ``tensorboard --logdir DIR``.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import dataflow as tf  # noqa: E402
from cnn_digits import build_model  # noqa: E402
from pipelines.preprocess import write_digits_shards  # noqa: E402

FEATURES = {"image_raw": tf.FixedLenFeature([], tf.string), "label": tf.FixedLenFeature([], tf.int64)}


def parse(serialized):
    """A batch of serialized Examples -> (images [N, 8, 8, 1] in [0, 1], labels [N])."""
    parsed = tf.parse_example(serialized, FEATURES)
    pixels = tf.decode_raw(parsed["image_raw"], tf.uint8)
    images = tf.reshape(tf.cast(pixels, tf.float32) / 16.0, [-1, 8, 8, 1])
    return images, parsed["label"]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="memory://digits", help="a directory or fsspec URL for the shards")
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--eval-every", type=int, default=5)
    p.add_argument("--logdir", help="checkpoints and TensorBoard summaries (resumes from its last checkpoint)")
    args = p.parse_args(argv)

    start = time.perf_counter()
    shards = write_digits_shards(args.data, num_shards=8)
    print(f"wrote {len(shards)} shards to {args.data} in {time.perf_counter() - start:.1f} s")
    train_files, test_files = shards[:6], shards[6:]

    tf.set_random_seed(0)
    train = (tf.data.TFRecordDataset(train_files).shuffle(2000, seed=0).batch(args.batch_size).map(parse)
             .prefetch(2))
    test = tf.data.TFRecordDataset(test_files).batch(512).map(parse)
    iterator = tf.data.Iterator.from_structure(train.output_types, train.output_shapes)
    x, y = iterator.get_next()
    init_train, init_test = iterator.make_initializer(train), iterator.make_initializer(test)
    training = tf.placeholder_with_default(False, [], name="training")
    model = build_model(x, y, training)
    correct = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(model["logits"], 1), y), tf.int64))
    count = tf.shape(y)[0]
    epochs_done = tf.Variable(0, trainable=False, name="epochs_done", dtype=tf.int64)
    finish_epoch = tf.assign_add(epochs_done, 1)
    loss_summary = tf.summary.scalar("loss", model["loss"])
    held_out = tf.placeholder(tf.float32, [], name="held_out_value")
    accuracy_summary = tf.summary.scalar("held_out_accuracy", held_out)
    saver = tf.train.Saver(max_to_keep=3)

    def evaluate(sess):
        sess.run(init_test)
        right = total = 0
        try:
            while True:
                c, n = sess.run([correct, count])
                right, total = right + c, total + n
        except tf.errors.OutOfRangeError:
            return right / total

    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        first, writer = 1, None
        if args.logdir:
            writer = tf.summary.FileWriter(args.logdir, sess.graph)
            last = tf.train.latest_checkpoint(args.logdir)
            if last:
                saver.restore(sess, last)
                first = int(sess.run(epochs_done)) + 1
                print(f"resumed from {last} at epoch {first}")
        start, steps, loss = time.perf_counter(), 0, float("nan")
        for epoch in range(first, args.epochs + 1):
            sess.run(init_train)
            try:
                while True:
                    if writer is not None and steps % 10 == 0:
                        _, loss, summary, step = sess.run([model["train_op"], model["loss"], loss_summary,
                                                           model["global_step"]], {training: True})
                        writer.add_summary(summary, step)
                    else:
                        _, loss = sess.run([model["train_op"], model["loss"]], {training: True})
                    steps += 1
            except tf.errors.OutOfRangeError:
                pass
            sess.run(finish_epoch)
            if epoch % args.eval_every == 0 or epoch == args.epochs:
                rate = steps / (time.perf_counter() - start)
                accuracy = evaluate(sess)
                print(f"epoch {epoch:3d}  step {steps:5d}  loss {loss:.4f}  held-out accuracy {accuracy:.4f}  "
                      f"{rate:.0f} steps/s", flush=True)
                if writer is not None:
                    step = sess.run(model["global_step"])
                    writer.add_summary(sess.run(accuracy_summary, {held_out: accuracy}), step)
                    saver.save(sess, args.logdir.rstrip("/") + "/model.ckpt", global_step=step)
        final = evaluate(sess)
        if writer is not None:
            writer.close()
        print(f"final held-out accuracy: {final:.4f} after {steps} steps in {time.perf_counter() - start:.1f} s")
    return final


if __name__ == "__main__":
    main()
