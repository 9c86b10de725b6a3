#!/bin/sh
# Builds a stand-in for `node:20-bookworm-slim` on a machine that cannot pull from Docker Hub
# (npm run verify:docker; docs/deploy.md#how-far-this-was-verified): Debian bookworm (minbase, from
# Debian's archive with debootstrap), this machine's Node.js and npm in /usr/local as in the official
# image, and a `node` user with uid and gid 1000. This machine's CA bundle goes in too, with
# NODE_EXTRA_CA_CERTS pointing at it, for registries reached through a TLS-intercepting proxy.
# Needs root, debootstrap and a Docker daemon. Usage: node-base.sh <tag>
set -eu
tag=${1:?usage: node-base.sh <tag>}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log"; exit 1; }
node_bin=$(command -v node)
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
mkdir -p "$root/usr/local/bin" "$root/usr/local/lib/node_modules" "$root/etc/ssl/certs"
cp "$node_bin" "$root/usr/local/bin/node"
cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
chroot "$root" groupadd --gid 1000 node
chroot "$root" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
(cd "$root" && tar -c .) | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
  --change 'CMD ["node"]' - "$tag" >/dev/null
echo "built $tag: Debian bookworm minbase, Node.js $("$node_bin" -v), npm $(npm -v)"
