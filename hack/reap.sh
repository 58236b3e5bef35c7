#!/usr/bin/env bash
# Stops processes that test runs started and left behind.
#   reap.sh watch OWNER_PID OWNER_START RUN_DIR  wait for the test runner to die, then stop what it left
#   reap.sh sweep ROOT                           stop what runs under ROOT left whose runner is gone
#   reap.sh node NODE_DIR                        remove what a local node made: containers, devices, cgroups
# A run directory holds a `pids` file, one "pid starttime name" line per process it started;
# the start time (field 22 of /proc/PID/stat) keeps a recycled pid from being taken for ours.
# A local node's directory (RUN_DIR/node-*) holds a `node.env` naming its bridge, CNI network and cgroup.
set -u

start_of() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  # shellcheck disable=SC2086
  set -- $stat
  [ "$1" != Z ] || return 1
  printf '%s\n' "${20}"
}

alive() { [ "$(start_of "$1")" = "$2" ]; }

# Every process of the node in DIR: its containers (whatever is in its cgroups) and the programs
# naming its directory in their command line (containerd, the shims, the kubelet, the namespace holder).
node_processes() {
  local dir=$1 cgroup
  shift
  for cgroup in "$@"; do
    [ -d "$cgroup" ] && find "$cgroup" -name cgroup.procs -exec cat {} + 2>/dev/null
  done
  local file args
  for file in /proc/[0-9]*/cmdline; do
    mapfile -d '' args 2>/dev/null <"$file" || continue
    [[ "${args[*]}" == *"$dir/"* ]] && { file=${file#/proc/}; printf '%s\n' "${file%/cmdline}"; }
  done
}

# Removes what the node in DIR made, after killing its processes: the veths on its bridge and the
# bridge, iptables rules naming its network (and the CNI chains they jump to), and its cgroups.
# Its mounts need nothing: they live in the node's mount namespace, which goes with its last process.
stop_node() {
  local dir=$1 bridge='' network='' cgroup='' key value
  [ -f "$dir/node.env" ] || return 0
  while IFS='=' read -r key value; do
    case $key in
      bridge) bridge=$value ;;
      network) network=$value ;;
      cgroup) cgroup=$value ;;
    esac
  done <"$dir/node.env"
  if ! [[ $bridge =~ ^agm-[0-9a-f]{8}$ && $network =~ ^agm-[0-9a-f]{8}$ && $cgroup =~ ^agent-metrics-[0-9a-f]{8}$ ]]; then
    printf 'reap.sh: %s does not name a node of the tests; left alone\n' "$dir/node.env" >&2
    return 1
  fi
  local cgroups=() path pids deadline=$((SECONDS + 15)) killed=0
  for path in /sys/fs/cgroup/"$cgroup" /sys/fs/cgroup/*/"$cgroup"; do
    [ -d "$path" ] && cgroups+=("$path")
  done
  while pids=$(node_processes "$dir" "${cgroups[@]}" | sort -u) && [ -n "$pids" ]; do
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null
    killed=1
    if [ $SECONDS -ge $deadline ]; then
      printf 'reap.sh: processes of node %s are still alive: %s\n' "$dir" "$(echo $pids)" >&2
      break
    fi
    sleep 0.1
  done
  [ $killed -eq 0 ] || printf 'stopped the containers and shims of node %s\n' "$(basename "$dir")"

  if command -v iptables-save >/dev/null; then
    # Rules are deleted by their position in their chain, last first, so no rule text is parsed.
    local table rule chain position
    for table in filter nat mangle; do
      local doomed=() chains=()
      declare -A seen=()
      while read -r rule; do
        chain=${rule#-A }
        chain=${chain%% *}
        seen[$chain]=$(( ${seen[$chain]:-0} + 1 ))
        if [[ $rule == *"$network"* ]]; then
          doomed=("$chain ${seen[$chain]}" "${doomed[@]}")
          [[ $rule =~ -j\ (CNI-[A-Za-z0-9-]+) ]] && chains+=("${BASH_REMATCH[1]}")
        fi
      done < <(iptables-save -t "$table" 2>/dev/null | grep '^-A ')
      unset seen
      for rule in "${doomed[@]}"; do
        read -r chain position <<<"$rule"
        iptables -w -t "$table" -D "$chain" "$position" 2>/dev/null
      done
      for chain in "${chains[@]}"; do
        iptables -w -t "$table" -F "$chain" 2>/dev/null
        iptables -w -t "$table" -X "$chain" 2>/dev/null
      done
    done
  fi

  if ip link show "$bridge" >/dev/null 2>&1; then
    local veth
    for veth in $(ip -o link show master "$bridge" | awk -F': ' '{ print $2 }' | cut -d@ -f1); do
      ip link del "$veth" 2>/dev/null
    done
    ip link del "$bridge" && printf 'removed bridge %s of node %s\n' "$bridge" "$(basename "$dir")"
  fi

  # A cgroup goes once its processes have exited, which follows their SIGKILL by a moment.
  while [ ${#cgroups[@]} -gt 0 ]; do
    local left=()
    for path in "${cgroups[@]}"; do
      find "$path" -depth -type d -exec rmdir {} \; 2>/dev/null
      [ -d "$path" ] && left+=("$path")
    done
    cgroups=("${left[@]}")
    [ ${#cgroups[@]} -eq 0 ] && break
    if [ $SECONDS -ge $deadline ]; then
      printf 'reap.sh: cgroups of node %s could not be removed: %s\n' "$dir" "${cgroups[*]}" >&2
      return 1
    fi
    sleep 0.1
  done
  return 0
}

# Stops every still-running process listed in RUN_DIR/pids, prints one line for each, removes RUN_DIR.
stop_run() {
  local dir=$1 pid start name stopped=()
  if [ -f "$dir/pids" ]; then
    while read -r pid start name; do
      if alive "$pid" "$start"; then
        kill -TERM "$pid" 2>/dev/null && stopped+=("$pid:$start:$name")
      fi
    done <"$dir/pids"
    local entry deadline=$((SECONDS + 5))
    for entry in "${stopped[@]}"; do
      IFS=: read -r pid start name <<<"$entry"
      while alive "$pid" "$start" && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
      alive "$pid" "$start" && kill -KILL "$pid" 2>/dev/null
      printf 'stopped %s (pid %s) left by test run %s\n' "$name" "$pid" "$(basename "$dir")"
    done
  fi
  local node
  for node in "$dir"/node-*/; do
    [ -f "$node/node.env" ] && stop_node "${node%/}"
  done
  rm -rf "$dir"
}

case "${1:-}" in
  watch)
    owner=$2 owner_start=$3 dir=$4
    while alive "$owner" "$owner_start"; do sleep 0.5; done
    stop_run "$dir" >>"$(dirname "$dir")/reaped.log"
    ;;
  sweep)
    root=$2
    [ -d "$root" ] || exit 0
    if [ -s "$root/reaped.log" ]; then
      cat "$root/reaped.log"
      rm -f "$root/reaped.log"
    fi
    for dir in "$root"/*/; do
      [ -d "$dir" ] || continue
      dir=${dir%/}
      run=$(basename "$dir")
      owner=${run%%-*} owner_start=${run#*-}
      alive "$owner" "$owner_start" && continue
      stop_run "$dir"
    done
    ;;
  node)
    stop_node "$2"
    ;;
  *)
    echo "usage: reap.sh watch OWNER_PID OWNER_START RUN_DIR | reap.sh sweep ROOT | reap.sh node NODE_DIR" >&2
    exit 2
    ;;
esac
