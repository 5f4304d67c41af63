#!/usr/bin/env python3
"""PyTorch twin of `remedy bench`: trains the same autoencoder and Deep SVDD networks (same
widths, dropout, batch size, optimiser, epochs) on the same Loan training rows, single-threaded,
and prints seconds per epoch as JSON, so both can be timed on the same CPU.

    remedy generate loan --seed 1 --out /tmp/loan
    python3 bench/pytorch_detectors.py /tmp/loan/train.csv --epochs 20
    remedy bench --epochs 20
"""
import argparse
import csv
import json
import time

import torch
from torch import nn


def load(path):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    cols = ["G", "A", "E", "L", "D", "I", "S"]
    x = torch.tensor([[float(r[c]) for c in cols] for r in rows], dtype=torch.float32)
    # Standardise the continuous columns, keep the binary G (as remedy's encoder does).
    mean, sd = x.mean(0), x.std(0)
    mean[0], sd[0] = 0.0, 1.0
    return (x - mean) / sd


def autoencoder(d):
    # remedy's default: input dropout 0.1, three ReLU layers of 256, linear output.
    return nn.Sequential(nn.Dropout(0.1), nn.Linear(d, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                         nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, d))


def deep_svdd(d):
    # remedy's default: the reference network in-16 (no bias), dropout 0.3, 16-2048 (no bias),
    # with a leaky ReLU of slope 0.3 where the reference has a ReLU.
    return nn.Sequential(nn.Linear(d, 16, bias=False), nn.LeakyReLU(0.3), nn.Dropout(0.3),
                         nn.Linear(16, 2048, bias=False))


def train(net, x, epochs, loss_fn, lr):
    opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=5e-4)
    net.train()
    start = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 1024):
            b = x[perm[i:i + 1024]]
            opt.zero_grad()
            loss = loss_fn(net, b)
            loss.backward()
            opt.step()
    return (time.perf_counter() - start) / epochs


def main():
    p = argparse.ArgumentParser()
    p.add_argument("train_csv")
    p.add_argument("--epochs", type=int, default=20)
    a = p.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(1)
    x = load(a.train_csv)
    d = x.shape[1]
    ae = autoencoder(d)
    ae_s = train(ae, x, a.epochs, lambda n, b: ((n(b) - b) ** 2).mean(), 1e-3)
    svdd = deep_svdd(d)
    with torch.no_grad():
        svdd.eval()
        c = svdd(x).mean(0)
        c[(c.abs() < 0.1) & (c < 0)] = -0.1
        c[(c.abs() < 0.1) & (c > 0)] = 0.1
    svdd_s = train(svdd, x, a.epochs, lambda n, b: ((n(b) - c) ** 2).mean(), 1e-4)
    print(json.dumps({"torch": torch.__version__, "rows": len(x), "epochs": a.epochs,
                      "autoencoder_s_per_epoch": ae_s, "deep_svdd_s_per_epoch": svdd_s}))


if __name__ == "__main__":
    main()
