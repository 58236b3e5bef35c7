#!/usr/bin/env bash
# Fails when something the tests started is still there: a process running from the test root, or
# what a local node makes besides processes (containers in its cgroups, the cgroups themselves, its
# bridge, mounts under the test root, iptables rules naming its network).
set -u
root=${AGENT_METRICS_TEST_ROOT:?AGENT_METRICS_TEST_ROOT is not set}
status=0
# A test host cleans up as it exits, and its node's cleanup (hack/reap.sh node) can outlast the
# runner's return by a few seconds; so can a watcher whose runner just died. Judge once they are done.
deadline=$((SECONDS + 60))
while pgrep -f -- "hack/reap.sh (watch|node|sweep) .*$root" >/dev/null && [ $SECONDS -lt $deadline ]; do
  sleep 0.2
done
report() {
  if [ -n "$2" ]; then
    printf '%s:\n%s\n' "$1" "$2" >&2
    status=1
  fi
}

# The demo's test runs the demo under ROOT-dXXXX, beside the test root.
report "processes started by the tests are still running" \
  "$(pgrep -af -- "$root(/|-d[0-9a-f]{4}/)" | grep -v -e check-leftovers -e pgrep || true)"
cgroups=$(ls -d /sys/fs/cgroup/agent-metrics-* /sys/fs/cgroup/*/agent-metrics-* 2>/dev/null || true)
report "containers of a test node are still running" \
  "$(for c in $cgroups; do find "$c" -name cgroup.procs -exec cat {} + 2>/dev/null; done | sort -u | xargs -r ps -o pid=,args= -p || true)"
report "cgroups of a test node are left" "$cgroups"
report "network devices of a test node are left" "$(ip -o link show 2>/dev/null | grep -E '^[0-9]+: agm-' || true)"
report "mounts under the test root are left" "$(awk -v root="$root" 'index($5, root "/") == 1 || index($5, root "-d") == 1 { print $5 }' /proc/self/mountinfo)"
if command -v iptables-save >/dev/null; then
  report "iptables rules of a test node are left" "$(iptables-save 2>/dev/null | grep -F 'agm-' || true)"
fi
[ $status -eq 0 ] && echo "    nothing the tests started is left"
exit $status
