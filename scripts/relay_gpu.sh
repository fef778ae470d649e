#!/usr/bin/env bash
# Continue the relay's run on a GPU for a fixed budget, then leave only what should come back.
#
#   scripts/relay_gpu.sh MINUTES DATA_DIR...      from the repository root, on the GPU machine
#
# The run starts from the shipped weights at their step (codeclab/data/weights/checkerboard.json),
# trains with `codeclab relay run --device cuda` until MINUTES have passed (the loop checkpoints,
# exports a float16 candidate and stops cleanly at that deadline), and writes under $OUT (or
# runs/relay-gpu): relay.log, candidates/step_*.safetensors with their cards, metrics.jsonl.
# Checkpoints hold optimizer state (3x the weights) and are removed, so only candidates travel.
# Back on the CPU machine: copy the candidates into runs/relay/candidates and run
# `codeclab relay score --ship`; the card's history records the GPU stretch and its hardware.
#
# Pick MINUTES a few minutes short of the device time left: start-up and the final export
# need about a minute.
set -euo pipefail
minutes=${1:?usage: scripts/relay_gpu.sh MINUTES DATA_DIR...}
shift
[ "$#" -ge 1 ] || { echo "usage: scripts/relay_gpu.sh MINUTES DATA_DIR..." >&2; exit 2; }
out=${OUT:-runs/relay-gpu}
mkdir -p "$out"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
data=()
for folder in "$@"; do data+=(--data "$folder"); done
nvidia-smi -L | tee "$out/relay.log"
python3 -m codeclab relay run --device cuda --until "${minutes}m" --out "$out/run" --val-data "" "${data[@]}" \
    2>&1 | tee -a "$out/relay.log"
mv "$out/run/candidates" "$out/candidates"
cp "$out/run/metrics.jsonl" "$out/" 2>/dev/null || true
rm -rf "$out/run"
ls -la "$out/candidates"
