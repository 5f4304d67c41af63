#!/usr/bin/env python3
"""`remedy graph discover` beside causal-learn's PC on the same data: skeleton F1, SHD of the
CPDAG against the true one, and time.

Data: linear-Gaussian SEMs on Erdős–Rényi DAGs (a random node order, each forward pair an edge
with probability k / (d - 1) for expected degree k, weights uniform on ±[0.5, 2], N(0, 1)
noise), the family of the PC literature. Both run PC-stable with Fisher-z tests at the same
alpha, single-threaded (OMP/BLAS threads 1). ``s`` is Remedy's CLI wall time (starting, reading
the CSV, writing) and causal-learn's ``pc`` call on the array in memory; ``algorithm_s`` is
Remedy's own report of the algorithm alone (correlations, tests, orientation), as
causal-learn's.

--sachs DIR runs both on the Sachs et al. (2005) flow-cytometry data (``sachs.csv`` and the
consensus graph ``consensus_edges.csv`` in DIR, see its PROVENANCE.md; ``--log`` takes logs of
the intensities first) and scores the skeleton and the CPDAG against the consensus graph (the
CPDAG of the consensus DAG).

Needs numpy and causal-learn (0.1.4 measured):

    /tmp/dowhy-venv/bin/python bench/pc_causallearn.py --remedy target/release/remedy
"""

import argparse
import json
import os
import re
import subprocess
import tempfile
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402


def random_sem(d, degree, n, seed):
    rng = np.random.default_rng(seed)
    order = rng.permutation(d)
    w = np.zeros((d, d))
    p = degree / (d - 1)
    for a in range(d):
        for b in range(a + 1, d):
            if rng.random() < p:
                w[order[a], order[b]] = rng.uniform(0.5, 2.0) * rng.choice([-1, 1])
    x = np.zeros((n, d))
    for j in order:
        x[:, j] = x @ w[:, j] + rng.standard_normal(n)
    return x, (w != 0).astype(int)


def cpdag(dag):
    """The CPDAG of a DAG (adjacency a[i, j] = 1 for i -> j): marks m[i, j] = 1 where i -> j or
    i - j (both set: undirected). Colliders, then Meek's R1-R3."""
    d = len(dag)
    m = ((dag + dag.T) > 0).astype(int)
    adj = m.copy()
    for c in range(d):
        pa = [a for a in range(d) if dag[a, c]]
        for i, a in enumerate(pa):
            for b in pa[i + 1:]:
                if not adj[a, b]:
                    m[c, a] = 0
                    m[c, b] = 0
    und = lambda a, b: m[a, b] and m[b, a]  # noqa: E731
    dirc = lambda a, b: m[a, b] and not m[b, a]  # noqa: E731
    changed = True
    while changed:
        changed = False
        for a in range(d):
            for b in range(d):
                if a == b or not und(a, b):
                    continue
                r1 = any(dirc(c, a) and not adj[c, b] for c in range(d) if c != b)
                r2 = any(dirc(a, c) and dirc(c, b) for c in range(d))
                mid = [c for c in range(d) if und(a, c) and dirc(c, b)]
                r3 = any(not adj[c, e] for i, c in enumerate(mid) for e in mid[i + 1:])
                if r1 or r2 or r3:
                    m[b, a] = 0
                    changed = True
    return m


def score(m, truth):
    """Skeleton F1 and SHD between two mark matrices (a missing or extra edge, or a different
    mark on a shared edge, counts 1)."""
    d = len(m)
    sk, st = (m + m.T) > 0, (truth + truth.T) > 0
    tp = fp = fn = shd = 0
    for a in range(d):
        for b in range(a + 1, d):
            if sk[a, b] and st[a, b]:
                tp += 1
                if (m[a, b], m[b, a]) != (truth[a, b], truth[b, a]):
                    shd += 1
            elif sk[a, b]:
                fp += 1
                shd += 1
            elif st[a, b]:
                fn += 1
                shd += 1
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return round(f1, 3), shd


def write_csv(path, x, names):
    """Numbers in round-trip form; an object array's text (category labels) as is."""
    if x.dtype == object:
        with open(path, "w") as f:
            f.write(",".join(names) + "\n")
            for row in x:
                f.write(",".join(v if isinstance(v, str) else repr(float(v)) for v in row) + "\n")
    else:
        np.savetxt(path, x, delimiter=",", header=",".join(names), comments="", fmt="%.17g")


