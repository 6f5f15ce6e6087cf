// fp8kit/gemm.h: FP8 GEMMs with block scales (DeepSeek-V3 recipe) and with row scales.
//
//   D[M, N] = (A * As) (B * Bs)^T (+ bias)
//
// A [M, K] e4m3fn row-major (K contiguous; leading batch dims of A and D are flattened into M),
// B [N, K] e4m3fn row-major (the nn.Linear weight layout).
// block scaling: As f32 [M, ceil(K/block_k)] (row-major, or column-major / M-major with a padded
//                leading dimension), Bs f32 [ceil(N/block_n), ceil(K/block_k)];
// row scaling:   As f32 [M] (or [M, 1]), Bs f32 [N] (or [N, 1]); a stride of 0 broadcasts one value
//                (per-tensor scales).
// D: bf16, f16 or f32 [M, N]; bias: optional [N] in f32, bf16 or f16, added once, in fp32.
// Accumulation is fp32; block scaling applies As[m, kb] * Bs[nb, kb] to each block_k-wide partial
// product. Results are deterministic: the same inputs give the same bits on a given backend.
#pragma once

#include <cstdint>

#include "fp8kit/backend.h"
#include "fp8kit/error.h"
#include "fp8kit/tensor.h"

namespace fp8kit {

enum class GemmScaling : uint8_t { block, row };

struct GemmArgs {
  TensorView a;
  TensorView b;
  TensorView a_scales;
  TensorView b_scales;
  TensorView bias;  // optional: leave data == nullptr and rank == 0 for none
  TensorView d;
  GemmScaling scaling = GemmScaling::block;
  int64_t block_n = 128;  // block scaling: rows of B per scale
  int64_t block_k = 128;  // block scaling: K elements per scale (A and B)
};

struct GemmOptions {
  Backend backend = Backend::automatic;
  void* stream = nullptr;  // cudaStream_t for CUDA tensors
  bool pointers_known = false;  // as QuantizeOptions::pointers_known (fp8kit/quantize.h)
  /// The caller's promise that no kernel still running when this GEMM is launched writes B or Bs, as for a
  /// model's weights. It lets the Hopper kernel start loading B while the kernel ahead in the stream
  /// finishes (programmatic dependent launch): a decode step's GEMM then hides part of its weight stream
  /// behind the kernel ahead (H200, chained: 0.5-1.5 us per GEMM at M = 64; BENCHMARKS.md, Hopper v11).
  /// A and As are still read only after that kernel completes. Other backends ignore it. Never set it
  /// for a B that the kernel just ahead produces, or one that a kernel which lets its dependents start
  /// before it waits for its own predecessors may still be writing.
  bool constant_b = false;
};

void gemm(const GemmArgs& args, const GemmOptions& options = {});

/// Why `backend` (or any backend, for automatic) would refuse these arguments.
Verdict can_gemm(const GemmArgs& args, const GemmOptions& options = {});

/// The backend automatic dispatch would pick for these arguments (throws if none can).
Backend choose_gemm_backend(const GemmArgs& args);

}  // namespace fp8kit
