"""Training throughput of the official PyTorch CTR-GCN (the reference of the performance issue).

    python -m benchmarks.train_reference --reference_repo=/path/to/CTR-GCN --batch=16 --frames=64 --threads=2

Needs PyTorch (``pip install torch==2.13.0``, CPU wheel) and a checkout of the public official repository
(Uason-Chen/CTR-GCN): its ``model/ctrgcn.py`` and ``graph/`` are imported from ``--reference_repo`` at run
time; nothing of it is part of this repository. It runs in its own interpreter (``--python`` of
``benchmarks.train_throughput`` runs it beside ours) so TensorFlow and PyTorch never share a process.

Same measurement as ``benchmarks.train_throughput``: random clips ``(N, C, T, V, M)``, the official
recipe's optimiser (SGD 0.1, momentum 0.9, Nesterov, weight decay 4e-4) and cross-entropy, eager mode
(as the official ``main.py`` trains), 3 untimed steps, then the median of ``--steps`` whole steps.
Prints, as the last line, JSON with ``samples_per_s``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference_repo", required=True, help="Checkout of Uason-Chen/CTR-GCN.")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--frames", type=int, default=64)
    parser.add_argument("--persons", type=int, default=2)
    parser.add_argument("--num_classes", type=int, default=60)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args(argv)

    model_file = os.path.join(args.reference_repo, "model", "ctrgcn.py")
    if not os.path.isfile(model_file):
        sys.exit(f"error: {model_file} not found: --reference_repo must be a checkout of Uason-Chen/CTR-GCN")
    try:
        import torch
    except ImportError:
        sys.exit("error: PyTorch is not installed (pip install torch==2.13.0)")
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(args.threads)
    sys.path.insert(0, os.path.abspath(args.reference_repo))
    from model.ctrgcn import Model  # the official model, from the checkout

    torch.manual_seed(0)
    model = Model(num_class=args.num_classes, num_point=25, num_person=args.persons, graph="graph.ntu_rgb_d.Graph",
                  graph_args={"labeling_mode": "spatial"})
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=4e-4)
    loss_fn = torch.nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(args.batch, 3, args.frames, 25, args.persons, generator=generator) * 0.3
    y = torch.randint(0, args.num_classes, (args.batch,), generator=generator)

    def step():
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()

    for _ in range(args.warmup):
        step()
    times = []
    for _ in range(args.steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    print(json.dumps({"model": "official PyTorch CTR-GCN", "torch": torch.__version__, "batch": args.batch,
                      "frames": args.frames, "persons": args.persons, "threads": args.threads, "steps": args.steps,
                      "step_ms_median": round(median * 1000, 1),
                      "samples_per_s": round(args.batch / median, 2)}))


if __name__ == "__main__":
    main()
