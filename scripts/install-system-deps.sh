#!/usr/bin/env bash
# Installs the Debian 12 packages crfs needs to build, test and benchmark, when they are missing.
#   libfuse2 fuse      FUSE mounts; attr: getfattr, to check xattrs through a mount (fuse-native's prebuilt addon links libfuse.so.2)
#   docker-registry    the real OCI registry the tests and bench run on loopback
#   skopeo umoci       reference tools the tests compare against (copy, unpack)
#   clang-14 lld-14 binaryen   rebuild and check the WASM inflater
#   libdeflate-tools pigz      native baselines for the bench
#   busybox-static runc        programs run from a mounted image in the tests
#   apache2-utils      htpasswd, for the basic-auth registry test
set -euo pipefail
PKGS=(libfuse2 fuse attr docker-registry skopeo umoci clang-14 lld-14 binaryen libdeflate-tools pigz busybox-static runc apache2-utils)
# With arguments: only those packages (npm run demo installs just what it needs).
if [ $# -gt 0 ]; then PKGS=("$@"); fi
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "crfs needs these Debian packages: ${missing[*]}" >&2
  echo "install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
