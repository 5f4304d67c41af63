#!/usr/bin/env python3
"""Root-cause sets on structural causal models this project did not fit its defaults to.

Generates, per (family, size, seed), 4,000 normal training rows, anomalous rows with 1-2 root
causes whose exogenous noise is shifted by 5-10 sd, and normal test rows, from published SCM
families:

- ``linear-chain``: X1 -> X2 -> ... linear-Gaussian (the chain of Janzing et al. 2019).
- ``linear``: a random DAG (Erdos-Renyi over a random order, expected degree 2), linear
  mechanisms with weights in ±[0.5, 1.5], Gaussian noise (the standard benchmark of PC/NOTEARS
  evaluations, e.g. Zheng et al. 2018).
- ``nonlinear``: the same DAGs, each parent through a square, tanh or sigmoid (the additive-
  noise families of Hoyer et al. 2009 / Peters et al. 2014), standardised to unit scale with
  constants fixed on the training rows.
- ``latency``: a service-call DAG where a node is the max or the sum of its parents' latencies
  plus its own non-Gaussian (exponential or log-normal) latency (the microservice setting of
  Budhathoki et al. 2022, "Causal structure-based root cause analysis of outliers").

Then runs the user path through the binary: ``remedy fit --recourse search`` and ``remedy
explain --all --format json`` under the default rule (Holm, α = 0.01), Holm at α = 0.05 and the
paper's quantile rule (π = 0.125), and prints, per case: exact-set accuracy (over all
anomalous rows, and over those the detector flags) and top-1 on the anomalous rows,
precision/recall, and the share of normal rows with any root cause. The ``truth-α`` rows are a
ground-truth bound: Holm at α on the exact p-values of the true noise under the true noise
distributions (with remedy's detector verdicts and the same at-least-the-strongest rule), what
any calibrated family-wise rule could reach knowing the mechanisms.

Pure Python (no numpy), seeded: the same arguments give the same data.

    cargo build --release
    python3 bench/rootcause_families.py --out /tmp/rc --seeds 1 --sizes 5,10,20
"""

import argparse
import json
import math
import os
import random
import subprocess
import sys
import time

TRAIN = 4000
ANOMALIES = 300
NORMAL_TEST = 2000


def random_dag(rng, n, degree=2.0):
    order = list(range(n))
    p = min(1.0, degree / max(n - 1, 1))
    parents = {j: [] for j in range(n)}
    for a in range(n):
        for b in range(a + 1, n):
            if rng.random() < p:
                parents[order[b]].append(order[a])
    # No isolated node: an edge list cannot name one. Link it to a random other node.
    for j in range(n):
        if not parents[j] and not any(j in parents[k] for k in range(n)):
            other = rng.choice([k for k in range(n) if k != j])
            if other < j:
                parents[j].append(other)
            else:
                parents[other].append(j)
    return parents


def chain(n):
    return {j: ([j - 1] if j > 0 else []) for j in range(n)}


