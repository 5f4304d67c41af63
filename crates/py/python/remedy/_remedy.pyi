"""Type stubs of the native module (the Rust face over remedy-app); use it through ``remedy``."""

from os import PathLike
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

__version__: str

_Path = Union[str, PathLike]

class Model:
    @staticmethod
    def fit(
        train: Any,
        graph: Union[_Path, Sequence[Tuple[str, str]]],
        schema: Optional[_Path] = None,
        schema_json: Optional[str] = None,
        *,
        seed: int = 0,
        detector: Optional[str] = None,
        causal: Optional[str] = None,
        recourse: Optional[str] = None,
        epochs: Optional[int] = None,
        pi: Optional[float] = None,
        missing: Optional[str] = None,
        target: Optional[str] = None,
        target_quantile: Optional[float] = None,
        min_plausibility: Optional[float] = None,
    ) -> Model: ...
    @staticmethod
    def load(path: _Path) -> Model: ...
    def save(self, path: _Path, *, force: bool = False) -> None: ...
    @property
    def features(self) -> List[str]: ...
    @property
    def threshold(self) -> float: ...
    @property
    def manifest_json(self) -> str: ...
    def detect(self, data: Any, *, row_offset: int = 0) -> Any: ...
    def explain(
        self,
        data: Any,
        *,
        all: bool = False,
        rule: Optional[str] = None,
        alpha: Optional[float] = None,
        pi: Optional[float] = None,
        target: Optional[str] = None,
        long: bool = False,
        row_offset: int = 0,
    ) -> Any: ...
    def recommend(
        self,
        data: Any,
        *,
        method: Optional[str] = None,
        seed: Optional[int] = None,
        lambda_: Optional[float] = None,
        alpha: Optional[float] = None,
        target: Optional[str] = None,
        target_quantile: Optional[float] = None,
        min_plausibility: Optional[float] = None,
        rule: Optional[str] = None,
        root_cause_alpha: Optional[float] = None,
        pi: Optional[float] = None,
        row_offset: int = 0,
    ) -> Any: ...
    def counterfactual(
        self, data: Any, *, shift: List[str] = ..., set: List[str] = ...
    ) -> Any: ...
    def intervene(
        self,
        *,
        shift: List[str] = ...,
        set: List[str] = ...,
        samples: int = 10000,
        seed: Optional[int] = None,
        summary: bool = False,
    ) -> Any: ...

class TsModel:
    @staticmethod
    def fit(
        train: Any,
        *,
        seed: int = 0,
        window: Optional[int] = None,
        epochs: Optional[int] = None,
        series_column: Optional[str] = None,
        time_column: Optional[str] = None,
        variables: Optional[List[str]] = None,
        shock: Optional[float] = None,
        threshold_times: Optional[float] = None,
    ) -> TsModel: ...
    @staticmethod
    def load(path: _Path) -> TsModel: ...
    def save(self, path: _Path, *, force: bool = False) -> None: ...
    @property
    def variables(self) -> List[str]: ...
    @property
    def series_column(self) -> str: ...
    @property
    def window(self) -> int: ...
    @property
    def threshold(self) -> float: ...
    def monitor(self, *, assume_applied: bool = False, warmup: int = 0) -> Monitor: ...

class Monitor:
    def step(self, values: Union[Dict[str, Any], List[float]], series: str = "") -> str: ...
