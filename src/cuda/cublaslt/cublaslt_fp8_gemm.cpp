// cublaslt_fp8_gemm.cpp: fp8kit's GEMM through cublasLtMatmul (see the header).
//
// cuBLAS is column-major and its FP8 GEMM takes only the "TN" form (A transposed, B not), so:
//   cuBLAS A = our B (weight [N, K] row-major = K x N column-major, ld ldb), op T -> N x K
//   cuBLAS B = our A (activation [M, K] row-major = K x M column-major, ld lda), op N -> K x M
//   cuBLAS D = N x M column-major with ld ldd = our D [M, N] row-major
// i.e. cuBLAS (m, n, k) = (N, M, K); cuBLAS A's scales are the weight's, B's the activation's.
//
// Layout rules (cuBLAS docs, "Scaling factors layouts" and cublasLtMatmul FP8 requirements):
//   VEC128 (activation): M-major [M x L] (L = ceil(K/128)), column stride M;
//   BLK128x128 (weight): K-major, column stride L4 = L rounded up to 4, [L4 x ceil(N/128)];
//   scale pointers 16-byte aligned; M and N multiples of 4 (block scaling);
//   matrices: 16-byte aligned pointers and leading dimensions, K a multiple of 16;
//   output bf16/f16/f32, no FP8 output; bias of the output type, or bf16 for f32 output.
#include "cuda/cublaslt/cublaslt_fp8_gemm.h"

#include <cublasLt.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "cuda/common/cuda_check.h"
#include "cuda/common/device_guard.h"
#include "cuda/common/stream_workspace.h"
#include "cuda/cublaslt/cublaslt_check.h"
#include "cuda/cublaslt/cublaslt_context.h"
#include "cuda/cublaslt/cublaslt_operand_prep.h"
#include "cuda/cuda_backend.h"

