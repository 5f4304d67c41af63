#!/usr/bin/env python3
"""Peak memory and throughput of `remedy explain` streaming files of 1 M and 5 M rows (CSV and
Parquet), and of the Python package's explain_batches on the 1 M-row Parquet file.

The rows are generated Loan rows (`remedy generate loan --test 1000000`; the 5 M file is the
1 M file five times), the model `remedy fit`'s default on its normal rows. Peak RSS is GNU
time's maximum resident set size of the CLI process. Needs pyarrow (for the Parquet files and
the Python run) and the package (`pip install ./crates/py`); not part of the test suite:

    python bench/streaming.py --remedy target/release/remedy --out /tmp/bench-stream
    python bench/streaming.py --out /tmp/bench-stream --spark     # Spark local[2] (pyspark, Java)
"""

import argparse
import json
import os
import subprocess
import time

import pyarrow.csv as pv
import pyarrow.parquet as pq


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--remedy", default="target/release/remedy")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--spark", action="store_true",
                    help="only remedy.spark.explain on Spark local[2] (needs pyspark and Java)")
    args = ap.parse_args()
    R = os.path.abspath(args.remedy)
    d = os.path.abspath(args.out)
    os.makedirs(d, exist_ok=True)
    run = lambda *a: subprocess.run([R, *map(str, a)], check=True, capture_output=True, text=True)  # noqa: E731
    if not os.path.exists(f"{d}/loan/test.csv"):
        run("generate", "loan", "--seed", args.seed, "--test", 1_000_000, "--anomalies", 10_000,
            "--out", f"{d}/loan")
    if not os.path.exists(f"{d}/model/remedy.json"):
        run("fit", "--train", f"{d}/loan/train.csv", "--graph", f"{d}/loan/graph.dot",
            "--schema", f"{d}/loan/schema.toml", "--seed", args.seed, "--out", f"{d}/model")
    one = f"{d}/loan/test.csv"
    five = f"{d}/five.csv"
    if not os.path.exists(five):
        with open(one) as f:
            header, body = f.readline(), f.read()
        with open(five, "w") as f:
            f.write(header)
            for _ in range(5):
                f.write(body)
    files = {"1M csv": one, "5M csv": five}
    for name, path in list(files.items()):
        pqpath = path.rsplit(".", 1)[0] + ".parquet"
        if not os.path.exists(pqpath):
            reader = pv.open_csv(path)
            with pq.ParquetWriter(pqpath, reader.schema) as w:
                for batch in reader:
                    w.write_batch(batch)
        files[name.replace("csv", "parquet")] = pqpath
    results = {}
    if args.spark:
        results["spark local[2] explain 1M parquet"] = spark_run(f"{d}/model", files["1M parquet"])
        print(json.dumps(results, indent=2))
        return
    for name, path in files.items():
        out = f"{d}/causes.csv"
        t = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-f", "%M", R, "explain", "--model", f"{d}/model",
                            "--data", path, "--format", "csv", "-o", out],
                           check=True, capture_output=True, text=True)
        secs = time.perf_counter() - t
        rows = pq.ParquetFile(path).metadata.num_rows if path.endswith("parquet") else None
        rows = rows or sum(1 for _ in open(path)) - 1
        results[name] = {
            "rows": rows,
            "peak_rss_mb": int(p.stderr.strip().splitlines()[-1]) / 1024,
            "seconds": secs,
            "rows_per_s": rows / secs,
            "explained": sum(1 for _ in open(out)) - 1,
        }
        print(name, json.dumps(results[name]), flush=True)
    import remedy

    model = remedy.Model.load(f"{d}/model")
    f = pq.ParquetFile(files["1M parquet"])
    t = time.perf_counter()
    explained = sum(b.num_rows for b in model.explain_batches(f.iter_batches(batch_size=65_536)))
    secs = time.perf_counter() - t
    results["python explain_batches 1M parquet"] = {
        "rows": f.metadata.num_rows, "seconds": secs, "rows_per_s": f.metadata.num_rows / secs,
        "explained": explained,
    }
    print(json.dumps(results, indent=2))


def spark_run(model, path):
    """remedy.spark.explain over the 1 M-row Parquet file on local[2], written to a Parquet
    directory (session start excluded; the model is shipped and loaded once per worker)."""
    import sys
    import tempfile

    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    from pyspark.sql import SparkSession

    import remedy.spark

    spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.driver.host", "127.0.0.1").getOrCreate())
    df = spark.read.parquet(path)
    rows = df.count()
    partitions = df.rdd.getNumPartitions()
    t = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        remedy.spark.explain(df, model).write.parquet(f"{out}/causes")
        explained = spark.read.parquet(f"{out}/causes").count()
    secs = time.perf_counter() - t
    spark.stop()
    return {"rows": rows, "seconds": secs, "rows_per_s": rows / secs, "explained": explained,
            "partitions": partitions}


if __name__ == "__main__":
    main()
