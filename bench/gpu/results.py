#!/usr/bin/env python3
"""Writes RESULTS.md for a GPU run from what the stages of bench/gpu/run.sh left: the stage log, the xunit XML of
the test runs, `diffuser bench` JSON (generation and op cases) and torch_bench.py's JSON. Any input may be missing:
the table says so instead of failing.

    python3 bench/gpu/results.py --dir $OUT --stages stages.txt --gpu "NVIDIA H200" --commit abc123 > $OUT/RESULTS.md
"""
import argparse
import json
import os
import re
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
        lines += [f"**{label}** (VAE {bench.get('vae_dtype', '–')}; {bench.get('device_capability', '')}): {bench['device_name']}, {bench['image_size']}² px (latents {bench['latent_size']}²), UNet batch "
                  f"{bench['batch']}, {bench['steps']} steps of {bench['scheduler']}; whole generation {bench['generation_ms']:.0f} ms; "
                  f"UNet {bench['unet_flops_per_pass'] / 1e12:.3f} TFLOP per pass at batch 1; weights synthesised in "
                  f"{bench['weight_synthesis_seconds']:.1f} s; warm-up generations (the first compiles every kernel) "
                  f"{', '.join(f'{w / 1e3:.1f}' for w in bench.get('warmup_ms', [])) or '–'} s.", "",
                  "| component | runs | median ms | p90 ms | host ms | TFLOP/s | % of peak (fp32 or fp16) |", "|---|---:|---:|---:|---:|---:|---:|"]
        peak = PEAK_FP16_TFLOPS if bench.get("dtype") == "f16" else PEAK_FP32_TFLOPS
        host = bench.get("host_issue", {})
        for name, s in c.items():
            lines.append(f"| {name} | {s['runs']} | {ms(s['median_ms'])} | {ms(s['p90_ms'])} | {ms(host.get(name, {}).get('median_ms'))} | "
                         f"{s['tflops']:.2f} | {100 * s['tflops'] / peak:.1f}% |")
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
        step = lambda b: b["components"]["unet_step"]["median_ms"] if b else None
        ours16 = next((b for label, b in benches if label == "fp16" and b is not None), None)
        our_ms, our16 = step(ours), step(ours16)
        t32, t16 = torch_unet.get("fp32_ms"), torch_unet.get("fp16_ms")
        ratio = f"{our_ms / t32:.2f}" if our_ms and t32 else "–"
        ratio16 = f"{our16 / t16:.2f}" if our16 and t16 else "–"
        lines += [f"PyTorch eager UNet step (same config, {torch_unet['parameters']:,} parameters, batch {torch_unet['batch']}, "
                  f"latents {torch_unet['latent']}²): fp32 (TF32 off) {ms(t32)} ms, fp16 {ms(t16)} ms; ours fp32 {ms(our_ms)} ms "
                  f"(ours ÷ torch = {ratio}), ours fp16 {ms(our16)} ms (ours ÷ torch = {ratio16}).", ""]
    return lines


def torch_entry(torch_cases, case_id):
    """PyTorch's timings for one of our case ids: an fp16 twin (id ending in _f16) is compared with torch's fp16 run
    of the fp32 case, every other case with torch's fp32 run. Returns (torch ms, label)."""
    if case_id.endswith("_f16"):
        return torch_cases.get(case_id[:-4], {}).get("fp16_ms"), "fp16"
    return torch_cases.get(case_id, {}).get("fp32_ms"), "fp32"


def verify_section(reports):
    """bench --verify: each case's (an op case's, a whole UNet step's) largest error against the managed cpu backend,
    relative to the reference's largest value."""
    if not reports:
        return []
    lines = ["## SD-shape results against the managed cpu backend", ""]
    for path, report in reports:
        if report is None:
            lines += [f"- `{os.path.basename(path)}`: no report (its stage did not run, or stopped before its first case: see run.log).", ""]
            continue
        cases, failures = report.get("cases", []), report.get("failures", [])
        wrong = [c for c in cases if not c["passed"]]
        within = [c for c in cases if c["passed"]]
        worst = max(within, key=lambda c: float(c["relative_error"]), default=None)
        lines.append(f"- `diffuser bench --verify` on {report['device_name']} ({report['backend']}), '{report['table']}': "
                     f"**{len(within)} of {len(cases) + len(failures)} within their limit** (largest error ÷ the reference's "
                     f"largest value, from the same inputs: ≤ 1e-2 fp16, ≤ 1e-4 fp32)"
                     + (f"; the largest, `{worst['id']}`: {float(worst['relative_error']):.1e}." if worst else "."))
        if wrong or failures:
            lines += ["", "| case | error ÷ reference | limit | max error | max reference |", "|---|---:|---:|---:|---:|"]
            lines += [f"| {c['id']} | {float(c['relative_error']):.2e} | {float(c['limit']):.0e} | {float(c['max_error']):.3g} | "
                      f"{float(c['max_reference']):.3g} |" for c in wrong]
            lines += [f"| {f['id']} | threw: {f['error'][:200]} | | | |" for f in failures]
        lines.append("")
    return lines


