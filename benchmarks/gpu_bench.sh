#!/usr/bin/env bash
# One go on a GPU: `radseg bench` for every preset of the issue, exact and fast mode,
# refinement off and on, on the full-size random replicas (c-radio_v3-b-random,
# sam-vit-h-random), batch 1 (and batch 4 for the two smallest presets, to show
# batching across images). JSON and Markdown go to benchmarks/results/ named after the device.
#
#   bash benchmarks/gpu_bench.sh                 # on the GPU machine
#   bash benchmarks/gpu_bench.sh --small         # CPU smoke run at stand-in size (tests)
#   OUT=/tmp/res bash benchmarks/gpu_bench.sh    # another output folder
# Extra arguments are passed to every `radseg bench` call (e.g. --repeats 20).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  if [ -x "$ROOT/.venv/bin/python" ]; then PY="$ROOT/.venv/bin/python"; else PY=python3; fi
fi
OUT="${OUT:-$ROOT/benchmarks/results}"
DEVICE="${DEVICE:-}"
EXTRA=("$@")
SMALL=0
for a in "$@"; do [ "$a" = "--small" ] && SMALL=1; done
if [ -z "$DEVICE" ]; then
  if [ "$SMALL" = 1 ]; then DEVICE=cpu; else DEVICE=cuda; fi
fi
NAME="$("$PY" - "$DEVICE" <<'PYEOF'
import re, sys, torch
d = sys.argv[1]
name = torch.cuda.get_device_name(torch.device(d)) if d.startswith("cuda") and torch.cuda.is_available() else "cpu"
print(re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower())
PYEOF
)"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$OUT"
PRESETS=(voc_low voc_mid voc_high cityscapes_mid cityscapes_high ade20k_high coco_stuff_high)
if [ "$SMALL" = 1 ]; then PRESETS=(voc_low); fi
BASE="$OUT/bench_${NAME}$( [ "$SMALL" = 1 ] && echo _small )_${STAMP}"
"$PY" -m radseg.bench --device "$DEVICE" --model_version c-radio_v3-b-random --sam sam-vit-h-random \
  --preset "${PRESETS[@]}" --refine both --mode both --batch 1 \
  --json "${BASE}.json" --md "${BASE}.md" "${EXTRA[@]}"
if [ "$SMALL" = 0 ]; then
  "$PY" -m radseg.bench --device "$DEVICE" --model_version c-radio_v3-b-random --sam sam-vit-h-random \
    --preset voc_mid ade20k_high --refine off --mode both --batch 4 \
    --json "${BASE}_batch4.json" --md "${BASE}_batch4.md" "${EXTRA[@]}"
fi
echo "wrote ${BASE}.json and ${BASE}.md"
