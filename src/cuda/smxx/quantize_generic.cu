// quantize_generic.cu: launcher of the any-tile quantization kernel for plain inputs.
#include "cuda/smxx/generic_launch.cuh"
#include "cuda/smxx/launchers.h"

namespace fp8kit::cuda::smxx {

void launch_quantize_generic(const core::QuantizeProblem& p, const LaunchContext& c) {
  GenericParams g;
  g.x = p.x.data;
  g.x_ld = p.x.ld;
  g.q = static_cast<uint8_t*>(p.q.data);
  g.q_ld = p.q.ld;
  g.s = scale_target(p.s);
  g.rule = scale_rule(p.q.dtype, p.rounding, p.amax_upper_bound);
  g.rows = p.x.rows;
  g.cols = p.x.cols;
  g.tile_rows = p.block_rows;
  g.tile_cols = p.block_cols;
  g.grid_rows = p.s.rows;
  g.grid_cols = p.s.cols;
  const Fp8Format f = format_of(p.q.dtype);
  switch (p.x.dtype) {
    case DType::f32: return launch_generic_kernel<PlainScalarLoader<DType::f32>>(g, f, c);
    case DType::f16: return launch_generic_kernel<PlainScalarLoader<DType::f16>>(g, f, c);
    case DType::bf16: return launch_generic_kernel<PlainScalarLoader<DType::bf16>>(g, f, c);
    default: FP8KIT_FAIL("quantize: unsupported input dtype ", dtype_name(p.x.dtype));
  }
}

}  // namespace fp8kit::cuda::smxx
