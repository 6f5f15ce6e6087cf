// cuda_stub.cpp: the CUDA backend of a build without CUDA: nothing runs, every check says why.
#include "cuda/cuda_backend.h"
#include "fp8kit/error.h"

namespace fp8kit::cuda {
namespace {
constexpr const char* kNoCuda = "fp8kit was built without CUDA (configure with FP8KIT_CUDA=ON and nvcc on PATH)";
}

bool compiled() { return false; }
Probe probe() { return Probe{{}, "", "", kNoCuda}; }
int compute_capability(int) { return 0; }

void* device_alloc(size_t, int) { FP8KIT_FAIL(kNoCuda); }
void device_free(void*) noexcept {}
void copy_to_device(void*, const void*, size_t) { FP8KIT_FAIL(kNoCuda); }
void copy_to_host(void*, const void*, size_t) { FP8KIT_FAIL(kNoCuda); }
void synchronize(int) { FP8KIT_FAIL(kNoCuda); }
bool host_register(void*, size_t) noexcept { return false; }
void host_unregister(void*) noexcept {}

Verdict supports_quantize(const core::QuantizeProblem&) { return Verdict::no(kNoCuda); }
void quantize(const core::QuantizeProblem&) { FP8KIT_FAIL(kNoCuda); }
Verdict supports_dequantize(const core::DequantizeProblem&) { return Verdict::no(kNoCuda); }
void dequantize(const core::DequantizeProblem&) { FP8KIT_FAIL(kNoCuda); }
Verdict supports_silu_mul(const core::SiluMulProblem&) { return Verdict::no(kNoCuda); }
void silu_mul(const core::SiluMulProblem&) { FP8KIT_FAIL(kNoCuda); }
Verdict supports_silu_mul_quantize(const core::SiluMulQuantizeProblem&) { return Verdict::no(kNoCuda); }
void silu_mul_quantize(const core::SiluMulQuantizeProblem&) { FP8KIT_FAIL(kNoCuda); }
Verdict supports_gemm(Backend, const core::GemmProblem&) { return Verdict::no(kNoCuda); }
void gemm(Backend, const core::GemmProblem&) { FP8KIT_FAIL(kNoCuda); }

}  // namespace fp8kit::cuda
