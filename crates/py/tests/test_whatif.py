"""Model.counterfactual and Model.intervene give the CLI's answers cell for cell, and refuse bad
questions with remedy.BadInput naming the fault."""

import pandas as pd
import pyarrow as pa
import pytest

import remedy
from conftest import cli, read_csv
from test_model import same_cells


def cli_csv(tmp_path, *args) -> pd.DataFrame:
    out = tmp_path / "out.csv"
    cli(*args, "--format", "csv", "-o", out)
    return read_csv(out)


def test_counterfactual_gives_the_cli_output(loan, cli_model, tmp_path):
    model = remedy.Model.load(cli_model)
    rows = read_csv(loan / "rows.csv")
    rows.insert(0, "id", [f"r{i}" for i in range(len(rows))])
    rows.to_csv(tmp_path / "rows.csv", index=False)
    expected = cli_csv(
        tmp_path, "counterfactual", "--model", cli_model, "--data", tmp_path / "rows.csv",
        "--shift", "L=-1.5", "--do", "I=1.5,G=1",
    )
    got = model.counterfactual(rows, shift={"L": -1.5}, do={"I": 1.5, "G": 1})
    same_cells(got, expected)
    assert got["id"].tolist() == rows["id"].tolist()
    assert (got["I"] == 1.5).all() and (got["G"] == 1).all()
    # The CLI's texts do too, and a pyarrow Table in gives one out.
    table = pa.Table.from_pandas(rows, preserve_index=False)
    out = model.counterfactual(table, shift="L=-1.5", do=["I=1.5", "G=1"])
    assert isinstance(out, pa.Table)
    same_cells(out.to_pandas(), expected)


def test_intervene_gives_the_cli_output(cli_model, tmp_path):
    model = remedy.Model.load(cli_model)
    for summary in [False, True]:
        flags = ["--summary"] if summary else []
        expected = cli_csv(
            tmp_path, "intervene", "--model", cli_model, "--do", "I=1.5", "--samples", "300",
            "--seed", "4", *flags,
        )
        got = model.intervene(do={"I": 1.5}, samples=300, seed=4, summary=summary)
        same_cells(got, expected)


@pytest.mark.parametrize(
    "kwargs, needle",
    [
        ({"do": {"Z": 1}}, "no feature 'Z'"),
        ({"shift": {"G": 1}}, "'G' is binary"),
        ({"shift": {"L": "x"}}, "'x' for 'L' is not a finite number"),
        ({}, "give at least one intervention"),
    ],
)
def test_bad_questions_raise_bad_input(cli_model, loan, kwargs, needle):
    model = remedy.Model.load(cli_model)
    with pytest.raises(remedy.BadInput, match=needle):
        model.counterfactual(read_csv(loan / "rows.csv"), **kwargs)
    with pytest.raises(remedy.BadInput, match=needle):
        model.intervene(**kwargs)
    with pytest.raises(remedy.BadInput, match="--samples"):
        model.intervene(do={"I": 1.5}, samples=0)
