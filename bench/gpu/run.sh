#!/usr/bin/env bash
# The one-shot GPU run, on the lent machine (no .NET, no network), from the repository root:
#   run(command="bash bench/gpu/run.sh", carry=[".gpu"], timeout_s=580)
# after `bash bench/gpu/prepare.sh` made .gpu/bundle.tar.xz here. Stages (each under its own time limit, all of
# them inside ~8.5 minutes; a stage that overruns is killed and the next one still runs):
#   unpack → nvidia-smi → kernel + op tests on CUDA (fp32 and fp16; fp16 GEMM/conv on the tensor cores; if they fail,
#   again with the one-pass group norms off (when only group norms, or norm + convolution pairs, fail; for pairs then
#   the channel-blocked image off), cp.async off, split-K off, the tensor cores off, and the first switch that passes
#   holds for the rest; out of time, the one-pass group norms are off for the rest if a small one does not finish alone) →
#   the kernel cache (small fp16 split products verified, compiled and kept, then loaded; if both pass, it holds for the rest) →
#   diffuser bench fp16 (SD 1.5 shapes, 512², batch 2, the VAE too) → op cases fp16 and fp32 on CUDA → PyTorch on the
#   same shapes → the fp16 op cases and one fp16 UNet step against the managed cpu backend → model/scheduler/pipeline
#   goldens on CUDA (fp16 pipelines against fp32) → diffuser bench fp32 →
#   Nsight Compute on four key fp16 kernels, compute-sanitizer on seven small ones (if there) → OpenCL (if usable) →
#   the GEMM and convolution tests on Hopper's wgmma (DIFFUSER_WGMMA=1, opt-in) → cp.async, the one-pass group norm
#   and (where its tests passed) wgmma against the default → $OUT/RESULTS.md (printed last), with run.log, the test
#   XML and the JSON reports beside it.
# Environment overrides, for a dry run on a machine without a GPU (see bench/README.md):
#   DIFFUSER_GPU_DEVICE (cuda), DIFFUSER_GPU_SIZE (512), DIFFUSER_GPU_STEPS (10), DIFFUSER_GPU_CASES (sd15),
#   DIFFUSER_GPU_TORCH_DEVICE (cuda), DIFFUSER_GPU_TORCH_DTYPES (fp32,fp16 on CUDA), DIFFUSER_GPU_TEST_ARGS (extra test
#   runner arguments), PYTHON (python3).
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
out="${OUT:-$root/.gpu/out}"
work="${DIFFUSER_GPU_WORK:-/tmp/diffuser-gpu}"
device="${DIFFUSER_GPU_DEVICE:-cuda}"
size="${DIFFUSER_GPU_SIZE:-512}"
steps="${DIFFUSER_GPU_STEPS:-10}"
cases="${DIFFUSER_GPU_CASES:-sd15}"
torch_device="${DIFFUSER_GPU_TORCH_DEVICE:-cuda}"
python="${PYTHON:-python3}"
export root out work device size steps cases   # the stage functions run in a child bash
# Every process compiles each kernel it runs on first use: ILGPU writes PTX (~0.3 s for a tensor-core kernel on this
# project's CI host), the driver assembles it (ptxas 11.8 takes another ~0.3 s). The driver's cache, kept beside the
# work folder and large enough for every stage, saves the second half whenever a later stage (or a rerun on the still
# warm machine) loads the same PTX.
export CUDA_CACHE_PATH="$work.cuda-cache" CUDA_CACHE_MAXSIZE=4294967296
mkdir -p "$out"
exec > >(tee -a "$out/run.log") 2>&1
start=$SECONDS
deadline=$((start + 500))   # every stage ends by then; RESULTS.md is written after it (call with timeout_s=580)
stages="$work.stages"
: > "$stages"
rm -f "$work".ab-*.json "$work".verify*.json

# stage NAME LIMIT COMMAND...: runs COMMAND under min(LIMIT, time left) seconds and records name|exit|seconds.
stage() {
    local name=$1 limit=$2 left rc began
    shift 2
    left=$((deadline - SECONDS))
    [ "$left" -lt "$limit" ] && limit=$left
    if [ "$limit" -lt 5 ]; then
        echo "== $name: skipped, out of time"
        echo "$name|skipped|0" >> "$stages"
        return 1
    fi
    echo "== [$((SECONDS - start)) s] $name (limit $limit s)"
    began=$SECONDS
    # timeout runs programs, not shell functions: the functions below are exported to a child bash.
    timeout -k 10 "$limit" bash -c '"$@"' stage "$@"
    rc=$?
    echo "== $name: exit $rc after $((SECONDS - began)) s"
    echo "$name|$rc|$((SECONDS - began))" >> "$stages"
    return "$rc"
}

