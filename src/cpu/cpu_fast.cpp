// cpu_fast.cpp: the CPU backend's fast paths. Until the vectorised, multithreaded kernels land they
// forward to the scalar reference, which defines the bits they must produce.
#include <cstdlib>
#include <thread>

#include "cpu/cpu_backend.h"

namespace fp8kit::cpu {

int thread_count() {
  static const int n = [] {
    if (const char* env = std::getenv("FP8KIT_NUM_THREADS")) {
      const int v = std::atoi(env);
      if (v > 0) return v;
    }
    const unsigned hw = std::thread::hardware_concurrency();
    return hw > 0 ? static_cast<int>(hw) : 1;
  }();
  return n;
}

void quantize(const core::QuantizeProblem& p) { quantize_reference(p); }
void dequantize(const core::DequantizeProblem& p) { dequantize_reference(p); }
void silu_mul(const core::SiluMulProblem& p) { silu_mul_reference(p); }
void silu_mul_quantize(const core::SiluMulQuantizeProblem& p) { silu_mul_quantize_reference(p); }
void gemm(const core::GemmProblem& p) { gemm_reference(p); }

}  // namespace fp8kit::cpu
