"""Classifier registry: shapes, the study's heads, Keras mappings, freezing, ImageNet loading."""

import urllib.error
from pathlib import Path

import pytest
import torch
from torch import nn

from semaug.models import available_models, build_model
from semaug.models._base import (
    BuildOptions, PretrainedWeightsUnavailable, checkpoint_path, keras_bn1d, param_groups,
)

torch.set_num_threads(1)


def test_registry_lists_one_file_per_model():
    import semaug.models

    package = Path(semaug.models.__file__).parent
    files = sorted(p.stem for p in package.glob("*.py") if not p.stem.startswith("_"))
    assert available_models() == files  # a new file is a new model, no list to edit
    assert {"cnn", "mobilenet", "resnet50", "cnn_lstm", "r2plus1d"} <= set(files)
    with pytest.raises(KeyError, match="available: " + ", ".join(files)):
        build_model("vgg", BuildOptions(num_classes=3))


def test_every_model_builds_and_declares_its_input():
    for name in available_models():
        model = build_model(name, BuildOptions(num_classes=4, image_size=32))
        assert isinstance(model.takes_clips, bool) and len(model.mean) == len(model.std) == 3
        x = torch.randn(2, 3, 3, 32, 32) if model.takes_clips else torch.randn(2, 3, 32, 32)
        with torch.no_grad():
            assert model.eval()(x).shape == (2, 4), name


@pytest.mark.parametrize("name, size, head", [
    ("cnn", 20, None), ("mobilenet", 32, "ck"), ("mobilenet", 32, "mug"), ("resnet50", 32, None),
])
def test_forward_shape(name, size, head):
    torch.manual_seed(0)
    model = build_model(name, BuildOptions(num_classes=5, image_size=size, head=head)).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 3, size, size)).shape == (2, 5)


def test_keras_batchnorm_momentum_and_epsilon():
    bn = keras_bn1d(4, keras_momentum=0.95)
    assert bn.momentum == pytest.approx(0.05) and bn.eps == 1e-3
    # one update moves the running mean by (1 - 0.95) of the way, as Keras' moving mean does
    bn.train()(torch.tensor([[2.0] * 4, [4.0] * 4]))
    assert bn.running_mean[0].item() == pytest.approx(0.95 * 0 + 0.05 * 3.0)


def test_keras_l2_is_twice_lambda_weight_decay_on_kernels_only():
    torch.manual_seed(0)
    model = build_model("mobilenet", BuildOptions(num_classes=6, image_size=32, head="mug"))
    decays = {id(p): g["weight_decay"] for g in param_groups(model) for p in g["params"]}
    dense32, dense_out = model.head[2], model.head[5]
    assert decays[id(dense32.weight)] == pytest.approx(2 * 0.01)
    assert decays[id(dense_out.weight)] == pytest.approx(2 * 0.01)
    assert decays[id(dense32.bias)] == 0.0  # Keras' kernel_regularizer leaves the bias alone
    assert model.head[1].momentum == pytest.approx(0.01)  # BN(0.99)


def test_l2_in_the_loss_equals_sgd_weight_decay():
    """Keras: loss + λ·Σw²; torch: SGD(weight_decay=2λ). Same weights after momentum steps."""
    lam, x, y = 0.01, torch.randn(8, 4), torch.randint(0, 3, (8,))
    torch.manual_seed(0)
    a = nn.Linear(4, 3)
    b = nn.Linear(4, 3)
    b.load_state_dict(a.state_dict())
    opt_a = torch.optim.SGD(a.parameters(), lr=0.1, momentum=0.9)
    opt_b = torch.optim.SGD([{"params": [b.weight], "weight_decay": 2 * lam},
                             {"params": [b.bias], "weight_decay": 0.0}], lr=0.1, momentum=0.9)
    for _ in range(3):
        opt_a.zero_grad()
        (nn.functional.cross_entropy(a(x), y) + lam * a.weight.pow(2).sum()).backward()
        opt_a.step()
        opt_b.zero_grad()
        nn.functional.cross_entropy(b(x), y).backward()
        opt_b.step()
    torch.testing.assert_close(a.weight, b.weight)
    torch.testing.assert_close(a.bias, b.bias)


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    return tmp_path


def _offline(monkeypatch):
    def refuse(*args, **kwargs):
        raise urllib.error.URLError("network unreachable (test)")

    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)


def _save_random_weights(name: str) -> dict[str, torch.Tensor]:
    """A randomly initialised state_dict of model ``name``'s torchvision network, under the
    file name torch hub expects for its pretrained weights."""
    import torchvision

    module = __import__(f"semaug.models.{name}", fromlist=["WEIGHTS"])
    ctor = {"mobilenet": torchvision.models.mobilenet_v2, "resnet50": torchvision.models.resnet50,
            "r2plus1d": torchvision.models.video.r2plus1d_18}[name]
    torch.manual_seed(123)
    state = ctor(weights=None).state_dict()
    path = checkpoint_path(module.WEIGHTS)
    path.parent.mkdir(parents=True)
    torch.save(state, path)
    return state


