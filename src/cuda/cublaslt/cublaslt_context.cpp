// cublaslt_context.cpp: per-device cuBLASLt handles and algorithm caches (see the header).
#include "cuda/cublaslt/cublaslt_context.h"

#include <memory>

#include "cuda/common/device_guard.h"
#include "cuda/cublaslt/cublaslt_check.h"

namespace fp8kit::cuda::cublaslt {

LtContext& LtContext::for_device(int ordinal) {
  static std::mutex mutex;
  static auto* contexts = new std::map<int, std::unique_ptr<LtContext>>;  // never destroyed: outlives static teardown
  std::lock_guard<std::mutex> lock(mutex);
  auto& slot = (*contexts)[ordinal];
  if (!slot) {
    DeviceGuard guard(ordinal);
    cublasLtHandle_t handle = nullptr;
    FP8KIT_CUBLAS_CHECK(cublasLtCreate(&handle));
    slot.reset(new LtContext(handle));
  }
  return *slot;
}

ChosenAlgo LtContext::algorithm(const AlgoKey& key, const std::function<ChosenAlgo()>& query) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = algos_.find(key);
  if (it != algos_.end()) return it->second;
  ChosenAlgo chosen = query();
  if (!chosen.transient) algos_.emplace(key, chosen);
  return chosen;
}

size_t library_version() {
  static const size_t version = cublasLtGetVersion();
  return version;
}

}  // namespace fp8kit::cuda::cublaslt
