"""The Python face against the CLI: same models, same settings, the same output cell by cell."""

import pathlib

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import remedy
from conftest import EPOCHS, SEED, cli, read_csv


def fit_from_python(loan: pathlib.Path) -> remedy.Model:
    train = read_csv(loan / "train.csv")
    # The label y is not a graph node: ignored with the CLI's warning.
    with pytest.warns(UserWarning, match="not in the graph, ignored: y"):
        return remedy.Model.fit(
            train, loan / "graph.dot", loan / "schema.toml", seed=SEED, epochs=EPOCHS
        )


def model_files(d: pathlib.Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())}


def test_a_model_fitted_from_python_is_the_cli_model_byte_for_byte(loan, cli_model, tmp_path):
    model = fit_from_python(loan)
    assert model.features == ["G", "A", "E", "L", "D", "I", "S"]
    assert model.manifest["seed"] == SEED and model.manifest["candidates"] == ["L", "D", "I", "S"]
    model.save(tmp_path / "py")
    assert model_files(tmp_path / "py") == model_files(cli_model)
    # And each face loads the other's directory: the CLI scores with the Python model.
    out = cli("detect", "--model", tmp_path / "py", "--data", loan / "rows.csv", "--format", "csv")
    assert out.returncode == 0
    loaded = remedy.Model.load(cli_model)
    assert loaded.threshold == model.threshold


def cli_table(command: str, model, loan, tmp_path, *flags) -> pd.DataFrame:
    out = tmp_path / f"{command}.csv"
    cli(command, "--model", model, "--data", loan / "rows.csv", "--format", "csv", "-o", out, *flags)
    return read_csv(out)


def same_cells(py: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Equal column names, row count, and every cell (text as text, numbers exactly)."""
    assert list(py.columns) == list(expected.columns)
    assert len(py) == len(expected) > 0
    for name in expected.columns:
        a, b = py[name], expected[name]
        if pd.api.types.is_numeric_dtype(b) and pd.api.types.is_numeric_dtype(a):
            assert a.astype("float64").tolist() == b.astype("float64").tolist(), name
        else:
            assert a.fillna("").astype(str).tolist() == b.fillna("").astype(str).tolist(), name


@pytest.mark.parametrize("source", ["pandas", "pyarrow"])
def test_detect_explain_recommend_give_the_cli_output(loan, cli_model, tmp_path, source):
    model = remedy.Model.load(cli_model)
    rows = read_csv(loan / "rows.csv")
    data = rows if source == "pandas" else pa.Table.from_pandas(rows, preserve_index=False)

    def frame(t):
        if source == "pandas":
            assert isinstance(t, pd.DataFrame)
            return t
        assert isinstance(t, pa.Table)
        return t.to_pandas()

    detected = frame(model.detect(data))
    same_cells(detected, cli_table("detect", cli_model, loan, tmp_path))
    assert detected["is_anomaly"].sum() > 0
    same_cells(frame(model.explain(data)), cli_table("explain", cli_model, loan, tmp_path))
    same_cells(
        frame(model.explain(data, rule="quantile", pi=0.05, long=True)),
        cli_table("explain", cli_model, loan, tmp_path, "--rule", "quantile", "--pi", "0.05", "--long"),
    )
    same_cells(
        frame(model.recommend(data, seed=3)),
        cli_table("recommend", cli_model, loan, tmp_path, "--seed", "3"),
    )


def test_a_record_batch_and_polars_style_input_work(loan, cli_model):
    model = remedy.Model.load(cli_model)
    rows = read_csv(loan / "rows.csv")
    batch = pa.RecordBatch.from_pandas(rows, preserve_index=False)
    from_batch = model.detect(batch)
    assert isinstance(from_batch, pa.Table)
    assert from_batch.to_pandas().equals(model.detect(rows))


def test_batches_give_the_cli_output_row_numbers_and_all(loan, cli_model, tmp_path):
    """detect_batches, explain_batches and recommend_batches over record batches of 128 rows:
    the CLI's output on the whole file, every cell exactly (a network's value for a row does
    not depend on how many rows come with it: `remedy_nn::tensor::matmul`)."""
    model = remedy.Model.load(cli_model)
    table = pa.Table.from_pandas(read_csv(loan / "rows.csv"), preserve_index=False)
    batches = table.to_batches(max_chunksize=128)
    assert len(batches) > 3
    detected = pa.Table.from_batches(list(model.detect_batches(batches))).to_pandas()
    same_cells(detected, cli_table("detect", cli_model, loan, tmp_path))
    explained = pa.Table.from_batches(list(model.explain_batches(batches))).to_pandas()
    same_cells(explained, cli_table("explain", cli_model, loan, tmp_path))
    recommended = pa.Table.from_batches(list(model.recommend_batches(batches, seed=3))).to_pandas()
    same_cells(recommended, cli_table("recommend", cli_model, loan, tmp_path, "--seed", "3"))
