"""remedy.spark on a local[2] Spark: 200,000 Loan rows in 8 partitions give the single-process
answers row for row (sorted by an id column kept through)."""

import os
import sys

import numpy as np
import pyarrow as pa
import pytest

import remedy
from conftest import cli, read_csv

pyspark = pytest.importorskip("pyspark")


@pytest.fixture(scope="module")
def spark():
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("remedy-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", "8")
        .getOrCreate()
    )
    yield session
    session.stop()


@pytest.fixture(scope="module")
def rows(tmp_path_factory):
    """200,000 normal and 1,000 anomalous Loan test rows with an id column."""
    d = tmp_path_factory.mktemp("big")
    cli("generate", "loan", "--seed", "5", "--test", "199000", "--anomalies", "1000", "--out", d)
    frame = read_csv(d / "test.csv")[["G", "A", "E", "L", "D", "I", "S"]]
    frame.insert(0, "id", np.arange(len(frame), dtype=np.int64))
    return frame


def same_rows(spark_rows, local):
    """Equal columns and every cell exactly, rows matched by id (a network's value for a row
    does not depend on how many rows share its partition: `remedy_nn::tensor::matmul`)."""
    a = spark_rows.sort_values("id").reset_index(drop=True)
    b = local.sort_values("id").reset_index(drop=True)
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b) > 500
    for c in b.columns:
        assert a[c].tolist() == b[c].tolist() or a[c].equals(b[c]), c


def local_answer(model, frame, command, **settings):
    out = getattr(model, command)(frame, **settings)
    out.insert(0, "id", frame["id"].to_numpy()[out["row"].astype(int) - 1])
    return out.drop(columns=["row"])


def test_explain_recommend_counterfactual_on_spark_equal_one_process(spark, rows, cli_model):
    model = remedy.Model.load(cli_model)
    df = spark.createDataFrame(rows).repartition(8)
    assert df.rdd.getNumPartitions() == 8
    got = remedy.spark.explain(df, cli_model, keep=["id"]).toPandas()
    same_rows(got, local_answer(model, rows, "explain"))
    got = remedy.spark.recommend(df, cli_model, keep=["id"], seed=2).toPandas()
    same_rows(got, local_answer(model, rows, "recommend", seed=2))
    # counterfactual keeps every input column (the id with its type) around the answer.
    question = {"shift": {"L": -1.5}, "do": {"I": 1.5}}
    got = remedy.spark.counterfactual(df, cli_model, **question).toPandas()
    same_rows(got, model.counterfactual(rows, **question))


def test_bad_input_is_refused_on_the_driver(spark, rows, cli_model, tmp_path):
    df = spark.createDataFrame(rows.head(100).drop(columns=["S"]))
    with pytest.raises(remedy.BadInput, match="'S'"):
        remedy.spark.explain(df, cli_model)
    df = spark.createDataFrame(rows.head(100))
    with pytest.raises(remedy.BadInput, match="remedy.json"):
        remedy.spark.explain(df, tmp_path / "no-model")
    with pytest.raises(remedy.BadInput, match="'nope'"):
        remedy.spark.detect(df, cli_model, keep=["nope"])
    with pytest.raises(remedy.BadInput, match="no feature 'Z'"):
        remedy.spark.counterfactual(df, cli_model, do={"Z": 1})