class Scm:
    def __init__(self, family, n, rng):
        self.family, self.n = family, n
        if family == "linear-chain":
            self.parents = chain(n)
        elif family == "latency":
            # Calls flow from callers (low index) to callees; a node's latency includes its
            # slowest (max) or all (sum) downstream calls.
            self.parents = random_dag(rng, n, degree=1.5)
        else:
            self.parents = random_dag(rng, n)
        self.weights = {
            j: [rng.choice([-1, 1]) * rng.uniform(0.5, 1.5) for _ in self.parents[j]]
            for j in range(n)
        }
        self.funcs = {
            j: [rng.choice(["square", "tanh", "sigmoid"]) for _ in self.parents[j]]
            for j in range(n)
        }
        self.combine = {j: rng.choice(["max", "sum"]) for j in range(n)}
        self.noise_kind = {j: rng.choice(["exp", "lognormal"]) for j in range(n)}
        self.noise_sd = {j: rng.uniform(0.5, 1.5) for j in range(n)}
        self.scale = {}  # per node: (mean, sd) of the mechanism's raw output on training rows

    def noise(self, rng, j):
        sd = self.noise_sd[j]
        if self.family == "latency":
            if self.noise_kind[j] == "exp":
                return rng.expovariate(1.0 / sd)  # mean sd, sd sd
            s = 0.5  # log-normal with sigma 0.5, scaled to sd
            v = math.exp(rng.gauss(0.0, s))
            return v * sd / math.sqrt((math.exp(s * s) - 1) * math.exp(s * s))
        return rng.gauss(0.0, sd)

    def raw(self, j, x):
        ps = self.parents[j]
        if not ps:
            return 0.0
        if self.family in ("linear", "linear-chain"):
            return sum(w * x[p] for w, p in zip(self.weights[j], ps))
        if self.family == "nonlinear":
            out = 0.0
            for w, f, p in zip(self.weights[j], self.funcs[j], ps):
                v = x[p]
                if f == "square":
                    g = v * v
                elif f == "tanh":
                    g = math.tanh(v)
                else:
                    g = 1.0 / (1.0 + math.exp(-max(min(v, 50.0), -50.0)))
                out += w * g
            return out
        vals = [x[p] for p in ps]
        return max(vals) if self.combine[j] == "max" else sum(vals)

    def mechanism(self, j, x):
        r = self.raw(j, x)
        if self.family == "nonlinear" and j in self.scale:
            m, s = self.scale[j]
            return (r - m) / s
        return r

    def fit_scales(self, rng):
        """Fixes the nonlinear family's per-node standardisation on a pilot sample."""
        if self.family != "nonlinear":
            return
        pilot = 4000
        xs = [[0.0] * self.n for _ in range(pilot)]
        for j in topological(self.parents):
            if self.parents[j]:
                raws = [self.raw(j, x) for x in xs]
                m = sum(raws) / pilot
                s = math.sqrt(sum((r - m) ** 2 for r in raws) / (pilot - 1)) or 1.0
                self.scale[j] = (m, s)
            for x in xs:
                x[j] = self.mechanism(j, x) + self.noise(rng, j)

    def sample(self, rng, shifts=None, noise_out=None):
        x = [0.0] * self.n
        us = [0.0] * self.n
        for j in topological(self.parents):
            u = self.noise(rng, j) + (shifts or {}).get(j, 0.0)
            us[j] = u
            x[j] = self.mechanism(j, x) + u
        if noise_out is not None:
            noise_out.append(us)
        return x

    def pvalue(self, j, u):
        """P(|U - m| >= |u - m|) under node j's true noise distribution, m its median: the
        statistic remedy's p-values use (distance from the median, two-sided)."""
        sd = self.noise_sd[j]
        if self.family != "latency":
            return math.erfc(abs(u) / (sd * math.sqrt(2.0)))
        if self.noise_kind[j] == "exp":
            def cdf(v):
                return 1.0 - math.exp(-v / sd) if v > 0 else 0.0
            m = sd * math.log(2.0)
        else:
            s = 0.5
            c = sd / math.sqrt((math.exp(s * s) - 1) * math.exp(s * s))

            def cdf(v):
                return 0.5 * math.erfc(-math.log(v / c) / (s * math.sqrt(2.0))) if v > 0 else 0.0
            m = c
        d = abs(u - m)
        return min(1.0, (1.0 - cdf(m + d)) + cdf(m - d))


def topological(parents):
    seen, order = set(), []

    def visit(j):
        if j in seen:
            return
        seen.add(j)
        for p in parents[j]:
            visit(p)
        order.append(j)

    for j in sorted(parents):
        visit(j)
    return order


def write_csv(path, names, rows):
    with open(path, "w") as f:
        f.write(",".join(names) + "\n")
        for r in rows:
            f.write(",".join(repr(v) for v in r) + "\n")


