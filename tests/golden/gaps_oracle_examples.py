"""The serialized Examples of gaps_oracle.py's SparseFeature case, built without TensorFlow (for the tests)."""

import types


def sparse_examples(protos=None) -> list:
    """An index/value pair with unsorted indices, and a 2-D index pair (r, c) with fewer entries than
    values (TF merges them without checking), then an empty example and a one-entry one. ``protos``: a
    module with the Example classes (``tf.train`` in the oracle; default ``pipelines.example``)."""
    if protos is None:
        import pipelines.example as protos
    p = types.SimpleNamespace(**{n: getattr(protos, n) for n in ("Example", "Feature", "Features", "FloatList",
                                                                  "Int64List")})

    def ex(ix, val, r, c):
        feat = {"ix": p.Feature(int64_list=p.Int64List(value=ix)), "val": p.Feature(float_list=p.FloatList(value=val)),
                "r": p.Feature(int64_list=p.Int64List(value=r)), "c": p.Feature(int64_list=p.Int64List(value=c))}
        return p.Example(features=p.Features(feature=feat)).SerializeToString()

    return [ex([7, 2, 5], [0.5, 1.5, 2.5], [1, 0], [2, 3]), ex([], [], [], []), ex([9], [9.0], [2], [0])]
