"""Model benchmark: mmdet's SOLOv2 against ours, same weights, same crowded batch.

Measured for both (medians after warm-up): inference (``model.predict``:
network forward and post-processing), the network forward alone, a training
step (loss, backward, an SGD step with learning rate 0 so the weights stay
put) and targets + losses (``mask_head.loss_by_feat`` on fixed head outputs,
no gradients). Ratios are mmdet's time over ours (> 1: ours is faster). The
two inference outputs are compared (same detections). Optional rows run our
model only, each with its agreement with our fp32 eager result:

- ``bf16``: ``torch.autocast`` to bfloat16 around inference, and around the
  loss of a training step (backward and step outside, as ``BF16OptimWrapper``);
- ``channels_last``: model and inputs in channels-last memory format (inference
  and training step);
- ``compile``: ``torch.compile(fullgraph=True)`` of backbone, neck and head
  forward, eager post-processing;
- ``cudagraphs``: the same with ``mode='reduce-overhead'`` (CUDA graphs;
  CUDA only).
"""

import contextlib
import copy
import os
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from .agreement import compare_detections, compare_training
from .flops import REFERENCE_CONV, count_flops, reference_rate
from .measure import Measurement, measure, measure_interleaved, ratio
from .models import (
    CATEGORY_BIAS,
    build_model_pair,
    mmcv_focal_loss_works,
    parameters_of,
    pytorch_focal_loss_for_mmdet,
    synthetic_batch,
)
from .profiling import profile_call

VARIANTS = ("bf16", "channels_last", "compile", "cudagraphs")
# Optional rows that also time a training step (the compiled ones time inference only).
EAGER_VARIANTS = ("bf16", "channels_last")
MEASURES = ("inference", "forward", "train_step", "targets_losses")


@dataclass
class ModelBenchConfig:
    """Settings of one model benchmark run.

    Attributes:
        device (str): ``'cpu'`` or ``'cuda'``.
        size (tuple[int, int]): Image size (H, W).
        instances (int): Ground-truth instances per image.
        batch (int): Images per batch.
        warmup (int): Untimed calls before each measurement.
        repeats (int): Timed calls per measurement.
        threads (int): torch CPU threads (CPU runs only; 0 keeps torch's).
        shrink (bool): ResNet-18 and a 64-wide head instead of R50.
        variants (list[str]): Optional rows of :data:`VARIANTS`.
        measures (list[str]): Which of :data:`MEASURES` to time.
        seed (int): Seed of weights and scene.
        category_bias (float): Bias of the category logits (-2.3: about 100
            detections on a crowded image; lower: fewer candidates).
        profile_dir (str, optional): Also write a ``torch.profiler`` table of
            every measure of each model there (``{model}_{measure}.txt``).
        flops (bool): Also count each measure's convolution and matrix-product
            operations and time a reference convolution (see
            :mod:`solov2_plugin.benchmark.flops`).
    """

    device: str = "cpu"
    size: Tuple[int, int] = (512, 512)
    instances: int = 40
    batch: int = 1
    warmup: int = 1
    repeats: int = 3
    threads: int = 2
    shrink: bool = False
    variants: List[str] = field(default_factory=list)
    measures: List[str] = field(default_factory=lambda: list(MEASURES))
    seed: int = 0
    category_bias: float = CATEGORY_BIAS
    profile_dir: Optional[str] = None
    flops: bool = False

    def check(self) -> None:
        """Raise ``ValueError`` naming the bad setting."""
        unknown = sorted(set(self.variants) - set(VARIANTS))
        if unknown:
            raise ValueError(f"--variants: unknown {unknown}; choose from {list(VARIANTS)}.")
        unknown = sorted(set(self.measures) - set(MEASURES))
        if unknown:
            raise ValueError(f"--measures: unknown {unknown}; choose from {list(MEASURES)}.")
        if self.device not in ("cpu", "cuda"):
            raise ValueError(f"--device must be 'cpu' or 'cuda', got {self.device!r}.")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise ValueError("--device cuda: no CUDA GPU is visible to torch; use --device cpu.")
        if min(self.size) < 32 or self.batch < 1 or self.instances < 1:
            raise ValueError(
                f"--size {self.size}, --batch {self.batch}, --instances {self.instances}: need "
                "sides >= 32 px, a batch >= 1 and at least one instance."
            )


def _predictions(model: nn.Module, inputs: Tensor, samples: list) -> list:
    """``pred_instances`` of every image (taken before the samples are reused)."""
    return [sample.pred_instances for sample in model.predict(inputs, samples)]


