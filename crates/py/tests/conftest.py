"""Shared fixtures: the CLI binary, a generated Loan data set, and one model fitted by each face."""

import os
import pathlib
import subprocess

import pandas as pd
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
# Few epochs keep the suite fast; the comparison is between faces, not of model quality.
EPOCHS = 3
SEED = 7
TEST_ROWS = 400


def cli_path() -> str:
    path = os.environ.get("REMEDY_BIN") or str(ROOT / "target" / "release" / "remedy")
    if not os.path.exists(path):
        pytest.fail(f"the CLI binary {path} is missing: run `cargo build --release` or set REMEDY_BIN")
    return path


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([cli_path(), *map(str, args)], capture_output=True, text=True, check=check)


def read_csv(path) -> pd.DataFrame:
    """The CLI's CSV as pandas reads it back exactly (round-trip float parsing)."""
    return pd.read_csv(path, float_precision="round_trip", keep_default_na=False, na_values=[""])


@pytest.fixture(scope="session")
def loan(tmp_path_factory) -> pathlib.Path:
    """Loan (RootCLAM's SCM) from `remedy generate`, with the first TEST_ROWS test rows apart."""
    d = tmp_path_factory.mktemp("loan")
    cli("generate", "loan", "--seed", "1", "--out", d)
    read_csv(d / "test.csv").head(TEST_ROWS).to_csv(d / "rows.csv", index=False)
    # pandas writes floats in the shortest round-trip form, so rows.csv holds the same values.
    assert read_csv(d / "rows.csv").equals(read_csv(d / "test.csv").head(TEST_ROWS))
    return d


@pytest.fixture(scope="session")
def cli_model(loan, tmp_path_factory) -> pathlib.Path:
    out = tmp_path_factory.mktemp("cli") / "model"
    cli(
        "fit", "--train", loan / "train.csv", "--graph", loan / "graph.dot", "--schema",
        loan / "schema.toml", "--seed", SEED, "--epochs", EPOCHS, "--out", out,
    )
    return out