def check_cell(checks, case_id):
    check = checks.get(case_id)
    if check is None:
        return "–"
    error = float(check["relative_error"])
    return f"{error:.0e}" if check["passed"] else f"**{error:.1e} wrong**"


def kernels_section(ops, torch_report, checks):
    if ops is None:
        return ["## Kernels", "", "No op case report (see run.log).", ""]
    table = "SD 1.5 at 512², batch 2, fp32 and fp16 (OpCases.StableDiffusion + StableDiffusionHalf)" if ops["table"].startswith("sd15") \
        else f"table '{ops['table']}'"
    lines = [f"## Kernels: {table}", ""]
    peaks = (torch_report or {}).get("peaks", {})
    bandwidth = peaks.get("copy_gbps") or PEAK_HBM_GBPS
    torch_cases = (torch_report or {}).get("cases", {})
    lines += [f"Ours on {ops['device_name']} ({ops['backend']}); PyTorch {(torch_report or {}).get('torch', '–')}. fp32 cases against "
              f"PyTorch fp32 with TF32 off, `_f16` cases against PyTorch fp16 (cuBLAS/cuDNN tensor cores, SDPA). "
              f"**ours ÷ torch** = our median ÷ PyTorch's (above 1: slower). **roofline** = max(FLOPs ÷ peak, bytes ÷ "
              f"{bandwidth:.0f} GB/s) ÷ our time, peak {PEAK_FP32_TFLOPS:.0f} TFLOP/s fp32 or {PEAK_FP16_TFLOPS:.0f} fp16 "
              f"({'measured copy' if 'copy_gbps' in peaks else 'datasheet'} bandwidth). **error** = the verify stage's largest "
              f"error ÷ the reference's largest value (– where not checked).", "",
              "| case | ours ms | torch ms | vs | ours ÷ torch | ours TFLOP/s | ours GB/s | roofline | error |",
              "|---|---:|---:|---|---:|---:|---:|---:|---:|"]
    for c in ops["cases"]:
        s = c["stats"]
        reference, label = torch_entry(torch_cases, c["id"])
        peak = PEAK_FP16_TFLOPS if c["id"].endswith("_f16") else PEAK_FP32_TFLOPS
        floor = max(s["flops"] / (peak * 1e12), s["bytes"] / (bandwidth * 1e9))
        ratio = f"{s['median_ms'] / reference:.2f}" if reference else "–"
        lines.append(f"| {c['id']} | {ms(s['median_ms'])} | {ms(reference)} | {label} | {ratio} | {s['tflops']:.2f} | "
                     f"{s['gigabytes_per_second']:.0f} | {100 * floor / (s['median_ms'] * 1e-3):.0f}% | {check_cell(checks, c['id'])} |")
    lines.append("")
    failures = ops.get("failures") or []
    if failures:
        lines += [f"Cases that failed ({len(failures)}):", ""] + [f"- `{f['id']}`: {f['error'][:300]}" for f in failures] + [""]
    if peaks:
        lines += [f"Measured ceilings (PyTorch): copy {peaks.get('copy_gbps', 0):.0f} GB/s (read + write), matmul 8192³ fp32 "
                  f"{peaks.get('matmul_fp32_tflops', 0):.1f} TFLOP/s, fp16 {peaks.get('matmul_fp16_tflops', 0):.0f} TFLOP/s "
                  f"(datasheet: {PEAK_HBM_GBPS:.0f} GB/s, {PEAK_FP32_TFLOPS:.0f} fp32, {PEAK_FP16_TFLOPS:.0f} fp16 dense).", ""]
    return lines


