// silu_mul_fast.cpp: the fast CPU silu_mul and silu_mul_quantize (Backend::cpu), bit-identical to
// the reference: h = bf16(silu(gate) * up) by the vectorised row kernel, then (fused form) the 1 x G
// group quantization of each h row from a per-thread buffer, so h never goes to memory.
#include <algorithm>
#include <vector>

#include "cpu/cpu_backend.h"
#include "cpu/element_io.h"
#include "cpu/parallel_for.h"
#include "cpu/quantize_common.h"
#include "cpu/row_kernels.h"

namespace fp8kit::cpu {
namespace {

constexpr int64_t kTaskElements = 1 << 15;  // silu costs ~20 operations per element

}  // namespace

void silu_mul(const core::SiluMulProblem& p) {
  const int64_t inter = p.h.cols;
  parallel_for(p.h.rows, grain_for(inter, kTaskElements), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const uint16_t* gate = p.gate_up.row<const uint16_t>(r);
      silu_mul_row(gate, gate + inter, p.h.row<uint16_t>(r), inter);
    }
  });
}

void silu_mul_quantize(const core::SiluMulQuantizeProblem& p) {
  const int64_t inter = p.q.cols;
  if (p.s.rows == 0 || p.s.cols == 0) return;  // no groups
  const QuantizeRowKernels& k = quantize_row_kernels(DType::bf16, p.q.dtype);
  parallel_for(p.q.rows, grain_for(inter, kTaskElements), [&](int64_t begin, int64_t end) {
    std::vector<uint16_t> h(static_cast<size_t>(inter));
    std::vector<uint32_t> amax(static_cast<size_t>(p.s.cols));
    std::vector<float> scales(static_cast<size_t>(p.s.cols));
    for (int64_t r = begin; r < end; ++r) {
      const uint16_t* gate = p.gate_up.row<const uint16_t>(r);
      silu_mul_row(gate, gate + inter, h.data(), inter);
      std::fill(amax.begin(), amax.end(), 0u);
      k.group_abs_max(h.data(), inter, p.group, amax.data());
      for (int64_t g = 0; g < p.s.cols; ++g) {
        const size_t j = static_cast<size_t>(g);
        scales[j] = scale_from_amax_bits(amax[j], p.q.dtype, p.rounding, p.amax_upper_bound);
        store_scale(p.s, r, g, scales[j]);
      }
      k.encode_groups(h.data(), p.q.row<uint8_t>(r), inter, p.group, scales.data());
    }
  });
}

}  // namespace fp8kit::cpu
