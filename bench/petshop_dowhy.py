#!/usr/bin/env python3
"""The peer a Python user would reach for on the PetShop incidents: DoWhy-gcm's
``attribute_anomalies``, on the same incidents, rows and graph as ``bench/petshop.py``.

Per target metric (latency, availability; statistic ``Average``): the reversed call graph
restricted to the target and its ancestors (the nodes that can explain the target; DoWhy's
attribution needs no others), an invertible SCM with ``gcm.auto.assign_causal_mechanisms``
(quality ``BETTER``, as upstream's harness), fitted once on the normal rows with empty cells
filled by the column mean (upstream's ``pad_and_replace_nan``); per incident, the third row of
the window (empty cells: the window's column mean, else the normal mean) is attributed with
``gcm.attribute_anomalies(..., attribute_mean_deviation=True,
anomaly_scorer=MeanDeviationScorer())`` (upstream's settings). Ranking by the attribution,
ties against the method. Fit and attribution times are reported separately.

Needs dowhy (0.14 measured), pandas, numpy, networkx; not part of the project's test suite:

    python3 -m venv /tmp/dowhy-venv && /tmp/dowhy-venv/bin/pip install dowhy==0.14
    /tmp/dowhy-venv/bin/python bench/petshop_dowhy.py --data DIR/low_traffic
"""

import argparse
import math
import os
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import petshop as P  # noqa: E402  (the layout reader shared with bench/petshop.py)

warnings.filterwarnings("ignore")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--json", help="also write the per-incident results here")
    ap.add_argument("--limit", type=int, help="only the first N incidents (a quick check)")
    ap.add_argument("--every", type=int, default=1,
                    help="only every K-th incident (in split and number order), for a bounded run")
    args = ap.parse_args()

    import networkx as nx
    import numpy as np
    import pandas as pd
    from dowhy import gcm
    from dowhy.gcm.auto import AssignmentQuality

    gcm.config.disable_progress_bars()

    _, normal = P.read_metrics(os.path.join(args.data, "noissue", "metrics.csv"))
    call_nodes, call_edges = P.read_call_graph(os.path.join(args.data, "graph.csv"))
    issues = P.load_issues(args.data)
    issues = issues[:: args.every]
    if args.limit:
        issues = issues[: args.limit]

    def frame(cols):
        return pd.DataFrame({c: [math.nan if v is None else v for v in vals]
                             for c, vals in cols.items()})

    fitted = {}
    results = []
    for tag, target, cols in issues:
        metric = target["target"]["metric"]
        tnode = target["target"]["node"]
        truth = target["root_cause"]["node"]
        res = {"issue": tag, "metric": metric, "truth": truth}
        key = (metric, tnode)
        if key not in fitted:
            train_cols = P.reduce_cols(normal, metric)
            names = sorted(train_cols)
            parents = P.causal_graph(call_nodes, call_edges, names)
            keep = P.ancestors(parents, tnode) | {tnode}
            g = nx.DiGraph()
            g.add_nodes_from(sorted(keep))
            g.add_edges_from((p, c) for c in keep for p in parents[c] if p in keep)
            df = frame({c: train_cols[c] for c in sorted(keep)})
            means = df.mean()
            df = df.fillna(means)
            t0 = time.perf_counter()
            try:
                scm = gcm.InvertibleStructuralCausalModel(g)
                gcm.auto.assign_causal_mechanisms(scm, df, quality=AssignmentQuality.BETTER)
                gcm.fit(scm, df)
                fitted[key] = (scm, means, sorted(keep), time.perf_counter() - t0, None)
            except Exception as e:  # noqa: BLE001 - reported, not hidden
                fitted[key] = (None, means, sorted(keep), time.perf_counter() - t0, str(e))
            print(f"fit {metric}/{tnode}: {len(keep)} nodes, "
                  f"{fitted[key][3]:.1f} s{'; ' + fitted[key][4] if fitted[key][4] else ''}",
                  flush=True)
        scm, means, keep, fit_secs, fit_error = fitted[key]
        res["fit_secs"] = fit_secs
        if scm is None:
            res["refused"] = "fit: " + fit_error
            results.append(res)
            continue
        window = frame({c: P.reduce_cols(cols, metric).get(c, [None] * 5) for c in keep})
        window = window.fillna(window.mean()).fillna(means)
        row = window.iloc[P.ANALYSED_ROW:P.ANALYSED_ROW + 1]
        t0 = time.perf_counter()
        try:
            attr = gcm.attribute_anomalies(
                scm, target_node=tnode, anomaly_samples=row,
                attribute_mean_deviation=True,
                anomaly_scorer=gcm.anomaly_scorers.MeanDeviationScorer())
            scores = {c: float(np.nan_to_num(np.mean(v))) for c, v in attr.items()}
            res["pos"] = P.position(scores, truth, lambda v: v)
            res["top3"] = sorted(scores, key=lambda c: -scores[c])[:3]
        except Exception as e:  # noqa: BLE001 - reported, not hidden
            res["refused"] = str(e).splitlines()[0][:120]
        res["secs"] = time.perf_counter() - t0
        results.append(res)
        print(f"{tag:16s} {metric:12s} truth={truth[:40]:40s} dowhy={res.get('pos', 'refused')}"
              f" ({res['secs']:.1f} s)" + (f" [{res['refused']}]" if "refused" in res else ""),
              flush=True)

    def topk(values, k):
        return sum(1 for v in values if v is not None and v <= k) / max(len(values), 1)

    print()
    for metric in ("latency", "availability", None):
        sel = [r for r in results if metric is None or r["metric"] == metric]
        pos = [r.get("pos") for r in sel]
        refused = sum(1 for r in sel if "refused" in r)
        print(f"dowhy {metric or 'overall':13s} n={len(sel):2d} refused={refused:2d} "
              f"top1={topk(pos, 1):.2f} top3={topk(pos, 3):.2f}")
    secs = [r["secs"] for r in results if "secs" in r]
    fits = [f[3] for f in fitted.values()]
    print(f"dowhy: fit {', '.join(f'{s:.1f}' for s in fits)} s (once per target metric); "
          f"attribution per incident mean {sum(secs) / max(len(secs), 1):.1f} s")
    P.write_json(args.json, results)


if __name__ == "__main__":
    sys.exit(main())