def targets_section(bench16, ops, torch_report):
    """Issue 7's targets, each measured or '–' with what is missing."""
    torch_cases = (torch_report or {}).get("cases", {})
    bandwidth = (torch_report or {}).get("peaks", {}).get("copy_gbps") or PEAK_HBM_GBPS
    cases = {c["id"]: c["stats"] for c in (ops or {}).get("cases", [])}

    def worst(family_prefix, limit, leave_out=None):
        """Slowest ratio torch fp16 ÷ ours over the fp16 cases whose id starts with the prefix (not containing leave_out)."""
        ratios = []
        for case_id, s in cases.items():
            if case_id.startswith(family_prefix) and case_id.endswith("_f16") and not (leave_out and leave_out in case_id):
                reference, _ = torch_entry(torch_cases, case_id)
                if reference:
                    ratios.append((reference / s["median_ms"], case_id))
        if not ratios:
            return "–", "–"
        value, case_id = min(ratios)
        return f"{100 * value:.0f}% ({case_id})", "yes" if value >= limit else "no"

    step = (bench16 or {}).get("components", {}).get("unet_step", {}).get("median_ms")
    vae = (bench16 or {}).get("components", {}).get("vae_decode", {}).get("median_ms")
    eager16 = ((torch_report or {}).get("unet_step") or {}).get("fp16_ms")
    speedup = eager16 / step if step and eager16 else None
    norm_measured, norm_ok = group_norm_bandwidth(cases, torch_cases, bandwidth)
    # The upsampling convolutions are one op here, two in PyTorch (interpolate, then cuDNN): not a convolution against cuDNN.
    conv, conv_ok = worst("conv2d/", 0.8, leave_out="_upsample")
    attention, attention_ok = worst("attention/self_b2h8", 0.9)
    rows = [
        ("fp16 UNet step (512², batch 2) ≤ 9 ms", ms(step), "yes" if step and step <= 9 else "no" if step else "–"),
        ("≥ 2× PyTorch eager fp16 UNet step", f"{speedup:.2f}× ({ms(eager16)} ms)" if speedup else "–",
         "yes" if speedup and speedup >= 2 else "no" if speedup else "–"),
        ("convolutions ≥ 80% of cuDNN (worst fp16 case)", conv, conv_ok),
        ("fused attention ≥ 90% of SDPA (worst fp16 self-attention)", attention, attention_ok),
        ("group norm + SiLU ≥ 80% of bandwidth (the largest fp16 case: the UNet's are bound by launch latency)", norm_measured, norm_ok),
        (f"VAE decode 512² ≤ 15 ms (VAE {(bench16 or {}).get('vae_dtype', '–')})", ms(vae), "yes" if vae and vae <= 15 else "no" if vae else "–"),
    ]
    lines = ["## Issue 7 targets (fp16)", "", "| target | measured | met |", "|---|---|---|"]
    lines += [f"| {t} | {m} | {ok} |" for t, m, ok in rows]
    lines += ["", "fp16 images within 2/255 of fp32: `HalfPrecisionPipelineTests` in the goldens run above.", ""]
    lines += launch_cost_lines(bench16, cases, torch_cases)
    return lines


def group_norm_bandwidth(cases, torch_cases, bandwidth):
    """Share of the copy bandwidth the fp16 group norms reach: judged on the largest case (the VAE's at 512², 134 MB),
    since the UNet's move 0.7–10 MB, a few µs at full bandwidth, where a launch's latency alone is as long; the
    smallest case is shown beside it, with PyTorch's share on the same shape."""
    norms = sorted((s["bytes"], i, s) for i, s in cases.items() if i.startswith("group_norm/") and i.endswith("_f16"))
    if not norms:
        return "–", "–"
    share = lambda s: s["gigabytes_per_second"] / bandwidth
    _, largest_id, largest = norms[-1]
    smallest_bytes, smallest_id, smallest = norms[0]
    reference, _ = torch_entry(torch_cases, smallest_id)
    torch_share = f", PyTorch {100 * smallest_bytes / (reference * 1e6) / bandwidth:.0f}%" if reference else ""
    measured = f"{100 * share(largest):.0f}% ({largest_id}); smallest {100 * share(smallest):.0f}% ({smallest_id}{torch_share})"
    return measured, "yes" if share(largest) >= 0.8 else "no"


def launch_cost_lines(bench16, cases, torch_cases):
    """What one op costs the host (a one-element add, back to back) × the ops of one UNet step: the step's floor
    when the GPU waits for the host; and the fp16 UNet step's host time (until its ops were all queued) against its
    wall time, measured."""
    lines = []
    step = (bench16 or {}).get("components", {}).get("unet_step", {}).get("median_ms")
    host = (bench16 or {}).get("host_issue", {}).get("unet_step", {}).get("median_ms")
    if step and host is not None:
        bound = "the host, launching, is the bound: CUDA graphs would pay" if host >= 0.9 * step else "the device's kernels are the bound"
        lines += [f"fp16 UNet step: the host had queued its ops after {ms(host)} ms of its {ms(step)} ms median "
                  f"({100 * host / step:.0f}%): {bound}.", ""]
    case_id = "binary/launch_latency_add_1_f16"
    ours = (cases.get(case_id) or {}).get("median_ms")
    if ours is None:
        return lines
    reference, _ = torch_entry(torch_cases, case_id)
    ops = sum(k["count"] for k in (bench16 or {}).get("kernels", {}).get("unet_step", []))
    floor = f"; × {ops} ops per fp16 UNet step = {ms(ours * ops)} ms" if ops else ""
    return lines + [f"Host cost of one op (`{case_id}`): ours {1000 * ours:.1f} µs, PyTorch eager "
                    f"{f'{1000 * reference:.1f} µs' if reference else '–'}{floor} (the part of a step that CUDA graphs would remove).", ""]