unpack() {
    [ -f .gpu/bundle.tar.xz ] || { echo "no .gpu/bundle.tar.xz: run bench/gpu/prepare.sh first and carry .gpu"; return 1; }
    rm -rf "$work" && mkdir -p "$work"
    if command -v xz >/dev/null; then
        xz -dc -T0 .gpu/bundle.tar.xz | tar -C "$work" -xf - || return 1
    else
        python3 -c "import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])" .gpu/bundle.tar.xz "$work" || return 1
    fi
    # tiny-digits travels in the repository (models/), not in the bundle.
    ln -sfn "$root/models/tiny-digits" "$work/shared/models/tiny-digits"
    echo "bundle of commit $(cat .gpu/commit 2>/dev/null) unpacked to $work; working tree at $(git rev-parse HEAD 2>/dev/null)"
}

gpu_info() {
    "$work/app/diffuser" devices    # what ILGPU makes of each device (compute capability, usable or why not)
    nvidia-smi || return 1
    nvidia-smi --query-gpu=name,memory.total,clocks.sm,clocks.max.sm,power.draw,temperature.gpu --format=csv
}

# The published xunit.v3 runner: DIFFUSER_TEST_DEVICE sends the golden tests (and the ILGPU kernel tests) to the device.
tests() {
    local xml=$1 test_device=$2 extra
    shift 2
    read -r -a extra <<< "${DIFFUSER_GPU_TEST_ARGS:-}"
    [ -n "$xml" ] && set -- "$@" -xml "$xml"
    DIFFUSER_TEST_DEVICE="$test_device" DIFFUSER_SHARED="$work/shared" DIFFUSER_REPO="$root" \
        "$work/app/Diffuser.Tests" -noColor -noLogo "$@" "${extra[@]}"
}

opencl() {
    # Usable only where an OpenCL device reports generic address space (ILGPU's requirement); the probe says why not.
    "$work/app/diffuser" bench --ops --device opencl --cases small --filter gemm/37x29x45 --seconds 0.01 || return 0
    tests "" opencl -namespace Diffuser.Tests.Kernels
}

bench() {
    "$work/app/diffuser" bench --model "$work/shared/models/sd15" --device "$device" --batch 2 --size "$size" --steps "$steps" \
        --warmup 1 "$@"
}

# failed EXIT: whether a stage failed on its own (not stopped at its time limit).
failed() {
    [ "$1" -ne 0 ] && [ "$1" -ne 124 ] && [ "$1" -ne 137 ]
}

# kernel_cache FOLDER JSON: the small fp16 split products checked against the managed backend, their kernels through the cache in FOLDER.
kernel_cache() {
    DIFFUSER_KERNEL_CACHE="$1" "$work/app/diffuser" bench --ops --verify --device "$device" --cases small-f16 --filter splitK --json "$2"
}

# with_env NAME=VALUE COMMAND...: runs COMMAND (a program or one of these functions) with NAME set.
with_env() {
    export "$1"
    shift
    "$@"
}

# Inside key fp16 kernels (three of a UNet step, the VAE's largest group norm), if the machine has Nsight Compute: achieved occupancy, tensor-pipe and
# memory throughput, and what the warps stall on (an L1/LSU-bound convolution shows as LG/MIO throttle, a
# latency-bound one as long scoreboard), into run.log; registers and shared memory are known from ptxas. Only the op's own kernels count (ILGPU names an entry Kernel_<method>;
# not the filter packing or input conversions): the first two launches are skipped (the warm-up's), the next two
# profiled.
profile_kernels() {
    command -v ncu >/dev/null || { echo "no ncu on this machine"; return 0; }
    local filter
    for filter in conv2d/64x64_c320k320_k3_f16 group_norm_conv2d/64x64_c320k320_f16 gemm/ff_out_8192x320x1280_f16 \
        attention/self_b2h8_l4096_d40_f16 group_norm/vae_1x256x512x512_g32_silu_f16; do
        echo "=== ncu: $filter"
        # The norm + convolution pair launches the one-pass channel-blocked norm and the convolution: the two of the
        # timed run (after the warm-up's) are profiled.
        ncu --kernel-name 'regex:Kernel_(Gemm|Conv2d|Attention|GroupNormOnePass|GroupNormApply)' --launch-skip 2 --launch-count 2 \
            --section SpeedOfLight --section Occupancy --section WarpStateStats \
            "$work/app/diffuser" bench --ops --device "$device" --cases "$cases-f16" --filter "$filter" --warmup 1 --seconds 0
    done
}

