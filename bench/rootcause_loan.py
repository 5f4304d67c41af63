#!/usr/bin/env python3
"""Root-cause F1 on Loan through the user path: the default rule (Holm, α = 0.01) beside the
paper's quantile rule (π = 0.125).

For each seed: ``remedy generate loan``, ``remedy fit`` (autoencoder, additive-noise model, the
generated schema), ``remedy explain`` on the test rows; then, over the detected true anomalies,
micro-averaged precision, recall and F1 over the candidate (actionable) features and exact-set
accuracy, as ``remedy_rootcause::metrics`` defines them (RootCLAM reference spec §8.1).

    cargo build --release
    python3 bench/rootcause_loan.py --out /tmp/loan-rc --seeds 1,2,3
"""

import argparse
import csv
import json
import os
import subprocess
import sys


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stderr}")
    return r.stdout


def metrics(rows, truth, candidates):
    tp = fp = fn = exact = n = 0
    for r in rows:
        t = truth[int(r["row"]) - 1]
        if t is None:
            continue  # a false alarm: not a root-cause question
        n += 1
        got = set(c for c in r["root_causes"].split("|") if c)
        t = t & candidates
        tp += len(got & t)
        fp += len(got - t)
        fn += len(t - got)
        exact += got == t
    p = tp / max(tp + fp, 1)
    rc = tp / max(tp + fn, 1)
    return {"rows": n, "precision": p, "recall": rc,
            "f1": 2 * tp / max(2 * tp + fp + fn, 1), "exact": exact / max(n, 1)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--remedy", default="target/release/remedy")
    ap.add_argument("--seeds", default="1,2,3")
    args = ap.parse_args()
    for seed in args.seeds.split(","):
        d = os.path.join(args.out, f"loan-s{seed}")
        if not os.path.exists(os.path.join(d, "train.csv")):
            run([args.remedy, "generate", "loan", "--seed", seed, "--out", d])
        model = os.path.join(d, "model")
        if not os.path.exists(os.path.join(model, "remedy.json")):
            run([args.remedy, "fit", "--train", os.path.join(d, "train.csv"), "--graph",
                 os.path.join(d, "graph.dot"), "--schema", os.path.join(d, "schema.toml"),
                 "--out", model, "--recourse", "search", "--seed", seed])
        with open(os.path.join(d, "test.csv")) as f:
            truth = [set(c for c in r["root_causes"].split("|") if c)
                     if r["is_anomaly"] == "1" else None for r in csv.DictReader(f)]
        for rule, flags in [("holm-0.01", []), ("holm-0.05", ["--alpha", "0.05"]),
                            ("quantile", ["--rule", "quantile"])]:
            rows = json.loads(run([args.remedy, "explain", "--format", "json", "--model", model,
                                   "--data", os.path.join(d, "test.csv")] + flags))
            candidates = set(k[len("pvalue_"):] for k in rows[0] if k.startswith("pvalue_"))
            m = metrics(rows, truth, candidates)
            print(f"loan s={seed} {rule:>9}: rows {m['rows']} P {m['precision']:.3f} "
                  f"R {m['recall']:.3f} F1 {m['f1']:.3f} exact {m['exact']:.3f}", flush=True)


if __name__ == "__main__":
    main()