namespace fp8kit::cuda::cublaslt {
namespace {

using detail::concat;

constexpr size_t kMaxLtWorkspace = size_t{32} << 20;  // NVIDIA's recommendation for Hopper
constexpr size_t kBlockScalingVersion = 120900;       // cuBLASLt 12.9 introduced VEC128 / BLK128x128 / OUTER_VEC
constexpr uint32_t kWorkspaceAlignment = 256;

enum class ScaleMode : int64_t { tensor, outer_vector, block };
enum class BiasMode : int64_t { none, epilogue, add_after };

/// How one problem maps onto cublasLtMatmul.
struct Plan {
  ScaleMode mode = ScaleMode::block;
  int64_t m = 0, n = 0, k = 0;
  int64_t m_run = 0;        // columns of cuBLAS B / D: M rounded up to 4 under block scaling
  bool pad_rows = false;    // m_run != m: A and D go through the workspace
  bool repack_act_scales = false, repack_weight_scales = false;
  int64_t l = 0, l4 = 0, n_blocks = 0;
  cudaDataType_t weight_type = CUDA_R_8F_E4M3, act_type = CUDA_R_8F_E4M3, out_type = CUDA_R_16BF;
  BiasMode bias = BiasMode::none;
  cudaDataType_t bias_type = CUDA_R_16BF;
  size_t out_size = 2;
};

/// The pointers and leading dimensions cublasLtMatmul receives.
struct Operands {
  const void* weight = nullptr;
  int64_t ld_weight = 0;
  const void* act = nullptr;
  int64_t ld_act = 0;
  void* out = nullptr;
  int64_t ld_out = 0;
  const void* weight_scales = nullptr;
  const void* act_scales = nullptr;
  const void* bias = nullptr;
};

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

/// The largest power of two (up to 256) dividing the address, as the heuristic's alignment preference.
uint32_t alignment_of(const void* p) {
  const auto v = reinterpret_cast<uintptr_t>(p);
  uint32_t a = 1;
  while (a < kWorkspaceAlignment && v % (2 * a) == 0) a *= 2;
  return a;
}

cudaDataType_t fp8_type(DType t) { return t == DType::e5m2 ? CUDA_R_8F_E5M2 : CUDA_R_8F_E4M3; }

cudaDataType_t high_type(DType t) {
  switch (t) {
    case DType::f32: return CUDA_R_32F;
    case DType::f16: return CUDA_R_16F;
    default: return CUDA_R_16BF;
  }
}

/// A stand-in pointer for a workspace piece before the workspace exists: only its alignment matters to
/// the heuristic, which never dereferences pointers.
const void* workspace_placeholder() { return reinterpret_cast<const void*>(uintptr_t{kWorkspaceAlignment}); }

/// Static checks and the mapping; no CUDA calls.
Verdict make_plan(const core::GemmProblem& p, Plan& plan) {
  const int cc = compute_capability(p.device.index);
  const std::string dev = to_string(p.device);
  plan.m = p.m();
  plan.n = p.n();
  plan.k = p.k();
  const bool per_tensor = p.scaling == GemmScaling::row && p.a_scales.row_stride == 0 && p.b_scales.row_stride == 0;
  plan.mode = p.scaling == GemmScaling::block ? ScaleMode::block : per_tensor ? ScaleMode::tensor : ScaleMode::outer_vector;

  if (plan.mode == ScaleMode::tensor) {
    if (cc < 89) return Verdict::no(concat("FP8 GEMMs need compute capability 8.9 or newer; ", dev, " is ", cc / 10, ".", cc % 10));
  } else {
    const char* what = plan.mode == ScaleMode::block ? "block scaling (VEC128 x BLK128x128)" : "row scaling (OUTER_VEC)";
    if (cc != 90) {
      return Verdict::no(concat(what, " runs on compute capability 9.0 only; ", dev, " is ", cc / 10, ".", cc % 10));
    }
    if (library_version() < kBlockScalingVersion) {
      return Verdict::no(concat(what, " needs cuBLASLt 12.9 or newer; this one is ", library_version()));
    }
  }
  if (plan.mode == ScaleMode::block && (p.block_n != 128 || p.block_k != 128)) {
    return Verdict::no(concat("block scaling is 128 x 128 (weight) and 1 x 128 (activation); got block_n=",
                              p.block_n, " block_k=", p.block_k));
  }
  if (p.a.dtype == DType::e5m2 && p.b.dtype == DType::e5m2) {
    return Verdict::no("cuBLASLt has no e5m2 x e5m2 FP8 GEMM (one operand must be e4m3fn)");
  }
  plan.weight_type = fp8_type(p.b.dtype);
  plan.act_type = fp8_type(p.a.dtype);
  plan.out_type = high_type(p.d.dtype);
  plan.out_size = static_cast<size_t>(dtype_size(p.d.dtype));

  if (plan.k < 16 || plan.k % 16 != 0) {
    return Verdict::no(concat("FP8 GEMMs need K to be a positive multiple of 16; got K=", plan.k));
  }
  if (static_cast<size_t>(plan.n) * plan.out_size % 16 != 0) {
    return Verdict::no(concat("rows of D must be a multiple of 16 bytes; got N=", plan.n, " x ", plan.out_size,
                              " bytes"));
  }
  plan.m_run = plan.mode == ScaleMode::block ? round_up(plan.m, 4) : plan.m;
  plan.pad_rows = plan.m_run != plan.m;
  if (!aligned16(p.b.data) || p.b.ld % 16 != 0) {
    return Verdict::no(concat("B (weight) rows must start on 16-byte boundaries; got address ", p.b.data,
                              " and row stride ", p.b.ld, " bytes"));
  }
  if (!plan.pad_rows) {
    if (!aligned16(p.a.data) || p.a.ld % 16 != 0) {
      return Verdict::no(concat("A (activation) rows must start on 16-byte boundaries; got address ", p.a.data,
                                " and row stride ", p.a.ld, " bytes"));
    }
    if (!aligned16(p.d.data) || static_cast<size_t>(p.d.ld) * plan.out_size % 16 != 0) {
      return Verdict::no(concat("D rows must start on 16-byte boundaries; got address ", p.d.data,
                                " and row stride ", p.d.ld, " elements"));
    }
  }

  if (plan.mode == ScaleMode::block) {
    plan.l = ceil_div(plan.k, 128);
    plan.l4 = round_up(plan.l, 4);
    plan.n_blocks = ceil_div(plan.n, 128);
    const auto& as = p.a_scales;
    const auto& bs = p.b_scales;
    const bool act_m_major = (as.row_stride == 1 || plan.m == 1) && (as.col_stride == plan.m || plan.l == 1);
    plan.repack_act_scales = plan.pad_rows || !act_m_major || !aligned16(as.data);
    const bool weight_k_major = (bs.col_stride == 1 || plan.l == 1) && (bs.row_stride == plan.l4 || plan.n_blocks == 1);
    plan.repack_weight_scales = plan.l != plan.l4 || !weight_k_major || !aligned16(bs.data);
  } else if (plan.mode == ScaleMode::outer_vector) {
    plan.repack_act_scales = p.a_scales.row_stride != 1 || !aligned16(p.a_scales.data);
    plan.repack_weight_scales = p.b_scales.row_stride != 1 || !aligned16(p.b_scales.data);
  }

  if (p.bias != nullptr) {
    const bool aligned_bias = aligned16(p.bias);
    if (p.d.dtype == DType::f32) {
      if (p.bias_dtype == DType::bf16 && aligned_bias) {
        plan.bias = BiasMode::epilogue;
        plan.bias_type = CUDA_R_16BF;
      } else {
        plan.bias = BiasMode::add_after;
      }
    } else if (p.bias_dtype == p.d.dtype && aligned_bias) {
      plan.bias = BiasMode::epilogue;
      plan.bias_type = plan.out_type;
    } else if (p.bias_dtype != p.d.dtype) {
      return Verdict::no(concat("with ", dtype_name(p.d.dtype), " output cuBLASLt adds a ", dtype_name(p.d.dtype),
                                " bias only; a ", dtype_name(p.bias_dtype), " bias would have to be rounded first"));
    } else {
      return Verdict::no(concat("the bias must start on a 16-byte boundary; got address ", p.bias));
    }
  }
  return Verdict::yes();
}

/// The operands as run() will pass them, with placeholders for workspace pieces.
Operands planned_operands(const core::GemmProblem& p, const Plan& plan) {
  Operands o;
  o.weight = p.b.data;
  o.ld_weight = p.b.ld;
  o.act = plan.pad_rows ? workspace_placeholder() : p.a.data;
  o.ld_act = plan.pad_rows ? plan.k : p.a.ld;
  o.out = plan.pad_rows ? const_cast<void*>(workspace_placeholder()) : p.d.data;
  o.ld_out = plan.pad_rows ? plan.n : p.d.ld;
  o.weight_scales = plan.repack_weight_scales ? workspace_placeholder() : p.b_scales.data;
  o.act_scales = plan.repack_act_scales ? workspace_placeholder() : p.a_scales.data;
  o.bias = plan.bias == BiasMode::epilogue ? p.bias : nullptr;
  return o;
}

AlgoKey key_of(const Plan& plan, const Operands& o) {
  return {static_cast<int64_t>(plan.mode), plan.m_run, plan.n, plan.k, o.ld_weight, o.ld_act, o.ld_out,
          static_cast<int64_t>(plan.weight_type), static_cast<int64_t>(plan.act_type), static_cast<int64_t>(plan.out_type),
          static_cast<int64_t>(plan.bias), static_cast<int64_t>(plan.bias_type), alignment_of(o.weight), alignment_of(o.act),
          alignment_of(o.out), o.bias != nullptr ? alignment_of(o.bias) : 0, alignment_of(o.weight_scales),
          alignment_of(o.act_scales), 0, 0};
}

/// Owns the descriptors of one cublasLtMatmul call.
class Descriptors {
 public:
  Descriptors(const Plan& plan, const Operands& o) {
    FP8KIT_CUBLAS_CHECK(cublasLtMatmulDescCreate(&op_, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    const int32_t trans_a = CUBLAS_OP_T, trans_b = CUBLAS_OP_N;
    set(CUBLASLT_MATMUL_DESC_TRANSA, trans_a);
    set(CUBLASLT_MATMUL_DESC_TRANSB, trans_b);
    if (plan.mode != ScaleMode::tensor) {
      const int32_t weight_mode = plan.mode == ScaleMode::block ? CUBLASLT_MATMUL_MATRIX_SCALE_BLK128x128_32F
                                                                : CUBLASLT_MATMUL_MATRIX_SCALE_OUTER_VEC_32F;
      const int32_t act_mode = plan.mode == ScaleMode::block ? CUBLASLT_MATMUL_MATRIX_SCALE_VEC128_32F
                                                             : CUBLASLT_MATMUL_MATRIX_SCALE_OUTER_VEC_32F;
      set(CUBLASLT_MATMUL_DESC_A_SCALE_MODE, weight_mode);
      set(CUBLASLT_MATMUL_DESC_B_SCALE_MODE, act_mode);
    }
    set(CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, o.weight_scales);
    set(CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, o.act_scales);
    if (plan.bias == BiasMode::epilogue) {
      const uint32_t epilogue = CUBLASLT_EPILOGUE_BIAS;
      const int32_t bias_type = plan.bias_type;
      set(CUBLASLT_MATMUL_DESC_EPILOGUE, epilogue);
      set(CUBLASLT_MATMUL_DESC_BIAS_POINTER, o.bias);
      set(CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, bias_type);
    }
    FP8KIT_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&weight_, plan.weight_type, static_cast<uint64_t>(plan.k),
                                                   static_cast<uint64_t>(plan.n), o.ld_weight));
    FP8KIT_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&act_, plan.act_type, static_cast<uint64_t>(plan.k),
                                                   static_cast<uint64_t>(plan.m_run), o.ld_act));
    FP8KIT_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&out_, plan.out_type, static_cast<uint64_t>(plan.n),
                                                   static_cast<uint64_t>(plan.m_run), o.ld_out));
  }
  ~Descriptors() {
    if (out_ != nullptr) cublasLtMatrixLayoutDestroy(out_);
    if (act_ != nullptr) cublasLtMatrixLayoutDestroy(act_);
    if (weight_ != nullptr) cublasLtMatrixLayoutDestroy(weight_);
    if (op_ != nullptr) cublasLtMatmulDescDestroy(op_);
  }
  Descriptors(const Descriptors&) = delete;
  Descriptors& operator=(const Descriptors&) = delete;

  cublasLtMatmulDesc_t op() const { return op_; }
  cublasLtMatrixLayout_t weight() const { return weight_; }
  cublasLtMatrixLayout_t act() const { return act_; }
  cublasLtMatrixLayout_t out() const { return out_; }

 private:
  template <typename T>
  void set(cublasLtMatmulDescAttributes_t attribute, const T& value) {
    FP8KIT_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(op_, attribute, &value, sizeof(value)));
  }

  cublasLtMatmulDesc_t op_ = nullptr;
  cublasLtMatrixLayout_t weight_ = nullptr, act_ = nullptr, out_ = nullptr;
};

