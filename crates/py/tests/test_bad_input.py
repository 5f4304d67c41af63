"""What the CLI refuses with exit status 2 raises remedy.BadInput naming what is wrong; nothing
is written."""

import math
import pathlib

import pandas as pd
import pytest

import remedy
from conftest import cli, read_csv

EDGES = [("C", "X"), ("X", "Y")]


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A categorical root C → X → Y (X shifts with C), fitted with empty cells refused."""
    n = 600
    c = ["a" if i % 3 else "b" for i in range(n)]
    x = [(1.0 if ci == "b" else 0.0) + math.sin(i * 0.7) for i, ci in enumerate(c)]
    y = [2.0 * xi + math.cos(i * 1.3) for i, xi in enumerate(x)]
    train = pd.DataFrame({"C": c, "X": x, "Y": y})
    model = remedy.Model.fit(train, EDGES, seed=1, epochs=1, missing="error", recourse="search")
    d = tmp_path_factory.mktemp("small")
    model.save(d / "model")
    return model, train, d


def files_under(d: pathlib.Path) -> list:
    return sorted(str(p.relative_to(d)) for p in d.rglob("*"))


def test_a_missing_column_names_it(small):
    model, train, _ = small
    with pytest.raises(remedy.BadInput, match="'Y'") as e:
        model.detect(train.drop(columns=["Y"]))
    assert isinstance(e.value, ValueError)


def test_a_nan_names_its_row_and_column(small):
    model, train, _ = small
    rows = train.head(3).copy()
    rows.loc[1, "X"] = float("nan")
    with pytest.raises(remedy.BadInput, match="X"):
        model.explain(rows, all=True)


def test_an_unknown_category_names_it(small):
    model, train, _ = small
    rows = train.head(2).copy()
    rows.loc[0, "C"] = "zebra"
    with pytest.raises(remedy.BadInput, match="zebra"):
        model.detect(rows)


def test_bad_settings_and_graphs_are_bad_input(small):
    model, train, _ = small
    with pytest.raises(remedy.BadInput, match="--rule 'median' is not one of"):
        model.explain(train.head(3), rule="median")
    with pytest.raises(remedy.BadInput, match="--alpha"):
        model.explain(train.head(3), rule="quantile", alpha=0.05)
    with pytest.raises(remedy.BadInput, match="cycle"):
        remedy.Model.fit(train, [("C", "X"), ("X", "Y"), ("Y", "X")], epochs=1)
    with pytest.raises(remedy.BadInput, match="Z"):
        remedy.Model.fit(train, [("C", "X"), ("X", "Z")], epochs=1)
    with pytest.raises(remedy.BadInput):
        model.detect([1, 2, 3])


def test_a_corrupt_model_directory_is_refused_and_left_alone(small, tmp_path):
    _, _, d = small
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    for p in (d / "model").iterdir():
        (corrupt / p.name).write_bytes(p.read_bytes())
    (corrupt / "remedy.json").write_text('{"format": "remedy-mo')
    before = {p.name: p.read_bytes() for p in corrupt.iterdir()}
    with pytest.raises(remedy.BadInput, match="remedy.json"):
        remedy.Model.load(corrupt)
    assert {p.name: p.read_bytes() for p in corrupt.iterdir()} == before
    # The CLI says the same, with exit status 2.
    out = cli("detect", "--model", corrupt, "--data", d / "x.csv", check=False)
    assert out.returncode == 2


def test_saving_over_a_model_needs_force_and_writes_nothing_without_it(small, tmp_path):
    model, _, d = small
    target = tmp_path / "existing"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    with pytest.raises(remedy.BadInput, match="--force"):
        model.save(target)
    assert files_under(target) == ["notes.txt"]
    model.save(target, force=True)
    assert (target / "notes.txt").read_text() == "mine"
    assert remedy.Model.load(target).features == model.features
