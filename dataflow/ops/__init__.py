"""Every op family, imported here so the registry is complete whatever a user imports."""

from . import (  # noqa: F401
    array, constant, conv, gather, indexing, init_ops, linalg, math, random, reduction, state, training,
    variable_scope, variables)
from . import gradient_ops  # noqa: F401,E402
from . import nn_ops  # noqa: F401,E402
from . import clip_ops  # noqa: F401,E402
from . import sequence_ops  # noqa: F401,E402
from . import check_ops, linalg_qr, logging_ops, math_more, multinomial, script_ops  # noqa: F401,E402
from . import control_flow, control_flow_grad, tensor_array  # noqa: F401,E402
from . import decode_ops, parsing_ops, sparse_ops  # noqa: F401,E402
from . import png  # noqa: F401,E402
from . import data_flow_ops  # noqa: F401,E402
from . import iterator_ops  # noqa: F401,E402
from . import io_ops  # noqa: F401,E402
from . import fused  # noqa: F401,E402  (FusedElementwise: made by dataflow/rewrite, never by users)
from . import summary_ops  # noqa: F401,E402
from . import candidate_sampling, sparse_training, string_ops  # noqa: F401,E402
from . import sequence_example_ops  # noqa: F401,E402
from . import graph_compat  # noqa: F401,E402  (ops of graphs written by TensorFlow)
from . import jpeg, sparse_feature  # noqa: F401,E402
