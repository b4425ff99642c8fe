"""Running a graph with chosen rewrites and seeing what ran (RunMetadata.partition_graphs)."""

import dataflow as tf

OFF = tf.RewriterConfig.OFF
ALL_OFF = dict(disable_meta_optimizer=True)
NO_FUSION = dict(remapping=OFF)


def config(**rewrites) -> tf.ConfigProto:
    rc = tf.RewriterConfig(**rewrites)
    return tf.ConfigProto(graph_options=tf.GraphOptions(rewrite_options=rc))


def run(fetches, feed=None, graph=None, init=None, **rewrites):
    """``(values, [op types that ran], {node name: op type})`` for one traced run with ``rewrites``."""
    meta = tf.RunMetadata()
    with tf.Session(graph=graph, config=config(**rewrites)) as sess:
        if init is not None:
            sess.run(init)
        values = sess.run(fetches, feed, options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE),
                          run_metadata=meta)
    nodes = [n for gd in meta.partition_graphs for n in gd.node]
    names = [n.name for n in nodes]
    assert len(names) == len(set(names)), f"an op ran twice (a replaced op was pulled back in): {names}"
    return values, [n.op for n in nodes], {n.name: n.op for n in nodes}


def ran(op_types, op_type) -> int:
    return sum(t == op_type for t in op_types)
