#!/usr/bin/env bash
# Installs everything the tests and the demo need that a fresh Debian bookworm machine lacks:
# Debian packages (among them containerd, runc and the CNI plugins a local node runs on), and
# kube-apiserver, kube-controller-manager, kube-scheduler, kubelet and the pause program built from
# Debian's `kubernetes` source package. Built binaries are cached outside the repository, so a second
# run builds nothing. Every phase prints its duration.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-1.20.2}"
CACHE_ROOT="${AGENT_METRICS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/agent-metrics}"
BIN_DIR="$CACHE_ROOT/k8s-$K8S_VERSION/bin"
KUBE_BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubelet pause)
# The last line: the Go sources hack/helm-render is built from, offline (Sprig, sigs.k8s.io/yaml, gojsonschema).
APT_PACKAGES=(etcd-server prometheus prometheus-alertmanager golang-go
  golang-github-modern-go-reflect2-dev rsync jq openssl curl dpkg-dev
  containerd runc containernetworking-plugins iproute2 iptables libc6-dev gcc victoria-metrics lua5.1 tmux
  golang-github-masterminds-sprig-dev golang-k8s-sigs-yaml-dev golang-github-xeipuuv-gojsonschema-dev)

phase_start=0
phase() { phase_start=$(date +%s); printf '==> %s\n' "$1"; }
phase_done() { printf '    done in %ss\n' "$(( $(date +%s) - phase_start ))"; }
die() { printf 'install-deps: %s\n' "$1" >&2; exit 1; }

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing_packages() {
  local p
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || printf '%s\n' "$p"
  done
}

install_packages() {
  phase "Debian packages"
  mapfile -t missing < <(missing_packages)
  if [ "${#missing[@]}" -eq 0 ]; then
    echo "    all present"
  else
    echo "    installing: ${missing[*]}"
    # Debian's packages would start their own etcd/prometheus services; tests start their own.
    local policy=/usr/sbin/policy-rc.d created_policy=0
    if [ ! -e "$policy" ]; then
      printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
      as_root chmod +x "$policy"
      created_policy=1
    fi
    as_root apt-get update -qq || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" \
      >/dev/null || die "apt-get install failed for: ${missing[*]}"
    [ "$created_policy" -eq 1 ] && as_root rm -f "$policy"
  fi
  local tool
  for tool in etcd prometheus promtool prometheus-alertmanager go rsync jq openssl kubectl containerd ctr runc ip gcc victoria-metrics lua5.1; do
    command -v "$tool" >/dev/null || die "$tool is not on PATH after installing packages"
  done
  phase_done
}

ensure_deb_src() {
  if grep -rqsE '^Types:.*deb-src' /etc/apt/sources.list.d/ || grep -qsE '^deb-src ' /etc/apt/sources.list; then
    return
  fi
  local uri
  uri=$(grep -rhsE '^URIs:' /etc/apt/sources.list.d/*.sources | head -n 1 | awk '{print $2}')
  [ -n "$uri" ] || uri=$(grep -hsE '^deb ' /etc/apt/sources.list | head -n 1 | awk '{print $2}')
  [ -n "$uri" ] || die "no Debian source entry found to derive a deb-src entry from"
  printf 'Types: deb-src\nURIs: %s\nSuites: bookworm\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$uri" | as_root tee /etc/apt/sources.list.d/agent-metrics-src.sources >/dev/null
  as_root apt-get update -qq || die "apt-get update failed after adding deb-src"
}

kube_binaries_cached() {
  local b
  for b in "${KUBE_BINARIES[@]}"; do [ -x "$BIN_DIR/$b" ] || return 1; done
}

build_kubernetes() {
  phase "${KUBE_BINARIES[*]} $K8S_VERSION"
  if kube_binaries_cached; then
    echo "    cached in $BIN_DIR"
    phase_done
    return
  fi
  ensure_deb_src
  local work="$CACHE_ROOT/build-$$"
  rm -rf "$work"; mkdir -p "$work"
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && apt-get source -qq --download-only -o APT::Sandbox::User=root kubernetes >/dev/null) || die "apt-get source kubernetes failed"
  (cd "$work" && dpkg-source -x --no-check ./kubernetes_*.dsc src >/dev/null) || die "unpacking kubernetes source failed"
  local tree="$work/src"
  grep -q "$K8S_VERSION" "$tree/debian/changelog" || die "Debian's kubernetes source is not $K8S_VERSION"
  # reflect2 v1.0.1 crashes under Go 1.18+; Debian's packaged 1.0.2 does not.
  rm -rf "$tree/vendor/github.com/modern-go/reflect2"
  cp -r /usr/share/gocode/src/github.com/modern-go/reflect2 "$tree/vendor/github.com/modern-go/reflect2"
  mkdir -p "$work/.go/src/k8s.io"
  ln -s "$tree" "$work/.go/src/k8s.io/kubernetes"
  (
    cd "$work/.go/src/k8s.io/kubernetes"
    # providerless leaves out the in-tree cloud providers (the AWS, Azure, GCE, vSphere and OpenStack
    # SDKs) and dockerless the kubelet's dockershim: nothing here uses them (the node runs containerd
    # over CRI, the controller manager runs without a cloud provider), and they are most of the compile.
    export GOPATH="$work/.go" CGO_ENABLED=0 GOFLAGS="-mod=vendor -tags=providerless,dockerless" GO111MODULE=on
    export KUBE_GIT_VERSION="v$K8S_VERSION" KUBE_GIT_TREE_STATE=clean
    # `make WHAT=...` would first run every code generator (about 3 minutes); the source package
    # ships all their output but the OpenAPI definitions, so only that one runs.
    make gen_openapi >"$work/build.log" 2>&1
    hack/make-rules/build.sh cmd/kube-apiserver cmd/kube-controller-manager cmd/kube-scheduler cmd/kubelet >>"$work/build.log" 2>&1
  ) || { tail -n 40 "$work/build.log" >&2; die "building the Kubernetes binaries failed (log above)"; }
  mkdir -p "$BIN_DIR"
  local out="$tree/_output/local/bin/linux/amd64"
  [ -d "$out" ] || out=$(dirname "$(find "$tree/_output" -type f -name kube-apiserver | head -n 1)")
  install -m 0755 "$out/kube-apiserver" "$out/kube-controller-manager" "$out/kube-scheduler" "$out/kubelet" "$BIN_DIR/"
  # The pod sandbox's image holds only this program, built static from the same tree.
  gcc -Os -static -DVERSION="v$K8S_VERSION" -o "$BIN_DIR/pause" "$tree/build/pause/linux/pause.c" \
    || die "building the pause program failed"
  rm -rf "$work"
  trap - EXIT
  echo "    built into $BIN_DIR"
  phase_done
}

# The JavaScript peers (OpenTelemetry JS, prom-client) the sidecar's tests and benchmarks run.
install_js_peers() {
  local dir; dir="$(cd "$(dirname "$0")/.." && pwd)/tests/peers/js"
  phase "JavaScript peers in tests/peers/js"
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    as_root apt-get install -y -qq nodejs npm >/dev/null || die "node and npm are missing and apt could not install them (Debian packages nodejs, npm)"
  fi
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=6)?0:1)' \
    || die "Node.js $(node --version) is too old for the OpenTelemetry JS peers: 20.6 or later is needed"
  if [ ! -f "$dir/node_modules/.package-lock.json" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || die "npm ci in tests/peers/js failed"
  fi
  phase_done
}

install_packages
build_kubernetes
install_js_peers
printf '%s\n' "$BIN_DIR" > "$CACHE_ROOT/bin-dir"
