#!/usr/bin/env python3
"""PyTorch timings of the very same op cases Diffuser times (read from the JSON that `diffuser bench --export-cases`
writes from OpCases), plus a diffusers-style eager SD UNet step built from the model's config.json, the device's
copy bandwidth and matrix rates. fp32 with TF32 disabled, and fp16; CUDA events, warm-up, median of samples.

    python3 bench/gpu/torch_bench.py --cases cases.json --unet-config sd15/unet/config.json --out torch.json

Writes {"device", "torch", "peaks": {...}, "cases": {id: {"fp32_ms", "fp16_ms", "flops", "bytes"}},
"unet_step": {"fp32_ms", "fp16_ms", "parameters", "batch", "latent"}} and prints a short table.
"""
import argparse
import contextlib
import json
import math
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def timed(fn, device, min_sample_s=1e-3, samples=15, warmup=3):
    """Median seconds per call: warm-up calls, then samples of back-to-back calls (enough for ~1 ms each)."""
    for _ in range(warmup):
        fn()
    if device.type != "cuda":
        t = time.perf_counter()
        fn()
        return time.perf_counter() - t
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    fn()
    end.record()
    end.synchronize()
    once = max(start.elapsed_time(end) * 1e-3, 1e-7)
    runs = int(min(max(min_sample_s / once, 1), 1000))
    times = []
    for _ in range(samples):
        start.record()
        for _ in range(runs):
            fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) * 1e-3 / runs)
    return statistics.median(times)


def attention(q, k, v, heads, causal):
    """Packed [B, L, H*D] in and out, as Diffuser's op; SDPA (flash / memory-efficient kernels) in between."""
    b, l, w = q.shape
    s, d = k.shape[1], w // heads
    q, k, v = (t.view(b, -1, heads, d).transpose(1, 2) for t in (q, k, v))
    if hasattr(F, "scaled_dot_product_attention"):
        o = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    else:  # torch < 2.0 (local dry runs only)
        scores = q @ k.transpose(-1, -2) / math.sqrt(d)
        if causal:
            scores = scores.masked_fill(torch.ones(l, s, dtype=torch.bool, device=q.device).triu(1), float("-inf"))
        o = scores.softmax(-1) @ v
    return o.transpose(1, 2).reshape(b, l, w)


ACTIVATIONS = {
    "none": lambda x: x, "silu": F.silu, "geluerf": F.gelu, "gelutanh": lambda x: F.gelu(x, approximate="tanh"),
    "quickgelu": lambda x: x * torch.sigmoid(1.702 * x), "relu": F.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh,
    "exp": torch.exp,
}


