"""Independent numpy versions of the numerics contract (docs/numerics.md) and of DeepSeek-V3's
fp8_cast_bf16.py weight_dequant, used to check fp8kit's output bit for bit."""
import ml_dtypes
import numpy as np

FMAX = {"e4m3": 448.0, "e5m2": 57344.0}
FP8 = {"e4m3": ml_dtypes.float8_e4m3fn, "e5m2": ml_dtypes.float8_e5m2}


def tiles(shape, block):
    rows, cols = shape
    br, bc = block
    for i in range(0, rows, br):
        for j in range(0, cols, bc):
            yield i // br, j // bc, slice(i, min(i + br, rows)), slice(j, min(j + bc, cols))


def scale_of(amax, fmt="e4m3", pow2=False):
    """Contract scale of a tile with this amax (fp32 arithmetic)."""
    amax = np.float32(amax)
    if amax == 0:
        return np.float32(1.0)
    if pow2:
        e = int(np.ceil(np.log2(np.float64(amax) / FMAX[fmt])))
        while np.float64(2.0) ** (e - 1) * FMAX[fmt] >= amax:  # smallest e with amax <= fmax * 2^e
            e -= 1
        while np.float64(2.0) ** e * FMAX[fmt] < amax:
            e += 1
        return np.float32(2.0 ** max(e, -126))
    return max(np.float32(amax / np.float32(FMAX[fmt])), np.float32(2.0 ** -126))


def quantize_block(x, block, fmt="e4m3", pow2=False):
    """q, s for block (rows x cols) scales; x any float dtype, computed in fp32."""
    x = x.astype(np.float32)
    rows, cols = x.shape
    grid = (-(-rows // block[0]), -(-cols // block[1]))
    s = np.zeros(grid, np.float32)
    q = np.zeros(x.shape, FP8[fmt])
    for gi, gj, rs, cs in tiles(x.shape, block):
        t = x[rs, cs]
        s[gi, gj] = scale_of(np.abs(t).max() if t.size else 0, fmt, pow2)
        q[rs, cs] = (t / s[gi, gj]).astype(FP8[fmt])
    return q, s


def deepseek_weight_dequant(q, s, block=128, out=ml_dtypes.bfloat16):
    """fp8_cast_bf16.py: y = (q.float() * s[block]) cast to the default dtype (bf16), per 128x128 tile."""
    s_full = np.repeat(np.repeat(s.astype(np.float32), block, axis=0), block, axis=1)[: q.shape[0], : q.shape[1]]
    return (q.astype(np.float32) * s_full).astype(out)


def sqnr_db(x, y):
    x = x.astype(np.float64)
    y = y.astype(np.float64)
    return 10 * np.log10((x * x).sum() / ((x - y) ** 2).sum())
