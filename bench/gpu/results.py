#!/usr/bin/env python3
"""Writes RESULTS.md for a GPU run from what the stages of bench/gpu/run.sh left: the stage log, the xunit XML of
the test runs, `diffuser bench` JSON (generation and op cases) and torch_bench.py's JSON. Any input may be missing:
the table says so instead of failing.

    python3 bench/gpu/results.py --dir $OUT --stages stages.txt --gpu "NVIDIA H200" --commit abc123 > $OUT/RESULTS.md
"""
import argparse
import json
import os
import xml.etree.ElementTree as ET

# Datasheet ceilings of the H200 SXM: fp32 on the CUDA cores (no tensor cores), dense fp16 tensor, HBM3e.
PEAK_FP32_TFLOPS, PEAK_FP16_TFLOPS, PEAK_HBM_GBPS = 67.0, 990.0, 4800.0


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def ms(v):
    return "–" if v is None else f"{v:.4f}" if v < 1 else f"{v:.3f}" if v < 100 else f"{v:.1f}"


def tests_section(xml_paths):
    lines = ["## Tests through the ILGPU kernels", "", "| run | total | passed | failed | skipped | time s |", "|---|---:|---:|---:|---:|---:|"]
    failures = []
    for label, path in xml_paths:
        if not os.path.exists(path):
            lines.append(f"| {label} | no result file (the stage did not finish: see run.log) | | | | |")
            continue
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError as e:
            lines.append(f"| {label} | unreadable XML ({e}) | | | | |")
            continue
        for asm in root.iter("assembly"):
            lines.append(f"| {label} | {asm.get('total')} | {asm.get('passed')} | {asm.get('failed')} | {asm.get('skipped')} | {asm.get('time')} |")
        for test in root.iter("test"):
            if test.get("result") == "Fail":
                message = (test.findtext("failure/message") or "").strip().splitlines()
                name = test.get("name", "").replace('\\"', '"')
                failures.append(f"- {label}: `{name}`: {message[0][:300] if message else ''}")
    if failures:
        lines += ["", f"Failures ({len(failures)}, first 40):", ""] + failures[:40]
    return lines


def generation_section(benches, torch_unet):
    lines = ["## Generation: `diffuser bench` on SD 1.5 shapes (synthetic weights)", ""]
    for label, bench in benches:
        if bench is None:
            lines.append(f"- {label}: no report (see run.log: unsupported or failed)")
            continue
        c = bench["components"]
        lines += [f"**{label}**: {bench['device_name']}, {bench['image_size']}² px (latents {bench['latent_size']}²), UNet batch "
                  f"{bench['batch']}, {bench['steps']} steps of {bench['scheduler']}; whole generation {bench['generation_ms']:.0f} ms; "
                  f"UNet {bench['unet_flops_per_pass'] / 1e12:.3f} TFLOP per pass at batch 1.", "",
                  "| component | runs | median ms | p90 ms | TFLOP/s | % of fp32 peak |", "|---|---:|---:|---:|---:|---:|"]
        for name, s in c.items():
            lines.append(f"| {name} | {s['runs']} | {ms(s['median_ms'])} | {ms(s['p90_ms'])} | {s['tflops']:.2f} | "
                         f"{100 * s['tflops'] / PEAK_FP32_TFLOPS:.1f}% |")
        lines.append("")
        kernels = bench.get("kernels", {}).get("unet_step", [])
        if kernels:
            total = sum(k["seconds"] for k in kernels) or 1
            lines += ["UNet step by kernel family (profiled: device synchronised around each op):", "",
                      "| op | count | ms | share | GFLOP/s | GB/s |", "|---|---:|---:|---:|---:|---:|"]
            for k in kernels[:12]:
                lines.append(f"| {k['op']} | {k['count']} | {k['seconds'] * 1e3:.2f} | {100 * k['seconds'] / total:.1f}% | "
                             f"{k['gflops_per_second']:.0f} | {k['gigabytes_per_second']:.0f} |")
            lines.append("")
    ours = next((b for _, b in benches if b is not None), None)
    if torch_unet:
        our_ms = ours["components"]["unet_step"]["median_ms"] if ours else None
        t32, t16 = torch_unet.get("fp32_ms"), torch_unet.get("fp16_ms")
        ratio = f"{our_ms / t32:.2f}" if our_ms and t32 else "–"
        lines += [f"PyTorch eager UNet step (same config, {torch_unet['parameters']:,} parameters, batch {torch_unet['batch']}, "
                  f"latents {torch_unet['latent']}²): fp32 (TF32 off) {ms(t32)} ms, fp16 {ms(t16)} ms; ours fp32 {ms(our_ms)} ms, "
                  f"ours ÷ torch fp32 = {ratio}.", ""]
    return lines


