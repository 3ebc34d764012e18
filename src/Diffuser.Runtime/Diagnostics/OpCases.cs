using Diffuser.Backends;
using Diffuser.Tensors;
using static Diffuser.Diagnostics.OpCaseFactory;

namespace Diffuser.Diagnostics;

/// <summary>
/// The one table of op cases. <see cref="Small"/>: odd, non-square shapes that are not multiples of any kernel tile
/// (tests run them on ILGPU's CPU accelerator, so each stays at a few thousand threads). <see cref="StableDiffusion"/>:
/// the shapes of SD 1.5 at 512×512 with classifier-free guidance (batch 2), for benchmarks on real devices. Each has
/// an fp16 twin (<see cref="SmallHalf"/>, <see cref="StableDiffusionHalf"/>).
/// </summary>
public static class OpCases
{
    private static readonly Padding2d Same1 = Padding2d.Same(1);

    public static IReadOnlyList<OpCase> Small { get; } =
    [
        Gemm("37x29x45", 1, 37, 29, 45),
        Gemm("37x29x45_tA", 1, 37, 29, 45, transA: true),
        Gemm("37x29x45_tB", 1, 37, 29, 45, transB: true),
        Gemm("37x29x45_tAtB", 1, 37, 29, 45, transA: true, transB: true),
        Gemm("b3_20x33x17_sharedB_bias_gelu", 3, 20, 33, 17, sharedB: true, bias: true, activation: Activation.GeluErf, alpha: 0.5f),
        Gemm("130x7x20_tB_bias_silu", 1, 130, 7, 20, transB: true, bias: true, activation: Activation.Silu),
        Gemm("20x131x24_tA", 1, 20, 131, 24, transA: true),
        Gemm("20x30x300_tB_bias_relu_splitK", 1, 20, 30, 300, transB: true, bias: true, activation: Activation.Relu),
        Gemm("b2_17x9x200_tA_splitK", 2, 17, 9, 200, transA: true),
        Gemm("20x30x24_tB_bias_residual", 1, 20, 30, 24, transB: true, bias: true, residual: true),
        Gemm("proj_in_b2_21x24x16_tAtB_bias", 2, 21, 24, 16, transA: true, transB: true, sharedB: true, bias: true),
        Gemm("proj_out_b2_24x21x16_tB_row_bias_residual", 2, 24, 21, 16, transB: true, sharedA: true, bias: true, biasPerRow: true, residual: true),
        Gemm("b2_9x20x300_residual_splitK", 2, 9, 20, 300, residual: true),
        Gemm("b2_21x40x24_tB_bias_silu_residual_chunked", 2, 21, 40, 24, transB: true, bias: true, activation: Activation.Silu, residual: true),
        Gemm("b2_24x16x16_tB_row_bias_residual_chunked", 2, 24, 16, 16, transB: true, sharedA: true, bias: true, biasPerRow: true, residual: true),
        Gemm("2x40x24_tB_bias_silu_chunked", 1, 2, 40, 24, transB: true, bias: true, activation: Activation.Silu),
        GegluLinear("19x24_to_70", 19, 24, 70),
        GegluLinear("17x300_to_40_splitK", 17, 300, 40),
        GegluLinear("19x24_to_80_chunked", 19, 24, 80),
        GegluLinear("9x24_to_80_chunked", 9, 24, 80),
        Conv2d("3x5_c3k7_k3s1p1", 2, 3, 3, 5, 7, 3, 1, Same1),
        Conv2d("7x9_c20k24_k3s2p1_nobias", 1, 20, 7, 9, 24, 3, 2, Same1, bias: false),
        Conv2d("8x8_c8k8_k3s2_pad0101", 1, 8, 8, 8, 8, 3, 2, new Padding2d(0, 0, 1, 1)),
        Conv2d("5x6_c48k32_k1_residual", 1, 48, 5, 6, 32, 1, 1, Padding2d.None, residual: true),
        Conv2d("4x6_c4k130_k3s1p1_residual", 1, 4, 4, 6, 130, 3, 1, Same1, residual: true),
        Conv2d("2x9x9_c3k5_k3s1p1_two_pixel_tiles", 2, 3, 9, 9, 5, 3, 1, Same1),
        Conv2d("3x4_c30k9_k3s1p1_residual_splitK", 2, 30, 3, 4, 9, 3, 1, Same1, residual: true),
        Conv2d("4x5_c6k8_k3s1p1_sample_bias_residual", 2, 6, 4, 5, 8, 3, 1, Same1, residual: true, sampleBias: true),
        Conv2d("3x4_c30k9_k3s1p1_sample_bias_splitK", 2, 30, 3, 4, 9, 3, 1, Same1, sampleBias: true),
        Conv2d("5x3_c32k9_k3s1p1_residual_splitK", 2, 32, 5, 3, 9, 3, 1, Same1, residual: true),
        Conv2d("3x4_c32k20_k3s1p1_residual_splitK", 2, 32, 3, 4, 20, 3, 1, Same1, residual: true),
        Conv2d("6x7_c64k24_k3s2p1", 1, 64, 6, 7, 24, 3, 2, Same1),
        Conv2d("5x6_c32k16_k1_residual", 2, 32, 5, 6, 16, 1, 1, Padding2d.None, residual: true),
        Conv2d("4x4_c16k9_k3s1p1_sample_bias_residual_chunked", 2, 16, 4, 4, 9, 3, 1, Same1, residual: true, sampleBias: true),
        Conv2d("3x4_c5k7_k3s1p1_upsample", 2, 5, 3, 4, 7, 3, 1, Same1, upsample: true),
        Conv2d("3x5_c32k20_k3s1p1_upsample_residual", 2, 32, 3, 5, 20, 3, 1, Same1, residual: true, upsample: true),
        Conv2d("4x4_c64k140_k3s1p1_upsample_chunked", 1, 64, 4, 4, 140, 3, 1, Same1, upsample: true),
        GroupNorm("2x8x3x5_g4", 2, 8, 3, 5, 4, silu: false),
        GroupNorm("2x8x3x5_g4_silu", 2, 8, 3, 5, 4, silu: true),
        GroupNorm("1x16x8x8_g4_offset100", 1, 16, 8, 8, 4, silu: true, mean: 100f),
        GroupNorm("1x4x100x100_g2_chunked", 1, 4, 100, 100, 2, silu: false, mean: 3f),
        GroupNorm("1x4x99x101_g2_chunked_odd_silu", 1, 4, 99, 101, 2, silu: true, mean: -2f),
        GroupNorm("2x4x45x45_g2_slices_silu", 2, 4, 45, 45, 2, silu: true, mean: 1.5f),
        // A norm whose result only a convolution reads: channel-blocked where the fp16 tensor cores take that convolution
        // (channels a multiple of 32, planes of whole 8-pixel steps): groups of 4, 2 and 10 channels (blocks of 8 straddle
        // two), at most 16 filters, a split reduction, a one-pass norm of two slices a unit (288 items of a channel
        // block and 8 pixels); dense where the plane (15) or the channels (24) do not suit.
        GroupNormConv2d("2x32x6x8_g8_k20", 2, 32, 6, 8, 8, 20),
        GroupNormConv2d("1x32x48x48_g8_k8_slices", 1, 32, 48, 48, 8, 8),
        GroupNormConv2d("1x64x8x10_g32_k9", 1, 64, 8, 10, 32, 9),
        GroupNormConv2d("1x160x4x6_g16_k24_splitK", 1, 160, 4, 6, 16, 24),
        GroupNormConv2d("2x32x3x5_g8_k8_dense", 2, 32, 3, 5, 8, 8),
        GroupNormConv2d("1x24x4x4_g6_k8_dense", 1, 24, 4, 4, 6, 8),
        LayerNorm("3x5x40", 3, 5, 40),
        LayerNorm("2x77x32_offset50", 2, 77, 32, mean: 50f),
        LayerNorm("1x4x770", 1, 4, 770),
        Attention("self_b1h2_l37_d8", 1, 2, 37, 37, 8),
        Attention("cross_b2h2_l19_s77_d40", 2, 2, 19, 77, 40),
        Attention("causal_b1h2_l45_d64", 1, 2, 45, 45, 64, causal: true),
        Attention("causal_b1h1_l20_s70_d40", 1, 1, 20, 70, 40, causal: true),
        Attention("self_b1h2_l40_s50_d80", 1, 2, 40, 50, 80),
        Attention("cross_b1h1_l33_s20_d160", 1, 1, 33, 20, 160),
        SelfAttention("self_packed_b2h2_l21_d16", 2, 2, 21, 16),
        Attention("wide_b1h1_l20_s17_d200", 1, 1, 20, 17, 200),
        SelfAttention("wide_packed_b1h2_l9_d168", 1, 2, 9, 168),
        CrossAttention("cross_packed_b1h2_l13_s9_d24", 1, 2, 13, 9, 24),
        .. Activations([3, 5, 7]),
        Binary("add", [3, 5, 7], "add", (b, x, y) => b.Add(x, y)),
        Binary("subtract", [3, 5, 7], "subtract", (b, x, y) => b.Subtract(x, y)),
        Binary("multiply", [3, 5, 7], "multiply", (b, x, y) => b.Multiply(x, y)),
        Unary("affine", "scale_shift_clamp", [3, 5, 7], (b, x) => b.Affine(x, 0.5f, 1f, -2f, 3f), 1e-6, 1e-6,
            args: new() { ["scale"] = 0.5f, ["shift"] = 1f, ["min"] = -2f, ["max"] = 3f }),
        ChannelBias("2x3x5x7", 2, 3, 5, 7, perSample: false),
        ChannelBias("2x3x5x7_per_sample", 2, 3, 5, 7, perSample: true),
        Unary("geglu", "3x5x48", [3, 5, 48], (b, x) => b.Geglu(x)),
        Softmax("3x5x37", [3, 5, 37]),
        Softmax("4x70_to_f16", [4, 70], DType.F16),
        Concat("axis1", [2, 3, 5], [2, 4, 5], 1),
        Concat("axis2", [2, 3, 5], [2, 3, 2], 2),
        Narrow("axis2", [2, 3, 10], 2, 4, 5),
        Unary("transpose", "2x37x45", [2, 37, 45], (b, x) => b.Transpose(x), 0, 0),
        Upsample("2x_3x5x7", 1, 3, 5, 7, 10, 14),
        Upsample("to_9x11", 1, 3, 5, 7, 9, 11),
        Unary("avg_pool", "3x7x9", [1, 3, 7, 9], (b, x) => b.AvgPool2x2(x), 1e-6, 1e-6),
        TimestepEmbedding("d320_shift1", [0f, 1f, 250.5f, 500f, 999f], 320, true, 1f),
        TimestepEmbedding("d33_shift0_noflip", [0f, 1f, 250.5f, 999f], 33, false, 0f),
        TokenEmbedding("2x7_vocab50_h24", 2, 7, 50, 24),
        Convert("f32_to_f16", [3, 5, 7], DType.F32, DType.F16),
        Convert("f16_to_f32", [3, 5, 7], DType.F16, DType.F32),
    ];

