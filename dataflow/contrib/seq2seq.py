"""``tf.contrib.seq2seq``: ``sequence_loss``."""

from ..ops.rnn import sequence_loss  # noqa: F401
