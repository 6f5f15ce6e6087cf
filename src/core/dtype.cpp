// dtype.cpp: names of element types and backends.
#include "fp8kit/backend.h"
#include "fp8kit/dtype.h"
#include "fp8kit/quantize.h"

#include <array>
#include <utility>

namespace fp8kit {

std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "f32";
    case DType::f16: return "f16";
    case DType::bf16: return "bf16";
    case DType::e4m3fn: return "e4m3fn";
    case DType::e5m2: return "e5m2";
    case DType::ue8m0: return "ue8m0";
  }
  return "unknown";
}

std::optional<DType> parse_dtype(std::string_view name) {
  static constexpr std::array<std::pair<std::string_view, DType>, 16> kNames{{
      {"f32", DType::f32},       {"float32", DType::f32},   {"fp32", DType::f32},
      {"f16", DType::f16},       {"float16", DType::f16},   {"fp16", DType::f16},
      {"bf16", DType::bf16},     {"bfloat16", DType::bf16}, {"e4m3fn", DType::e4m3fn},
      {"e4m3", DType::e4m3fn},   {"fp8", DType::e4m3fn},    {"float8_e4m3fn", DType::e4m3fn},
      {"e5m2", DType::e5m2},     {"float8_e5m2", DType::e5m2}, {"ue8m0", DType::ue8m0},
      {"float8_e8m0fnu", DType::ue8m0},
  }};
  for (const auto& [n, t] : kNames) {
    if (n == name) return t;
  }
  return std::nullopt;
}

std::string_view backend_name(Backend b) {
  switch (b) {
    case Backend::automatic: return "auto";
    case Backend::cpu_reference: return "cpu_reference";
    case Backend::cpu: return "cpu";
    case Backend::cuda: return "cuda";
    case Backend::cublaslt: return "cublaslt";
    case Backend::cuda_fp8_mma: return "cuda_fp8_mma";
    case Backend::cuda_bf16_mma: return "cuda_bf16_mma";
    case Backend::cuda_sm90: return "cuda_sm90";
  }
  return "unknown";
}

std::optional<Backend> parse_backend(std::string_view name) {
  for (Backend b : {Backend::automatic, Backend::cpu_reference, Backend::cpu, Backend::cuda, Backend::cublaslt,
                    Backend::cuda_fp8_mma, Backend::cuda_bf16_mma, Backend::cuda_sm90}) {
    if (backend_name(b) == name) return b;
  }
  return std::nullopt;
}

std::string_view granularity_name(Granularity g) {
  switch (g) {
    case Granularity::tensor: return "tensor";
    case Granularity::row: return "row";
    case Granularity::column: return "column";
    case Granularity::group: return "group";
    case Granularity::block: return "block";
  }
  return "unknown";
}

}  // namespace fp8kit
