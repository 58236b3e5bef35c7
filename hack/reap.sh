#!/usr/bin/env bash
# Stops processes that test runs started and left behind.
#   reap.sh watch OWNER_PID OWNER_START RUN_DIR  wait for the test runner to die, then stop what it left
#   reap.sh sweep ROOT                           stop what runs under ROOT left whose runner is gone
# A run directory holds a `pids` file, one "pid starttime name" line per process it started;
# the start time (field 22 of /proc/PID/stat) keeps a recycled pid from being taken for ours.
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
  *)
    echo "usage: reap.sh watch OWNER_PID OWNER_START RUN_DIR | reap.sh sweep ROOT" >&2
    exit 2
    ;;
esac
