#!/usr/bin/env bash
# Creates bench/.venv with the pinned Python anchor (implicit 0.7.3), idempotently.
# implicit is compiled from its sdist, as the research anchors were measured; if that
# fails we fall back to PyPI's wheel. Which one was used goes to bench/.venv/IMPLICIT_BUILD.
# --no-cache-dir on that step: a wheel cached by an earlier build may come from other build tools.
# Set CF_BENCH_IMPLICIT=wheel to skip the source build.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$(cd "$HERE/.." && pwd)/.venv"
REQ="$HERE/requirements.txt"
PY="${PYTHON:-python3}"
log() { echo "[setup_venv] $*" >&2; }

# Stamp = requirements + interpreter + build choice, so changing any of them rebuilds the venv.
STAMP="$(cat "$REQ"; "$PY" -c 'import sys; print(sys.version)'; echo "${CF_BENCH_IMPLICIT:-source}")"
STAMP="$(printf '%s' "$STAMP" | sha256sum | cut -d' ' -f1)"

if [[ -f "$VENV/REQUIREMENTS_STAMP" && "$(cat "$VENV/REQUIREMENTS_STAMP")" == "$STAMP" \
      && -f "$VENV/IMPLICIT_BUILD" ]] \
   && "$VENV/bin/python" -c 'import implicit.cpu._als' 2>/dev/null; then
  log "up to date: $VENV ($(head -n1 "$VENV/IMPLICIT_BUILD"))"
  exit 0
fi

start=$SECONDS
if [[ -d "$VENV" ]]; then
  log "stamp differs or venv incomplete: recreating $VENV"
  rm -rf "$VENV"
fi
log "creating venv with $("$PY" --version 2>&1)"
# On Debian's system python3 this needs the python3-venv package.
"$PY" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)

log "installing runtime deps and build tools"
grep -v -E '^\s*(implicit|lightfm)==' "$REQ" > "$VENV/requirements-noimplicit.txt"
"${PIP[@]}" install -q -r "$VENV/requirements-noimplicit.txt"

IMPL="$(grep -E '^\s*implicit==' "$REQ" | tr -d ' ')"
build=""
if [[ "${CF_BENCH_IMPLICIT:-source}" != "wheel" ]]; then
  log "building $IMPL from source (needs a C++ compiler with OpenMP; ~1 min on 2 cores)"
  # venv bin on PATH so scikit-build-core finds the pinned cmake/ninja.
  if PATH="$VENV/bin:$PATH" "${PIP[@]}" install -q --no-cache-dir --no-build-isolation --no-binary implicit \
       --no-deps "$IMPL" >"$VENV/implicit-build.log" 2>&1; then
    cxx="$( (c++ --version 2>/dev/null || echo 'c++ unknown') | head -n1)"
    build="source: $IMPL sdist compiled locally (cython $("$VENV/bin/python" -c 'import Cython; print(Cython.__version__)'), $cxx, -fopenmp)"
  else
    log "source build FAILED (see $VENV/implicit-build.log); falling back to the PyPI wheel"
  fi
fi
if [[ -z "$build" ]]; then
  log "installing $IMPL from the PyPI binary wheel"
  "${PIP[@]}" install -q --only-binary implicit --no-deps "$IMPL"
  build="wheel: $IMPL manylinux wheel from PyPI"
fi

"$VENV/bin/python" -c 'import implicit.cpu._als, implicit; print(implicit.__version__)' >/dev/null

# LightFM (the BPR bench's further anchor) has only an sdist whose setup.py breaks under pip's
# isolated PEP 517 build, so it is built here against the tools installed above. Optional:
# bench/bpr_anchors.mjs needs it, nothing else does.
LFM="$(grep -E '^\s*lightfm==' "$REQ" | tr -d ' ')"
if [[ -n "$LFM" ]]; then
  if "${PIP[@]}" install -q --no-build-isolation --no-deps "$LFM" >"$VENV/lightfm-build.log" 2>&1; then
    log "built $LFM from its sdist"
  else
    log "$LFM did not build (see $VENV/lightfm-build.log); bench/bpr_anchors.mjs will not run"
  fi
fi
echo "$build" > "$VENV/IMPLICIT_BUILD"
echo "$STAMP" > "$VENV/REQUIREMENTS_STAMP"
log "implicit build used: $build"
log "done in $((SECONDS - start)) s"
