#!/usr/bin/env bash
# Prepare benchmark datasets from their extracted official downloads.
# Thin wrapper: runs `python -m radseg.data.cli prepare` once per dataset. See docs/DATA.md.
set -uo pipefail

usage() {
    cat <<'EOF'
Usage: process_dataset.sh [--out DATA_DIR] [--workers N] [--train] DATASET[=RAW_PATH] ...

DATASET is one of: voc20 voc21 context59 context60 coco_stuff164k coco_object cityscapes ade20k
ade847 pc459, or "all" (voc21 context60 coco_stuff164k coco_object cityscapes ade20k; voc20/context59 share
their folders with voc21/context60).

RAW_PATH is the folder where that download was extracted. Without "=RAW_PATH" it comes from an
environment variable, and without that the dataset's folder in DATA_DIR is converted in place:
  voc20, voc21             VOC2012_RAW      (.../VOCdevkit/VOC2012)
  context59, context60     VOC2010_RAW      (.../VOCdevkit/VOC2010; CONTEXT_JSON=path of
                                             trainval_merged.json if it is not in that folder)
  coco_stuff164k, coco_object  COCO_RAW     (folder with images/val2017 and annotations/val2017)
  cityscapes               CITYSCAPES_RAW   (folder with gtFine/ and leftImg8bit/)
  ade20k                   ADE20K_RAW       (.../ADEChallengeData2016)
  ade847                   ADE20K_FULL_RAW  (.../ADE20K_2021_17_01, the full ADE20K)
  pc459                    VOC2010_RAW      (.../VOCdevkit/VOC2010 with trainval/*.mat; after context59)

Options:
  --out DATA_DIR  data folder to fill (default: $RADSEG_DATA_DIR, else ./data: the same rule as
                  eval.py, the sweep and radseg data)
  --workers N     conversion processes (default: min(4, CPUs))
  --train         also convert the train splits (evaluation needs only val)
  PYTHON=...      interpreter to use (default: python)

Examples:
  ./process_dataset.sh context60=/downloads/VOCdevkit/VOC2010 coco_stuff164k=/downloads/coco
  COCO_RAW=/downloads/coco ./process_dataset.sh --out /data coco_stuff164k coco_object
EOF
}

if [ $# -eq 0 ]; then
    usage
    exit 1
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export PYTHONPATH="${here}${PYTHONPATH:+:${PYTHONPATH}}"
# The interpreter: $PYTHON, else the repo's .venv (the README's install), else python3.
if [ -n "${PYTHON:-}" ]; then python="$PYTHON"
elif [ -x "$here/.venv/bin/python" ]; then python="$here/.venv/bin/python"
else python="$(command -v python3 || command -v python || echo python3)"; fi
if ! "$python" -c 'import numpy, PIL, radseg.data' >/dev/null 2>&1; then
    echo "error: '$python' cannot import radseg's data tools; install the project first" \
         "(python3 -m venv .venv && .venv/bin/pip install -e .) or set PYTHON=/path/to/python" >&2
    exit 2
fi
out=""   # empty: radseg.data.cli applies the rule ($RADSEG_DATA_DIR, else ./data)
common=()
datasets=()

while [ $# -gt 0 ]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --out|--data-dir) [ $# -ge 2 ] && [ -n "$2" ] || { echo "error: $1 needs a folder" >&2; exit 2; }
                          out="$2"; shift 2 ;;
        --workers) [ $# -ge 2 ] || { echo "error: --workers needs a number" >&2; exit 2; }
                   common+=(--workers "$2"); shift 2 ;;
        --train) common+=(--train); shift ;;
        all) datasets+=(voc21 context60 coco_stuff164k coco_object cityscapes ade20k); shift ;;
        -*) echo "error: unknown option $1 (see: process_dataset.sh --help)" >&2; exit 2 ;;
        *) datasets+=("$1"); shift ;;
    esac
done

if [ ${#datasets[@]} -eq 0 ]; then
    echo "error: no dataset given (see: process_dataset.sh --help)" >&2
    exit 2
fi
failed=()
for item in "${datasets[@]}"; do
    key="${item%%=*}"
    raw=""
    [ "$item" != "$key" ] && raw="${item#*=}"
    extra=()
    case "$key" in
        voc20|voc21) raw="${raw:-${VOC2012_RAW:-}}" ;;
        context59|context60) raw="${raw:-${VOC2010_RAW:-}}"
                             [ -n "${CONTEXT_JSON:-}" ] && extra+=(--json "$CONTEXT_JSON") ;;
        coco_stuff164k|coco_object) raw="${raw:-${COCO_RAW:-}}" ;;
        cityscapes) raw="${raw:-${CITYSCAPES_RAW:-}}" ;;
        ade20k) raw="${raw:-${ADE20K_RAW:-}}" ;;
        ade847) raw="${raw:-${ADE20K_FULL_RAW:-}}" ;;
        pc459) raw="${raw:-${VOC2010_RAW:-}}" ;;
        *) echo "error: unknown dataset '$key' (see: process_dataset.sh --help)" >&2
           failed+=("$key"); continue ;;
    esac
    [ -n "$raw" ] && extra+=(--raw "$raw")
    echo "== $key"
    [ -n "$out" ] && extra+=(--out "$out")
    if ! "$python" -m radseg.data.cli prepare "$key" ${common[@]+"${common[@]}"} \
            ${extra[@]+"${extra[@]}"}; then
        failed+=("$key")
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "failed: ${failed[*]} (see the error lines above; process_dataset.sh --help shows how raw" \
         "folders are given)" >&2
    exit 1
fi
echo "done; check each dataset with: $python -m radseg.data.cli verify DATASET${out:+ --data-dir $out}"
