#!/usr/bin/env bash
# Regenerates docs/knowledge-transfer.md's "one concept per run or all together" table: a micro CLIP pretrained on the
# shapes world with the ten composite concepts never named, then the concept token (lr 1e-3, the setting the slow
# shapes test chooses) taught to all ten together and to each alone, seeds 0, 1, 2, with the noise control.
# Usage: bash docs/experiments/kt-shapes-per-concept.sh [OUT]   (about 5 minutes on 2 cores; each step is skipped when
# its output exists). Every figure is in OUT/{joint,per}<seed>/report/summary.md and report.json.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${1:-kt-shapes-per-concept}
molyneux=${MOLYNEUX:-"$root/molyneux"}
concepts="$root/docs/examples/shapes-concepts.json"
mkdir -p "$out"

[ -d "$out/model" ] || $molyneux pretrain --data shapes --preset micro --steps 600 --batch-size 128 --lr 2e-3 --vocab-size 1000 \
  --seed 0 --withhold "$concepts" --out "$out/model"
for seed in 0 1 2; do
  [ -d "$out/inverted-$seed" ] || $molyneux invert -m "$out/model" --concepts "$concepts" --steps 150 --images-per-concept 10 \
    --copies 4 --seed "$seed" --out "$out/inverted-$seed"
  for run in joint per; do
    [ -d "$out/$run$seed/report" ] || $molyneux learn -m "$out/model" --concepts "$concepts" --eval shapes:color \
      --inverted "$out/inverted-$seed" --train token --lr 1e-3 --select none --distractors 0 --forgetting-bound 5 --noise-control \
      --seed "$seed" --out "$out/$run$seed/model" --report "$out/$run$seed/report" $([ $run = per ] && echo --per-concept)
  done
done
