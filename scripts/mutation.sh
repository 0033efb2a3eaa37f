#!/usr/bin/env bash
# Mutation testing of the modules whose conventions move the numbers (opt-in: NOT run by .ci/run).
#
#   pip install -e ".[test,mutation]"        # mutmut 3 (Python >= 3.10)
#   scripts/mutation.sh                       # every configured module ([tool.mutmut] in pyproject.toml)
#   scripts/mutation.sh 'radseg.config.*'     # one module's mutants (mutmut name globs)
#   scripts/mutation.sh --results             # the last run's survivors again, no new run
#
# It copies radseg/ and tests/ to mutants/ (git-ignored), runs the selected tests once to learn
# which tests reach which function, then runs each mutant against those tests only. Results are
# cached in mutants/: a second run re-tests only mutants whose function changed. Delete mutants/
# for a clean run. Score and the equivalent survivors: docs/MUTATION.md.
# Environment: PYTHON (default .venv/bin/python, else python3), JOBS (parallel mutants, default: cores).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-}
if [ -z "$PY" ]; then
    if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
if ! "$PY" -c "import mutmut" 2>/dev/null; then
    echo "error: mutmut is not installed for $PY: run \`$PY -m pip install -e '.[mutation]'\` (Python >= 3.10)." >&2
    exit 2
fi
# mutmut imports radseg from mutants/; a PYTHONPATH pointing at this checkout would bypass the mutants
unset PYTHONPATH
if [ "${1:-}" = "--results" ]; then
    exec "$PY" -m mutmut results
fi
"$PY" -m mutmut run --max-children "${JOBS:-$(nproc)}" "$@"
echo
echo "survivors (mutmut show NAME prints the diff; mutmut browse is the interactive view):"
"$PY" -m mutmut results
