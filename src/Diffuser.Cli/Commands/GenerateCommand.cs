using System.CommandLine;
using System.Diagnostics;
using Diffuser.Backends;
using Diffuser.Cli.Generation;
using Diffuser.Hub;
using Diffuser.Imaging;
using Diffuser.Models.Loading;
using Diffuser.Pipelines;
using Diffuser.Tensors;
using Diffuser.Schedulers;
using Spectre.Console;

namespace Diffuser.Cli.Commands;

/// <summary>
/// <c>diffuser generate</c>: text-to-image, image-to-image (<c>--init-image</c>) and inpainting (<c>--mask</c>) with a
/// diffusers model folder or hub id, or an SD 1.x/2.x single-file checkpoint. Inputs and output paths are checked before
/// the model is loaded; the images are written (each with its A1111 <c>parameters</c> text) only once the whole run
/// has succeeded, so an error or Ctrl+C leaves no file behind.
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
        // a single-file checkpoint holds weights only: its configs, tokenizer and scheduler come from a diffusers model like it
        using var checkpoint = File.Exists(settings.Model) ? SingleFileCheckpoint.Open(settings.Model) : null;
        if (checkpoint is null && settings.Config is not null)
            throw new DiffuserException("--config is for single-file checkpoints; a diffusers folder or hub id brings its own configs.");
        if (checkpoint is not null && settings.Variant is not null)
            throw new DiffuserException("--variant chooses a diffusers model's weight files; a single-file checkpoint is its own weights.");
        var model = progress.Downloads(p => checkpoint is null
            ? resolver.Resolve(settings.Model, new ModelFileOptions { Variant = settings.Variant }, p, cancellation)
            : resolver.Resolve(settings.Config ?? checkpoint.DefaultConfigRepository, new ModelFileOptions { ConfigsOnly = true }, p, cancellation));
        string modelName = checkpoint is null ? model.DisplayName : Path.GetFileNameWithoutExtension(checkpoint.Path);
        var taesd = settings.Taesd is null ? null : progress.Downloads(p => resolver.Resolve(settings.Taesd, null, p, cancellation));
        // an unknown sampler name fails here, before the weights are loaded
        if (settings.Sampler is { } sampler)
            SchedulerRegistry.Create(sampler, SchedulerConfig.Load(Path.Combine(model.Folder, StableDiffusionPipeline.SchedulerConfigPath)));
        var resolveTime = stage.Elapsed;

        stage.Restart();
        using var backend = BackendFactory.Create(settings.Device);
        console.MarkupLine($"Loading [bold]{Markup.Escape(modelName)}[/] on {Markup.Escape(backend.Name)} ({Markup.Escape(backend.Device.Name)}), {settings.DType}");
        var pipelineOptions = new PipelineOptions
        {
            TinyAutoencoderFolder = taesd?.Folder,
            DType = DTypeExtensions.Parse(settings.DType),
            VaeDType = settings.VaeDType is { } vae ? DTypeExtensions.Parse(vae) : null,
        };
        using var pipeline = checkpoint is null
            ? StableDiffusionPipeline.Load(model.Folder, backend, pipelineOptions)
            : StableDiffusionPipeline.LoadSingleFile(checkpoint, model.Folder, backend, pipelineOptions);
        checkpoint?.Dispose();  // its tensors are on the backend now: unmap the file
        var loadTime = stage.Elapsed;
        cancellation.ThrowIfCancellationRequested();

        var generated = progress.Steps(p => pipeline.Generate(request, p, cancellationToken: cancellation));
        var names = A1111SamplerNames.Describe(pipeline.SchedulerFor(request.Scheduler));
        var images = generated.Images.Select(i => new OutputImage(i.Image, i.Seed,
            ImageParameters.For(settings, request, i, names, modelName, taesd?.DisplayName).ToInfotext())).ToList();

        stage.Restart();
        var files = outputs.Save(images, generated.FinalLatents, cancellation);
        var saveTime = stage.Elapsed;

        var t = generated.Timings;
        var first = generated.Images[0].Image;
        var report = new GenerationReport(
            modelName, checkpoint?.Path ?? model.Folder, $"{backend.Name} ({backend.Device.Name})", ModeOf(request), first.Width, first.Height,
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