# NVIDIA's compute-sanitizer on small fp16 tensor-core cases, if the machine has it: memcheck (out-of-bounds global
# and shared accesses, cp.async included) and racecheck (shared-memory hazards between the warps of a group: stages,
# staging, the split reduction; the one-pass group norm's scratch, reused from slice to slice) over an aligned GEMM, a
# GEGLU GEMM, split convolutions (one reading its input upsampled, one of at most 16 filters), an attention and a
# group norm of two slices a group; a hazard or error fails the stage (into run.log).
sanitize_kernels() {
    command -v compute-sanitizer >/dev/null || { echo "no compute-sanitizer on this machine"; return 0; }
    local tool filter rc=0
    for tool in memcheck racecheck; do
        for filter in gemm/b2_21x40x24_tB_bias_silu_residual_chunked_f16 gemm/2x40x24_tB_bias_silu_chunked_f16 \
            geglu_linear/19x24_to_80_chunked_f16 conv2d/3x5_c32k20_k3s1p1_upsample_residual_f16 \
            group_norm_conv2d/1x160x4x6_g16_k24_splitK_f16 \
            conv2d/5x3_c32k9_k3s1p1_residual_splitK_f16 attention/cross_b2h2_l19_s77_d40_f16 \
            group_norm/1x4x100x100_g2_chunked_f16; do
            echo "=== compute-sanitizer --tool $tool: $filter"
            compute-sanitizer --tool "$tool" --error-exitcode 1 \
                "$work/app/diffuser" bench --ops --device "$device" --cases small-f16 --filter "$filter" --warmup 0 --seconds 0 || rc=1
        done
    done
    return "$rc"
}

# Switches against the default, on key fp16 cases (the ops stage timed the default): products whose tiles fill part of
# their last wave dealt stream-K against a group per tile (DIFFUSER_STREAM_K=0: the 64×64 level's 192-tile 3×3
# convolution and GEMMs, the 32×32 → 64×64 upsampler's 320 tiles), split products' shared sums
# against their last split's alone (DIFFUSER_SHARED_SPLIT_SUMS=0: the 32×32, 16×16 and 8×8 convolutions), a norm's result channel-blocked
# for the convolution after it against dense (DIFFUSER_BLOCKED_CONV_INPUT=0: a resnet's norm and conv at the UNet's
# 64×64 and 8×8 levels and the VAE's 512²; and the upsamplers' convolutions, the UNet's last and the VAE's at 512², which
# copy their image channel-blocked first, against gathering it), Hopper's wgmma for GEMM and
# convolution (DIFFUSER_WGMMA=1, opt-in, only where its tests passed on this GPU: the UNet's largest GEMM and 3×3
# convolution, the VAE's at 512²), the one-pass group norms against two launches (DIFFUSER_ONE_PASS_GROUP_NORM=0: the
# UNet's 64×64 level, the VAE's 512², and the channel-blocked norm of the 64×64 resnet pair) and cp.async against register copies (DIFFUSER_CP_ASYNC=0: the GEMM's and
# convolution's operand copies, the attention's K/V in two stages (widths 48, 80) and in one (160)). Last, so that it
# only takes time the table did not need; its JSON stays beside the stage log ($OUT is full) and RESULTS.md compares it.
switches_ab() {
    [ "$cases" = sd15 ] || { echo "the A/B cases are sd15's; skipped for $cases"; return 0; }
    switch_ab DIFFUSER_STREAM_K=0 conv2d/64x64_c320k320_k3_f16 gemm/ff_out_8192x320x1280_f16 gemm/proj_8192x320x320_f16 \
        conv2d/64x64_c640k640_k3_upsample_f16 || return 1
    # Split products' sums shared by a tile's splits against added by its last split alone: the convolutions of the
    # 32×32 (3 splits), 16×16 (6) and 8×8 (26) levels.
    switch_ab DIFFUSER_SHARED_SPLIT_SUMS=0 conv2d/32x32_c640k640_k3_f16 conv2d/16x16_c1280k1280_k3_f16 \
        conv2d/8x8_c1280k1280_k3_f16 || return 1
    if [ -f "$work.wgmma-passed" ]; then
        switch_ab DIFFUSER_WGMMA=1 conv2d/64x64_c320k320_k3_f16 gemm/ff_out_8192x320x1280_f16 conv2d/vae_512x512_c128k128_k3_f16 || return 1
    fi
    # The norm and convolution of a resnet, the norm's result dense (gathered by the convolution) against channel-blocked;
    # the two upsamplers' convolutions (one filter, one process), their image gathered against copied channel-blocked.
    switch_ab DIFFUSER_BLOCKED_CONV_INPUT=0 group_norm_conv2d/64x64_c320k320_f16 group_norm_conv2d/8x8_c1280k1280_f16 \
        group_norm_conv2d/vae_512x512_c128k128_f16 k3_upsample_f16 || return 1
    switch_ab DIFFUSER_ONE_PASS_GROUP_NORM=0 group_norm/2x320x64x64_g32_silu_f16 group_norm/vae_1x256x512x512_g32_silu_f16 \
        group_norm_conv2d/64x64_c320k320_f16 || return 1
    switch_ab DIFFUSER_CP_ASYNC=0 conv2d/64x64_c320k320_k3_f16 gemm/ff_out_8192x320x1280_f16 attention/self_b2h8_l4096_d40_f16 \
        attention/self_b2h8_l1024_d80_f16 attention/self_b2h8_l256_d160_f16
}

