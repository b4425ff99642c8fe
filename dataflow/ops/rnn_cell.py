"""Recurrent cells (``tf.nn.rnn_cell``, ``tf.contrib.rnn``), composed from matmul, concat, split and
elementwise ops, with TF1's formulas and TF1's variable names.

A cell maps ``(inputs, state) -> (output, new_state)`` for one time step; ``state`` may be a nested
tuple (``LSTMStateTuple(c, h)``, one entry per layer of a :class:`MultiRNNCell`). Cells are
``tf.layers.Layer`` objects, as in TF 1.x: the first call opens a variable scope named after the class
(``basic_lstm_cell`` inside the caller's ``rnn`` scope) and makes the variables there; every later call
(the next time step) re-enters that scope with reuse. So a graph's names match TF's checkpoints:
``rnn/basic_lstm_cell/kernel``, ``rnn/multi_rnn_cell/cell_0/lstm_cell/bias``,
``rnn/gru_cell/gates/kernel``. Wrappers (:class:`DropoutWrapper`, :class:`ResidualWrapper`) open no
scope of their own, as TF's.

User cells subclass :class:`RNNCell` and define ``state_size``, ``output_size``, ``build`` (with
``add_variable``) and ``call(inputs, state)``; or, TF 1.0 style, override ``__call__`` and use
``tf.get_variable`` in a scope of their own.
"""

from __future__ import annotations

import collections

from ..framework.graph import Tensor, convert_to_tensor, name_scope
from ..framework.tensor_shape import TensorShape
from ..layers import Layer
from . import array, clip_ops, init_ops, math, nn_ops
from .indexing import concat, split
from .indexing import slice as slice_
from .linalg import matmul

__all__ = ["RNNCell", "LayerRNNCell", "BasicRNNCell", "BasicLSTMCell", "LSTMCell", "GRUCell", "MultiRNNCell",
           "DropoutWrapper", "ResidualWrapper", "LSTMStateTuple"]


# ---- nested structures (a tiny tf.nest) ---------------------------------------------------------
def is_sequence(x) -> bool:
    return isinstance(x, (tuple, list))


def flatten(structure) -> list:
    """The leaves of a nest of tuples/lists/namedtuples, depth first."""
    if not is_sequence(structure):
        return [structure]
    return [leaf for item in structure for leaf in flatten(item)]


def pack_sequence_as(structure, leaves):
    """``leaves`` (a flat list) in the shape of ``structure``."""
    it = iter(leaves)

    def build(s):
        if not is_sequence(s):
            return next(it)
        items = [build(x) for x in s]
        return type(s)(*items) if hasattr(s, "_fields") else type(s)(items)

    return build(structure)


def map_structure(fn, *structures):
    """``fn`` applied leaf by leaf to structures of one shape, packed as the first."""
    return pack_sequence_as(structures[0], [fn(*xs) for xs in zip(*(flatten(s) for s in structures))])


class LSTMStateTuple(collections.namedtuple("LSTMStateTuple", ("c", "h"))):
    """An LSTM's state: ``c`` (the cell) and ``h`` (the output), each ``[batch, units]``."""

    __slots__ = ()

    @property
    def dtype(self):
        c, h = self
        if c.dtype != h.dtype:
            raise TypeError(f"Inconsistent internal state: {c.dtype} vs {h.dtype}")
        return c.dtype


def _zeros(batch_size, size, dtype) -> Tensor:
    dims = [size] if isinstance(size, int) else list(TensorShape(size).as_list())
    if isinstance(batch_size, Tensor):
        from .indexing import stack

        return array.zeros(stack([batch_size] + dims), dtype=dtype)
    return array.zeros([batch_size] + dims, dtype=dtype)