def _forward(model: nn.Module) -> Callable[[Tensor], tuple]:
    """Backbone, neck and head forward of ``model`` as one function."""

    def forward(inputs: Tensor) -> tuple:
        return model.mask_head(model.extract_feat(inputs))

    return forward


def _autocast(
    device: torch.device, dtype: Optional[torch.dtype]
) -> contextlib.AbstractContextManager:
    """``torch.autocast`` to ``dtype`` on ``device``'s type, or nothing when ``dtype`` is None."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


def _backward_losses(
    model: nn.Module, inputs: Tensor, samples: list, autocast_dtype: Optional[torch.dtype]
) -> Dict[str, Tensor]:
    """The loss terms of ``model.loss`` (under autocast to ``autocast_dtype`` if given), after
    back-propagating their sum."""
    with _autocast(inputs.device, autocast_dtype):
        losses = {key: value for key, value in model.loss(inputs, samples).items() if "loss" in key}
    sum(losses.values()).backward()
    return losses


def _train_step(
    model: nn.Module, inputs: Tensor, samples: list, autocast_dtype: Optional[torch.dtype] = None
) -> Callable[[], None]:
    """One training step: loss (under autocast to ``autocast_dtype`` if given), backward and an
    SGD step with learning rate 0."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)

    def step() -> None:
        _backward_losses(model, inputs, samples, autocast_dtype)
        optimizer.step()
        # Freed here, not before the next step: the other model's turn runs in between.
        optimizer.zero_grad(set_to_none=True)

    return step


@contextlib.contextmanager
def _training_mode(model: nn.Module) -> Iterator[None]:
    """``model`` in training mode meanwhile; its gradients dropped and evaluation mode on exit."""
    model.train()
    try:
        yield
    finally:
        model.zero_grad(set_to_none=True)
        model.eval()


def _losses_and_gradients(
    model: nn.Module, inputs: Tensor, samples: list, autocast_dtype: Optional[torch.dtype] = None
) -> Tuple[Dict[str, float], Tensor]:
    """Loss values and gradients of one training step (no optimizer step).

    Returns:
        tuple: The losses by name, and the gradients of every trainable
        parameter flattened into one float32 vector, shape (W,) (zeros where
        a parameter got none).
    """
    with _training_mode(model):
        losses = _backward_losses(model, inputs, samples, autocast_dtype)
        params = [p for p in model.parameters() if p.requires_grad]
        grads = torch.cat(
            [
                (p.grad if p.grad is not None else torch.zeros_like(p)).flatten().float()
                for p in params
            ]
        )
    return {key: value.item() for key, value in losses.items()}, grads


LOSS_MEASURES = ("train_step", "targets_losses")


@contextlib.contextmanager
def _measured_call(
    model: nn.Module, inputs: Tensor, samples: list, measure_name: str
) -> Iterator[Callable[[], object]]:
    """The work of one measure for ``model``, with the model in the right mode meanwhile.

    ``train_step`` runs in training mode with gradients (they are dropped on
    exit); the other measures run in evaluation mode under ``torch.no_grad``.
    ``targets_losses`` computes the head outputs once, on entry.
    """
    if measure_name == "train_step":
        with _training_mode(model):
            yield _train_step(model, inputs, samples)
        return
    model.eval()
    forward = _forward(model)
    with torch.no_grad():
        if measure_name == "inference":
            yield lambda: model.predict(inputs, samples)
        elif measure_name == "forward":
            yield lambda: forward(inputs)
        else:
            head_outs = forward(inputs)
            gts = [sample.gt_instances for sample in samples]
            metas = [sample.metainfo for sample in samples]
            yield lambda: model.mask_head.loss_by_feat(
                *head_outs, batch_gt_instances=gts, batch_img_metas=metas
            )


def _profile_title(cfg: ModelBenchConfig, model_name: str, measure_name: str) -> str:
    height, width = cfg.size
    return (
        f"{model_name} {measure_name}: {height}x{width}, batch {cfg.batch}, {cfg.instances} inst."
    )