def make_case(out, family, n, seed):
    rng = random.Random(f"{family}-{n}-{seed}")
    scm = Scm(family, n, rng)
    scm.fit_scales(rng)
    names = [f"X{j}" for j in range(n)]
    train = [scm.sample(rng) for _ in range(TRAIN)]
    test, truth, noise = [], [], []
    for _ in range(ANOMALIES):
        k = rng.choice([1, 2])
        causes = sorted(rng.sample(range(n), k))
        shifts = {}
        for c in causes:
            size = rng.uniform(5.0, 10.0) * scm.noise_sd[c]
            sign = 1.0 if family == "latency" else rng.choice([-1.0, 1.0])
            shifts[c] = sign * size
        test.append(scm.sample(rng, shifts, noise))
        truth.append([names[c] for c in causes])
    for _ in range(NORMAL_TEST):
        test.append(scm.sample(rng, None, noise))
        truth.append(None)
    # The ground-truth bound: p-values of the true noise under the true noise distributions.
    oracle_p = [[scm.pvalue(j, u[j]) for j in range(n)] for u in noise]
    os.makedirs(out, exist_ok=True)
    write_csv(os.path.join(out, "train.csv"), names, train)
    write_csv(os.path.join(out, "test.csv"), names, test)
    with open(os.path.join(out, "edges.csv"), "w") as f:
        f.write("source,target\n")
        for j in range(n):
            for p in scm.parents[j]:
                f.write(f"X{p},X{j}\n")
    with open(os.path.join(out, "truth.json"), "w") as f:
        json.dump({"truth": truth}, f)
    return truth, oracle_p, scm.parents


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stderr}")
    return r.stdout


def holm(ps, alpha):
    order = sorted(range(len(ps)), key=lambda i: (ps[i], i))
    out = []
    for j, i in enumerate(order):
        if ps[i] > alpha / (len(ps) - j):
            break
        out.append(i)
    return out


def oracle_rows(rows, oracle_p, alpha):
    """Holm at alpha on the true noise's exact p-values, with remedy's detector verdicts and
    the same at-least-the-strongest rule: what a calibrated family-wise rule could reach with
    the true mechanisms and noise distributions."""
    out = []
    for r, ps in zip(rows, oracle_p):
        names = [f"X{j}" for j in range(len(ps))]
        got = holm(ps, alpha)
        best = min(range(len(ps)), key=lambda i: (ps[i], i))
        if r["is_anomaly"] and not got:
            got = [best]
        ranks = sorted(range(len(ps)), key=lambda i: (ps[i], i))
        o = {"is_anomaly": r["is_anomaly"], "root_causes": "|".join(names[i] for i in sorted(got))}
        for k, i in enumerate(ranks):
            o[f"rank_{names[i]}"] = k + 1
        out.append(o)
    return out


def ancestors(parents, j):
    out, todo = set(), list(parents[j])
    while todo:
        p = todo.pop()
        if p not in out:
            out.add(p)
            todo.extend(parents[p])
    return out


