#!/usr/bin/env bash
# The project's test command (`npm test`): Rust core tests, then the vitest specs,
# then one summary line `N passed, N failed[, N skipped]` as the last line of output.
set -euo pipefail
cd "$(dirname "$0")/.."

# Every temporary file of the run (the specs' mkdtemp folders, cargo tests, the CLIs and
# servers they spawn) goes under one folder removed at exit: the specs leave a few hundred
# folders per run, which piled up by the thousand in /tmp. KEEP_TEST_TMP=1 keeps it.
TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/cf-native-test.XXXXXX")
export TMPDIR="$TEST_TMP"
if [ "${KEEP_TEST_TMP:-}" = 1 ]; then
  echo "==> temporary files kept in $TEST_TMP"
else
  trap 'rm -rf "$TEST_TMP"' EXIT
fi

CARGO_LOG=.cargo-test.log
VITEST_JSON=.vitest.json
rm -f "$CARGO_LOG" "$VITEST_JSON"

echo "==> cargo test -p cf-core --profile ci"
cargo_rc=0
cargo test -p cf-core --profile ci 2>&1 | tee "$CARGO_LOG" || cargo_rc=$?

build_rc=0
if ! node -e "require('./binding.cjs')" >/dev/null 2>&1; then
  echo "==> native addon missing or not loadable: node scripts/build-native.mjs"
  node scripts/build-native.mjs || build_rc=$?
fi

echo "==> vitest run"
vitest_rc=0
npx vitest run --reporter=default --reporter=json --outputFile="$VITEST_JSON" || vitest_rc=$?

# cargo: one `test result: ok. N passed; M failed; I ignored; ...` line per test binary.
read -r cargo_passed cargo_failed cargo_ignored < <(
  awk '/^test result: /{
         for (i = 1; i <= NF; i++) {
           n = $i + 0; w = $(i + 1); sub(/[;,.]$/, "", w)
           if (w == "passed") p += n; else if (w == "failed") f += n; else if (w == "ignored") s += n
         }
       } END { printf "%d %d %d\n", p, f, s }' "$CARGO_LOG"
)

# vitest: counts from the JSON reporter (missing file = nothing ran).
read -r vt_passed vt_failed vt_skipped < <(
  node -e '
    const fs = require("fs");
    let r = {};
    try { r = JSON.parse(fs.readFileSync(process.argv[1], "utf8")); } catch {}
    const n = (k) => Number(r[k]) || 0;
    console.log(n("numPassedTests"), n("numFailedTests"), n("numPendingTests") + n("numTodoTests"));
  ' "$VITEST_JSON"
)

passed=$((cargo_passed + vt_passed))
failed=$((cargo_failed + vt_failed))
skipped=$((cargo_ignored + vt_skipped))

status=0
if [ "$cargo_rc" -ne 0 ]; then echo "cargo test exited with $cargo_rc" >&2; status=1; fi
if [ "$build_rc" -ne 0 ]; then echo "native addon build exited with $build_rc" >&2; status=1; fi
if [ "$vitest_rc" -ne 0 ]; then echo "vitest exited with $vitest_rc" >&2; status=1; fi
if [ ! -s "$VITEST_JSON" ]; then echo "vitest wrote no $VITEST_JSON" >&2; status=1; fi
if [ "$failed" -gt 0 ]; then status=1; fi

summary="$passed passed, $failed failed"
if [ "$skipped" -gt 0 ]; then summary="$summary, $skipped skipped"; fi
echo "$summary"
exit "$status"