# ---- the base classes -------------------------------------------------------------------------------
class RNNCell(Layer):
    """An RNN cell: ``output, new_state = cell(inputs, state)``.

    Subclasses define the properties ``state_size`` (an int, a TensorShape or a nested tuple of them)
    and ``output_size``, and ``call(inputs, state) -> (output, new_state)``.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.reset_default_graph()
    >>> cell = tf.nn.rnn_cell.BasicLSTMCell(8)
    >>> x = tf.placeholder(tf.float32, [4, 3])
    >>> out, state = cell(x, cell.zero_state(4, tf.float32))
    >>> out.shape.as_list(), [v.op.name for v in cell.variables]
    ([4, 8], ['basic_lstm_cell/kernel', 'basic_lstm_cell/bias'])
    """

    def __call__(self, inputs, state, scope=None, **kwargs):
        if scope is not None:
            return super().__call__(inputs, state, scope=scope, **kwargs)
        return super().__call__(inputs, state, **kwargs)

    @property
    def state_size(self):
        raise NotImplementedError("RNNCell subclasses define state_size")

    @property
    def output_size(self):
        raise NotImplementedError("RNNCell subclasses define output_size")

    def zero_state(self, batch_size, dtype):
        """Zeros shaped as ``state_size`` with a leading ``batch_size`` (an int or a scalar tensor)."""
        with name_scope(type(self).__name__ + "ZeroState", values=[batch_size]):
            return map_structure(lambda s: _zeros(batch_size, s, dtype), self.state_size) \
                if is_sequence(self.state_size) else _zeros(batch_size, self.state_size, dtype)

    def add_variable(self, name, shape, dtype=None, initializer=None, **kwargs):
        return self.add_weight(name, shape, dtype=dtype, initializer=initializer, **kwargs)

    def get_initial_state(self, inputs=None, batch_size=None, dtype=None):
        if inputs is not None:
            batch_size = array.shape(inputs)[0]
            dtype = dtype or inputs.dtype
        return self.zero_state(batch_size, dtype)


LayerRNNCell = RNNCell


def _input_depth(cell: RNNCell, inputs_shape: TensorShape) -> int:
    depth = TensorShape(inputs_shape)[-1].value if TensorShape(inputs_shape).ndims else None
    if depth is None:
        raise ValueError(f"Expected inputs.shape[-1] to be known, saw shape: {inputs_shape}")
    return depth


def _linear(inputs: list, kernel, bias) -> Tensor:
    """``concat(inputs, 1) @ kernel + bias``: the affine map every cell starts from."""
    x = concat(inputs, 1) if len(inputs) > 1 else inputs[0]
    out = matmul(x, kernel)
    return nn_ops.bias_add(out, bias) if bias is not None else out


class _UnitsCell(RNNCell):
    """A cell whose state and output are both ``[batch, num_units]``."""

    def __init__(self, num_units: int, activation=None, reuse=None, name=None, dtype=None, **kwargs):
        super().__init__(name=name, dtype=dtype, _reuse=reuse, **kwargs)
        self._num_units = num_units
        self._activation = activation or math.tanh

    @property
    def state_size(self):
        return self._num_units

    @property
    def output_size(self):
        return self._num_units


class BasicRNNCell(_UnitsCell):
    """``output = new_state = activation(W [inputs, state] + b)`` (tanh by default)."""

    def build(self, inputs_shape):
        depth = _input_depth(self, inputs_shape)
        self._kernel = self.add_variable("kernel", [depth + self._num_units, self._num_units])
        self._bias = self.add_variable("bias", [self._num_units], initializer=init_ops.zeros_initializer())

    def call(self, inputs, state):
        output = self._activation(_linear([inputs, state], self._kernel, self._bias))
        return output, output


class GRUCell(_UnitsCell):
    """Gated recurrent unit (Cho et al. 2014), TF's formulas: reset and update gates from one matmul
    (``gates/kernel``, biases initialised to 1), the candidate from the reset state (``candidate/kernel``);
    ``h' = u * h + (1 - u) * c``."""

    def __init__(self, num_units: int, activation=None, reuse=None, kernel_initializer=None, bias_initializer=None,
                 name=None, dtype=None, **kwargs):
        super().__init__(num_units, activation, reuse, name, dtype, **kwargs)
        self._kernel_initializer = kernel_initializer
        self._bias_initializer = bias_initializer

    def build(self, inputs_shape):
        depth, n = _input_depth(self, inputs_shape), self._num_units
        self._gate_kernel = self.add_variable("gates/kernel", [depth + n, 2 * n], initializer=self._kernel_initializer)
        self._gate_bias = self.add_variable("gates/bias", [2 * n], initializer=self._bias_initializer
                                            or init_ops.constant_initializer(1.0))
        self._candidate_kernel = self.add_variable("candidate/kernel", [depth + n, n],
                                                   initializer=self._kernel_initializer)
        self._candidate_bias = self.add_variable("candidate/bias", [n], initializer=self._bias_initializer
                                                 or init_ops.zeros_initializer())

    def call(self, inputs, state):
        value = math.sigmoid(_linear([inputs, state], self._gate_kernel, self._gate_bias))
        r, u = split(value, 2, axis=1)
        c = self._activation(_linear([inputs, r * state], self._candidate_kernel, self._candidate_bias))
        new_h = u * state + (1 - u) * c
        return new_h, new_h


