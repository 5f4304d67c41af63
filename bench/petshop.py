#!/usr/bin/env python3
"""Root causes of real microservice incidents (the PetShop data set) through the user path.

Reads one scenario of the PetShop data set (Hardt et al. 2023, arXiv 2311.04806) in its upstream
layout, as a user who downloaded it would have it:

- ``graph.csv``: the call graph as an adjacency matrix (row = caller, column = callee). A
  callee's latency or availability drives its caller's, so the causal graph is the reverse. A
  graph node without a metric column is marginalised (its parents linked to its children), as
  upstream's ``marginalize_node`` does.
- ``noissue/metrics.csv``: the normal 5-minute rows; ``{train,test}/issue_*/metrics.csv``: a
  short window around each incident, ``target.json``: the node and metric whose service-level
  objective was violated and the true root-cause node. ``metrics.csv`` has a three-row header
  (node, metric, statistic), a timestamp index and many empty cells.

Per target metric (latency, availability; statistic ``Average``) it writes the normal rows and
the reversed graph as CSV, runs ``remedy fit`` once, and per incident runs ``remedy explain``
on the window, reading the evidence of row 3 of the window (upstream's protocol analyses the
third time step, ``row_index_to_analyze = 2``). The ranking is remedy's per-feature evidence
(smallest p-value first, then highest score); **ties count against us**: the true root cause's
position is the number of candidates whose evidence is at least as strong as its own.

Beside it, computed here on the same rows: ``|z|`` (the incident row's distance from the normal
mean in normal sds, per node) and upstream's published graph-traversal baseline re-implemented
(a node is anomalous when |x - median| / MAD > 5 on the normal rows; root causes are anomalous
nodes without an anomalous parent, scored by the largest sum of scores along an all-anomalous
path to the target; ``MeanDeviationWithoutRescaling`` with threshold 0 for constant columns).

Specificity (upstream's ``evaluate_specificity``): the normal rows are cut at 50%, 60%, ...
of their length; the model is fitted on the rows before the cut and the third row after the cut
is analysed; a method is right when it reports no root cause at all.

Why a script and not ``remedy reproduce petshop``: the upstream layout (three-row headers, an
adjacency matrix, one directory per incident) belongs to this data set, not to the product, and
the script runs the binary exactly as a user would (``fit``, ``explain``), so what it measures
is the user path. Pure Python (no numpy).

    cargo build --release
    python3 bench/petshop.py --data ../shared/data/petshop/low_traffic --out /tmp/petshop
"""

import argparse
import csv
import json
import math
import os
import subprocess
import sys
import time

STATISTIC = "Average"
ANALYSED_ROW = 2  # upstream: row_index_to_analyze = 2


def read_metrics(path):
    """Returns (timestamps, {(node, metric, statistic): [float or None]}) in column order."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    nodes, metrics, stats = rows[0], rows[1], rows[2]
    body = [r for r in rows[3:] if r and r[0] not in ("unix_timestamp", "")]
    keys = list(zip(nodes[1:], metrics[1:], stats[1:]))
    cols = {k: [] for k in keys}
    times = []
    for r in body:
        times.append(float(r[0]))
        for k, cell in zip(keys, r[1:]):
            cols[k].append(float(cell) if cell.strip() != "" else None)
    return times, cols


def load_issues(data):
    """[("split/issue_N", target, columns)] in split and number order."""
    issues = []
    for split in ("train", "test"):
        base = os.path.join(data, split)
        for name in sorted(os.listdir(base), key=lambda s: (len(s), s)):
            if name.startswith("."):
                continue
            with open(os.path.join(base, name, "target.json")) as f:
                target = json.load(f)
            _, cols = read_metrics(os.path.join(base, name, "metrics.csv"))
            issues.append((f"{split}/{name}", target, cols))
    return issues


def write_json(path, results):
    if path:
        with open(path, "w") as f:
            json.dump(results, f, indent=1)


def reduce_cols(cols, metric):
    """Node -> values of one metric's ``Average`` statistic."""
    return {k[0]: v for k, v in cols.items() if k[1] == metric and k[2] == STATISTIC}


