#!/usr/bin/env bash
# Regenerates docs/knowledge-transfer.md's "On a model that knows language" tables: the ten invented shapes concepts
# taught to ResNet18 + MiniLM aligned on the shapes world with those ten withheld, for seeds 0, 1, 2.
# Usage: bash docs/experiments/kt-shapes-minilm.sh [OUT]   (about an hour on 2 cores; each step is skipped when its
# output exists, so a stopped run continues). Every figure is in OUT/<run>-<seed>/report/summary.md and report.json.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${1:-kt-shapes-minilm}
molyneux=${MOLYNEUX:-"$root/molyneux"}
concepts="$root/docs/examples/shapes-concepts.json"
mkdir -p "$out"

[ -d "$out/aligned" ] || $molyneux align --data shapes --train projections --steps 600 --image-views 1 --batch-size 128 --shapes-count 4096 \
  --input-size 96 --seed 7 --withhold "$concepts" --out "$out/aligned"

for seed in 0 1 2; do
  [ -d "$out/inverted-$seed" ] || $molyneux invert -m "$out/aligned" --concepts "$concepts" --steps 200 --images-per-concept 10 \
    --seed "$seed" --out "$out/inverted-$seed"
done

learn() { # name, seed, options…
  local name=$1 seed=$2; shift 2
  [ -d "$out/$name-$seed/report" ] || $molyneux learn -m "$out/aligned" --concepts "$concepts" --eval shapes:color \
    --inverted "$out/inverted-$seed" --seed "$seed" --out "$out/$name-$seed/model" --report "$out/$name-$seed/report" "$@"
}
# The paper's recipe (image tower, "A {name} is {description}", Eq. 2, Adam), its learning rate chosen on validation.
for seed in 0 1 2; do learn recipe "$seed" --train image --lr auto --noise-control; done
# The same with feature distillation against forgetting, its weight chosen with the learning rate.
for seed in 0 1 2; do learn distill "$seed" --train image --lr auto --distill 0,1,10 --noise-control; done
# Fig. 4: which tower learns (image, text, both), each chosen on validation.
for seed in 0 1 2; do learn towers "$seed" --train image,text,both --lr auto; done