class BasicLSTMCell(RNNCell):
    """LSTM without peepholes or projection (Zaremba et al. 2014): gates ``i, j, f, o`` from one matmul;
    ``c' = c * sigmoid(f + forget_bias) + sigmoid(i) * tanh(j)``, ``h' = tanh(c') * sigmoid(o)``.
    The state is ``LSTMStateTuple(c, h)`` (or ``[c, h]`` concatenated when ``state_is_tuple=False``)."""

    def __init__(self, num_units: int, forget_bias: float = 1.0, state_is_tuple: bool = True, activation=None,
                 reuse=None, name=None, dtype=None, **kwargs):
        super().__init__(name=name, dtype=dtype, _reuse=reuse, **kwargs)
        self._num_units = num_units
        self._forget_bias = forget_bias
        self._state_is_tuple = state_is_tuple
        self._activation = activation or math.tanh

    @property
    def state_size(self):
        n = self._num_units
        return LSTMStateTuple(n, n) if self._state_is_tuple else 2 * n

    @property
    def output_size(self):
        return self._num_units

    def build(self, inputs_shape):
        depth, n = _input_depth(self, inputs_shape), self._num_units
        self._kernel = self.add_variable("kernel", [depth + n, 4 * n])
        self._bias = self.add_variable("bias", [4 * n], initializer=init_ops.zeros_initializer())

    def call(self, inputs, state):
        c, h = state if self._state_is_tuple else split(state, 2, axis=1)
        i, j, f, o = split(_linear([inputs, h], self._kernel, self._bias), 4, axis=1)
        new_c = c * math.sigmoid(f + self._forget_bias) + math.sigmoid(i) * self._activation(j)
        new_h = self._activation(new_c) * math.sigmoid(o)
        new_state = LSTMStateTuple(new_c, new_h) if self._state_is_tuple else concat([new_c, new_h], 1)
        return new_h, new_state


