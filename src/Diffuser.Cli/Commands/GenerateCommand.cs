using System.CommandLine;
using System.Diagnostics;
using Diffuser.Backends;
using Diffuser.Cli.Generation;
using Diffuser.Hub;
using Diffuser.Imaging;
using Diffuser.Pipelines;
using Diffuser.Tensors;
using Diffuser.Schedulers;
using Spectre.Console;

namespace Diffuser.Cli.Commands;

/// <summary>
/// <c>diffuser generate</c>: text-to-image, image-to-image (<c>--init-image</c>) and inpainting (<c>--mask</c>) with a
/// diffusers model folder or hub id. Inputs and output paths are checked before the model is loaded; the images are
/// written (each with its A1111 <c>parameters</c> text) only once the whole run has succeeded, so an error or Ctrl+C
/// leaves no file behind.
/// </summary>
public sealed class GenerateCommand : DiffuserCommand
{
    private readonly GenerateOptions _options = new();

    public GenerateCommand(CliContext context)
        : base(context, "generate", "Generate images from a prompt (text-to-image), an init image (img2img) or an image and mask (inpainting).")
    {
        foreach (var option in _options.All) Options.Add(option);
    }

    protected override int Execute(ParseResult result, CancellationToken cancellation)
    {
        var total = Stopwatch.StartNew();
        var settings = _options.Bind(result);
        // with --json, stdout carries only the JSON; people still see progress on stderr
        var console = settings.Json ? Context.ErrorConsole : Context.Console;
        var request = GenerationRequests.Build(settings);
        var outputs = GenerationOutputs.Plan(settings.Output, settings.SaveLatents, settings.BatchSize * settings.BatchCount, settings.Overwrite);
        var progress = new ProgressDisplay(console);

        var stage = Stopwatch.StartNew();
        var hub = HubSettings.FromEnvironment(Context.Environment);
        using var resolver = new ModelResolver(settings.Offline ? hub with { Offline = true } : hub);
        var model = progress.Downloads(p => resolver.Resolve(settings.Model, new ModelFileOptions { Variant = settings.Variant }, p, cancellation));
        var taesd = settings.Taesd is null ? null : progress.Downloads(p => resolver.Resolve(settings.Taesd, null, p, cancellation));
        // an unknown sampler name fails here, before the weights are loaded
        if (settings.Sampler is { } sampler)
            SchedulerRegistry.Create(sampler, SchedulerConfig.Load(Path.Combine(model.Folder, StableDiffusionPipeline.SchedulerConfigPath)));
        var resolveTime = stage.Elapsed;

        stage.Restart();
        using var backend = BackendFactory.Create(settings.Device);
        console.MarkupLine($"Loading [bold]{Markup.Escape(model.DisplayName)}[/] on {Markup.Escape(backend.Name)} ({Markup.Escape(backend.Device.Name)}), {settings.DType}");
        using var pipeline = StableDiffusionPipeline.Load(model.Folder, backend,
            new PipelineOptions
            {
                TinyAutoencoderFolder = taesd?.Folder,
                DType = DTypeExtensions.Parse(settings.DType),
                VaeDType = settings.VaeDType is { } vae ? DTypeExtensions.Parse(vae) : null,
            });
        var loadTime = stage.Elapsed;
        cancellation.ThrowIfCancellationRequested();

        var generated = progress.Steps(p => pipeline.Generate(request, p, cancellationToken: cancellation));
        var names = A1111SamplerNames.Describe(pipeline.SchedulerFor(request.Scheduler));
        var images = generated.Images.Select(i => new OutputImage(i.Image, i.Seed,
            ImageParameters.For(settings, request, i, names, model.DisplayName, taesd?.DisplayName).ToInfotext())).ToList();

        stage.Restart();
        var files = outputs.Save(images, generated.FinalLatents, cancellation);
        var saveTime = stage.Elapsed;

        var t = generated.Timings;
        var first = generated.Images[0].Image;
        var report = new GenerationReport(
            model.DisplayName, model.Folder, $"{backend.Name} ({backend.Device.Name})", ModeOf(request), first.Width, first.Height,
            request.Steps, names.Sampler, names.ScheduleType, settings.Guidance,
            [.. generated.Images.Select((image, i) => new ImageReport(files[i], image.Seed, image.Index))],
            [.. generated.Images.Select(i => i.Seed)],
            settings.SaveLatents is null ? null : Path.GetFullPath(settings.SaveLatents),
            new StageTimings(resolveTime.TotalSeconds, loadTime.TotalSeconds, t.TextEncode.TotalSeconds, t.PrepareLatents.TotalSeconds,
                t.Denoise.TotalSeconds, t.VaeDecode.TotalSeconds, saveTime.TotalSeconds, total.Elapsed.TotalSeconds,
                t.Steps.Count, t.Steps.Count / Math.Max(t.Denoise.TotalSeconds, 1e-9)));
        report.Render(console);
        if (settings.Json) Context.Output.WriteLine(report.ToJson());
        return 0;
    }

    private static string ModeOf(GenerationRequest request) =>
        request.Mask is not null ? "inpaint" : request.InitImage is not null ? "img2img" : "txt2img";
}
