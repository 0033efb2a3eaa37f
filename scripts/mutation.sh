#!/usr/bin/env bash
# Mutation testing of the modules whose conventions move the numbers (opt-in: NOT run by .ci/run).
#
#   pip install -e ".[test,mutation]"                 # mutmut 3 (Python >= 3.10)
#   scripts/mutation.sh                                # every group, in turn
#   scripts/mutation.sh config preprocess              # some groups
#   scripts/mutation.sh core 'radseg.core.scga.*'      # one group, only the mutants matching a mutmut name glob
#   scripts/mutation.sh --results core                 # the last run's survivors of a group, no new run
#
# Groups (module globs and their tests) are [tool.radseg-mutation.*] in pyproject.toml; the common
# mutmut settings are [tool.mutmut]. Each group runs in .mutation/GROUP/ (git-ignored): links to
# the checkout plus a pyproject.toml narrowed to the group, so mutmut copies the code to
# .mutation/GROUP/mutants/, runs the group's tests once to learn which test reaches which
# function, then runs each mutant against those tests only. Results are cached there: a second
# run re-tests only what changed (delete .mutation/GROUP for a clean run). Per group it prints
# killed / survived / timeout and writes .mutation/GROUP/survivors.txt. Score: docs/MUTATION.md.
# Environment: PYTHON (default .venv/bin/python, else python3), JOBS (parallel mutants, default: cores).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PYTHON:-}
if [ -z "$PY" ]; then
    if [ -x .venv/bin/python ]; then PY=$ROOT/.venv/bin/python; else PY=python3; fi
fi
if ! "$PY" -c "import mutmut" 2>/dev/null; then
    echo "error: mutmut is not installed for $PY: run \`$PY -m pip install -e '.[mutation]'\` (Python >= 3.10)." >&2
    exit 2
fi
unset PYTHONPATH  # mutmut imports radseg from mutants/; a PYTHONPATH to this checkout would bypass the mutants

results_only=0
if [ "${1:-}" = "--results" ]; then results_only=1; shift; fi
ALL=$("$PY" -c "import tomllib; print(' '.join(tomllib.load(open('pyproject.toml', 'rb'))['tool']['radseg-mutation']))")
groups=() names=()
for a in "$@"; do
    if [[ " $ALL " == *" $a "* ]]; then groups+=("$a"); else names+=("$a"); fi
done
if [ ${#groups[@]} -eq 0 ]; then
    [ ${#names[@]} -eq 0 ] || { echo "error: give a group (one of: $ALL) before a mutant name glob." >&2; exit 2; }
    read -r -a groups <<< "$ALL"
fi

for g in "${groups[@]}"; do
    dir=.mutation/$g
    mkdir -p "$dir"
    for link in radseg tests docs README.md configs_mmseg eval.py; do
        ln -sfn "$ROOT/$link" "$dir/$link"
    done
    "$PY" - "$g" "$dir/pyproject.toml" <<'PYEOF'
import json, sys, tomllib
group, out = sys.argv[1], sys.argv[2]
cfg = tomllib.load(open("pyproject.toml", "rb"))["tool"]
mm = dict(cfg["mutmut"], only_mutate=cfg["radseg-mutation"][group]["mutate"],
          pytest_add_cli_args_test_selection=cfg["radseg-mutation"][group]["tests"])
def table(name, d):  # flat TOML: strings, booleans, numbers and lists of strings (JSON spells them alike)
    return f"[{name}]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in d.items())
text = table("tool.pytest.ini_options", cfg["pytest"]["ini_options"]) + "\n" + table("tool.mutmut", mm)
try:
    old = open(out).read()
except OSError:
    old = None
if old != text:
    open(out, "w").write(text)
PYEOF
    echo "== mutation group '$g' ($dir)"
    if [ $results_only = 0 ]; then
        (cd "$dir" && "$PY" -m mutmut run --max-children "${JOBS:-$(nproc)}" "${names[@]}") || true
    fi
    (cd "$dir" && "$PY" -m mutmut results) > "$dir/survivors.txt" 2>&1 || true
    (cd "$dir" && "$PY" -m mutmut export-cicd-stats >/dev/null 2>&1) || true
    "$PY" - "$dir/mutants/mutmut-cicd-stats.json" "$g" <<'PYEOF'
import json, sys
try:
    s = json.load(open(sys.argv[1]))
except OSError:
    sys.exit(f"{sys.argv[2]}: no results yet")
keys = ("killed", "survived", "timeout", "suspicious", "no_tests", "skipped", "segfault", "check_was_interrupted_by_user", "not_checked", "total")
print(sys.argv[2] + ": " + ", ".join(f"{k} {s[k]}" for k in keys if k in s))
PYEOF
    echo "   survivors: $dir/survivors.txt ($(grep -c ': survived' "$dir/survivors.txt" || true) listed)"
done
