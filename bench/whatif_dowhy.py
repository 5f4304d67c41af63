#!/usr/bin/env python3
"""What-if questions beside DoWhy-gcm: ``remedy counterfactual`` / ``remedy intervene`` and
gcm's ``counterfactual_samples`` / ``interventional_samples`` on the same data, judged against
the generating SCM.

Two SCM families over A -> B -> C -> D with A -> C, the ones in crates/app/tests/whatif.rs:
a linear-Gaussian SEM (B = 1.5 A + u_B, C = -0.8 B + 0.5 A + u_C, D = 2 C + u_D; noise sds 1,
0.5, 1, 0.7) and a non-linear additive-noise model (B = 2 tanh A + u_B, C = 0.5 B^2 - A + u_C,
D = sin C + C/2 + u_D; noise sds 1, 0.4, 0.5, 0.3). Per seed: --rows normal rows to fit on,
300 new rows to ask about. Questions (each feature's RMS error in sds of the normal rows, the
worst feature printed):

- counterfactual "shift": B + 0.5, the rows keeping their true noise;
- counterfactual "do+shift": do(A = 1) with C - 0.5;
- intervention: do(A = 1) on the population, the error of each feature's mean (in sd) and the
  ratio of its sd to the truth's (from 200,000 rows of the SCM under it).

Remedy: ``remedy fit --recourse search`` (default causal model, the additive-noise one); DoWhy:
an InvertibleStructuralCausalModel with ``gcm.auto.assign_causal_mechanisms`` at its default
quality. Times are wall seconds on this machine, fit and queries apart.

Needs numpy, pandas, networkx, dowhy (0.14 measured); not part of the test suite:

    /tmp/dowhy-venv/bin/python bench/whatif_dowhy.py --remedy target/release/remedy
"""

import argparse
import json
import os
import subprocess
import tempfile
import time
import warnings

import numpy as np

warnings.filterwarnings("ignore")

NAMES = ["A", "B", "C", "D"]
EDGES = [("A", "B"), ("B", "C"), ("A", "C"), ("C", "D")]
FAMILIES = {
    "linear": (
        [
            lambda x, u: u,
            lambda x, u: 1.5 * x[0] + u,
            lambda x, u: -0.8 * x[1] + 0.5 * x[0] + u,
            lambda x, u: 2.0 * x[2] + u,
        ],
        [1.0, 0.5, 1.0, 0.7],
    ),
    "nonlinear": (
        [
            lambda x, u: u,
            lambda x, u: 2.0 * np.tanh(x[0]) + u,
            lambda x, u: 0.5 * x[1] ** 2 - x[0] + u,
            lambda x, u: np.sin(x[2]) + 0.5 * x[2] + u,
        ],
        [1.0, 0.4, 0.5, 0.3],
    ),
}


def forward(family, u, shift=(0, 0, 0, 0), do=(None,) * 4):
    f, _ = FAMILIES[family]
    x = [None] * 4
    for j in range(4):
        x[j] = np.full(len(u), do[j]) if do[j] is not None else f[j](x, u[:, j]) + shift[j]
    return np.stack(x, axis=1)


def noise(family, n, rng):
    return rng.standard_normal((n, 4)) * np.array(FAMILIES[family][1])


def rms_in_sd(got, want, normal):
    return np.sqrt(((got - want) ** 2).mean(axis=0)) / normal.std(axis=0, ddof=1)


def run_remedy(remedy, d, train, rows, questions, seed):
    import pandas as pd

    pd.DataFrame(train, columns=NAMES).to_csv(f"{d}/train.csv", index=False)
    pd.DataFrame(rows, columns=NAMES).to_csv(f"{d}/rows.csv", index=False)
    with open(f"{d}/graph.dot", "w") as g:
        g.write("digraph {" + "; ".join(f"{a} -> {b}" for a, b in EDGES) + "}")
    t0 = time.perf_counter()
    subprocess.run([remedy, "fit", "--train", f"{d}/train.csv", "--graph", f"{d}/graph.dot",
                    "--recourse", "search", "--seed", str(seed), "--out", f"{d}/model",
                    "--force"], check=True, capture_output=True)
    fit_s = time.perf_counter() - t0
    answers, t0 = {}, time.perf_counter()
    for name, (flags, _, _) in questions.items():
        out = subprocess.run([remedy, "counterfactual", "--model", f"{d}/model", "--data",
                              f"{d}/rows.csv", "--format", "csv", "-o", f"{d}/cf.csv", *flags],
                             check=True, capture_output=True)
        assert out.returncode == 0
        answers[name] = pd.read_csv(f"{d}/cf.csv")[NAMES].to_numpy()
    subprocess.run([remedy, "intervene", "--model", f"{d}/model", "--do", "A=1", "--samples",
                    "20000", "--seed", str(seed), "--format", "csv", "-o", f"{d}/iv.csv"],
                   check=True, capture_output=True)
    answers["intervention"] = pd.read_csv(f"{d}/iv.csv")[NAMES].to_numpy()
    return fit_s, time.perf_counter() - t0, answers