def op_call(case, t):
    """A closure running the case's op on input tensors t, as torch would (the same parameters as OpCases)."""
    fam, a = case["family"], case["args"]
    if fam == "gemm":
        act, alpha = ACTIVATIONS[a["activation"]], a["alpha"]
        x = t[0].transpose(-1, -2) if a["trans_a"] else t[0]
        bias = t[2] if a["bias"] else None
        if bias is not None and a.get("bias_per_row"):
            bias = bias[:, None]
        res = t[-1] if a.get("residual") else None
        if a["trans_b"] and t[1].dim() == 2 and alpha == 1 and not a.get("bias_per_row"):
            if res is not None:  # diffusers adds the residual in a separate kernel
                return lambda: act(F.linear(x, t[1], bias)) + res
            return lambda: act(F.linear(x, t[1], bias))  # cuBLAS(Lt) with the bias in its epilogue
        w = t[1].transpose(-1, -2) if a["trans_b"] else t[1]
        plain = lambda: act(torch.matmul(x, w) * alpha + (bias if bias is not None else 0))
        return (lambda: plain() + res) if res is not None else plain
    if fam == "geglu_linear":
        def geglu_linear():
            h, g = F.linear(t[0], t[1], t[2]).chunk(2, dim=-1)
            return h * F.gelu(g)
        return geglu_linear
    if fam == "conv2d":
        top, left, bottom, right = a["padding"]
        bias = t[2] if a["bias"] else None
        res = t[-1] if a["residual"] else None
        if a.get("sample_bias"):
            sb = t[3 if a["bias"] else 2].t()  # [K, N] (filter-major) → [N, K]
            res = sb[:, :, None, None] if res is None else res + sb[:, :, None, None]  # torch adds the time embedding separately
        # diffusers' Upsample2D: interpolate, then the conv (two ops in eager PyTorch)
        x = (lambda: F.interpolate(t[0], scale_factor=2.0, mode="nearest")) if a.get("upsample") else (lambda: t[0])
        if top == bottom and left == right:
            conv = lambda: F.conv2d(x(), t[1], bias, a["stride"], (top, left))
        else:
            conv = lambda: F.conv2d(F.pad(x(), (left, right, top, bottom)), t[1], bias, a["stride"])
        return (lambda: conv() + res) if res is not None else conv
    if fam == "group_norm":
        post = F.silu if a["silu"] else (lambda x: x)
        return lambda: post(F.group_norm(t[0], a["groups"], t[1], t[2], a["eps"]))
    if fam == "group_norm_conv2d":  # a resnet's norm, SiLU and 3×3 convolution: three kernels in eager PyTorch
        return lambda: F.conv2d(F.silu(F.group_norm(t[0], a["groups"], t[1], t[2], a["eps"])), t[3], t[4], 1, 1)
    if fam == "layer_norm":
        return lambda: F.layer_norm(t[0], (t[0].shape[-1],), t[1], t[2], a["eps"])
    if fam == "attention":
        packing = a.get("packing", "none")
        if packing == "qkv":
            return lambda: attention(*t[0].chunk(3, dim=-1), a["heads"], a["causal"])
        if packing == "kv":
            return lambda: attention(t[0], *t[1].chunk(2, dim=-1), a["heads"], a["causal"])
        return lambda: attention(t[0], t[1], t[2], a["heads"], a["causal"])
    if fam == "activation":
        return lambda: ACTIVATIONS[a["activation"]](t[0])
    if fam == "binary":
        return {"add": lambda: t[0] + t[1], "subtract": lambda: t[0] - t[1], "multiply": lambda: t[0] * t[1]}[a["op"]]
    if fam == "channel_bias":
        n, c = t[0].shape[:2]
        bias = t[1].view(n, c, 1, 1) if a["per_sample"] else t[1].view(1, c, 1, 1)
        return lambda: t[0] + bias
    if fam == "geglu":
        def geglu():
            h, g = t[0].chunk(2, dim=-1)
            return h * F.gelu(g)
        return geglu
    if fam == "concat":
        return lambda: torch.cat([t[0], t[1]], dim=a["axis"])
    if fam == "transpose":
        return lambda: t[0].transpose(-1, -2).contiguous()
    if fam == "upsample":
        return lambda: F.interpolate(t[0], size=(a["out_h"], a["out_w"]), mode="nearest")
    if fam == "convert":
        return lambda: t[0].to(torch.float16 if a["to"] == "f16" else torch.float32)
    if fam == "softmax":  # fp32 softmax; probabilities in the case's output dtype ("input": the input's)
        out = torch.float16 if a["output"] == "f16" else t[0].dtype
        return lambda: t[0].softmax(-1, dtype=torch.float32).to(out)
    return None


def make_inputs(case, device, dtype, gen):
    tensors = []
    for spec in case["inputs"]:
        x = torch.randn(spec["shape"], generator=gen, device=device) * spec["std"] + spec["mean"]
        tensors.append(x.to(dtype) if case["family"] != "convert" else x)
    return tensors


# ---- a diffusers-style eager UNet2DConditionModel (SD 1.x / 2.x layout), random weights --------------------------

class ResnetBlock(nn.Module):
    def __init__(self, cin, cout, temb, groups, eps):
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(groups, cin, eps), nn.Conv2d(cin, cout, 3, padding=1)
        self.time_emb_proj = nn.Linear(temb, cout)
        self.norm2, self.conv2 = nn.GroupNorm(groups, cout, eps), nn.Conv2d(cout, cout, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x))) + self.time_emb_proj(temb)[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.conv_shortcut(x) if self.conv_shortcut is not None else x) + h


