#!/usr/bin/env bash
# The model benchmark on the GPU machine, in one run of about 8 minutes on an H200:
#   bash .gpu/on_device.sh bash tools/gpu_bench.sh "$OUT"
# 1. mmdet's SOLOv2 vs ours at 800x1344, 1 image, 100 instances (fp32, with --flops) -> $OUT/bench_800x1344.json
#    and at batch 2, 40 instances (the training goal), with torch.profiler tables of every measure
#    -> $OUT/bench_800x1344_b2.json, $OUT/profiles.tgz
# 2. our optional rows: bf16, channels_last, compile, cudagraphs          -> $OUT/bench_variants.json
#    and the training step of the eager ones (bf16, channels_last) at batch 2, 40 instances
#                                                                         -> $OUT/bench_train_variants.json
# 3. a short scaling sweep (instances, image sizes) and its plot           -> $OUT/scaling.json, .png
# Each part runs even if an earlier one failed; the summary at the end says which did. Logs go to
# $OUT/*.log as well as to the terminal. Parts are bounded with `timeout` so the run stays short.
set -u
out=${1:?usage: bash tools/gpu_bench.sh OUT_DIR}
mkdir -p "$out"
bench="python3 tools/benchmark.py model --device cuda"
declare -A status

part() {  # part NAME SECONDS COMMAND...
  local name=$1 limit=$2
  shift 2
  echo "=== [$(date +%T)] $name (limit ${limit}s): $*"
  timeout --signal=INT --kill-after=15 "$limit" "$@" 2>&1 | tee "$out/$name.log"
  local rc=${PIPESTATUS[0]}
  status[$name]=$rc
  echo "=== [$(date +%T)] $name finished with status $rc"
}

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 | tee "$out/gpu.txt"

part main 100 $bench --size 800 1344 --instances 100 --batch 1 --warmup 3 --repeats 10 --flops \
  --json "$out/bench_800x1344.json"
part batch2 120 $bench --size 800 1344 --instances 40 --batch 2 --warmup 3 --repeats 10 \
  --profile /tmp/profiles --json "$out/bench_800x1344_b2.json"
tar czf "$out/profiles.tgz" -C /tmp profiles  # one file: the device returns only a few
part variants 150 $bench --size 800 1344 --instances 100 --batch 1 --warmup 2 --repeats 10 \
  --measures inference --variants all --json "$out/bench_variants.json"
part train_variants 100 $bench --size 800 1344 --instances 40 --batch 2 --warmup 3 --repeats 10 \
  --measures train_step --variants bf16,channels_last --json "$out/bench_train_variants.json"
part scaling 120 $bench --scaling --size 800 1344 --instances 40 --warmup 1 --repeats 3 \
  --measures inference,train_step,targets_losses \
  --scaling-instances 5,20,50,100,200 --scaling-sizes 512,1024,1536,2048 \
  --json "$out/scaling.json" --plot "$out/benchmarks_scaling.png"

echo "=== summary (0 = ok, 124 = hit its time limit)"
for name in main batch2 variants train_variants scaling; do
  echo "  $name: ${status[$name]:-not run}"
done
ls -l "$out"