def read_call_graph(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    names = rows[0][1:]
    edges = set()
    for r in rows[1:]:
        caller = r[0]
        for callee, cell in zip(names, r[1:]):
            if cell.strip() not in ("", "0", "0.0", "False", "false") and caller != callee:
                edges.add((caller, callee))
    nodes = set(names) | {r[0] for r in rows[1:]}
    return nodes, edges


def causal_graph(call_nodes, call_edges, measured=None):
    """The reversed call graph over the measured nodes (others marginalised; all when None)."""
    parents = {n: set() for n in call_nodes}
    for caller, callee in call_edges:
        parents[caller].add(callee)  # callee -> caller
    for n in sorted(call_nodes - set(measured or call_nodes)):
        children = [c for c in parents if n in parents[c]]
        for c in children:
            parents[c].discard(n)
            parents[c] |= parents[n] - {c}
        del parents[n]
    return {n: sorted(p) for n, p in parents.items()}


def ancestors(parents, node):
    seen, stack = set(), [node]
    while stack:
        for p in parents.get(stack.pop(), []):
            if p not in seen:
                seen.add(p)
                stack.append(p)
    return seen


def write_table(path, names, columns, rows=None):
    n = len(columns[names[0]])
    idx = range(n) if rows is None else rows
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(names)
        for i in idx:
            w.writerow(["" if columns[c][i] is None else repr(columns[c][i]) for c in names])


def write_edges(path, parents):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["source", "target"])
        for child in sorted(parents):
            for p in parents[child]:
                w.writerow([p, child])


def run(cmd):
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    return p, time.perf_counter() - t


def fill_with_mean(columns, means):
    return {c: [means[c] if v is None else v for v in vals] for c, vals in columns.items()}


def column_means(columns):
    out = {}
    for c, vals in columns.items():
        xs = [v for v in vals if v is not None]
        out[c] = sum(xs) / len(xs) if xs else 0.0
    return out


class Remedy:
    def __init__(self, binary, out, seed, prefill, target_flag):
        self.binary, self.out, self.seed = binary, out, seed
        self.prefill, self.target_flag = prefill, target_flag

    def fit(self, tag, names, train_cols, parents):
        d = os.path.join(self.out, tag)
        os.makedirs(d, exist_ok=True)
        means = column_means(train_cols)
        cols = fill_with_mean(train_cols, means) if self.prefill else train_cols
        train = os.path.join(d, "train.csv")
        write_table(train, names, cols)
        graph = os.path.join(d, "graph.csv")
        write_edges(graph, parents)
        model = os.path.join(d, "model")
        p, secs = run([self.binary, "fit", "--train", train, "--graph", graph, "--out", model,
                       "--force", "--seed", str(self.seed), "--recourse", "search"])
        if p.returncode != 0:
            return {"error": p.stderr.strip().splitlines()[-1:] or ["?"], "secs": secs}
        return {"model": model, "means": means, "secs": secs, "dir": d}

    def explain(self, fitted, tag, names, window_cols, target):
        """Evidence of the analysed row: ({node: (pvalue, score)}, root-cause set) or an error."""
        cols = fill_with_mean(window_cols, fitted["means"]) if self.prefill else window_cols
        data = os.path.join(fitted["dir"], f"{tag}.csv")
        write_table(data, names, cols)
        cmd = [self.binary, "explain", "--model", fitted["model"], "--data", data, "--all",
               "--format", "json"]
        if self.target_flag and target:
            cmd += ["--target", target]
        p, secs = run(cmd)
        if p.returncode != 0:
            return {"error": (p.stderr.strip().splitlines() or ["?"])[-1], "secs": secs}
        rows = json.loads(p.stdout)
        row = next((r for r in rows if r["row"] == ANALYSED_ROW + 1), None)
        if row is None:
            return {"error": "analysed row missing from the output", "secs": secs}
        ev = {}
        for key, p in row.items():
            if key.startswith("pvalue_"):
                name = key[len("pvalue_"):]
                ev[name] = (int(row["rank_" + name]), num(p), num(row["score_" + name]),
                            num(row["deviation_" + name]))
        return {"evidence": ev, "set": [c for c in (row["root_causes"] or "").split("|") if c], "secs": secs,
                "flagged": row["is_anomaly"]}


def num(v):
    return math.nan if v is None else float(v)


def remedy_position(ev, truth):
    """1-based position of ``truth`` in remedy's ranking (rank 0: not a candidate of the
    target). remedy's rank is a strict order (log p-value, then the relative change of a
    moved constant, then score); a tie counts against us wherever the printed evidence
    (p-value, score, deviation) is identical, since nothing shown then tells them apart."""
    if truth not in ev or ev[truth][0] == 0:
        return None
    mine = ev[truth]
    same = lambda a, b: a == b or (a != a and b != b)
    tied = sum(1 for c, e in ev.items() if c != truth and e[0] > mine[0]
               and all(same(x, y) for x, y in zip(e[1:], mine[1:])))
    return mine[0] + tied


def position(scores, truth, key):
    """1-based position of ``truth`` with ties against it; None when it is not a candidate."""
    if truth not in scores:
        return None
    mine = key(scores[truth])
    return sum(1 for v in scores.values() if key(v) >= mine)


# --- the published baseline and |z| -------------------------------------------------------


