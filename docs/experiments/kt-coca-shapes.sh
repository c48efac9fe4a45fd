#!/usr/bin/env bash
# Regenerates docs/captioning.md's "Knowledge Transfer for a captioner" table: a micro CoCa pretrained on the shapes
# world with the ten composite concepts never named (the recipe of the captioning target run, plus --withhold), then
# all ten taught from their descriptions with learn's grid (image tower, or image tower + decoder (the paper's †);
# lr 1e-5, 1e-4 or 3e-4; λ2 = 0.1 (the paper's) or 2 (open_clip's); 5 epochs), chosen on the validation scenes under
# the 0.1 CIDEr-D bound, with the noise control's own grid, seeds 0, 1, 2.
# Then the replay arm (learn --replay, not in the paper): 500 ordinary scenes that show no concept, their captions
# replayed at every step, with the grid where naming appeared (image+decoder, lr 1e-4 or 3e-4, λ2 2, 20 epochs).
# Usage: bash docs/experiments/kt-coca-shapes.sh [OUT]   (about 30 minutes of pretraining, then about 15 minutes per
# seed for the paper's grid and 20 for the replay arm, one thread each; SEEDS="0 1" picks seeds; each step is skipped
# when its output exists). Every figure is in OUT/seed<seed>/report/ and OUT/replay-seed<seed>/report/ (summary.md
# and report.json).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${1:-kt-coca-shapes}
molyneux=${MOLYNEUX:-"$root/molyneux"}
concepts="$root/docs/examples/shapes-concepts.json"
mkdir -p "$out"

[ -d "$out/model" ] || $molyneux --threads 1 pretrain --objective coca --data shapes --preset micro --seed 0 --steps 1500 \
  --batch-size 64 --lr 1e-3 --withhold "$concepts" --out "$out/model"
for seed in ${SEEDS:-0 1 2}; do
  [ -d "$out/seed$seed/report" ] || $molyneux --threads 1 learn -m "$out/model" --concepts "$concepts" --eval shapes:color \
    --steps 200 --images-per-concept 10 --train image,image+decoder --lr 1e-5,1e-4,3e-4 --caption-weight 0.1,2 --epochs 5 \
    --noise-control --seed "$seed" --out "$out/seed$seed/model" --report "$out/seed$seed/report"
done

[ -d "$out/ordinary" ] || $molyneux data shapes --count 500 --seed 9 --withhold "$concepts" --out "$out/ordinary"
for seed in ${SEEDS:-0 1 2}; do
  [ -d "$out/replay-seed$seed/report" ] || $molyneux --threads 1 learn -m "$out/model" --concepts "$concepts" --eval shapes:color \
    --steps 200 --images-per-concept 10 --train image+decoder --lr 1e-4,3e-4 --caption-weight 2 --epochs 20 \
    --replay "$out/ordinary/captions.jsonl" --noise-control --seed "$seed" --out "$out/replay-seed$seed/model" --report "$out/replay-seed$seed/report"
done
