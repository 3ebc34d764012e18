#!/usr/bin/env python3
"""Checks that torch_bench.py's eager UNet is diffusers' UNet2DConditionModel, so that "ours ÷ PyTorch eager" compares
the same work: loads a diffusers folder's UNet weights into it (diffusers' names mapped to its own) and compares its
noise prediction with the golden one that diffusers computed (golden/README.md: `unet.safetensors`, tolerance 1e-4);
for a folder without weights (sd15, sd21), its tensor names and shapes with those of diffusers' weight manifest.
Needs torch ≥ 2.0 and the safetensors package; CPU is enough (bench/README.md: PyTorch 2.x for the torch stage).

    python3 bench/gpu/check_torch_unet.py ../shared/models/tiny-sd ../shared/golden/tiny-sd/unet.safetensors
    python3 bench/gpu/check_torch_unet.py ../shared/models/sd15
"""
import json
import math
import re
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

sys.path.insert(0, str(Path(__file__).parent))
from torch_bench import UNet  # noqa: E402

# diffusers' module path → torch_bench.UNet's, in order (the first match wins).
RENAMES = [
    (r"^time_embedding\.linear_(\d)\.", r"time_\1."),
    (r"^down_blocks\.", "down."),
    (r"^up_blocks\.", "up."),
    (r"^mid_block\.resnets\.0\.", "mid_res1."),
    (r"^mid_block\.resnets\.1\.", "mid_res2."),
    (r"^mid_block\.attentions\.0\.", "mid_attn."),
    (r"\.downsamplers\.0\.conv\.", ".downsample."),
    (r"\.upsamplers\.0\.conv\.", ".upsample."),
    (r"\.transformer_blocks\.0\.", ".block."),
    (r"\.to_out\.0\.", ".to_out."),
    (r"\.ff\.net\.0\.proj\.", ".ff_in."),
    (r"\.ff\.net\.2\.", ".ff_out."),
    (r"^conv_norm_out\.", "norm_out."),
]


def renamed(name):
    for pattern, replacement in RENAMES:
        name = re.sub(pattern, replacement, name)
    return name


def check_manifest(model_dir, cfg):
    """Names and shapes only, for a folder without weights (sd15, sd21): every tensor of diffusers' state dict is one of
    the eager UNet's, of the same shape, and it has no other."""
    with torch.device("meta"):
        model = UNet(cfg)
    ours = {k: list(v.shape) for k, v in model.state_dict().items()}
    theirs = {renamed(k): v for k, v in json.load(open(model_dir / "unet" / "weights-manifest.json"))["tensors"].items()}
    wrong = sorted(k for k in theirs if ours.get(k) != theirs[k]) + sorted(k for k in ours if k not in theirs)
    print(f"{model_dir.name}: {len(theirs)} tensors in diffusers' manifest, {len(ours)} in the eager UNet, "
          f"{sum(map(math.prod, ours.values())):,} parameters; {len(wrong)} differ {wrong[:5]}")
    return not wrong


def check_golden(model_dir, cfg, golden_path):
    """diffusers' weights loaded (renamed), the noise predictions at the golden's four timesteps within 1e-4."""
    model = UNet(cfg).eval()
    weights = {renamed(k): v for k, v in load_file(str(model_dir / "unet" / "diffusion_pytorch_model.safetensors")).items()}
    missing, unexpected = model.load_state_dict(weights, strict=False)
    if missing or unexpected:
        print(f"weights do not map: missing {missing[:5]}, unexpected {unexpected[:5]}")
        return False
    golden = load_file(golden_path)
    worst = 0.0
    for case in ("t999", "t500", "t1", "t250_5f"):
        expected = golden[f"{case}.noise_pred"]
        with torch.no_grad():
            predicted = model(golden["sample"], golden[f"{case}.timestep"].item(), golden["encoder_hidden_states"])
        error = (predicted - expected).abs().max().item()
        worst = max(worst, error)
        print(f"{model_dir.name} {case}: largest difference {error:.2e} (noise_pred's largest {expected.abs().max().item():.2f})")
    print(f"{model_dir.name}: {'within' if worst <= 1e-4 else 'OUTSIDE'} 1e-4 of diffusers")
    return worst <= 1e-4


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    model_dir = Path(sys.argv[1])
    cfg = json.load(open(model_dir / "unet" / "config.json"))
    ok = check_golden(model_dir, cfg, sys.argv[2]) if len(sys.argv) > 2 else check_manifest(model_dir, cfg)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