def _measure_models(
    models: Dict[str, nn.Module],
    inputs: Tensor,
    samples: list,
    cfg: ModelBenchConfig,
    device: torch.device,
    loss_context: Callable[[], contextlib.AbstractContextManager],
    log: Callable[[str], None],
) -> Tuple[
    Dict[str, Dict[str, Measurement]], Dict[str, Dict[str, dict]], Dict[str, Dict[str, int]]
]:
    """Time the requested measures of the models, in turns (see :func:`measure_interleaved`).

    Args:
        models (dict[str, nn.Module]): The models by name (one model: plain timing).
        inputs (Tensor): Batch inputs, shape (N, 3, H, W).
        samples (list): Their data samples with ground truth.
        cfg (ModelBenchConfig): Measures, warm-up, repeats, ``profile_dir``.
        device (torch.device): Where they run.
        loss_context (Callable): Context entered around the loss measures
            (mmdet's focal-loss fallback; it touches no other model).
        log (Callable[[str], None]): Progress lines.

    Returns:
        tuple: Per model, per measure: a :class:`Measurement`; the profile
        summary (empty without ``profile_dir``); the operations counted by
        :func:`count_flops` (empty without ``flops``).
    """
    results: Dict[str, Dict[str, Measurement]] = {name: {} for name in models}
    profiles: Dict[str, Dict[str, dict]] = {name: {} for name in models}
    flops: Dict[str, Dict[str, int]] = {name: {} for name in models}
    for measure_name in (name for name in MEASURES if name in cfg.measures):
        with contextlib.ExitStack() as stack:
            if measure_name in LOSS_MEASURES:
                stack.enter_context(loss_context())
            calls = {
                name: stack.enter_context(_measured_call(model, inputs, samples, measure_name))
                for name, model in models.items()
            }
            timings = measure_interleaved(calls, device, cfg.warmup, cfg.repeats)
            log(
                f"  {measure_name:<15} "
                + ", ".join(f"{name} {t.median_ms:.1f} ms" for name, t in timings.items())
            )
            for name, timing in timings.items():
                results[name][measure_name] = timing
                if cfg.flops:
                    flops[name][measure_name] = count_flops(calls[name])
                if cfg.profile_dir:
                    profiles[name][measure_name] = profile_call(
                        calls[name],
                        device,
                        Path(cfg.profile_dir) / f"{name}_{measure_name}.txt",
                        _profile_title(cfg, name, measure_name),
                    )
    return results, profiles, flops


def _variant_model(
    name: str, ours: nn.Module, inputs: Tensor
) -> Tuple[nn.Module, Tensor, Optional[torch.dtype]]:
    """The model, inputs and autocast dtype of an eager optional row (:data:`EAGER_VARIANTS`)."""
    if name == "bf16":
        return ours, inputs, torch.bfloat16
    if name == "channels_last":
        model = copy.deepcopy(ours).to(memory_format=torch.channels_last)
        return model, inputs.contiguous(memory_format=torch.channels_last), None
    raise ValueError(f"{name!r} is not an eager variant; those are {list(EAGER_VARIANTS)}")


def _compiled_inference(
    name: str, ours: nn.Module, inputs: Tensor, samples: list, device: torch.device
) -> Callable[[], list]:
    """Inference with the forward compiled (``compile``) or CUDA-graphed (``cudagraphs``)."""
    if name == "cudagraphs" and device.type != "cuda":
        raise ValueError("cudagraphs needs --device cuda")
    mode = "reduce-overhead" if name == "cudagraphs" else None
    compiled = torch.compile(_forward(ours), fullgraph=True, mode=mode)
    metas = [sample.metainfo for sample in samples]

    def run() -> list:
        outs = compiled(inputs)
        return ours.mask_head.predict_by_feat(*outs, batch_img_metas=metas, rescale=True)

    return run