def median(xs):
    ys = sorted(xs)
    n = len(ys)
    return ys[n // 2] if n % 2 else 0.5 * (ys[n // 2 - 1] + ys[n // 2])


def mad_scorers(train_cols):
    """Upstream's per-node detectors: MedianDeviationScorer (threshold 5); constant: 0."""
    out = {}
    for c, vals in train_cols.items():
        xs = [v for v in vals if v is not None]
        if len(xs) < 10:
            continue
        med = median(xs)
        mad = median([abs(x - med) for x in xs])
        mean = sum(xs) / len(xs)
        sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / len(xs))
        if sd == 0:
            out[c] = (lambda x, m=mean: abs(x - m), 0.0)
        else:
            out[c] = (lambda x, m=med, s=mad: abs(x - m) / s if s > 0 else math.inf * abs(x - m), 5.0)
    return out


def traversal(parents, target, train_cols, window_cols, search=True):
    """Upstream's baseline: [(node, score)] (empty when the target is not anomalous)."""
    scorers = mad_scorers(train_cols)
    n = len(next(iter(window_cols.values())))

    def score(c, i):
        v = window_cols[c][i]
        if c not in scorers or v is None:
            return 0.0, False
        f, thr = scorers[c]
        s = f(v)
        if s != s:
            s = 0.0
        return s, s > thr

    row = ANALYSED_ROW
    if search:
        for i in range(ANALYSED_ROW, n):
            if score(target, i)[1]:
                row = i
                break
    if not score(target, row)[1]:
        return []
    anomalous = {c: score(c, row)[0] for c in window_cols if score(c, row)[1]}
    roots = [a for a in anomalous if not (set(parents.get(a, [])) & set(anomalous))]
    children = {}
    for c, ps in parents.items():
        for p in ps:
            children.setdefault(p, []).append(c)
    results = {}
    for r in roots:
        # All simple paths r -> target; keep those whose nodes are all anomalous. As in
        # networkx's all_simple_paths, the target has no path to itself: it is never returned.
        if r == target:
            continue
        stack = [(r, [r])]
        while stack:
            node, path = stack.pop()
            if node == target:
                results[r] = max(results.get(r, -math.inf), sum(anomalous[x] for x in path))
                continue
            for c in children.get(node, []):
                if c not in path and c in anomalous:
                    stack.append((c, path + [c]))
    return sorted(results.items(), key=lambda kv: -kv[1])


