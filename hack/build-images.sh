#!/usr/bin/env bash
# Builds the images a local node runs, without a Docker engine, as OCI archives for
# `ctr -n k8s.io images import` (hack/oci-image.sh writes them):
#   pause                  the pod sandbox: the static pause program hack/install-deps.sh built
#   agent-metrics-sidecar  what src/Sidecar/Dockerfile describes: the published sidecar in /app, run
#                          as 65532, with the native libraries it loads (found with ldd) in place of
#                          the runtime-deps base image
#   agent-metrics-operator what src/Operator/Dockerfile describes, made the same way from the
#                          self-contained published operator
#   example-agent          a pod's agent: tests/images/example-agent/agent.c, static
# usage: build-images.sh SIDECAR_DIR OPERATOR_DIR KUBE_BIN_DIR OUT_DIR
set -euo pipefail
[ $# -eq 4 ] || { echo "usage: build-images.sh SIDECAR_DIR OPERATOR_DIR KUBE_BIN_DIR OUT_DIR" >&2; exit 2; }
sidecar=$1 operator=$2 kube_bin=$3 out=$4
here=$(cd "$(dirname "$0")" && pwd)
# ldconfig lives in sbin, which a user's PATH may lack.
PATH=$PATH:/usr/sbin:/sbin
repo=$(dirname "$here")
die() { printf 'build-images: %s\n' "$1" >&2; exit 1; }

[ -x "$sidecar/agent-metrics-sidecar" ] || die "no published sidecar in $sidecar; run make publish-sidecar"
[ -x "$operator/agent-metrics-operator" ] || die "no published operator in $operator; run make publish-operator"
[ -x "$kube_bin/pause" ] || die "no pause program in $kube_bin; run make deps"
command -v jq >/dev/null || die "jq is missing (Debian package jq); run make deps"
command -v gcc >/dev/null || die "gcc is missing (Debian package gcc); run make deps"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$out"

# Root's and the image user's entries, so tools inside and outside name the owner the same way.
accounts() {
  mkdir -p "$1/etc"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$1/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' >"$1/etc/group"
}

# Copies FILE into ROOTFS at the same path, symlinks resolved, so the loader finds it where ldd did.
place() {
  mkdir -p "$1$(dirname "$2")"
  cp -L "$2" "$1$2"
}

# The system libraries FILE... of PUBLISHED link (ldd follows what those link in turn), one path per
# line; those found beside the program itself are in the image already.
linked_libraries() {
  local published file
  published=$(cd "$1" && pwd)/
  shift
  for file in "$@"; do
    ldd "$file" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
  done | grep -v -F -- "$published" | sort -u
}

# The ELF files (programs and shared libraries) under DIR, one path per line. The magic number is read
# by the shell itself: a published operator has over 300 executable-mode files, and a process or
# three for each took seconds.
native_files() {
  local file magic
  while IFS= read -r -d '' file; do
    IFS= read -r -N 4 magic <"$file" || true
    if [ "$magic" = $'\x7fELF' ]; then printf '%s\n' "$file"; fi
  done < <(find "$1" -type f \( -name '*.so' -o -perm -u+x \) -print0)
}

# Modes as a umask of 022 would give them, whatever the umask of the build that made the files.
normalise() {
  chmod -R u+rwX,go+rX,go-w "$1"
  if [ -d "$1/tmp" ]; then chmod 1777 "$1/tmp"; fi
}

pause=$stage/pause
mkdir -p "$pause"
install -m 0755 "$kube_bin/pause" "$pause/pause"
normalise "$pause"
"$here/oci-image.sh" "$pause" "$out/pause.tar" docker.io/agentmetrics/pause:dev '["/pause"]' 65535:65535 /

# .NET's cryptography loads OpenSSL with dlopen, which ldd cannot see; name it, and take what it links.
mapfile -t openssl < <(ldconfig -p | awk '$1 == "libssl.so.3" || $1 == "libcrypto.so.3" { print $NF }' | sort -u)
[ "${#openssl[@]}" -eq 2 ] || die "OpenSSL 3 (libssl.so.3, libcrypto.so.3) is not installed (Debian package libssl3)"

# A self-contained .NET program as its Dockerfile describes it: PUBLISHED in /app, run as 65532 from
# /app, with the native libraries it links in place of the runtime-deps base image.
# usage: dotnet_image PUBLISHED PROGRAM ARCHIVE
dotnet_image() {
  local published=$1 program=$2 archive=$3 image=$stage/$3 library elves
  mkdir -p "$image/app" "$image/tmp"
  cp -a "$published/." "$image/app/"
  accounts "$image"
  mapfile -t elves < <(native_files "$published")
  for library in $(linked_libraries "$published" "${elves[@]}" "${openssl[@]}") "${openssl[@]}"; do
    place "$image" "$library"
  done
  if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    place "$image" /etc/ssl/certs/ca-certificates.crt
  fi
  normalise "$image"
  "$here/oci-image.sh" "$image" "$out/$archive.tar" "docker.io/agentmetrics/$archive:dev" \
    "[\"/app/$program\"]" 65532:65532 /app
}

dotnet_image "$sidecar" agent-metrics-sidecar agent-metrics-sidecar
dotnet_image "$operator" agent-metrics-operator agent-metrics-operator

agent=$stage/agent
mkdir -p "$agent"
gcc -Os -static -Wall -Wextra -Werror -o "$agent/agent" "$repo/tests/images/example-agent/agent.c"
accounts "$agent"
normalise "$agent"
"$here/oci-image.sh" "$agent" "$out/example-agent.tar" docker.io/agentmetrics/example-agent:dev '["/agent"]' 65532:65532 /

for archive in pause agent-metrics-sidecar agent-metrics-operator example-agent; do
  printf '    %-22s %s\n' "$archive" "$(du -h "$out/$archive.tar" | cut -f1)"
done