def _run_variant(
    name: str,
    ours: nn.Module,
    inputs: Tensor,
    samples: list,
    cfg: ModelBenchConfig,
    fp32_preds: Optional[list],
    fp32_step: Optional[Tuple[Dict[str, float], Tensor]],
    log: Callable[[str], None],
) -> Dict[str, object]:
    """Time one optional row of our model and compare it with our fp32 eager results.

    Args:
        name (str): One of :data:`VARIANTS`.
        ours (nn.Module): Our model, in evaluation mode.
        inputs (Tensor): Batch inputs, shape (N, 3, H, W).
        samples (list): Their data samples with ground truth.
        cfg (ModelBenchConfig): Measures, warm-up and repeats.
        fp32_preds (list, optional): Our fp32 eager detections (None: no
            inference row).
        fp32_step (tuple, optional): Our fp32 eager losses and gradients
            (:func:`_losses_and_gradients`; None: no training row).
        log (Callable[[str], None]): Progress lines.

    Returns:
        dict: ``inference`` (a :class:`Measurement` dict) and ``agreement``
        (:func:`compare_detections`) when timed; for the eager variants also
        ``train_step`` and ``train_agreement`` (:func:`compare_training`).
    """
    device = inputs.device
    row: Dict[str, object] = {}
    if name in EAGER_VARIANTS:
        model, var_inputs, dtype = _variant_model(name, ours, inputs)

        def infer() -> list:
            with _autocast(device, dtype):
                return _predictions(model, var_inputs, samples)

        min_warmup = 1
    elif fp32_preds is None:
        raise ValueError(f"{name} times inference only: add inference to --measures")
    else:
        model, infer, min_warmup = None, _compiled_inference(name, ours, inputs, samples, device), 3
    if fp32_preds is not None:
        with torch.no_grad():
            timing = measure(infer, device, max(cfg.warmup, min_warmup), cfg.repeats)
            row.update(
                inference=timing.as_dict(), agreement=compare_detections(fp32_preds, infer())
            )
        log(f"    inference       {timing.median_ms:10.1f} ms")
    if fp32_step is not None and model is not None:
        with _training_mode(model):
            step = _train_step(model, var_inputs, samples, dtype)
            timing = measure(step, device, cfg.warmup, cfg.repeats)
        losses, grads = _losses_and_gradients(model, var_inputs, samples, dtype)
        row.update(
            train_step=timing.as_dict(), train_agreement=compare_training(*fp32_step, losses, grads)
        )
        log(f"    train_step      {timing.median_ms:10.1f} ms")
    return row


def environment(device: torch.device) -> Dict[str, object]:
    """Versions, device name and thread count of this run."""
    import mmdet

    env: Dict[str, object] = dict(
        torch=torch.__version__,
        mmdet=mmdet.__version__,
        python=platform.python_version(),
        device=device.type,
        threads=torch.get_num_threads(),
        cpus=os.cpu_count(),
    )
    if device.type == "cuda":
        env["device_name"] = torch.cuda.get_device_name(device)
    else:
        env["device_name"] = platform.processor() or platform.machine()
    return env


FOCAL_LOSS_NOTE = (
    "mmcv's compiled sigmoid_focal_loss is unavailable on this device: mmdet's FocalLoss "
    "uses mmdet's own PyTorch version (py_sigmoid_focal_loss) instead."
)


def prepare_models(
    cfg: ModelBenchConfig,
) -> Tuple[torch.device, nn.Module, nn.Module, Callable[[], contextlib.AbstractContextManager]]:
    """Check ``cfg``, set the CPU threads and build mmdet's and our model with one set of weights.

    Returns:
        tuple: ``(device, mmdet_model, our_model, mmdet_loss_context)``; the
        context switches mmdet's focal loss to its PyTorch version where mmcv's
        compiled op is unavailable (:data:`FOCAL_LOSS_NOTE`), else does nothing.

    Raises:
        ValueError: If a setting is invalid (see :meth:`ModelBenchConfig.check`).
    """
    cfg.check()
    device = torch.device(cfg.device)
    if device.type == "cpu" and cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    reference, ours = build_model_pair(device, cfg.shrink, cfg.seed, cfg.category_bias)
    if mmcv_focal_loss_works(device):
        return device, reference, ours, contextlib.nullcontext
    return device, reference, ours, pytorch_focal_loss_for_mmdet


