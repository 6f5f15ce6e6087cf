// gemm_fast.cpp: the fast CPU GEMM (Backend::cpu): D[M, N] = (A * As)(B * Bs)^T (+ bias).
//
// Work is split into tasks of kMb rows x kNc columns of D (parallel_for; each output element belongs
// to one task, so the thread count cannot change a result). K is cut into blocks (block_k wide for
// block scaling; 128 wide for row scaling, as the reference), and a task walks K in segments of at
// most kKc values (whole blocks when they fit):
// - the segment of its kNc rows of B is decoded to fp32 (vectorised) and packed k-major, kNr
//   columns per panel, once, and reused by all kMb rows;
// - kMc rows of A at a time are decoded to fp32 rows (vectorised);
// - the 6 x 16 micro kernel sums each block's products in registers (a block split over segments
//   carries its partial sums in memory) and, at the block's end, adds them scaled by As * Bs (1 for
//   row scaling) to the fp32 accumulator.
// Row scales, then the bias, are applied once at the end and the result is rounded to D's dtype.
//
// Within a block, products are summed in increasing k from zero; blocks are added in increasing
// order: exactly the reference's order, so the result equals gemm_reference bit for bit.
#include <algorithm>
#include <vector>

#include "cpu/cpu_backend.h"
#include "cpu/element_io.h"
#include "cpu/gemm_microkernel.h"
#include "cpu/parallel_for.h"
#include "cpu/row_kernels.h"

