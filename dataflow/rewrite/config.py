"""``tf.RewriterConfig``: which graph rewrites a session's plans run (TF's Grappler option names).

``tf.ConfigProto(graph_options=tf.GraphOptions(rewrite_options=tf.RewriterConfig(...)))`` switches
each pass with TF's ``Toggle`` values; ``DEFAULT`` and ``ON`` run it, ``OFF`` does not, and
``disable_meta_optimizer=True`` turns every rewrite off. The passes map to TF's fields as follows:

==============================  ==================================================================
field                           pass (``dataflow/rewrite``)
==============================  ==================================================================
common_subgraph_elimination     merge ops computing the same thing (CSE)
constant_folding                evaluate ops on constants (and shapes known statically) when planning
arithmetic_optimization         x*1, x+0, x-x, -(-x), c*a + c*b -> c*(a+b), casts, reshapes, transposes
dependency_optimization         bypass Identity / StopGradient that nothing needs by name
remapping                       elementwise fusion into ``FusedElementwise``
memory_optimization             elementwise kernels write into dead inputs' buffers
==============================  ==================================================================
"""

from __future__ import annotations


class RewriterConfig:
    """TF's ``RewriterConfig`` (the fields that dataflow uses; others are accepted and kept).

    Examples
    --------
    >>> import dataflow as tf
    >>> off = tf.RewriterConfig(remapping=tf.RewriterConfig.OFF)
    >>> config = tf.ConfigProto(graph_options=tf.GraphOptions(rewrite_options=off))
    """

    # Toggle (TF's enum values)
    DEFAULT = 0
    ON = 1
    OFF = 2
    AGGRESSIVE = 3
    EXPERIMENTAL_MLIR = 4
    EXPERIMENTAL_BOTH = 5
    # MemOptType
    DEFAULT_MEM_OPT = 0
    NO_MEM_OPT = 1
    MANUAL = 2
    HEURISTICS = 3

    PASSES = ("common_subgraph_elimination", "constant_folding", "arithmetic_optimization",
              "dependency_optimization", "remapping", "memory_optimization")

    def __init__(self, arithmetic_optimization=DEFAULT, constant_folding=DEFAULT, remapping=DEFAULT,
                 common_subgraph_elimination=DEFAULT, dependency_optimization=DEFAULT,
                 memory_optimization=DEFAULT_MEM_OPT, disable_meta_optimizer=False, **kw):
        self.arithmetic_optimization = arithmetic_optimization
        self.constant_folding = constant_folding
        self.remapping = remapping
        self.common_subgraph_elimination = common_subgraph_elimination
        self.dependency_optimization = dependency_optimization
        self.memory_optimization = memory_optimization
        self.disable_meta_optimizer = disable_meta_optimizer
        self.__dict__.update(kw)

    def enabled(self, name: str) -> bool:
        """Whether the pass ``name`` (a field of :attr:`PASSES`) runs."""
        if self.disable_meta_optimizer:
            return False
        value = getattr(self, name)
        if name == "memory_optimization":
            return value != self.NO_MEM_OPT
        return value != self.OFF

    def key(self) -> tuple:
        """The settings, as a hashable key (part of a plan's cache key: read on every run, so cheap)."""
        return (self.disable_meta_optimizer, self.common_subgraph_elimination, self.constant_folding,
                self.arithmetic_optimization, self.dependency_optimization, self.remapping,
                self.memory_optimization)

    def __repr__(self):
        return f"RewriterConfig({', '.join(f'{p}={getattr(self, p)}' for p in self.PASSES)})"


_DEFAULT = RewriterConfig()


def rewriter_config(config) -> RewriterConfig:
    """The RewriterConfig of a ``ConfigProto`` (``graph_options.rewrite_options``), default when unset."""
    graph_options = getattr(config, "graph_options", None)
    rc = getattr(graph_options, "rewrite_options", None)
    return rc if rc is not None else _DEFAULT
