"""Training on CPU with PyTorch, ONNX export, and an ONNX/PyTorch parity check.

`train()` is the Python entry point (the CLI and later bootstrap loops call it).
It loads real datasets, optionally renders synthetic captchas, splits the real
data by file-name hash, trains `CaptchaNet` until the validation accuracy reaches
the target, the epochs are done, or the time budget is spent, then exports the
best weights to `<out>.onnx` with a `<out>.json` metadata sidecar and a
`<out>.pt` checkpoint (for `init_from`).

Torch is imported only here and in `model.py`.
"""

from __future__ import annotations

import os

# OpenMP's spin-wait makes torch crawl when another process shares the cores; must precede `import torch`.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import copy  # noqa: E402
import datetime as _dt  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import random  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Collection, Sequence  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from gradewatch.captcha import dataset as ds  # noqa: E402
from gradewatch.captcha.errors import DatasetError, ModelError  # noqa: E402
from gradewatch.captcha.render import RENDERERS, render_dataset  # noqa: E402
from gradewatch.captcha.spec import SPECS, CaptchaSpec, to_model_input  # noqa: E402

try:
    import torch  # noqa: E402
    from torch import nn  # noqa: E402
except ImportError as exc:  # pragma: no cover - depends on the environment
    from gradewatch.captcha.errors import MissingDependency

    raise MissingDependency(
        "training needs PyTorch: pip install 'gradewatch[train]' (pins torch==2.13.0, CPU build)"
    ) from exc

from gradewatch.captcha.augment import augment_batch  # noqa: E402
from gradewatch.captcha.model import CaptchaNet, Probabilities, parameter_count  # noqa: E402
from gradewatch.captcha.splice import Splicer  # noqa: E402

METADATA_FORMAT = 1


@dataclass
class TrainResult:
    onnx_path: Path
    metadata_path: Path
    checkpoint_path: Path
    val_accuracy: float  # full-string accuracy on the validation split (real data when there is any)
    val_char_accuracy: float
    n_val: int
    val_source: str  # "real" or "synthetic"
    synthetic_accuracy: float | None  # on freshly rendered captchas, when the spec has a renderer
    n_train_real: int
    n_synthetic: int
    epochs: float
    seconds: float
    reached_target: bool
    seconds_to_target: float | None
    parity: dict
    history: list[dict] = field(default_factory=list)
    val_errors: list[dict] = field(default_factory=list)


def _to_tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(to_model_input(images)).contiguous(memory_format=torch.channels_last)


@torch.no_grad()
def predict(net: nn.Module, x: torch.Tensor, batch: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """(argmax indices (N, L), probabilities of those (N, L))."""
    net.eval()
    idx, prob = [], []
    for i in range(0, len(x), batch):
        p = torch.softmax(net(x[i : i + batch]), dim=-1)
        m, a = p.max(dim=-1)
        idx.append(a.numpy())
        prob.append(m.numpy())
    if not idx:
        return np.zeros((0, 0), np.int64), np.zeros((0, 0), np.float32)
    return np.concatenate(idx), np.concatenate(prob)


@torch.no_grad()
def _val_metrics(net: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 1024) -> tuple[float, float, float]:
    """(full-string accuracy, per-character accuracy, mean per-character cross-entropy) in eval mode."""
    net.eval()
    if len(x) == 0:
        return 0.0, 0.0, math.inf
    right = chars = 0
    nll = 0.0
    for i in range(0, len(x), batch):
        logits = net(x[i : i + batch])
        yy = y[i : i + batch]
        hit = logits.argmax(-1) == yy
        right += int(hit.all(dim=1).sum())
        chars += int(hit.sum())
        nll += float(nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), yy.reshape(-1), reduction="sum"))
    return right / len(x), chars / y.numel(), nll / y.numel()