def run_dowhy(train, rows, questions, seed):
    import networkx as nx
    import pandas as pd
    from dowhy import gcm

    gcm.config.disable_progress_bars()
    gcm.util.general.set_random_seed(seed)
    data = pd.DataFrame(train, columns=NAMES)
    t0 = time.perf_counter()
    scm = gcm.InvertibleStructuralCausalModel(nx.DiGraph(EDGES))
    gcm.auto.assign_causal_mechanisms(scm, data)
    gcm.fit(scm, data)
    fit_s = time.perf_counter() - t0
    observed = pd.DataFrame(rows, columns=NAMES)
    answers, t0 = {}, time.perf_counter()
    for name, (_, shift, do) in questions.items():
        iv = {}
        for j, n in enumerate(NAMES):
            if do[j] is not None:
                iv[n] = (lambda v: lambda x: v)(do[j])
            elif shift[j]:
                iv[n] = (lambda s: lambda x: x + s)(shift[j])
        answers[name] = gcm.counterfactual_samples(scm, iv, observed_data=observed)[NAMES].to_numpy()
    answers["intervention"] = gcm.interventional_samples(
        scm, {"A": lambda x: 1.0}, num_samples_to_draw=20000)[NAMES].to_numpy()
    return fit_s, time.perf_counter() - t0, answers


def judge(family, answers, u_rows, rows, normal, truth_iv, questions):
    out = {}
    for name, (_, shift, do) in questions.items():
        want = forward(family, u_rows, shift, do)
        out[name] = float(rms_in_sd(answers[name], want, normal).max())
    got = answers["intervention"]
    sd = normal.std(axis=0, ddof=1)
    out["intervention_mean_sd"] = float((np.abs(got.mean(0) - truth_iv.mean(0)) / sd).max())
    ratio = [got[:, j].std(ddof=1) / truth_iv[:, j].std(ddof=1)
             for j in range(4) if truth_iv[:, j].std() > 0]
    out["intervention_sd_ratio_worst"] = float(max(ratio, key=lambda r: abs(r - 1)))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--remedy", default=os.environ.get("REMEDY_BIN", "target/release/remedy"))
    ap.add_argument("--rows", type=int, default=10000)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    args = ap.parse_args()
    questions = {
        "shift": (["--shift", "B=0.5"], (0, 0.5, 0, 0), (None,) * 4),
        "do+shift": (["--do", "A=1", "--shift", "C=-0.5"], (0, 0, -0.5, 0), (1.0, None, None, None)),
    }
    results = []
    for family in FAMILIES:
        for seed in args.seeds:
            rng = np.random.default_rng(seed)
            train = forward(family, noise(family, args.rows, rng))
            u_rows = noise(family, 300, rng)
            rows = forward(family, u_rows)
            truth_iv = forward(family, noise(family, 200_000, rng), do=(1.0, None, None, None))
            with tempfile.TemporaryDirectory() as d:
                r = run_remedy(args.remedy, d, train, rows, questions, seed)
            w = run_dowhy(train, rows, questions, seed)
            for tool, (fit_s, query_s, answers) in [("remedy", r), ("dowhy", w)]:
                row = {"family": family, "seed": seed, "tool": tool, "fit_s": round(fit_s, 2),
                       "queries_s": round(query_s, 2)}
                row.update({k: round(v, 4) for k, v in
                            judge(family, answers, u_rows, rows, train, truth_iv, questions).items()})
                results.append(row)
                print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