# switch_ab NAME=VALUE CASE...: times each case with the switch, into $work.ab-NAME-vVALUE-<i>.json.
switch_ab() {
    local switch=$1 filter i=0
    shift
    for filter in "$@"; do
        i=$((i + 1))
        env "$switch" "$work/app/diffuser" bench --ops --device "$device" --cases "$cases-f16" --filter "$filter" \
            --seconds 0.2 --json "$work.ab-${switch%%=*}-v${switch#*=}-$i.json" || return 1
    done
}

# Every small op case on the device with GEMM and convolution on wgmma (DIFFUSER_WGMMA=1): its A/B runs only if they pass.
wgmma_tests() {
    rm -f "$work.wgmma-passed"
    with_env DIFFUSER_WGMMA=1 tests "$work.tests-kernels-wgmma.xml" "$device" -method Diffuser.Tests.Kernels.IlgpuKernelTests.MatchesManagedBackend \
        && touch "$work.wgmma-passed"
}

export -f unpack gpu_info tests opencl bench kernel_cache with_env profile_kernels sanitize_kernels switches_ab switch_ab wgmma_tests
stage unpack 40 unpack || { echo "cannot continue without the bundle"; exit 1; }
app="$work/app"
stage nvidia-smi 15 gpu_info
# Left out: tests that do not touch the device (PTX text checks, ptxas (not on that machine); the tensor-core kernels emulated on ILGPU's CPU
# accelerator, ~50 s of CPU, and a whole UNet step on them, ~165 s; the norm launchers and the kernel cache's loaders on ILGPU's CPU accelerator; the kernel
# cache's files and the sm_90a retargeting, which compile the tensor-core GEMMs' class to PTX, ~70 s of one core;
# wgmma's CUDA load is the tests-kernels (DIFFUSER_WGMMA=1) stage): CI runs them.
kernel_tests=(-namespace Diffuser.Tests.Kernels -namespace Diffuser.Tests.Ops
    -class- Diffuser.Tests.Kernels.TensorCoreEmulationTests -class- Diffuser.Tests.Kernels.KernelPtxTests
    -class- Diffuser.Tests.Kernels.FlashAttentionPtxTests -class- Diffuser.Tests.Kernels.GeneratedPtxTests
    -class- Diffuser.Tests.Kernels.PtxasTests -class- Diffuser.Tests.Kernels.GroupNormLaunchTests
    -class- Diffuser.Tests.Kernels.BlockedGroupNormTests -class- Diffuser.Tests.Kernels.KernelCacheTests
    -class- Diffuser.Tests.Kernels.KernelLoadingTests -class- Diffuser.Tests.Kernels.Sm90aKernelsTests
    -class- Diffuser.Tests.Kernels.EmulatedUNetStepTests)
