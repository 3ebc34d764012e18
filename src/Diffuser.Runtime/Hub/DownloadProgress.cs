namespace Diffuser.Hub;

/// <summary>
/// Progress of one file's download, reported through <see cref="IProgress{T}"/>: once when it starts (with the
/// bytes already there when it resumes), as bytes arrive (at most every 256 KiB), and once when it is complete.
/// </summary>
/// <param name="Repository">The repository id (<c>org/name</c>).</param>
/// <param name="File">The path inside the repository (<c>unet/diffusion_pytorch_model.safetensors</c>).</param>
/// <param name="BytesDone">Bytes on disk so far, including those of an earlier, interrupted download.</param>
/// <param name="BytesTotal">The file's size as the hub announced it; −1 when unknown.</param>
/// <param name="FileNumber">1-based position of the file among the <paramref name="FileCount"/> being downloaded.</param>
/// <param name="FileCount">How many files this resolution downloads.</param>
public readonly record struct DownloadProgress(string Repository, string File, long BytesDone, long BytesTotal, int FileNumber, int FileCount)
{
    /// <summary>Whether the file is complete (all announced bytes are there).</summary>
    public bool IsComplete => BytesTotal >= 0 && BytesDone == BytesTotal;
}
