"""The compiled module and fp8kit.numpy on numpy / ml_dtypes arrays (no torch), checked bit for bit
against a numpy transcription of the numerics contract (docs/numerics.md)."""

from __future__ import annotations

import subprocess
import sys

import pytest

np = pytest.importorskip("numpy")
ml_dtypes = pytest.importorskip("ml_dtypes")

import fp8kit  # noqa: E402
import fp8kit.numpy as fnp  # noqa: E402
from fp8kit._native import _C  # noqa: E402

E4M3 = np.dtype(ml_dtypes.float8_e4m3fn)
E5M2 = np.dtype(ml_dtypes.float8_e5m2)
BF16 = np.dtype(ml_dtypes.bfloat16)
FMAX = {E4M3: 448.0, E5M2: 57344.0}


def cdiv(a, b):
    return -(-a // b)


def ref_quantize_tiles(x, tile_rows, tile_cols, fp8=E4M3, pow2=False, bound=0.0):
    """The contract in numpy: returns (q, s) for a 2-D x."""
    x = x.astype(np.float32)
    rows, cols = x.shape
    gr, gc = cdiv(rows, tile_rows), cdiv(cols, tile_cols)
    padded = np.zeros((gr * tile_rows, gc * tile_cols), np.float32)
    padded[:rows, :cols] = x
    tiles = np.abs(padded.reshape(gr, tile_rows, gc, tile_cols))
    nonfinite = ~np.isfinite(tiles).all(axis=(1, 3))
    amax = np.nan_to_num(tiles, nan=0.0, posinf=0.0).max(axis=(1, 3)).astype(np.float32)
    if bound > 0:
        amax = np.minimum(amax, np.float32(bound))
    fmax = np.float32(FMAX[fp8])
    with np.errstate(divide="ignore", invalid="ignore"):
        if pow2:
            mant, exp = np.frexp(amax)
            fmant, fexp = np.frexp(fmax)
            e = np.maximum(exp - fexp + (mant > fmant), -126)
            s = np.ldexp(np.float32(1.0), e).astype(np.float32)
        else:
            s = np.maximum(amax / fmax, np.float32(2.0**-126)).astype(np.float32)
        s[amax == 0] = 1.0
        s[nonfinite] = np.nan
        full = np.repeat(np.repeat(s, tile_rows, 0), tile_cols, 1)[:rows, :cols]
        v = (x / full).astype(np.float32)
    q = np.clip(v, -fmax, fmax).astype(fp8)
    q.view(np.uint8)[np.isnan(v)] = 0x7F
    return q, s


def hostile(rng, shape, scale=1.0):
    x = (rng.standard_normal(shape) * scale).astype(np.float32)
    flat = x.reshape(-1)
    pick = rng.integers(0, 100, flat.size)
    flat[pick == 0] = 0.0
    flat[pick == 1] = -0.0
    flat[pick == 2] = 1e-40
    flat[pick == 3] = 447.9
    flat[pick == 4] = -464.0
    flat[pick == 5] = 3e30
    if x.ndim >= 2 and x.shape[0] > 2:
        x[1] = 0.0
    return x


def same_bits(a, b):
    assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, a.dtype, b.shape, b.dtype)
    raw = {1: np.uint8, 2: np.uint16, 4: np.uint32}[a.dtype.itemsize]
    av, bv = np.ascontiguousarray(a).view(raw), np.ascontiguousarray(b).view(raw)
    bad = np.argwhere(av != bv)
    assert bad.size == 0, f"{len(bad)} elements differ, first at {tuple(bad[0])}: {a[tuple(bad[0])]} vs {b[tuple(bad[0])]}"