    /// <summary>SD 1.5 at 512×512 (latents 64×64), batch 2 for classifier-free guidance; the VAE decoder at batch 1.</summary>
    public static IReadOnlyList<OpCase> StableDiffusion { get; } =
    [
        Gemm("proj_8192x320x320", 1, 8192, 320, 320, transB: true, bias: true, tol: 1e-4),
        Gemm("qkv_8192x960x320", 1, 8192, 960, 320, transB: true, tol: 1e-4),
        Gemm("ff_geglu_8192x2560x320", 1, 8192, 2560, 320, transB: true, bias: true, tol: 1e-4),
        GegluLinear("ff_fused_8192x320_to_1280", 8192, 320, 1280, tol: 1e-4),
        Gemm("ff_out_8192x320x1280", 1, 8192, 320, 1280, transB: true, bias: true, tol: 1e-4),
        Gemm("ff_out_residual_8192x320x1280", 1, 8192, 320, 1280, transB: true, bias: true, tol: 1e-4, residual: true),
        Gemm("proj_in_b2_4096x320x320_tAtB", 2, 4096, 320, 320, transA: true, transB: true, sharedB: true, bias: true, tol: 1e-4),
        Gemm("proj_out_b2_320x4096x320_row_bias_residual", 2, 320, 4096, 320, transB: true, sharedA: true, bias: true, biasPerRow: true,
            residual: true, tol: 1e-4),
        Gemm("proj_2048x640x640", 1, 2048, 640, 640, transB: true, bias: true, tol: 1e-4),
        Gemm("proj_512x1280x1280", 1, 512, 1280, 1280, transB: true, bias: true, tol: 1e-4),
        Gemm("clip_154x768x768", 1, 154, 768, 768, transB: true, bias: true, tol: 1e-4),
        Gemm("to_k_154x320x768", 1, 154, 320, 768, transB: true, tol: 1e-4),
        Conv2d("64x64_c320k320_k3", 2, 320, 64, 64, 320, 3, 1, Same1, tol: 1e-4),
        Conv2d("64x64_c320k320_k3_temb", 2, 320, 64, 64, 320, 3, 1, Same1, tol: 1e-4, sampleBias: true),
        Conv2d("32x32_c640k640_k3", 2, 640, 32, 32, 640, 3, 1, Same1, tol: 1e-4),
        Conv2d("16x16_c1280k1280_k3", 2, 1280, 16, 16, 1280, 3, 1, Same1, tol: 1e-4),
        Conv2d("8x8_c1280k1280_k3", 2, 1280, 8, 8, 1280, 3, 1, Same1, tol: 1e-4),
        Conv2d("64x64_c320k320_k3s2_down", 2, 320, 64, 64, 320, 3, 2, Same1, tol: 1e-4),
        Conv2d("64x64_c4k320_conv_in", 2, 4, 64, 64, 320, 3, 1, Same1, tol: 1e-4),
        Conv2d("64x64_c320k4_conv_out", 2, 320, 64, 64, 4, 3, 1, Same1, tol: 1e-4),
        Conv2d("32x32_c960k640_k1_shortcut", 2, 960, 32, 32, 640, 1, 1, Padding2d.None, residual: true, tol: 1e-4),
        // The last upsampler's conv (diffusers' Upsample2D: interpolate, then conv) as one op reading its input upsampled.
        Conv2d("64x64_c640k640_k3_upsample", 2, 640, 32, 32, 640, 3, 1, Same1, tol: 1e-4, upsample: true),
        // The VAE decoder's convolutions at each resolution (2.5 TFLOP of its decode), and its conv_out: 3 filters of a 128-row tile.
        Conv2d("vae_64x64_c512k512_k3", 1, 512, 64, 64, 512, 3, 1, Same1, tol: 1e-4),
        Conv2d("vae_128x128_c512k512_k3", 1, 512, 128, 128, 512, 3, 1, Same1, tol: 1e-4),
        Conv2d("vae_256x256_c256k256_k3", 1, 256, 256, 256, 256, 3, 1, Same1, tol: 1e-4),
        Conv2d("vae_512x512_c128k128_k3", 1, 128, 512, 512, 128, 3, 1, Same1, tol: 1e-4),
        Conv2d("vae_512x512_c128k3_conv_out", 1, 128, 512, 512, 3, 3, 1, Same1, tol: 1e-4),
        Conv2d("vae_512x512_c256k256_k3_upsample", 1, 256, 256, 256, 256, 3, 1, Same1, tol: 1e-4, upsample: true),
        GroupNorm("2x320x64x64_g32_silu", 2, 320, 64, 64, 32, silu: true),
        // A resnet's norm + SiLU and conv1 (the norm's result channel-blocked for the fp16 tensor-core convolution), at the
        // UNet's 64×64 and 8×8 levels and the VAE's 512² (the largest and the smallest planes it takes).
        GroupNormConv2d("64x64_c320k320", 2, 320, 64, 64, 32, 320, tol: 1e-4),
        GroupNormConv2d("8x8_c1280k1280", 2, 1280, 8, 8, 32, 1280, tol: 1e-4),
        GroupNormConv2d("vae_512x512_c128k128", 1, 128, 512, 512, 32, 128, tol: 1e-4),
        GroupNorm("2x640x32x32_g32", 2, 640, 32, 32, 32, silu: false),
        GroupNorm("2x1280x16x16_g32_silu", 2, 1280, 16, 16, 32, silu: true),
        GroupNorm("2x1280x8x8_g32_silu", 2, 1280, 8, 8, 32, silu: true),
        GroupNorm("vae_1x128x512x512_g32_silu", 1, 128, 512, 512, 32, silu: true),
        // The VAE's largest groups (up_blocks.3's first norm: 2.1 M elements, 256 slices of the one-pass kernel).
        GroupNorm("vae_1x256x512x512_g32_silu", 1, 256, 512, 512, 32, silu: true),
        LayerNorm("2x4096x320", 2, 4096, 320),
        LayerNorm("2x1024x640", 2, 1024, 640),
        LayerNorm("2x256x1280", 2, 256, 1280),
        LayerNorm("clip_2x77x768", 2, 77, 768),
        Attention("self_b2h8_l4096_d40", 2, 8, 4096, 4096, 40, tol: 1e-4),
        SelfAttention("self_packed_b2h8_l4096_d40", 2, 8, 4096, 40, tol: 1e-4),
        SelfAttention("vae_mid_b1h1_l4096_d512", 1, 1, 4096, 512, tol: 1e-4),
        Attention("cross_b2h8_l4096_s77_d40", 2, 8, 4096, 77, 40, tol: 1e-4),
        Attention("self_b2h8_l1024_d80", 2, 8, 1024, 1024, 80, tol: 1e-4),
        Attention("self_b2h8_l256_d160", 2, 8, 256, 256, 160, tol: 1e-4),
        Attention("self_b2h8_l64_d160", 2, 8, 64, 64, 160, tol: 1e-4),
        Attention("clip_causal_b2h12_l77_d64", 2, 12, 77, 77, 64, causal: true, tol: 1e-4),
        Activate("silu_2x320x64x64", [2, 320, 64, 64], Activation.Silu),
        Binary("add_2x320x64x64", [2, 320, 64, 64], "add", (b, x, y) => b.Add(x, y)),
        // One element, back to back: what one op costs the host (launch, pool, checks): × ops per step bounds a step from below.
        Binary("launch_latency_add_1", [1], "add", (b, x, y) => b.Add(x, y)),
        ChannelBias("temb_2x320x64x64", 2, 320, 64, 64, perSample: true),
        Unary("geglu", "2x4096x2560", [2, 4096, 2560], (b, x) => b.Geglu(x)),
        Concat("skip_2x640x32x32+2x320x32x32", [2, 640, 32, 32], [2, 320, 32, 32], 1),
        Unary("transpose", "2x320x4096", [2, 320, 4096], (b, x) => b.Transpose(x), 0, 0),
        Upsample("2x_2x1280x16x16", 2, 1280, 16, 16, 32, 32),
        Convert("f32_to_f16_2x320x64x64", [2, 320, 64, 64], DType.F32, DType.F16),
    ];

    /// <summary>
    /// <see cref="Small"/> with fp16 tensors (ids end in _f16): the fp16 kernels against the cpu backend's fp16
    /// reference. Conversions and the timestep embedding (always fp32) are not repeated.
    /// </summary>
    public static IReadOnlyList<OpCase> SmallHalf { get; } = [.. Small.Where(HasHalfVariant).Select(Half)];

    /// <summary><see cref="StableDiffusion"/> with fp16 tensors: what an fp16 UNet step runs.</summary>
    public static IReadOnlyList<OpCase> StableDiffusionHalf { get; } = [.. StableDiffusion.Where(HasHalfVariant).Select(Half)];

    /// <summary>Every case of the tables.</summary>
    public static IEnumerable<OpCase> All => Small.Concat(StableDiffusion).Concat(SmallHalf).Concat(StableDiffusionHalf);

    private static bool HasHalfVariant(OpCase c) => c.Family is not ("convert" or "timestep_embedding");

    private static IEnumerable<OpCase> Activations(int[] shape) =>
        Enum.GetValues<Activation>().Where(a => a != Activation.None)
            .Select(a => Activate(a.ToString().ToLowerInvariant(), shape, a));
}