class LSTMCell(RNNCell):
    """LSTM with optional peepholes (``w_f_diag``, ``w_i_diag``, ``w_o_diag``), cell clipping, and a
    projection of the output to ``num_proj`` units (``projection/kernel``, clipped to ``proj_clip``)."""

    def __init__(self, num_units: int, use_peepholes: bool = False, cell_clip=None, initializer=None, num_proj=None,
                 proj_clip=None, num_unit_shards=None, num_proj_shards=None, forget_bias: float = 1.0,
                 state_is_tuple: bool = True, activation=None, reuse=None, name=None, dtype=None, **kwargs):
        super().__init__(name=name, dtype=dtype, _reuse=reuse, **kwargs)
        self._num_units = num_units
        self._use_peepholes = use_peepholes
        self._cell_clip = cell_clip
        self._initializer = initializer
        self._num_proj = num_proj
        self._proj_clip = proj_clip
        self._forget_bias = forget_bias
        self._state_is_tuple = state_is_tuple
        self._activation = activation or math.tanh

    @property
    def state_size(self):
        n, p = self._num_units, self._num_proj or self._num_units
        return LSTMStateTuple(n, p) if self._state_is_tuple else n + p

    @property
    def output_size(self):
        return self._num_proj or self._num_units

    def build(self, inputs_shape):
        depth, n = _input_depth(self, inputs_shape), self._num_units
        h_depth = self._num_proj or n
        self._kernel = self.add_variable("kernel", [depth + h_depth, 4 * n], initializer=self._initializer)
        self._bias = self.add_variable("bias", [4 * n], initializer=init_ops.zeros_initializer())
        if self._use_peepholes:
            self._w_f_diag = self.add_variable("w_f_diag", [n], initializer=self._initializer)
            self._w_i_diag = self.add_variable("w_i_diag", [n], initializer=self._initializer)
            self._w_o_diag = self.add_variable("w_o_diag", [n], initializer=self._initializer)
        if self._num_proj is not None:
            self._proj_kernel = self.add_variable("projection/kernel", [n, self._num_proj],
                                                  initializer=self._initializer)

    def call(self, inputs, state):
        n, p = self._num_units, self._num_proj or self._num_units
        sigmoid, act = math.sigmoid, self._activation
        if self._state_is_tuple:
            c_prev, m_prev = state
        else:
            c_prev, m_prev = slice_(state, [0, 0], [-1, n]), slice_(state, [0, n], [-1, p])
        i, j, f, o = split(_linear([inputs, m_prev], self._kernel, self._bias), 4, axis=1)
        if self._use_peepholes:
            c = sigmoid(f + self._forget_bias + self._w_f_diag * c_prev) * c_prev + \
                sigmoid(i + self._w_i_diag * c_prev) * act(j)
        else:
            c = sigmoid(f + self._forget_bias) * c_prev + sigmoid(i) * act(j)
        if self._cell_clip is not None:
            c = clip_ops.clip_by_value(c, -self._cell_clip, self._cell_clip)
        m = sigmoid(o + self._w_o_diag * c) * act(c) if self._use_peepholes else sigmoid(o) * act(c)
        if self._num_proj is not None:
            m = matmul(m, self._proj_kernel)
            if self._proj_clip is not None:
                m = clip_ops.clip_by_value(m, -self._proj_clip, self._proj_clip)
        new_state = LSTMStateTuple(c, m) if self._state_is_tuple else concat([c, m], 1)
        return m, new_state


class MultiRNNCell(RNNCell):
    """Cells stacked in layers: layer ``i`` runs in scope ``cell_i`` on the output of layer ``i - 1``;
    the state is the tuple of the layers' states."""

    def __init__(self, cells, state_is_tuple: bool = True):
        super().__init__()
        if not cells:
            raise ValueError("Must specify at least one cell for MultiRNNCell.")
        self._cells = list(cells)
        self._state_is_tuple = state_is_tuple
        if not state_is_tuple and any(is_sequence(c.state_size) for c in self._cells):
            raise ValueError("Some cells return tuples of states, but the flag state_is_tuple is not set.")

    @property
    def state_size(self):
        if self._state_is_tuple:
            return tuple(c.state_size for c in self._cells)
        return sum(c.state_size for c in self._cells)

    @property
    def output_size(self):
        return self._cells[-1].output_size

    def zero_state(self, batch_size, dtype):
        if not self._state_is_tuple:
            return super().zero_state(batch_size, dtype)
        with name_scope(type(self).__name__ + "ZeroState", values=[batch_size]):
            return tuple(c.zero_state(batch_size, dtype) for c in self._cells)

    def call(self, inputs, state):
        from .variable_scope import variable_scope

        out, new_states, start = inputs, [], 0
        for i, cell in enumerate(self._cells):
            with variable_scope(f"cell_{i}"):
                if self._state_is_tuple:
                    cur = state[i]
                else:
                    cur = slice_(state, [0, start], [-1, cell.state_size])
                    start += cell.state_size
                out, new = cell(out, cur)
                new_states.append(new)
        return out, (tuple(new_states) if self._state_is_tuple else concat(new_states, 1))

    @property
    def weights(self):
        return [w for c in self._cells for w in c.weights]

    variables = weights

    @property
    def trainable_weights(self):
        return [w for c in self._cells for w in c.trainable_weights]

    trainable_variables = trainable_weights


