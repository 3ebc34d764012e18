namespace Diffuser.Text;

/// <summary>
/// One prompt as the text encoder receives it (transformers' <c>tokenizer(prompt, padding="max_length",
/// max_length=N, truncation=True)</c>): BOS, the prompt's ids, EOS, then pad ids up to N.
/// </summary>
/// <param name="InputIds">N ids. When the prompt is too long its first N − 2 ids are kept and EOS is the last id.</param>
/// <param name="AttentionMask">N flags: 1 for BOS, prompt ids and EOS, 0 for padding (the SD pipelines don't pass it on).</param>
/// <param name="UnpaddedLength">BOS + prompt ids + EOS before truncation; above N means the prompt was truncated.</param>
public sealed record ClipTokenization(int[] InputIds, int[] AttentionMask, int UnpaddedLength)
{
    public bool Truncated => UnpaddedLength > InputIds.Length;
}
