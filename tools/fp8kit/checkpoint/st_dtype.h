// st_dtype.h: the element types of the safetensors format (safetensors/src/tensor.rs, `Dtype`).
//
// The enum order is the format's own order, which is also its alignment order: writers sort tensors
// by descending dtype (this order), then by name, so every tensor offset is naturally aligned.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "fp8kit/dtype.h"

namespace fp8kit::checkpoint {

enum class StDType : uint8_t {
  BOOL, F4, F6_E2M3, F6_E3M2, U8, I8, F8_E5M2, F8_E4M3, F8_E8M0, F8_E4M3FNUZ, F8_E5M2FNUZ,
  I16, U16, F16, BF16, I32, U32, F32, C64, F64, I64, U64,
};

/// The dtype string of the header ("BF16", "F8_E4M3", ...).
std::string_view st_dtype_name(StDType t);

/// Inverse of st_dtype_name; nullopt for an unknown string (case-sensitive, as the format is).
std::optional<StDType> parse_st_dtype(std::string_view name);

/// Bits per element: 1-byte types 8, F4 4, F6_* 6, BOOL 8, C64 64...
int st_dtype_bits(StDType t);

/// The fp8kit element type of F32/F16/BF16/F8_E4M3/F8_E5M2/F8_E8M0; nullopt for the others.
std::optional<DType> to_library_dtype(StDType t);

/// The safetensors dtype of an fp8kit element type.
StDType from_library_dtype(DType t);

}  // namespace fp8kit::checkpoint