ChosenAlgo query_heuristic(cublasLtHandle_t handle, const Plan& plan, const Operands& o) {
  ChosenAlgo chosen;
  const Descriptors desc(plan, o);
  cublasLtMatmulPreference_t pref = nullptr;
  FP8KIT_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
  const uint64_t max_workspace = kMaxLtWorkspace;
  const uint32_t align_weight = alignment_of(o.weight), align_act = alignment_of(o.act), align_out = alignment_of(o.out);
  cublasStatus_t status = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                               &max_workspace, sizeof(max_workspace));
  if (status == CUBLAS_STATUS_SUCCESS) {
    status = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &align_weight,
                                                  sizeof(align_weight));
  }
  if (status == CUBLAS_STATUS_SUCCESS) {
    status = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &align_act,
                                                  sizeof(align_act));
  }
  if (status == CUBLAS_STATUS_SUCCESS) {
    status = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &align_out,
                                                  sizeof(align_out));
  }
  if (status == CUBLAS_STATUS_SUCCESS) {
    status = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &align_out,
                                                  sizeof(align_out));
  }
  cublasLtMatmulHeuristicResult_t result{};
  int count = 0;
  if (status == CUBLAS_STATUS_SUCCESS) {
    status = cublasLtMatmulAlgoGetHeuristic(handle, desc.op(), desc.weight(), desc.act(), desc.out(), desc.out(), pref, 1,
                                            &result, &count);
  }
  cublasLtMatmulPreferenceDestroy(pref);
  if (status != CUBLAS_STATUS_SUCCESS) {
    chosen.why_not = concat("heuristic returned ", cublasLtGetStatusName(status));
    // An answer ("not supported") is kept; a failure to answer (out of memory...) is asked again.
    chosen.transient = status != CUBLAS_STATUS_NOT_SUPPORTED && status != CUBLAS_STATUS_INVALID_VALUE;
  } else if (count == 0 || result.state != CUBLAS_STATUS_SUCCESS) {
    chosen.why_not = concat("heuristic found no algorithm",
                            count == 0 ? std::string() : concat(" (", cublasLtGetStatusName(result.state), ")"));
  } else {
    chosen.found = true;
    chosen.algo = result.algo;
    chosen.workspace_bytes = result.workspaceSize;
  }
  return chosen;
}

