// fp8kit/format.h: the one table of numeric facts about the FP8 formats.
//
// Every backend, test, benchmark and the CLI read these values from here; nothing else in the
// project spells 448 or 57344.
#pragma once

#include <cstdint>

#include "fp8kit/dtype.h"

namespace fp8kit {

enum class Fp8Format : uint8_t { e4m3fn, e5m2 };

struct FormatTraits {
  const char* name;
  int exponent_bits;
  int mantissa_bits;
  int exponent_bias;
  float max_finite;       // largest finite magnitude: 448 (e4m3fn), 57344 (e5m2)
  float min_normal;       // 2^-6 (e4m3fn), 2^-14 (e5m2)
  float min_subnormal;    // 2^-9 (e4m3fn), 2^-16 (e5m2)
  bool has_infinity;      // e4m3fn has none; e5m2 encodes +-inf as S.11111.00
  uint8_t max_finite_code;  // code of +max_finite: 0x7E (e4m3fn), 0x7B (e5m2)
  uint8_t nan_code;         // the one NaN code every backend writes: 0x7F for both formats
};

inline constexpr FormatTraits kFormatTraits[] = {
    // name     exp man bias max       min_normal    min_subnormal  inf    max   nan
    {"e4m3fn", 4, 3, 7, 448.0f, 0.015625f, 0.001953125f, false, 0x7E, 0x7F},
    {"e5m2", 5, 2, 15, 57344.0f, 6.103515625e-05f, 1.52587890625e-05f, true, 0x7B, 0x7F},
};

constexpr const FormatTraits& traits(Fp8Format f) { return kFormatTraits[static_cast<int>(f)]; }

constexpr DType dtype_of(Fp8Format f) { return f == Fp8Format::e4m3fn ? DType::e4m3fn : DType::e5m2; }

/// The FP8 format of an FP8 dtype; precondition: is_fp8(t).
constexpr Fp8Format format_of(DType t) { return t == DType::e5m2 ? Fp8Format::e5m2 : Fp8Format::e4m3fn; }

}  // namespace fp8kit
