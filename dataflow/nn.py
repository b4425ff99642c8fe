"""``tf.nn``: activations, softmax and cross-entropies, convolution and pooling, normalization."""

from .ops.conv import *  # noqa: F401,F403  (its __all__: convolution and pooling)
from .ops.nn_ops import *  # noqa: F401,F403  (its __all__: everything else)
from .ops import rnn_cell  # noqa: F401,E402  (tf.nn.rnn_cell: the cell classes)
from .ops.rnn import bidirectional_dynamic_rnn, dynamic_rnn, static_bidirectional_rnn, static_rnn  # noqa: F401,E402
from .ops.candidate_sampling import *  # noqa: F401,F403,E402  (samplers, nce_loss, sampled_softmax_loss)
