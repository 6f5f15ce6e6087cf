// silu_mul.cu: launchers of the plain SiLU-mul kernel and of the fused SiLU-mul + 1 x G quantization
// (the group kernel with the SiLU-mul loader where sizes and alignment allow, else the generic kernel).
#include "cuda/common/cuda_check.h"
#include "cuda/smxx/generic_launch.cuh"
#include "cuda/smxx/group_launch.cuh"
#include "cuda/smxx/launchers.h"
#include "cuda/smxx/silu_mul.cuh"

namespace fp8kit::cuda::smxx {
namespace {

/// gate_up [R, 2I] and an output [R, I] with 16-byte vectors at every multiple of 8 columns.
bool gate_up_vectorisable(const core::MatrixRef& gate_up, const core::MatrixRef& out, int out_bytes) {
  const int64_t inter = out.cols;
  return inter % 8 == 0 && rows_aligned(gate_up.data, gate_up.ld, gate_up.rows, 2, 16) &&
         rows_aligned(out.data, out.ld, out.rows, out_bytes, 8 * out_bytes);
}

}  // namespace

void launch_silu_mul(const core::SiluMulProblem& p, const LaunchContext& c) {
  SiluMulParams s;
  s.gate_up = static_cast<const uint16_t*>(p.gate_up.data);
  s.gate_up_ld = p.gate_up.ld;
  s.h = static_cast<uint16_t*>(p.h.data);
  s.h_ld = p.h.ld;
  s.cols = static_cast<uint32_t>(p.h.cols);
  s.vector = gate_up_vectorisable(p.gate_up, p.h, 2);
  s.units_per_row = static_cast<uint32_t>(s.vector ? p.h.cols / 8 : p.h.cols);
  const int64_t cap = int64_t{8} * c.multiprocessors;
  for_each_row_range(p.h.rows, s.units_per_row, [&](int64_t first, int64_t count) {
    s.row_begin = first;
    s.rows = static_cast<uint32_t>(count);
    const uint32_t blocks = grid_blocks(count * s.units_per_row, int64_t{kSiluThreads} * kSiluUnroll, cap);
    smxx_silu_mul_kernel<<<blocks, kSiluThreads, 0, c.stream>>>(s);
    FP8KIT_CUDA_CHECK_LAUNCH("smxx_silu_mul_kernel");
  });
}

void launch_silu_mul_quantize(const core::SiluMulQuantizeProblem& p, const LaunchContext& c) {
  const Fp8Format f = format_of(p.q.dtype);
  const ScaleRule rule = scale_rule(p.q.dtype, p.rounding, p.amax_upper_bound);
  const uint32_t lanes = group_lanes(p.group, 8);
  const bool group_fits = lanes != 0 && fits_index32(p.q.rows, p.gate_up.cols) && gate_up_vectorisable(p.gate_up, p.q, 1);
  if (group_fits) {
    GroupParams g;
    g.x = p.gate_up.data;
    g.x_ld = p.gate_up.ld;
    g.q = static_cast<uint8_t*>(p.q.data);
    g.q_ld = p.q.ld;
    g.s = scale_target(p.s);
    g.rule = rule;
    g.cols = static_cast<uint32_t>(p.q.cols);
    g.group = static_cast<uint32_t>(p.group);
    g.groups_per_row = static_cast<uint32_t>(p.s.cols);
    g.m_major = p.s.rows > 1 && p.s.cols > 1 && p.s.row_stride < p.s.col_stride;
    return launch_group_kernel<SiluMulLoader>(g, lanes, p.q.rows, f, c);
  }
  GenericParams g;
  g.x = p.gate_up.data;
  g.x_ld = p.gate_up.ld;
  g.q = static_cast<uint8_t*>(p.q.data);
  g.q_ld = p.q.ld;
  g.s = scale_target(p.s);
  g.rule = rule;
  g.rows = p.q.rows;
  g.cols = p.q.cols;
  g.tile_rows = 1;
  g.tile_cols = p.group;
  g.grid_rows = p.s.rows;
  g.grid_cols = p.s.cols;
  launch_generic_kernel<SiluMulScalarLoader>(g, f, c);
}

}  // namespace fp8kit::cuda::smxx