namespace fp8kit::cpu {
namespace {

constexpr int64_t kMc = 16 * kMr;  // 96 rows of A decoded at a time
constexpr int64_t kMb = 4 * kMc;   // 384 rows of D per task
constexpr int64_t kNc = 8 * kNr;   // 128 columns of D per task
constexpr int64_t kKc = 256;       // K values per segment
constexpr int64_t kRowScalingBlock = 128;  // the reference's K chunk for row scaling

int64_t round_up(int64_t v, int64_t to) { return (v + to - 1) / to * to; }

/// Per-task working memory (about 600 KB: stays in L2).
struct TaskBuffers {
  std::vector<float> a_rows = std::vector<float>(kMc * kKc);
  std::vector<float> b_panels = std::vector<float>(kNc * kKc);
  std::vector<float> b_rows = std::vector<float>(kNr * kKc);
  std::vector<float> partial = std::vector<float>(kMb * kNc);
  std::vector<float> acc = std::vector<float>(kMb * kNc);
  std::vector<float> a_scale = std::vector<float>(kMb);
  std::vector<float> b_scale = std::vector<float>(kNc);
};

/// Decodes `rows` rows of an FP8 matrix from (r0, k0), `len` values each, to fp32 rows of stride
/// `len`; rows up to `padded` are zero. Each row's next segment is prefetched: a task reads its rows
/// a segment at a time, too many interleaved streams for the hardware prefetcher to follow.
void decode_rows(const core::MatrixRef& m, int64_t r0, int64_t rows, int64_t padded, int64_t k0, int64_t len,
                 float* out) {
  static constexpr float kOne = 1.0f;  // decode(q) * 1 is decode(q) exactly
  const DequantizeRowKernels& k = dequantize_row_kernels(m.dtype, DType::f32);
  const int64_t ahead = std::min(len, m.cols - k0 - len);  // bytes of the next segment in this row
  for (int64_t i = 0; i < rows; ++i) {
    const uint8_t* src = m.row<const uint8_t>(r0 + i) + k0;
    for (int64_t off = 0; off < ahead; off += 64) __builtin_prefetch(src + len + off);
    k.decode_groups(src, out + i * len, len, len, &kOne);
  }
  std::fill(out + rows * len, out + padded * len, 0.0f);
}

/// Packs rows [n0, n0 + nc) of B, K values [k0, k0 + len), into panels of kNr rows laid out
/// [k][kNr] (zero past nc).
void pack_b(const core::MatrixRef& b, int64_t n0, int64_t nc, int64_t k0, int64_t len, TaskBuffers& buf) {
  for (int64_t p = 0; p * kNr < nc; ++p) {
    const int64_t rows = std::min<int64_t>(kNr, nc - p * kNr);
    decode_rows(b, n0 + p * kNr, rows, kNr, k0, len, buf.b_rows.data());
    float* panel = buf.b_panels.data() + p * kNr * len;
    for (int64_t k = 0; k < len; ++k) {
      for (int64_t j = 0; j < kNr; ++j) panel[k * kNr + j] = buf.b_rows[static_cast<size_t>(j * len + k)];
    }
  }
}

void gemm_task(const core::GemmProblem& p, int64_t m0, int64_t n0, TaskBuffers& buf) {
  const int64_t mb = std::min(kMb, p.m() - m0), nc = std::min(kNc, p.n() - n0);
  const int64_t nc_padded = round_up(nc, kNr);
  const bool block_scaling = p.scaling == GemmScaling::block;
  const int64_t block = block_scaling ? p.block_k : kRowScalingBlock;
  // a segment holds whole blocks when they fit (so rows are read in long runs), else part of one
  const int64_t segment = block <= kKc ? kKc / block * block : kKc;
  std::fill(buf.acc.begin(), buf.acc.begin() + round_up(mb, kMr) * kNc, 0.0f);
  if (!block_scaling) {
    std::fill(buf.a_scale.begin(), buf.a_scale.end(), 1.0f);
    std::fill(buf.b_scale.begin(), buf.b_scale.end(), 1.0f);
  }
  for (int64_t k0 = 0; k0 < p.k(); k0 += segment) {
    const int64_t len = std::min(segment, p.k() - k0);
    pack_b(p.b, n0, nc, k0, len, buf);
    for (int64_t mc0 = 0; mc0 < mb; mc0 += kMc) {
      const int64_t mc = std::min(kMc, mb - mc0);
      decode_rows(p.a, m0 + mc0, mc, round_up(mc, kMr), k0, len, buf.a_rows.data());
      // the parts of K blocks inside this segment, in increasing k
      for (int64_t s0 = k0; s0 < k0 + len;) {
        const int64_t kb = s0 / block, block_end = std::min((kb + 1) * block, p.k());
        const int64_t s1 = std::min(block_end, k0 + len);
        if (block_scaling) {
          for (int64_t i = 0; i < mc; ++i) {
            buf.a_scale[static_cast<size_t>(mc0 + i)] = load_scale(p.a_scales, m0 + mc0 + i, kb);
          }
          for (int64_t j = 0; j < nc; ++j) {
            buf.b_scale[static_cast<size_t>(j)] = load_scale(p.b_scales, (n0 + j) / p.block_n, kb);
          }
        }
        for (int64_t j = 0; j < nc_padded; j += kNr) {
          for (int64_t i = 0; i < mc; i += kMr) {
            MicroTile t;
            t.a = buf.a_rows.data() + i * len + (s0 - k0);
            t.lda = len;
            t.b = buf.b_panels.data() + j * len + (s0 - k0) * kNr;
            t.len = s1 - s0;
            t.partial = buf.partial.data() + (mc0 + i) * kNc + j;
            t.acc = buf.acc.data() + (mc0 + i) * kNc + j;
            t.ld = kNc;
            t.a_scale = buf.a_scale.data() + mc0 + i;
            t.b_scale = buf.b_scale.data() + j;
            t.continue_block = s0 != kb * block;
            t.finish_block = s1 == block_end;
            gemm_microkernel(t);
          }
        }
        s0 = s1;
      }
    }
  }
  for (int64_t i = 0; i < mb; ++i) {
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
  const int64_t m_tasks = (p.m() + kMb - 1) / kMb, n_tasks = (p.n() + kNc - 1) / kNc;
  parallel_for(m_tasks * n_tasks, 1, [&](int64_t begin, int64_t end) {
    TaskBuffers buf;
    for (int64_t t = begin; t < end; ++t) gemm_task(p, (t / n_tasks) * kMb, (t % n_tasks) * kNc, buf);
  });
}

}  // namespace fp8kit::cpu
