"""remedy.ts against `remedy ts fit` and `remedy ts monitor`: the same model files, the same
answer for every step."""

import json

import pytest

import remedy
import remedy.ts
from conftest import cli, read_csv


@pytest.fixture(scope="module")
def linear(tmp_path_factory):
    """The Linear VAR benchmark (RecAD), small: 40 normal series, 10 test series with anomalies."""
    d = tmp_path_factory.mktemp("linear")
    cli("generate", "linear", "--seed", "1", "--train", "40", "--test", "10", "--out", d)
    cli("ts", "fit", "--train", d / "train.csv", "--epochs", "2", "--seed", "3", "--out", d / "cli")
    return d


def test_ts_fit_gives_the_cli_model_and_monitor_its_answers(linear, tmp_path):
    model = remedy.ts.fit(read_csv(linear / "train.csv"), seed=3, epochs=2)
    assert model.variables == ["x", "w", "y", "z"] and model.window == 5
    model.save(tmp_path / "py")
    files = lambda d: {p.name: p.read_bytes() for p in sorted(d.iterdir())}  # noqa: E731
    assert files(tmp_path / "py") == files(linear / "cli")

    for assume in (False, True):
        flags = ["--assume-applied"] if assume else []
        out = cli("ts", "monitor", "--model", tmp_path / "py", "--input", linear / "test.csv", *flags)
        expected = [json.loads(line) for line in out.stdout.splitlines()]
        monitor = remedy.ts.Model.load(linear / "cli").monitor(assume_applied=assume)
        test = read_csv(linear / "test.csv")
        answers = [monitor.step(row, series=str(row["series_id"])) for _, row in test.iterrows()]
        assert answers == expected
        assert any(a["alarm"] for a in answers) and any(a["action"] for a in answers)
        assert all(bool(a["root_causes"]) == a["alarm"] for a in answers)


def test_steps_in_variable_order_and_bad_steps(linear):
    model = remedy.ts.Model.load(linear / "cli")
    by_name = model.monitor()
    by_order = model.monitor()
    test = read_csv(linear / "test.csv").head(12)
    for _, row in test.iterrows():
        a = by_name.step({v: row[v] for v in model.variables})
        b = by_order.step([row[v] for v in model.variables])
        assert a == b
    with pytest.raises(remedy.BadInput, match="input step 13: missing variable 'y'"):
        by_name.step({"x": 1.0, "w": 2.0, "z": 0.0})
    with pytest.raises(remedy.BadInput, match="'w' is abc, not a number"):
        by_name.step({"x": 1.0, "w": "abc", "y": 0.0, "z": 0.0})
    with pytest.raises(remedy.BadInput, match="needs 4 values"):
        by_name.step([1.0, 2.0])
    with pytest.raises(remedy.BadInput, match="variable 'x' is NaN"):
        by_name.step([float("nan"), 0.0, 0.0, 0.0])


def test_threshold_and_warmup_as_the_cli(linear, tmp_path):
    """``threshold_times`` gives ``ts fit --threshold-times``'s model files, and ``warmup`` the
    answers of ``ts monitor --warmup``."""
    model = remedy.ts.fit(read_csv(linear / "train.csv"), seed=3, epochs=2, threshold_times=1.5)
    model.save(tmp_path / "py")
    cli("ts", "fit", "--train", linear / "train.csv", "--epochs", "2", "--seed", "3",
        "--threshold-times", "1.5", "--out", tmp_path / "cli")
    files = lambda d: {p.name: p.read_bytes() for p in sorted(d.iterdir())}  # noqa: E731
    assert files(tmp_path / "py") == files(tmp_path / "cli")
    out = cli("ts", "monitor", "--model", tmp_path / "cli", "--input", linear / "test.csv",
              "--warmup", "10")
    expected = [json.loads(line) for line in out.stdout.splitlines()]
    monitor = model.monitor(warmup=10)
    test = read_csv(linear / "test.csv")
    answers = [monitor.step(row, series=str(row["series_id"])) for _, row in test.iterrows()]
    assert answers == expected
    assert all(a["score"] is None for a in answers[:10])