def test_import_needs_neither_torch_nor_gpu():
    code = ("import sys; sys.modules['torch'] = None\n"
            "import fp8kit, fp8kit.numpy\n"
            "assert fp8kit.capabilities()['version'] == fp8kit.__version__\n"
            "assert 'cpu' in fp8kit.backends()\n"
            "print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


@pytest.mark.parametrize("shape,group", [((4, 128), 128), ((5, 300), 128), ((2, 3, 129), 64), ((1, 1), 128),
                                         ((3, 1000), 7)])
@pytest.mark.parametrize("pow2", [False, True])
def test_group_quantize_matches_contract(np_rng, shape, group, pow2):
    x = hostile(np_rng, shape)
    q, s = fnp.quantize(x, "group", group, scale_format="ue8m0" if pow2 else "fp32")
    rq, rs = ref_quantize_tiles(x.reshape(-1, shape[-1]), 1, group, pow2=pow2)
    assert s.shape == (*shape[:-1], cdiv(shape[-1], group))
    same_bits(q.reshape(-1, shape[-1]), rq)
    same_bits(s.reshape(rs.shape), rs)


@pytest.mark.parametrize("granularity", ["tensor", "row", "column", "block"])
@pytest.mark.parametrize("dtype", [np.float32, np.float16, BF16])
def test_granularities_and_input_dtypes(np_rng, granularity, dtype):
    x = hostile(np_rng, (130, 200), scale=3.0)
    if dtype == np.float16:
        x = np.clip(x, -6e4, 6e4)
    x = x.astype(dtype)
    q, s = fnp.quantize(x, granularity, (64, 128))
    tile = {"tensor": (130, 200), "row": (1, 200), "column": (130, 1), "block": (64, 128)}[granularity]
    rq, rs = ref_quantize_tiles(x.astype(np.float32), *tile)
    same_bits(q, rq)
    same_bits(s.reshape(rs.shape), rs)


def test_e5m2_and_upper_bound(np_rng):
    x = hostile(np_rng, (6, 256), scale=100.0)
    q, s = fnp.quantize(x, "row", fp8_dtype="e5m2", amax_upper_bound=50.0)
    rq, rs = ref_quantize_tiles(x, 1, 256, fp8=E5M2, bound=50.0)
    same_bits(q, rq)
    same_bits(s, rs.reshape(-1))


def test_nonfinite_tiles_poison_only_their_tile(np_rng):
    x = np_rng.standard_normal((3, 384)).astype(np.float32)
    x[0, 5] = np.nan
    x[1, 300] = np.inf
    q, s = fnp.quantize(x)
    assert np.isnan(s[0, 0]) and np.isfinite(s[0, 1:]).all()
    assert np.isnan(s[1, 2]) and np.isfinite(s[1, :2]).all()
    assert (q.view(np.uint8)[0, :128] == 0x7F).all() and (q.view(np.uint8)[1, 256:] == 0x7F).all()
    assert np.isfinite(s[2]).all()


def test_ue8m0_bytes_and_column_major_scales(np_rng):
    x = hostile(np_rng, (7, 300))
    q, s = fnp.quantize(x, scale_format="ue8m0", scale_dtype="ue8m0", column_major_scales=True)
    assert s.dtype == np.dtype(ml_dtypes.float8_e8m0fnu)
    assert s.strides == (1, 8), "M-major, leading dimension padded to a multiple of 4"
    _, rs = ref_quantize_tiles(x, 1, 128, pow2=True)
    same_bits(s.astype(np.float32), rs)
    with pytest.raises(ValueError, match="ue8m0"):
        fnp.quantize(x, scale_dtype="ue8m0")


def test_dequantize_rounds_once_in_each_output_dtype(np_rng):
    x = hostile(np_rng, (70, 260))
    q, s = fnp.quantize(x, "block", (64, 128))
    full = np.repeat(np.repeat(s, 64, 0), 128, 1)[:70, :260]
    exact = (q.astype(np.float32) * full).astype(np.float32)
    for dtype, np_dtype in (("f32", np.float32), ("bf16", BF16), ("f16", np.float16)):
        y = fnp.dequantize(q, s, "block", (64, 128), dtype=dtype)
        with np.errstate(over="ignore"):
            same_bits(y, exact.astype(np_dtype))


def test_gemm_block_and_row_against_float64(np_rng):
    m, n, k = 5, 200, 300
    a, a_s = fnp.quantize(hostile(np_rng, (m, k)), "group", 128)
    b, b_s = fnp.quantize(np_rng.standard_normal((n, k)).astype(np.float32), "block", 128)
    bias = np_rng.standard_normal(n).astype(np.float32)
    d = fnp.gemm(a, b, a_s, b_s, bias=bias, out_dtype="f32")
    ad = a.astype(np.float64) * np.repeat(a_s, 128, 1)[:, :k]
    bd = b.astype(np.float64) * np.repeat(np.repeat(b_s, 128, 0), 128, 1)[:n, :k]
    exact = ad @ bd.T + bias
    assert np.linalg.norm(d - exact) / np.linalg.norm(exact) < 1e-4

    ar, ar_s = fnp.quantize(np_rng.standard_normal((m, k)).astype(np.float32), "row")
    br, br_s = fnp.quantize(np_rng.standard_normal((n, k)).astype(np.float32), "row")
    d = fnp.gemm(ar, br, ar_s, br_s, scaling="row", out_dtype="bf16")
    exact = (ar.astype(np.float64) * ar_s[:, None]) @ (br.astype(np.float64) * br_s[:, None]).T
    assert d.dtype == BF16
    assert np.linalg.norm(d.astype(np.float64) - exact) / np.linalg.norm(exact) < 2e-3


def test_silu_mul_quantize_equals_unfused(np_rng):
    gate_up = (np_rng.standard_normal((3, 2 * 200)) * 4).astype(BF16)
    q, s = fnp.silu_mul_quantize(gate_up, 64)
    h = np.empty((3, 200), BF16)
    _C.silu_mul(fnp.as_native(gate_up), fnp.as_native(h))
    g = gate_up[:, :200].astype(np.float64)
    silu = g / (1 + np.exp(-g)) * gate_up[:, 200:].astype(np.float64)
    assert np.allclose(h.astype(np.float64), silu, rtol=1e-2, atol=1e-3)
    rq, rs = ref_quantize_tiles(h.astype(np.float32), 1, 64)
    same_bits(q, rq)
    same_bits(s, rs)


def test_raw_descriptor_and_override_reach_the_same_memory(np_rng):
    x = np_rng.standard_normal((4, 256)).astype(np.float32)
    q = np.zeros((4, 256), E4M3)
    s = np.zeros((4, 2), np.float32)
    codes = _C.DTYPE_CODES
    raw_x = (x.ctypes.data, codes["f32"], x.shape, (256, 1), 1, 0)
    raw_s = (s.ctypes.data, "f32", s.shape, (2, 1), 1, 0)
    _C.quantize(raw_x, (q.view(np.uint8), "e4m3fn"), raw_s)
    rq, rs = ref_quantize_tiles(x, 1, 128)
    same_bits(q, rq)
    same_bits(s, rs)


def test_bad_arguments_raise_type_and_value_errors(np_rng):
    x = np.ones((2, 128), np.float32)
    q = np.empty((2, 128), E4M3)
    s = np.empty((2, 1), np.float32)
    with pytest.raises(TypeError, match="q: expected a tensor"):
        _C.quantize(x, q, s)  # ml_dtypes arrays cannot cross DLPack: needs (view, dtype)
    with pytest.raises(TypeError, match="x: DLPack element type"):
        _C.quantize(np.ones((2, 128), np.int32), (q.view(np.uint8), "e4m3fn"), s)
    with pytest.raises(ValueError, match="cannot read 8-bit elements as bf16"):
        _C.quantize(x, (q.view(np.uint8), "bf16"), s)
    with pytest.raises(ValueError, match="unknown dtype name"):
        _C.quantize(x, (q.view(np.uint8), "fp9"), s)
    with pytest.raises(ValueError, match=r"scales.*shape \[2, 1\]"):
        _C.quantize(x, (q.view(np.uint8), "e4m3fn"), np.empty((2, 2), np.float32))
    readonly = np.empty((2, 1), np.float32)
    readonly.flags.writeable = False
    with pytest.raises(ValueError, match="scales: the output array is read-only"):
        _C.quantize(x, (q.view(np.uint8), "e4m3fn"), readonly)
    with pytest.raises(ValueError, match="negative stride"):
        _C.quantize(x[:, ::-1], (q.view(np.uint8), "e4m3fn"), s)
    with pytest.raises(ValueError, match="granularity: unknown"):
        _C.quantize(x, (q.view(np.uint8), "e4m3fn"), s, granularity="blocks")
    with pytest.raises(ValueError, match="backend: unknown backend 'gpu'"):
        _C.quantize(x, (q.view(np.uint8), "e4m3fn"), s, backend="gpu")
    with pytest.raises(ValueError, match="cannot run on CPU tensors"):
        _C.quantize(x, (q.view(np.uint8), "e4m3fn"), s, backend="cuda")
    with pytest.raises(TypeError, match="raw descriptor's shape"):
        _C.quantize((x.ctypes.data, 0, 5, (1,), 1, 0), (q.view(np.uint8), "e4m3fn"), s)
    with pytest.raises(ValueError, match="DLPack device type 7"):
        _C.quantize((x.ctypes.data, 0, (2, 128), (128, 1), 7, 0), (q.view(np.uint8), "e4m3fn"), s)
    assert issubclass(fp8kit.Error, ValueError)


def test_backends_and_forcing_one(np_rng):
    info = fp8kit.backends()
    assert set(info) == set(_C.BACKEND_NAMES)
    assert info["cpu_reference"]["available"] and info["cpu"]["available"]
    caps = fp8kit.capabilities()
    assert {"version", "cuda_compiled", "gpus", "cpu_threads", "backends"} <= set(caps)
    x = hostile(np_rng, (9, 333))
    with fp8kit.use_backend("cpu_reference"):
        assert fp8kit.current_backend() == "cpu_reference"
        qr, sr = fnp.quantize(x, "block", 128)
    assert fp8kit.current_backend() == "auto"
    q, s = fnp.quantize(x, "block", 128)
    same_bits(q, qr)
    same_bits(s, sr)
    with pytest.raises(ValueError, match="unknown backend"):
        with fp8kit.use_backend("tpu"):
            pass
    with fp8kit.use_backend("cuda_sm90"):
        a, a_s = fnp.quantize(x, "group", 128)
        with pytest.raises(ValueError, match="cuda_sm90 cannot run on CPU tensors"):
            fnp.gemm(a, a, a_s, fnp.quantize(x, "block", 128)[1])
