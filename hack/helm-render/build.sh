#!/usr/bin/env bash
# Builds helm-render offline from Debian's Go sources: usage: build.sh OUTPUT
#
# GOPATH mode (GO111MODULE=off) on /usr/share/gocode, where Debian's golang-*-dev packages put their
# sources. Sprig and semver are imported under their module paths (…/sprig/v3, …/semver/v3), which
# GOPATH mode cannot map to Debian's directories by itself, so a throwaway GOPATH in front of
# /usr/share/gocode links those two paths; nothing is downloaded.
set -euo pipefail

out=${1:?usage: build.sh OUTPUT}
# OUTPUT is relative to where the script is called from; the build runs in this directory.
case $out in /*) ;; *) out=$PWD/$out ;; esac
here=$(cd "$(dirname "$0")" && pwd)
gocode=/usr/share/gocode/src

command -v go >/dev/null || { echo "build.sh: go is not on PATH; it comes from Debian package golang-go; run \`make deps\`" >&2; exit 3; }
missing=()
for pair in \
  github.com/Masterminds/sprig:golang-github-masterminds-sprig-dev \
  github.com/Masterminds/semver:golang-github-masterminds-semver-dev \
  github.com/Masterminds/goutils:golang-github-masterminds-goutils-dev \
  github.com/huandu/xstrings:golang-github-huandu-xstrings-dev \
  github.com/imdario/mergo:golang-github-imdario-mergo-dev \
  github.com/google/uuid:golang-github-google-uuid-dev \
  github.com/shopspring/decimal:golang-github-shopspring-decimal-dev \
  github.com/spf13/cast:golang-github-spf13-cast-dev \
  github.com/mitchellh/copystructure:golang-github-mitchellh-copystructure-dev \
  github.com/mitchellh/reflectwalk:golang-github-mitchellh-reflectwalk-dev \
  golang.org/x/crypto:golang-golang-x-crypto-dev \
  sigs.k8s.io/yaml:golang-k8s-sigs-yaml-dev \
  gopkg.in/yaml.v2:golang-gopkg-yaml.v2-dev \
  github.com/xeipuuv/gojsonschema:golang-github-xeipuuv-gojsonschema-dev \
  github.com/xeipuuv/gojsonreference:golang-github-xeipuuv-gojsonreference-dev \
  github.com/xeipuuv/gojsonpointer:golang-github-xeipuuv-gojsonpointer-dev; do
  [ -d "$gocode/${pair%%:*}" ] || missing+=("${pair#*:} (for ${pair%%:*})")
done
if [ "${#missing[@]}" -gt 0 ]; then
  printf 'build.sh: Debian Go sources missing from %s: %s; run `make deps`\n' "$gocode" "${missing[*]}" >&2
  exit 3
fi

gopath=$(mktemp -d)
trap 'rm -rf "$gopath"' EXIT
for module in github.com/Masterminds/sprig github.com/Masterminds/semver; do
  mkdir -p "$gopath/src/$module"
  ln -s "$gocode/$module" "$gopath/src/$module/v3"
done
cd "$here"
GO111MODULE=off GOPATH="$gopath:/usr/share/gocode" GOFLAGS= GOPROXY=off CGO_ENABLED=0 go build -trimpath -o "$out" .
