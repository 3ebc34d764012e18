using System.Globalization;

namespace Diffuser.Imaging;

/// <summary>
/// AUTOMATIC1111's numbered output names, <c>{number:00000}-{seed}.png</c>: the number is one more than the largest
/// leading number of any file in the folder (0 in an empty or missing folder), so a run never reuses a number even
/// after files were deleted in between.
/// </summary>
public static class OutputFileNames
{
    /// <summary>The next number in <paramref name="folder"/> (A1111's <c>get_next_sequence_number</c> without a basename).</summary>
    public static int NextNumber(string folder)
    {
        if (!Directory.Exists(folder)) return 0;
        int largest = -1;
        foreach (string path in Directory.EnumerateFileSystemEntries(folder))
        {
            string first = Path.GetFileNameWithoutExtension(path).Split('-')[0];
            if (first.Length > 0 && first.All(char.IsAsciiDigit) && int.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out int number))
                largest = Math.Max(largest, number);
        }
        return largest + 1;
    }

    /// <summary>The file name for <paramref name="number"/> and <paramref name="seed"/>: <c>00007-42.png</c>.</summary>
    public static string Numbered(int number, long seed, string extension = ".png") =>
        string.Create(CultureInfo.InvariantCulture, $"{number:00000}-{seed}{extension}");

    /// <summary>The full path of the next numbered file in <paramref name="folder"/>.</summary>
    public static string Next(string folder, long seed, string extension = ".png") =>
        Path.Combine(Path.GetFullPath(folder), Numbered(NextNumber(folder), seed, extension));
}