def run_remedy(remedy, x, names, alpha):
    with tempfile.TemporaryDirectory() as d:
        write_csv(f"{d}/x.csv", x, names)
        t0 = time.perf_counter()
        run = subprocess.run([remedy, "graph", "discover", "--data", f"{d}/x.csv", "--alpha",
                              str(alpha), "--format", "csv", "-o", f"{d}/e.csv"], check=True,
                             capture_output=True, text=True)
        secs = time.perf_counter() - t0
        algorithm = float(re.search(r"tests in ([0-9.]+) s", run.stderr).group(1))
        m = np.zeros((len(names), len(names)), dtype=int)
        index = {n: i for i, n in enumerate(names)}
        for line in open(f"{d}/e.csv").read().splitlines()[1:]:
            s, t, how = line.split(",")
            m[index[s], index[t]] = 1
            if how == "extension":
                m[index[t], index[s]] = 1
    return m, (secs, algorithm)


def run_causallearn(x, alpha, from_file=False):
    """causal-learn's PC on `x`; with `from_file`, ``s`` also counts reading the same CSV with
    pandas (file to file, as Remedy's CLI time)."""
    from causallearn.search.ConstraintBased.PC import pc

    read = 0.0
    if from_file:
        import pandas as pd

        with tempfile.TemporaryDirectory() as d:
            write_csv(f"{d}/x.csv", x, [f"X{i}" for i in range(x.shape[1])])
            t0 = time.perf_counter()
            x = pd.read_csv(f"{d}/x.csv").to_numpy()
            read = time.perf_counter() - t0
    t0 = time.perf_counter()
    cg = pc(x, alpha=alpha, indep_test="fisherz", stable=True, show_progress=False)
    secs = time.perf_counter() - t0
    secs = (secs + read, secs)
    g = cg.G.graph
    d = len(g)
    m = np.zeros((d, d), dtype=int)
    for a in range(d):
        for b in range(d):
            if g[a, b] == -1 and g[b, a] == 1:
                m[a, b] = 1
            elif g[a, b] == -1 and g[b, a] == -1:
                m[a, b] = m[b, a] = 1
            elif g[a, b] == 1 and g[b, a] == 1:  # bidirected: count as adjacent, undirected
                m[a, b] = m[b, a] = 1
    return m, secs


def sachs(remedy, path, alpha, log):
    text = open(os.path.join(path, "sachs.csv")).read().splitlines()
    names = text[0].split(",")
    x = np.array([[float(v) for v in line.split(",")] for line in text[1:]])
    if log:
        x = np.log(x)
    index = {n: i for i, n in enumerate(names)}
    dag = np.zeros((len(names), len(names)), dtype=int)
    for line in open(os.path.join(path, "consensus_edges.csv")).read().splitlines()[1:]:
        a, b = (v.strip('"') for v in line.split(","))
        dag[index[a], index[b]] = 1
    truth = cpdag(dag)
    for tool, (m, secs) in [("remedy", run_remedy(remedy, x, names, alpha)),
                            ("causal-learn", run_causallearn(x, alpha))]:
        f1, shd = score(m, truth)
        print(json.dumps({"data": "sachs", "log": log, "rows": len(x), "alpha": alpha,
                          "tool": tool, "skeleton_f1": f1, "shd": shd, "s": round(secs[0], 3),
                          "algorithm_s": round(secs[1], 3)}),
              flush=True)