def _accuracy(pred: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    if len(y) == 0:
        return 0.0, 0.0
    return float((pred == y).all(axis=1).mean()), float((pred == y).mean())


def _load_real(
    datasets: Sequence[Path],
    spec: CaptchaSpec,
    val_fraction: float,
    exclude: set[str],
    validate_on: set[str] | None = None,
):
    train_s: list[ds.Sample] = []
    val_s: list[ds.Sample] = []
    summary = []
    for path in datasets:
        d = ds.load(path, spec)
        if not d.samples:
            raise DatasetError(f"{path}: no usable <label>.png images for spec {spec.name!r}")
        if validate_on is None:
            tr, va = ds.split(d.samples, val_fraction)
        else:
            tr = [s for s in d.samples if s.name not in validate_on]
            va = [s for s in d.samples if s.name in validate_on]
        kept = [s for s in tr if s.name not in exclude]  # exclusions never touch the validation split
        train_s += kept
        val_s += va
        summary.append(
            {
                "source": Path(path).name,
                "images": len(d.samples),
                "excluded_from_training": len(tr) - len(kept),
                "train": len(kept),
                "validation": len(va),
                "skipped": dict(d.skipped),
            }
        )
    return train_s, val_s, summary


def _arrays(samples: Sequence[ds.Sample], spec: CaptchaSpec) -> tuple[np.ndarray, np.ndarray]:
    return ds.Dataset("", list(samples)).arrays(spec)


def _synthetic(spec: CaptchaSpec, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    texts, images = render_dataset(spec, n, seed)
    x = (
        np.stack([spec.prepare(im) for im in images])
        if images
        else np.zeros((0, spec.channels, spec.height, spec.width), np.uint8)
    )
    y = np.array([spec.encode(t) for t in texts], dtype=np.int64).reshape(len(texts), spec.length)
    return x, y, texts


def export_onnx(net: CaptchaNet, spec: CaptchaSpec, path: Path) -> None:
    """Export `net` (eval mode) to a self-contained ONNX file: input `image` (N,C,H,W) -> `probabilities` (N,L,K)."""
    import logging
    import warnings

    net = copy.deepcopy(net).eval()
    path.parent.mkdir(parents=True, exist_ok=True)
    dummy = torch.zeros(2, spec.channels, spec.height, spec.width)
    # The exporter logs a warning per missing torchvision op; none of them is used here.
    noisy = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = noisy.level
    noisy.setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Probabilities(net),
            (dummy,),
            str(path),
            input_names=["image"],
            output_names=["probabilities"],
            dynamic_shapes=({0: torch.export.Dim("batch")},),
            external_data=False,
            dynamo=True,
            verbose=False,
        )
    noisy.setLevel(level)


def check_parity(net: CaptchaNet, onnx_path: Path, x: torch.Tensor, limit: int = 512) -> dict:
    """Run the same inputs through PyTorch and ONNX Runtime; report agreement and the largest probability gap."""
    import onnxruntime as ort

    x = x[:limit].contiguous()
    net.eval()
    with torch.no_grad():
        pt = torch.softmax(net(x), dim=-1).numpy()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
    ox = sess.run(None, {"image": x.numpy()})[0]
    agree = float((pt.argmax(-1) == ox.argmax(-1)).all(axis=1).mean()) if len(x) else 1.0
    return {"n": int(len(x)), "agreement": agree, "max_abs_diff": float(np.abs(pt - ox).max()) if len(x) else 0.0}


def _load_init(net: CaptchaNet, init_from: Path) -> None:
    ckpt = init_from if init_from.suffix == ".pt" else init_from.with_suffix(".pt")
    if not ckpt.is_file():
        raise ModelError(f"{init_from}: no PyTorch checkpoint ({ckpt.name}) to start from")
    try:
        state = torch.load(ckpt, map_location="cpu", weights_only=True)
        widths = state.get("widths") if isinstance(state, dict) else None
        if widths is not None and tuple(widths) != tuple(net.widths):
            raise ModelError(f"{ckpt}: network widths {tuple(widths)} differ from this spec's {net.widths}")
        net.load_state_dict(state["model"] if "model" in state else state)
    except ModelError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure here means an unusable checkpoint
        raise ModelError(f"{ckpt}: cannot use as a starting point ({exc})") from None


def _progress(enabled: bool):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]:.4f}  val {task.fields[val]}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=not enabled,
        transient=False,
    )


