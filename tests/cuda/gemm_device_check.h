// gemm_device_check.h: GPU side of the GEMM harness: a float64 reference kernel (of selected rows, so
// 4096-row DeepSeek-V3 shapes stay fast), per-row error sums of a GPU output against it, and bitwise
// comparison of two outputs. Everything takes device pointers and runs on the current device.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "gemm_harness.h"

namespace fp8kit::testing::gemm {

/// The operands of a GEMM in device memory, as the reference kernel reads them.
struct DeviceGemmView {
  const uint8_t* a = nullptr;  // e4m3fn [M, lda]
  int64_t lda = 0;
  const uint8_t* b = nullptr;  // e4m3fn [N, K]
  const float* as = nullptr;
  int64_t as_row = 0, as_col = 0;  // As[m, kb] (block) or As[m] (row) at m * as_row + kb * as_col
  const float* bs = nullptr;
  int64_t bs_row = 0, bs_col = 0;  // Bs[nb, kb] (block) or Bs[n] (row) at nb * bs_row + kb * bs_col
  const void* bias = nullptr;
  DType bias_dtype = DType::f32;
  bool block = true;
  int64_t m = 0, n = 0, k = 0;
};

/// The view of `h` with its buffers at `ptrs` (device pointers).
DeviceGemmView device_view(const HostOperands& h, const OperandPointers& ptrs);

/// ref[i, j] (R x N, device) = float64 GEMM of row rows[i] of A with B: the dequantized operands
/// multiplied and summed in float64, plus the bias. `rows` is a device array of R row indices.
void reference_rows_on_device(const DeviceGemmView& v, const int64_t* rows, int64_t r, double* ref);

/// Per-row error sums (see RowSums) of output rows rows[i] of D (device, dtype `out`, row stride ldd)
/// against want[i, :] (device, R x N doubles). rows == nullptr: rows 0..R-1.
RowSums compare_rows_on_device(const void* d, DType out, int64_t ldd, const int64_t* rows, int64_t r, int64_t n,
                               const double* want);

/// want (device, M x N doubles) = D (device, dtype `out`, row stride ldd) widened.
void widen_on_device(const void* d, DType out, int64_t ldd, int64_t m, int64_t n, double* want);

/// Elements of D (device, dtype `out`, row stride ldd, M x N) that are NaN or inf: with the poison
/// written before a run, this also counts outputs that were never written.
int64_t count_nonfinite_on_device(const void* d, DType out, int64_t ldd, int64_t m, int64_t n);

/// Number of bytes that differ between two device buffers.
int64_t count_differences_on_device(const void* x, const void* y, size_t bytes);

}  // namespace fp8kit::testing::gemm
