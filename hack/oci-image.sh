#!/usr/bin/env bash
# Writes an OCI image layout (image-spec 1.0) as one tar archive that `ctr images import` reads: a
# single uncompressed layer holding ROOTFS, its config, a manifest and an index naming the image.
# The same ROOTFS gives the same digests: every entry has mtime 0 and owner root, and keeps its
# mode from ROOTFS (hack/build-images.sh makes those independent of the umask).
# usage: oci-image.sh ROOTFS OUT.tar NAME ENTRYPOINT-JSON USER WORKDIR
#   NAME  a full reference, as the kubelet normalises it: docker.io/agentmetrics/pause:dev
set -euo pipefail
[ $# -eq 6 ] || { echo "usage: oci-image.sh ROOTFS OUT.tar NAME ENTRYPOINT-JSON USER WORKDIR" >&2; exit 2; }
rootfs=$1 out=$2 name=$3 entrypoint=$4 user=$5 workdir=$6
tag=${name##*:}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
blobs="$work/blobs/sha256"
mkdir -p "$blobs"

deterministic=(--sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=posix
  --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime --no-acls --no-xattrs --no-selinux)

# Prints the digest of FILE after moving it into the blob store under that digest.
store() {
  local digest
  digest=$(sha256sum "$1" | cut -d' ' -f1)
  mv "$1" "$blobs/$digest"
  printf '%s\n' "$digest"
}
size() { stat -c %s "$blobs/$1"; }

tar --create --file "$work/layer" --directory "$rootfs" "${deterministic[@]}" .
layer=$(store "$work/layer")

jq -cn --arg layer "sha256:$layer" --argjson entrypoint "$entrypoint" --arg user "$user" --arg workdir "$workdir" '{
  created: "1970-01-01T00:00:00Z", architecture: "amd64", os: "linux",
  config: {User: $user, Entrypoint: $entrypoint, WorkingDir: $workdir,
           Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
  rootfs: {type: "layers", diff_ids: [$layer]},
  history: [{created: "1970-01-01T00:00:00Z", created_by: "hack/oci-image.sh"}]
}' >"$work/config"
config=$(store "$work/config")

jq -cn --arg config "$config" --argjson configSize "$(size "$config")" \
  --arg layer "$layer" --argjson layerSize "$(size "$layer")" '{
  schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
  config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: ("sha256:" + $config), size: $configSize},
  layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar", digest: ("sha256:" + $layer), size: $layerSize}]
}' >"$work/manifest"
manifest=$(store "$work/manifest")

jq -cn --arg manifest "$manifest" --argjson manifestSize "$(size "$manifest")" --arg name "$name" --arg tag "$tag" '{
  schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
  manifests: [{
    mediaType: "application/vnd.oci.image.manifest.v1+json", digest: ("sha256:" + $manifest), size: $manifestSize,
    platform: {architecture: "amd64", os: "linux"},
    annotations: {"io.containerd.image.name": $name, "org.opencontainers.image.ref.name": $tag}
  }]
}' >"$work/index.json"
printf '{"imageLayoutVersion":"1.0.0"}' >"$work/oci-layout"

mkdir -p "$(dirname "$out")"
tar --create --file "$out.partial" --directory "$work" "${deterministic[@]}" --mode='u+rwX,go+rX,go-w' oci-layout index.json blobs
mv "$out.partial" "$out"
