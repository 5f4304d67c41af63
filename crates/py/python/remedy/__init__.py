"""Remedy: why did the anomaly detector fire, and what to do about it.

A thin Python face over the same Rust library as the ``remedy`` command-line tool: the same
models (a model directory written by ``remedy fit`` loads here and the other way round), the
same settings by the same names, the same output columns and the same numbers.

Tables go in as a pandas DataFrame (a DataFrame comes back) or anything that speaks the Arrow
PyCapsule interface: a pyarrow Table or RecordBatch, a polars DataFrame (a pyarrow Table comes
back).

>>> import remedy
>>> model = remedy.Model.fit(train, "graph.dot", seed=1)
>>> model.detect(rows)            # row, score, threshold, is_anomaly
>>> model.explain(rows)           # root causes with per-feature p-values
>>> model.recommend(rows)         # the cheapest action that makes each row normal
"""

from __future__ import annotations

import json
import os
import warnings
from typing import Any, Iterable, Iterator, Mapping, Optional, Sequence, Tuple, Union

from . import _remedy
from ._errors import BadInput, RemedyError

__all__ = ["Model", "BadInput", "RemedyError", "ts", "__version__"]
__version__: str = _remedy.__version__

PathLike = Union[str, "os.PathLike[str]"]
Graph = Union[PathLike, Sequence[Tuple[str, str]]]
Schema = Union[PathLike, Mapping[str, Any]]


def _is_pandas(data: Any) -> bool:
    return type(data).__module__.split(".")[0] == "pandas" and hasattr(data, "columns")


def _arrow_in(data: Any) -> Tuple[Any, bool]:
    """``data`` as something the native module reads (Arrow C stream), and whether the caller
    gave pandas (and so gets pandas back)."""
    if _is_pandas(data):
        import pyarrow as pa

        return pa.Table.from_pandas(data, preserve_index=False), True
    if hasattr(data, "__arrow_c_stream__"):
        return data, False
    if hasattr(data, "__arrow_c_array__"):
        import pyarrow as pa

        return pa.table(pa.record_batch(data)), False
    raise BadInput(
        f"data of type {type(data).__name__} is neither a pandas DataFrame nor an Arrow "
        "table (pyarrow, polars or any object with __arrow_c_stream__)"
    )


def _out(table: Any, pandas: bool) -> Any:
    return table.to_pandas() if pandas else table


def _graph(graph: Graph) -> Any:
    if isinstance(graph, (str, os.PathLike)):
        return os.fspath(graph)
    try:
        return [(str(s), str(t)) for s, t in graph]
    except (TypeError, ValueError):
        raise BadInput(
            "graph must be a file path (DOT, edge-list CSV, JSON) or a list of (source, target) "
            "pairs"
        ) from None


