#!/usr/bin/env bash
# Regenerates docs/segmentation.md's tables: zero-shot segmentation of the eight shapes object concepts with the
# ResNet18 + MiniLM model aligned on the shapes world (the model of docs/knowledge-transfer.md), before and after
# teaching the concepts their names by Knowledge Transfer, for seeds 0, 1, 2.
# Usage: bash docs/experiments/segment-shapes-kt.sh [OUT] [ALIGNED]   (about two hours on 2 cores; each step is skipped
# when its output exists, so a stopped run continues; TEACH_ONLY=1 runs only the inversions and fine-tunings, so that a
# second copy can teach while the first segments). ALIGNED defaults to the aligned model kt-shapes-minilm.sh makes.
# Validation scenes (seed 1) choose the saliency settings and learn's learning rate; every reported number comes from
# the test scenes (seed 2) and the reference scenes (seed 3), which nothing was chosen on.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${1:-segment-shapes-kt}
aligned=${2:-kt-shapes-minilm/aligned}
molyneux=${MOLYNEUX:-"$root/molyneux"}
mkdir -p "$out"

[ -d "$aligned" ] || $molyneux align --data shapes --train projections --steps 600 --image-views 1 --batch-size 128 --shapes-count 4096 \
  --input-size 96 --seed 7 --withhold "$root/docs/examples/shapes-concepts.json" --out "$aligned"

# Object scenes with masks: validation and test scenes of the eight concepts, reference scenes of eight ordinary objects.
[ -d "$out/val" ] || $molyneux data shapes --masks --count 20 --seed 1 --image-size 96 --out "$out/val"
[ -d "$out/test" ] || $molyneux data shapes --masks --count 10 --seed 2 --image-size 96 --out "$out/test"
[ -d "$out/reference" ] || $molyneux data shapes --masks --reference --count 10 --seed 3 --image-size 96 --out "$out/reference"

# Knowledge Transfer (the paper's recipe: image tower, "A {name} is {description}", learning rate chosen on the
# validation scenes' classification by name), one seed at a time under a lock, so that a second copy of this script
# run with TEACH_ONLY=1 can teach the next seed while the first one segments.
teach() { # seed
  [ -d "$out/inverted-$1" ] || $molyneux invert -m "$aligned" --concepts "$out/val/concepts.json" --steps 200 \
    --images-per-concept 10 --seed "$1" --out "$out/inverted-$1" $([ -d "$out/inverted-$1.resume" ] && echo --resume)
  [ -d "$out/taught-$1/report" ] || $molyneux learn -m "$aligned" --concepts "$out/val/concepts.json" --eval shapes:color \
    --inverted "$out/inverted-$1" --seed "$1" --train image --lr auto --noise-control \
    --out "$out/taught-$1/model" --report "$out/taught-$1/report"
}
# An exploratory arm, one seed: the text tower instead (its learning rate chosen the same way, with its noise control),
# which moves the name's own text feature, the one a name prompt segments by.
teach_text() {
  [ -d "$out/taught-text-0/report" ] || $molyneux learn -m "$aligned" --concepts "$out/val/concepts.json" --eval shapes:color \
    --inverted "$out/inverted-0" --seed 0 --train text --lr auto --noise-control \
    --out "$out/taught-text-0/model" --report "$out/taught-text-0/report"
}
if [ "${TEACH_ONLY:-}" = 1 ]; then
  for seed in 0 1 2; do exec {lock}>"$out/teach-$seed.lock"; flock "$lock"; teach "$seed"; exec {lock}>&-; done
  exec {lock}>"$out/teach-text.lock"; flock "$lock"; teach_text; exec {lock}>&-
  exit 0
fi

segment() { # name, model, data, options…
  local name=$1 model=$2 data=$3; shift 3
  [ -f "$out/$name.json" ] || $molyneux eval segment -m "$model" --data "$out/$data" --json "$out/$name.json" "$@" > "$out/$name.log"
}
descriptions() { echo --prompts "$out/$1/descriptions.json"; }

# 1. Saliency settings, chosen on the validation scenes by mean DSC of the description prompts (the same budget of
#    choices for M2IB and Grad-CAM; the centred blob has none).
for setting in "2 0.1" "2 1" "3 0.1"; do
  read -r layer beta <<<"$setting"
  segment "val-m2ib-l$layer-b$beta" "$aligned" val $(descriptions val) --method m2ib --layer "$layer" --beta "$beta"
done
for layer in 2 3 4; do segment "val-gradcam-l$layer" "$aligned" val $(descriptions val) --method gradcam --layer $layer; done
best() { # prefix → the options of the run with the highest validation DSC
  python3 - "$out" "$1" <<'PY'
import json, glob, os, sys
out, prefix = sys.argv[1], sys.argv[2]
runs = {f: json.load(open(f))["overall"]["dice"]["mean"] for f in glob.glob(f"{out}/val-{prefix}-*.json")}
name = os.path.basename(max(runs, key=runs.get))[len(f"val-{prefix}-"):-len(".json")]
parts = dict((p[0], p[1:]) for p in name.split("-"))
print(f"--layer {parts['l']}" + (f" --beta {parts['b']}" if "b" in parts else ""))
PY
}
m2ib="--method m2ib $(best m2ib)"
gradcam="--method gradcam $(best gradcam)"
echo "chosen on validation: $m2ib; $gradcam" | tee "$out/chosen.txt"

