"""Running a recurrent cell over a sequence: ``static_rnn``, ``dynamic_rnn``, ``bidirectional_dynamic_rnn``,
``static_bidirectional_rnn``, and ``tf.contrib.seq2seq.sequence_loss``.

Every runner opens TF's variable scope (``rnn``, or ``bidirectional_rnn/fw`` and ``.../bw``) and calls
the cell once per time step; the cell makes its variables on the first step and reuses them after
(see ``rnn_cell``). With ``sequence_length``, a batch row past its length gets a zero output and keeps
its state unchanged (TF's copy-through), so the final state is each row's state at its last step.

``dynamic_rnn`` runs the steps in a ``tf.while_loop`` (outputs gathered in a TensorArray) when the number
of steps is not known when the graph is built; with a static number of steps it unrolls them (the same
values and variable names, without the loop's per-step overhead).
"""

from __future__ import annotations


from ..framework import dtypes
from ..framework.graph import Tensor, convert_to_tensor, name_scope
from ..framework.tensor_shape import TensorShape
from . import array, math
from .gather import select
from .indexing import stack, unstack
from .reduction import reduce_sum
from .rnn_cell import flatten, map_structure, pack_sequence_as
from .sequence_ops import reverse_sequence
from .variable_scope import variable_scope

__all__ = ["static_rnn", "dynamic_rnn", "bidirectional_dynamic_rnn", "static_bidirectional_rnn", "sequence_loss"]


def _initial_state(cell, batch_size, initial_state, dtype):
    if initial_state is not None:
        return initial_state
    if dtype is None:
        raise ValueError("If there is no initial_state, you must give a dtype.")
    return cell.zero_state(batch_size, dtype)


def _batch_size(x: Tensor):
    b = x.shape[0].value if x.shape.ndims else None
    return b if b is not None else array.shape(x)[0]


def _zero_output(cell, batch_size, dtype):
    from .rnn_cell import _zeros

    size = cell.output_size
    return map_structure(lambda s: _zeros(batch_size, s, dtype), size) if isinstance(size, tuple) \
        else _zeros(batch_size, size, dtype)


def _step(cell, time: int, x, state, sequence_length, zero_output):
    """One step; past a row's length its output is zero and its state is carried through."""
    output, new_state = cell(x, state)
    if sequence_length is None:
        return output, new_state
    valid = math.less(time, sequence_length)  # [batch] bool
    output = map_structure(lambda z, o: select(valid, o, z), zero_output, output)
    new_state = map_structure(lambda old, new: select(valid, new, old), state, new_state)
    return output, new_state


def static_rnn(cell, inputs, initial_state=None, dtype=None, sequence_length=None, scope=None):
    """Run ``cell`` over a Python list of ``[batch, depth]`` inputs, one graph step per element.

    Returns ``(outputs, state)``: a list of outputs, and the final state.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.reset_default_graph()
    >>> xs = [tf.placeholder(tf.float32, [2, 3]) for _ in range(4)]
    >>> outs, state = tf.nn.static_rnn(tf.nn.rnn_cell.GRUCell(5), xs, dtype=tf.float32)
    >>> len(outs), state.shape.as_list(), tf.trainable_variables()[0].op.name
    (4, [2, 5], 'rnn/gru_cell/gates/kernel')
    """
    if not isinstance(inputs, (list, tuple)) or not inputs:
        raise TypeError("inputs must be a non-empty list")
    with variable_scope(scope or "rnn") as varscope:
        first = flatten(inputs[0])[0]
        first = convert_to_tensor(first)
        batch = _batch_size(first)
        state = _initial_state(cell, batch, initial_state, dtype)
        zero_output = None
        if sequence_length is not None:
            sequence_length = math.cast(convert_to_tensor(sequence_length, name="sequence_length"), dtypes.int32)
            zero_output = _zero_output(cell, batch, dtype or flatten(state)[0].dtype)
        outputs = []
        for time, x in enumerate(inputs):
            if time > 0:
                varscope.reuse_variables()
            output, state = _step(cell, time, x, state, sequence_length, zero_output)
            outputs.append(output)
        return outputs, state


