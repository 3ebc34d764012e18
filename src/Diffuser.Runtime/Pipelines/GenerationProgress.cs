namespace Diffuser.Pipelines;

/// <summary>Reported after each denoising step through <see cref="IProgress{T}"/>.</summary>
/// <param name="Step">Steps done in this batch (1 after the first).</param>
/// <param name="TotalSteps">Steps the batch runs (model calls: img2img runs fewer, Heun and KDPM2 two per step).</param>
/// <param name="Batch">The batch running, from 0.</param>
/// <param name="BatchCount">Batches in the request.</param>
/// <param name="FirstImage">Index of the batch's first image among all images of the request.</param>
/// <param name="Elapsed">Time since the request started.</param>
/// <param name="IterationsPerSecond">Steps per second in this batch so far.</param>
public readonly record struct GenerationProgress(int Step, int TotalSteps, int Batch, int BatchCount, int FirstImage,
    TimeSpan Elapsed, double IterationsPerSecond);
