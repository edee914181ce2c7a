"""Check that a seed fixes the weights on this machine's accelerator, and that resume is exact.

    python scripts/check_reproducible.py            # on the accelerator torch finds
    python scripts/check_reproducible.py --device cpu

For each stage it trains twice with the same seed and compares the final weights bit for bit;
then it trains one epoch, resumes to two, and compares with two epochs in one go. With
``--nondeterministic`` it shows what the default (deterministic kernels) protects against:
on a GPU the two runs then usually differ in the last bits. Exits 1 if any check fails.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch

import mnistlab
from mnistlab import runner


def weights(model: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten().cpu() for p in model.parameters()])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default = "cpu"
    if hasattr(torch, "accelerator") and torch.accelerator.is_available():
        default = str(torch.accelerator.current_accelerator())
    parser.add_argument("--device", default=default, help=f"default: {default}")
    parser.add_argument("--stages", nargs="+", default=["cnn", "adaptive", "fast"])
    parser.add_argument("--data", default="sample")
    parser.add_argument("--nondeterministic", action="store_true")
    args = parser.parse_args()
    settings = {"data": args.data, "device": args.device, "quiet": True,
                "deterministic": not args.nondeterministic}
    failed = False
    for stage in args.stages:
        one = mnistlab.run(stage, epochs=2, **settings)
        two = mnistlab.run(stage, epochs=2, **settings)
        same = torch.equal(weights(one.model), weights(two.model))
        with tempfile.TemporaryDirectory() as folder:
            out = str(Path(folder) / "run")
            mnistlab.run(stage, epochs=1, out=out, **settings)
            resumed = runner.resume(out, epochs=2, quiet=True)
        exact = torch.equal(weights(resumed.model), weights(one.model))
        gap = (weights(one.model) - weights(two.model)).abs().max().item()
        print(f"{stage:<10} {args.device}: same seed, same weights: {same} (max difference "
              f"{gap:.1e}); resume exact: {exact}")
        failed |= not (same and exact)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
