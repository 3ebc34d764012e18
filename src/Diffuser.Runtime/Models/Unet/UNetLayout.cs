namespace Diffuser.Models.Unet;

/// <summary>
/// One block of the UNet as it is built, with diffusers' per-block lists already resolved.
/// </summary>
/// <param name="Name">The weight prefix: down_blocks.i, mid_block or up_blocks.i.</param>
/// <param name="InChannels">Down blocks: channels entering; up blocks: channels of the deepest skip they consume.</param>
/// <param name="PrevOutputChannels">Up blocks: channels coming from the block below.</param>
/// <param name="Layers">Resnets (for up blocks: layers_per_block + 1).</param>
/// <param name="Heads">Attention heads (0 without cross-attention); each has <see cref="HeadDim"/> channels.</param>
/// <param name="HasSampler">Down blocks: a Downsample2D at the end; up blocks: an Upsample2D.</param>
public sealed record UNetBlockSpec(
    string Name,
    bool HasCrossAttention,
    int InChannels,
    int OutChannels,
    int PrevOutputChannels,
    int Layers,
    int TransformerLayers,
    int Heads,
    int CrossAttentionDim,
    bool HasSampler)
{
    public int HeadDim => Heads == 0 ? 0 : OutChannels / Heads;
}

/// <summary>The down, mid and up blocks of a UNet config, resolved the way diffusers' UNet2DConditionModel.__init__ does.</summary>
public sealed record UNetLayout(IReadOnlyList<UNetBlockSpec> Down, UNetBlockSpec Mid, IReadOnlyList<UNetBlockSpec> Up)
{
    public static UNetLayout Resolve(UNet2DConditionConfig c)
    {
        var channels = c.BlockOutChannels!;
        int n = channels.Length;
        // diffusers' misnomer: with num_attention_heads unset, attention_head_dim holds the number of heads per block
        // (SD 1.x: 8 heads at every width; SD 2.x: [5, 10, 20, 20], i.e. 64 channels per head).
        var heads = (c.NumAttentionHeads ?? c.AttentionHeadDim
            ?? throw new DiffuserException($"{c.Source}: attention_head_dim and num_attention_heads are both null.")).PerBlock(n, "attention heads", c.Source);
        var layers = c.LayersPerBlock.PerBlock(n, "layers_per_block", c.Source);
        var transformerLayers = c.TransformerLayersPerBlock.PerBlock(n, "transformer_layers_per_block", c.Source);
        var crossDims = c.CrossAttentionDim!.PerBlock(n, "cross_attention_dim", c.Source);

        var down = new List<UNetBlockSpec>();
        for (int i = 0; i < n; i++)
        {
            bool cross = c.DownBlockTypes![i] == UNet2DConditionConfig.CrossAttnDownBlock;
            down.Add(new UNetBlockSpec($"down_blocks.{i}", cross, i == 0 ? channels[0] : channels[i - 1], channels[i], 0,
                layers[i], transformerLayers[i], cross ? heads[i] : 0, crossDims[i], HasSampler: i < n - 1));
        }

        var mid = new UNetBlockSpec("mid_block", true, channels[^1], channels[^1], 0, 1, transformerLayers[^1], heads[^1], crossDims[^1], false);

        // Up blocks walk the lists backwards; each resnet also takes a skip from the matching down block.
        var up = new List<UNetBlockSpec>();
        for (int i = 0; i < n; i++)
        {
            int r = n - 1 - i;
            bool cross = c.UpBlockTypes![i] == UNet2DConditionConfig.CrossAttnUpBlock;
            up.Add(new UNetBlockSpec($"up_blocks.{i}", cross, channels[Math.Max(r - 1, 0)], channels[r], channels[Math.Min(r + 1, n - 1)],
                layers[r] + 1, transformerLayers[r], cross ? heads[r] : 0, crossDims[r], HasSampler: i < n - 1));
        }
        return new UNetLayout(down, mid, up);
    }
}
