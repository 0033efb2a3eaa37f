#!/usr/bin/env bash
# One go on a GPU: `radseg bench` for every preset of the issue, exact and fast mode,
# refinement off and on, on the full-size random replicas (c-radio_v3-b-random,
# sam-vit-h-random), batch 1 (and batch 4 for the two smallest presets, to show
# batching across images). Then every method side by side (`radseg bench --methods`: parameters,
# FLOPs, interleaved latency, peak memory, ratios to RADSeg) at voc_mid and ade20k_high ($METHOD_PRESETS), each baseline under
# RADSeg's preset and its own protocol, for the
# methods of $METHODS that are registered and available here (default: radseg radseg+ naclip trident
# proxyclip). JSON and Markdown go to benchmarks/results/ named after the device.
#
#   bash benchmarks/gpu_bench.sh                 # on the GPU machine
#   bash benchmarks/gpu_bench.sh --small         # CPU smoke run at stand-in size (tests)
#   OUT=/tmp/res bash benchmarks/gpu_bench.sh    # another output folder
#   METHODS="radseg naclip" bash benchmarks/gpu_bench.sh   # the methods of the side-by-side run
#   METHOD_PRESETS=all bash benchmarks/gpu_bench.sh  # the side-by-side run at every benchmark preset
# Extra arguments are passed to every `radseg bench` call (e.g. --repeats 20); the classic bench's own
# options (--refine, --mode, --fast, --batch, --backend, --model-dir) only to the classic calls, since
# --methods refuses them (it runs exact mode, batch 1, torch; RADSeg+ is a method of its own).
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
# The side-by-side run: only the methods this checkout has (a known-but-unavailable one would be a
# row that measured nothing; a name not registered at all is left out here, with a line saying so).
METHODS="${METHODS:-radseg radseg+ naclip trident proxyclip}"
read -r -a WANT <<<"$METHODS"
HAVE="$("$PY" - "${WANT[@]}" <<'PYEOF'
import sys
from radseg.methods.registry import available_methods
have = set(available_methods())
ok = [m for m in sys.argv[1:] if (m[:-1] if m.endswith("+") else m) in have]
for m in sys.argv[1:]:
    if m not in ok:
        print(f"gpu_bench.sh: method '{m}' is not available in this checkout: left out", file=sys.stderr)
print(" ".join(ok))
PYEOF
)"
read -r -a HAVE_ARR <<<"$HAVE"
METHOD_EXTRA=()
skip=0
for a in "${EXTRA[@]}"; do
  case "$a" in
    --refine|--mode|--model-dir|--model_dir) skip=1; continue ;;  # one value follows
    --batch|--backend) skip=2; continue ;;                        # values follow up to the next option
    --fast) continue ;;
  esac
  if [ "$skip" = 1 ]; then skip=0; continue; fi
  if [ "$skip" = 2 ] && [ "${a#--}" = "$a" ]; then continue; fi
  skip=0
  METHOD_EXTRA+=("$a")
done
read -r -a METHOD_PRESETS <<<"${METHOD_PRESETS:-voc_mid ade20k_high}"  # METHOD_PRESETS=all: every benchmark
if [ "$SMALL" = 1 ]; then METHOD_PRESETS=(voc_low); fi
if [ "${#HAVE_ARR[@]}" -gt 0 ]; then
  "$PY" -m radseg.bench --device "$DEVICE" --model_version c-radio_v3-b-random --sam sam-vit-h-random \
    --preset "${METHOD_PRESETS[@]}" --methods "${HAVE_ARR[@]}" --protocol both \
    --json "${BASE}_methods.json" --md "${BASE}_methods.md" "${METHOD_EXTRA[@]}"
fi
echo "wrote ${BASE}.json and ${BASE}.md (methods: ${BASE}_methods.json)"
