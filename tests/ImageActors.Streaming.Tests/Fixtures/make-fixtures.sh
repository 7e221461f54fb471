#!/usr/bin/env bash
# Builds the small fixture images next to this script (a few KB each). Their LXD-computed fingerprints are in
# fingerprints.json; re-run lxd-fingerprints.sh after changing anything here.
set -euo pipefail
cd "$(dirname "$0")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

TAR=(tar --numeric-owner --owner=0 --group=0 --mtime=@1700000000 --sort=name --format=gnu)

mkdir -p "$work/ct/rootfs/etc" "$work/ct/rootfs/bin" "$work/ct/templates"
echo "fixture" > "$work/ct/rootfs/etc/hostname"
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$work/ct/rootfs/etc/passwd"
printf '#!/bin/sh\necho hello\n' > "$work/ct/rootfs/bin/hello" && chmod 755 "$work/ct/rootfs/bin/hello"
ln -sf /proc/self/mounts "$work/ct/rootfs/etc/mtab"
echo "{{ instance.name }}" > "$work/ct/templates/hostname.tpl"
cat > "$work/ct/metadata.yaml" <<'YAML'
architecture: amd64
creation_date: 1700000000
expiry_date: 1900000000
properties:
  os: fixture
  release: "1.0"
  variant: default
  description: Fixture container image
  architecture: amd64
templates:
  /etc/hostname:
    when:
      - create
      - copy
    create_only: false
    template: hostname.tpl
    properties: {}
YAML

# Unified images: metadata first (xz, zstd), and metadata after the rootfs (gzip).
(cd "$work/ct" && "${TAR[@]}" -cf "$work/meta-first.tar" metadata.yaml rootfs templates)
(cd "$work/ct" && "${TAR[@]}" -cf "$work/meta-last.tar" rootfs templates metadata.yaml)
xz -T1 -6 -c "$work/meta-first.tar" > unified.tar.xz
gzip -n -9 -c "$work/meta-last.tar" > unified-metadata-last.tar.gz
zstd -q -19 -c "$work/meta-first.tar" > unified.tar.zst

# Split container image: metadata tarball + squashfs rootfs.
(cd "$work/ct" && "${TAR[@]}" -cf - metadata.yaml templates) | xz -T1 -6 -c > split-meta.tar.xz
mksquashfs "$work/ct/rootfs" split-rootfs.squashfs -noappend -all-root -mkfs-time 1700000000 -all-time 1700000000 -comp xz -quiet >/dev/null

# Split VM image: metadata tarball + a minimal qcow2 (version 3 header, 64 KiB clusters, 1 MiB virtual disk, no data).
mkdir -p "$work/vm"
sed -e 's/Fixture container image/Fixture VM image/' "$work/ct/metadata.yaml" | grep -v -e '^templates' -e '^  /etc' -e '^    ' > "$work/vm/metadata.yaml"
(cd "$work/vm" && "${TAR[@]}" -cf - metadata.yaml) | xz -T1 -6 -c > vm-meta.tar.xz
python3 - vm-disk.qcow2 <<'PY'
import struct, sys
cluster_bits = 16
cluster = 1 << cluster_bits
size = 1 << 20
# Header, L1 table, refcount table and one refcount block, each one cluster.
l1_offset, rct_offset, rcb_offset = cluster, 2 * cluster, 3 * cluster
header = struct.pack('>4sIQIIQIIQQIIQQQQII',
    b'QFI\xfb', 3, 0, 0, cluster_bits, size, 0,
    1, l1_offset,          # l1_size, l1_table_offset
    rct_offset, 1,         # refcount_table_offset, refcount_table_clusters
    0, 0,                  # nb_snapshots, snapshots_offset
    0, 0, 0,               # incompatible, compatible, autoclear features
    4, 104)                # refcount_order (16-bit), header_length
img = bytearray(4 * cluster)
img[:len(header)] = header
struct.pack_into('>Q', img, rct_offset, rcb_offset)
for i in range(4):
    struct.pack_into('>H', img, rcb_offset + 2 * i, 1)
open(sys.argv[1], 'wb').write(img)
PY
ls -l unified.tar.xz unified-metadata-last.tar.gz unified.tar.zst split-meta.tar.xz split-rootfs.squashfs vm-meta.tar.xz vm-disk.qcow2
