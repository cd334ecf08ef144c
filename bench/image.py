"""``python -m bench image``: GenLab's image path against the bare diffusers pipeline.

The tiny pipeline (``desktop.core.tiny_models``) at 64x64 and 20 steps, run
alternately, in one process:

- bare: ``pipe(prompt, ..., generator=torch.Generator().manual_seed(s))``;
- GenLab: ``ImageEngine.generate`` submitted as a Job to a real
  ``JobRunner`` engine worker, with live previews on, progress coalescing,
  the PNG (both metadata chunks) and thumbnail saved, and the record built
  (handed to a NullSink: the history has its own benchmark).

Timed from call (submit) to return (job ended).  Prints medians and
``image_step_ratio = bare s/step / GenLab s/step`` (goal >= 0.95), the same
ratio as the median of per-pair ratios and in process CPU time (both less
disturbed by other processes on a shared machine), and the cost of one
latent->RGB preview per step, at this size and at 512x512.

Then the inpainting path the same way (``--inpaint-runs``, 0 to skip): a
square mask on a seeded init image, bare ``StableDiffusionInpaintPipeline``
against ``ImageEngine.generate`` with that mask (masked img2img on the same
tiny model, then the feathered paste-back, the mask PNG stored beside the
image and the record): ``inpaint_ratio = bare median / GenLab median``.

Then, each the same way (``--flow-runs`` and ``--lora-runs``, 0 to skip):

- the tiny FLUX.1 and SD 3 pipelines, bare ``FluxPipeline`` /
  ``StableDiffusion3Pipeline`` against ``ImageEngine.generate``:
  ``flux_ratio`` and ``sd3_ratio``;
- LoRA on: the tiny SD pipeline with a tiny LoRA at weight 0.8, bare
  ``load_lora_weights`` + ``set_adapters`` against the engine with
  ``--lora``: ``lora_ratio``; LoRA off again (the engine after it dropped
  the LoRA against the bare pipeline without one): ``lora_off_ratio``;
- LoRA switching: images alternating between two LoRAs on the loaded
  pipeline (the other one is kept, idle), then cycling through four (each
  switch loads a file); the time of one switch (the engine's
  ``LoraSlots.apply``) against a full model load, and how many times the
  pipeline was loaded while switching (0 when it is reused).

Then a 4x model upscale (``--upscale-runs``, 0 to skip; it needs the
``upscale`` extra, ``pip install -e ".[upscale]"``, and says so otherwise):
an ESRGAN of spandrel's own class with random weights (32 filters, 4
blocks: the Real-ESRGAN architecture, smaller) on a 192x144 image, from
the image file to the saved PNG.  Bare: PIL open, the tensor, spandrel's
``ImageModelDescriptor`` called on the whole image, the PNG saved.
GenLab: :func:`upscale_file` with the whole image at once
(``upscale_whole_ratio``: the cost of GenLab's record, hashes and
thumbnail).  Then tiled, 96 px tiles with 8 px of padding: bare is the same
tiling written plainly (crop each padded tile, run it, cut the padding off,
paste) against ``upscale_file`` with those tiles (``upscale_tiled_ratio``),
and GenLab tiled against bare untiled (``upscale_tiling_cost``: what the
padding adds, the price of bounding memory on big images).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from functools import partial
from pathlib import Path


def _median_preview_s(previewer, latents, repeats: int = 200) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        previewer.rgb(latents)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench image")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads for both paths (1 is fastest for the tiny model)")
    parser.add_argument("--inpaint-runs", type=int, default=5, help="runs of the inpainting comparison (0: skip)")
    parser.add_argument("--flow-runs", type=int, default=5, help="runs of the FLUX and SD 3 comparisons (0: skip)")
    parser.add_argument("--lora-runs", type=int, default=5, help="runs of the LoRA comparisons (0: skip)")
    parser.add_argument("--upscale-runs", type=int, default=5,
                        help="runs of the model-upscale comparison (0: skip; needs the upscale extra)")
    parser.add_argument("--verbose", action="store_true", help="also print every run's time")
    args = parser.parse_args(argv)

    os.environ["HF_HUB_OFFLINE"] = "1"
    tmp = Path(tempfile.mkdtemp(prefix="genlab-bench-image-"))
    os.environ.setdefault("GENLAB_HOME", str(tmp / "home"))
    import diffusers
    import torch
    from PySide6.QtCore import QCoreApplication, QEventLoop

    from desktop.core.image.engine import ImageEngine, ImageRequest
    from desktop.core.image.params import ImageParams
    from desktop.core.image.preview import LatentPreviewer
    from desktop.core.jobs import Job
    from desktop.core.records import NullSink
    from desktop.core.tiny_models import build_tiny_sd_pipeline
    from desktop.ui.runner import JobRunner

    torch.set_num_threads(args.threads)
    app = QCoreApplication.instance() or QCoreApplication([])  # noqa: F841  (QObjects need an app)
    model = build_tiny_sd_pipeline(tmp / "tiny-sd")
    params = ImageParams(prompt="a lighthouse at dusk, oil painting", negative_prompt="blurry",
                         steps=args.steps, guidance=7.0, width=args.size, height=args.size,
                         seed=1, scheduler="Default")

    bare = diffusers.StableDiffusionPipeline.from_pretrained(model, local_files_only=True, safety_checker=None,
                                                             requires_safety_checker=False)
    bare.set_progress_bar_config(disable=True)
    engine = ImageEngine()
    runner = JobRunner(io_workers=1)
    previews = [0]

    def run_bare(seed: int) -> tuple[float, float]:
        c0, t0 = time.process_time(), time.perf_counter()
        bare(params.prompt, negative_prompt=params.negative_prompt, num_inference_steps=params.steps,
             guidance_scale=params.guidance, width=params.width, height=params.height,
             generator=torch.Generator().manual_seed(seed))
        return time.perf_counter() - t0, time.process_time() - c0

    def run_genlab(seed: int) -> float:
        # As in the GUI: the job starts from the event loop, progress and the
        # result come back to this (main) thread as queued signals.
        loop = QEventLoop()
        request = ImageRequest(str(model), params.with_seed(seed))
        c0, t0 = time.process_time(), time.perf_counter()
        handle = runner.submit(Job("bench image", partial(engine.generate, request, sink=NullSink())))
        handle.progressed.connect(lambda batch: previews.__setitem__(0, previews[0] + len(batch)))
        handle.ended.connect(loop.quit)
        loop.exec()
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
        if handle.state != "done":
            raise RuntimeError(f"GenLab run failed: {handle.error}")
        return elapsed, cpu

    run_bare(0), run_genlab(0)  # warm-up: loads, first-call allocations
    bare_runs, genlab_runs = [], []
    for i in range(args.runs):
        bare_runs.append(run_bare(i + 1))
        genlab_runs.append(run_genlab(i + 1))
    runner.shutdown()
    bare_times, bare_cpu = [r[0] for r in bare_runs], [r[1] for r in bare_runs]
    genlab_times, genlab_cpu = [r[0] for r in genlab_runs], [r[1] for r in genlab_runs]

    bare_step = statistics.median(bare_times) / args.steps
    genlab_step = statistics.median(genlab_times) / args.steps
    xl = LatentPreviewer(False)
    small = torch.randn(1, 4, args.size // 8, args.size // 8)
    large = torch.randn(1, 4, 64, 64)
    preview_small = _median_preview_s(xl, small)
    preview_512 = _median_preview_s(xl, large)
    print(f"device=cpu threads={args.threads} size={args.size}x{args.size} steps={args.steps} runs={args.runs}")
    print(f"bare_s_per_step={bare_step:.5f}")
    print(f"genlab_s_per_step={genlab_step:.5f}")
    print(f"image_step_ratio={bare_step / genlab_step:.3f}")
    # Less sensitive to other processes on a shared machine than the wall-clock medians:
    print(f"image_step_ratio_paired={statistics.median(b / g for b, g in zip(bare_times, genlab_times)):.3f}")
    print(f"image_step_ratio_cpu_time={statistics.median(bare_cpu) / statistics.median(genlab_cpu):.3f}")
    print(f"bare_run_s_median={statistics.median(bare_times):.4f}")
    print(f"genlab_run_s_median={statistics.median(genlab_times):.4f}")
    print(f"preview_ms_per_step={preview_small * 1000:.4f}")
    print(f"preview_share_of_step={preview_small / bare_step:.4f}")
    print(f"preview_ms_per_step_512px={preview_512 * 1000:.4f}")
    print(f"progress_reports_delivered={previews[0]}")
    if args.verbose:
        print("bare_runs_s=" + ",".join(f"{t:.4f}" for t in bare_times))
        print("genlab_runs_s=" + ",".join(f"{t:.4f}" for t in genlab_times))
    if args.inpaint_runs > 0:
        _bench_inpaint(args, model, params, engine, tmp)
    if args.flow_runs > 0:
        _bench_flow(args, engine, tmp)
    if args.lora_runs > 0:
        _bench_lora(args, model, params, engine, tmp)
    if args.upscale_runs > 0:
        _bench_upscale(args, tmp)
    engine.close()
    return 0


def _timed(call) -> tuple[float, float]:
    """(wall s, process CPU s) of ``call()``."""
    c0, t0 = time.process_time(), time.perf_counter()
    call()
    return time.perf_counter() - t0, time.process_time() - c0


def _compare(name: str, run_bare, run_genlab, runs: int, verbose: bool) -> None:
    """Warm both up, run them alternately with seeds 1..runs, print the ratio of medians (goal >= 0.95)."""
    run_bare(0), run_genlab(0)
    bare_runs, genlab_runs = [], []
    for i in range(runs):
        bare_runs.append(run_bare(i + 1))
        genlab_runs.append(run_genlab(i + 1))
    bare_times, genlab_times = [r[0] for r in bare_runs], [r[0] for r in genlab_runs]
    bare_med, genlab_med = statistics.median(bare_times), statistics.median(genlab_times)
    print(f"{name}_bare_run_s_median={bare_med:.4f}")
    print(f"{name}_genlab_run_s_median={genlab_med:.4f}")
    print(f"{name}_ratio={bare_med / genlab_med:.3f}")
    print(f"{name}_ratio_paired={statistics.median(b / g for b, g in zip(bare_times, genlab_times)):.3f}")
    print(f"{name}_ratio_cpu_time="
          f"{statistics.median(r[1] for r in bare_runs) / statistics.median(r[1] for r in genlab_runs):.3f}")
    if verbose:
        print(f"{name}_bare_runs_s=" + ",".join(f"{t:.4f}" for t in bare_times))
        print(f"{name}_genlab_runs_s=" + ",".join(f"{t:.4f}" for t in genlab_times))


def _bench_upscale(args, tmp: Path) -> None:
    """A 4x ESRGAN upscale of one image file to a PNG: bare spandrel against ``upscale_file``."""
    from desktop.core.image import upscale

    problem = upscale.available()
    if problem:
        print(f"upscale_skipped={problem!r}")
        return
    import numpy as np
    import torch
    from PIL import Image

    from desktop.core.tiny_models.upscaler import build_tiny_esrgan

    spandrel = upscale.spandrel_module()
    weights = build_tiny_esrgan(tmp / "esrgan-x4.pth", scale=4, filters=32, blocks=4)
    source = tmp / "upscale-source.png"
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:144, 0:192]
    pixels = np.stack([x, y, x + y], -1) % 256 + rng.integers(0, 40, (144, 192, 3))
    Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(source)
    bare = spandrel.ModelLoader(device="cpu").load_from_file(str(weights)).eval()
    upscaler = upscale.load_upscaler(weights, device="cpu")
    out = tmp / "upscale-out"
    out.mkdir()

    def run_bare(seed: int) -> tuple[float, float]:
        def call() -> None:
            with Image.open(source) as img:
                rgb = np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0
            with torch.inference_mode():
                result = bare(torch.from_numpy(rgb).permute(2, 0, 1).unsqueeze(0))
            array = (result[0].clamp(0, 1) * 255.0).round().to(torch.uint8).permute(1, 2, 0).numpy()
            Image.fromarray(array).save(out / f"bare-{seed}.png")

        return _timed(call)

    def run_bare_tiled(seed: int, tile: int = 96, pad: int = 8) -> tuple[float, float]:
        def call() -> None:
            with Image.open(source) as img:
                rgb = np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0
            height, width = rgb.shape[:2]
            whole = torch.from_numpy(rgb).permute(2, 0, 1).unsqueeze(0)
            out_image = np.zeros((height * 4, width * 4, 3), dtype=np.uint8)
            with torch.inference_mode():
                for top in range(0, height, tile):
                    for left in range(0, width, tile):
                        bottom, right = min(top + tile, height), min(left + tile, width)
                        y0, x0 = max(0, top - pad), max(0, left - pad)
                        piece = bare(whole[:, :, y0:min(height, bottom + pad), x0:min(width, right + pad)])
                        core = piece[0, :, (top - y0) * 4:(top - y0 + bottom - top) * 4,
                                     (left - x0) * 4:(left - x0 + right - left) * 4]
                        out_image[top * 4:bottom * 4, left * 4:right * 4] = (
                            (core.clamp(0, 1) * 255.0).round().to(torch.uint8).permute(1, 2, 0).numpy())
            Image.fromarray(out_image).save(out / f"bare-tiled-{seed}.png")

        return _timed(call)

    def genlab(tile: int, pad: int):
        def run(seed: int) -> tuple[float, float]:
            return _timed(lambda: upscale.upscale_file(upscaler, source, out=out / f"genlab-{tile}-{seed}.png",
                                                       tile=tile, pad=pad))
        return run

    print(f"upscale: ESRGAN 4x (32 filters, 4 blocks) 192x144 -> 768x576, threads={args.threads}")
    _compare("upscale_whole", run_bare, genlab(0, 0), args.upscale_runs, args.verbose)
    _compare("upscale_tiled", run_bare_tiled, genlab(96, 8), args.upscale_runs, args.verbose)
    _compare("upscale_tiling_cost", run_bare, genlab(96, 8), args.upscale_runs, args.verbose)
    for bare_file, genlab_file, label in (("bare-1.png", "genlab-0-1.png", "whole"),
                                          ("bare-tiled-1.png", "genlab-96-1.png", "tiled")):
        with Image.open(out / bare_file) as a, Image.open(out / genlab_file) as b:
            same = np.array_equal(np.asarray(a), np.asarray(b.convert("RGB")))
        print(f"upscale_{label}_pixel_identical_to_bare={same}")


def _bench_flow(args, engine, tmp: Path) -> None:
    """The tiny FLUX.1-dev and SD 3 pipelines: bare diffusers against the engine, each in this process."""
    import diffusers
    import torch

    from desktop.core.image.engine import ImageRequest
    from desktop.core.image.params import ImageParams
    from desktop.core.records import NullSink
    from desktop.core.tiny_models.flow import build_tiny_flux_pipeline, build_tiny_sd3_pipeline

    side = max(64, args.size // 16 * 16)
    for name, build, cls, guidance, negative in (
            ("flux", build_tiny_flux_pipeline, diffusers.FluxPipeline, 3.5, ""),
            ("sd3", build_tiny_sd3_pipeline, diffusers.StableDiffusion3Pipeline, 4.5, "blurry")):
        model = build(tmp / f"tiny-{name}")
        bare = cls.from_pretrained(model, local_files_only=True)
        bare.set_progress_bar_config(disable=True)
        params = ImageParams(prompt="a lighthouse at dusk, oil painting", negative_prompt=negative,
                             steps=args.steps, guidance=guidance, width=side, height=side, seed=1, scheduler="Default")
        extra = {"negative_prompt": negative} if negative else {}

        def run_bare(seed: int, bare=bare, params=params, extra=extra) -> tuple[float, float]:
            return _timed(lambda: bare(params.prompt, num_inference_steps=params.steps, guidance_scale=params.guidance,
                                       width=side, height=side, generator=torch.Generator().manual_seed(seed),
                                       **extra))

        def run_genlab(seed: int, model=model, params=params) -> tuple[float, float]:
            return _timed(lambda: engine.generate(ImageRequest(str(model), params.with_seed(seed)), sink=NullSink()))

        print(f"{name}_runs={args.flow_runs} size={side}x{side} steps={args.steps}")
        _compare(name, run_bare, run_genlab, args.flow_runs, args.verbose)
        del bare
    engine.unload()


def _bench_lora(args, model: Path, params, engine, tmp: Path) -> None:
    """LoRA on and off against bare diffusers, then switching LoRAs against loading the model."""
    from dataclasses import replace

    import diffusers
    import torch

    from desktop.core.image.engine import ImageRequest
    from desktop.core.image.lora import resolve
    from desktop.core.image.params import LoraChoice
    from desktop.core.records import NullSink
    from desktop.core.tiny_models.lora import build_tiny_lora

    one = build_tiny_lora(model, tmp / "loras" / "one.safetensors", seed=1)
    two = build_tiny_lora(model, tmp / "loras" / "two.safetensors", seed=2)
    weight = 0.8
    with_lora = replace(params, loras=[LoraChoice(str(one), weight)])
    bare = diffusers.StableDiffusionPipeline.from_pretrained(model, local_files_only=True, safety_checker=None,
                                                             requires_safety_checker=False)
    bare.set_progress_bar_config(disable=True)
    bare.load_lora_weights(str(one), adapter_name="one")
    bare.set_adapters(["one"], adapter_weights=[weight])

    def bare_call(seed: int) -> None:
        bare(params.prompt, negative_prompt=params.negative_prompt, num_inference_steps=params.steps,
             guidance_scale=params.guidance, width=params.width, height=params.height,
             generator=torch.Generator().manual_seed(seed))

    print(f"lora_runs={args.lora_runs} weight={weight} (a rank-4 LoRA on every attention projection)")
    _compare("lora", lambda seed: _timed(lambda: bare_call(seed)),
             lambda seed: _timed(lambda: engine.generate(ImageRequest(str(model), with_lora.with_seed(seed)),
                                                         sink=NullSink())),
             args.lora_runs, args.verbose)
    bare.unload_lora_weights()  # the bare pipeline without a LoRA; the engine drops its LoRA on the next image
    _compare("lora_off", lambda seed: _timed(lambda: bare_call(seed)),
             lambda seed: _timed(lambda: engine.generate(ImageRequest(str(model), params.with_seed(seed)),
                                                         sink=NullSink())),
             args.lora_runs, args.verbose)

    # Switching between images: the pipeline must stay the loaded one.  Alternating two LoRAs finds the
    # other one kept (idle) in the pipeline; cycling through four loads each one's file again.
    loaded = engine.load(model)
    slots = engine.lora_slots(loaded)
    files = [one, two] + [build_tiny_lora(model, tmp / "loras" / f"more-{i}.safetensors", seed=3 + i) for i in range(2)]
    resolved = [resolve(path.stem, path, weight) for path in files]
    reloads = 0

    def switching(cycle: int) -> list[float]:
        nonlocal reloads
        times = []
        for i in range(2 * args.lora_runs):
            k = i % cycle
            times.append(_timed(lambda k=k: slots.apply([resolved[k]]))[0])
            engine.generate(ImageRequest(str(model), replace(params, steps=2, loras=[LoraChoice(str(files[k]), weight)])
                                         .with_seed(i)), sink=NullSink())
            reloads += engine.loaded is not loaded
        return times

    switching(2)  # warm-up: both get loaded once
    loads_before = slots.loads
    kept = switching(2)
    kept_loads = slots.loads - loads_before
    loads_before = slots.loads
    fresh = switching(4)
    fresh_loads = slots.loads - loads_before
    model_loads = []
    for _ in range(max(3, args.lora_runs // 2)):
        engine.unload()
        model_loads.append(_timed(lambda: engine.load(model))[0])
    load_med = statistics.median(model_loads)
    print(f"lora_switches={len(kept) + len(fresh)} pipeline_reloads_while_switching={reloads}")
    print(f"lora_switch_kept_s_median={statistics.median(kept):.4f} (files loaded: {kept_loads})")
    print(f"lora_switch_new_s_median={statistics.median(fresh):.4f} (files loaded: {fresh_loads})")
    print(f"model_load_s_median={load_med:.4f}")
    print(f"lora_switch_kept_share_of_load={statistics.median(kept) / load_med:.4f}")
    print(f"lora_switch_new_share_of_load={statistics.median(fresh) / load_med:.4f}")


def _bench_inpaint(args, model: Path, params, engine, tmp: Path) -> None:
    """Inpainting: the bare diffusers pipeline against the engine, alternately, in this process."""
    from dataclasses import replace

    import diffusers
    import numpy as np
    import torch
    from PIL import Image

    from desktop.core.image.engine import ImageRequest
    from desktop.core.records import NullSink

    side = args.size
    rng = np.random.default_rng(0)
    init_path, mask_path = tmp / "init.png", tmp / "mask.png"
    Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8), "RGB").save(init_path)
    mask = np.zeros((side, side), np.uint8)
    mask[side // 4:3 * side // 4, side // 4:3 * side // 4] = 255
    Image.fromarray(mask, "L").save(mask_path)
    init, mask_image = Image.open(init_path).convert("RGB"), Image.open(mask_path).convert("L")
    inpaint = replace(params, init_image=str(init_path), mask_image=str(mask_path), strength=1.0)
    bare = diffusers.StableDiffusionInpaintPipeline.from_pretrained(
        model, local_files_only=True, safety_checker=None, requires_safety_checker=False)
    bare.set_progress_bar_config(disable=True)

    def run_bare(seed: int) -> tuple[float, float]:
        c0, t0 = time.process_time(), time.perf_counter()
        bare(inpaint.prompt, negative_prompt=inpaint.negative_prompt, image=init, mask_image=mask_image,
             strength=1.0, num_inference_steps=inpaint.steps, guidance_scale=inpaint.guidance,
             width=side, height=side, generator=torch.Generator().manual_seed(seed))
        return time.perf_counter() - t0, time.process_time() - c0

    def run_genlab(seed: int) -> tuple[float, float]:
        c0, t0 = time.process_time(), time.perf_counter()
        engine.generate(ImageRequest(str(model), inpaint.with_seed(seed)), sink=NullSink())
        return time.perf_counter() - t0, time.process_time() - c0

    run_bare(0), run_genlab(0)  # warm-up: the inpainting pipeline is built from the loaded one here
    bare_runs, genlab_runs = [], []
    for i in range(args.inpaint_runs):
        bare_runs.append(run_bare(i + 1))
        genlab_runs.append(run_genlab(i + 1))
    bare_times, genlab_times = [r[0] for r in bare_runs], [r[0] for r in genlab_runs]
    bare_med, genlab_med = statistics.median(bare_times), statistics.median(genlab_times)
    print(f"inpaint_runs={args.inpaint_runs} mask={side // 2}x{side // 2} of {side}x{side}")
    print(f"inpaint_bare_run_s_median={bare_med:.4f}")
    print(f"inpaint_genlab_run_s_median={genlab_med:.4f}")
    print(f"inpaint_ratio={bare_med / genlab_med:.3f}")
    print(f"inpaint_ratio_paired={statistics.median(b / g for b, g in zip(bare_times, genlab_times)):.3f}")
    print(f"inpaint_ratio_cpu_time={statistics.median(r[1] for r in bare_runs) / statistics.median(r[1] for r in genlab_runs):.3f}")
    if args.verbose:
        print("inpaint_bare_runs_s=" + ",".join(f"{t:.4f}" for t in bare_times))
        print("inpaint_genlab_runs_s=" + ",".join(f"{t:.4f}" for t in genlab_times))
