#!/usr/bin/env bash
# Local base images for Docker hosts that cannot pull from a registry (see devops/README.md):
# Debian bookworm from debootstrap, imported with `docker import` and carrying this host's CA
# bundle, then Python, Node.js and PostgreSQL images built on it. Images that already exist
# are kept. Needs root, debootstrap, curl and a Docker engine. Usage: build.sh [--force]
set -euo pipefail
cd "$(dirname "$0")/.."  # devops/: the build context

PREFIX=${BASE_IMAGE_PREFIX:-systech-aidd-base}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
CA_BUNDLE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
DEBIAN_IMAGE=$PREFIX/debian:$SUITE
declare -A IMAGES=(
    [python]=$PREFIX/python:3.11
    [node]=$PREFIX/node:20
    [postgres]=$PREFIX/postgres:15
)

force=false
[[ ${1:-} == --force ]] && force=true
exists() { docker image inspect "$1" >/dev/null 2>&1; }
log() { printf 'base-images: %s\n' "$*"; }

wanted=()
for name in python node postgres; do
    if $force || ! exists "${IMAGES[$name]}"; then wanted+=("$name"); fi
done
if ((${#wanted[@]} == 0)); then
    log "all present (${IMAGES[*]}), skipped"
    exit 0
fi

if $force || ! exists "$DEBIAN_IMAGE"; then
    log "debootstrap $SUITE from $MIRROR"
    rootfs=$(mktemp -d)
    trap 'rm -rf "$rootfs"' EXIT
    debootstrap --variant=minbase --include=ca-certificates,passwd \
        "$SUITE" "$rootfs" "$MIRROR" >/dev/null
    # The host's CA bundle: where outbound TLS goes through an inspecting proxy, its CA is in
    # there, and pip, npm and apt over HTTPS inside builds then work as they do on the host.
    cp "$CA_BUNDLE" "$rootfs/etc/ssl/certs/ca-certificates.crt"
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
        "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*
    # What Debian's own images set; and every TLS client pointed at the bundle above.
    tar -C "$rootfs" --numeric-owner -c . | docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
        --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
        --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
        --change 'CMD ["bash"]' \
        - "$DEBIAN_IMAGE" >/dev/null
    log "built $DEBIAN_IMAGE"
fi

for name in "${wanted[@]}"; do
    log "building ${IMAGES[$name]}"
    # The context is devops/: the Node.js image takes install-node.sh from there.
    docker build --quiet --build-arg "DEBIAN_IMAGE=$DEBIAN_IMAGE" \
        -f "base-images/$name.Dockerfile" -t "${IMAGES[$name]}" . >/dev/null
    log "built ${IMAGES[$name]}"
done
