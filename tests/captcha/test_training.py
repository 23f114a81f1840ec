"""Training (tiny, on synthetic data), ONNX export and ONNX/PyTorch parity."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="training needs the 'train' extra (torch)")

from gradewatch.captcha.render import render_dataset  # noqa: E402
from gradewatch.captcha.solver import load_solver  # noqa: E402
from gradewatch.captcha.spec import SPECS, CaptchaSpec, to_model_input  # noqa: E402


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from gradewatch.captcha.train import train

    out = tmp_path_factory.mktemp("tiny") / "tiny.onnx"
    result = train([], out, SPECS["ssfw"], synthetic=2000, epochs=3, minutes=1.5, target=1.0, seed=3, progress=False)
    return result


def test_tiny_training_on_synthetic_data_beats_chance(tiny_model):
    r = tiny_model
    assert r.val_source == "synthetic" and r.n_val > 0 and r.n_synthetic == 2000
    # chance is 1/36 per character and ~6e-7 per captcha
    assert r.val_char_accuracy > 0.5, r.history
    assert r.val_accuracy > 0.1, r.history
    meta = json.loads(r.metadata_path.read_text())
    for key in ("spec", "input", "preprocessing", "training", "validation", "parity"):
        assert key in meta
    assert meta["training"]["synthetic_images"] == 2000
    assert meta["validation"]["accuracy"] == pytest.approx(r.val_accuracy, abs=1e-6)
    assert r.onnx_path.stat().st_size < 1_000_000


def test_onnx_and_pytorch_agree(tiny_model):
    from gradewatch.captcha.model import CaptchaNet

    spec = SPECS["ssfw"]
    net = CaptchaNet(spec)
    net.load_state_dict(torch.load(tiny_model.checkpoint_path, weights_only=True)["model"])
    net.eval()
    texts, images = render_dataset(spec, 64, seed=99)
    x = to_model_input(np.stack([spec.prepare(im) for im in images]))
    with torch.no_grad():
        pt = torch.softmax(net(torch.from_numpy(x)), dim=-1).numpy()
    ox = load_solver(tiny_model.onnx_path).probabilities(x)
    assert ox.shape == pt.shape == (64, 4, 36)
    assert np.abs(ox - pt).max() < 1e-4
    assert (ox.argmax(-1) == pt.argmax(-1)).all()
    assert tiny_model.parity["agreement"] == 1.0


def test_init_from_continues_from_a_checkpoint(tiny_model, tmp_path):
    from gradewatch.captcha.train import train

    r = train(
        [],
        tmp_path / "more.onnx",
        SPECS["ssfw"],
        synthetic=300,
        epochs=1,
        minutes=1,
        target=1.0,
        seed=4,
        init_from=tiny_model.onnx_path,
        progress=False,
        evals_per_epoch=1,
    )
    # starts from the tiny model, so it is already far above chance after one short epoch
    assert r.val_char_accuracy > 0.4


def test_variable_length_network_shapes():
    from gradewatch.captcha.model import CaptchaNet

    spec = CaptchaSpec(
        "kaptcha",
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
        length=5,
        width=200,
        height=50,
        min_length=4,
    )
    out = CaptchaNet(spec)(torch.zeros(2, 1, 50, 200))
    assert out.shape == (2, 5, 63)


def test_same_seed_same_model(tmp_path):
    from gradewatch.captcha.train import train

    for name in ("a", "b"):
        train(
            [],
            tmp_path / name / "m.onnx",
            SPECS["ssfw"],
            synthetic=300,
            epochs=1,
            minutes=1,
            target=1.0,
            seed=11,
            progress=False,
            evals_per_epoch=1,
        )
    a = torch.load(tmp_path / "a" / "m.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "b" / "m.pt", weights_only=True)["model"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_validation_on_named_files_where_the_hash_rule_finds_none(tmp_path):
    """A folder holding only files the hash rule puts on the training side (as a school, or a bench
    serving one side of that rule, gives the bootstrap): validating on named files still works."""
    import random

    from gradewatch.captcha import dataset as ds
    from gradewatch.captcha.errors import DatasetError
    from gradewatch.captcha.render import random_text, render_ssfw
    from gradewatch.captcha.train import train

    spec = CaptchaSpec("learned", "0123456789abcdefghijklmnopqrstuvwxyz", length=4, width=68, height=22)
    folder = tmp_path / "verified"
    folder.mkdir()
    rng = random.Random(3)
    while len(list(folder.iterdir())) < 40:
        text = random_text(SPECS["ssfw"], rng)
        if not ds.is_validation(f"{text}.png", 0.1):  # only the rule's training side
            render_ssfw(text, rng).save(folder / f"{text}.png")
    kw = dict(synthetic=0, epochs=1, minutes=0.5, target=2.0, progress=False, evals_per_epoch=1)
    with pytest.raises(DatasetError, match="no validation data"):
        train([folder], tmp_path / "plain.onnx", spec, **kw)
    named = set(sorted(p.name for p in folder.iterdir())[:6])
    result = train([folder], tmp_path / "named.onnx", spec, validate_on=named, **kw)
    assert (result.n_val, result.n_train_real) == (6, 34)
    # None of the named files present (a handful of labels): it picks the checkpoint by training fit.
    fallback = train([folder], tmp_path / "fit.onnx", spec, validate_on={"absent.png"}, **kw)
    assert (fallback.n_val, fallback.n_train_real) == (40, 40) and fallback.val_source.startswith("training")


def test_attention_head_exports_folded_with_the_same_probabilities(tmp_path):
    """The learned spec's attention head is exported with its linear maps multiplied out (FoldedAttention):
    fewer ops in the graph, and the same probabilities as the trained module, batch norms and all."""
    import onnx

    from gradewatch.captcha.model import CaptchaNet
    from gradewatch.captcha.train import export_onnx

    spec = CaptchaSpec("learned", "abcdefghijklmnopqrstuvwxyz0123456789", length=5, width=100, height=40,
                       grayscale=False, min_length=4, resize=True)
    torch.manual_seed(0)
    net = CaptchaNet(spec)
    assert net.head_kind == "attention"
    with torch.no_grad():  # trained-looking weights: every bias and batch-norm statistic away from its default
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.3, 0.3)
        for name, p in net.head.named_parameters():
            if name.endswith("bias"):
                p.uniform_(-0.5, 0.5)
    net.eval()
    path = tmp_path / "learned.onnx"
    export_onnx(net, spec, path)
    x = torch.rand(16, spec.channels, spec.height, spec.width)
    with torch.no_grad():
        pt = torch.softmax(net(x), dim=-1).numpy()
    import onnxruntime as ort

    ox = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"image": x.numpy()})[0]
    assert ox.shape == pt.shape == (16, 5, spec.num_classes)
    assert np.abs(ox - pt).max() < 1e-5
    matmuls = [n for n in onnx.load(str(path)).graph.node if n.op_type in ("MatMul", "Gemm")]
    assert len(matmuls) == 3  # the trained head has five: key, value, classifier and the two attention products
