"""``tf.train``: optimizers, learning-rate schedules and training helpers."""

from ..framework.graph import GraphKeys
from .adadelta import AdadeltaOptimizer
from .adagrad import AdagradOptimizer
from .adagrad_da import AdagradDAOptimizer
from .adam import AdamOptimizer
from .ftrl import FtrlOptimizer
from .gradient_descent import GradientDescentOptimizer
from .learning_rate_decay import (
    cosine_decay, exponential_decay, inverse_time_decay, natural_exp_decay, piecewise_constant, polynomial_decay)
from .momentum import MomentumOptimizer
from .moving_averages import ExponentialMovingAverage
from .optimizer import Optimizer
from .rmsprop import RMSPropOptimizer
from .training_util import create_global_step, get_global_step, get_or_create_global_step, global_step

__all__ = ["AdadeltaOptimizer", "ExponentialMovingAverage", "AdagradDAOptimizer", "AdagradOptimizer", "AdamOptimizer", "FtrlOptimizer",
           "GradientDescentOptimizer", "MomentumOptimizer", "Optimizer", "RMSPropOptimizer", "cosine_decay",
           "exponential_decay", "inverse_time_decay", "natural_exp_decay", "piecewise_constant",
           "polynomial_decay", "create_global_step", "get_global_step", "get_or_create_global_step",
           "global_step", "GraphKeys"]
# tf.train.Example and friends (records branch): protobuf messages wire-compatible with TensorFlow's.
from pipelines.example import (  # noqa: E402,F401
    BytesList, Example, Feature, FeatureList, FeatureLists, Features, FloatList, Int64List, SequenceExample)

# TF1 queue-based input pipelines (queues, runners, producers, batchers)
from .coordinator import Coordinator, LooperThread  # noqa: E402
from .input import (  # noqa: E402
    batch, batch_join, input_producer, limit_epochs, range_input_producer, shuffle_batch, shuffle_batch_join,
    slice_input_producer, string_input_producer)
from .queue_runner import QueueRunner, add_queue_runner, start_queue_runners  # noqa: E402

queue_runner = __import__("types").SimpleNamespace(QueueRunner=QueueRunner, add_queue_runner=add_queue_runner,
                                                   start_queue_runners=start_queue_runners)
__all__ += ["Coordinator", "LooperThread", "QueueRunner", "add_queue_runner", "batch", "batch_join",
            "input_producer", "limit_epochs", "queue_runner", "range_input_producer", "shuffle_batch",
            "shuffle_batch_join", "slice_input_producer", "start_queue_runners", "string_input_producer"]
from .server_lib import ClusterSpec, Server  # noqa: E402,F401 (distributed training)

__all__ += ["ClusterSpec", "Server"]


# checkpoints (issue 10)
from .saver import (
    CheckpointReader, NewCheckpointReader, Saver, checkpoint_exists, generate_checkpoint_state_proto,
    get_checkpoint_state, latest_checkpoint, list_variables, load_checkpoint, load_variable,
    update_checkpoint_state)

__all__ += ["CheckpointReader", "NewCheckpointReader", "Saver", "checkpoint_exists",
            "generate_checkpoint_state_proto", "get_checkpoint_state", "latest_checkpoint", "list_variables",
            "load_checkpoint", "load_variable", "update_checkpoint_state"]

from ..summary import FileWriter as SummaryWriter  # noqa: E402  (TF 0.x's name)
__all__ += ["SummaryWriter"]

# monitored sessions and hooks (issue 10)
from .basic_session_run_hooks import (  # noqa: E402
    CheckpointSaverHook, CheckpointSaverListener, FeedFnHook, FinalOpsHook, LoggingTensorHook,
    NanLossDuringTrainingError, NanTensorHook, SecondOrStepTimer, StepCounterHook, StopAtStepHook, SummarySaverHook)
from .monitored_session import (  # noqa: E402
    ChiefSessionCreator, MonitoredSession, MonitoredTrainingSession, Scaffold, SessionCreator,
    SingularMonitoredSession, WorkerSessionCreator)
from .session_run_hook import SessionRunArgs, SessionRunContext, SessionRunHook, SessionRunValues  # noqa: E402

__all__ += ["CheckpointSaverHook", "CheckpointSaverListener", "FeedFnHook", "FinalOpsHook", "LoggingTensorHook",
            "NanLossDuringTrainingError", "NanTensorHook", "SecondOrStepTimer", "StepCounterHook", "StopAtStepHook",
            "SummarySaverHook", "ChiefSessionCreator", "MonitoredSession", "MonitoredTrainingSession", "Scaffold",
            "SessionCreator", "SingularMonitoredSession", "WorkerSessionCreator", "SessionRunArgs",
            "SessionRunContext", "SessionRunHook", "SessionRunValues"]

# meta graphs (TF1 surface gaps)
from .meta_graph import export_meta_graph, import_meta_graph, read_meta_graph_file  # noqa: E402

__all__ += ["export_meta_graph", "import_meta_graph", "read_meta_graph_file"]