# 2. The three methods on the test scenes, description prompts (the acceptance comparison).
segment test-blob "$aligned" test $(descriptions test) --method blob
segment test-gradcam "$aligned" test $(descriptions test) $gradcam
segment test-m2ib-descriptions "$aligned" test $(descriptions test) $m2ib
# 3. Before teaching: the names ("a dworple") mean nothing yet; the reference objects by their descriptions.
segment test-m2ib-names "$aligned" test $m2ib
segment reference-m2ib "$aligned" reference $(descriptions reference) $m2ib

# 4. The same segmentations with each taught model.
for seed in 0 1 2; do
  exec {lock}>"$out/teach-$seed.lock"; flock "$lock"; teach "$seed"; exec {lock}>&-
  segment "taught-$seed-m2ib-names" "$out/taught-$seed/model" test $m2ib
  segment "taught-$seed-reference-m2ib" "$out/taught-$seed/model" reference $(descriptions reference) $m2ib
done
exec {lock}>"$out/teach-text.lock"; flock "$lock"; teach_text; exec {lock}>&-
segment taught-text-0-m2ib-names "$out/taught-text-0/model" test $m2ib
segment taught-text-0-reference-m2ib "$out/taught-text-0/model" reference $(descriptions reference) $m2ib


# 5. The tables of docs/segmentation.md: macro means over the eight concepts (reference: the eight objects) with 95 %
#    bootstrap intervals (images resampled within each class; gains paired, image by image).
python3 - "$out" <<'PY' | tee "$out/summary.md"
import json, random, sys
out = sys.argv[1]
def load(name): return json.load(open(f"{out}/{name}.json"))
def groups(report, metric="dice"):
    g = {}
    for row in report["per_image"]: g.setdefault(row["class"], {})[row["image"]] = row[metric]
    return g
def boot(g, resamples=2000, seed=0):
    rng = random.Random(seed); classes = [list(v.values()) for v in g.values()]
    mean = sum(sum(c) / len(c) for c in classes) / len(classes)
    stats = sorted(sum(sum(rng.choice(c) for _ in c) / len(c) for c in classes) / len(classes) for _ in range(resamples))
    return mean, stats[int(0.025 * resamples)], stats[int(0.975 * resamples) - 1]
def paired(after, before):
    return {k: {i: after[k][i] - before[k][i] for i in after[k]} for k in after}
def fmt(t, signed=False): return f"{t[0]:+.3f} [{t[1]:+.3f}, {t[2]:+.3f}]" if signed else f"{t[0]:.3f} [{t[1]:.3f}, {t[2]:.3f}]"
print(open(f"{out}/chosen.txt").read().strip() + "\n")
print("| test scenes, description prompts | DSC | IoU | NSD (τ = 2 px) |\n|---|---:|---:|---:|")
for name, label in [("test-blob", "centred blob"), ("test-gradcam", "Grad-CAM"), ("test-m2ib-descriptions", "M2IB")]:
    r = load(name); print(f"| {label} ({r['method']}) | " + " | ".join(fmt(boot(groups(r, m))) for m in ("dice", "iou", "nsd")) + " |")
base_names, base_desc, base_ref = (groups(load(n)) for n in ("test-m2ib-names", "test-m2ib-descriptions", "reference-m2ib"))
print("\n| M2IB DSC | name prompt | description prompt | reference objects |\n|---|---:|---:|---:|")
print(f"| before | {fmt(boot(base_names))} | {fmt(boot(base_desc))} | {fmt(boot(base_ref))} |")
gains = []
for seed in (0, 1, 2):
    names, ref = (groups(load(f"taught-{seed}-{n}")) for n in ("m2ib-names", "reference-m2ib"))
    print(f"| after, seed {seed} | {fmt(boot(names))} | – | {fmt(boot(ref))} |")
    gains.append((seed, boot(paired(names, base_names)), boot(paired(names, base_desc)), boot(paired(ref, base_ref))))
print("\n| seed | name DSC gain (after − before) | name after − description before | reference DSC change |\n|---|---:|---:|---:|")
for seed, gain, versus, ref in gains: print(f"| {seed} | {fmt(gain, True)} | {fmt(versus, True)} | {fmt(ref, True)} |")
names, ref = (groups(load(f"taught-text-0-{n}")) for n in ("m2ib-names", "reference-m2ib"))
print(f"\nText tower, seed 0 (exploratory): name DSC {fmt(boot(names))}, gain {fmt(boot(paired(names, base_names)), True)}, "
      f"name after − description before {fmt(boot(paired(names, base_desc)), True)}, reference change {fmt(boot(paired(ref, base_ref)), True)}")
PY
