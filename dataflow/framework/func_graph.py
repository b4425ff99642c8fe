"""Function bodies: the sub-graphs of functional control flow (``While``, ``If``).

A :class:`FuncGraph` is a :class:`~dataflow.framework.graph.Graph` built by calling the user's
Python function once (a loop's ``cond`` and ``body``, a ``cond``'s branches) while it is the
default graph. Its arguments are ``Placeholder`` ops (``inputs``). A tensor of an enclosing graph
used inside is *captured*: the body gets a Placeholder for it and the functional op gets the outer
tensor as an extra input, so the body refers to nothing outside itself (``captures``: outer tensor ->
placeholder, in capture order). A variable's snapshot (``v/read``) is captured as the variable's ref
and read again inside (an ``Identity`` of the ref placeholder), so reads in a body see assignments
made earlier in the same run. Control inputs on outer ops become control inputs of the functional op
(``outer_controls``). Variables made while a body is built live in the outermost graph, as TF1's
``init_scope`` does (``tf.get_variable`` in a loop body, an RNN cell's first call). A body op remembers
whether a ``tf.device`` opened inside the body set its device (:func:`device_set_in_body`): placement
puts the others where the functional op runs.

A FuncGraph is plain data over its ops: plans compile it (``runtime/program.py``) into a generated
straight-line program, as they compile a segment of the outer graph.
"""

from __future__ import annotations

import contextlib

from .graph import Graph, Operation, Tensor, get_default_graph


class FuncGraph(Graph):
    """The body of a functional op, nested in ``outer``.

    Attributes
    ----------
    outer: the enclosing graph (a Graph or another FuncGraph).
    inputs: the argument placeholders, in order.
    args: the placeholders a compiled program takes: ``inputs``, then those of the op's captures.
    outputs: the result tensors, set by the builder.
    control_outputs: ops run for their effect (a branch that returns an Operation).
    captures: ``{outer tensor: placeholder}`` in capture order.
    outer_controls: ops of enclosing graphs that ops of the body wait for.
    """

    def __init__(self, name: str, outer: Graph | None = None):
        outer = outer if outer is not None else get_default_graph()
        if outer.finalized:
            raise RuntimeError("Graph is finalized and cannot be modified.")
        object.__setattr__(self, "outer", outer)
        super().__init__()
        self.name = name
        self.seed = outer.seed
        self._collections = outer._collections
        self._names_in_use = outer._names_in_use  # one namespace: body ops never share a name with outer ops
        self._gradient_override_map = dict(outer._gradient_override_map)
        self._device_stack = list(outer._device_stack)
        self._inherited_devices = len(self._device_stack)  # scopes deeper than these were opened in the body
        self._name_stack = outer._name_stack
        self.inputs: list[Tensor] = []
        self.args: list[Tensor] = []  # what the program takes: inputs, then one placeholder per capture
        self.outputs: list[Tensor] = []
        self.control_outputs: list[Operation] = []
        self.captures: dict[Tensor, Tensor] = {}
        self._by_outer: dict[Tensor, Tensor] = {}  # any enclosing graph's tensor -> its value here
        self.outer_controls: list[Operation] = []

    # variable scopes and stores are the outer graph's (``graph._variable_scope`` and friends), and so
    # is the op counter ``_last_id``: op ids (and the random seeds made from them) are unique in the family
    def __getattr__(self, name):
        if name.startswith("_variable") or name == "_last_id":
            return getattr(self.outer, name)
        raise AttributeError(name)

    def __setattr__(self, name, value):
        if name.startswith("_variable") or (name == "_last_id" and "inputs" in self.__dict__):
            setattr(self.outer, name, value)
        elif name != "_last_id":  # Graph.__init__'s zero: the count stays the outer graph's
            object.__setattr__(self, name, value)

    @property
    def outermost(self) -> Graph:
        g = self.outer
        while isinstance(g, FuncGraph):
            g = g.outer
        return g

    def encloses(self, graph: Graph) -> bool:
        """True when ``graph`` is this graph or one it is nested in."""
        g = self
        while g is not None:
            if g is graph:
                return True
            g = getattr(g, "outer", None)
        return False

    def placeholder(self, dtype, shape, name: str, is_ref: bool = False) -> Tensor:
        """A new argument placeholder (not added to ``inputs``), outside any control scope."""
        saved, self._control_stack = self._control_stack, []
        try:
            return Graph.create_op(self, "Placeholder", [], {"dtype": dtype, "shape": shape, "is_ref": is_ref},
                                   name).outputs[0]
        finally:
            self._control_stack = saved

    def capture(self, t: Tensor) -> Tensor:
        """The value of ``t`` (a tensor of an enclosing graph) inside this body."""
        if t.graph is self:
            return t
        found = self._by_outer.get(t)
        if found is not None:
            return found
        if not self.encloses(t.graph):
            raise ValueError(f"Tensor {t.name} must be from the same graph as the ops of {self.name} "
                             "(or a graph enclosing it).")
        if t.op.type == "Identity" and t.op._inputs[0]._is_ref:  # a variable snapshot: read it here
            ref = self.capture(t.op._inputs[0])
            saved, self._control_stack = self._control_stack, []
            try:
                inner = Graph.create_op(self, "Identity", [ref], name=t.op.name.rsplit("/", 1)[-1]).outputs[0]
            finally:
                self._control_stack = saved
        else:
            src = t if t.graph is self.outer else self.outer.capture(t)
            inner = self._by_outer.get(src)
            if inner is None:
                inner = self.placeholder(t.dtype, t.shape, "capture", is_ref=t._is_ref)
                self.captures[src] = inner
                self._by_outer[src] = inner
        self._by_outer[t] = inner
        return inner

    def create_op(self, op_type, inputs, attrs=None, name=None, control_inputs=()):
        inputs = [self.capture(t) if isinstance(t, Tensor) and t.graph is not self else t for t in inputs]
        op = super().create_op(op_type, inputs, attrs, name, control_inputs)
        op._device_in_body = len(self._device_stack) > self._inherited_devices  # see device_set_in_body
        outer = [c for c in op._control_inputs if c.graph is not self]
        if outer:
            op._control_inputs = [c for c in op._control_inputs if c.graph is self]
            self.outer_controls.extend(c for c in outer if c not in self.outer_controls)
        return op


def device_set_in_body(op: Operation) -> bool:
    """Whether a ``tf.device`` scope opened inside its body set ``op``'s device. Other body ops (their
    device inherited from the scopes the body was built under) run where their functional op runs."""
    return getattr(op, "_device_in_body", False)


def func_graphs_of(op: Operation) -> list:
    """The FuncGraphs among ``op``'s attrs (a While's cond and body, an If's branches)."""
    out = []
    for v in op.attrs.values():
        if isinstance(v, FuncGraph):
            out.append(v)
        elif isinstance(v, (list, tuple)):
            out.extend(x for x in v if isinstance(x, FuncGraph))
    return out


@contextlib.contextmanager
def outside_bodies():
    """Make ops in the outermost graph while a body is being built (TF1's ``init_scope``): the
    variables of an RNN cell called in a loop body, with the body's name scope. Yields that graph."""
    graph = get_default_graph()
    if not isinstance(graph, FuncGraph):
        yield graph
        return
    top = graph.outermost
    stack = graph._name_stack
    with top.as_default(), top.control_dependencies(None), top.name_scope(stack + "/" if stack else None):
        yield top