def run_model_benchmark(
    cfg: ModelBenchConfig, log: Optional[Callable[[str], None]] = None
) -> Dict[str, object]:
    """Run the benchmark and return its report (see :func:`format_report`).

    Args:
        cfg (ModelBenchConfig): Settings.
        log (Callable[[str], None], optional): Progress lines (default: none).

    Returns:
        dict: ``config``, ``environment``, ``notes``, ``results`` (per model,
        per measure, a :class:`Measurement` dict), ``ratios`` (mmdet over
        ours), ``ours_inference_over_forward``, ``agreement`` (ours vs mmdet,
        see :func:`compare_detections`) and ``variants`` (per optional row:
        ``inference`` and ``agreement`` with our fp32 eager result, or
        ``error``); with ``flops``, ``arithmetic`` (see :func:`arithmetic`).

    Raises:
        ValueError: If a setting is invalid (see :meth:`ModelBenchConfig.check`).
    """
    log = log or (lambda line: None)
    device, reference, ours, loss_context = prepare_models(cfg)
    inputs, samples = synthetic_batch(cfg.batch, cfg.size, cfg.instances, device, cfg.seed)
    notes: List[str] = []
    if loss_context is not contextlib.nullcontext:
        notes.append(FOCAL_LOSS_NOTE)
    for note in notes:
        log(f"note: {note}")

    with torch.no_grad():
        ref_preds = _predictions(reference, inputs, samples)
        our_preds = _predictions(ours, inputs, samples)
    agreement = compare_detections(ref_preds, our_preds)
    log(
        f"  detections: mmdet {int(agreement.get('num_ref', 0))}, ours "
        f"{int(agreement.get('num_other', 0))}, identical: {bool(agreement['identical'])}"
    )

    results, profiles, flops = _measure_models(
        dict(mmdet=reference, ours=ours), inputs, samples, cfg, device, loss_context, log
    )

    variants: Dict[str, Dict[str, object]] = {}
    fp32_step = None
    if "train_step" in cfg.measures and set(cfg.variants) & set(EAGER_VARIANTS):
        fp32_step = _losses_and_gradients(ours, inputs, samples)
    fp32_preds = our_preds if "inference" in cfg.measures else None
    for name in cfg.variants:
        log(f"  variant {name}:")
        try:
            variants[name] = _run_variant(
                name, ours, inputs, samples, cfg, fp32_preds, fp32_step, log
            )
        except Exception as err:  # an optional row must not end the run; its error is reported
            variants[name] = dict(error=f"{type(err).__name__}: {err}")
            log(f"    failed: {variants[name]['error']}")

    ratios = {
        key: ratio(results["mmdet"][key].median_ms, results["ours"][key].median_ms)
        for key in results["ours"]
        if key in results["mmdet"]
    }
    our_times = results["ours"]
    return dict(
        config=asdict(cfg),
        environment=environment(device),
        parameters=dict(mmdet=parameters_of(reference), ours=parameters_of(ours)),
        notes=notes,
        results={
            name: {key: value.as_dict() for key, value in per_model.items()}
            for name, per_model in results.items()
        },
        ratios=ratios,
        ours_inference_over_forward=ratio(
            our_times["inference"].median_ms if "inference" in our_times else None,
            our_times["forward"].median_ms if "forward" in our_times else None,
        ),
        agreement=agreement,
        variants=variants,
        profiles=profiles,
        arithmetic=arithmetic(results, flops, device) if cfg.flops else None,
    )


def arithmetic(
    results: Dict[str, Dict[str, Measurement]],
    flops: Dict[str, Dict[str, int]],
    device: torch.device,
) -> Dict[str, object]:
    """Operations of each measure, the rate achieved, and the reference convolution's rate.

    Args:
        results (dict): Per model, per measure, its :class:`Measurement`.
        flops (dict): Per model, per measure, the operations of one call.
        device (torch.device): Where the reference convolution runs.

    Returns:
        dict: ``reference_conv`` (:data:`REFERENCE_CONV`), its rate
        ``reference_gflop_per_s``, and per model, per measure, ``gflop`` and
        ``gflop_per_s`` (over the median time).
    """
    return dict(
        reference_conv=list(REFERENCE_CONV),
        reference_gflop_per_s=reference_rate(device) / 1e9,
        models={
            name: {
                key: dict(
                    gflop=count / 1e9,
                    gflop_per_s=count / 1e6 / results[name][key].median_ms,
                )
                for key, count in per_model.items()
            }
            for name, per_model in flops.items()
        },
    )


def _mib(num_bytes: Optional[int]) -> str:
    return "-" if not num_bytes else f"{num_bytes / 2**20:,.0f}"


def _ms(entry: Optional[dict]) -> str:
    return "-" if entry is None else f"{entry['median_ms']:,.1f}"