class Attention(nn.Module):
    def __init__(self, dim, context_dim, heads):
        super().__init__()
        self.heads = heads
        self.to_q, self.to_k, self.to_v = nn.Linear(dim, dim, False), nn.Linear(context_dim, dim, False), nn.Linear(context_dim, dim, False)
        self.to_out = nn.Linear(dim, dim)

    def forward(self, x, context=None):
        context = x if context is None else context
        return self.to_out(attention(self.to_q(x), self.to_k(context), self.to_v(context), self.heads, False))


class TransformerBlock(nn.Module):
    def __init__(self, dim, context_dim, heads):
        super().__init__()
        self.norm1, self.attn1 = nn.LayerNorm(dim), Attention(dim, dim, heads)
        self.norm2, self.attn2 = nn.LayerNorm(dim), Attention(dim, context_dim, heads)
        self.norm3, self.ff_in, self.ff_out = nn.LayerNorm(dim), nn.Linear(dim, 8 * dim), nn.Linear(4 * dim, dim)

    def forward(self, x, context):
        x = x + self.attn1(self.norm1(x))
        x = x + self.attn2(self.norm2(x), context)
        h, g = self.ff_in(self.norm3(x)).chunk(2, dim=-1)
        return x + self.ff_out(h * F.gelu(g))


class Transformer2D(nn.Module):
    def __init__(self, dim, context_dim, heads, groups, linear):
        super().__init__()
        self.linear = linear
        self.norm = nn.GroupNorm(groups, dim, 1e-6)
        self.proj_in = nn.Linear(dim, dim) if linear else nn.Conv2d(dim, dim, 1)
        self.block = TransformerBlock(dim, context_dim, heads)
        self.proj_out = nn.Linear(dim, dim) if linear else nn.Conv2d(dim, dim, 1)

    def forward(self, x, context):
        b, c, h, w = x.shape
        y = self.norm(x)
        if not self.linear:
            y = self.proj_in(y)
        y = y.permute(0, 2, 3, 1).reshape(b, h * w, c)
        if self.linear:
            y = self.proj_in(y)
        y = self.block(y, context)
        if self.linear:
            y = self.proj_out(y)
        y = y.reshape(b, h, w, c).permute(0, 3, 1, 2).contiguous()
        if not self.linear:
            y = self.proj_out(y)
        return x + y


