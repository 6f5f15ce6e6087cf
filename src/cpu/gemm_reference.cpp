// gemm_reference.cpp: the scalar reference GEMM. fp32 products summed in fp32 within each block_k-wide
// K block, each block's sum scaled (block scaling: As[m, kb] * Bs[n / block_n, kb]) and added to an fp32
// accumulator; row scaling applies As[m] * Bs[n] once at the end. Bias is added in fp32.
#include <algorithm>

#include "cpu/cpu_backend.h"
#include "cpu/element_io.h"

namespace fp8kit::cpu {

void gemm_reference(const core::GemmProblem& p) {
  const int64_t m_size = p.m(), n_size = p.n(), k_size = p.k();
  const int64_t bk = p.scaling == GemmScaling::block ? p.block_k : 128;
  for (int64_t m = 0; m < m_size; ++m) {
    for (int64_t n = 0; n < n_size; ++n) {
      float acc = 0.0f;
      for (int64_t k0 = 0, kb = 0; k0 < k_size; k0 += bk, ++kb) {
        float partial = 0.0f;
        for (int64_t k = k0; k < std::min(k0 + bk, k_size); ++k) {
          partial = numerics::add_rn(partial, numerics::mul_rn(load_element(p.a, m, k), load_element(p.b, n, k)));
        }
        if (p.scaling == GemmScaling::block) {
          const float scale =
              numerics::mul_rn(load_scale(p.a_scales, m, kb), load_scale(p.b_scales, n / p.block_n, kb));
          partial = numerics::mul_rn(partial, scale);
        }
        acc = numerics::add_rn(acc, partial);
      }
      if (p.scaling == GemmScaling::row) {
        acc = numerics::mul_rn(acc, numerics::mul_rn(load_scale(p.a_scales, m, 0), load_scale(p.b_scales, n, 0)));
      }
      if (p.bias != nullptr) acc = numerics::add_rn(acc, load_bias(p, n));
      store_high_precision(p.d, m, n, acc);
    }
  }
}

}  // namespace fp8kit::cpu
