using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace Diffuser.Imaging;

/// <summary>
/// Reads an image file into RGBA pixels with ImageSharp, turning every way it can fail into a
/// <see cref="DiffuserException"/> that names the file: missing, a folder, unreadable, not an image format ImageSharp
/// knows, corrupt or truncated, too large or too small (checked from the header, before decoding). EXIF
/// orientation is applied, as diffusers' <c>load_image</c> does with <c>ImageOps.exif_transpose</c>.
/// </summary>
internal static class ImageDecoding
{
    public const string SupportedFormats = "PNG, JPEG, WebP, BMP, GIF, TIFF, TGA, PBM";

    /// <param name="role">What the file is for ("image", "mask"), used in messages.</param>
    public static Image<Rgba32> Decode(string path, string role, ImageLoadOptions options)
    {
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full)) throw new DiffuserException($"The {role} {full} is a folder, not an image file.");
        if (!File.Exists(full)) throw new DiffuserException($"The {role} file {full} does not exist.");
        var info = Read(full, role, () => Image.Identify(full, out IImageFormat _));
        if (info is null)
            throw new DiffuserException($"The {role} {full} is not an image in a supported format ({SupportedFormats}).");
        CheckSides(full, role, info.Width, info.Height, options);
        var image = Read(full, role, () => Image.Load<Rgba32>(full));
        try
        {
            image.Mutate(x => x.AutoOrient());
            return image;
        }
        catch
        {
            image.Dispose();
            throw;
        }
    }

    /// <summary>Both sides within [MinSide, MaxSide] (the limits are symmetric, so orientation does not matter).</summary>
    public static void CheckSides(string what, string role, int width, int height, ImageLoadOptions options)
    {
        if (Math.Max(width, height) > options.MaxSide)
            throw new DiffuserException($"The {role} {what} is {width}×{height}; sides of at most {options.MaxSide} px are accepted. Scale it down first.");
        if (Math.Min(width, height) < options.MinSide)
            throw new DiffuserException($"The {role} {what} is {width}×{height}; sides of at least {options.MinSide} px are needed.");
    }

    private static T Read<T>(string path, string role, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (e is UnknownImageFormatException or NotSupportedException)
        {
            throw new DiffuserException($"The {role} {path} is not an image in a supported format ({SupportedFormats}).", e);
        }
        catch (Exception e) when (e is ImageFormatException or InvalidImageContentException)
        {
            throw new DiffuserException($"The {role} {path} cannot be decoded: the file is corrupt or truncated ({e.Message}).", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DiffuserException($"The {role} {path} cannot be read: {e.Message}", e);
        }
    }
}