class UNet(nn.Module):
    """Channels, heads and blocks from a diffusers UNet2DConditionModel config (SD 1.x/2.x: no text_time)."""

    def __init__(self, cfg):
        super().__init__()
        ch, layers, groups, eps = cfg["block_out_channels"], cfg["layers_per_block"], cfg["norm_num_groups"], cfg["norm_eps"]
        heads_cfg = cfg.get("num_attention_heads") or cfg["attention_head_dim"]  # SD 1.x: attention_head_dim is the head count
        heads = heads_cfg if isinstance(heads_cfg, list) else [heads_cfg] * len(ch)
        ctx, linear, temb = cfg["cross_attention_dim"], cfg.get("use_linear_projection", False), 4 * ch[0]
        self.flip, self.shift, self.c0 = cfg["flip_sin_to_cos"], cfg["freq_shift"], ch[0]
        self.conv_in = nn.Conv2d(cfg["in_channels"], ch[0], 3, padding=1)
        self.time_1, self.time_2 = nn.Linear(ch[0], temb), nn.Linear(temb, temb)
        skips, self.down = [ch[0]], nn.ModuleList()
        for i, kind in enumerate(cfg["down_block_types"]):
            cin, cout, cross = ch[max(i - 1, 0)], ch[i], kind.startswith("CrossAttn")
            block = nn.Module()
            block.resnets = nn.ModuleList(ResnetBlock(cin if j == 0 else cout, cout, temb, groups, eps) for j in range(layers))
            block.attentions = nn.ModuleList(Transformer2D(cout, ctx, heads[i], groups, linear) for _ in range(layers)) if cross else None
            skips += [cout] * layers
            block.downsample = nn.Conv2d(cout, cout, 3, stride=2, padding=1) if i < len(ch) - 1 else None
            if block.downsample is not None:
                skips.append(cout)
            self.down.append(block)
        self.mid_res1 = ResnetBlock(ch[-1], ch[-1], temb, groups, eps)
        self.mid_attn = Transformer2D(ch[-1], ctx, heads[-1], groups, linear)
        self.mid_res2 = ResnetBlock(ch[-1], ch[-1], temb, groups, eps)
        self.up, rch, rheads, h_ch = nn.ModuleList(), ch[::-1], heads[::-1], ch[-1]
        for i, kind in enumerate(cfg["up_block_types"]):
            cout, cross, block = rch[i], kind.startswith("CrossAttn"), nn.Module()
            resnets = []
            for j in range(layers + 1):
                resnets.append(ResnetBlock(h_ch + skips.pop(), cout, temb, groups, eps))
                h_ch = cout
            block.resnets = nn.ModuleList(resnets)
            block.attentions = nn.ModuleList(Transformer2D(cout, ctx, rheads[i], groups, linear) for _ in range(layers + 1)) if cross else None
            block.upsample = nn.Conv2d(cout, cout, 3, padding=1) if i < len(ch) - 1 else None
            self.up.append(block)
        self.norm_out, self.conv_out = nn.GroupNorm(groups, ch[0], eps), nn.Conv2d(ch[0], cfg["out_channels"], 3, padding=1)

    def time_embedding(self, t, batch, dtype, device):
        half = self.c0 // 2
        freqs = torch.exp(-math.log(10000) * torch.arange(half, device=device, dtype=torch.float32) / (half - self.shift))
        args = torch.full((batch, 1), float(t), device=device) * freqs[None]
        emb = torch.cat([torch.cos(args), torch.sin(args)] if self.flip else [torch.sin(args), torch.cos(args)], dim=-1)
        return F.silu(self.time_2(F.silu(self.time_1(emb.to(dtype)))))

    def forward(self, x, t, context):
        temb = self.time_embedding(t, x.shape[0], x.dtype, x.device)
        h = self.conv_in(x)
        skips = [h]
        for block in self.down:
            for j, res in enumerate(block.resnets):
                h = res(h, temb)
                if block.attentions is not None:
                    h = block.attentions[j](h, context)
                skips.append(h)
            if block.downsample is not None:
                h = block.downsample(h)
                skips.append(h)
        h = self.mid_res2(self.mid_attn(self.mid_res1(h, temb), context), temb)
        for block in self.up:
            for j, res in enumerate(block.resnets):
                h = res(torch.cat([h, skips.pop()], dim=1), temb)
                if block.attentions is not None:
                    h = block.attentions[j](h, context)
            if block.upsample is not None:
                h = block.upsample(F.interpolate(h, scale_factor=2.0, mode="nearest"))
        return self.conv_out(F.silu(self.norm_out(h)))


def unet_step(cfg_path, device, batch, latent, context_len, dtypes):
    cfg = json.load(open(cfg_path))
    # Build directly on the GPU where torch can (2.x): initialising 860 M parameters on the host takes seconds.
    on_device = torch.device(device) if device.type == "cuda" and hasattr(torch.device, "__enter__") else contextlib.nullcontext()
    with on_device:
        model = UNet(cfg)
    model = model.to(device).eval()
    result = {"parameters": sum(p.numel() for p in model.parameters()), "batch": batch, "latent": latent}
    for name, dtype in dtypes:
        m = model.to(dtype)
        x = torch.randn(batch, cfg["in_channels"], latent, latent, device=device, dtype=dtype)
        ctx = torch.randn(batch, context_len, cfg["cross_attention_dim"], device=device, dtype=dtype)
        with torch.no_grad():
            result[f"{name}_ms"] = timed(lambda: m(x, 500, ctx), device, samples=5, warmup=2) * 1e3
    return result


