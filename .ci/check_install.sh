#!/usr/bin/env bash
# The install without make (README, "Installing without make"), in a throwaway venv:
#
#   1. `pip install -e .` with the base requirements read from the package's own metadata
#      (torch excepted, see below): the engine backends run, `import lava` fails, and a Lava
#      backend fails with one clear line (exit 1);
#   2. the `lava` extra (again from the metadata) and `lava-llm compat install` (lava-nc and
#      lava-dl with --no-deps --ignore-requires-python, and the 3.11 import fix): `import lava`
#      works in a fresh interpreter and a sim-fixed generation equals the integer engine's.
#      (lava-dl's own modules import torch, so they are not imported here.)
#
# Wheels come from a wheelhouse reused across runs (filled by `pip download`, which itself
# reuses pip's cache; offline, what is there is used). torch (several GB installed) is the one
# requirement left out: the checks here never import it, and the Makefile's install, which
# the test suite runs in, covers it.
set -euo pipefail
cd "$(dirname "$0")/.."
unset PYTHONPATH PYTHONHOME  # only what the venv installed
PY=${PYTHON:-python3.11}
WH=${LAVA_LLM_WHEELHOUSE:-${XDG_CACHE_HOME:-$HOME/.cache}/lava-llm/wheels}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$WH"
start=$(date +%s)

"$PY" -m venv "$TMP/venv"
V="$TMP/venv/bin"
export PIP_DISABLE_PIP_VERSION_CHECK=1
fetch() {  # fetch REQFILE: make sure the wheelhouse holds REQFILE's wheels
    "$V/python" -m pip download -q -d "$WH" -r "$1" "${@:2}" \
        || echo "check_install: pip download failed (offline?); using $WH as it is" >&2
}

# 1. the base install, Lava-free ------------------------------------------------------------
"$V/python" -m pip install -q --no-index --find-links "$WH" setuptools wheel 2>/dev/null \
    || { "$V/python" -m pip download -q -d "$WH" setuptools wheel \
         && "$V/python" -m pip install -q --no-index --find-links "$WH" setuptools wheel; }
"$V/python" -m pip install -q --no-build-isolation --no-deps -e .
"$V/python" - > "$TMP/base.txt" <<'EOF'
from importlib.metadata import requires
for r in requires("lava-llm"):
    if "extra ==" not in r and not r.startswith("torch"):
        print(r)
EOF
"$V/python" - > "$TMP/lava.txt" <<'EOF'
from importlib.metadata import requires
for r in requires("lava-llm"):
    if 'extra == "lava"' in r:
        print(r.split(";")[0])
EOF
fetch "$TMP/base.txt"
echo "check_install: torch is left out on purpose; pip's note that lava-llm needs it is expected"
"$V/python" -m pip install -q --no-index --find-links "$WH" -r "$TMP/base.txt"
cd "$TMP"  # from here on, lava_llm comes from the install, not from the working directory
if "$V/python" -c "import lava" 2>/dev/null; then
    echo "check_install: lava is importable before it was installed" >&2; exit 1
fi
"$V/lava-llm" generate --backend engine --prompt "ROMEO:" --tokens 8 --json > gen.json
"$V/python" -c "import json; d = json.load(open('gen.json')); assert len(d['token_ids']) == 8, d"
printf '0 1\n1 2\n2 0\n2 3\n' > edges.txt
"$V/lava-llm" solve --backend engine --maxcut-edges edges.txt --steps 200 --json > solve.json
"$V/python" -c "import json; d = json.load(open('solve.json')); assert d['cut'] == 3, d"
set +e
"$V/lava-llm" generate --backend sim-fixed --prompt "ROMEO:" --tokens 2 2> nolava.err
status=$?
set -e
if [ "$status" != 1 ] || [ "$(grep -c 'error:' nolava.err)" != 1 ] \
        || ! grep -q "needs Lava" nolava.err || grep -q Traceback nolava.err; then
    echo "check_install: a Lava backend without Lava must fail with one clear line:" >&2
    cat nolava.err >&2; exit 1
fi

# 2. the lava extra and `lava-llm compat install` -------------------------------------------
cd - > /dev/null
fetch "$TMP/lava.txt"
"$V/python" -m pip download -q -d "$WH" --no-deps --ignore-requires-python \
    lava-nc==0.10.0 lava-dl==0.6.0 || true
"$V/python" -m pip install -q --no-index --find-links "$WH" -r "$TMP/lava.txt"
cd "$TMP"
PIP_NO_INDEX=1 PIP_FIND_LINKS="$WH" "$V/lava-llm" compat install
"$V/python" -c "from lava.proc.lif.process import LIF; from lava.magma.core.run_configs import Loihi2SimCfg"
"$V/lava-llm" generate --backend sim-fixed --prompt "ROMEO:" --tokens 8 --json > lava.json
"$V/python" -c "import json; a, b = (json.load(open(f)) for f in ('lava.json', 'gen.json'));
assert a['token_ids'] == b['token_ids'], (a, b)"  # Lava sim-fixed == the integer engine
echo "check_install: ok ($(( $(date +%s) - start )) s; wheelhouse $WH)"
