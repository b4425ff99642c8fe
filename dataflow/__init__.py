"""dataflow: TensorFlow 1.x graphs, executed through Dask.

``import dataflow as tf`` and write TF1 graph-mode code::

    import dataflow as tf
    a = tf.placeholder("float")
    y = a * 2
    with tf.Session() as sess:
        print(sess.run(y, feed_dict={a: 3}))
"""

from . import errors, ops  # noqa: F401  (ops registers every op family)
from . import contrib, layers, nn, train  # noqa: F401
from . import losses, metrics  # noqa: F401
from .ops.nn_ops import reduce_logsumexp  # noqa: F401
from . import test  # noqa: F401
from .autodiff import gradients, hessians  # noqa: F401
from .ops.gradient_ops import custom_gradient, identity_n  # noqa: F401
from .framework.device import DeviceSpec  # noqa: F401
from .framework.dtypes import (  # noqa: F401
    DType, as_dtype, bool_ as bool, complex64, complex128, double, float16, float32, float64, half, int8,
    int16, int32, int64, string, uint8, uint16, uint32, uint64)
from .framework.graph import (  # noqa: F401
    Graph, GraphKeys, Operation, Tensor, add_to_collection, add_to_collections, control_dependencies,
    convert_to_tensor, device, get_collection, get_collection_ref, get_default_graph, name_scope,
    register_tensor_conversion_function, reset_default_graph)
from .framework.registry import NotDifferentiable, RegisterGradient  # noqa: F401
from .framework.tensor_shape import Dimension, TensorShape  # noqa: F401
from .ops.array import (  # noqa: F401
    broadcast_to, expand_dims, fill, identity, ones, ones_like, rank, reshape, shape, size, squeeze,
    stop_gradient, transpose, zeros, zeros_like)
from .ops.clip_ops import *  # noqa: F401,F403  (its __all__: clip_by_value, clip_by_norm, global_norm ...)
from .ops.constant import constant, group, no_op, placeholder, placeholder_with_default  # noqa: F401
from .ops.constant import tuple_ as tuple  # noqa: F401
from .ops.indexing import *  # noqa: F401,F403  (its __all__ is the public indexing API)
from .ops.init_ops import (  # noqa: F401
    constant_initializer, glorot_normal_initializer, glorot_uniform_initializer, ones_initializer,
    random_normal_initializer, random_uniform_initializer, truncated_normal_initializer,
    variance_scaling_initializer, zeros_initializer)
from .ops.linalg import matmul  # noqa: F401
from .ops.math import (  # noqa: F401
    abs, add, add_n, cast, ceil, cos, div, divide, equal, exp, expm1, floor, floor_div, floordiv, floormod,
    greater, greater_equal, is_finite, is_inf, is_nan, less, less_equal, log, log1p, logical_and,
    logical_not, logical_or, logical_xor, maximum, minimum, mod, mul, multiply, neg, negative, not_equal,
    pow, realdiv, reciprocal, round, rsqrt, sigmoid, sign, sin, sqrt, square, squared_difference, sub,
    subtract, tan, tanh, to_double, to_float, to_int32, to_int64, truediv)
from .ops.random import (  # noqa: F401
    random_normal, random_shuffle, random_uniform, set_random_seed, truncated_normal)
from .ops.reduction import (  # noqa: F401
    argmax, argmin, cumsum, reduce_all, reduce_any, reduce_max, reduce_mean, reduce_min, reduce_prod,
    reduce_sum)
from .ops.state import assign, assign_add, assign_sub  # noqa: F401
from .ops.variable_scope import (  # noqa: F401
    AUTO_REUSE, VariableScope, get_variable, get_variable_scope, variable_op_scope, variable_scope)
from .ops.variables import (  # noqa: F401
    Variable, all_variables, global_variables, global_variables_initializer, initialize_all_variables,
    initialize_local_variables, initialize_variables, is_variable_initialized, local_variables,
    local_variables_initializer, model_variables, report_uninitialized_variables, trainable_variables,
    variables_initializer)
from .runtime.session import (  # noqa: F401
    ConfigProto, GPUOptions, GraphOptions, InteractiveSession, OptimizerOptions, RunMetadata, RunOptions,
    Session, get_default_session)

newaxis = None
__version__ = "0.1.0"
from .ops.linalg import *  # noqa: F401,F403,E402
from .ops.sequence_ops import *  # noqa: F401,F403,E402
from . import app, compat, debugging, dtypes, flags, initializers, linalg, logging, math, random  # noqa: E402,F401
from .compat.v1 import (  # noqa: E402,F401
    disable_eager_execution, disable_v2_behavior, enable_eager_execution, executing_eagerly)
