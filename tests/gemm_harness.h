// gemm_harness.h: the GEMM correctness harness shared by the CPU and GPU GEMM tests (and by the Hopper
// kernel's tests): random operands quantized by the library, a float64 reference of the dequantized
// operands, error measures and the contract's tolerances.
//
// Operands: A rows and B rows are drawn from normal(0, 1) with hostile rows mixed in (an all-zero row,
// a row of tiny values, a row of large values, an optional 100x outlier row), then quantized on the
// CPU by fp8kit::quantize (A: 1 x 128 groups or per row; B: 128 x 128 blocks or per row), so the
// scales follow the numerics contract. The reference is sum_k (decode(a) As)(decode(b) Bs) (+ bias)
// in float64 (row scaling: As[m] Bs[n] sum_k decode(a) decode(b)).
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "fp8kit/fp8kit.h"

namespace fp8kit::testing::gemm {

/// How the activation scales As [M, ceil(K/128)] are stored.
enum class ScaleLayout : uint8_t {
  row_major,  // act_quant's layout: As[m, kb] at m * L + kb
  m_major,    // column-major with the M extent padded to a multiple of 4 (the TMA / cuBLASLt layout)
};

struct GemmCase {
  int64_t m = 1, n = 1, k = 1;
  GemmScaling scaling = GemmScaling::block;
  DType out = DType::bf16;
  bool bias = false;
  DType bias_dtype = DType::bf16;
  ScaleLayout act_scales = ScaleLayout::row_major;
  bool per_tensor = false;     // row scaling with one scale per operand (stride-0 scale views)
  int64_t a_row_pad = 0;       // bytes appended to every A row (A's row stride = K + a_row_pad)
  int64_t outlier_row = -1;    // this row of A is multiplied by 100 before quantization
  bool hostile_rows = true;    // zero / tiny / large rows in A at M/2 + 1..3 (when M >= 8); they dominate
                               // the Frobenius norm, so tests also bound the worst row's error
  uint32_t seed = 1;

  /// "M=65 N=200 K=576 block bf16 bias(f32) As:m-major seed=7"
  std::string name() const;
};

/// Quantized operands in host memory, laid out as the GemmArgs will describe them.
struct HostOperands {
  GemmCase c;
  int64_t lda = 0;              // bytes per A row
  std::vector<uint8_t> a;       // e4m3fn [M, lda]
  std::vector<uint8_t> b;       // e4m3fn [N, K]
  std::vector<float> as;        // block: grid per c.act_scales; row: [M] (or one value)
  std::vector<float> bs;        // block: [ceil(N/128), ceil(K/128)] row-major; row: [N] (or one value)
  std::vector<uint8_t> bias;    // [N] in c.bias_dtype, empty without bias
  int64_t as_ld = 0;            // block: row stride (row_major) or column stride (m_major) of As
};

/// Draws and quantizes the operands of `c` (deterministic in c.seed; uses all CPU threads).
HostOperands make_operands(const GemmCase& c);

/// Where the operands and D live, for building GemmArgs.
struct OperandPointers {
  void* a = nullptr;
  void* b = nullptr;
  void* as = nullptr;
  void* bs = nullptr;
  void* bias = nullptr;
  void* d = nullptr;  // D [M, N] row-major, tight (ld = N)
};

/// The public-API arguments describing `h` at `ptrs` on `device`.
GemmArgs make_args(const HostOperands& h, const OperandPointers& ptrs, Device device);

/// float64 reference [M, N] (row-major) on the CPU, for all rows. O(M N K): small shapes only.
std::vector<double> reference_cpu(const HostOperands& h);

/// D bytes [M, N] (tight) of dtype `out` widened to double.
std::vector<double> widen_output(const std::vector<uint8_t>& d, DType out, int64_t m, int64_t n);

/// want rounded to the output dtype: the best result D can hold (via fp32, as the backends round).
double round_to_output(double want, DType out);

/// Per-row sums over the elements where want and got are finite, and per-row counts:
///   err2[r] = sum (got - round_to_output(want))^2, raw_err2[r] = sum (got - want)^2, ref2[r] = sum want^2.
struct RowSums {
  std::vector<double> err2, raw_err2, ref2;
  std::vector<int64_t> nonfinite, lost_nan;
};

/// Error of `got` against the float64 reference `want`, two ways: against the reference rounded to the
/// output dtype, and against the unrounded one. Neither alone is a fair pass measure for 16-bit outputs:
/// rounding alone puts a perfect bf16 result at a relative Frobenius error of ~1.6e-3 from float64, above
/// 2e-3 for small outputs (seen: 2.04e-3 at 1 x 64), while an fp32 sum that differs from the float64 one in
/// its last bits rounds to the other neighbour wherever the exact value lies near a rounding boundary,
/// which cancelling products make common (seen: 2.4e-3 from the rounded reference, 1.7e-3 from the exact
/// one, at 1 x 64 x 128 with +-448 operands, every backend alike). The pass measure is the smaller of the
/// two, per row and over all rows.
struct ErrorReport {
  double rel_frobenius = 0.0;       // ||got - round(want)|| / ||want|| over all rows
  double rel_frobenius_fp64 = 0.0;  // ||got - want|| / ||want||
  int64_t nonfinite = 0;            // elements of got that are NaN or inf where want is finite
  int64_t lost_nan = 0;             // elements of got that are not NaN where want is NaN
  int64_t worst_row = -1;           // the row with the largest pass measure (rows with ||want|| > 0)
  double worst_row_error = 0.0;
  /// What tolerances bound: the smaller of the two errors over all rows.
  double pass_error() const { return std::min(rel_frobenius, rel_frobenius_fp64); }
  std::string describe() const;
};
/// skip_row is left out of the worst-row search.
ErrorReport report_from_rows(const RowSums& sums, int64_t skip_row = -1);
/// got and want [M, N] row-major; D's dtype `out`.
ErrorReport compare(const std::vector<double>& got, const std::vector<double>& want, DType out, int64_t m, int64_t n,
                    int64_t skip_row = -1);

/// The contract's relative Frobenius tolerance for an output dtype: bf16 2e-3, f16 1e-3, f32 1e-4 for
/// backends that accumulate FP8 products exactly in fp32; f32 5e-4 for FP8 tensor-core (wgmma) backends
/// (docs/numerics.md, "GEMM").
double tolerance(DType out, Backend backend = Backend::cpu);

}  // namespace fp8kit::testing::gemm
