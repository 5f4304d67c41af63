"""Time series: ``remedy ts fit`` and ``remedy ts monitor`` from Python.

>>> import remedy.ts
>>> model = remedy.ts.fit(train, seed=1)          # one row per step, one column per variable
>>> monitor = model.monitor()
>>> for row in stream:
...     answer = monitor.step(row)                  # {"series", "step", "score", "alarm", ...}
...     if answer["alarm"]:
...         print(answer["action"])
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from . import _remedy
from . import _arrow_in

__all__ = ["fit", "Model", "Monitor"]

PathLike = Union[str, "os.PathLike[str]"]


def fit(
    train: Any,
    *,
    seed: int = 0,
    window: int = 5,
    epochs: Optional[int] = None,
    series_column: str = "series_id",
    time_column: str = "t",
    variables: Optional[Sequence[str]] = None,
    shock: float = 5.0,
    threshold_times: Optional[float] = None,
) -> "Model":
    """Trains USAD, the GVAR Granger model and the RecAD recourse network on normal series, as
    ``remedy ts fit``: one row per step, one column per variable; ``series_column`` splits the
    rows into series (used when present), ``time_column`` is ignored; ``variables`` defaults to
    every other numeric column. ``threshold_times`` puts the alarm threshold at that multiple
    of the largest held-out window score (default: their 0.995 quantile)."""
    table, _ = _arrow_in(train)
    return Model(
        _remedy.TsModel.fit(
            table,
            seed=seed,
            window=window,
            epochs=epochs,
            series_column=series_column,
            time_column=time_column,
            variables=None if variables is None else list(variables),
            shock=shock,
            threshold_times=threshold_times,
        )
    )


class Model:
    """A fitted time-series model. Create one with :func:`fit` or :meth:`Model.load`."""

    __slots__ = ("_native",)

    def __init__(self, native: "_remedy.TsModel") -> None:
        self._native = native

    @classmethod
    def load(cls, path: PathLike) -> "Model":
        """Loads a model directory written by :meth:`save` or ``remedy ts fit``."""
        return cls(_remedy.TsModel.load(os.fspath(path)))

    def save(self, path: PathLike, *, force: bool = False) -> None:
        """Writes the model directory; an existing non-empty one only with ``force``."""
        self._native.save(os.fspath(path), force=force)

    @property
    def variables(self) -> List[str]:
        """The modelled variables, in order."""
        return self._native.variables

    @property
    def series_column(self) -> str:
        """The column that splits rows into series."""
        return self._native.series_column

    @property
    def window(self) -> int:
        """The window length in steps."""
        return self._native.window

    @property
    def threshold(self) -> float:
        """USAD's threshold: a window scoring above it raises an alarm."""
        return self._native.threshold

    def monitor(self, *, assume_applied: bool = False, warmup: int = 0) -> "Monitor":
        """A monitor consuming one step at a time, as ``remedy ts monitor``. With
        ``assume_applied`` each recommended action is taken as applied and later windows are
        judged in the counterfactual world it creates. With ``warmup`` N, each series' first N
        steps (taken as normal) are not scored and set its level: a system at another
        operating point than the training data is judged by its movements."""
        return Monitor(self._native.monitor(assume_applied=assume_applied, warmup=warmup))

    def __repr__(self) -> str:
        return repr(self._native)


class Monitor:
    """Consumes steps one at a time, per series (see :meth:`Model.monitor`)."""

    __slots__ = ("_native",)

    def __init__(self, native: "_remedy.Monitor") -> None:
        self._native = native

    def step(
        self, values: Union[Mapping[str, float], Sequence[float]], series: str = ""
    ) -> Dict[str, Any]:
        """Feeds the next step of ``series``: its values by variable name (other keys are
        ignored) or in the model's variable order. Returns the CLI's answer for the window
        ending at this step: ``series, step, score, threshold, alarm``, and on alarms
        ``action``, ``score_after``, ``flips``, ``root_causes`` (variables with an abnormal
        innovation) and ``root_cause_p``; ``expected_next`` (GVAR's next step) and, on
        alarms, ``expected_next_with_action``."""
        if hasattr(values, "to_dict"):  # a pandas row
            values = values.to_dict()
        elif isinstance(values, Mapping):
            values = dict(values)
        elif not isinstance(values, list):
            values = list(values)
        return json.loads(self._native.step(values, str(series)))
