// pending_quantize.cpp: CUDA quantization ops whose kernels have not landed yet. Each refuses with a
// reason; the kernels in smxx/ replace these definitions.
#include "cuda/cuda_backend.h"
#include "fp8kit/error.h"

namespace fp8kit::cuda {
namespace {
constexpr const char* kPending = "the CUDA quantization kernels are not implemented yet";
}

Verdict supports_quantize(const core::QuantizeProblem&) { return Verdict::no(kPending); }
void quantize(const core::QuantizeProblem&) { FP8KIT_FAIL(kPending); }
Verdict supports_dequantize(const core::DequantizeProblem&) { return Verdict::no(kPending); }
void dequantize(const core::DequantizeProblem&) { FP8KIT_FAIL(kPending); }
Verdict supports_silu_mul(const core::SiluMulProblem&) { return Verdict::no(kPending); }
void silu_mul(const core::SiluMulProblem&) { FP8KIT_FAIL(kPending); }
Verdict supports_silu_mul_quantize(const core::SiluMulQuantizeProblem&) { return Verdict::no(kPending); }
void silu_mul_quantize(const core::SiluMulQuantizeProblem&) { FP8KIT_FAIL(kPending); }

}  // namespace fp8kit::cuda
