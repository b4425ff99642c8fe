"""``tf.gfile`` (TF 1.x) and ``tf.io.gfile`` (TF 1.13+): files on local disks and fsspec URLs.

Both namespaces are this module: TF1's names (``Exists``, ``MakeDirs``, ``ListDirectory``...) and
TF2's (``exists``, ``makedirs``, ``listdir``...) are the same functions, in ``pipelines.gfile``.

Examples
--------
>>> import dataflow as tf
>>> tf.gfile.MakeDirs("memory://gfile_ns_doc/sub")
>>> tf.io.gfile.isdir("memory://gfile_ns_doc/sub")
True
"""

from pipelines.gfile import *  # noqa: F401,F403
from pipelines.gfile import __all__  # noqa: F401
