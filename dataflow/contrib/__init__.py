"""``tf.contrib``: the parts of TF1's contrib the tutorials use (``tf.contrib.layers``, ``tf.contrib.rnn``,
``tf.contrib.seq2seq``)."""

from . import layers, rnn, seq2seq  # noqa: F401
