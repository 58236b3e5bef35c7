#!/usr/bin/env bash
# Adds up the TRX results of a test run into one closing line: "tests: N passed, N failed, N skipped",
# after naming each test that did not pass with the first line of its message, so a log's tail says what failed.
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
  awk '
    /<UnitTestResult / && !/outcome="Passed"/ {
      name = $0; sub(/.*testName="/, "", name); sub(/".*/, "", name)
      outcome = $0; sub(/.*outcome="/, "", outcome); sub(/".*/, "", outcome)
      if ($0 ~ /\/>[[:space:]]*$/) printf "  %s %s\n", toupper(outcome), name; else want = 1
      next
    }
    want && /<Message>/ {
      msg = $0; sub(/.*<Message>/, "", msg); sub(/<\/Message>.*/, "", msg)
      printf "  %s %s: %s\n", toupper(outcome), name, substr(msg, 1, 300); want = 0; next
    }
    want && /<\/UnitTestResult>/ { printf "  %s %s\n", toupper(outcome), name; want = 0 }
  ' "$trx"
done
[ "$files" -gt 0 ] || { echo "no test results found in $dir" >&2; exit 1; }
printf 'tests: %d passed, %d failed, %d skipped\n' "$passed" "$failed" "$skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ] && [ "$skipped" -eq 0 ]
