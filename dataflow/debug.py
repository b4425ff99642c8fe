"""``dataflow.debug``: look at a graph and at a traced run.

* :func:`to_dot` draws a graph (or a ``GraphDef``, such as one of ``RunMetadata.partition_graphs``) as
  Graphviz dot text: one box per node labelled with its name and op type, an edge per input (dashed
  for control inputs), and each name scope as a nested ``cluster`` subgraph, as TensorBoard groups them.
* :func:`timeline` writes a traced run's ``RunMetadata`` as a Chrome trace (chrome://tracing, Perfetto).

Examples
--------
>>> import dataflow as tf
>>> with tf.Graph().as_default() as g:
...     with tf.name_scope("layer"):
...         y = tf.constant(1.0) + 2.0
>>> "subgraph cluster_layer" in dataflow.debug.to_dot(g)  # doctest: +SKIP
True
"""

from __future__ import annotations

import json

from .client.timeline import Timeline


def _q(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(graph_or_graph_def) -> str:
    """Graphviz dot text of a :class:`~dataflow.Graph` or a ``GraphDef``; name scopes become clusters.

    Parameters
    ----------
    graph_or_graph_def : Graph or GraphDef
        What to draw; a Graph is converted with ``as_graph_def()`` first.

    Returns
    -------
    str
        ``digraph G { ... }``, for ``dot -Tsvg`` or the ``graphviz`` package.
    """
    gd = graph_or_graph_def
    if hasattr(gd, "as_graph_def"):
        gd = gd.as_graph_def()
    tree: dict = {"nodes": [], "children": {}}  # scope tree: nodes directly in it, child scopes
    for node in gd.node:
        where = tree
        for part in node.name.split("/")[:-1]:
            where = where["children"].setdefault(part, {"nodes": [], "children": {}})
        where["nodes"].append(node)
    lines = ["digraph G {", "  node [shape=box, fontsize=10];"]

    def emit(scope: dict, path: str, depth: int):
        pad = "  " * depth
        for node in scope["nodes"]:
            label = _q(node.name.rsplit("/", 1)[-1])[:-1] + "\\n" + _q(node.op)[1:]  # name, newline, op type
            lines.append(f"{pad}{_q(node.name)} [label={label}];")
        for name, child in scope["children"].items():
            sub = f"{path}/{name}" if path else name
            lines.append(f"{pad}subgraph {_q('cluster_' + sub)} {{")
            lines.append(f"{pad}  label={_q(name)};")
            emit(child, sub, depth + 1)
            lines.append(f"{pad}}}")

    emit(tree, "", 1)
    for node in gd.node:
        for inp in node.input:
            if inp.startswith("^"):
                lines.append(f"  {_q(inp[1:])} -> {_q(node.name)} [style=dashed];")
            else:
                src, _, idx = inp.partition(":")
                label = f" [label={_q(idx)}]" if idx and idx != "0" else ""
                lines.append(f"  {_q(src)} -> {_q(node.name)}{label};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def timeline(run_metadata, path: str) -> str:
    """Write the op timings of a traced run (``RunOptions(trace_level=FULL_TRACE)``) to ``path`` as a
    Chrome trace; returns the JSON text written.

    Raises
    ------
    ValueError
        When ``run_metadata`` holds no step stats (the run was not traced).
    """
    if getattr(run_metadata, "step_stats", None) is None:
        raise ValueError("run_metadata has no step_stats: run with "
                         "options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE)")
    text = Timeline(run_metadata.step_stats).generate_chrome_trace_format()
    json.loads(text)  # it is JSON, or we fail here rather than in the viewer
    with open(path, "w") as f:
        f.write(text)
    return text
