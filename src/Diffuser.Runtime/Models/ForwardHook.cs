using Diffuser.Tensors;

namespace Diffuser.Models;

/// <summary>
/// Sees a named intermediate of a forward pass (diffusers' module names: <c>time_embedding</c>, <c>down_blocks.0</c>,
/// <c>decoder.mid_block</c>...), like a torch forward hook. The tensor is only valid during the call.
/// </summary>
public delegate void ForwardHook(string name, Tensor value);
