using Diffuser.Tensors;
using Diffuser.Tests.Infrastructure;
using Diffuser.Tests.Schedulers;

namespace Diffuser.Tests.Pipelines;

/// <summary>
/// Every golden pipeline run twice, with fp32 and with fp16 weights and activations (latents and sampler steps fp32 in
/// both): the fp16 images must stay within 2/255 of the fp32 ones.
/// </summary>
public sealed class HalfPrecisionPipelineTests(PipelineFixture single, HalfPipelineFixture half, ITestOutputHelper output)
    : IClassFixture<PipelineFixture>, IClassFixture<HalfPipelineFixture>
{
    [Theory, MemberData(nameof(PipelineStepReplayTests.Pipelines), MemberType = typeof(PipelineStepReplayTests))]
    public void Fp16ImagesMatchFp32(string model, string file)
    {
        var golden = Golden.Open(model, file);
        var request = PipelineGoldenTests.RequestFor(golden, golden.Description());
        var (images32, latents32) = Run(single, model, request);
        var (images16, latents16) = Run(half, model, request);
        Assert.Equal(DType.F16, half.Get(model).Unet.DType);
        double imageDiff = Tolerance.MaxAbsDiff(images16, images32), latentDiff = Tolerance.MaxAbsDiff(latents16, latents32);
        double latentScale = latents32.Max(v => Math.Abs(v));
        output.WriteLine($"{model}/{file}: fp16 vs fp32 max |image diff| {imageDiff * 255:F3}/255, final latents max |diff| {latentDiff:G3} (max |latent| {latentScale:G3})");
        Tolerance.AssertClose(images16, images32, 2.0 / 255, 0, $"{model}/{file} fp16 image");
    }

    [Fact]
    public void TheVaeFollowsThePipelineDtypeUnlessItsOwnIsGiven()
    {
        // As diffusers' SD 1.x/2.x pipelines: tiny-sd's VAE config says force_upcast, yet it decodes in fp16.
        var fp16 = half.Get("tiny-sd");
        Assert.Equal(DType.F16, fp16.TextEncoder.DType);
        Assert.Equal(DType.F16, ((Diffuser.Models.Vae.AutoencoderKL)fp16.Vae).DType);
        using var upcast = Diffuser.Pipelines.StableDiffusionPipeline.Load(TestPaths.Model("tiny-sd"), half.Backend,
            new Diffuser.Pipelines.PipelineOptions { DType = DType.F16, VaeDType = DType.F32 });
        Assert.Equal(DType.F32, ((Diffuser.Models.Vae.AutoencoderKL)upcast.Vae).DType);
        var request = new Diffuser.Pipelines.GenerationRequest { Prompt = "a cat", Steps = 2, Seed = 3, ReturnLatents = true };
        var (a, _) = Run(half, "tiny-sd", request);
        var recorder = new GoldenRecorder();
        upcast.Generate(request, observer: recorder);
        output.WriteLine($"tiny-sd fp16, fp16 VAE vs fp32 VAE: max |image diff| {Tolerance.MaxAbsDiff([.. recorder.ImagesNhwc], a) * 255:F3}/255");
        Tolerance.AssertClose([.. recorder.ImagesNhwc], a, 2.0 / 255, 0, "fp32 VAE");
    }

    private static (float[] Images, float[] Latents) Run(PipelineFixture fixture, string model, Diffuser.Pipelines.GenerationRequest request)
    {
        var recorder = new GoldenRecorder();
        var result = fixture.Get(model).Generate(request, observer: recorder);
        return ([.. recorder.ImagesNhwc], result.FinalLatents!.Values);
    }
}
