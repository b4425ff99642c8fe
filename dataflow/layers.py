"""``tf.layers``: TF1's layers, as classes (``tf.layers.Dense(3)``) and as functions (``tf.layers.dense``).

A layer object is built on its first call. It captures a variable scope then -- its ``name``, or
``dense``, ``dense_1``... made unique as ``tf.variable_scope(None, default_name="dense")`` does --
and makes its variables there with ``tf.get_variable`` (``dense/kernel:0``, ``dense/bias:0``). Every
later call re-enters that scope with ``reuse=True`` (and its name scope), so one layer object applied
twice computes with the same variables. A function (``tf.layers.dense(x, 3, name=..., reuse=...)``)
makes a new layer object and applies it once, its ``name`` and ``reuse`` giving the scope as in TF:
``dense(x, 3, name="d", reuse=True)`` shares the variables of an earlier ``dense(x, 3, name="d")``.

State of a layer: ``built``, the captured ``_scope``, the variables it made (``trainable_variables``,
``non_trainable_variables``), the update ops of its calls (``updates``, also put in ``UPDATE_OPS``)
and the losses it added (``losses``, also in ``REGULARIZATION_LOSSES``).

Batch normalization follows TF1's choice of implementation. A 4-D or 5-D float16/float32 input
normalized over its axis 1 or its last axis takes the fused kernel (``tf.nn.fused_batch_norm``),
which returns the Bessel-corrected batch variance (``n / (n - 1)`` times the biased one): that is what
the moving variance is updated with. Any other input is normalized by the composite, whose moving
variance follows the biased batch variance. Both normalize the outputs with the biased variance.
"""

from __future__ import annotations

import re

import numpy as np

