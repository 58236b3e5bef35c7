#!/usr/bin/env bash
# Fails when a process started by the tests (anything running from the test root) is still alive.
set -u
root=${AGENT_METRICS_TEST_ROOT:?AGENT_METRICS_TEST_ROOT is not set}
left=$(pgrep -af -- "$root/" | grep -v -e check-leftovers -e pgrep || true)
if [ -n "$left" ]; then
  printf 'processes started by the tests are still running:\n%s\n' "$left" >&2
  exit 1
fi
echo "    no test process left running"
