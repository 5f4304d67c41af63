#!/usr/bin/env python3
"""The peer for explaining flagged rows from Python: DoWhy-gcm's ``attribute_anomalies`` on the
same Loan graph, normal rows and flagged rows as ``bench/python_api.py`` (run that first; it
writes ``flagged.csv``, the rows Remedy's detector flags among the --rows test rows).

DoWhy attributes the anomaly of one target node to it and its ancestors; Loan's graph has two
sinks (D and S) whose ancestors cover every feature, so a row is explained by one call per sink.
The SCM is an InvertibleStructuralCausalModel with ``gcm.auto.assign_causal_mechanisms`` at its
default quality, fitted once on the normal rows; ``attribute_anomalies`` with its defaults. The
attribution is timed on the first --sample flagged rows and its per-row time multiplied by the
number of flagged rows.

Needs dowhy (0.14 measured), pandas, numpy, networkx; not part of the project's test suite:

    python3 -m venv /tmp/dowhy-venv && /tmp/dowhy-venv/bin/pip install dowhy==0.14
    /tmp/dowhy-venv/bin/python bench/loan_dowhy.py --out /tmp/bench-py
"""

import argparse
import json
import re
import time
import warnings

warnings.filterwarnings("ignore")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="the --out directory of bench/python_api.py")
    ap.add_argument("--sample", type=int, default=50)
    args = ap.parse_args()

    import networkx as nx
    import pandas as pd
    from dowhy import gcm

    gcm.config.disable_progress_bars()
    d = args.out
    edges = re.findall(r"(\w+)\s*->\s*(\w+)", open(f"{d}/loan/graph.dot").read())
    g = nx.DiGraph(edges)
    nodes = list(g.nodes)
    train = pd.read_csv(f"{d}/loan/train.csv")[nodes]
    flagged = pd.read_csv(f"{d}/flagged.csv")[nodes]
    sinks = sorted(n for n in g.nodes if g.out_degree(n) == 0)

    t0 = time.perf_counter()
    scm = gcm.InvertibleStructuralCausalModel(g)
    gcm.auto.assign_causal_mechanisms(scm, train)
    gcm.fit(scm, train)
    fit_s = time.perf_counter() - t0

    sample = flagged.head(args.sample)
    t0 = time.perf_counter()
    for target in sinks:
        gcm.attribute_anomalies(scm, target_node=target, anomaly_samples=sample)
    per_row = (time.perf_counter() - t0) / len(sample)
    print(json.dumps({
        "dowhy_fit_s": fit_s,
        "targets": sinks,
        "sampled_rows": len(sample),
        "dowhy_attribute_s_per_row": per_row,
        "flagged_rows": len(flagged),
        "dowhy_attribute_flagged_s": per_row * len(flagged),
    }, indent=2))


if __name__ == "__main__":
    main()
