// test_gemm_dispatch.cpp: GEMM backend choice without running a GEMM: CPU tensors, overrides, and
// CUDA tensors on a machine without a usable GPU (every backend refuses with its reason; no crash).
// The tensors below are described by placeholder addresses that nothing dereferences.
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <string>

#include <gtest/gtest.h>

#include "fp8kit/fp8kit.h"

namespace fp8kit {
namespace {

/// Sets an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) { setenv(name, value, 1); }
  ~ScopedEnv() { unsetenv(name_); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
};

void* placeholder(int slot) { return reinterpret_cast<void*>(uintptr_t{1} << 40 | uintptr_t(slot) << 32); }

/// A block-scaled M x N x K GEMM description on `device`.
GemmArgs describe(int64_t m, int64_t n, int64_t k, Device device) {
  const int64_t l = (k + 127) / 128;
  GemmArgs a;
  a.a = TensorView::contiguous(placeholder(1), DType::e4m3fn, {m, k}, device);
  a.b = TensorView::contiguous(placeholder(2), DType::e4m3fn, {n, k}, device);
  a.a_scales = TensorView::contiguous(placeholder(3), DType::f32, {m, l}, device);
  a.b_scales = TensorView::contiguous(placeholder(4), DType::f32, {(n + 127) / 128, l}, device);
  a.d = TensorView::contiguous(placeholder(5), DType::bf16, {m, n}, device);
  return a;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return {};
}

TEST(GemmDispatch, CpuTensorsUseTheCpuBackends) {
  const GemmArgs args = describe(4, 64, 128, Device::cpu());
  EXPECT_EQ(choose_gemm_backend(args), Backend::cpu);
  const ScopedEnv env("FP8KIT_CPU_BACKEND", "cpu_reference");
  EXPECT_EQ(choose_gemm_backend(args), Backend::cpu_reference);
}

TEST(GemmDispatch, CudaBackendOnCpuTensorsIsRefused) {
  GemmOptions o;
  o.backend = Backend::cublaslt;
  const Verdict v = can_gemm(describe(4, 64, 128, Device::cpu()), o);
  EXPECT_FALSE(v.ok);
  EXPECT_NE(v.reason.find("cublaslt cannot run on CPU tensors"), std::string::npos) << v.reason;
}

TEST(GemmDispatch, UnknownEnvironmentBackendIsNamed) {
  const ScopedEnv env("FP8KIT_GEMM_BACKEND", "tensor_magic");
  const std::string e = error_of([] { choose_gemm_backend(describe(4, 64, 128, Device::cuda(0))); });
  EXPECT_NE(e.find("FP8KIT_GEMM_BACKEND=tensor_magic"), std::string::npos) << e;
}

TEST(GemmDispatch, CpuBackendOnCudaTensorsIsRefused) {
  GemmOptions o;
  o.backend = Backend::cpu;
  const Verdict v = can_gemm(describe(4, 64, 128, Device::cuda(0)), o);
  EXPECT_FALSE(v.ok);
  EXPECT_NE(v.reason.find("cpu cannot run on tensors on cuda:0"), std::string::npos) << v.reason;
}

TEST(GemmDispatch, WithoutAGpuEveryCudaBackendRefusesWithItsReason) {
  if (!capabilities().gpus.empty()) GTEST_SKIP() << "this machine has a GPU: tests/cuda covers dispatch there";
  const GemmArgs args = describe(64, 256, 512, Device::cuda(0));
  const Verdict v = can_gemm(args);
  ASSERT_FALSE(v.ok);
  for (const char* backend : {"cublaslt", "cuda_sm90", "cuda_fp8_mma", "cuda_bf16_mma"}) {
    EXPECT_NE(v.reason.find(std::string("\n  ") + backend + ": "), std::string::npos) << v.reason;
  }
  const std::string e = error_of([&] { gemm(args); });
  EXPECT_NE(e.find("no backend can run M=64 N=256 K=512 on cuda:0"), std::string::npos) << e;
  GemmOptions own;
  own.backend = Backend::cuda;  // fp8kit's own kernels only: cuBLASLt is not asked
  const Verdict mine = can_gemm(args, own);
  EXPECT_EQ(mine.reason.find("\n  cublaslt: "), std::string::npos) << mine.reason;
}

}  // namespace
}  // namespace fp8kit
