// quantize_group.cu: launcher of the 1 x G group kernel for plain inputs (quantize_group.cuh).
#include "cuda/smxx/group_launch.cuh"
#include "cuda/smxx/launchers.h"

namespace fp8kit::cuda::smxx {

bool quantize_group_fits(const core::MatrixRef& x, const core::MatrixRef& q, int64_t group) {
  const int64_t vec = vector_width(x.dtype);
  return group_lanes(group, vec) != 0 && x.cols % vec == 0 && fits_index32(x.rows, x.cols) &&
         rows_aligned(x.data, x.ld, x.rows, dtype_size(x.dtype), 16) &&
         rows_aligned(q.data, q.ld, q.rows, 1, static_cast<int>(vec));
}

void launch_quantize_group(const core::QuantizeProblem& p, int64_t group, const LaunchContext& c) {
  GroupParams g;
  g.x = p.x.data;
  g.x_ld = p.x.ld;
  g.q = static_cast<uint8_t*>(p.q.data);
  g.q_ld = p.q.ld;
  g.s = scale_target(p.s);
  g.rule = scale_rule(p.q.dtype, p.rounding, p.amax_upper_bound);
  g.cols = static_cast<uint32_t>(p.x.cols);
  g.group = static_cast<uint32_t>(group);
  g.groups_per_row = static_cast<uint32_t>((p.x.cols + group - 1) / group);
  g.m_major = p.s.rows > 1 && p.s.cols > 1 && p.s.row_stride < p.s.col_stride;
  const uint32_t lanes = group_lanes(group, vector_width(p.x.dtype));
  const Fp8Format f = format_of(p.q.dtype);
  switch (p.x.dtype) {
    case DType::f32: return launch_group_kernel<PlainLoader<DType::f32>>(g, lanes, p.x.rows, f, c);
    case DType::f16: return launch_group_kernel<PlainLoader<DType::f16>>(g, lanes, p.x.rows, f, c);
    case DType::bf16: return launch_group_kernel<PlainLoader<DType::bf16>>(g, lanes, p.x.rows, f, c);
    default: FP8KIT_FAIL("quantize: unsupported input dtype ", dtype_name(p.x.dtype));
  }
}

}  // namespace fp8kit::cuda::smxx
