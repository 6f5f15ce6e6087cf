// gemm_fast.cpp: the fast CPU GEMM (Backend::cpu): D[M, N] = (A * As)(B * Bs)^T (+ bias).
//
// The output is cut into kMc x kNc tiles, one task each (parallel_for). A task walks K block by
// block (block_k wide for block scaling; 128 wide for row scaling, as the reference), in segments of
// at most kKc: it decodes the segment's A rows and B rows to fp32 once into packed panels (zero rows
// pad the ragged edges), runs the 6 x 16 micro kernel over them, and at the end of each block adds
// the block's partial sums into the fp32 accumulator (scaled by As * Bs for block scaling). Row
// scales, then the bias, are applied once at the end, and the result rounded to D's dtype.
//
// Within a block, products are summed in increasing k from zero, each block's sum is scaled and
// added in increasing block order: exactly the reference's order, so the result is bit-identical to
// gemm_reference and independent of the thread count.
#include <algorithm>
#include <array>
#include <vector>

#include "cpu/cpu_backend.h"
#include "cpu/element_io.h"
#include "cpu/gemm_microkernel.h"
#include "cpu/parallel_for.h"

namespace fp8kit::cpu {
namespace {

constexpr int64_t kMc = 16 * kMr;  // 96 rows of A per tile
constexpr int64_t kNc = 8 * kNr;   // 128 rows of B per tile
constexpr int64_t kKc = 256;       // K elements per packed segment
constexpr int64_t kRowScalingBlock = 128;  // the reference's K chunk for row scaling

using DecodeTable = std::array<float, 256>;

DecodeTable decode_table(DType fp8) {
  DecodeTable t{};
  for (int c = 0; c < 256; ++c) t[static_cast<size_t>(c)] = decode(fp8, static_cast<uint8_t>(c));
  return t;
}

const DecodeTable& table_for(DType fp8) {
  static const DecodeTable e4m3 = decode_table(DType::e4m3fn);
  static const DecodeTable e5m2 = decode_table(DType::e5m2);
  return fp8 == DType::e5m2 ? e5m2 : e4m3;
}

/// Packs rows [r0, r0 + rows) of m, columns [k0, k0 + len), decoded, into panels of `width` rows:
/// panel p holds rows p*width.., laid out [k][width]. Rows past `rows` (up to `padded`) are zero.
void pack_panels(const core::MatrixRef& m, const DecodeTable& table, int64_t r0, int64_t rows, int64_t padded,
                 int64_t k0, int64_t len, int width, float* out) {
  for (int64_t i = 0; i < padded; ++i) {
    float* dst = out + (i / width) * len * width + i % width;
    if (i < rows) {
      const uint8_t* src = m.row<const uint8_t>(r0 + i) + k0;
      for (int64_t k = 0; k < len; ++k) dst[k * width] = table[src[k]];
    } else {
      for (int64_t k = 0; k < len; ++k) dst[k * width] = 0.0f;
    }
  }
}

int64_t round_up(int64_t v, int64_t to) { return (v + to - 1) / to * to; }

struct TileBuffers {
  std::vector<float> a_panels, b_panels, partial, acc, a_scale, b_scale;
  TileBuffers()
      : a_panels(kMc * kKc), b_panels(kNc * kKc), partial(kMc * kNc), acc(kMc * kNc), a_scale(kMc), b_scale(kNc) {}
};

void gemm_tile(const core::GemmProblem& p, int64_t m0, int64_t n0, TileBuffers& buf) {
  const int64_t mc = std::min(kMc, p.m() - m0), nc = std::min(kNc, p.n() - n0);
  const int64_t mc_padded = round_up(mc, kMr), nc_padded = round_up(nc, kNr);
  const bool block_scaling = p.scaling == GemmScaling::block;
  const int64_t block = block_scaling ? p.block_k : kRowScalingBlock;
  const DecodeTable& a_table = table_for(p.a.dtype);
  const DecodeTable& b_table = table_for(p.b.dtype);
  std::fill(buf.acc.begin(), buf.acc.end(), 0.0f);
  for (int64_t kb = 0, kb0 = 0; kb0 < p.k(); ++kb, kb0 += block) {
    const int64_t kb1 = std::min(kb0 + block, p.k());
    for (int64_t k0 = kb0; k0 < kb1; k0 += kKc) {
      const int64_t len = std::min(kKc, kb1 - k0);
      pack_panels(p.a, a_table, m0, mc, mc_padded, k0, len, kMr, buf.a_panels.data());
      pack_panels(p.b, b_table, n0, nc, nc_padded, k0, len, kNr, buf.b_panels.data());
      for (int64_t j = 0; j < nc_padded; j += kNr) {
        for (int64_t i = 0; i < mc_padded; i += kMr) {
          gemm_microkernel(buf.a_panels.data() + i * len, buf.b_panels.data() + j * len, len,
                           buf.partial.data() + i * kNc + j, kNc, k0 != kb0);
        }
      }
    }
    if (block_scaling) {
      for (int64_t i = 0; i < mc; ++i) buf.a_scale[static_cast<size_t>(i)] = load_scale(p.a_scales, m0 + i, kb);
      for (int64_t j = 0; j < nc; ++j) {
        buf.b_scale[static_cast<size_t>(j)] = load_scale(p.b_scales, (n0 + j) / p.block_n, kb);
      }
    } else {
      std::fill(buf.a_scale.begin(), buf.a_scale.end(), 1.0f);
      std::fill(buf.b_scale.begin(), buf.b_scale.end(), 1.0f);
    }
    gemm_add_scaled_block(buf.acc.data(), buf.partial.data(), buf.a_scale.data(), buf.b_scale.data(), mc, nc, kNc);
  }
  for (int64_t i = 0; i < mc; ++i) {
    for (int64_t j = 0; j < nc; ++j) {
      float v = buf.acc[static_cast<size_t>(i * kNc + j)];
      if (!block_scaling) {
        v = numerics::mul_rn(v, numerics::mul_rn(load_scale(p.a_scales, m0 + i, 0), load_scale(p.b_scales, n0 + j, 0)));
      }
      if (p.bias != nullptr) v = numerics::add_rn(v, load_bias(p, n0 + j));
      store_high_precision(p.d, m0 + i, n0 + j, v);
    }
  }
}

}  // namespace

void gemm(const core::GemmProblem& p) {
  const int64_t m_tiles = (p.m() + kMc - 1) / kMc, n_tiles = (p.n() + kNc - 1) / kNc;
  parallel_for(m_tiles * n_tiles, 1, [&](int64_t begin, int64_t end) {
    TileBuffers buf;
    for (int64_t t = begin; t < end; ++t) gemm_tile(p, (t / n_tiles) * kMc, (t % n_tiles) * kNc, buf);
  });
}

}  // namespace fp8kit::cpu
