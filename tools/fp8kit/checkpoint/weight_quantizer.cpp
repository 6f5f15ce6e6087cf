// weight_quantizer.cpp: one tensor through the library's quantize, into stored bytes.
#include "checkpoint/weight_quantizer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "checkpoint/checkpoint_error.h"
#include "common/numerics.h"

namespace fp8kit::checkpoint {
namespace {

/// The smallest value of the 16-bit type >= s (s finite, > 0), as its bits.
uint16_t round_up_16(float s, StDType t) {
  if (t == StDType::BF16) {
    const uint32_t b = numerics::bits_of(s);
    return static_cast<uint16_t>((b & 0xFFFFu) ? (b >> 16) + 1u : (b >> 16));
  }
  uint16_t h = numerics::float_to_f16_bits(s);
  if (numerics::f16_bits_to_float(h) < s) ++h;
  return h;
}

float value_16(uint16_t h, StDType t) {
  return t == StDType::BF16 ? numerics::bf16_bits_to_float(h) : numerics::f16_bits_to_float(h);
}

struct Tile {
  int64_t rows, cols;
};

Tile tile_of(const ScaleLayout& l) {
  switch (l.spec.granularity) {
    case Granularity::block: return {l.spec.block_rows, l.spec.block_cols};
    case Granularity::row: return {1, std::max<int64_t>(l.cols, 1)};
    default: return {std::max<int64_t>(l.rows, 1), std::max<int64_t>(l.cols, 1)};
  }
}

/// Re-encodes the tiles whose stored 16-bit scale differs from the contract scale.
void store_16bit_scales(const uint8_t* x, StDType xdtype, const ScaleLayout& l, Fp8Format fmt, QuantizeBuffers& b) {
  const Tile tile = tile_of(l);
  const int64_t grid_cols = std::max<int64_t>(1, scale_grid_shape(l.rows, l.cols, l.spec).cols);
  b.stored_scales.resize(b.scales.size() * 2);
  for (size_t i = 0; i < b.scales.size(); ++i) {
    const float s = b.scales[i];
    const uint16_t h = round_up_16(s, l.dtype);
    std::memcpy(&b.stored_scales[i * 2], &h, 2);
    const float stored = value_16(h, l.dtype);
    if (stored == s) continue;
    const int64_t gi = static_cast<int64_t>(i) / grid_cols, gj = static_cast<int64_t>(i) % grid_cols;
    const int64_t r1 = std::min(l.rows, (gi + 1) * tile.rows), c1 = std::min(l.cols, (gj + 1) * tile.cols);
    for (int64_t r = gi * tile.rows; r < r1; ++r) {
      for (int64_t c = gj * tile.cols; c < c1; ++c) {
        const int64_t k = r * l.cols + c;
        const float q = numerics::div_rn(load_float(x, xdtype, k), stored);
        b.codes[static_cast<size_t>(k)] = fmt == Fp8Format::e5m2 ? numerics::encode_e5m2(q) : numerics::encode_e4m3fn(q);
      }
    }
  }
}

}  // namespace

float load_float(const uint8_t* data, StDType dtype, int64_t i) {
  const size_t k = static_cast<size_t>(i);
  if (dtype == StDType::F32) {
    float v;
    std::memcpy(&v, data + k * 4, 4);
    return v;
  }
  uint16_t h;
  std::memcpy(&h, data + k * 2, 2);
  return dtype == StDType::BF16 ? numerics::bf16_bits_to_float(h) : numerics::f16_bits_to_float(h);
}

std::pair<float, float> scale_range(const uint8_t* data, StDType dtype, int64_t count) {
  float lo = std::numeric_limits<float>::infinity(), hi = -lo;
  for (int64_t i = 0; i < count; ++i) {
    const float v = dtype == StDType::F8_E8M0 ? numerics::ue8m0_to_float(data[i]) : load_float(data, dtype, i);
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  return {lo, hi};
}

void quantize_weight(TensorEngine& engine, const uint8_t* data, const TensorInfo& info, const ScaleLayout& l,
                     Fp8Format fmt, QuantizeBuffers& b, const std::string& file) {
  const DType xdtype = *to_library_dtype(info.dtype);
  const size_t elem = static_cast<size_t>(dtype_size(xdtype));
  const uint8_t* x = data;
  if (reinterpret_cast<uintptr_t>(data) % elem != 0) {  // other writers do not always align
    b.aligned_input.assign(data, data + info.nbytes());
    x = b.aligned_input.data();
  }
  const size_t n = static_cast<size_t>(info.numel());
  b.codes.resize(n);
  const ScaleGridShape grid = scale_grid_shape(l.rows, l.cols, l.spec);
  b.scales.resize(static_cast<size_t>(grid.rows * grid.cols));
  engine.quantize({const_cast<uint8_t*>(x), xdtype, l.rows, l.cols}, {b.codes.data(), dtype_of(fmt), l.rows, l.cols},
                  {b.scales.data(), DType::f32, grid.rows, grid.cols}, l.spec);
  for (size_t i = 0; i < b.scales.size(); ++i) {
    if (std::isnan(b.scales[i])) {
      fail(file, info.name, "holds NaN or inf in scale tile ", i / static_cast<size_t>(grid.cols), ",",
           i % static_cast<size_t>(grid.cols), "; refusing to write a NaN scale (exclude the tensor with --exclude)");
    }
  }
  if (l.dtype == StDType::F32) {
    b.stored_scales.resize(b.scales.size() * 4);
    std::memcpy(b.stored_scales.data(), b.scales.data(), b.stored_scales.size());
  } else {
    store_16bit_scales(x, info.dtype, l, fmt, b);
  }
}

QuantError measure_error(TensorEngine& engine, const uint8_t* data, const TensorInfo& info, const ScaleLayout& l,
                         Fp8Format fmt, QuantizeBuffers& b) {
  const size_t n = static_cast<size_t>(info.numel());
  std::vector<float> stored(b.scales.size());
  for (size_t i = 0; i < stored.size(); ++i) stored[i] = load_float(b.stored_scales.data(), l.dtype, static_cast<int64_t>(i));
  const ScaleGridShape grid = scale_grid_shape(l.rows, l.cols, l.spec);
  b.roundtrip.resize(n);
  ScaleSpec spec = l.spec;
  spec.rounding = ScaleRounding::exact;  // f32 scales are read as given
  engine.dequantize({b.codes.data(), dtype_of(fmt), l.rows, l.cols}, {stored.data(), DType::f32, grid.rows, grid.cols},
                    {b.roundtrip.data(), DType::f32, l.rows, l.cols}, spec);
  QuantError e;
  e.count = static_cast<int64_t>(n);
  double amax = 0, max_err = 0;
  int64_t nonzero = 0, flushed = 0;
  for (size_t i = 0; i < n; ++i) {
    const double x = load_float(data, info.dtype, static_cast<int64_t>(i));
    const double y = b.roundtrip[i];
    const double d = x - y;
    e.signal += x * x;
    e.noise += d * d;
    amax = std::max(amax, std::fabs(x));
    max_err = std::max(max_err, std::fabs(d));
    if (x != 0) {
      ++nonzero;
      flushed += y == 0 ? 1 : 0;
    }
  }
  e.sqnr_db = e.noise > 0 ? 10.0 * std::log10(e.signal / e.noise) : std::numeric_limits<double>::infinity();
  e.max_rel_err = amax > 0 ? max_err / amax : 0.0;
  e.underflow = nonzero > 0 ? static_cast<double>(flushed) / static_cast<double>(nonzero) : 0.0;
  return e;
}

}  // namespace fp8kit::checkpoint
