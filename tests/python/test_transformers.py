"""fp8kit.integrations.transformers.patch() on stand-ins of transformers' FP8 layers (and on the real
classes when transformers is installed)."""

from __future__ import annotations

import importlib
import sys
import types

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import fp8kit  # noqa: E402
from fp8kit import reference as R  # noqa: E402
from fp8kit.integrations import transformers as hf  # noqa: E402
from helpers import rel_error  # noqa: E402


class StandInFP8Linear(nn.Linear):
    """The attributes of transformers.integrations.finegrained_fp8.FP8Linear."""

    def __init__(self, in_features, out_features, bias=False, block_size=(128, 128), activation_scheme="dynamic"):
        super().__init__(in_features, out_features)
        self.block_size = block_size
        self.activation_scheme = activation_scheme
        self.weight = nn.Parameter(torch.empty(out_features, in_features, dtype=torch.float8_e4m3fn),
                                   requires_grad=False)
        if block_size is None:
            self.weight_scale_inv = nn.Parameter(torch.tensor(1.0))
        else:
            grid = (-(-out_features // block_size[0]), -(-in_features // block_size[1]))
            self.weight_scale_inv = nn.Parameter(torch.empty(grid))
        if activation_scheme == "static":
            self.activation_scale = nn.Parameter(torch.tensor(1.0))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None

    def forward(self, input):
        raise AssertionError("the original forward ran")


class StandInFbgemmFp8Linear(nn.Linear):
    """The attributes of transformers.integrations.fbgemm_fp8.FbgemmFp8Linear."""

    def __init__(self, in_features, out_features, bias):
        super().__init__(in_features, out_features, bias)
        self.weight = nn.Parameter(torch.zeros((out_features, in_features), dtype=torch.float8_e4m3fn))
        self.weight_scale = nn.Parameter(torch.zeros((out_features, 1)))
        self.register_buffer("input_scale_ub", torch.zeros([1]), persistent=False)
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None

    def forward(self, x):
        raise AssertionError("the original forward ran")


@pytest.fixture
def stand_in_transformers(monkeypatch):
    """A fake `transformers` package holding the two stand-in classes."""
    root = types.ModuleType("transformers")
    root.__version__ = "0.0-stand-in"
    integrations = types.ModuleType("transformers.integrations")
    fine = types.ModuleType("transformers.integrations.finegrained_fp8")
    fine.FP8Linear = StandInFP8Linear
    fb = types.ModuleType("transformers.integrations.fbgemm_fp8")
    fb.FbgemmFp8Linear = StandInFbgemmFp8Linear
    for name, module in (("transformers", root), ("transformers.integrations", integrations),
                         ("transformers.integrations.finegrained_fp8", fine),
                         ("transformers.integrations.fbgemm_fp8", fb)):
        monkeypatch.setitem(sys.modules, name, module)
    yield
    hf.unpatch()


def test_patch_is_idempotent_and_reversible(stand_in_transformers):
    original = StandInFP8Linear.forward
    assert hf.patch() == ["FP8Linear", "FbgemmFp8Linear"]
    assert hf.patch() == ["FP8Linear", "FbgemmFp8Linear"]
    assert hf.is_patched() and StandInFP8Linear.forward is not original
    assert StandInFP8Linear._fp8kit_original_forward is original
    hf.unpatch()
    assert StandInFP8Linear.forward is original and not hf.is_patched()


def test_finegrained_fp8_layer_runs_on_fp8kit_with_its_bias(stand_in_transformers, gen):
    hf.patch()
    layer = StandInFP8Linear(300, 200, bias=True)
    q, s = fp8kit.weight_quant(torch.randn(200, 300, generator=gen))
    layer.weight.data, layer.weight_scale_inv.data = q, s
    layer.bias.data = torch.randn(200, generator=gen)
    x = torch.randn(2, 4, 300, generator=gen).to(torch.bfloat16)
    y = layer(x)
    assert torch.equal(y, fp8kit.fp8_linear(x, q, s, layer.bias))
    e8m0 = R.encode_ue8m0(fp8kit.weight_quant(torch.randn(200, 300), scale_format="ue8m0")[1])
    layer.weight_scale_inv = nn.Parameter(e8m0.view(torch.float8_e8m0fnu), requires_grad=False)
    assert layer(x).shape == (2, 4, 200)


def test_finegrained_per_tensor_and_static_activations(stand_in_transformers, gen):
    hf.patch()
    layer = StandInFP8Linear(256, 128, bias=True, block_size=None, activation_scheme="static")
    w = torch.randn(128, 256, generator=gen)
    q, s = fp8kit.quantize_fp8_per_tensor(w)
    layer.weight.data, layer.weight_scale_inv.data = q, s
    layer.activation_scale.data = torch.tensor(0.01)
    layer.bias.data = torch.randn(128, generator=gen)
    x = torch.randn(3, 256, generator=gen)
    xq = torch.clamp(x / 0.01, -448, 448).to(torch.float8_e4m3fn)
    exact = R.fp8_rowwise_matmul(xq, q, torch.tensor(0.01), s, layer.bias, torch.float64,
                                 compute_dtype=torch.float64)
    assert rel_error(layer(x), exact) < 1e-5
    dynamic = StandInFP8Linear(256, 128, bias=False, block_size=None)
    dynamic.weight.data, dynamic.weight_scale_inv.data = q, s
    assert torch.equal(dynamic(x), fp8kit.fp8_linear(x, q, s))
    blocked = StandInFP8Linear(256, 128, bias=True, activation_scheme="static")
    qb, sb = fp8kit.weight_quant(w)
    blocked.weight.data, blocked.weight_scale_inv.data = qb, sb
    blocked.activation_scale.data = torch.tensor(0.01)
    exact = R.w8a8_block_fp8_matmul(xq, qb, torch.full((3, 2), 0.01), sb, bias=blocked.bias,
                                    output_dtype=torch.float64, compute_dtype=torch.float64)
    assert rel_error(blocked(x), exact) < 1e-5


def test_fbgemm_layer_applies_the_module_input_scale_ub_and_bias(stand_in_transformers, gen):
    hf.patch()
    layer = StandInFbgemmFp8Linear(128, 64, bias=True)
    q, s = fp8kit.quantize_fp8_per_row(torch.randn(64, 128, generator=gen))
    layer.weight.data, layer.weight_scale.data = q, s.unsqueeze(1)
    layer.bias.data = torch.randn(64, generator=gen)
    layer.input_scale_ub = torch.tensor([10.0])
    x = torch.randn(4, 128, generator=gen).to(torch.bfloat16)
    x[0, 0] = 1e4
    assert hf.prepare(nn.Sequential(layer)) == 1
    y = layer(x)
    assert torch.equal(y, fp8kit.fp8_linear(x, q, s.unsqueeze(1), layer.bias, scale_ub=10.0))
    assert not torch.equal(y[0], fp8kit.fp8_linear(x, q, s.unsqueeze(1), layer.bias)[0])
    unbounded = StandInFbgemmFp8Linear(128, 64, bias=False)  # buffer left at 0: no bound
    unbounded.weight.data, unbounded.weight_scale.data = q, s.unsqueeze(1)
    assert torch.equal(unbounded(x), fp8kit.fp8_linear(x, q, s.unsqueeze(1)))


def test_dequantized_layers_keep_f_linear(stand_in_transformers, gen):
    hf.patch()
    layer = StandInFP8Linear(64, 32, bias=True)
    layer.weight = nn.Parameter(torch.randn(32, 64, generator=gen))
    x = torch.randn(2, 64, generator=gen)
    assert torch.equal(layer(x), torch.nn.functional.linear(x, layer.weight, layer.bias))


def test_patched_layer_compiles_fullgraph(stand_in_transformers, gen):
    hf.patch()
    layer = StandInFbgemmFp8Linear(128, 64, bias=True)
    q, s = fp8kit.quantize_fp8_per_row(torch.randn(64, 128, generator=gen))
    layer.weight.data, layer.weight_scale.data = q, s.unsqueeze(1)
    layer.input_scale_ub = torch.tensor([10.0])
    hf.prepare(layer)
    x = torch.randn(4, 128, generator=gen)
    torch._dynamo.reset()
    assert torch.equal(torch.compile(layer, fullgraph=True, backend="aot_eager")(x), layer(x))


def test_clear_error_without_transformers(monkeypatch):
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(ImportError, match="needs Hugging Face transformers"):
        hf.patch()


def test_real_transformers_classes(gen):
    pytest.importorskip("transformers", reason="transformers is not installed")
    try:
        fine = importlib.import_module("transformers.integrations.finegrained_fp8")
        fbgemm = importlib.import_module("transformers.integrations.fbgemm_fp8")
    except ImportError as error:
        pytest.skip(f"transformers' FP8 integrations do not import here: {error}")
    try:
        assert set(hf.patch()) == {"FP8Linear", "FbgemmFp8Linear"}
        layer = fine.FP8Linear(300, 200, block_size=(128, 128))
        q, s = fp8kit.weight_quant(torch.randn(200, 300, generator=gen))
        layer.weight = nn.Parameter(q, requires_grad=False)
        layer.weight_scale_inv = nn.Parameter(s, requires_grad=False)
        if getattr(layer, "bias", None) is not None:
            layer.bias.data = torch.randn(200, generator=gen)
        x = torch.randn(3, 300, generator=gen)
        assert torch.equal(layer(x), fp8kit.fp8_linear(x, q, s, getattr(layer, "bias", None)))
        row = fbgemm.FbgemmFp8Linear(128, 64, True)
        qr, sr = fp8kit.quantize_fp8_per_row(torch.randn(64, 128, generator=gen))
        row.weight = nn.Parameter(qr, requires_grad=False)
        row.weight_scale = nn.Parameter(sr.unsqueeze(1), requires_grad=False)
        row.bias.data = torch.randn(64, generator=gen)
        row.input_scale_ub = torch.tensor([1200.0])
        x = torch.randn(3, 128, generator=gen)
        assert torch.equal(row(x), fp8kit.fp8_linear(x, qr, sr.unsqueeze(1), row.bias, scale_ub=1200.0))
    finally:
        hf.unpatch()
