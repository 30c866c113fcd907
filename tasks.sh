#!/usr/bin/env bash
# One entry point for every routine task of the book. Usage: bash tasks.sh COMMAND [ARGS]
#   build     set up (if needed), then build the website into _build/html (fails on any Sphinx warning)
#   test      set up (if needed), then ruff + unit tests + nbval over every chapter + the browser test, then
#             nbval over every chapter again in a numerically different configuration (the round-off pass)
#             (with arguments: only pytest with those arguments, e.g. one test file; no round-off pass)
#   roundoff  nbval over the chapters given (default: all) in the round-off configuration only
#   refresh   re-execute notebooks in place from a fresh kernel (all chapters, or the paths given)
#   jupyter   set up (if needed) plus JupyterLab, then open the book in Jupyter
#   student   write student copies of the notebooks (solutions removed) into student/
# Set-up creates .venv with the pinned versions of requirements.txt and installs dropout_theory editable;
# it re-runs only when requirements.txt or pyproject.toml change.
set -euo pipefail
cd "$(dirname "$0")"
VENV="${VENV:-.venv}"
PY="$VENV/bin/python"
JUPYTERLAB_VERSION="4.5.0"

setup() {
  if [ ! -x "$PY" ]; then
    local base
    base="$(command -v python3.11 || command -v python3)"
    echo "[setup] creating $VENV with $("$base" --version)"
    "$base" -m venv "$VENV"
  fi
  local stamp
  stamp="$VENV/.installed-$(cat requirements.txt pyproject.toml | sha1sum | cut -c1-12)"
  if [ ! -f "$stamp" ]; then
    echo "[setup] installing the pinned environment (about a minute)"
    "$PY" -m pip install --quiet --disable-pip-version-check -r requirements.txt
    "$PY" -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
    rm -f "$VENV"/.installed-*
    touch "$stamp"
  fi
}

NBVAL=(--nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout 300)

# The round-off pass: the same machine, numerically different. Every stored output must survive MKL's
# conditional-numerical-reproducibility code path, two BLAS/OpenMP threads instead of one (passive waiting, so two
# workers with two threads each share two cores without spinning), torch's AVX2 kernels and numpy's and OpenBLAS's
# non-AVX-512 code paths instead of AVX-512, and every random draw of torch nudged by a relative 1e-12
# (tools/roundoff_probe, loaded into each kernel through IPYTHONDIR). Measured on the two-layer chapter's run of plain
# gradient descent at the edge of stability: MKL_CBWR alone, two threads alone and the nudge alone each change the
# final loss in its second digit; a printed number that survives all of them is a result, not round-off.
roundoff_pass() {
  env MKL_CBWR=COMPATIBLE OMP_NUM_THREADS=2 MKL_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE \
    ATEN_CPU_CAPABILITY=avx2 NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL AVX512_SPR" OPENBLAS_CORETYPE=Haswell \
    IPYTHONDIR="$PWD/tools/roundoff_probe" \
    "$VENV/bin/python" -m pytest -n 2 --dist loadfile -p no:cacheprovider "${NBVAL[@]}" "$@"
}

browser_setup() {
  if ! command -v chromium >/dev/null 2>&1; then
    echo "[setup] installing Debian's chromium for the browser test"
    if [ "$(id -u)" = 0 ]; then APT="apt-get"; else APT="sudo apt-get"; fi
    $APT update -qq && DEBIAN_FRONTEND=noninteractive $APT install -y -qq chromium >/dev/null
  fi
}

cmd="${1:-help}"
shift || true
case "$cmd" in
  build)
    setup
    "$VENV/bin/jupyter-book" build . --all -W --keep-going "$@"
    echo "Book built: open file://$PWD/_build/html/index.html"
    ;;
  test)
    setup
    browser_setup
    # Two pytest workers on two cores: one BLAS/OpenMP thread each (also inside nbval's kernels), which is how the
    # stored outputs were made (tools/refresh_notebooks.py); more threads only oversubscribe the cores.
    export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
    "$VENV/bin/ruff" check .
    "$VENV/bin/python" -m pytest -n 2 --dist loadfile "${NBVAL[@]}" "$@"
    if [ "$#" -eq 0 ]; then
      echo "[test] round-off pass: nbval over every chapter in a numerically different configuration"
      roundoff_pass book
    fi
    ;;
  roundoff)
    setup
    roundoff_pass "${@:-book}"
    ;;
  refresh)
    setup
    export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
    "$PY" tools/refresh_notebooks.py "$@"
    ;;
  jupyter)
    setup
    "$PY" -m pip install --quiet --disable-pip-version-check "jupyterlab==$JUPYTERLAB_VERSION"
    exec "$VENV/bin/jupyter" lab book/ "$@"
    ;;
  student)
    setup
    "$PY" tools/make_student_copies.py "$@"
    ;;
  *)
    sed -n '2,13p' "$0"
    exit 2
    ;;
esac
