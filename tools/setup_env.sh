#!/usr/bin/env bash
# Set up .venv for solov2-plugin on a fresh machine; quick when already done.
#
# Steps (each skipped when its result is already there):
#   1. create .venv (python3 -m venv) unless it exists;
#   2. pin setuptools>=77.0.3,<81 (torch 2.13 needs >=77.0.3; mmcv's setup.py and
#      mmengine's `mmdet::` config bases need pkg_resources, gone in setuptools 81);
#   3. torch: keep an installed one, else install TORCH_SPEC (default torch==2.13.0);
#   4. mmcv 2.1.0 with its compiled ops, built from source (10-12 min on 2 cores,
#      cached by pip afterwards);
#   5. mmengine, mmdet and this package (editable, with the dev extra), all under
#      requirements/constraints.txt, the exact versions tested;
#   6. `pip check`.
# A stamp (.venv/.setup-stamp) keyed on the dependency files skips it all next time.
#
# Environment: PYTHON (default python3), TORCH_SPEC (default torch==2.13.0),
# EXTRAS (default dev), MMCV_WITH_OPS / MAX_JOBS (passed to the mmcv build).
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
EXTRAS=${EXTRAS:-dev}
VENV=.venv
PIP="$VENV/bin/pip"
PY="$VENV/bin/python"
STAMP="$VENV/.setup-stamp"

stamp_key() {
    cat pyproject.toml requirements/constraints.txt tools/setup_env.sh | sha256sum | cut -d' ' -f1
}

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$(stamp_key)-$EXTRAS" ]]; then
    exit 0
fi

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
# pip, without the warnings about package folders this machine does not have.
quiet_pip() { "$PIP" "$@" 2> >(grep -v "^WARNING: Location '" >&2); }

if [[ ! -x "$PY" ]]; then
    log "creating $VENV with $($PYTHON --version)"
    "$PYTHON" -m venv "$VENV"
fi

# Constraints without torch when a torch is already installed: we keep the user's.
CONSTRAINTS=$(mktemp)
trap 'rm -f "$CONSTRAINTS"' EXIT
if "$PY" -c "import torch" 2>/dev/null; then
    log "keeping installed torch $("$PY" -c 'import torch; print(torch.__version__)')"
    grep -v '^torch==' requirements/constraints.txt > "$CONSTRAINTS"
else
    log "installing $TORCH_SPEC"
    cp requirements/constraints.txt "$CONSTRAINTS"
fi
PIP_INSTALL=(quiet_pip install --quiet --disable-pip-version-check -c "$CONSTRAINTS")

"${PIP_INSTALL[@]}" "setuptools>=77.0.3,<81" wheel ninja numpy
"$PY" -c "import torch" 2>/dev/null || "${PIP_INSTALL[@]}" "$TORCH_SPEC"

if ! "$PY" -c "import mmcv.ops" 2>/dev/null; then
    log "building mmcv 2.1.0 with its ops from source (10-12 min on 2 cores; cached afterwards)"
    MMCV_WITH_OPS=${MMCV_WITH_OPS:-1} MAX_JOBS=${MAX_JOBS:-$(nproc)} \
        "${PIP_INSTALL[@]}" --no-build-isolation mmcv==2.1.0
fi

log "installing mmengine, mmdet and solov2-plugin[$EXTRAS] (editable)"
"${PIP_INSTALL[@]}" mmengine mmdet
"${PIP_INSTALL[@]}" --no-build-isolation -e ".[$EXTRAS]"
"$PIP" check
echo "$(stamp_key)-$EXTRAS" > "$STAMP"
log "done: $("$PY" -c 'import torch, mmcv, mmdet, mmengine; print(f"torch {torch.__version__}, mmcv {mmcv.__version__}, mmengine {mmengine.__version__}, mmdet {mmdet.__version__}")')"
