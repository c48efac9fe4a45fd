#!/usr/bin/env bash
# Makes TorchSharp 0.107's libLibTorchSharp.so load on systems whose libstdc++ predates GCC 13 (Debian 12,
# Ubuntu 22.04, RHEL 9): see README.md beside this file. Patches the copy in a build output, never the NuGet
# cache; does nothing where the system is new enough or the copy is already patched.
# Usage: fix.sh OUTPUT_DIR   (finds the library in OUTPUT_DIR or OUTPUT_DIR/runtimes/linux-x64/native)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$1
shim=libmolyneux_glibcxx_shim.so
missing_version=GLIBCXX_3.4.32
missing_symbol=_ZSt21ios_base_library_initv

lib=
for candidate in "$out/libLibTorchSharp.so" "$out/runtimes/linux-x64/native/libLibTorchSharp.so"; do
  [ -f "$candidate" ] && lib=$candidate && break
done
[ -n "$lib" ] || exit 0
[ "$(uname -m)" = x86_64 ] || exit 0

system_libstdcxx=$(ldconfig -p 2>/dev/null | awk '/libstdc\+\+\.so\.6 .*x86-64/ {print $NF; exit}')
if [ -z "$system_libstdcxx" ] || grep -qa "$missing_version" "$system_libstdcxx"; then exit 0; fi
if ! grep -qa "$missing_version" "$lib"; then exit 0; fi  # a TorchSharp build that does not need it

for tool in patchelf g++; do
  command -v $tool >/dev/null || {
    echo "error: $lib needs $missing_version, which $system_libstdcxx lacks; patching it needs '$tool' (apt-get install -y patchelf g++)" >&2
    exit 1
  }
done
if patchelf --print-needed "$lib" | grep -qx "$shim"; then exit 0; fi

native_dir=$(dirname "$lib")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
g++ -shared -fPIC -O2 -o "$work/$shim" "$here/ios_base_library_init.cpp"
g++ -O2 -o "$work/weaken_verneed" "$here/weaken_verneed.cpp"
cp "$lib" "$work/lib.so"
patchelf --clear-symbol-version "$missing_symbol" "$work/lib.so"
patchelf --add-needed "$shim" "$work/lib.so"
"$work/weaken_verneed" "$work/lib.so" "$missing_version"
mv -f "$work/$shim" "$native_dir/$shim"
mv -f "$work/lib.so" "$lib"
echo "patched $lib for $system_libstdcxx (no $missing_version)"