def dynamic_rnn(cell, inputs, sequence_length=None, initial_state=None, dtype=None, parallel_iterations=None,
                swap_memory=False, time_major=False, scope=None):
    """Run ``cell`` over ``inputs`` of shape ``[batch, time, depth]`` (``[time, batch, depth]`` when
    ``time_major``).

    Returns ``(outputs, state)``: outputs ``[batch, time, output_size]`` (time-major when ``time_major``),
    zero past each row's ``sequence_length``; the final state, each row's state at its last step.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.reset_default_graph()
    >>> x = tf.placeholder(tf.float32, [None, 5, 3])
    >>> cell = tf.nn.rnn_cell.BasicLSTMCell(4)
    >>> outputs, state = tf.nn.dynamic_rnn(cell, x, sequence_length=[5, 2], dtype=tf.float32)
    >>> outputs.shape.as_list(), [v.op.name for v in tf.trainable_variables()]
    ([None, 5, 4], ['rnn/basic_lstm_cell/kernel', 'rnn/basic_lstm_cell/bias'])
    """
    with variable_scope(scope or "rnn") as varscope:
        flat_in = [convert_to_tensor(x) for x in flatten(inputs)]
        steps_axis, batch_axis = (0, 1) if time_major else (1, 0)
        steps = flat_in[0].shape[steps_axis].value if flat_in[0].shape.ndims else None
        if steps is None:
            return _loop_rnn(cell, inputs, sequence_length, initial_state, dtype, time_major, varscope)
        b = flat_in[0].shape[batch_axis].value
        batch = b if b is not None else array.shape(flat_in[0])[batch_axis]
        state = _initial_state(cell, batch, initial_state, dtype)
        if sequence_length is not None:
            sequence_length = math.cast(convert_to_tensor(sequence_length, name="sequence_length"), dtypes.int32)
        zero_output = None if sequence_length is None else \
            _zero_output(cell, batch, dtype or flatten(state)[0].dtype)
        per_step = [unstack(x, num=steps, axis=steps_axis) for x in flat_in]
        outputs = []
        for time in range(steps):
            if time > 0:
                varscope.reuse_variables()
            x = pack_sequence_as(inputs, [p[time] for p in per_step])
            output, state = _step(cell, time, x, state, sequence_length, zero_output)
            outputs.append(output)
        axis = 0 if time_major else 1
        stacked = [stack([flatten(o)[k] for o in outputs], axis=axis) for k in range(len(flatten(outputs[0])))]
        return pack_sequence_as(outputs[0], stacked), state


def _loop_rnn(cell, inputs, sequence_length, initial_state, dtype, time_major, varscope):
    """dynamic_rnn over a number of steps known only when the graph runs: step 0 runs before the loop
    (it makes the cell's variables, in TF's scope), steps 1.. in a ``tf.while_loop`` whose body reads
    step ``t`` of the (time-major) inputs and writes its output into a TensorArray."""
    from .control_flow import while_loop
    from .gather import gather
    from .tensor_array import TensorArray

    flat_in = [convert_to_tensor(x) for x in flatten(inputs)]
    if not time_major:
        flat_in = [array.transpose(x, [1, 0] + list(range(2, x.shape.ndims))) for x in flat_in]
    steps = array.shape(flat_in[0])[0]
    b = flat_in[0].shape[1].value
    batch = b if b is not None else array.shape(flat_in[0])[1]
    state = _initial_state(cell, batch, initial_state, dtype)
    if sequence_length is not None:
        sequence_length = math.cast(convert_to_tensor(sequence_length, name="sequence_length"), dtypes.int32)
    zero_output = None if sequence_length is None else _zero_output(cell, batch, dtype or flatten(state)[0].dtype)
    first = pack_sequence_as(inputs, [gather(x, 0) for x in flat_in])
    output, state = _step(cell, 0, first, state, sequence_length, zero_output)
    varscope.reuse_variables()
    out_flat = flatten(output)
    arrays = [TensorArray(o.dtype, size=steps, element_shape=o.shape).write(0, o) for o in out_flat]

    def body(t, state_flat, arrays):
        x = pack_sequence_as(inputs, [gather(x, t) for x in flat_in])
        out, new = _step(cell, t, x, pack_sequence_as(state, list(state_flat)), sequence_length, zero_output)
        return t + 1, flatten(new), [a.write(t, o) for a, o in zip(arrays, flatten(out))]

    _, final, arrays = while_loop(lambda t, *_: t < steps, body, [1, flatten(state), arrays])
    outs = [a.stack() for a in arrays]
    for o, first_out in zip(outs, out_flat):  # TF's static shape: [time, batch, units]
        o.set_shape(TensorShape([flat_in[0].shape[0].value]).concatenate(first_out.shape))
    if not time_major:
        outs = [array.transpose(o, [1, 0] + list(range(2, o.shape.ndims))) if o.shape.ndims else o for o in outs]
    return pack_sequence_as(output, outs), pack_sequence_as(state, list(final))


def _reverse(x: Tensor, sequence_length, time_axis: int, batch_axis: int) -> Tensor:
    if sequence_length is None:
        from .indexing import reverse

        return reverse(x, [time_axis])
    return reverse_sequence(x, sequence_length, seq_axis=time_axis, batch_axis=batch_axis)


