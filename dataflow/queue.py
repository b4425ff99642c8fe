"""``tf.queue``: the TF1 queues under their TF 1.13+ names (``tf.queue.FIFOQueue is tf.FIFOQueue``)."""

from .ops.data_flow_ops import FIFOQueue, PaddingFIFOQueue, QueueBase, RandomShuffleQueue

__all__ = ["FIFOQueue", "PaddingFIFOQueue", "QueueBase", "RandomShuffleQueue"]