const char* mode_name(ScaleMode m) {
  switch (m) {
    case ScaleMode::tensor: return "per-tensor";
    case ScaleMode::outer_vector: return "row (OUTER_VEC)";
    default: return "block (VEC128 x BLK128x128)";
  }
}

ChosenAlgo choose_algorithm(const core::GemmProblem& p, const Plan& plan, const Operands& o) {
  DeviceGuard guard(p.device.index);
  LtContext& ctx = LtContext::for_device(p.device.index);
  return ctx.algorithm(key_of(plan, o), [&] { return query_heuristic(ctx.handle(), plan, o); });
}

}  // namespace

Verdict supports_fp8_gemm(const core::GemmProblem& p) {
  Plan plan;
  const Verdict v = make_plan(p, plan);
  if (!v.ok) return v;
  const ChosenAlgo algo = choose_algorithm(p, plan, planned_operands(p, plan));
  if (!algo.found) {
    return Verdict::no(concat("no ", mode_name(plan.mode), " algorithm for M=", plan.m, " N=", plan.n, " K=",
                              plan.k, " (", dtype_name(p.a.dtype), " x ", dtype_name(p.b.dtype), " -> ",
                              dtype_name(p.d.dtype), "): ", algo.why_not));
  }
  return Verdict::yes();
}

