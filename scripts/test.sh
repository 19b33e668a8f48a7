#!/usr/bin/env bash
# The whole test suite: unit tests and fuzz-corpus replay under
# AddressSanitizer + UndefinedBehaviorSanitizer (clang, libFuzzer), a short
# timed fuzzing run of every target, then a warnings-as-errors gcc build with
# unit, fuzz-replay and integration tests. Ends with ctest's summary line.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
JOBS=$(nproc 2>/dev/null || echo 2)
FUZZ_SECONDS=${SUBCA_FUZZ_SECONDS:-15}

echo "== sanitizer build (clang, ASan+UBSan, libFuzzer)"
cmake -S . -B build/asan -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
  -DSUBCA_SANITIZE=ON -DSUBCA_FUZZ=ON -DSUBCA_INTEGRATION=OFF >/dev/null
cmake --build build/asan -j "$JOBS"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build/asan -L unit --output-on-failure -j "$JOBS"

echo "== short fuzzing run (${FUZZ_SECONDS}s per target)"
for f in build/asan/tests/fuzz_*; do
  [ -x "$f" ] || continue
  name=$(basename "$f"); parser=${name#fuzz_}
  work=$(mktemp -d)
  cp -r "tests/fuzz/corpus/$parser/." "$work/" 2>/dev/null || true
  "$f" -max_total_time="$FUZZ_SECONDS" -max_len=8192 -print_final_stats=0 "$work" \
    >"$work.log" 2>&1 || { cat "$work.log"; echo "fuzzing $parser found a crash"; exit 1; }
  echo "fuzz_$parser: $(grep -Eo 'Done [0-9]+ runs in [0-9]+ second' "$work.log" | tail -1 || true)s, no crash"
  rm -rf "$work" "$work.log"
done

echo "== release build (gcc, warnings as errors) and the whole suite"
unset ASAN_OPTIONS UBSAN_OPTIONS
cmake -S . -B build/release -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/release -j "$JOBS"
ctest --test-dir build/release --output-on-failure -j "$JOBS"