switch=""
switch_why=""
fallback_xml=()
stage tests-kernels 110 tests "$out/tests-kernels.xml" "$device" "${kernel_tests[@]}"
rc=$?
if failed $rc; then
    # Failed (not out of time). The tensor-core kernels' pieces checked here by ptxas and emulation only: cp.async, the
    # split reduction finished by its splits (fence, atomic counts, claims); then the tensor cores as a whole (PTX the
    # driver rejects, a misaligned shared block). When only group norm cases fail, the one-pass group norm (blocks
    # that wait for each other) is tried first. The first switch under which the kernel tests pass holds for every
    # later stage, so that one run still yields a table; RESULTS.md names it. If none passes, the failures lie
    # elsewhere and nothing is switched. (Their XML stays outside $OUT, which brings back 8 files at most; RESULTS.md
    # summarises it.)
    # Likewise, when only norm + convolution pairs fail, their one-pass channel-blocked norm, then the channel-blocked
    # image (a norm's for the convolution after it) as a whole; when only split products fail, their shared sums; when
    # only the products sized to be dealt stream-K fail (StreamKOnDeviceTests), stream-K.
    candidates=(DIFFUSER_CP_ASYNC=0 DIFFUSER_SPLIT_K=0 DIFFUSER_TENSOR_CORES=0)
    failures=$(grep -o '<test [^>]*result="Fail"' "$out/tests-kernels.xml" 2>/dev/null)
    if grep -q 'group_norm/' <<< "$failures" && ! grep -qv 'group_norm/' <<< "$failures"; then
        candidates=(DIFFUSER_ONE_PASS_GROUP_NORM=0 "${candidates[@]}")
    elif grep -q 'group_norm_conv2d/' <<< "$failures" && ! grep -qv 'group_norm_conv2d/' <<< "$failures"; then
        candidates=(DIFFUSER_ONE_PASS_GROUP_NORM=0 DIFFUSER_BLOCKED_CONV_INPUT=0 "${candidates[@]}")
    elif grep -q '_splitK' <<< "$failures" && ! grep -qv '_splitK' <<< "$failures"; then
        candidates=(DIFFUSER_SHARED_SPLIT_SUMS=0 "${candidates[@]}")
    elif grep -q 'streamK_' <<< "$failures" && ! grep -qv 'streamK_' <<< "$failures"; then
        candidates=(DIFFUSER_STREAM_K=0 "${candidates[@]}")
    fi
    for candidate in "${candidates[@]}"; do
        xml="$work.tests-kernels-${candidate%%=*}.xml"
        fallback_xml+=(--fallback-xml "$xml")
        if stage "tests-kernels ($candidate)" 75 with_env "$candidate" tests "$xml" "$device" "${kernel_tests[@]}"; then
            switch=$candidate
            switch_why="the kernel tests failed without it and passed with it"
            export "${switch?}"
            break
        fi
    done
elif [ "$rc" -ne 0 ]; then
    # Out of time: slow compilation, or a kernel that never ends. The only kernels whose blocks wait for each other
    # without a bound (a split product's splits stop after 256 looks) are the one-pass group norms (dense, and
    # channel-blocked before a convolution): if one of two slices a group does not
    # finish on its own, or a blocked norm of two slices a unit, every later stage runs without them.
    if ! stage "group norm probe" 30 "$work/app/diffuser" bench --ops --device "$device" --cases small-f16 \
        --filter group_norm/1x4x100x100_g2_chunked_f16 --warmup 0 --seconds 0 \
        || ! stage "blocked group norm probe" 30 "$work/app/diffuser" bench --ops --device "$device" --cases small-f16 \
        --filter group_norm_conv2d/1x32x48x48_g8_k8_slices_f16 --warmup 0 --seconds 0; then
        switch=DIFFUSER_ONE_PASS_GROUP_NORM=0
        switch_why="the kernel tests ran out of time and a one-pass group norm alone did not finish"
        export "${switch?}"
    fi
fi
# The kernel cache (DIFFUSER_KERNEL_CACHE; opt-in until it has passed here): the small fp16 table's split products
# (tensor-core GEMMs, GEGLU, convolutions, norm + convolution pairs), checked against the managed cpu backend, their
# kernels compiled and kept, then in a second process loaded from the folder. If both pass and it holds files, every
# later stage loads its kernels through it (their first generations compile less); the stage table gives both times.
kernels="$work.kernels"
rm -rf "$kernels"
if stage "kernel-cache (compile)" 30 kernel_cache "$kernels" "$work.verify-cache-1.json" && compgen -G "$kernels/*.ptx" >/dev/null \
    && stage "kernel-cache (load)" 20 kernel_cache "$kernels" "$work.verify-cache-2.json"; then
    export DIFFUSER_KERNEL_CACHE="$kernels"
    echo "$(ls "$kernels" | wc -l) kernels kept in $kernels; every later stage loads its kernels through it"