def _sgd_step(model, size):
    opt = torch.optim.SGD(param_groups(model), lr=0.5, momentum=0.9)
    model.train()
    x, y = torch.randn(4, 3, size, size), torch.tensor([0, 1, 2, 0])
    nn.functional.cross_entropy(model(x), y).backward()
    opt.step()


def _snapshot(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_mobilenet_imagenet_loads_offline_and_trains_batchnorm_only(torch_home, monkeypatch):
    _offline(monkeypatch)
    saved = _save_random_weights("mobilenet")
    model = build_model("mobilenet", BuildOptions(num_classes=3, image_size=32, pretrained=True))
    torch.testing.assert_close(model.backbone[0][0].weight, saved["features.0.0.weight"])
    for name, p in model.backbone.named_parameters():
        is_bn = isinstance(model.backbone.get_submodule(name.rsplit(".", 1)[0]), nn.BatchNorm2d)
        assert p.requires_grad == is_bn, name
    assert all(p.requires_grad for p in model.head.parameters())
    before = _snapshot(model)
    _sgd_step(model, 32)
    after = model.state_dict()
    conv = "backbone.0.0.weight"
    assert torch.equal(before[conv], after[conv])  # frozen conv unchanged
    assert not torch.equal(before["backbone.0.1.weight"], after["backbone.0.1.weight"])  # BN γ trains
    assert not torch.equal(before["backbone.0.1.running_mean"], after["backbone.0.1.running_mean"])
    assert not torch.equal(before["head.2.weight"], after["head.2.weight"])


def test_resnet50_imagenet_freezes_95_percent(torch_home, monkeypatch):
    _offline(monkeypatch)
    _save_random_weights("resnet50")
    model = build_model("resnet50", BuildOptions(num_classes=3, image_size=32, pretrained=True))
    layers = [m for m in model.backbone.modules() if isinstance(m, (nn.Conv2d, nn.BatchNorm2d))]
    frozen = [m for m in layers if not m.weight.requires_grad]
    assert len(layers) == 106 and len(frozen) == 100  # floor(0.95 · 106)
    assert layers[:100] == frozen  # the first ones, in forward order
    assert "first 100 of 106" in " ".join(model.notes)
    before = _snapshot(model)
    _sgd_step(model, 32)
    after = model.state_dict()
    for key in ("backbone.0.weight", "backbone.1.running_mean", "backbone.7.1.bn3.weight",
                "backbone.7.1.bn3.running_var"):
        assert torch.equal(before[key], after[key]), f"{key} is frozen but changed"
    for key in ("backbone.7.2.conv3.weight", "backbone.7.2.bn3.running_mean", "head.1.weight"):
        assert not torch.equal(before[key], after[key]), f"{key} should train"


def test_pretrained_none_trains_everything_and_says_so():
    model = build_model("resnet50", BuildOptions(num_classes=3, image_size=32, pretrained=False))
    assert all(p.requires_grad for p in model.parameters())
    assert "whole network trains" in " ".join(model.notes)


def test_missing_imagenet_weights_say_where_to_put_them(torch_home, monkeypatch):
    _offline(monkeypatch)
    with pytest.raises(PretrainedWeightsUnavailable) as err:
        build_model("mobilenet", BuildOptions(num_classes=3, pretrained=True))
    expected = torch_home / "hub" / "checkpoints" / "mobilenet_v2-b0353104.pth"
    assert str(expected) in str(err.value)
    assert "pretrained: none" in str(err.value)


def test_cpu_dropout_keeps_the_expected_share_and_scales():
    import torch

    from semaug.models._base import Dropout

    drop = Dropout(0.4)
    x = torch.ones(200_000)
    y = drop.train()(x)
    kept = (y > 0).float().mean().item()
    assert abs(kept - 0.6) < 0.01
    assert torch.allclose(y[y > 0], torch.full_like(y[y > 0], 1 / 0.6))
    assert abs(y.mean().item() - 1.0) < 0.02  # expectation preserved
    assert torch.equal(drop.eval()(x), x)


def test_cpu_dropout_is_seeded_handles_odd_sizes_and_masks_the_gradient():
    import torch

    from semaug.models._base import Dropout

    drop = Dropout(0.4).train()
    x = torch.ones(3, 5, 7, requires_grad=True)  # 105 elements: not a multiple of 4
    torch.manual_seed(3)
    y = drop(x)
    torch.manual_seed(3)
    assert torch.equal(drop(x), y)  # the global seed fixes the mask
    y.sum().backward()
    assert torch.equal(x.grad, y.detach())  # gradient 1/(1-p) where kept, 0 where dropped
    assert torch.equal(Dropout(1.0).train()(x), torch.zeros_like(x))


# --- clip classifiers ------------------------------------------------------------------------


def test_r2plus1d_takes_clips_with_kinetics_normalisation():
    from torchvision.models.video import R2Plus1D_18_Weights

    from semaug.models import r2plus1d

    model = build_model("r2plus1d", BuildOptions(num_classes=3, image_size=16))
    assert model.takes_clips and r2plus1d.IMAGE_SIZE == 112
    preset = R2Plus1D_18_Weights.KINETICS400_V1.transforms()
    assert model.mean == tuple(preset.mean) == pytest.approx((0.43216, 0.394666, 0.37645))
    assert model.std == tuple(preset.std)
    assert model.net.fc.out_features == 3
    assert "from scratch" in " ".join(model.notes)


def test_r2plus1d_one_step_forward_backward_changes_every_layer():
    torch.manual_seed(0)
    model = build_model("r2plus1d", BuildOptions(num_classes=3, image_size=16)).train()
    before = _snapshot(model)
    opt = torch.optim.SGD(param_groups(model), lr=0.1)
    x = torch.randn(2, 4, 3, 16, 16)  # [B, T, 3, S, S]: the loop's clip layout
    loss = nn.functional.cross_entropy(model(x), torch.tensor([0, 2]))
    loss.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
    opt.step()
    after = model.state_dict()
    for key in ("net.stem.0.weight", "net.layer4.1.conv2.0.3.weight", "net.fc.weight"):
        assert not torch.equal(before[key], after[key]), key


def test_r2plus1d_kinetics_weights_load_from_the_hub_cache(torch_home, monkeypatch):
    _offline(monkeypatch)
    saved = _save_random_weights("r2plus1d")
    assert checkpoint_path(__import__("semaug.models.r2plus1d", fromlist=["x"]).WEIGHTS).name \
        == "r2plus1d_18-91a641e6.pth"
    model = build_model("r2plus1d", BuildOptions(num_classes=3, image_size=16, pretrained=True))
    torch.testing.assert_close(model.net.stem[0].weight, saved["stem.0.weight"])
    torch.testing.assert_close(model.net.layer3[0].conv1[0][0].weight, saved["layer3.0.conv1.0.0.weight"])
    assert model.net.fc.out_features == 3  # the 400-way Kinetics head is replaced
    assert "Kinetics-400" in " ".join(model.notes)


def test_missing_kinetics_weights_name_the_file(torch_home, monkeypatch):
    _offline(monkeypatch)
    with pytest.raises(PretrainedWeightsUnavailable) as err:
        build_model("r2plus1d", BuildOptions(num_classes=3, image_size=16, pretrained=True))
    expected = torch_home / "hub" / "checkpoints" / "r2plus1d_18-91a641e6.pth"
    assert str(expected) in str(err.value)
    assert "Kinetics-400" in str(err.value) and "pretrained: none" in str(err.value)
    assert "https://download.pytorch.org/models/r2plus1d_18-91a641e6.pth" in str(err.value)


@pytest.mark.parametrize("backbone, hidden", [("cnn", 16), ("mobilenet", 8)])
def test_cnn_lstm_shapes_and_options(backbone, hidden):
    torch.manual_seed(0)
    model = build_model("cnn_lstm", BuildOptions(num_classes=5, image_size=32, lstm_hidden=hidden,
                                                 lstm_backbone=backbone)).eval()
    assert model.takes_clips and model.lstm.hidden_size == hidden
    with torch.no_grad():
        assert model(torch.randn(2, 3, 3, 32, 32)).shape == (2, 5)


def test_cnn_lstm_depends_on_frame_order():
    """The LSTM reads the clip in order: reversing the frames changes the logits (a mean over
    frames would not)."""
    torch.manual_seed(0)
    model = build_model("cnn_lstm", BuildOptions(num_classes=3, image_size=16)).eval()
    x = torch.randn(2, 4, 3, 16, 16)
    with torch.no_grad():
        assert not torch.allclose(model(x), model(x.flip(1)))


def test_cnn_lstm_small_cnn_keeps_the_study_l2():
    model = build_model("cnn_lstm", BuildOptions(num_classes=3, image_size=16))
    decays = {id(p): g["weight_decay"] for g in param_groups(model) for p in g["params"]}
    kernels = [m for m in model.frame_features.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert [decays[id(k.weight)] for k in kernels] == [0.0] + [pytest.approx(2e-4)] * 4
    assert decays[id(model.head[1].weight)] == 0.0  # the new head: no L2 in the study


def test_cnn_lstm_mobilenet_imagenet_freezes_all_but_batchnorm(torch_home, monkeypatch):
    _offline(monkeypatch)
    saved = _save_random_weights("mobilenet")
    model = build_model("cnn_lstm", BuildOptions(num_classes=3, image_size=32, pretrained=True,
                                                 lstm_backbone="mobilenet"))
    backbone = model.frame_features[0]
    torch.testing.assert_close(backbone[0][0].weight, saved["features.0.0.weight"])
    for name, p in backbone.named_parameters():
        is_bn = isinstance(backbone.get_submodule(name.rsplit(".", 1)[0]), nn.BatchNorm2d)
        assert p.requires_grad == is_bn, name
    assert all(p.requires_grad for p in model.lstm.parameters())


def test_cnn_lstm_unknown_backbone_is_refused():
    with pytest.raises(ValueError, match="backbone must be one of"):
        build_model("cnn_lstm", BuildOptions(num_classes=3, lstm_backbone="vgg"))