def peaks(device):
    """Measured ceilings: device-to-device copy bandwidth, fp32 (TF32 off) and fp16 matrix rates (8192³)."""
    if device.type != "cuda":
        return {}
    x = torch.empty(512 * 2**20, device=device)  # 2 GiB
    y = torch.empty_like(x)
    s = timed(lambda: y.copy_(x), device, samples=10)
    out = {"copy_gbps": 2 * x.numel() * 4 / s / 1e9}
    del x, y
    for name, dtype in (("fp32", torch.float32), ("fp16", torch.float16)):
        a, b = (torch.randn(8192, 8192, device=device, dtype=dtype) for _ in range(2))
        out[f"matmul_{name}_tflops"] = 2 * 8192**3 / timed(lambda: a @ b, device, samples=5) / 1e12
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", required=True, help="JSON from `diffuser bench --export-cases`")
    p.add_argument("--unet-config", help="UNet config.json for the eager UNet step (SD 1.x/2.x)")
    p.add_argument("--out", required=True)
    p.add_argument("--device", default="cuda")
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--latent", type=int, default=64)
    p.add_argument("--budget", type=float, default=80, help="seconds; cases not reached in time are left out")
    p.add_argument("--filter", default="", help="only case ids containing this")
    p.add_argument("--dtypes", help="fp32,fp16 (default: both on CUDA; fp32 elsewhere: older torch lacks fp16 CPU kernels; 2.6 has them)")
    args = p.parse_args()

    clock = time.time()
    device = torch.device(args.device)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    gen = torch.Generator(device=device).manual_seed(1234)
    names = args.dtypes.split(",") if args.dtypes else ["fp32", "fp16"] if device.type == "cuda" else ["fp32"]
    known = {"fp32": torch.float32, "fp16": torch.float16}
    if unknown := [name for name in names if name not in known]:
        p.error(f"--dtypes: unknown {', '.join(unknown)} (fp32, fp16)")
    dtypes = [(name, known[name]) for name in names]
    report = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu", "torch": torch.__version__,
              "tf32": False, "peaks": {}, "cases": {}, "unet_step": None, "errors": {}}

    def save():
        with open(args.out, "w") as f:
            json.dump(report, f, indent=1)

    try:
        report["peaks"] = peaks(device)
    except Exception as e:  # keep going: the cases matter more
        report["errors"]["peaks"] = repr(e)
    print(f"peaks: {report['peaks']}", flush=True)
    # The UNet step first: it is issue 7's headline ratio, and the cases fill what time is left.
    if args.unet_config:
        try:
            report["unet_step"] = unet_step(args.unet_config, device, args.batch, args.latent, 77, dtypes)
            print(f"unet_step: {report['unet_step']}", flush=True)
        except Exception as e:
            report["errors"]["unet_step"] = repr(e)
    save()
    cases = [c for c in json.load(open(args.cases)) if args.filter in c["id"]]
    for case in cases:
        if time.time() - clock > args.budget * 0.9:
            report["errors"][case["id"]] = "left out: over the time budget"
            continue
        entry = {"flops": case["flops"], "bytes": case["bytes"]}
        for name, dtype in dtypes:
            if case["family"] == "convert" and name == "fp16":
                continue
            try:
                t = make_inputs(case, device, dtype, gen)
                fn = op_call(case, t)
                if fn is None:
                    report["errors"][case["id"]] = f"family {case['family']} has no torch mapping"
                    break
                with torch.no_grad():
                    entry[f"{name}_ms"] = timed(fn, device) * 1e3
                del t
            except Exception as e:
                report["errors"][f"{case['id']} {name}"] = repr(e)
        report["cases"][case["id"]] = entry
        print(f"{case['id']:48s} " + "  ".join(f"{k} {v:9.4f}" for k, v in entry.items() if k.endswith("_ms")), flush=True)
        save()
    if device.type == "cuda":
        torch.cuda.synchronize()
    save()
    print(f"torch_bench: {len(report['cases'])} cases in {time.time() - clock:.1f} s, {len(report['errors'])} errors", flush=True)
    for k, v in report["errors"].items():
        print(f"  error {k}: {v}", file=sys.stderr)


if __name__ == "__main__":
    main()