class _Wrapper(RNNCell):
    """A cell around ``cell`` that opens no variable scope of its own (TF's ``_RNNCellWrapperV1``)."""

    def __init__(self, cell):
        super().__init__()
        self._cell = cell

    @property
    def state_size(self):
        return self._cell.state_size

    @property
    def output_size(self):
        return self._cell.output_size

    def zero_state(self, batch_size, dtype):
        with name_scope(type(self).__name__ + "ZeroState", values=[batch_size]):
            return self._cell.zero_state(batch_size, dtype)

    def __call__(self, inputs, state, scope=None):
        inputs = convert_to_tensor(inputs) if not isinstance(inputs, (list, tuple)) else inputs
        return self.call(inputs, state, scope=scope)

    @property
    def weights(self):
        return self._cell.weights

    variables = weights

    @property
    def trainable_weights(self):
        return self._cell.trainable_weights

    trainable_variables = trainable_weights


class DropoutWrapper(_Wrapper):
    """Dropout on a cell's inputs, outputs and (each step's new) state, by keep probabilities.

    With ``variational_recurrent`` (Gal & Ghahramani 2016) each of them has one mask, ``[1, size]``, drawn
    once and used at every time step and for every batch row, as TF's: ``x / keep * floor(keep + noise)``.
    """

    def __init__(self, cell, input_keep_prob=1.0, output_keep_prob=1.0, state_keep_prob=1.0,
                 variational_recurrent=False, input_size=None, dtype=None, seed=None, dropout_state_filter_visitor=None):
        super().__init__(cell)
        for name, p in (("input", input_keep_prob), ("output", output_keep_prob), ("state", state_keep_prob)):
            if isinstance(p, (int, float)) and not 0.0 < p <= 1.0:
                raise ValueError(f"Parameter {name}_keep_prob must be between 0 and 1: {p}")
        if variational_recurrent and dtype is None:
            raise ValueError("When variational_recurrent=True, dtype must be provided")
        self._input_keep_prob = input_keep_prob
        self._output_keep_prob = output_keep_prob
        self._state_keep_prob = state_keep_prob
        self._seed = seed
        self._variational = variational_recurrent
        self._noise: dict = {}  # (what, leaf) -> the [1, size] uniform noise of a variational mask
        self._leaf = 0

    def _drop(self, x, keep, salt: int):
        if isinstance(keep, (int, float)) and keep == 1.0:
            return x
        seed = None if self._seed is None else self._seed + salt
        if not self._variational:
            return nn_ops.dropout(x, keep_prob=keep, seed=seed)
        key = (salt, self._leaf)
        self._leaf += 1
        noise = self._noise.get(key)
        if noise is None:  # drawn once, outside any loop or control dependency: one mask for every step
            from ..framework.graph import get_default_graph
            from .random import random_uniform

            with get_default_graph().control_dependencies(None):
                noise = self._noise[key] = random_uniform([1, x.shape[-1].value], dtype=x.dtype,
                                                          seed=None if seed is None else seed + 7 * key[1])
        return x / keep * math.floor(keep + noise)

    def call(self, inputs, state, scope=None):
        self._leaf = 0
        inputs = self._drop(inputs, self._input_keep_prob, 0)
        output, new_state = self._cell(inputs, state, scope=scope)
        if not (isinstance(self._state_keep_prob, (int, float)) and self._state_keep_prob == 1.0):
            # NOTE: as TF's default filter: an LSTM's memory ``c`` is never dropped, only ``h``
            def keep_c(s):
                if isinstance(s, LSTMStateTuple):
                    return LSTMStateTuple(s.c, self._drop(s.h, self._state_keep_prob, 1))
                if is_sequence(s):
                    return type(s)(keep_c(x) for x in s)
                return self._drop(s, self._state_keep_prob, 1)

            new_state = keep_c(new_state)
        return self._drop(output, self._output_keep_prob, 2), new_state


class ResidualWrapper(_Wrapper):
    """``output = residual_fn(inputs, cell_output)`` (``inputs + output`` by default)."""

    def __init__(self, cell, residual_fn=None):
        super().__init__(cell)
        self._residual_fn = residual_fn

    def call(self, inputs, state, scope=None):
        output, new_state = self._cell(inputs, state, scope=scope)
        if self._residual_fn is not None:
            return self._residual_fn(inputs, output), new_state
        return map_structure(lambda i, o: i + o, inputs, output), new_state