def bidirectional_dynamic_rnn(cell_fw, cell_bw, inputs, sequence_length=None, initial_state_fw=None,
                              initial_state_bw=None, dtype=None, parallel_iterations=None, swap_memory=False,
                              time_major=False, scope=None):
    """A forward and a backward :func:`dynamic_rnn` (the backward one over each row's first
    ``sequence_length`` steps reversed, its outputs reversed back).

    Returns ``((output_fw, output_bw), (state_fw, state_bw))``; variables under
    ``bidirectional_rnn/fw/...`` and ``bidirectional_rnn/bw/...``.
    """
    time_axis, batch_axis = (0, 1) if time_major else (1, 0)
    with variable_scope(scope or "bidirectional_rnn"):
        with variable_scope("fw") as fw_scope:
            out_fw, state_fw = dynamic_rnn(cell_fw, inputs, sequence_length, initial_state_fw, dtype,
                                           time_major=time_major, scope=fw_scope)
        with variable_scope("bw") as bw_scope:
            if sequence_length is not None:
                sequence_length = math.cast(convert_to_tensor(sequence_length), dtypes.int64)
            rev = map_structure(lambda x: _reverse(convert_to_tensor(x), sequence_length, time_axis, batch_axis),
                                inputs)
            tmp, state_bw = dynamic_rnn(cell_bw, rev, sequence_length, initial_state_bw, dtype,
                                        time_major=time_major, scope=bw_scope)
    out_bw = map_structure(lambda x: _reverse(x, sequence_length, time_axis, batch_axis), tmp)
    return (out_fw, out_bw), (state_fw, state_bw)


def static_bidirectional_rnn(cell_fw, cell_bw, inputs, initial_state_fw=None, initial_state_bw=None, dtype=None,
                             sequence_length=None, scope=None):
    """:func:`static_rnn` forward and backward; outputs are the two directions concatenated per step.

    Returns ``(outputs, state_fw, state_bw)``.
    """
    from .indexing import concat

    with variable_scope(scope or "bidirectional_rnn"):
        with variable_scope("fw") as fw_scope:
            out_fw, state_fw = static_rnn(cell_fw, inputs, initial_state_fw, dtype, sequence_length, scope=fw_scope)
        with variable_scope("bw") as bw_scope:
            stacked = stack(list(inputs), axis=0)
            lengths = None if sequence_length is None else math.cast(convert_to_tensor(sequence_length), dtypes.int64)
            rev = unstack(_reverse(stacked, lengths, 0, 1), num=len(inputs))
            tmp, state_bw = static_rnn(cell_bw, rev, initial_state_bw, dtype, sequence_length, scope=bw_scope)
    out_bw = unstack(_reverse(stack(tmp, axis=0), lengths, 0, 1), num=len(inputs))
    return [concat([f, b], 1) for f, b in zip(out_fw, out_bw)], state_fw, state_bw


def sequence_loss(logits, targets, weights, average_across_timesteps=True, average_across_batch=True,
                  softmax_loss_function=None, name=None) -> Tensor:
    """Weighted cross-entropy of ``logits`` ``[batch, time, classes]`` against integer ``targets``
    ``[batch, time]`` (``tf.contrib.seq2seq.sequence_loss``): averaged over the weights' sum across
    time steps and/or the batch, as asked (a sum where not averaged).
    """
    from .nn_ops import sparse_softmax_cross_entropy_with_logits

    with name_scope(name, "sequence_loss", [logits, targets, weights]):
        logits = convert_to_tensor(logits)
        targets = convert_to_tensor(targets)
        weights = convert_to_tensor(weights, dtype=logits.dtype)
        if logits.shape.ndims not in (None, 3):
            raise ValueError("Logits must be a [batch_size x sequence_length x logits] tensor")
        if targets.shape.ndims not in (None, 2) or weights.shape.ndims not in (None, 2):
            raise ValueError("Targets and weights must be [batch_size x sequence_length] tensors")
        classes = logits.shape[2].value if logits.shape.ndims else None
        flat_logits = array.reshape(logits, [-1, classes if classes is not None else array.shape(logits)[2]]
                                    if classes is not None else stack([-1, array.shape(logits)[2]]))
        flat_targets = array.reshape(targets, [-1])
        if softmax_loss_function is None:
            crossent = sparse_softmax_cross_entropy_with_logits(labels=flat_targets, logits=flat_logits)
        else:
            crossent = softmax_loss_function(labels=flat_targets, logits=flat_logits)
        crossent = crossent * array.reshape(weights, [-1])
        if average_across_timesteps and average_across_batch:
            return reduce_sum(crossent) / (reduce_sum(weights) + 1e-12)
        shape = array.shape(logits)
        crossent = array.reshape(crossent, stack([shape[0], shape[1]]))
        if average_across_timesteps:
            return reduce_sum(crossent, axis=[1]) / (reduce_sum(weights, axis=[1]) + 1e-12)
        if average_across_batch:
            return reduce_sum(crossent, axis=[0]) / (reduce_sum(weights, axis=[0]) + 1e-12)
        return crossent