class Model:
    """A fitted model: anomaly detector, causal model, root-cause reference and recourse network.

    Create one with :meth:`Model.fit` or :meth:`Model.load`.
    """

    __slots__ = ("_native",)

    def __init__(self, native: "_remedy.Model") -> None:
        self._native = native

    @classmethod
    def fit(
        cls,
        train: Any,
        graph: Graph,
        schema: Optional[Schema] = None,
        *,
        seed: int = 0,
        detector: str = "ae",
        causal: str = "anm",
        recourse: str = "network",
        epochs: Optional[int] = None,
        pi: float = 0.125,
        missing: str = "impute",
        target: Optional[str] = None,
        target_quantile: Optional[float] = None,
        min_plausibility: Optional[float] = None,
    ) -> "Model":
        """Trains on normal rows, as ``remedy fit``.

        ``train``: normal rows (columns not in the graph are ignored). ``graph``: a DOT,
        edge-list CSV or JSON file, or a list of ``(source, target)`` pairs. ``schema``: a TOML
        file, or a dict of the same structure (``{"feature": [{"name": ..., "type": ...}]}``);
        inferred from the data when absent. The other settings are ``remedy fit``'s flags.
        """
        table, _ = _arrow_in(train)
        schema_path = schema_json = None
        if isinstance(schema, Mapping):
            schema_json = json.dumps(schema)
        elif schema is not None:
            schema_path = os.fspath(schema)
        model = cls(
            _remedy.Model.fit(
                table,
                _graph(graph),
                schema_path,
                schema_json,
                seed=seed,
                detector=detector,
                causal=causal,
                recourse=recourse,
                epochs=epochs,
                pi=pi,
                missing=missing,
                target=target,
                target_quantile=target_quantile,
                min_plausibility=min_plausibility,
            )
        )
        # The CLI's warnings, as Python warnings.
        m = model.manifest
        ignored = m.get("ignored_columns") or []
        if ignored:
            warnings.warn(
                f"{len(ignored)} column{'s' if len(ignored) > 1 else ''} of train not in the "
                f"graph, ignored: {', '.join(ignored)}",
                stacklevel=2,
            )
        filled = m.get("filled_cells") or 0
        if filled:
            warnings.warn(
                f"{filled} empty cell{'s' if filled > 1 else ''} of train filled by drawing from "
                "each column's observed values (missing='error' refuses them)",
                stacklevel=2,
            )
        return model

    @classmethod
    def load(cls, path: PathLike) -> "Model":
        """Loads a model directory written by :meth:`save` or ``remedy fit``."""
        return cls(_remedy.Model.load(os.fspath(path)))

    def save(self, path: PathLike, *, force: bool = False) -> None:
        """Writes the model directory (every file atomically); an existing non-empty directory
        only with ``force``, which replaces the model's files and leaves others alone."""
        self._native.save(os.fspath(path), force=force)

    @property
    def features(self) -> list:
        """The feature names, in the model's order."""
        return self._native.features

    @property
    def threshold(self) -> float:
        """The detector's threshold: a row scoring above it is anomalous."""
        return self._native.threshold

    @property
    def manifest(self) -> dict:
        """The model's ``remedy.json``: schema, graph, settings, root-cause candidates, the
        training and validation row counts, ignored columns, filled cells."""
        return json.loads(self._native.manifest_json)

    def detect(self, data: Any) -> Any:
        """Scores rows, as ``remedy detect``: columns ``row, score, threshold, is_anomaly``."""
        table, pandas = _arrow_in(data)
        return _out(self._native.detect(table), pandas)

    def explain(
        self,
        data: Any,
        *,
        all: bool = False,
        rule: str = "holm",
        alpha: Optional[float] = None,
        pi: Optional[float] = None,
        target: Optional[str] = None,
        long: bool = False,
    ) -> Any:
        """Root causes of the anomalous rows (every row with ``all``), as ``remedy explain``:
        per feature its score, calibrated p-value, rank and deviation, and the root-cause set
        by ``rule`` (``holm`` or ``bonferroni`` at ``alpha``, default 0.01; or the paper's
        ``quantile`` rule at ``pi``). ``target`` names a feature to explain instead of the
        detector's verdict; ``long`` gives one row per (row, feature)."""
        table, pandas = _arrow_in(data)
        out = self._native.explain(
            table, all=all, rule=rule, alpha=alpha, pi=pi, target=target, long=long
        )
        return _out(out, pandas)

    def recommend(
        self,
        data: Any,
        *,
        method: str = "auto",
        seed: Optional[int] = None,
        lambda_: Optional[float] = None,
        alpha: Optional[float] = None,
        target: Optional[str] = None,
        target_quantile: Optional[float] = None,
        min_plausibility: Optional[float] = None,
        rule: Optional[str] = None,
        root_cause_alpha: Optional[float] = None,
        pi: Optional[float] = None,
    ) -> Any:
        """For each anomalous row, the cheapest action on its root causes that makes it normal
        again, propagated through the graph, as ``remedy recommend``: the action per feature,
        the counterfactual row, its score, whether it flips, its plausibility. ``lambda_`` is
        the CLI's ``--lambda``; the other settings are its flags."""
        table, pandas = _arrow_in(data)
        out = self._native.recommend(
            table,
            method=method,
            seed=seed,
            lambda_=lambda_,
            alpha=alpha,
            target=target,
            target_quantile=target_quantile,
            min_plausibility=min_plausibility,
            rule=rule,
            root_cause_alpha=root_cause_alpha,
            pi=pi,
        )
        return _out(out, pandas)

    def counterfactual(self, data: Any, *, shift: Any = None, do: Any = None) -> Any:
        """Each row as it would have been under an intervention, keeping its own noise, as
        ``remedy counterfactual``: the input's columns with the features' counterfactual values,
        then ``score_before``, ``is_anomaly_before``, ``score_after``, ``is_anomaly_after`` and
        ``threshold``. ``shift`` adds to a feature's structural value, in its own units
        (continuous features); ``do`` sets it (a level's name for a categorical feature, 0 or
        1 for a binary one). Each is a mapping ``{name: value}`` or ``"NAME=VALUE"`` texts, as
        the CLI's flags."""
        import pyarrow as pa

        table, pandas = _arrow_in(data)
        table = pa.table(table)
        answer = self._native.counterfactual(
            table, shift=_assignments(shift), set=_assignments(do)
        )
        return _out(_around(table, answer, self.features), pandas)

    def intervene(
        self,
        *,
        shift: Any = None,
        do: Any = None,
        samples: int = 10_000,
        seed: Optional[int] = None,
        summary: bool = False,
        pandas: bool = True,
    ) -> Any:
        """The population under an intervention, as ``remedy intervene``: ``samples`` rows drawn
        with ``seed`` (default: the model's) from the noise of the normal rows the model keeps,
        pushed through the mechanisms; with ``summary``, per feature the observational and
        interventional mean, sd and quantiles (each level's share for discrete features).
        ``shift`` and ``do`` as in :meth:`counterfactual`. A pandas DataFrame, or a pyarrow
        Table with ``pandas=False``."""
        out = self._native.intervene(
            shift=_assignments(shift), set=_assignments(do), samples=samples, seed=seed,
            summary=summary,
        )
        return _out(out, pandas)

    def detect_batches(self, batches: Iterable[Any]) -> Iterator[Any]:
        """:meth:`detect` over a stream of batches (pyarrow RecordBatches, Tables, DataFrames),
        yielding one pyarrow RecordBatch per batch as it goes: memory follows the batch, and
        ``row`` counts rows across the whole stream."""
        return self._batches("detect", batches, {})

    def explain_batches(self, batches: Iterable[Any], **settings: Any) -> Iterator[Any]:
        """:meth:`explain` over a stream of batches (see :meth:`detect_batches`)."""
        return self._batches("explain", batches, settings)

    def recommend_batches(self, batches: Iterable[Any], **settings: Any) -> Iterator[Any]:
        """:meth:`recommend` over a stream of batches (see :meth:`detect_batches`). A row's
        action does not depend on the rows batched with it."""
        return self._batches("recommend", batches, settings)

    def _batches(self, command: str, batches: Iterable[Any], settings: dict) -> Iterator[Any]:
        import pyarrow as pa

        call = getattr(self._native, command)
        offset = 0
        for batch in batches:
            table, _ = _arrow_in(batch)
            table = pa.table(table)
            out = call(table, row_offset=offset, **settings)
            offset += table.num_rows
            chunks = out.combine_chunks().to_batches()
            yield chunks[0] if chunks else pa.RecordBatch.from_pylist([], schema=out.schema)

    def __repr__(self) -> str:
        return repr(self._native)


def _around(table: Any, answer: Any, features: Sequence[str]) -> Any:
    """The input's columns in their order and types, each feature's replaced by the answer's,
    then the answer's other columns (an input column of the same name is dropped), as the CLI
    writes a counterfactual."""
    import pyarrow as pa

    added = [n for n in answer.column_names if n not in features]
    names = [n for n in table.column_names if n not in added] + added
    columns = [
        answer.column(n) if n in features or n in added else table.column(n) for n in names
    ]
    return pa.table(columns, names=names)


def _assignments(value: Any) -> list:
    """``{name: value}``, ``"NAME=VALUE"`` or a sequence of such texts as the CLI's texts."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [f"{k}={v}" for k, v in value.items()]
    return [str(v) for v in value]


from . import ts  # noqa: E402  (remedy.ts uses the helpers above)


def __getattr__(name: str) -> Any:
    # remedy.spark imports pyspark only when used.
    if name == "spark":
        import importlib

        return importlib.import_module(".spark", __name__)
    raise AttributeError(name)