def format_report(report: Dict[str, object]) -> str:
    """The report as a plain-text table.

    Args:
        report (dict): Output of :func:`run_model_benchmark`.

    Returns:
        str: Header line, one row per measure (medians in ms, speed-up of
        ours over mmdet, peak memory in MiB), the agreement, the optional
        rows and the notes.
    """
    cfg, env = report["config"], report["environment"]
    height, width = cfg["size"]
    lines = [
        f"model: {'shrunk R18' if cfg['shrink'] else 'R50'} SOLOv2, {cfg['device']} "
        f"({env['device_name']}, {env['threads']} threads), {height}x{width}, batch "
        f"{cfg['batch']}, {cfg['instances']} instances/image, fp32, median of "
        f"{cfg['repeats']} after {cfg['warmup']} warm-up",
        f"  {'measure':<16}{'mmdet ms':>12}{'ours ms':>12}{'speed-up':>10}"
        f"{'mmdet peak MiB':>16}{'ours peak MiB':>15}",
    ]
    results = report["results"]
    for key in MEASURES:
        ref, our = results["mmdet"].get(key), results["ours"].get(key)
        if ref is None and our is None:
            continue
        speed = report["ratios"].get(key)
        lines.append(
            f"  {key:<16}{_ms(ref):>12}{_ms(our):>12}"
            f"{'-' if speed is None else f'{speed:.2f}x':>10}"
            f"{_mib(ref and ref['peak_bytes']):>16}{_mib(our and our['peak_bytes']):>15}"
        )
    over = report.get("ours_inference_over_forward")
    if over:
        lines.append(f"  ours: inference / forward = {over:.2f}")
    agree = report["agreement"]
    lines.append(
        f"  agreement ours vs mmdet: {int(agree.get('num_other', 0))} vs "
        f"{int(agree.get('num_ref', 0))} detections, identical: {bool(agree['identical'])}, "
        f"max score diff {agree.get('max_score_diff', 0):.2e}, mask pixels differing "
        f"{agree.get('mask_pixel_diff', 0):.2e}"
    )
    for name, row in report["variants"].items():
        lines.extend(_variant_lines(name, row, results))
    lines.extend(_arithmetic_lines(report.get("arithmetic")))
    lines.extend(f"  note: {note}" for note in report["notes"])
    return "\n".join(lines)


def _speed(reference: Optional[dict], ms: float, what: str) -> str:
    """``', 1.23x what'`` (reference median over ``ms``), or nothing without a reference."""
    speed = ratio(reference and reference["median_ms"], ms)
    return "" if speed is None else f", {speed:.2f}x {what}"


def _variant_lines(name: str, row: dict, results: dict) -> List[str]:
    """The rows of one optional variant in :func:`format_report`."""
    if "error" in row:
        return [f"  ours {name:<14} failed: {row['error']}"]
    lines = []
    if "inference" in row:
        ms, agree = row["inference"]["median_ms"], row["agreement"]
        lines.append(
            f"  ours {name:<14} inference {ms:,.1f} ms"
            f"{_speed(results['ours'].get('inference'), ms, 'fp32 eager')}, "
            f"{int(agree.get('num_other', 0))} detections, matched "
            f"{agree.get('matched', 0):.1%}, mean IoU {agree.get('mean_iou', 0):.3f}, "
            f"identical: {bool(agree['identical'])}"
        )
    if "train_step" in row:
        ms, agree = row["train_step"]["median_ms"], row["train_agreement"]
        lines.append(
            f"  ours {name:<14} train_step {ms:,.1f} ms"
            f"{_speed(results['ours'].get('train_step'), ms, 'fp32 eager')}"
            f"{_speed(results['mmdet'].get('train_step'), ms, 'mmdet fp32')}, losses within "
            f"{agree['max_loss_rel_diff']:.2%}, gradient cosine {agree['grad_cosine']:.4f} "
            f"(relative difference {agree['grad_rel_diff']:.3f})"
        )
    return lines


def _arithmetic_lines(arith: Optional[dict]) -> List[str]:
    """The ``--flops`` rows of :func:`format_report` (none without them)."""
    if not arith:
        return []
    batch, cin, cout, height, width, kernel = arith["reference_conv"]
    lines = [
        "  arithmetic (convolutions and matrix products, counted once):",
        f"  {'measure':<16}{'mmdet GFLOP':>12}{'ours GFLOP':>12}{'mmdet GFLOP/s':>15}"
        f"{'ours GFLOP/s':>14}",
    ]
    models = arith["models"]
    for key in MEASURES:
        ref, our = models.get("mmdet", {}).get(key), models.get("ours", {}).get(key)
        if ref is None and our is None:
            continue
        cells = [
            "-" if entry is None else f"{entry[field]:,.1f}"
            for field in ("gflop", "gflop_per_s")
            for entry in (ref, our)
        ]
        lines.append(f"  {key:<16}{cells[0]:>12}{cells[1]:>12}{cells[2]:>15}{cells[3]:>14}")
    lines.append(
        f"  reference: one {kernel}x{kernel} convolution, {cin} -> {cout} channels at "
        f"{height}x{width}, batch {batch}: {arith['reference_gflop_per_s']:,.1f} GFLOP/s "
        "on this device"
    )
    return lines


def parse_size(values: Sequence[int]) -> Tuple[int, int]:
    """``--size H W`` as a tuple."""
    height, width = values
    return int(height), int(width)
