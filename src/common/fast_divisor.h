// fast_divisor.h: n / d for unsigned 32-bit n below 2^31 and a divisor d >= 1 fixed before a launch, as
// a multiply-high, an add and a shift. The kernels' index arithmetic uses it where a division would
// stand before the first load (an integer division is about 20 instructions on the GPU).
//
// With s = ceil(log2 d) and m = floor(2^32 (2^s - d) / d) + 1, n / d = (mulhi(n, m) + n) >> s for every
// n < 2^32 when the sum is taken in 33 bits (Granlund and Montgomery, "Division by invariant integers
// using multiplication", 1994); for n < 2^31 the sum fits in 32 bits.
#pragma once

#include <cstdint>

#include "common/numerics.h"

namespace fp8kit {

struct FastDivisor {
  uint32_t multiplier = 1;  // m (the divisor 1 by default)
  uint32_t shift = 0;       // s

  /// The divisor d (at least 1).
  static FastDivisor of(uint32_t d) {
    FastDivisor f;
    while ((uint64_t{1} << f.shift) < d) ++f.shift;
    f.multiplier = static_cast<uint32_t>(((uint64_t{1} << 32) * ((uint64_t{1} << f.shift) - d)) / d + 1);
    return f;
  }

  /// n / d for n < 2^31.
  FP8KIT_HD uint32_t divide(uint32_t n) const {
#if defined(__CUDA_ARCH__)
    const uint32_t hi = __umulhi(n, multiplier);
#else
    const auto hi = static_cast<uint32_t>((uint64_t{n} * multiplier) >> 32);
#endif
    return (hi + n) >> shift;
  }
};

}  // namespace fp8kit
