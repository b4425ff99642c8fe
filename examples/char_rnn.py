"""A character-level LSTM language model (Karpathy's char-rnn, TF1 style) on the Zen of Python.

The text ships with Python (``this.s``, ROT13-encoded). Training runs ``tf.nn.dynamic_rnn`` over
windows of the text; every ``--sample-every`` steps the model writes a few characters, feeding its own
samples back in one step at a time through the same cell (its variables reused by name).

Run: python examples/char_rnn.py [--steps 300]
"""

import argparse
import codecs
import contextlib
import io
import time

import numpy as np

import dataflow as tf

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--steps", type=int, default=300)
parser.add_argument("--seq-len", type=int, default=32)
parser.add_argument("--batch", type=int, default=16)
parser.add_argument("--units", type=int, default=128)
parser.add_argument("--sample-every", type=int, default=100)
args = parser.parse_args()

with contextlib.redirect_stdout(io.StringIO()):  # `import this` prints the Zen; we only want its text
    import this
text = codecs.decode(this.s, "rot13")
chars = sorted(set(text))
vocab = len(chars)
ids = np.array([chars.index(c) for c in text], np.int32)
print(f"text: {len(text)} characters, {vocab} distinct")

tf.set_random_seed(0)
rng = np.random.default_rng(0)
inputs = tf.placeholder(tf.int32, [None, args.seq_len], name="inputs")
targets = tf.placeholder(tf.int32, [None, args.seq_len], name="targets")
cell = tf.nn.rnn_cell.BasicLSTMCell(args.units)
embedding = tf.get_variable("embedding", [vocab, 32])


def logits_of(char_ids, initial_state=None, batch=None):
    """The model: embed, run the LSTM, project each output to the vocabulary."""
    outputs, state = tf.nn.dynamic_rnn(cell, tf.nn.embedding_lookup(embedding, char_ids),
                                       initial_state=initial_state, dtype=tf.float32)
    return tf.layers.dense(outputs, vocab, name="softmax", reuse=tf.AUTO_REUSE), state


logits, _ = logits_of(inputs)
loss = tf.contrib.seq2seq.sequence_loss(logits, targets, tf.ones_like(targets, dtype=tf.float32))
optimizer = tf.train.AdamOptimizer(0.01)
grads, variables = zip(*optimizer.compute_gradients(loss))
grads, _ = tf.clip_by_global_norm(grads, 5.0)
train_op = optimizer.apply_gradients(zip(grads, variables))

# sampling: one character at a time, the LSTM state fed back in
sample_in = tf.placeholder(tf.int32, [1, 1])
state_in = tf.nn.rnn_cell.LSTMStateTuple(tf.placeholder(tf.float32, [1, args.units]),
                                         tf.placeholder(tf.float32, [1, args.units]))
sample_logits, state_out = logits_of(sample_in, initial_state=state_in)
sample_probs = tf.nn.softmax(sample_logits[0, 0])


def sample(sess, prime="Beautiful ", length=60):
    state = (np.zeros((1, args.units), np.float32),) * 2
    out = prime
    for c in prime[:-1]:
        state = sess.run(state_out, {sample_in: [[chars.index(c)]], state_in: state})
    c = prime[-1]
    for _ in range(length):
        p, state = sess.run([sample_probs, state_out], {sample_in: [[chars.index(c)]], state_in: state})
        c = chars[rng.choice(vocab, p=p / p.sum())]
        out += c
    return out


def batch():
    starts = rng.integers(0, len(ids) - args.seq_len - 1, args.batch)
    x = np.stack([ids[s:s + args.seq_len] for s in starts])
    y = np.stack([ids[s + 1:s + args.seq_len + 1] for s in starts])
    return x, y


with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    start = time.time()
    for step in range(1, args.steps + 1):
        x, y = batch()
        value, _ = sess.run([loss, train_op], {inputs: x, targets: y})
        if step == 1 or step % 50 == 0:
            print(f"step {step} loss {value:.3f}")
        if step % args.sample_every == 0:
            print(f"sample: {sample(sess)!r}")
    print(f"trained {args.steps} steps in {time.time() - start:.1f} s")
