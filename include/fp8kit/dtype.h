// fp8kit/dtype.h: element types the library reads and writes.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace fp8kit {

/// Element types. `ue8m0` is an unsigned power-of-two scale byte: value 2^(b-127), 255 = NaN.
enum class DType : uint8_t { f32, f16, bf16, e4m3fn, e5m2, ue8m0 };

/// Bytes per element.
constexpr int dtype_size(DType t) {
  switch (t) {
    case DType::f32: return 4;
    case DType::f16:
    case DType::bf16: return 2;
    case DType::e4m3fn:
    case DType::e5m2:
    case DType::ue8m0: return 1;
  }
  return 0;
}

/// Short lower-case name: "f32", "bf16", "e4m3fn"...
std::string_view dtype_name(DType t);

/// Inverse of dtype_name; also accepts the common aliases ("float32", "bfloat16", "fp8", "e4m3").
std::optional<DType> parse_dtype(std::string_view name);

/// True for the two FP8 data formats (not for the ue8m0 scale type).
constexpr bool is_fp8(DType t) { return t == DType::e4m3fn || t == DType::e5m2; }

/// True for the high-precision types quantize reads and dequantize writes.
constexpr bool is_high_precision(DType t) { return t == DType::f32 || t == DType::f16 || t == DType::bf16; }

}  // namespace fp8kit