def zscores(train_cols, window_cols):
    out = {}
    for c, vals in train_cols.items():
        xs = [v for v in vals if v is not None]
        v = window_cols[c][ANALYSED_ROW]
        if len(xs) < 2 or v is None:
            out[c] = 0.0
            continue
        m = sum(xs) / len(xs)
        sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))
        out[c] = abs(v - m) / sd if sd > 0 else (math.inf if v != m else 0.0)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="a scenario directory (graph.csv, noissue/, ...)")
    ap.add_argument("--out", required=True, help="work directory (created)")
    ap.add_argument("--remedy", default="target/release/remedy")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--prefill", action="store_true",
                    help="fill empty cells with the normal mean before remedy sees them "
                         "(what a user had to do before remedy handled missing values)")
    ap.add_argument("--target", action="store_true",
                    help="ask remedy about the incident's target node (explain --target)")
    ap.add_argument("--no-specificity", action="store_true")
    ap.add_argument("--json", help="also write the per-incident results here")
    args = ap.parse_args()

    os.makedirs(args.out, exist_ok=True)
    _, normal = read_metrics(os.path.join(args.data, "noissue", "metrics.csv"))
    call_nodes, call_edges = read_call_graph(os.path.join(args.data, "graph.csv"))
    issues = load_issues(args.data)

    # The published baseline walks the call graph as it is (an unmeasured node is never
    # anomalous, so it cuts the paths through it).
    full_graph = causal_graph(call_nodes, call_edges)
    remedy = Remedy(args.remedy, args.out, args.seed, args.prefill, args.target)
    results = []
    fits = {}
    for metric in ("latency", "availability"):
        train_cols = reduce_cols(normal, metric)
        names = sorted(train_cols)
        parents = causal_graph(call_nodes, call_edges, names)
        fits[metric] = (names, train_cols, parents, remedy.fit(metric, names, train_cols, parents))

    for tag, target, cols in issues:
        metric = target["target"]["metric"]
        tnode = target["target"]["node"]
        truth = target["root_cause"]["node"]
        names, train_cols, parents, fitted = fits[metric]
        window = {c: reduce_cols(cols, metric).get(c, [None] * 5) for c in names}
        res = {"issue": tag, "metric": metric, "truth": truth}
        if "error" in fitted:
            res["remedy"] = {"refused": "fit: " + fitted["error"][0]}
        else:
            r = remedy.explain(fitted, tag.replace("/", "_"), names, window, tnode)
            if "error" in r:
                res["remedy"] = {"refused": r["error"], "secs": r["secs"]}
            else:
                ev = r["evidence"]
                ranked = sorted((c for c in ev if ev[c][0] > 0), key=lambda c: ev[c][0])
                res["remedy"] = {"pos": remedy_position(ev, truth), "set_size": len(r["set"]),
                                 "secs": r["secs"], "flagged": r["flagged"], "top3": ranked[:3]}
        z = zscores(train_cols, window)
        cand = {c: v for c, v in z.items() if c == tnode or c in ancestors(parents, tnode)}
        res["z"] = position(z, truth, lambda v: v)
        res["z_target"] = position(cand, truth, lambda v: v)
        tr = traversal(full_graph, tnode, train_cols, window)
        ranked = [c for c, _ in tr]
        res["traversal"] = ranked.index(truth) + 1 if truth in ranked else None
        # The same with ties against it (scores of inf or equal sums tie; upstream breaks them
        # by the order of a Python set of names).
        scores = dict(tr)
        res["traversal_ties"] = position(scores, truth, lambda v: v) if truth in scores else None
        results.append(res)
        rr = res["remedy"]
        print(f"{tag:16s} {metric:12s} truth={truth[:40]:40s} remedy="
              f"{rr.get('pos', 'refused'):>7} z={res['z']} z(target)={res['z_target']} "
              f"traversal={res['traversal']}"
              + (f"  [{rr['refused'][:90]}]" if "refused" in rr else ""), flush=True)

    def topk(values, k):
        return sum(1 for v in values if v is not None and v <= k) / max(len(values), 1)

    print()
    print(f"{'metric':14s} {'n':>3s} {'refused':>8s} | {'remedy top1/top3':>17s} | "
          f"{'|z| top1/top3':>14s} | {'|z| target':>11s} | {'traversal':>10s} | "
          f"{'trav. ties against':>18s}")
    for metric in ("latency", "availability", None):
        sel = [r for r in results if metric is None or r["metric"] == metric]
        rem = [r["remedy"].get("pos") for r in sel]
        refused = sum(1 for r in sel if "refused" in r["remedy"])
        zs = [r["z"] for r in sel]
        zt = [r["z_target"] for r in sel]
        tr = [r["traversal"] for r in sel]
        tt = [r["traversal_ties"] for r in sel]
        print(f"{metric or 'overall':14s} {len(sel):3d} {refused:8d} | "
              f"{topk(rem, 1):8.2f}/{topk(rem, 3):.2f} | {topk(zs, 1):9.2f}/{topk(zs, 3):.2f} | "
              f"{topk(zt, 1):6.2f}/{topk(zt, 3):.2f} | {topk(tr, 1):5.2f}/{topk(tr, 3):.2f} | "
              f"{topk(tt, 1):13.2f}/{topk(tt, 3):.2f}")
    secs = [r["remedy"]["secs"] for r in results if "secs" in r["remedy"]]
    fit_secs = [f[3]["secs"] for f in fits.values()]
    print(f"remedy: fit {', '.join(f'{s:.1f}' for s in fit_secs)} s; explain per incident "
          f"mean {sum(secs) / max(len(secs), 1):.2f} s")
    sizes = [r["remedy"]["set_size"] for r in results if "set_size" in r["remedy"]]
    if sizes:
        print(f"remedy: printed root-cause set size mean {sum(sizes) / len(sizes):.1f}")

    if not args.no_specificity:
        n = len(next(iter(normal.values())))
        cuts = list(range(n // 2, n - 3, int(n * 0.1)))
        for metric in ("latency", "availability"):
            names, train_all, parents, _ = fits[metric]
            tnode = next(t["target"]["node"] for _, t, _ in issues
                         if t["target"]["metric"] == metric)
            ok_r, ok_t, total = 0, 0, 0
            for cut in cuts:
                train_cols = {c: v[:cut] for c, v in train_all.items()}
                window = {c: v[cut:] for c, v in train_all.items()}
                fitted = remedy.fit(f"{metric}_cut{cut}", names, train_cols, parents)
                if "error" in fitted:
                    r = {"error": fitted["error"]}
                    print(f"specificity {metric} cut {cut}: fit refused: {fitted['error']}")
                else:
                    r = remedy.explain(fitted, "window", names, window, tnode)
                    if "error" in r:
                        print(f"specificity {metric} cut {cut}: explain refused: {r['error']}")
                ok_r += 1 if ("error" not in r and not r["set"]) else 0
                ok_t += 1 if not traversal(full_graph, tnode, train_cols, window) else 0
                total += 1
            print(f"specificity {metric:12s} ({total} windows): remedy {ok_r / total:.2f}, "
                  f"traversal {ok_t / total:.2f}")

    write_json(args.json, results)


if __name__ == "__main__":
    sys.exit(main())