def kernels_section(ops, torch_report):
    if ops is None:
        return ["## Kernels", "", "No op case report (see run.log).", ""]
    table = "SD 1.5 at 512², batch 2 (OpCases.StableDiffusion)" if ops["table"] == "sd15" else f"table '{ops['table']}'"
    lines = [f"## Kernels: {table}", ""]
    peaks = (torch_report or {}).get("peaks", {})
    bandwidth = peaks.get("copy_gbps") or PEAK_HBM_GBPS
    torch_cases = (torch_report or {}).get("cases", {})
    lines += [f"Ours on {ops['device_name']} ({ops['backend']}); PyTorch {(torch_report or {}).get('torch', '–')} fp32 with TF32 off, "
              f"and fp16. **ours ÷ torch** = our median ÷ PyTorch's fp32 median (above 1: slower than PyTorch). "
              f"**roofline** = max(FLOPs ÷ {PEAK_FP32_TFLOPS:.0f} TFLOP/s, bytes ÷ {bandwidth:.0f} GB/s) ÷ our time "
              f"(fp32 CUDA-core peak; {'measured copy' if 'copy_gbps' in peaks else 'datasheet'} bandwidth).", "",
              "| case | ours ms | torch fp32 ms | ours ÷ torch | torch fp16 ms | ours TFLOP/s | ours GB/s | roofline |",
              "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for c in ops["cases"]:
        s = c["stats"]
        t = torch_cases.get(c["id"], {})
        ours_s = s["median_ms"] * 1e-3
        floor = max(s["flops"] / (PEAK_FP32_TFLOPS * 1e12), s["bytes"] / (bandwidth * 1e9))
        t32 = t.get("fp32_ms")
        ratio = f"{s['median_ms'] / t32:.2f}" if t32 else "–"
        lines.append(f"| {c['id']} | {ms(s['median_ms'])} | {ms(t32)} | {ratio} | {ms(t.get('fp16_ms'))} | {s['tflops']:.2f} | "
                     f"{s['gigabytes_per_second']:.0f} | {100 * floor / ours_s:.0f}% |")
    lines.append("")
    if peaks:
        lines += [f"Measured ceilings (PyTorch): copy {peaks.get('copy_gbps', 0):.0f} GB/s (read + write), matmul 8192³ fp32 "
                  f"{peaks.get('matmul_fp32_tflops', 0):.1f} TFLOP/s, fp16 {peaks.get('matmul_fp16_tflops', 0):.0f} TFLOP/s "
                  f"(datasheet: {PEAK_HBM_GBPS:.0f} GB/s, {PEAK_FP32_TFLOPS:.0f} fp32, {PEAK_FP16_TFLOPS:.0f} fp16 dense).", ""]
    return lines


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True, help="folder with the stage outputs ($OUT)")
    p.add_argument("--stages", required=True, help="lines 'name|exit code|seconds'")
    p.add_argument("--gpu", default="GPU")
    p.add_argument("--commit", default="")
    a = p.parse_args()
    d = lambda name: os.path.join(a.dir, name)
    out = [f"# Diffuser GPU run: {a.gpu}", "", f"Commit {a.commit}. Produced by bench/gpu/run.sh (see bench/README.md).", "",
           "## Stages", "", "| stage | exit | seconds |", "|---|---:|---:|"]
    if os.path.exists(a.stages):
        for line in open(a.stages):
            name, rc, secs = line.strip().split("|")
            note = " (killed at its time limit)" if rc in ("124", "137") else ""
            out.append(f"| {name} | {rc}{note} | {secs} |")
    out.append("")
    out += tests_section([("cuda kernels + ops", d("tests-kernels.xml")), ("cuda models, schedulers, pipelines", d("tests-goldens.xml"))])
    out.append("")
    torch_report = load(d("torch.json"))
    out += generation_section([("fp32", load(d("bench-fp32.json"))), ("fp16", load(d("bench-fp16.json")))],
                              (torch_report or {}).get("unet_step"))
    out += kernels_section(load(d("ops-cuda.json")), torch_report)
    print("\n".join(out))


if __name__ == "__main__":
    main()
