#!/usr/bin/env bash
# Every check mnistlab makes on an accelerator, in one command, each step's output kept in
# OUT_DIR (default gpu-checks/) and a summary at the end:
#
#     bash scripts/gpu_checks.sh [OUT_DIR]                # on cuda
#     DEVICE=cpu ROWS=4000 bash scripts/gpu_checks.sh     # the same steps on a CPU
#
# 1. tests:       the fast test tier, where the CUDA-only tests run instead of skipping;
# 2. reproducible: scripts/check_reproducible.py, deterministic (must pass) and with
#                 --nondeterministic (shows what the default protects against);
# 3. distributed: the distributed stage through torchrun on one device (NCCL on a GPU)
#                 against the fast stage, the same run in one process;
# 4. epochs:      benchmarks/epochs.py, every stage on DEVICE and the CNN stages on 2 CPU
#                 threads, on ROWS rows (default 50,000): the table of benchmarks/README.md.
#
# It needs mnistlab importable (pip install -e . --no-deps where torch is already there).
# Exit status 1 if a step that must pass failed.
set -u
out=${1:-gpu-checks}
device=${DEVICE:-cuda}
rows=${ROWS:-50000}
python=${PYTHON:-python3}
mkdir -p "$out"
failed=0

step() {  # step NAME MUST_PASS COMMAND...: run COMMAND, its output in OUT_DIR/NAME.log
    local name=$1 must=$2
    shift 2
    local started=$SECONDS
    "$@" >"$out/$name.log" 2>&1
    local status=$?
    printf '%-20s exit %d in %3d s: %s\n' "$name" "$status" $((SECONDS - started)) "$*"
    tail -n 4 "$out/$name.log" | sed 's/^/    /'
    if [ "$status" -ne 0 ] && [ "$must" = yes ]; then failed=1; fi
}

$python -c "import torch; print('torch', torch.__version__, 'on', '$device',
torch.cuda.get_device_name() if torch.cuda.is_available() else '(no CUDA)')"

step tests yes $python -m pytest -q -m "not slow" -p no:cacheprovider
step reproducible yes $python scripts/check_reproducible.py --device "$device"
step nondeterministic no $python scripts/check_reproducible.py --device "$device" \
    --nondeterministic
step distributed yes $python -m torch.distributed.run --standalone --nproc-per-node 1 \
    -m mnistlab run --stage distributed --device "$device" --epochs 2 --data sample \
    --out "$out/distributed-run" --force
step fast yes $python -m mnistlab run --stage fast --device "$device" --epochs 2 \
    --data sample --out "$out/fast-run" --force
step epochs yes $python benchmarks/epochs.py --devices "$device" --rows "$rows"
step epochs-cpu yes $python benchmarks/epochs.py --devices cpu --threads 2 --rows "$rows" \
    --stages cnn adaptive gpu fast

echo "distributed (1 process) against fast, last epoch of each:"
tail -n 1 "$out/distributed-run/metrics.csv" "$out/fast-run/metrics.csv" 2>/dev/null
exit $failed