def mixed_sem(d, degree, n, seed):
    """A mixed DAG model in the style of Andrews, Ramsey & Cooper (2019): an Erdős–Rényi DAG
    as above; a third of the nodes categorical with 2-4 levels drawn by a multinomial logit of
    their parents (a weight per level for a continuous parent, per pair of levels for a
    categorical one), the others linear-Gaussian in their continuous parents plus a shift per
    level of each categorical parent (weights and shifts uniform on ±[0.5, 2]); continuous
    nodes standardised before their children use them. Returns the rows as text categories
    and numbers, the same with categories as integer codes, and the DAG."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(d)
    dag = np.zeros((d, d), dtype=int)
    p = degree / (d - 1)
    for a in range(d):
        for b in range(a + 1, d):
            if rng.random() < p:
                dag[order[a], order[b]] = 1
    levels = np.zeros(d, dtype=int)
    for j in rng.choice(d, size=d // 3, replace=False):
        levels[j] = rng.integers(2, 5)
    w = lambda *shape: rng.uniform(0.5, 2.0, shape) * rng.choice([-1, 1], shape)  # noqa: E731
    x = np.zeros((n, d))
    for j in order:
        parents = np.flatnonzero(dag[:, j])
        k = levels[j]
        if k:
            logits = np.zeros((n, k))
            for a in parents:
                if levels[a]:
                    logits += w(levels[a], k)[x[:, a].astype(int)]
                else:
                    logits += np.outer(x[:, a], w(k))
            u = logits + rng.gumbel(size=(n, k))
            x[:, j] = u.argmax(axis=1)
        else:
            v = rng.standard_normal(n)
            for a in parents:
                if levels[a]:
                    v += w(levels[a])[x[:, a].astype(int)]
                else:
                    v += w() * x[:, a]
            x[:, j] = (v - v.mean()) / v.std()
    text = x.astype(object)
    for j in np.flatnonzero(levels):
        text[:, j] = np.array([f"L{int(c)}" for c in x[:, j]], dtype=object)
    return text, x, dag


def mixed(remedy, seeds, alpha):
    """Remedy on the text categories (DG tests) beside Remedy and causal-learn's Fisher-z on
    the integer codes (what a user without a mixed-data test would run)."""
    for d, k in [(10, 2), (20, 2), (20, 3)]:
        for seed in seeds:
            text, codes, dag = mixed_sem(d, k, 5000, seed)
            truth = cpdag(dag)
            names = [f"X{i}" for i in range(d)]
            for tool, (m, secs) in [("remedy", run_remedy(remedy, text, names, alpha)),
                                    ("remedy-codes", run_remedy(remedy, codes, names, alpha)),
                                    ("causal-learn-codes", run_causallearn(codes, alpha))]:
                f1, shd = score(m, truth)
                print(json.dumps({"mixed": True, "nodes": d, "degree": k, "rows": 5000,
                                  "seed": seed, "tool": tool, "skeleton_f1": f1, "shd": shd,
                                  "s": round(secs[0], 3), "algorithm_s": round(secs[1], 3)}),
                      flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--remedy", default=os.environ.get("REMEDY_BIN", "target/release/remedy"))
    ap.add_argument("--alpha", type=float, default=0.01)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--sachs", help="directory of the Sachs data (sachs.csv, consensus_edges.csv)")
    ap.add_argument("--log", action="store_true", help="Sachs: log-transform the intensities")
    ap.add_argument("--speed", action="store_true", help="also 50 and 100 nodes x 20,000 rows")
    ap.add_argument("--from-file", action="store_true",
                    help="causal-learn's time includes reading the CSV with pandas")
    ap.add_argument("--mixed", action="store_true",
                    help="mixed continuous and categorical data instead")
    args = ap.parse_args()
    if args.sachs:
        sachs(args.remedy, args.sachs, args.alpha, args.log)
        return
    if args.mixed:
        mixed(args.remedy, args.seeds, args.alpha)
        return
    cases = [(d, k, 5000) for d in (10, 20) for k in (2, 3)]
    if args.speed:
        cases += [(50, 2, 20000), (100, 2, 20000)]
    for d, k, n in cases:
        for seed in args.seeds:
            x, dag = random_sem(d, k, n, seed)
            truth = cpdag(dag)
            names = [f"X{i}" for i in range(d)]
            for tool, (m, secs) in [("remedy", run_remedy(args.remedy, x, names, args.alpha)),
                                    ("causal-learn",
                                     run_causallearn(x, args.alpha, args.from_file))]:
                f1, shd = score(m, truth)
                print(json.dumps({"nodes": d, "degree": k, "rows": n, "seed": seed, "tool": tool,
                                  "skeleton_f1": f1, "shd": shd, "s": round(secs[0], 3),
                                  "algorithm_s": round(secs[1], 3)}),
                      flush=True)


if __name__ == "__main__":
    main()
