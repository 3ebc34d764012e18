using System.Buffers.Binary;
using System.Text;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.PixelFormats;

namespace Diffuser.Tests.Imaging;

/// <summary>Small images written for the tests, and a PNG chunk lister to check what a file holds.</summary>
public static class TestImages
{
    /// <summary>Writes a <paramref name="width"/>×<paramref name="height"/> image whose pixels <paramref name="pixel"/> gives.</summary>
    public static string Write<TPixel>(string path, int width, int height, Func<int, int, TPixel> pixel, IImageEncoder encoder)
        where TPixel : unmanaged, IPixel<TPixel>
    {
        using var image = new Image<TPixel>(width, height);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                image[x, y] = pixel(x, y);
        image.Save(path, encoder);
        return path;
    }

    /// <summary>Deterministic RGB bytes (H, W, 3) that differ from pixel to pixel and channel to channel.</summary>
    public static byte[] Pattern(int width, int height) =>
        Enumerable.Range(0, width * height * 3).Select(i => (byte)(i * 37 + i / 3 * 11)).ToArray();

    /// <summary>The chunk types of a PNG file in order, with the text of tEXt/iTXt chunks.</summary>
    public static List<(string Type, string? Text)> Chunks(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        var chunks = new List<(string, string?)>();
        for (int at = 8; at + 8 <= bytes.Length;)
        {
            int length = (int)BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(at));
            string type = Encoding.ASCII.GetString(bytes, at + 4, 4);
            var data = bytes.AsSpan(at + 8, length);
            string? text = type switch
            {
                "tEXt" => Encoding.Latin1.GetString(data),
                "iTXt" => Encoding.UTF8.GetString(data),
                _ => null,
            };
            chunks.Add((type, text));
            at += 12 + length;
        }
        return chunks;
    }
}
