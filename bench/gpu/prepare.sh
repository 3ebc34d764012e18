#!/usr/bin/env bash
# Builds the GPU bundle (run here, on the development machine): a self-contained linux-x64 test runner and CLI plus
# the shared data the GPU run needs, compressed into .gpu/bundle.tar.xz (git-ignored). A session holding the lent
# GPU then runs:  run(command="bash bench/gpu/run.sh", carry=[".gpu"], timeout_s=580)
# The device tool sends at most 64 MiB (tracked files + carried paths), so this script checks the total and fails
# when the bundle would not fit. Usage: bash bench/gpu/prepare.sh   (DIFFUSER_SHARED overrides ../shared)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
shared="${DIFFUSER_SHARED:-$root/../shared}"
stage="${TMPDIR:-/tmp}/diffuser-gpu-stage"
limit_mib=64
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

[ -d "$shared/golden" ] || { echo "prepare: no shared data at $shared (set DIFFUSER_SHARED)" >&2; exit 1; }
rm -rf "$stage" .gpu
mkdir -p "$stage/app" "$stage/shared" "$stage/cases" .gpu
start=$SECONDS

# 1. The test runner (xunit.v3 executable, trimmed framework; see tests/Diffuser.Tests/Diffuser.Tests.csproj) and the
#    CLI. Both share one folder: the CLI's apphost and its runtimeconfig/deps files are all the CLI adds, because the
#    test runner references it (its trimmed framework keeps everything diffuser.dll uses).
echo "== publishing the test runner (self-contained, linux-x64, trimmed framework)"
dotnet publish tests/Diffuser.Tests -c Release -r linux-x64 --self-contained -p:DiffuserDeviceBundle=true \
    --artifacts-path "$stage/build-tests" -o "$stage/app" -v quiet -nologo
echo "== publishing the CLI"
dotnet publish src/Diffuser.Cli -c Release -r linux-x64 --self-contained -p:DebugType=none \
    --artifacts-path "$stage/build-cli" -o "$stage/cli" -v quiet -nologo
cp "$stage/cli/diffuser" "$stage/cli/diffuser.deps.json" "$stage/cli/diffuser.runtimeconfig.json" "$stage/app/"
# Native files only a debugger, LTTng tracing or an alternative GC would load.
rm -f "$stage/app"/{libmscordaccore.so,libmscordbi.so,libcoreclrtraceptprovider.so,libclrgc.so,libclrgcexp.so,createdump}

# 2. The op cases as JSON for torch_bench.py (the same shapes the C# side times), written by the bundled CLI itself.
for table in sd15 small; do "$stage/app/diffuser" bench --export-cases "$stage/cases/$table-cases.json" --cases "$table" >/dev/null; done

# 3. Shared data (sd15, sd21, sdxl are configs, tokenizers and weight manifests only). Left out to fit 64 MiB: the tiny-digits model (run.sh links the repository's models/tiny-digits)
#    and the taesd-arch-random weights (run.sh leaves out the tests that load them); images: the small ones only.
echo "== copying shared data from $shared"
copy() { for p in "$@"; do mkdir -p "$stage/shared/$(dirname "$p")"; cp -r "$shared/$p" "$stage/shared/$p"; done; }
copy golden/ops golden/tiny-sd golden/tiny-sd2 golden/tiny-digits golden/taesd-arch-random \
     golden/schedulers.json golden/schedulers.safetensors \
     models/tiny-sd models/tiny-sd2 models/sd15 models/sd21 models/sdxl
mkdir -p "$stage/shared/images"
find "$shared/images" -maxdepth 1 -name '*.png' -size -64k -exec cp {} "$stage/shared/images/" \;

# 4. One archive.
echo "== compressing (xz -9e)"
tar -C "$stage" -cf - app shared cases | xz -9e -T0 > .gpu/bundle.tar.xz
git rev-parse HEAD > .gpu/commit

bundle=$(stat -c %s .gpu/bundle.tar.xz)
tree=$(git ls-files -z | xargs -0 stat -c %s | awk '{s+=$1} END {print s+0}')
untracked=$(git ls-files -z --others --exclude-standard | xargs -0 -r stat -c %s | awk '{s+=$1} END {print s+0}')
total=$((bundle + tree + untracked))
mib() { awk -v b="$1" 'BEGIN {printf "%.1f MiB", b / 1048576}'; }
echo "bundle .gpu/bundle.tar.xz: $(mib "$bundle") (app $(du -sh "$stage/app" | cut -f1), shared $(du -sh "$stage/shared" | cut -f1) unpacked)"
echo "travels with it: tracked files $(mib "$tree"), untracked $(mib "$untracked"); total $(mib "$total") of $limit_mib MiB"
echo "prepared in $((SECONDS - start)) s for commit $(cut -c1-12 .gpu/commit)"
if [ "$total" -gt $((limit_mib * 1048576)) ]; then
    echo "prepare: the working tree plus the bundle exceed $limit_mib MiB: the device tool would refuse it" >&2
    exit 1
fi
echo 'run on the GPU: run(command="bash bench/gpu/run.sh", carry=[".gpu"], timeout_s=580)'
