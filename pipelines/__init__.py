"""Input pipelines: TFRecord framing (``records``), fsspec files and shards (``files``), Example protos
and parsing (``example``), Dask preprocessing jobs (``preprocess``).

``dataflow`` re-exports what users need (``tf.io``, ``tf.python_io``, ``tf.gfile``, ``tf.train.Example``);
this package is importable on its own too.
"""

import dataflow  # noqa: F401  (first: dataflow's namespaces import this package's modules)