def score(rows, truth, parents):
    """Metrics over the rows `explain --all` printed (one per test row, in order)."""
    an = [(r, set(t)) for r, t in zip(rows, truth) if t is not None]
    # Rows where no true root cause is an ancestor of another: there a learnt mechanism is
    # never asked about a parent its own data did not cover, beyond the root cause itself.
    def separable(t):
        idx = [int(c[1:]) for c in t]
        return not any(a in ancestors(parents, b) for a in idx for b in idx if a != b)
    sep = [(r, t) for r, t in an if separable(t)]
    normal = [r for r, t in zip(rows, truth) if t is None]
    quiet = [r for r in normal if not r["is_anomaly"]]
    exact = top1 = tp = fp = fn = exact_detected = 0
    for r, t in an:
        got = set(c for c in r["root_causes"].split("|") if c)
        exact += got == t
        exact_detected += got == t and bool(r["is_anomaly"])
        tp += len(got & t)
        fp += len(got - t)
        fn += len(t - got)
        ranks = {k[len("rank_"):]: v for k, v in r.items() if k.startswith("rank_")}
        if ranks:
            top1 += min(ranks, key=ranks.get) in t
    flagged = sum(1 for r, _ in an if r["is_anomaly"])
    return {
        "anomalies": len(an),
        "detected": flagged / max(len(an), 1),
        "exact": exact / max(len(an), 1),
        "exact_detected": exact_detected / max(flagged, 1),
        "top1": top1 / max(len(an), 1),
        "precision": tp / max(tp + fp, 1),
        "recall": tp / max(tp + fn, 1),
        "exact_separable": sum(
            set(c for c in r["root_causes"].split("|") if c) == t for r, t in sep
        ) / max(len(sep), 1),
        "separable_share": len(sep) / max(len(an), 1),
        "normal_rows": len(normal),
        "false_alarms": (len(normal) - len(quiet)) / max(len(normal), 1),
        "unflagged_normal_any": sum(1 for r in quiet if r["root_causes"]) / max(len(quiet), 1),
        "normal_any": sum(1 for r in normal if r["root_causes"]) / max(len(normal), 1),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="working folder (data, models, results)")
    ap.add_argument("--remedy", default="target/release/remedy")
    ap.add_argument("--families", default="linear-chain,linear,nonlinear,latency")
    ap.add_argument("--sizes", default="5,10,20")
    ap.add_argument("--seeds", default="1")
    ap.add_argument("--causal", default="anm", help="anm or vaca")
    args = ap.parse_args()
    results = []
    for family in args.families.split(","):
        for n in [int(s) for s in args.sizes.split(",")]:
            for seed in [int(s) for s in args.seeds.split(",")]:
                case = os.path.join(args.out, f"{family}-{n}-s{seed}")
                truth, oracle_p, parents = make_case(case, family, n, seed)
                model = os.path.join(case, f"model-{args.causal}")
                t0 = time.time()
                if not os.path.exists(os.path.join(model, "remedy.json")):
                    run([args.remedy, "fit", "--train", os.path.join(case, "train.csv"),
                         "--graph", os.path.join(case, "edges.csv"), "--out", model,
                         "--recourse", "search", "--causal", args.causal, "--seed", str(seed),
                         "--force"])
                fit_s = time.time() - t0
                for rule, flags in [("holm-0.01", []), ("holm-0.05", ["--alpha", "0.05"]),
                                    ("quantile", ["--rule", "quantile"]),
                                    ("truth-0.01", []), ("truth-0.05", [])]:
                    text = run([args.remedy, "explain", "--all", "--format", "json", "--model",
                                model, "--data", os.path.join(case, "test.csv")] + flags)
                    rows = json.loads(text)
                    if rule.startswith("truth"):
                        rows = oracle_rows(rows, oracle_p, float(rule.split("-")[1]))
                    m = score(rows, truth, parents)
                    m.update(family=family, nodes=n, seed=seed, rule=rule, causal=args.causal,
                             fit_s=round(fit_s, 1))
                    results.append(m)
                    print(f"{family:>12} n={n:<2} s={seed} {args.causal} {rule:>9}: "
                          f"exact {m['exact']:.3f} (detected {m['exact_detected']:.3f}) "
                          f"top1 {m['top1']:.3f} "
                          f"P {m['precision']:.3f} R {m['recall']:.3f} "
                          f"detected {m['detected']:.3f} normal-any {m['normal_any']:.4f} "
                          f"(unflagged {m['unflagged_normal_any']:.4f}, false alarms "
                          f"{m['false_alarms']:.4f}) separable {m['separable_share']:.2f} "
                          f"exact there {m['exact_separable']:.3f} "
                          f"(fit {fit_s:.0f} s)", flush=True)
    with open(os.path.join(args.out, f"results-{args.causal}.json"), "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