from .logging import get_logger  # noqa: E402,F401
from .ops.check_ops import (  # noqa: E402,F401
    Assert, Print, add_check_numerics_ops, assert_equal, assert_greater, assert_greater_equal, assert_integer,
    assert_less, assert_less_equal, assert_near, assert_negative, assert_non_negative, assert_non_positive,
    assert_none_equal, assert_positive, assert_proper_iterable, assert_rank, assert_rank_at_least, assert_scalar,
    assert_type, check_numerics, is_numeric_tensor, verify_tensor_all_finite)
from .ops.check_ops import print_v2 as print  # noqa: E402,F401,A001 (TF's name)
from .ops.init_ops import orthogonal_initializer, uniform_unit_scaling_initializer  # noqa: E402,F401
from .ops.math_more import div_no_nan, log_sigmoid, scalar_mul  # noqa: E402,F401
from .ops.multinomial import multinomial  # noqa: E402,F401
from .ops.random import get_seed  # noqa: E402,F401
from .ops.script_ops import numpy_function, py_func  # noqa: E402,F401
# control flow (issue 8): functional While/If, TensorArray
from .framework.dtypes import variant  # noqa: E402,F401
from .ops.control_flow import case, cond, while_loop  # noqa: E402,F401
from .ops.tensor_array import TensorArray  # noqa: E402,F401
# Input pipelines (records branch): TFRecord files, gfile, Example protos, parsing ops.
from . import gfile, io, python_io  # noqa: E402,F401
from . import image, sparse  # noqa: E402,F401
from .framework.sparse_tensor import SparseTensor, SparseTensorValue  # noqa: E402,F401
from .ops.decode_ops import decode_csv, decode_raw, string_split  # noqa: E402,F401
from .ops.parsing_ops import (  # noqa: E402,F401
    FixedLenFeature, FixedLenSequenceFeature, VarLenFeature, parse_example, parse_single_example)
from .ops.sequence_example_ops import parse_single_sequence_example  # noqa: E402,F401
from .ops.sparse_ops import sparse_tensor_to_dense, sparse_to_dense  # noqa: E402,F401
# Input pipelines (tfdata branch): TF1 queues and readers, tf.data.
from . import data, queue  # noqa: E402,F401
from .ops.data_flow_ops import FIFOQueue, PaddingFIFOQueue, QueueBase, RandomShuffleQueue, count_up_to  # noqa: E402,F401
from .ops.io_ops import (  # noqa: E402,F401
    FixedLengthRecordReader, ReaderBase, TextLineReader, TFRecordReader, WholeFileReader)
# graph rewrites, GraphDef export, dataflow.debug (issue 8, part 2)
from . import debug  # noqa: E402,F401
from .rewrite import RewriterConfig  # noqa: E402,F401
# summaries and TF 0.x summary names (issue 10)
from . import summary  # noqa: E402,F401
from .ops.summary_ops import (  # noqa: E402,F401
    audio_summary, histogram_summary, image_summary, merge_all_summaries, scalar_summary)
from .ops.summary_ops import merge as merge_summary  # noqa: E402,F401
from .ops.check_ops_more import (  # noqa: E402,F401
    assert_rank_in, assert_same_float_dtype, is_non_decreasing, is_strictly_increasing)
# ---- issue 13: TF1 surface gaps (aliases, string parsing, truncating division) ----
from .ops.math import truncatediv, truncatemod  # noqa: E402,F401
from .ops.reduction import argmax as arg_max, argmin as arg_min  # noqa: E402,F401
from .ops.string_ops import string_to_number  # noqa: E402,F401
from .framework.indexed_slices import IndexedSlices, IndexedSlicesValue  # noqa: E402,F401
from .ops.sparse_training import scatter_add, scatter_sub, scatter_update  # noqa: E402,F401
from .ops.check_ops_more import (  # noqa: E402,F401
    assert_rank_in, assert_same_float_dtype, is_non_decreasing, is_strictly_increasing)
from .ops.functional_ops import foldl, foldr, map_fn, scan  # noqa: E402,F401

# distributed training (issue 12): tf.cluster.LocalCluster / ProcessCluster; Session(target) dispatches itself
from . import cluster  # noqa: E402,F401

# ---- gaps2: meta graphs, partitioned variables, sparse placeholders, JPEG ----
from .framework.importer import import_graph_def  # noqa: E402,F401
from .ops.partitioned_variables import (  # noqa: E402,F401
    PartitionedVariable, fixed_size_partitioner, min_max_variable_partitioner, variable_axis_size_partitioner)
from .ops.sparse_placeholder import sparse_placeholder  # noqa: E402,F401
from .ops.sparse_feature import SparseFeature, sparse_reorder  # noqa: E402,F401
from .ops.jpeg import decode_jpeg, encode_jpeg  # noqa: E402,F401  (tf.image.* too)
