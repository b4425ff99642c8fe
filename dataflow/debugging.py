"""``tf.debugging`` (TF 1.13+): assertions and numeric checks, the same objects as the top-level ones
(``tf.debugging.assert_equal is tf.assert_equal``).

Examples
--------
>>> import dataflow as tf
>>> x = tf.placeholder(tf.float32)
>>> with tf.control_dependencies([tf.debugging.assert_positive(x)]):
...     y = tf.log(x)
"""

from .ops.check_ops import (
    Assert, assert_all_finite, assert_equal, assert_greater, assert_greater_equal, assert_integer, assert_less,
    assert_less_equal, assert_near, assert_negative, assert_non_negative, assert_non_positive, assert_none_equal,
    assert_positive, assert_proper_iterable, assert_rank, assert_rank_at_least, assert_scalar, assert_type,
    check_numerics, is_numeric_tensor)
from .ops.check_ops_more import (
    assert_rank_in, assert_same_float_dtype, is_non_decreasing, is_strictly_increasing)
from .ops.math import is_finite, is_inf, is_nan

__all__ = ["Assert", "assert_all_finite", "assert_equal", "assert_greater", "assert_greater_equal", "assert_integer",
           "assert_less", "assert_less_equal", "assert_near", "assert_negative", "assert_non_negative",
           "assert_non_positive", "assert_none_equal", "assert_positive", "assert_proper_iterable", "assert_rank",
           "assert_rank_at_least", "assert_scalar", "assert_type", "check_numerics", "is_finite", "is_inf", "is_nan",
           "is_numeric_tensor", "assert_rank_in", "assert_same_float_dtype", "is_non_decreasing",
           "is_strictly_increasing"]
