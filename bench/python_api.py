#!/usr/bin/env python3
"""Throughput of the Python package beside the CLI on the same rows: detect + explain on
generated Loan rows (RootCLAM's SCM), from pandas and from pyarrow, against `remedy detect` and
`remedy explain` on the same model and CSV (the CLI's times include reading the CSV and writing
its output; the Python times start from a DataFrame or Table already in memory and end with
one). Every output is checked equal to the CLI's before it is timed.

Needs the package (`pip install ./crates/py`), pandas and pyarrow; not part of the test suite:

    python bench/python_api.py --remedy target/release/remedy --out /tmp/bench-py --rows 100000

It leaves in --out the data, the model and `flagged.csv` (the rows the detector flags), which
`bench/loan_dowhy.py` attributes with DoWhy-gcm on the same graph.
"""

import argparse
import json
import os
import subprocess
import time

import pandas as pd
import pyarrow as pa

import remedy


def best(f, repeat):
    """Least wall time of `repeat` calls of f (and the last result)."""
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t)
    return min(times), out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--remedy", default="target/release/remedy")
    ap.add_argument("--out", required=True)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    R = os.path.abspath(args.remedy)
    d = os.path.abspath(args.out)
    run = lambda *a: subprocess.run([R, *map(str, a)], check=True, capture_output=True, text=True)  # noqa: E731
    if not os.path.exists(f"{d}/loan/test.csv"):
        run("generate", "loan", "--seed", args.seed, "--test", args.rows, "--out", f"{d}/loan")
    model_dir = f"{d}/model"
    if not os.path.exists(f"{model_dir}/remedy.json"):
        run("fit", "--train", f"{d}/loan/train.csv", "--graph", f"{d}/loan/graph.dot",
            "--schema", f"{d}/loan/schema.toml", "--seed", args.seed, "--out", model_dir)
    data = f"{d}/loan/test.csv"
    frame = pd.read_csv(data, float_precision="round_trip")
    table = pa.Table.from_pandas(frame, preserve_index=False)
    n = len(frame)

    def cli(command):
        out = f"{d}/{command}.csv"
        t = time.perf_counter()
        run(command, "--model", model_dir, "--data", data, "--format", "csv", "-o", out)
        return time.perf_counter() - t, pd.read_csv(out, float_precision="round_trip")

    t_load, model = best(lambda: remedy.Model.load(model_dir), args.repeat)
    results = {"rows": n, "features": len(model.features), "python_load_s": t_load}
    cli_times = {}
    for command in ("detect", "explain"):
        times = []
        for _ in range(args.repeat):
            t, expected = cli(command)
            times.append(t)
        cli_times[command] = min(times)
        for source, data_in in (("pandas", frame), ("pyarrow", table)):
            call = getattr(model, command)
            t, got = best(lambda: call(data_in), args.repeat)
            got = got if source == "pandas" else got.to_pandas()
            assert list(got.columns) == list(expected.columns), command
            for c in expected.columns:
                if pd.api.types.is_numeric_dtype(expected[c]):
                    assert got[c].astype(float).tolist() == expected[c].astype(float).tolist(), c
            results[f"python_{source}_{command}_s"] = t
        results[f"cli_{command}_s"] = cli_times[command]
        if command == "explain":
            results["explained_rows"] = len(expected)
    flagged = model.detect(frame)
    frame[flagged["is_anomaly"].to_numpy() == 1].to_csv(f"{d}/flagged.csv", index=False)
    for who in ("python_pandas", "python_pyarrow", "cli"):
        total = results[f"{who}_detect_s"] + results[f"{who}_explain_s"]
        results[f"{who}_rows_per_s"] = n / total
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
