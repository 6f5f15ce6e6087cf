// smxx_backend.cpp: the CUDA backend's quantization entry points (cuda_backend.h): what the kernels
// accept (supports_*), and which kernel family runs each problem.
//
// Routing of quantize, by the tile one scale covers (p.block_rows x p.block_cols):
//   1 x G tiles (group, per-row, 1 x C_b blocks) whose G is 1..32 16-byte vectors -> quantize_group
//   R_b x C_b tiles and wide rows, C_b a whole number of vectors                 -> quantize_block
//   the whole tensor                                                            -> quantize_tensor
//   anything else (column tiles, odd widths, unaligned or huge)                 -> quantize_generic
// Every path computes the bits of the CPU reference; the choice is only about speed.
#include "cuda/common/cuda_check.h"
#include "cuda/common/pointer_check.h"
#include "cuda/cuda_backend.h"
#include "cuda/smxx/launchers.h"

namespace fp8kit::cuda {
namespace {

using namespace smxx;

bool nonempty(const core::MatrixRef& m) { return m.rows > 0 && m.cols > 0; }
bool nonempty(const core::ScaleGridRef& s) { return s.rows > 0 && s.cols > 0; }

/// The first refusal among the device and the pointers, or ok.
struct Checks {
  const Device& device;
  const char* op;
  bool pointers_known;
  Verdict verdict = check_device(device, op);

  Checks& pointer(const void* ptr, bool used, const char* what) {
    if (verdict.ok) verdict = check_device_pointer(ptr, used, pointers_known, device, op, what);
    return *this;
  }
  Checks& require(bool ok, const std::string& why) {
    if (verdict.ok && !ok) verdict = Verdict::no(detail::concat(op, ": ", why));
    return *this;
  }
};

std::string columns_limit(int64_t cols) {
  return detail::concat("rows of ", cols, " columns are too long for the CUDA kernels (at most ", kMaxIndex32 - 1, ")");
}

void run_quantize(const core::QuantizeProblem& p, const LaunchContext& c) {
  if (!nonempty(p.x)) {
    if (nonempty(p.s)) launch_quantize_generic(p, c);  // the scale (1) of an empty tensor
    return;
  }
  if (p.granularity == Granularity::tensor) {
    return quantize_tensor_fits(p) ? launch_quantize_tensor(p, c) : launch_quantize_generic(p, c);
  }
  if (p.block_rows == 1 && quantize_group_fits(p.x, p.q, p.block_cols)) return launch_quantize_group(p, p.block_cols, c);
  if (quantize_block_fits(p)) return launch_quantize_block(p, c);
  launch_quantize_generic(p, c);
}

}  // namespace

Verdict supports_quantize(const core::QuantizeProblem& p) {
  Checks checks{p.device, "quantize", p.pointers_known};
  checks.pointer(p.x.data, nonempty(p.x), "x").pointer(p.q.data, nonempty(p.q), "q").pointer(p.s.data, nonempty(p.s), "scales");
  checks.require(p.granularity != Granularity::tensor || !nonempty(p.x) || has_memory_pools(p.device.index),
                 "per-tensor quantization needs stream-ordered allocation (cudaMallocAsync), which " + to_string(p.device) +
                     " does not offer");
  return checks.verdict;
}

void quantize(const core::QuantizeProblem& p) {
  const DeviceGuard guard(p.device.index);
  run_quantize(p, launch_context(p.device, p.stream));
}

Verdict supports_dequantize(const core::DequantizeProblem& p) {
  Checks checks{p.device, "dequantize", p.pointers_known};
  checks.pointer(p.q.data, nonempty(p.q), "q").pointer(p.s.data, nonempty(p.q) && nonempty(p.s), "scales");
  checks.pointer(p.y.data, nonempty(p.y), "y").require(p.q.cols < kMaxIndex32, columns_limit(p.q.cols));
  return checks.verdict;
}

void dequantize(const core::DequantizeProblem& p) {
  if (!nonempty(p.q)) return;
  const DeviceGuard guard(p.device.index);
  launch_dequantize(p, launch_context(p.device, p.stream));
}

Verdict supports_silu_mul(const core::SiluMulProblem& p) {
  Checks checks{p.device, "silu_mul", p.pointers_known};
  checks.pointer(p.gate_up.data, nonempty(p.h), "gate_up").pointer(p.h.data, nonempty(p.h), "h");
  checks.require(p.h.cols < kMaxIndex32, columns_limit(p.h.cols));
  return checks.verdict;
}

void silu_mul(const core::SiluMulProblem& p) {
  if (!nonempty(p.h)) return;
  const DeviceGuard guard(p.device.index);
  launch_silu_mul(p, launch_context(p.device, p.stream));
}

Verdict supports_silu_mul_quantize(const core::SiluMulQuantizeProblem& p) {
  Checks checks{p.device, "silu_mul_quantize", p.pointers_known};
  checks.pointer(p.gate_up.data, nonempty(p.q), "gate_up").pointer(p.q.data, nonempty(p.q), "q");
  checks.pointer(p.s.data, nonempty(p.s), "scales");
  return checks.verdict;
}

void silu_mul_quantize(const core::SiluMulQuantizeProblem& p) {
  if (!nonempty(p.q)) return;
  const DeviceGuard guard(p.device.index);
  launch_silu_mul_quantize(p, launch_context(p.device, p.stream));
}

}  // namespace fp8kit::cuda
