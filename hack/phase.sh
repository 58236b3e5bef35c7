#!/usr/bin/env bash
# Runs one phase of a make target and prints its name and how long it took.
# usage: phase.sh NAME COMMAND [ARG...]
set -u
name=$1
shift
printf '==> %s\n' "$name"
start=$(date +%s%N)
"$@"
status=$?
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
printf '    %s: %d.%03ds%s\n' "$name" $((elapsed / 1000)) $((elapsed % 1000)) "$([ $status -eq 0 ] || echo " (failed, exit $status)")"
exit $status
