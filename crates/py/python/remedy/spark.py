"""A fitted model applied to a PySpark DataFrame: ``detect``, ``explain``, ``recommend`` and
``counterfactual`` run on the executors through ``mapInArrow``, one Arrow batch at a time, with
the output schema declared up front. The model directory is shipped to the executors with
``SparkContext.addFile`` (or, with ``ship=False``, read from a path they share) and loaded once
per executor process. A row's answer does not depend on the partition it lands in: the answers
equal the single-process ones bit for bit.

>>> import remedy.spark
>>> causes = remedy.spark.explain(df, "model", keep=["application_id"])
>>> causes.write.parquet("causes.parquet")

Executors need the package (the same wheel as the driver) and ``PYSPARK_PYTHON`` pointing at a
Python that has it.
"""

from __future__ import annotations

import functools
import os
from typing import Any, Dict, Optional, Sequence

from ._errors import BadInput

__all__ = ["detect", "explain", "recommend", "counterfactual"]

# Models loaded in this process (an executor's Python worker), by path.
_MODELS: Dict[str, Any] = {}
# Model directories this driver has shipped with addFile.
_SHIPPED: Dict[str, str] = {}


def _load(path: str) -> Any:
    model = _MODELS.get(path)
    if model is None:
        from . import Model

        model = _MODELS[path] = Model.load(path)
    return model


def _resolve(location: str, shipped: bool) -> str:
    if not shipped:
        return location
    from pyspark import SparkFiles

    return SparkFiles.get(location)


def _apply(batches, location, shipped, command, settings, keep):
    """The mapper (module level, so that executors import it from the installed package)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    model = _load(_resolve(location, shipped))
    call = getattr(model._native, command)
    if command == "counterfactual":
        from . import _around

        for batch in batches:
            table = pa.Table.from_batches([batch])
            out = _around(table, call(table, **settings), model.features).combine_chunks()
            yield from out.to_batches()
        return
    for batch in batches:
        out = call(pa.Table.from_batches([batch]), **settings).combine_chunks()
        index = pc.subtract(out.column("row").combine_chunks(), 1).cast(pa.int64())
        arrays = [batch.column(batch.schema.get_field_index(k)).take(index) for k in keep]
        names = list(keep)
        for name in out.column_names:
            if name != "row":
                arrays.append(out.column(name).combine_chunks())
                names.append(name)
        yield pa.RecordBatch.from_arrays(arrays, names=names)


def _run(command: str, df: Any, model_path: str, keep: Optional[Sequence[str]], ship: bool,
         settings: Dict[str, Any]) -> Any:
    import pyarrow as pa
    from pyspark.sql.pandas.types import from_arrow_schema, to_arrow_schema

    keep = list(keep or [])
    missing = [c for c in keep if c not in df.columns]
    if missing:
        raise BadInput(f"keep: no column {', '.join(repr(c) for c in missing)} in the DataFrame")
    path = os.path.abspath(os.fspath(model_path))
    model = _load(path)  # on the driver: refuses an unreadable model before any job starts
    absent = [f for f in model.features if f not in df.columns]
    if absent:
        raise BadInput(f"data: missing column {', '.join(repr(c) for c in absent)}")
    # The output schema: the kept columns, then the answer's columns for no rows.
    arrow_in = to_arrow_schema(df.schema)
    empty = pa.Table.from_batches([], schema=arrow_in)
    answer = getattr(model._native, command)(empty, **settings)
    if command == "counterfactual":
        from . import _around

        fields = [f.with_nullable(True) for f in _around(empty, answer, model.features).schema]
    else:
        fields = [arrow_in.field(k) for k in keep]
        fields += [f.with_nullable(True) for f in answer.schema if f.name != "row"]
    schema = from_arrow_schema(pa.schema(fields))
    if ship:
        spark = df.sparkSession
        name = _SHIPPED.get(path)
        if name is None:
            spark.sparkContext.addFile(path, recursive=True)
            name = _SHIPPED[path] = os.path.basename(path)
        location = name
    else:
        location = path
    mapper = functools.partial(
        _apply, location=location, shipped=ship, command=command, settings=settings, keep=keep
    )
    return df.mapInArrow(mapper, schema)


def detect(df: Any, model_path: Any, *, keep: Optional[Sequence[str]] = None,
           ship: bool = True) -> Any:
    """``remedy detect`` on every row of ``df``: ``score, threshold, is_anomaly`` after the
    ``keep`` columns (an id, to join the answers back). A lazy DataFrame."""
    return _run("detect", df, model_path, keep, ship, {})


def explain(df: Any, model_path: Any, *, keep: Optional[Sequence[str]] = None,
            ship: bool = True, **settings: Any) -> Any:
    """``remedy explain`` (settings as :meth:`remedy.Model.explain`) on ``df``'s anomalous rows
    (every row with ``all=True``), the ``keep`` columns first. A lazy DataFrame."""
    return _run("explain", df, model_path, keep, ship, settings)


def recommend(df: Any, model_path: Any, *, keep: Optional[Sequence[str]] = None,
              ship: bool = True, **settings: Any) -> Any:
    """``remedy recommend`` (settings as :meth:`remedy.Model.recommend`, ``lambda_`` for
    ``--lambda``) on ``df``'s anomalous rows, the ``keep`` columns first. A lazy DataFrame."""
    return _run("recommend", df, model_path, keep, ship, settings)


def counterfactual(df: Any, model_path: Any, *, shift: Any = None, do: Any = None,
                   ship: bool = True) -> Any:
    """``remedy counterfactual`` on every row of ``df`` (``shift`` and ``do`` as
    :meth:`remedy.Model.counterfactual`): ``df``'s columns with the features' counterfactual
    values, then the detector's score and verdict before and after. A lazy DataFrame."""
    from . import _assignments

    settings = {"shift": _assignments(shift), "set": _assignments(do)}
    return _run("counterfactual", df, model_path, None, ship, settings)
