// st_dtype.cpp: the dtype table of the safetensors format.
#include "checkpoint/st_dtype.h"

#include <array>

namespace fp8kit::checkpoint {
namespace {

struct Entry {
  std::string_view name;
  int bits;
};

// Same order as the enum.
constexpr std::array<Entry, 22> kTable = {{
    {"BOOL", 8}, {"F4", 4}, {"F6_E2M3", 6}, {"F6_E3M2", 6}, {"U8", 8}, {"I8", 8}, {"F8_E5M2", 8}, {"F8_E4M3", 8},
    {"F8_E8M0", 8}, {"F8_E4M3FNUZ", 8}, {"F8_E5M2FNUZ", 8}, {"I16", 16}, {"U16", 16}, {"F16", 16}, {"BF16", 16},
    {"I32", 32}, {"U32", 32}, {"F32", 32}, {"C64", 64}, {"F64", 64}, {"I64", 64}, {"U64", 64},
}};

}  // namespace

std::string_view st_dtype_name(StDType t) { return kTable[static_cast<size_t>(t)].name; }

int st_dtype_bits(StDType t) { return kTable[static_cast<size_t>(t)].bits; }

std::optional<StDType> parse_st_dtype(std::string_view name) {
  for (size_t i = 0; i < kTable.size(); ++i) {
    if (kTable[i].name == name) return static_cast<StDType>(i);
  }
  return std::nullopt;
}

std::optional<DType> to_library_dtype(StDType t) {
  switch (t) {
    case StDType::F32: return DType::f32;
    case StDType::F16: return DType::f16;
    case StDType::BF16: return DType::bf16;
    case StDType::F8_E4M3: return DType::e4m3fn;
    case StDType::F8_E5M2: return DType::e5m2;
    case StDType::F8_E8M0: return DType::ue8m0;
    default: return std::nullopt;
  }
}

StDType from_library_dtype(DType t) {
  switch (t) {
    case DType::f32: return StDType::F32;
    case DType::f16: return StDType::F16;
    case DType::bf16: return StDType::BF16;
    case DType::e4m3fn: return StDType::F8_E4M3;
    case DType::e5m2: return StDType::F8_E5M2;
    case DType::ue8m0: return StDType::F8_E8M0;
  }
  return StDType::F32;
}

}  // namespace fp8kit::checkpoint
