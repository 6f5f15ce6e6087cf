// cublaslt_context.h: one cuBLASLt context per device: the handle (created on first use, thread-safe)
// and the cache of algorithms chosen by cublasLtMatmulAlgoGetHeuristic, one per problem key. The
// workspace is per stream (cuda/common/stream_workspace.h), so concurrent streams never share one.
#pragma once

#include <cublasLt.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>

namespace fp8kit::cuda::cublaslt {

/// What determines the algorithm: shapes, leading dimensions, dtypes, scale modes, epilogue and the
/// alignment of every pointer (the heuristic filters algorithms by alignment).
using AlgoKey = std::array<int64_t, 20>;

struct ChosenAlgo {
  bool found = false;
  cublasLtMatmulAlgo_t algo{};
  size_t workspace_bytes = 0;
  std::string why_not;     // when !found: the heuristic's answer
  bool transient = false;  // the heuristic failed (out of memory...) rather than answered: not cached
};

class LtContext {
 public:
  /// The context of device `ordinal`, created on first use.
  static LtContext& for_device(int ordinal);

  cublasLtHandle_t handle() const { return handle_; }

  /// The cached algorithm for `key`; `query` runs the heuristic once per key (under the cache lock).
  /// A transient failure of the heuristic is returned but not cached, so the next call asks again.
  ChosenAlgo algorithm(const AlgoKey& key, const std::function<ChosenAlgo()>& query);

 private:
  explicit LtContext(cublasLtHandle_t handle) : handle_(handle) {}

  cublasLtHandle_t handle_;
  std::mutex mutex_;
  std::map<AlgoKey, ChosenAlgo> algos_;
};

/// cuBLASLt's version as major * 10000 + minor * 100 + patch (cublasLtGetVersion).
size_t library_version();

}  // namespace fp8kit::cuda::cublaslt
