#!/usr/bin/env bash
# Adds up the TRX results of a test run into one closing line: "tests: N passed, N failed, N skipped".
set -u
dir=$1
passed=0 failed=0 skipped=0 files=0
for trx in "$dir"/*.trx; do
  [ -f "$trx" ] || continue
  files=$((files + 1))
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  get() { printf '%s' "$counters" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"; }
  passed=$((passed + $(get passed)))
  failed=$((failed + $(get failed) + $(get error) + $(get timeout) + $(get aborted)))
  skipped=$((skipped + $(get notExecuted)))
done
[ "$files" -gt 0 ] || { echo "no test results found in $dir" >&2; exit 1; }
printf 'tests: %d passed, %d failed, %d skipped\n' "$passed" "$failed" "$skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ] && [ "$skipped" -eq 0 ]
