"""TensorFlow / Keras as an optional training backend (the framework the original project used).

`train_tf()` trains the same network as `model.CaptchaNet` (linear head: four 3×3 conv +
batch-norm + ReLU blocks, max-pooling after the first three, a 1×1 neck, dropout, one dense
layer to ``length × classes``; the same per-spec widths) with the same recipe (AdamW, one-cycle
style warm-up and cosine decay, label smoothing 0.05, batch 128), and exports it through
tf2onnx to the **same ONNX contract**: input ``image`` (N, C, H, W) float32 with ink = 1, output
(N, length, classes) per-position probabilities, with the same JSON sidecar. The solver cannot
tell which backend trained a model. Needs the ``tensorflow`` extra; PyTorch is not imported.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow loads: no banner on stderr

import numpy as np  # noqa: E402

from gradewatch.captcha import dataset as ds  # noqa: E402
from gradewatch.captcha.architecture import architecture  # noqa: E402
from gradewatch.captcha.errors import DatasetError, MissingDependency, ModelError  # noqa: E402
from gradewatch.captcha.spec import CaptchaSpec, to_model_input  # noqa: E402

TF_HINT = "pip install 'gradewatch[tensorflow]'"


def _import_tf():  # type: ignore[no-untyped-def]
    try:
        import tensorflow as tf
        import tf2onnx
    except ImportError:
        raise MissingDependency(f"the TensorFlow backend needs tensorflow and tf2onnx: {TF_HINT}") from None
    return tf, tf2onnx


def build_model(spec: CaptchaSpec, dropout: float = 0.2):  # type: ignore[no-untyped-def]
    """Keras model: (N, C, H, W) input as in the ONNX contract -> (N, length, classes) probabilities."""
    tf, _ = _import_tf()
    keras = tf.keras
    layers = keras.layers
    widths, neck = architecture(spec)
    inp = keras.Input((spec.channels, spec.height, spec.width), name="image")
    x = layers.Permute((2, 3, 1))(inp)  # NCHW (the contract) -> NHWC (Keras on CPU)
    for i, w in enumerate(widths):
        x = layers.Conv2D(w, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(momentum=0.9, epsilon=1e-5)(x)
        x = layers.ReLU()(x)
        if i < 3:
            x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(neck, 1, use_bias=False)(x)
    x = layers.BatchNormalization(momentum=0.9, epsilon=1e-5)(x)
    x = layers.ReLU()(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(dropout)(x)
    x = layers.Dense(spec.length * spec.num_classes)(x)
    x = layers.Reshape((spec.length, spec.num_classes))(x)
    out = layers.Softmax(axis=-1, name="probabilities")(x)
    return keras.Model(inp, out)


def _arrays(samples: Sequence[ds.Sample], spec: CaptchaSpec) -> tuple[np.ndarray, np.ndarray]:
    x, y = ds.Dataset("", list(samples)).arrays(spec)
    return to_model_input(x).astype(np.float32), y


def train_tf(
    datasets: Sequence[Path],
    out: Path,
    spec: CaptchaSpec,
    *,
    minutes: float = 3.0,
    epochs: int = 8,
    target: float = 0.999,
    seed: int = 0,
    val_fraction: float = 0.1,
    threads: int = 1,
    exclude: Sequence[str] = (),
    batch_size: int = 128,
    lr: float = 3e-3,
    label_smoothing: float = 0.05,
) -> dict:
    """Train, export ``<out>.onnx`` + ``<out>.json``; returns the sidecar's content."""
    started = time.perf_counter()
    tf, tf2onnx = _import_tf()
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.keras.utils.set_random_seed(seed)
    out = Path(out).with_suffix(".onnx")
    out.parent.mkdir(parents=True, exist_ok=True)

    train_s, val_s = [], []
    for path in datasets:
        d = ds.load(path, spec)
        if not d.samples:
            raise DatasetError(f"{path}: no usable <label>.png images for spec {spec.name!r}")
        tr, va = ds.split(d.samples, val_fraction)
        train_s += [s for s in tr if s.name not in set(exclude)]
        val_s += va
    if not train_s or not val_s:
        raise DatasetError("the TensorFlow backend needs real training and validation images")
    x, y = _arrays(train_s, spec)
    xv, yv = _arrays(val_s, spec)
    onehot = np.eye(spec.num_classes, dtype=np.float32)

    model = build_model(spec)
    widths, neck = architecture(spec)
    steps_per_epoch = max(1, int(np.ceil(len(x) / batch_size)))
    total = steps_per_epoch * epochs
    schedule = tf.keras.optimizers.schedules.CosineDecay(
        lr / 10, decay_steps=max(1, total - total * 15 // 100), alpha=0.01,
        warmup_target=lr, warmup_steps=total * 15 // 100,
    )  # fmt: skip
    model.compile(
        optimizer=tf.keras.optimizers.AdamW(schedule, weight_decay=1e-4),
        loss=tf.keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing),
    )
    deadline = started + minutes * 60
    best_acc, best_weights, history = -1.0, model.get_weights(), []
    evals_per_epoch = 4
    chunk = max(1, steps_per_epoch // evals_per_epoch) * batch_size
    rng = np.random.default_rng(seed)
    done = False
    for epoch in range(epochs):
        order = rng.permutation(len(x))
        for i in range(0, len(x), chunk):
            idx = order[i : i + chunk]
            model.fit(x[idx], onehot[y[idx]], batch_size=batch_size, epochs=1, verbose=0, shuffle=False)
            acc = _accuracy(model.predict(xv, batch_size=1024, verbose=0), yv)
            history.append({"epoch": round(epoch + (i + len(idx)) / len(x), 3), "val_accuracy": acc})
            if acc > best_acc:
                best_acc, best_weights = acc, model.get_weights()
            if acc >= target or time.perf_counter() > deadline:
                done = True
                break
        if done:
            break
    model.set_weights(best_weights)
    seconds = time.perf_counter() - started

    signature = (tf.TensorSpec((None, spec.channels, spec.height, spec.width), tf.float32, name="image"),)
    try:
        fn = tf.function(lambda image: model(image, training=False))
        tf2onnx.convert.from_function(fn, input_signature=signature, opset=17, output_path=str(out))
    except Exception as exc:  # noqa: BLE001 - the converter raises many error types; report one line
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ModelError(f"{out}: ONNX export from TensorFlow failed ({first[:200]})") from None
    keras_probs = model.predict(xv[:512], batch_size=512, verbose=0)
    parity = _parity(out, xv[:512], keras_probs)
    val_acc = _accuracy(model.predict(xv, batch_size=1024, verbose=0), yv)
    meta = {
        "format": 1,
        "spec": spec.to_dict(),
        "input": {"name": "image", "shape": ["batch", spec.channels, spec.height, spec.width], "dtype": "float32",
                  "scaling": "(255 - pixel) / 255 after preprocessing: ink is 1, white background is 0"},
        "output": {"shape": ["batch", spec.length, spec.num_classes],
                   "classes": spec.charset + ("<blank>" if spec.variable_length else "")},
        "training": {
            "backend": "tensorflow",
            "tensorflow": tf.__version__,
            "datasets": [str(Path(p).name) for p in datasets],
            "real_train_images": len(x),
            "val_fraction": val_fraction,
            "split": "sha256(file name) < val_fraction -> validation",
            "seed": seed,
            "epochs_run": history[-1]["epoch"] if history else 0,
            "seconds": round(seconds, 1),
            "parameters": int(model.count_params()),
            "architecture": {"widths": list(widths), "neck": neck},
            "trained_at": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "validation": {"source": "real", "n": len(yv), "accuracy": round(val_acc, 6)},
        "history": history,
        "parity": parity,
        "onnx_sha256": hashlib.sha256(out.read_bytes()).hexdigest(),
    }  # fmt: skip
    out.with_suffix(".json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return meta


def _accuracy(probs: np.ndarray, y: np.ndarray) -> float:
    return float((probs.argmax(-1) == y).all(axis=1).mean()) if len(y) else 0.0


def _parity(onnx_path: Path, x: np.ndarray, keras_probs: np.ndarray) -> dict:
    """Keras and ONNX Runtime on the same inputs: agreement of the readings, largest probability gap."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
    ox = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    agree = float((ox.argmax(-1) == keras_probs.argmax(-1)).all(axis=1).mean()) if len(x) else 1.0
    return {"n": len(x), "agreement": agree, "max_abs_diff": float(np.abs(ox - keras_probs).max()) if len(x) else 0.0}