fi
# Issue 7's numbers first (fp16 generation, the op table, PyTorch on the same shapes), so that a run squeezed by
# fallbacks or slow kernel compilation still yields them; the model goldens, fp32 and the probes follow.
# fp16 all the way, the VAE too (the default, as diffusers' SD 1.x/2.x pipelines; the 15 ms VAE target needs fp16).
stage bench-fp16 65 bench --dtype fp16 --json "$out/bench-fp16.json"
# SD's shapes can fault where the test shapes passed: then once more with cp.async and split-K off (its report says so).
if failed $? && [ -z "$switch" ]; then
    stage "bench-fp16 (DIFFUSER_CP_ASYNC=0 DIFFUSER_SPLIT_K=0, no kernel cache)" 65 with_env DIFFUSER_CP_ASYNC=0 with_env DIFFUSER_SPLIT_K=0 \
        with_env DIFFUSER_KERNEL_CACHE= bench --dtype fp16 --json "$out/bench-fp16.json"
fi
# fp16 first (issue 7's table); the JSON is rewritten after every case, so a stage stopped at its limit keeps what it timed.
stage ops 60 "$app/diffuser" bench --ops --device "$device" --cases "$cases-f16,$cases" --seconds 0.2 --json "$out/ops-cuda.json"
stage torch 70 env PYTHONUNBUFFERED=1 "$python" bench/gpu/torch_bench.py --cases "$work/cases/$cases-cases.json" \
    --unet-config "$work/shared/models/sd15/unet/config.json" --latent $((size / 8)) --device "$torch_device" \
    --budget 65 ${DIFFUSER_GPU_TORCH_DTYPES:+--dtypes "$DIFFUSER_GPU_TORCH_DTYPES"} --out "$out/torch.json"
# The op table's fp16 cases once more, each against the managed cpu backend from the same inputs (largest error ÷ the
# reference's largest value): SD's shapes on the GPU's multiprocessors (other splits and stream-K deals, planes, 4096
# keys) can compute wrong where the tests' small shapes passed, which the timings alone would not show. The JSON is
# rewritten after every case (a stage stopped at its limit keeps what it checked) and stays beside the stage log ($OUT is full).
stage verify 75 "$app/diffuser" bench --ops --verify --device "$device" --cases "$cases-f16" --json "$work.verify.json"
# And one whole fp16 UNet step at the benchmark's size (the same synthetic weights and inputs on both sides), every
# kernel in its place: the norms' channel-blocked images, the time embedding's first-rows products, the skips.
stage verify-unet 60 bench --dtype fp16 --verify --json "$work.verify-unet.json"
# The taesd-arch-random weights do not travel (64 MiB): its tests are left out.
stage tests-goldens 100 tests "$out/tests-goldens.xml" "$device" \
    -namespace Diffuser.Tests.Models -namespace Diffuser.Tests.Schedulers -namespace Diffuser.Tests.Pipelines \
    -class- Diffuser.Tests.Models.TaesdGoldenTests \
    -method- Diffuser.Tests.Models.ModelLoadingTests.TaesdFolderFromAnOlderDiffusersLoadsUnchanged \
    -method- Diffuser.Tests.Pipelines.PipelineGenerationTests.ATinyAutoencoderEncodesWithoutAPosteriorDraw
stage bench-fp32 65 bench --dtype fp32 --json "$out/bench-fp32.json"
stage ncu 55 profile_kernels
stage sanitizer 85 sanitize_kernels
stage opencl 15 opencl
stage "tests-kernels (DIFFUSER_WGMMA=1)" 45 wgmma_tests
stage "ops (switches)" 60 switches_ab

gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
ab_json=()
for f in "$work".ab-*.json; do [ -f "$f" ] && ab_json+=(--ab "$f"); done
"$python" bench/gpu/results.py --dir "$out" --stages "$stages" --gpu "${gpu:-$device (no nvidia-smi)}" \
    --commit "$(cat .gpu/commit 2>/dev/null)" --switch "$switch" --switch-why "$switch_why" "${fallback_xml[@]}" "${ab_json[@]}" \
    --verify "$work.verify.json" --verify "$work.verify-unet.json" > "$out/RESULTS.md"
echo "== [$((SECONDS - start)) s] done; files in $out: $(ls "$out" | tr '\n' ' ')"
echo
cat "$out/RESULTS.md"