void run_fp8_gemm(const core::GemmProblem& p) {
  Plan plan;
  const Verdict v = make_plan(p, plan);
  FP8KIT_CHECK(v.ok, "cublaslt: ", v.reason);
  const Operands planned = planned_operands(p, plan);
  const ChosenAlgo algo = choose_algorithm(p, plan, planned);
  FP8KIT_CHECK(algo.found, "cublaslt: no algorithm for M=", plan.m, " N=", plan.n, " K=", plan.k, ": ", algo.why_not);

  DeviceGuard guard(p.device.index);
  const auto stream = static_cast<cudaStream_t>(p.stream);
  const size_t a_pad_bytes = plan.pad_rows ? static_cast<size_t>(plan.m_run * plan.k) : 0;
  const size_t d_pad_bytes = plan.pad_rows ? static_cast<size_t>(plan.m_run * plan.n) * plan.out_size : 0;
  size_t act_scale_floats = 0, weight_scale_floats = 0;
  if (plan.mode == ScaleMode::block) {
    act_scale_floats = plan.repack_act_scales ? static_cast<size_t>(plan.m_run * plan.l) : 0;
    weight_scale_floats = plan.repack_weight_scales ? static_cast<size_t>(plan.n_blocks * plan.l4) : 0;
  } else if (plan.mode == ScaleMode::outer_vector) {
    act_scale_floats = plan.repack_act_scales ? static_cast<size_t>(round_up(plan.m, 4)) : 0;
    weight_scale_floats = plan.repack_weight_scales ? static_cast<size_t>(round_up(plan.n, 4)) : 0;
  }
  auto carve = [&](WorkspaceCarver& c, void** lt, void** a_pad, void** d_pad, void** act_s, void** weight_s) {
    *lt = c.take(algo.workspace_bytes);
    *a_pad = c.take(a_pad_bytes);
    *d_pad = c.take(d_pad_bytes);
    *act_s = c.take(act_scale_floats * sizeof(float));
    *weight_s = c.take(weight_scale_floats * sizeof(float));
  };
  void *lt_ws = nullptr, *a_pad = nullptr, *d_pad = nullptr, *act_s = nullptr, *weight_s = nullptr;
  WorkspaceCarver sizing;
  carve(sizing, &lt_ws, &a_pad, &d_pad, &act_s, &weight_s);
  const WorkspaceLease lease = acquire_workspace(p.device.index, stream, sizing.used());
  WorkspaceCarver pieces(lease.data());
  carve(pieces, &lt_ws, &a_pad, &d_pad, &act_s, &weight_s);

  Operands o = planned;
  if (plan.pad_rows) {
    FP8KIT_CUDA_CHECK(cudaMemcpy2DAsync(a_pad, static_cast<size_t>(plan.k), p.a.data, static_cast<size_t>(p.a.ld),
                                        static_cast<size_t>(plan.k), static_cast<size_t>(plan.m), cudaMemcpyDeviceToDevice,
                                        stream));
    FP8KIT_CUDA_CHECK(cudaMemsetAsync(static_cast<uint8_t*>(a_pad) + plan.m * plan.k, 0,
                                      static_cast<size_t>((plan.m_run - plan.m) * plan.k), stream));
    o.act = a_pad;
    o.out = d_pad;
  }
  const auto* as = static_cast<const float*>(p.a_scales.data);
  const auto* bs = static_cast<const float*>(p.b_scales.data);
  if (plan.mode == ScaleMode::block) {
    if (plan.repack_act_scales) {
      repack_activation_scales(as, p.a_scales.row_stride, p.a_scales.col_stride, plan.m, plan.m_run, plan.l,
                               static_cast<float*>(act_s), stream);
      o.act_scales = act_s;
    }
    if (plan.repack_weight_scales) {
      repack_weight_scales(bs, p.b_scales.row_stride, p.b_scales.col_stride, plan.n_blocks, plan.l, plan.l4,
                           static_cast<float*>(weight_s), stream);
      o.weight_scales = weight_s;
    }
  } else if (plan.mode == ScaleMode::outer_vector) {
    if (plan.repack_act_scales) {
      expand_vector(as, p.a_scales.row_stride, plan.m, round_up(plan.m, 4), static_cast<float*>(act_s), stream);
      o.act_scales = act_s;
    }
    if (plan.repack_weight_scales) {
      expand_vector(bs, p.b_scales.row_stride, plan.n, round_up(plan.n, 4), static_cast<float*>(weight_s), stream);
      o.weight_scales = weight_s;
    }
  }

  const Descriptors desc(plan, o);
  const float alpha = 1.0f, beta = 0.0f;
  const LtContext& ctx = LtContext::for_device(p.device.index);
  FP8KIT_CUBLAS_CHECK(cublasLtMatmul(ctx.handle(), desc.op(), &alpha, o.weight, desc.weight(), o.act, desc.act(), &beta,
                                     o.out, desc.out(), o.out, desc.out(), &algo.algo, lt_ws, algo.workspace_bytes,
                                     stream));
  if (plan.pad_rows) {
    const size_t row_bytes = static_cast<size_t>(plan.n) * plan.out_size;
    FP8KIT_CUDA_CHECK(cudaMemcpy2DAsync(p.d.data, static_cast<size_t>(p.d.ld) * plan.out_size, d_pad, row_bytes,
                                        row_bytes, static_cast<size_t>(plan.m), cudaMemcpyDeviceToDevice, stream));
  }
  if (plan.bias == BiasMode::add_after) {
    add_bias_f32(static_cast<float*>(p.d.data), p.d.ld, plan.m, plan.n, p.bias, p.bias_dtype, stream);
  }
}

}  // namespace fp8kit::cuda::cublaslt
