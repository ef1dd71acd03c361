#!/usr/bin/env bash
# Builds a container image of sonda offline, from a build tree: a minimal root
# filesystem with the sonda binary, its plugins, exactly the shared libraries
# they load (ldd), and busybox (static) for a shell and `sleep`. No registry,
# no Dockerfile, no network: the rootfs is imported with `docker import`, or
# written as a tarball for any other runtime (`podman import`, `ctr import`,
# `kind load image-archive` after `docker save`).
#
#   tools/make_image.sh [--build DIR] [--tag sonda:VERSION] [--tar FILE]
#
# The image runs `sleep` forever: agents are started on demand inside it with
# `docker exec -i CONTAINER sonda agent` or `kubectl exec -i POD -- sonda agent`
# (see deploy/ and docs/HOSTS.md). sonda lives at /usr/local/bin/sonda, its
# plugins at /usr/local/lib/sonda/plugins, where an installed sonda finds them.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build
tag=""
tar_out=""
while (($#)); do
  case $1 in
    --build) build=$2; shift 2 ;;
    --tag) tag=$2; shift 2 ;;
    --tar) tar_out=$2; shift 2 ;;
    *) echo "usage: tools/make_image.sh [--build DIR] [--tag sonda:VERSION] [--tar FILE]" >&2; exit 2 ;;
  esac
done
sonda=$build/bin/sonda
[[ -x $sonda ]] || { echo "make_image: $sonda not found: build first (tools/setup.sh build)" >&2; exit 1; }
busybox=$(command -v busybox || true)
[[ -n $busybox ]] && file -L "$busybox" | grep -q "statically linked" || {
  echo "make_image: a static busybox is needed (apt-get install busybox-static)" >&2; exit 1; }
version=$("$sonda" --version | awk '{print $2}')
tag=${tag:-sonda:$version}

rootfs=$(mktemp -d /tmp/sonda-rootfs-XXXXXX)
trap 'umount "$rootfs/proc" 2>/dev/null || true; rm -rf --one-file-system "$rootfs"' EXIT
mkdir -p "$rootfs"/usr/local/bin "$rootfs"/usr/local/lib/sonda/plugins "$rootfs"/bin "$rootfs"/tmp "$rootfs"/proc \
         "$rootfs"/sys "$rootfs"/dev "$rootfs"/etc "$rootfs"/run
chmod 1777 "$rootfs"/tmp
# Debug info stays in the build tree: the image carries stripped copies.
objcopy --strip-debug "$sonda" "$rootfs"/usr/local/bin/sonda
for so in "$build"/bin/*.so; do
  objcopy --strip-debug "$so" "$rootfs"/usr/local/lib/sonda/plugins/"$(basename "$so")"
done
# Every shared library the binary and the plugins load, at the same path.
for elf in "$sonda" "$build"/bin/*.so; do
  ldd "$elf" | awk '/=> \//{print $3} /^\s*\/.*ld-linux/{print $1}'
done | sort -u | while read -r lib; do
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"
done
# The loader where the binaries look for it (x86-64: /lib64).
interp=$(readelf -l "$sonda" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
mkdir -p "$rootfs$(dirname "$interp")"
cp -L "$interp" "$rootfs$interp"
cp "$busybox" "$rootfs"/bin/busybox
for applet in sh sleep cat ls ip; do
  ln -s busybox "$rootfs"/bin/$applet
done
echo "root:x:0:0:root:/root:/bin/sh" > "$rootfs"/etc/passwd
# Fails here, not in a container, when a library is missing. /proc is there
# as in a container (a sanitizer build reads it).
mount -t proc proc "$rootfs/proc"
chroot "$rootfs" /usr/local/bin/sonda plugins >/dev/null
umount "$rootfs/proc"

if [[ -n $tar_out ]]; then
  tar -C "$rootfs" -cf "$tar_out" .
  echo "make_image: wrote $tar_out ($(du -h "$tar_out" | cut -f1))" >&2
else
  tar -C "$rootfs" -c . | docker import \
    -c 'ENV PATH=/usr/local/bin:/bin' -c 'CMD ["/bin/sleep", "2147483647"]' \
    -m "sonda $version, built offline by tools/make_image.sh" - "$tag" >/dev/null
  echo "make_image: imported $tag ($(docker image inspect -f '{{.Size}}' "$tag") bytes)" >&2
fi
