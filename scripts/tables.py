"""Record every stage's numbers over many seeds, for the pages to show beside the tutorial's.

A docs build trains each stage once, with seed 0; how much the numbers move with the seed
takes many runs, too many for a build. This script makes them once and writes what they
gave into a JSON file that the pages read, with the command, the versions and the seeds::

    python scripts/tables.py                      # the sample, 20 seeds: docs/data/sample.json
    python scripts/tables.py --data fashion-mnist --seeds 1   # docs/data/fashion-mnist.json
    python scripts/tables.py --data mnist --seeds 1          # full MNIST: docs/data/mnist.json

``--data`` takes what ``mnistlab run --data`` takes: Debian's ``dataset-fashion-mnist`` package
gives Fashion-MNIST as ``--data /usr/share/datasets/fashion-mnist --name fashion-mnist``.

Every run is ``mnistlab.run(STAGE, data=DATA, seed=SEED)`` at the stage's defaults (as many
epochs as the tutorial's examples: 25 on the sample, 2 on full-size data), one thread per
run and ``--workers`` runs at a time; each run is kept in ``build/tables/`` as it ends, so a
stopped script goes on where it stopped. A stage whose swap keeps the numbers, and which gives
its parent's numbers with seed 0, shares its parent's other seeds (``shared`` in the file).
With ``--nproc 2`` (the default on the sample) it also trains the distributed stage as two
processes with seed 0, for its page to show how far two processes drift from one.
``tests/test_tables.py`` trains one recorded run again and wants the same numbers.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIELDS = ("train_loss", "valid_loss", "valid_acc", "last_batch_loss", "last_batch_acc")


def train(stage: str, data: str, seed: int) -> dict:
    """One run's numbers: every epoch's, then the final scores."""
    import torch

    import mnistlab

    torch.set_num_threads(1)
    return numbers(mnistlab.run(stage, data=data, seed=seed, quiet=True).summary())


def numbers(summary: dict) -> dict:
    """What the file keeps of a run's summary (``mnistlab run --json``): no timings."""
    epochs = [{field: epoch[field] for field in FIELDS if epoch.get(field) is not None}
              for epoch in summary["history"]]
    return {"seed": summary["seed"], "steps": summary["steps"], "epochs": epochs,
            "valid_loss": summary["valid_loss"], "valid_acc": summary["valid_acc"]}


def train_processes(data: str, nproc: int) -> dict:
    """The distributed stage as ``nproc`` processes, seed 0: its numbers as ``train`` gives them."""
    with tempfile.TemporaryDirectory() as folder:
        done = subprocess.run(
            [sys.executable, "-m", "mnistlab", "run", "--stage", "distributed", "--data", data,
             "--nproc", str(nproc), "--quiet", "--json", "--out", f"{folder}/run"],
            capture_output=True, text=True, check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    return numbers(json.loads(done.stdout.splitlines()[-1]))


def versions() -> dict[str, str]:
    import numpy
    import torch

    import mnistlab

    return {"python": platform.python_version(), "torch": torch.__version__,
            "numpy": numpy.__version__, "mnistlab": mnistlab.__version__,
            "machine": platform.machine()}


def fingerprint(data: str) -> str:
    """What a run's numbers depend on: mnistlab's and the plugins' code, torch, the data."""
    import torch

    digest = hashlib.sha256(f"{torch.__version__} {data}".encode())
    for path in sorted((ROOT / "mnistlab").rglob("*.py")) + sorted((ROOT / "plugins").glob("*.py")):
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


class Runs:
    """Every run's numbers, each kept in build/tables/ as it ends: a stopped script goes on
    where it stopped, as long as the code is the same."""

    def __init__(self, data: str, workers: int) -> None:
        self.data, self.workers = data, workers
        self.kept = ROOT / "build" / "tables" / fingerprint(data)
        self.kept.mkdir(parents=True, exist_ok=True)

    def get(self, jobs: list[tuple[str, int]]) -> dict[tuple[str, int], dict]:
        """The numbers of each (stage, seed), training those not kept, ``workers`` at a time."""
        found = {job: self._path(*job) for job in jobs}
        todo = [job for job, path in found.items() if not path.is_file()]
        spawn = multiprocessing.get_context("spawn")  # no fork after torch started its threads
        with ProcessPoolExecutor(self.workers, mp_context=spawn) as pool:
            futures = {job: pool.submit(train, job[0], self.data, job[1]) for job in todo}
            for (stage, seed), future in futures.items():
                numbers = future.result()
                path = self._path(stage, seed)
                path.with_suffix(".partial").write_text(json.dumps(numbers), "utf-8")
                path.with_suffix(".partial").replace(path)
                print(f"{stage} seed {seed}: valid_acc {numbers['valid_acc']:.4f}",
                      file=sys.stderr)
        return {job: json.loads(path.read_text("utf-8")) for job, path in found.items()}

    def _path(self, stage: str, seed: int) -> Path:
        return self.kept / f"{stage}-{seed}.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="sample", help="the data set [default: sample]")
    parser.add_argument("--name", help="the data set's name in the file [default: --data]")
    parser.add_argument("--seeds", type=int, default=20, help="seeds 0 to N-1 [default: 20]")
    parser.add_argument("--nproc", type=int, help="also train the distributed stage as this "
                        "many processes [default: 2 on the sample, none elsewhere]")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="runs at a time [default: one per core]")
    parser.add_argument("--out", type=Path, help="the JSON file [default: docs/data/NAME.json]")
    args = parser.parse_args()
    from mnistlab.stages import STAGES

    nproc = args.nproc if args.nproc is not None else 2 if args.data == "sample" else 0
    name = args.name or args.data
    out = args.out or ROOT / "docs" / "data" / f"{name}.json"
    started = time.perf_counter()
    runs, seeds = Runs(args.data, args.workers), range(args.seeds)
    together = train_processes(args.data, nproc) if nproc > 1 else None
    # Seed 0 of every stage. A stage whose swap keeps the numbers, and which gives its parent's
    # numbers to the last bit with seed 0, gives them with every seed (tests/test_equivalence.py
    # proves such swaps step by step): it shares its parent's runs. Every other stage trains
    # every seed.
    first = runs.get([(stage.name, 0) for stage in STAGES])
    shared: dict[str, str] = {}
    for stage in STAGES:
        if stage.parent and stage.preserves and first[stage.name, 0] == first[stage.parent, 0]:
            shared[stage.name] = shared.get(stage.parent, stage.parent)
    trained = runs.get([(stage.name, seed) for stage in STAGES if stage.name not in shared
                        for seed in seeds])
    record = {
        "command": shlex.join(["python", "scripts/tables.py", *sys.argv[1:]]),
        "data": name, "seeds": list(seeds), "versions": versions(),
        "date": time.strftime("%Y-%m-%d"),
        "shared": shared,  # stage -> the stage whose runs it shares (see above)
        "stages": {stage.name: [trained[shared.get(stage.name, stage.name), seed]
                                for seed in seeds] for stage in STAGES},
    }
    if together:
        record["processes"] = {"nproc": nproc, "stage": "distributed", **together}
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")  # the old file stays whole until the end
    partial.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    partial.replace(out)
    minutes = (time.perf_counter() - started) / 60
    print(f"wrote {out} in {minutes:.1f} min", file=sys.stderr)


if __name__ == "__main__":
    main()
