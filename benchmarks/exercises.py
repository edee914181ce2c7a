"""How long `mnistlab check` takes: every exercise, its reference plugin and a wrong solution.

For each exercise, in one process with torch imported (warm), it times:

- **first**: the first check of the exercise in the process, the stage's own run included
  (what a plain `mnistlab check FILE --stage STAGE` costs after Python's start and imports);
- **again**: the same check once more, the reference kept (what `--watch` costs per save);
- **wrong**: a wrong solution from examples/exercises/STAGE/, which stops at the first batch
  where the losses part (the stub's when the stage has no wrong solution).

Each time is the median of ``--repeats`` rounds (the first check clears the kept reference
every round). Run with one torch thread, as the tests do: ``OMP_NUM_THREADS=1 python
benchmarks/exercises.py``. The targets: first ≤ 5 s, again ≤ 1 s.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

import mnistlab
from mnistlab.exercises import exercises, stub_text
from mnistlab.sources import plugin_path

SOLUTIONS = Path(__file__).resolve().parent.parent / "examples" / "exercises"


def timed(plugin: Path, stage: str) -> tuple[float, bool]:
    started = time.perf_counter()
    result = mnistlab.check(plugin, stage=stage, keep_progress=False)
    return time.perf_counter() - started, result.passed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("stages", nargs="*", help="only these exercises")
    args = parser.parse_args()
    from mnistlab.exercises import judge  # its kept reference runs, cleared below

    folder = Path(tempfile.mkdtemp())
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s); seconds, median "
          f"of {args.repeats}")
    print(f"{'stage':<11} {'first':>6} {'again':>6} {'wrong':>6}  wrong solution")
    for exercise in exercises():
        if args.stages and exercise.stage not in args.stages:
            continue
        reference = plugin_path(exercise.plugin)
        wrong = sorted((SOLUTIONS / exercise.stage).glob("wrong_*.py"))
        if wrong:
            bad = wrong[0]
        else:
            bad = folder / f"{exercise.stage}_stub.py"
            bad.write_text(stub_text(exercise))
        first, again, failing = [], [], []
        for _ in range(args.repeats):
            judge.reference_run.cache_clear()
            seconds, passed = timed(reference, exercise.stage)
            assert passed, exercise.stage
            first.append(seconds)
            again.append(timed(reference, exercise.stage)[0])
            failing.append(timed(bad, exercise.stage)[0])
        print(f"{exercise.stage:<11} {statistics.median(first):6.2f} "
              f"{statistics.median(again):6.2f} {statistics.median(failing):6.2f}  {bad.name}")


if __name__ == "__main__":
    main()