def switches_section(ops, ab_paths):
    """Each switch against the default: a key case's median in the ops stage (the default) against its run with the
    switch (the JSON's name, ab-NAME-vVALUE-i.json, says which)."""
    if not ab_paths:
        return []
    ours = {c["id"]: c["stats"]["median_ms"] for c in (ops or {}).get("cases", [])}
    switch_of = lambda path: "=".join(re.search(r"ab-(\w+?)-v(\w+)-\d+\.json$", path).groups())
    lines = []
    for switch in sorted({switch_of(p) for p in ab_paths}):
        lines += [f"## {switch} against the default", "",
                  "| case | default ms | with the switch ms | switch ÷ default |", "|---|---:|---:|---:|"]
        for path in sorted(p for p in ab_paths if switch_of(p) == switch):
            report = load(path)
            if report is None:
                lines.append(f"| {os.path.basename(path)} | no report (the stage ran out of time or failed: see run.log) | | |")
                continue
            for c in report.get("cases", []):
                default_ms, off_ms = ours.get(c["id"]), c["stats"]["median_ms"]
                ratio = f"{off_ms / default_ms:.2f}" if default_ms else "–"
                lines.append(f"| {c['id']} | {ms(default_ms)} | {ms(off_ms)} | {ratio} |")
        lines.append("")
    return lines


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True, help="folder with the stage outputs ($OUT)")
    p.add_argument("--stages", required=True, help="lines 'name|exit code|seconds'")
    p.add_argument("--gpu", default="GPU")
    p.add_argument("--commit", default="")
    p.add_argument("--switch", default="", help="the environment switch the kernel tests needed, which every later stage ran with")
    p.add_argument("--switch-why", default="the kernel tests failed without it and passed with it", help="why the switch was set")
    p.add_argument("--fallback-xml", action="append", default=[], help="the kernel tests' XML under a switch (tests-kernels-NAME.xml)")
    p.add_argument("--ab", action="append", default=[], help="op case JSON of key cases run with a switch (ab-NAME-vVALUE-i.json)")
    p.add_argument("--verify", action="append", default=[], help="bench --verify JSON (op cases, or a UNet step) against the managed cpu backend")
    a = p.parse_args()
    d = lambda name: os.path.join(a.dir, name)
    out = [f"# Diffuser GPU run: {a.gpu}", "", f"Commit {a.commit}. Produced by bench/gpu/run.sh (see bench/README.md).", "",
           "## Stages", "", "| stage | exit | seconds |", "|---|---:|---:|"]
    stages = [line.strip().split("|") for line in open(a.stages)] if os.path.exists(a.stages) else []
    for name, rc, secs in stages:
        note = " (killed at its time limit)" if rc in ("124", "137") else ""
        out.append(f"| {name} | {rc}{note} | {secs} |")
    out.append("")
    cache = {name: (rc, secs) for name, rc, secs in stages if name.startswith("kernel-cache")}
    if cache.get("kernel-cache (compile)", ("1",))[0] == "0" and cache.get("kernel-cache (load)", ("1",))[0] == "0":
        out += [f"**The kernel cache (`DIFFUSER_KERNEL_CACHE`) passed**: the small fp16 split products verified with their kernels "
                f"compiled and kept ({cache['kernel-cache (compile)'][1]} s), then loaded from it ({cache['kernel-cache (load)'][1]} s); "
                "every later stage loaded its kernels through it.", ""]
    if a.switch:
        out += [f"**Every stage after the kernel tests ran with `{a.switch}`**: {a.switch_why} (see the tests below; "
                "bench/README.md, \"What the GPU run must confirm first\").", ""]
    fallbacks = [(f"cuda kernels + ops ({path.rsplit('tests-kernels-', 1)[-1].removesuffix('.xml')}=0)", path) for path in a.fallback_xml]
    out += tests_section([("cuda kernels + ops", d("tests-kernels.xml"))] + fallbacks + [("cuda models, schedulers, pipelines", d("tests-goldens.xml"))])
    out.append("")
    torch_report = load(d("torch.json"))
    out += generation_section([("fp32", load(d("bench-fp32.json"))), ("fp16", load(d("bench-fp16.json")))],
                              (torch_report or {}).get("unet_step"))
    ops = load(d("ops-cuda.json"))
    out += targets_section(load(d("bench-fp16.json")), ops, torch_report)
    verified = [(path, load(path)) for path in a.verify]
    out += verify_section(verified)
    out += switches_section(ops, a.ab)
    out += kernels_section(ops, torch_report, {c["id"]: c for _, report in verified for c in (report or {}).get("cases", [])})
    print("\n".join(out))


if __name__ == "__main__":
    main()