from .framework import dtypes
from .framework.graph import GraphKeys, Tensor, add_to_collection, convert_to_tensor, get_default_graph, name_scope
from .framework.tensor_shape import TensorShape
from .ops import array, conv, gather, init_ops, math, nn_ops
from .ops.linalg import matmul
from .ops.variable_scope import get_variable, variable_scope


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _snake_case(name: str) -> str:
    """``Conv2D`` -> ``conv2d``, ``MaxPooling2D`` -> ``max_pooling2d`` (Keras's default layer names)."""
    name = re.sub("(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _data_format(data_format: str) -> str:
    if data_format in ("channels_last", "NHWC"):
        return "NHWC"
    if data_format in ("channels_first", "NCHW"):
        return "NCHW"
    raise ValueError(f"Unknown data_format {data_format!r}")


def _dense_matmul(x: Tensor, kernel) -> Tensor:
    """``x @ kernel`` over the last axis of ``x``, whatever its rank."""
    if x.shape.ndims == 2:
        return matmul(x, kernel)
    dims = x.shape.as_list()
    if any(d is None for d in dims[1:]):
        raise ValueError(f"dense on a rank-{len(dims)} input needs static inner dimensions, got {x.shape}")
    flat = array.reshape(x, [-1, dims[-1]])
    out = matmul(flat, kernel)
    return array.reshape(out, [-1] + dims[1:-1] + [kernel.shape[-1].value])


def _pool(kind: str, x: Tensor, pool_size, strides, padding: str, data_format: str, name=None) -> Tensor:
    fmt = _data_format(data_format)
    ph, pw = _pair(pool_size)
    sh, sw = _pair(strides)
    ksize = [1, ph, pw, 1] if fmt == "NHWC" else [1, 1, ph, pw]
    st = [1, sh, sw, 1] if fmt == "NHWC" else [1, 1, sh, sw]
    fn = conv.max_pool if kind == "max" else conv.avg_pool
    return fn(x, ksize, st, padding.upper(), data_format=fmt, name=name)


def _select_training(training, if_true, if_false):
    """``if_true()`` when ``training`` (a Python bool or a bool tensor), else ``if_false()``."""
    if isinstance(training, (bool, np.bool_)):
        return if_true() if training else if_false()
    training = convert_to_tensor(training, dtype=dtypes.bool_)
    return _switch(training, if_true(), if_false())


def _switch(flag: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """``a`` if the scalar bool ``flag`` else ``b``, with the merged static shape of ``a`` and ``b``.

    NOTE: TF's smart_cond merges the two branches' shapes; SelectV2 would broadcast them with the flag,
    whose rank is unknown when it is an unshaped placeholder, and so lose the shape. TF1's Select (a
    scalar condition picks a whole input) has the branches' shape whatever the flag's.
    """
    return gather.select(flag, a, b)


def _dropout(x: Tensor, rate, noise_shape, seed, training) -> Tensor:
    return _select_training(training, lambda: nn_ops.dropout(x, rate=rate, noise_shape=noise_shape, seed=seed),
                            lambda: array.identity(x))


def _flatten(x: Tensor, data_format="channels_last") -> Tensor:
    """Reshape to (batch, everything else); a channels-first input is made channels-last first (TF)."""
    if _data_format(data_format) == "NCHW" and x.shape.ndims and x.shape.ndims > 2:
        x = array.transpose(x, [0] + list(range(2, x.shape.ndims)) + [1])
    inner = x.shape.as_list()[1:]
    if all(d is not None for d in inner):
        return array.reshape(x, [-1, int(np.prod(inner))])
    from .ops.indexing import stack

    return array.reshape(x, stack([array.shape(x)[0], -1]))


# ---- the base class ---------------------------------------------------------------------------------
class Layer:
    """TF1's ``tf.layers.Layer``: variables made in ``build`` on the first call, reused on later ones.

    Subclasses define ``build(input_shape)`` (making variables with :meth:`add_weight`) and
    ``call(inputs, ...)``.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.reset_default_graph()
    >>> x = tf.placeholder(tf.float32, [None, 4])
    >>> layer = tf.layers.Dense(3)
    >>> y1, y2 = layer(x), layer(x * 2.0)
    >>> [v.name for v in layer.variables], layer.kernel.name
    (['dense/kernel:0', 'dense/bias:0'], 'dense/kernel:0')
    """

    def __init__(self, trainable: bool = True, name: str | None = None, dtype=None, activity_regularizer=None,
                 _scope=None, _reuse=None, **kwargs):
        if kwargs:
            raise TypeError(f"Keyword argument not understood: {sorted(kwargs)}")
        self.trainable = trainable
        self.built = False
        self.dtype = None if dtype is None else dtypes.as_dtype(dtype)
        self.activity_regularizer = activity_regularizer
        self._name = name
        self._base_name = name or _snake_case(type(self).__name__)
        self._reuse = _reuse
        self._scope = None
        self._current_scope = None
        if _scope:
            with variable_scope(_scope) as captured:
                self._scope = captured
        self._trainable_weights: list = []
        self._non_trainable_weights: list = []
        self._updates: list = []
        self._losses: list = []

    # ---- what subclasses provide ---------------------------------------------------------------------
    def build(self, input_shape: TensorShape) -> None:
        """Make the layer's variables (with :meth:`add_weight`) for inputs of ``input_shape``."""

    def call(self, inputs, **kwargs):
        return inputs

    # ---- applying the layer ----------------------------------------------------------------------------
    def _set_scope(self, scope=None):
        if self._scope is None:
            if self._reuse:
                with variable_scope(scope if scope is not None else self._base_name) as captured:
                    self._scope = captured
            else:
                with variable_scope(scope, default_name=self._base_name) as captured:
                    self._scope = captured

    def __call__(self, inputs, *args, **kwargs):
        """Apply the layer: build it on the first call (in its own variable scope), then ``call`` it."""
        self._set_scope(kwargs.pop("scope", None))
        if not isinstance(inputs, (list, tuple)):
            inputs = convert_to_tensor(inputs)
        n_updates = len(self._updates)
        reuse = True if self.built else self._reuse
        with variable_scope(self._scope, reuse=reuse, auxiliary_name_scope=False) as scope, \
                get_default_graph().name_scope(self._scope.original_name_scope):
            self._current_scope = scope
            if not self.built:
                first = inputs[0] if isinstance(inputs, (list, tuple)) else inputs
                if self.dtype is None and isinstance(first, Tensor):
                    self.dtype = first.dtype  # TF1's layers take their dtype from their first input
                self.build(first.shape if isinstance(first, Tensor) else TensorShape(None))
                self.built = True
            outputs = self.call(inputs, *args, **kwargs)
            if self.activity_regularizer is not None:
                with name_scope("ActivityRegularizer"):
                    loss = self.activity_regularizer(outputs)
                    if loss is not None:
                        # NOTE: divided by the batch size, as TF's layers do (batch-size-agnostic strength)
                        batch = math.cast(array.shape(outputs)[0], loss.dtype)
                        self.add_loss(math.truediv(loss, batch))
        updates = get_default_graph().get_collection_ref(GraphKeys.UPDATE_OPS)
        for op in self._updates[n_updates:]:
            if op not in updates:
                updates.append(op)
        return outputs

    def apply(self, inputs, *args, **kwargs):
        return self(inputs, *args, **kwargs)

    def add_weight(self, name: str, shape, dtype=None, initializer=None, regularizer=None, trainable: bool = True,
                   constraint=None, partitioner=None):
        """``tf.get_variable(name, ...)`` in the layer's scope, recorded as one of its variables."""
        trainable = bool(trainable and self.trainable)
        self._set_scope()
        with variable_scope(self._scope, reuse=True if self.built else self._reuse, auxiliary_name_scope=False):
            var = get_variable(name, shape, dtype=dtype or self.dtype or dtypes.float32, initializer=initializer,
                               regularizer=regularizer, trainable=trainable, constraint=constraint,
                               partitioner=partitioner)
        (self._trainable_weights if trainable else self._non_trainable_weights).append(var)
        return var

    def add_update(self, updates):
        self._updates.extend(updates if isinstance(updates, (list, tuple)) else [updates])

    def add_loss(self, losses):
        for loss in losses if isinstance(losses, (list, tuple)) else [losses]:
            self._losses.append(loss)
            add_to_collection(GraphKeys.REGULARIZATION_LOSSES, loss)

    # ---- what the layer holds ------------------------------------------------------------------------
    @property
    def name(self) -> str:
        if self._name:
            return self._name
        return self._scope.name.rsplit("/", 1)[-1] if self._scope is not None else self._base_name

    @property
    def scope_name(self) -> str:
        if self._scope is None:
            raise ValueError(f'No name available for layer scope because the layer "{self.name}" has not been '
                             "used yet. The scope name is determined the first time the layer instance is called.")
        return self._scope.name

    @property
    def trainable_weights(self) -> list:
        return list(self._trainable_weights) if self.trainable else []

    @property
    def non_trainable_weights(self) -> list:
        if self.trainable:
            return list(self._non_trainable_weights)
        return self._trainable_weights + self._non_trainable_weights

    @property
    def weights(self) -> list:
        return self.trainable_weights + self.non_trainable_weights

    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights
    variables = weights

    @property
    def updates(self) -> list:
        return list(self._updates)

    @property
    def losses(self) -> list:
        return list(self._losses)


# ---- dense and convolution ----------------------------------------------------------------------------
class Dense(Layer):
    """A fully connected layer: ``activation(inputs @ kernel + bias)``."""

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer=None,
                 bias_initializer=init_ops.zeros_initializer(), kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, trainable=True, name=None,
                 **kwargs):
        super().__init__(trainable=trainable, name=name, activity_regularizer=activity_regularizer, **kwargs)
        self.units = int(units)
        self.activation = activation
        self.use_bias = use_bias
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer
        self.kernel_constraint, self.bias_constraint = kernel_constraint, bias_constraint
        self.kernel = self.bias = None

    def build(self, input_shape):
        in_dim = input_shape[-1].value if input_shape.ndims else None
        if in_dim is None:
            raise ValueError("The last dimension of the inputs to `Dense` should be defined. Found `None`.")
        self.kernel = self.add_weight("kernel", [in_dim, self.units], initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        if self.use_bias:
            self.bias = self.add_weight("bias", [self.units], initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)

    def call(self, inputs):
        out = _dense_matmul(inputs, self.kernel)
        if self.bias is not None:
            out = nn_ops.bias_add(out, self.bias)
        return self.activation(out) if self.activation is not None else out


class Conv2D(Layer):
    """A 2-D convolution with ``kernel`` (kh, kw, in, filters) and ``bias`` (filters)."""

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format="channels_last",
                 dilation_rate=(1, 1), activation=None, use_bias=True, kernel_initializer=None,
                 bias_initializer=init_ops.zeros_initializer(), kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, trainable=True, name=None,
                 **kwargs):
        super().__init__(trainable=trainable, name=name, activity_regularizer=activity_regularizer, **kwargs)
        self.filters = int(filters)
        self.kernel_size, self.strides, self.dilation_rate = _pair(kernel_size), _pair(strides), _pair(dilation_rate)
        self.padding = padding.upper()
        self.data_format = _data_format(data_format)
        self.activation, self.use_bias = activation, use_bias
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer
        self.kernel_constraint, self.bias_constraint = kernel_constraint, bias_constraint
        self.kernel = self.bias = None

    def build(self, input_shape):
        channels = input_shape[-1 if self.data_format == "NHWC" else 1].value if input_shape.ndims else None
        if channels is None:
            raise ValueError("The channel dimension of the inputs should be defined. Found `None`.")
        self.kernel = self.add_weight("kernel", self._kernel_shape(channels), initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        if self.use_bias:
            self.bias = self.add_weight("bias", [self.filters], initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)

    def _kernel_shape(self, channels: int) -> list:
        return [*self.kernel_size, channels, self.filters]

    def call(self, inputs):
        (sh, sw), (dh, dw) = self.strides, self.dilation_rate
        nhwc = self.data_format == "NHWC"
        out = conv.conv2d(inputs, self.kernel, [1, sh, sw, 1] if nhwc else [1, 1, sh, sw], self.padding,
                          data_format=self.data_format, dilations=[1, dh, dw, 1] if nhwc else [1, 1, dh, dw])
        if self.bias is not None:
            out = nn_ops.bias_add(out, self.bias, data_format=self.data_format)
        return self.activation(out) if self.activation is not None else out


def _deconv_length(size, kernel: int, padding: str, stride: int):
    """TF's ``deconv_output_length``: the spatial size a transposed convolution produces."""
    if size is None:
        return None
    size *= stride
    return size + max(kernel - stride, 0) if padding == "VALID" else size


class Conv2DTranspose(Conv2D):
    """The transpose of :class:`Conv2D` (a "deconvolution"): ``kernel`` is (kh, kw, filters, in) and each
    spatial dimension grows by ``strides`` (plus ``kernel - stride`` with ``"valid"`` padding), as TF's.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.reset_default_graph()
    >>> y = tf.layers.conv2d_transpose(tf.zeros([2, 4, 4, 3]), 5, 3, strides=2, padding="same")
    >>> y.shape.as_list(), tf.trainable_variables()[0].shape.as_list()
    ([2, 8, 8, 5], [3, 3, 5, 3])
    """

    def _kernel_shape(self, channels: int) -> list:
        return [*self.kernel_size, self.filters, channels]

    def call(self, inputs):
        from .ops.indexing import stack

        nhwc = self.data_format == "NHWC"
        (sh, sw), (kh, kw) = self.strides, self.kernel_size
        hw = inputs.shape.as_list()[1:3] if nhwc else inputs.shape.as_list()[2:4]
        dyn = array.shape(inputs)
        h = _deconv_length(hw[0], kh, self.padding, sh)
        w = _deconv_length(hw[1], kw, self.padding, sw)
        h_t = h if h is not None else dyn[1 if nhwc else 2] * sh + (max(kh - sh, 0) if self.padding == "VALID" else 0)
        w_t = w if w is not None else dyn[2 if nhwc else 3] * sw + (max(kw - sw, 0) if self.padding == "VALID" else 0)
        dims = [dyn[0], h_t, w_t, self.filters] if nhwc else [dyn[0], self.filters, h_t, w_t]
        out = conv.conv2d_transpose(inputs, self.kernel, stack(dims), [1, sh, sw, 1] if nhwc else [1, 1, sh, sw],
                                    self.padding, data_format=self.data_format)
        batch = inputs.shape[0].value if inputs.shape.ndims else None
        out.set_shape([batch, h, w, self.filters] if nhwc else [batch, self.filters, h, w])
        if self.bias is not None:
            out = nn_ops.bias_add(out, self.bias, data_format=self.data_format)
        return self.activation(out) if self.activation is not None else out


# ---- layers without variables ---------------------------------------------------------------------------
class _Pooling2D(Layer):
    _kind = ""

    def __init__(self, pool_size, strides, padding="valid", data_format="channels_last", name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.pool_size, self.strides, self.padding = pool_size, strides, padding
        self.data_format = data_format

    def call(self, inputs):
        return _pool(self._kind, inputs, self.pool_size, self.strides, self.padding, self.data_format)


class MaxPooling2D(_Pooling2D):
    """2-D max pooling."""

    _kind = "max"


class AveragePooling2D(_Pooling2D):
    """2-D average pooling."""

    _kind = "avg"


class Dropout(Layer):
    """Drop units with probability ``rate`` when called with ``training`` (scaling the rest by 1 / (1 - rate))."""

    def __init__(self, rate=0.5, noise_shape=None, seed=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.rate, self.noise_shape, self.seed = rate, noise_shape, seed

    def call(self, inputs, training=False):
        return _dropout(inputs, self.rate, self.noise_shape, self.seed, training)


class Flatten(Layer):
    """Reshape to (batch, everything else)."""

    def __init__(self, data_format="channels_last", name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.data_format = data_format

    def call(self, inputs):
        return _flatten(inputs, self.data_format)


# ---- batch normalization -------------------------------------------------------------------------------
class BatchNormalization(Layer):
    """Batch normalization; called with ``training`` its moving averages update through ``UPDATE_OPS``.

    As in TF, run ``tf.get_collection(tf.GraphKeys.UPDATE_OPS)`` with the train op (e.g. under
    ``tf.control_dependencies``) to update ``moving_mean`` and ``moving_variance``:
    ``moving -= (moving - batch_statistic) * (1 - momentum)``, the batch variance being Bessel-corrected
    on the fused path (see the module docstring). Batch renormalization, virtual batches, ``adjustment``
    and several normalized axes are not implemented (NotImplementedError).
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer=init_ops.zeros_initializer(), gamma_initializer=init_ops.ones_initializer(),
                 moving_mean_initializer=init_ops.zeros_initializer(),
                 moving_variance_initializer=init_ops.ones_initializer(), beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None, renorm=False,
                 renorm_clipping=None, renorm_momentum=0.99, fused=None, trainable=True, virtual_batch_size=None,
                 adjustment=None, name=None, **kwargs):
        super().__init__(trainable=trainable, name=name, **kwargs)
        if renorm:
            raise NotImplementedError("batch_normalization: batch renormalization (renorm=True) is not implemented")
        if virtual_batch_size is not None:
            raise NotImplementedError("batch_normalization: virtual_batch_size is not implemented")
        if adjustment is not None:
            raise NotImplementedError("batch_normalization: adjustment is not implemented")
        if isinstance(axis, (list, tuple)):
            if len(axis) != 1:
                raise NotImplementedError(f"batch_normalization over several axes ({axis}) is not implemented")
            axis = axis[0]
        self.axis, self.momentum, self.epsilon = int(axis), momentum, epsilon
        self.center, self.scale, self.fused = center, scale, fused
        self.beta_initializer, self.gamma_initializer = beta_initializer, gamma_initializer
        self.moving_mean_initializer = moving_mean_initializer
        self.moving_variance_initializer = moving_variance_initializer
        self.beta_regularizer, self.gamma_regularizer = beta_regularizer, gamma_regularizer
        self.beta_constraint, self.gamma_constraint = beta_constraint, gamma_constraint
        self.gamma = self.beta = self.moving_mean = self.moving_variance = None

    def build(self, input_shape):
        ndims = input_shape.ndims
        if ndims is None:
            raise ValueError("Input has undefined rank.")
        if not -ndims <= self.axis < ndims:
            raise ValueError(f"Invalid axis: {self.axis}")
        self._axis = self.axis % ndims
        depth = input_shape[self._axis].value
        if depth is None:
            raise ValueError(f"Input has undefined `axis` dimension. Input shape: {input_shape}")
        # TF1: the fused kernel wherever it applies, unless fused=False
        self._fused = (self.fused is not False and ndims in (4, 5) and self._axis in (1, ndims - 1)
                       and self.dtype in (dtypes.float16, dtypes.float32))
        # TF: float16 inputs are normalized in float32, with float32 variables
        self._param_dtype = dtypes.float32 if self.dtype is dtypes.float16 else self.dtype
        pdt = self._param_dtype
        if self.scale:
            self.gamma = self.add_weight("gamma", [depth], dtype=pdt, initializer=self.gamma_initializer,
                                         regularizer=self.gamma_regularizer, constraint=self.gamma_constraint)
        if self.center:
            self.beta = self.add_weight("beta", [depth], dtype=pdt, initializer=self.beta_initializer,
                                        regularizer=self.beta_regularizer, constraint=self.beta_constraint)
        self.moving_mean = self.add_weight("moving_mean", [depth], dtype=pdt,
                                           initializer=self.moving_mean_initializer, trainable=False)
        self.moving_variance = self.add_weight("moving_variance", [depth], dtype=pdt,
                                               initializer=self.moving_variance_initializer, trainable=False)

    def _fused_normalize(self, x, training: bool):
        """``(y, mean, variance)`` from ``tf.nn.fused_batch_norm`` (batch statistics when training)."""
        nd = x.shape.ndims
        fmt = ("NCHW" if nd == 4 else "NCDHW") if self._axis == 1 else ("NHWC" if nd == 4 else "NDHWC")
        depth = self.moving_mean.shape.as_list()
        gamma = self.gamma if self.gamma is not None else array.ones(depth, self._param_dtype)
        beta = self.beta if self.beta is not None else array.zeros(depth, self._param_dtype)
        if training:
            return nn_ops.fused_batch_norm(x, gamma, beta, epsilon=self.epsilon, data_format=fmt, is_training=True)
        return nn_ops.fused_batch_norm(x, gamma, beta, mean=self.moving_mean, variance=self.moving_variance,
                                       epsilon=self.epsilon, data_format=fmt, is_training=False)

    def _composite_normalize(self, x, training: bool):
        """``(y, mean, variance)`` composed from moments (biased variance) and ``batch_normalization``."""
        nd = x.shape.ndims
        bshape = [1] * nd
        bshape[self._axis] = -1
        xc = math.cast(x, self._param_dtype) if x.dtype is not self._param_dtype else x

        def b(v):
            return None if v is None else (v if self._axis == nd - 1 else array.reshape(v, bshape))

        if training:
            mean, var = nn_ops.moments(xc, [i for i in range(nd) if i != self._axis])
        else:
            mean, var = self.moving_mean.value(), self.moving_variance.value()
        y = nn_ops.batch_normalization(xc, b(mean), b(var), b(self.beta), b(self.gamma), self.epsilon)
        return (math.cast(y, x.dtype) if y.dtype is not x.dtype else y), mean, var

    def call(self, inputs, training=False):
        normalize = self._fused_normalize if self._fused else self._composite_normalize
        if isinstance(training, (bool, np.bool_)) and not training:
            return normalize(inputs, False)[0]
        y, mean, var = normalize(inputs, True)
        decay = 1.0 - self.momentum
        flag = None if isinstance(training, (bool, np.bool_)) else convert_to_tensor(training, dtype=dtypes.bool_)
        for moving, batch in ((self.moving_mean, mean), (self.moving_variance, var)):
            # NOTE: TF's moving-average update: moving -= (moving - batch) * (1 - momentum)
            new = moving.value() - (moving.value() - batch) * decay
            if flag is not None:
                new = _switch(flag, new, moving.value())
            self.add_update(moving.assign(new).op)
        if flag is None:
            return y
        return _switch(flag, y, normalize(inputs, False)[0])


# ---- the functional forms -------------------------------------------------------------------------------
def dense(inputs, units, activation=None, use_bias=True, kernel_initializer=None,
          bias_initializer=init_ops.zeros_initializer(), kernel_regularizer=None, bias_regularizer=None,
          activity_regularizer=None, kernel_constraint=None, bias_constraint=None, trainable=True, name=None,
          reuse=None):
    """A fully connected layer: ``activation(inputs @ kernel + bias)``.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.reset_default_graph()
    >>> x = tf.placeholder(tf.float32, [None, 4])
    >>> y = tf.layers.dense(x, 3, activation=tf.nn.relu)
    >>> [v.name for v in tf.trainable_variables()]
    ['dense/kernel:0', 'dense/bias:0']
    """
    layer = Dense(units, activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
                  bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                  bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                  kernel_constraint=kernel_constraint, bias_constraint=bias_constraint, trainable=trainable,
                  name=name, _scope=name, _reuse=reuse)
    return layer.apply(inputs)


def conv2d(inputs, filters, kernel_size, strides=(1, 1), padding="valid", data_format="channels_last",
           dilation_rate=(1, 1), activation=None, use_bias=True, kernel_initializer=None,
           bias_initializer=init_ops.zeros_initializer(), kernel_regularizer=None, bias_regularizer=None,
           activity_regularizer=None, kernel_constraint=None, bias_constraint=None, trainable=True, name=None,
           reuse=None):
    """A 2-D convolution layer with variables ``conv2d/kernel`` (kh, kw, in, filters) and ``conv2d/bias``."""
    layer = Conv2D(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                   dilation_rate=dilation_rate, activation=activation, use_bias=use_bias,
                   kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                   kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                   activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                   bias_constraint=bias_constraint, trainable=trainable, name=name, _scope=name, _reuse=reuse)
    return layer.apply(inputs)


def max_pooling2d(inputs, pool_size, strides, padding="valid", data_format="channels_last", name=None):
    """2-D max pooling."""
    return MaxPooling2D(pool_size, strides, padding=padding, data_format=data_format, name=name).apply(inputs)


def average_pooling2d(inputs, pool_size, strides, padding="valid", data_format="channels_last", name=None):
    """2-D average pooling."""
    return AveragePooling2D(pool_size, strides, padding=padding, data_format=data_format, name=name).apply(inputs)


def dropout(inputs, rate=0.5, noise_shape=None, seed=None, training=False, name=None):
    """Drop units with probability ``rate`` when ``training`` (scaling the rest by 1 / (1 - rate))."""
    return Dropout(rate, noise_shape=noise_shape, seed=seed, name=name).apply(inputs, training=training)


def flatten(inputs, name=None, data_format="channels_last"):
    """Reshape to (batch, everything else)."""
    return Flatten(data_format=data_format, name=name).apply(inputs)


def batch_normalization(inputs, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                        beta_initializer=init_ops.zeros_initializer(),
                        gamma_initializer=init_ops.ones_initializer(),
                        moving_mean_initializer=init_ops.zeros_initializer(),
                        moving_variance_initializer=init_ops.ones_initializer(), beta_regularizer=None,
                        gamma_regularizer=None, beta_constraint=None, gamma_constraint=None, training=False,
                        trainable=True, name=None, reuse=None, renorm=False, renorm_clipping=None,
                        renorm_momentum=0.99, fused=None, virtual_batch_size=None, adjustment=None):
    """Batch normalization (:class:`BatchNormalization` applied once); in training its moving averages
    update through ``UPDATE_OPS``."""
    layer = BatchNormalization(
        axis=axis, momentum=momentum, epsilon=epsilon, center=center, scale=scale,
        beta_initializer=beta_initializer, gamma_initializer=gamma_initializer,
        moving_mean_initializer=moving_mean_initializer, moving_variance_initializer=moving_variance_initializer,
        beta_regularizer=beta_regularizer, gamma_regularizer=gamma_regularizer, beta_constraint=beta_constraint,
        gamma_constraint=gamma_constraint, renorm=renorm, renorm_clipping=renorm_clipping,
        renorm_momentum=renorm_momentum, fused=fused, trainable=trainable, virtual_batch_size=virtual_batch_size,
        adjustment=adjustment, name=name, _scope=name, _reuse=reuse)
    return layer.apply(inputs, training=training)


# TF1's aliases
Convolution2D = Conv2D
Convolution2DTranspose = Deconvolution2D = Conv2DTranspose


def conv2d_transpose(inputs, filters, kernel_size, strides=(1, 1), padding="valid", data_format="channels_last",
                     activation=None, use_bias=True, kernel_initializer=None,
                     bias_initializer=init_ops.zeros_initializer(), kernel_regularizer=None, bias_regularizer=None,
                     activity_regularizer=None, kernel_constraint=None, bias_constraint=None, trainable=True, name=None,
                     reuse=None):
    """A transposed 2-D convolution (:class:`Conv2DTranspose` applied once)."""
    args = dict(locals())  # every argument but these is the layer's own, by the same name
    del args["inputs"], args["reuse"]
    return Conv2DTranspose(**args, _scope=name, _reuse=reuse).apply(inputs)

MaxPool2D = MaxPooling2D
AvgPool2D = AveragePooling2D
