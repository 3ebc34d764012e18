using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace Diffuser.Imaging;

/// <summary>
/// Writes generated images as 8-bit RGB PNG files with AUTOMATIC1111's <c>parameters</c> text chunk (tEXt when the
/// text is Latin-1, iTXt otherwise, never compressed: what PIL's <c>PngInfo.add_text</c> writes), and reads the
/// chunk back. A file is written to a temporary name in the destination folder and renamed into place, so a
/// failure or cancellation never leaves a partial file, and an existing file is replaced only when asked.
/// </summary>
public static class PngImageFile
{
    /// <summary>The text chunk keyword A1111 (and tools that read its images) use.</summary>
    public const string ParametersKeyword = "parameters";

    private const int MaxNumberingAttempts = 1000;

    /// <summary>Writes <paramref name="image"/> to <paramref name="path"/> (folders are created); returns the full path.</summary>
    /// <param name="parameters">The infotext (<see cref="Infotext.Format"/>); null writes no text chunk.</param>
    /// <param name="overwrite">Replace an existing file; otherwise an existing file is an error.</param>
    public static string Save(RgbImage image, string path, string? parameters = null, bool overwrite = false, CancellationToken cancellation = default)
    {
        string full = Path.GetFullPath(path);
        if (!TryWrite(image, full, parameters, overwrite, cancellation))
            throw new DiffuserException($"{full} already exists; choose another name or allow overwriting it.");
        return full;
    }

    /// <summary>
    /// Writes <paramref name="image"/> as the next numbered file of <paramref name="folder"/> (<c>00012-42.png</c>,
    /// see <see cref="OutputFileNames"/>), taking the following number if another writer takes one first.
    /// </summary>
    public static string SaveNumbered(RgbImage image, string folder, long seed, string? parameters = null, CancellationToken cancellation = default)
    {
        string full = Path.GetFullPath(folder);
        int number = OutputFileNames.NextNumber(full);
        for (int attempt = 0; attempt < MaxNumberingAttempts; attempt++, number++)
        {
            string path = Path.Combine(full, OutputFileNames.Numbered(number, seed));
            if (TryWrite(image, path, parameters, overwrite: false, cancellation)) return path;
        }
        throw new DiffuserException($"No free numbered file name in {full} after {MaxNumberingAttempts} tries.");
    }

    /// <summary>The <c>parameters</c> text of a PNG file; null when it has none.</summary>
    public static string? ReadParameters(string path)
    {
        string full = Path.GetFullPath(path);
        if (!File.Exists(full)) throw new DiffuserException($"The image {full} does not exist.");
        IImageInfo? info;
        IImageFormat? format;
        try
        {
            info = Image.Identify(full, out format);
        }
        catch (Exception e) when (e is ImageFormatException or IOException or UnauthorizedAccessException)
        {
            throw new DiffuserException($"Cannot read {full}: {e.Message}", e);
        }
        if (info is null || format is not PngFormat)
            throw new DiffuserException($"{full} is not a PNG file ({format?.Name ?? "unknown format"}); generation parameters are read from PNG text chunks.");
        return info.Metadata.GetPngMetadata().TextData.FirstOrDefault(t => t.Keyword == ParametersKeyword).Value;
    }

    /// <summary>Encodes to a temporary file beside <paramref name="full"/> and renames it; false when the file exists and may not be replaced.</summary>
    private static bool TryWrite(RgbImage image, string full, string? parameters, bool overwrite, CancellationToken cancellation)
    {
        cancellation.ThrowIfCancellationRequested();
        if (Directory.Exists(full)) throw new DiffuserException($"Cannot write the image to {full}: it is a folder.");
        if (!overwrite && File.Exists(full)) return false;
        string folder = Path.GetDirectoryName(full)!;
        string temp = Path.Combine(folder, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            Directory.CreateDirectory(folder);
            using (var png = Image.LoadPixelData<Rgb24>(image.Pixels, image.Width, image.Height))
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                if (parameters is not null)
                    png.Metadata.GetPngMetadata().TextData.Add(new PngTextData(ParametersKeyword, parameters, "", ""));
                png.SaveAsPng(stream, Encoder);
            }
            cancellation.ThrowIfCancellationRequested();
            try
            {
                File.Move(temp, full, overwrite);
            }
            catch (IOException) when (!overwrite && File.Exists(full))
            {
                return false;  // another writer took the name between the check and the rename
            }
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DiffuserException($"Cannot write the image {full}: {e.Message}", e);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>8-bit RGB, text chunks never compressed (as PIL writes them).</summary>
    private static readonly PngEncoder Encoder = new()
    {
        ColorType = PngColorType.Rgb,
        BitDepth = PngBitDepth.Bit8,
        TextCompressionThreshold = int.MaxValue,
    };
}