def train(
    datasets: Sequence[Path],
    out: Path,
    spec: CaptchaSpec | None = None,
    *,
    synthetic: int = 0,
    minutes: float = 3.0,
    target: float = 0.999,
    seed: int = 0,
    init_from: Path | None = None,
    progress: bool = True,
    epochs: int = 8,
    batch_size: int = 128,
    lr: float = 3e-3,
    val_fraction: float = 0.1,
    validate_on: Collection[str] | None = None,
    label_smoothing: float = 0.05,
    threads: int | None = None,
    exclude: Sequence[str] = (),
    evals_per_epoch: int = 4,
    augment: bool = False,
    min_steps: int = 0,
    splice: float = 0.0,
) -> TrainResult:
    """Train a captcha model and export it; see the module docstring."""
    started = time.perf_counter()
    spec = spec or SPECS["ssfw"]
    out = Path(out)
    if out.suffix != ".onnx":
        out = out.with_suffix(".onnx")
    try:  # fail before training, not after it, when the model cannot be written
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out.parent, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise ModelError(f"{out}: cannot write the model there ({exc.strerror or exc})") from None
    torch.set_num_threads(threads or 1)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)

    # ----- data ------------------------------------------------------------
    train_s, val_s, summary = _load_real(
        [Path(p) for p in datasets], spec, val_fraction, set(exclude), None if validate_on is None else set(validate_on)
    )
    fit_only = validate_on is not None and not val_s and bool(train_s) and spec.name not in RENDERERS
    if fit_only:
        val_s = list(train_s)  # none of the named files is here (a handful of labels): pick by training fit
    x_real, y_real = _arrays(train_s, spec)
    x_val_u8, y_val = _arrays(val_s, spec)
    val_names = [s.name for s in val_s]
    val_labels = [s.label for s in val_s]
    has_renderer = spec.name in RENDERERS
    if synthetic and not has_renderer:
        raise DatasetError(f"no synthetic renderer for spec {spec.name!r}")
    x_syn, y_syn, _ = _synthetic(spec, synthetic, seed) if synthetic else (None, None, None)
    x_sval = y_sval = None
    if has_renderer:
        x_sval, y_sval, _ = _synthetic(spec, 1000 if synthetic or not val_s else 500, seed + 7919)
    val_source = "training images (none held out)" if fit_only else "real"
    if not val_s:
        if x_sval is None:
            raise DatasetError("no validation data: give real datasets or a spec with a synthetic renderer")
        x_val_u8, y_val, val_source = x_sval, y_sval, "synthetic"
        val_names, val_labels = [], []
    parts_x = [a for a in (x_real, x_syn) if a is not None and len(a)]
    parts_y = [a for a in (y_real, y_syn) if a is not None and len(a)]
    if not parts_x:
        raise DatasetError("no training data: give datasets and/or --synthetic N")
    x_train = _to_tensor(np.concatenate(parts_x))
    y_train = torch.from_numpy(np.concatenate(parts_y))
    x_val = _to_tensor(x_val_u8)
    x_sval_t = _to_tensor(x_sval) if x_sval is not None else None
    splicer = None
    if splice > 0:
        blank = len(spec.charset) if spec.variable_length else None
        splicer = Splicer(x_train.contiguous(), y_train, blank)
        splicer = splicer if splicer.usable else None

    # ----- model -----------------------------------------------------------
    net = CaptchaNet(spec).to(memory_format=torch.channels_last)
    if init_from is not None:
        _load_init(net, Path(init_from))
    n = len(x_train)
    steps_per_epoch = max(1, math.ceil(n / batch_size))
    epochs = max(epochs, math.ceil(min_steps / steps_per_epoch))  # a few hundred images need more passes
    total_steps = steps_per_epoch * epochs
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=lr, total_steps=total_steps, pct_start=0.15, div_factor=10.0, final_div_factor=100.0
    )
    loss_fn = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    gen = torch.Generator().manual_seed(seed)
    eval_every = max(1, steps_per_epoch // max(1, evals_per_epoch), total_steps // 60)
    deadline = started + minutes * 60.0

    best_acc, best_char, best_state, best_step = -1.0, 0.0, None, 0
    best_key = (-1.0, -math.inf)
    y_val_t = torch.from_numpy(y_val)
    history: list[dict] = []
    seconds_to_target: float | None = None
    step = 0
    running = 0.0
    stop = False
    with _progress(progress) as bar:
        task = bar.add_task("training", total=total_steps, loss=float("nan"), val="–")
        for _epoch in range(epochs):
            perm = torch.randperm(n, generator=gen)
            net.train()
            for i in range(0, n, batch_size):
                idx = perm[i : i + batch_size]
                if len(idx) < 2:  # batch norm needs more than one sample
                    continue
                xb, yb = x_train[idx], y_train[idx]
                if splicer is not None:  # a share of the batch: new captchas from the columns of two
                    m = int(round(len(idx) * splice))
                    xs, ys = splicer.draw(m, gen)
                    xb, yb = torch.cat([xb[m:], xs]), torch.cat([yb[m:], ys])
                xb = augment_batch(xb, gen) if augment else xb
                logits = net(xb)
                loss = loss_fn(logits.reshape(-1, spec.num_classes), yb.reshape(-1))
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                step += 1
                running = loss.item() if step == 1 else 0.95 * running + 0.05 * loss.item()
                if step % eval_every == 0 or step == total_steps:
                    acc, char_acc, nll = _val_metrics(net, x_val, y_val_t)
                    elapsed = time.perf_counter() - started
                    history.append(
                        {
                            "step": step,
                            "epoch": step / steps_per_epoch,
                            "seconds": round(elapsed, 1),
                            "loss": round(running, 5),
                            "val_accuracy": acc,
                            "val_nll": round(nll, 5),
                        }
                    )
                    # Best = most accurate; among equals, the lowest validation loss (usually the later weights).
                    if (acc, -nll) > best_key:
                        best_key = (acc, -nll)
                        best_acc, best_char, best_step = acc, char_acc, step
                        best_state = copy.deepcopy(net.state_dict())
                    if acc >= target and seconds_to_target is None:
                        seconds_to_target = elapsed
                        stop = True
                    bar.update(task, val=f"{acc:.2%} (best {best_acc:.2%})")
                    net.train()
                bar.update(task, advance=1, loss=running)
                if stop or time.perf_counter() > deadline:
                    stop = True
                    break
            if stop:
                break
    if best_state is None:  # no evaluation happened (tiny budget): use the current weights
        pred, _ = predict(net, x_val)
        best_acc, best_char = _accuracy(pred, y_val)
        best_state, best_step = copy.deepcopy(net.state_dict()), step
    net.load_state_dict(best_state)
    net.eval()
    train_seconds = time.perf_counter() - started

    pred, _ = predict(net, x_val)
    val_acc, val_char = _accuracy(pred, y_val)
    val_errors = []
    if val_source == "real":
        for k in np.nonzero(~(pred == y_val).all(axis=1))[0]:
            val_errors.append({"file": val_names[k], "label": val_labels[k], "predicted": spec.decode(pred[k])})
    syn_acc = None
    if x_sval_t is not None:
        spred, _ = predict(net, x_sval_t)
        syn_acc = _accuracy(spred, y_sval)[0]

    # ----- export ----------------------------------------------------------
    ckpt = out.with_suffix(".pt")
    meta_path = out.with_suffix(".json")
    try:
        export_onnx(net, spec, out)
        torch.save(
            {"model": net.state_dict(), "spec": spec.to_dict(), "widths": list(net.widths), "neck": net.neck}, ckpt
        )
    except OSError as exc:
        raise ModelError(f"{out}: cannot write model ({exc.strerror or exc})") from None
    except Exception as exc:  # noqa: BLE001 - the exporter raises many error types; report one line
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ModelError(f"{out}: ONNX export failed ({first[:200]})") from None
    parity = check_parity(net, out, x_val if len(x_val) else x_train)
    onnx_bytes = out.read_bytes()
    meta = {
        "format": METADATA_FORMAT,
        "spec": spec.to_dict(),
        "input": {
            "name": "image",
            "shape": ["batch", spec.channels, spec.height, spec.width],
            "dtype": "float32",
            "scaling": "(255 - pixel) / 255 after preprocessing: ink is 1, white background is 0",
        },
        "output": {
            "name": "probabilities",
            "shape": ["batch", spec.length, spec.num_classes],
            "classes": spec.charset + ("<blank>" if spec.variable_length else ""),
        },
        "preprocessing": {
            "grayscale": spec.grayscale,
            "threshold": spec.threshold,
            "rule": "PIL convert('L'), then 255 if pixel > threshold else 0" if spec.threshold is not None else None,
            "size": [spec.width, spec.height],
            "resize": spec.resize,
            "resample": spec.resample if spec.resize else None,
        },
        "training": {
            "datasets": summary,
            "real_train_images": int(len(x_real)),
            "synthetic_images": int(synthetic),
            "excluded_from_training": sorted(set(exclude)),
            "val_fraction": val_fraction,
            "split": "sha256(file name) < val_fraction -> validation"
            if validate_on is None
            else "validation: the files named by the caller",
            "seed": seed,
            "augment": augment,
            "splice": splice if splicer is not None else 0.0,
            "batch_size": batch_size,
            "epochs_run": round(step / steps_per_epoch, 2),
            "best_step": best_step,
            "seconds": round(train_seconds, 1),
            "torch": torch.__version__,
            "parameters": parameter_count(net),
            "architecture": {"widths": list(net.widths), "neck": net.neck},
            "trained_at": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "validation": {
            "source": val_source,
            "n": int(len(y_val)),
            "accuracy": round(val_acc, 6),
            "char_accuracy": round(val_char, 6),
            "synthetic_accuracy": None if syn_acc is None else round(syn_acc, 6),
            "errors": val_errors[:50],
        },
        "history": history,
        "parity": parity,
        "onnx_sha256": hashlib.sha256(onnx_bytes).hexdigest(),
    }
    try:
        meta_path.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    except OSError as exc:
        raise ModelError(f"{meta_path}: cannot write metadata ({exc.strerror or exc})") from None
    return TrainResult(
        onnx_path=out,
        metadata_path=meta_path,
        checkpoint_path=ckpt,
        val_accuracy=val_acc,
        val_char_accuracy=val_char,
        n_val=int(len(y_val)),
        val_source=val_source,
        synthetic_accuracy=syn_acc,
        n_train_real=int(len(x_real)),
        n_synthetic=int(synthetic),
        epochs=step / steps_per_epoch,
        seconds=train_seconds,
        reached_target=seconds_to_target is not None or val_acc >= target,
        seconds_to_target=seconds_to_target,
        parity=parity,
        history=history,
        val_errors=val_errors,
    )
