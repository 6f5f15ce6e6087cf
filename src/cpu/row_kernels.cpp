// row_kernels.cpp: the vectorised inner loops (see row_kernels.h). Templates over the element types
// give one loop per (input, format) or (format, output) pair; each is compiled for AVX2 and for the
// baseline instruction set (cpu_isa.h) and the active one is picked per call. Loops are branch-free
// (vector_codec.h) so the compiler vectorises them; the 128-element group, the common case, gets a
// fixed trip count.
#include "cpu/row_kernels.h"

#include <algorithm>
#include <type_traits>

#include "cpu/cpu_isa.h"
#include "cpu/vector_codec.h"
#include "fp8kit/error.h"

namespace fp8kit::cpu {
namespace {

// Input element types: storage type and exact widening to fp32.
struct InF32 {
  using T = float;
  static FP8KIT_ALWAYS_INLINE float load(float x) { return x; }
  static FP8KIT_ALWAYS_INLINE uint32_t abs_bits(float x) { return vec::abs_bits(x); }
};
struct InBf16 {
  using T = uint16_t;
  static FP8KIT_ALWAYS_INLINE float load(uint16_t h) { return vec::widen_bf16(h); }
  static FP8KIT_ALWAYS_INLINE uint32_t abs_bits(uint16_t h) { return static_cast<uint32_t>(h & 0x7FFFu) << 16; }
};
struct InF16 {
  using T = uint16_t;
  static FP8KIT_ALWAYS_INLINE float load(uint16_t h) { return vec::widen_f16(h); }
  // f16 magnitude bits are ordered like the magnitudes; widened to fp32 bits after the max.
  static FP8KIT_ALWAYS_INLINE uint32_t abs_bits(uint16_t h) { return h & 0x7FFFu; }
};

/// Finishes an amax taken over InF16::abs_bits: the fp32 bits of that f16 magnitude.
template <typename In>
FP8KIT_ALWAYS_INLINE uint32_t amax_to_f32_bits(uint32_t m) {
  if constexpr (std::is_same_v<In, InF16>) {
    return vec::bits_of(vec::widen_f16(static_cast<uint16_t>(m)));
  } else {
    return m;
  }
}

// Output element types: storage type and rounding store.
struct OutF32 {
  using T = uint32_t;
  static FP8KIT_ALWAYS_INLINE uint32_t store(float v) { return vec::to_f32_bits(v); }
};
struct OutBf16 {
  using T = uint16_t;
  static FP8KIT_ALWAYS_INLINE uint16_t store(float v) { return vec::to_bf16_bits(v); }
};
struct OutF16 {
  using T = uint16_t;
  static FP8KIT_ALWAYS_INLINE uint16_t store(float v) { return vec::to_f16_bits(v); }
};

constexpr int64_t kHotGroup = 128;

template <typename In>
FP8KIT_ALWAYS_INLINE uint32_t abs_max_run(const typename In::T* __restrict x, int64_t n) {
  uint32_t m = 0;
  for (int64_t i = 0; i < n; ++i) m = std::max(m, In::abs_bits(x[i]));
  return m;
}

template <typename In>
FP8KIT_ALWAYS_INLINE void group_abs_max(const void* xv, int64_t n, int64_t group, uint32_t* __restrict amax) {
  const auto* __restrict x = static_cast<const typename In::T*>(xv);
  if (group == 1) {
    for (int64_t i = 0; i < n; ++i) amax[i] = std::max(amax[i], amax_to_f32_bits<In>(In::abs_bits(x[i])));
    return;
  }
  for (int64_t g = 0, start = 0; start < n; ++g, start += group) {
    const int64_t len = std::min(group, n - start);
    const uint32_t m = len == kHotGroup ? abs_max_run<In>(x + start, kHotGroup) : abs_max_run<In>(x + start, len);
    amax[g] = std::max(amax[g], amax_to_f32_bits<In>(m));
  }
}

/// Codes are produced as 32-bit lanes into a stack buffer and narrowed in a second loop: GCC
/// vectorises the two loops much better than one loop that stores bytes (about 2x on AVX2).
constexpr int64_t kStage = 128;

template <typename T>
FP8KIT_ALWAYS_INLINE void narrow(const uint32_t* __restrict lanes, T* __restrict out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<T>(lanes[i]);
}

/// q[i] = encode(x[i] / s[i / group]) for i < n <= kStage: one scale (s_stride 0) or one per element.
template <typename In, typename Fmt>
FP8KIT_ALWAYS_INLINE void encode_stage(const typename In::T* __restrict x, uint8_t* __restrict q, int64_t n,
                                       const float* __restrict s, bool per_element) {
  uint32_t codes[kStage];
  if (per_element) {
    for (int64_t i = 0; i < n; ++i) codes[i] = vec::encode<Fmt>(In::load(x[i]) / s[i]);
  } else {
    const float scale = *s;
    for (int64_t i = 0; i < n; ++i) codes[i] = vec::encode<Fmt>(In::load(x[i]) / scale);
  }
  narrow(codes, q, n);
}

template <typename In, typename Fmt>
FP8KIT_ALWAYS_INLINE void encode_run(const typename In::T* __restrict x, uint8_t* __restrict q, int64_t n,
                                     const float* __restrict s, bool per_element) {
  for (int64_t i = 0; i < n; i += kStage) {
    const int64_t len = std::min(kStage, n - i);
    if (len == kStage) {
      encode_stage<In, Fmt>(x + i, q + i, kStage, per_element ? s + i : s, per_element);
    } else {
      encode_stage<In, Fmt>(x + i, q + i, len, per_element ? s + i : s, per_element);
    }
  }
}

template <typename In, typename Fmt>
FP8KIT_ALWAYS_INLINE void encode_groups(const void* xv, uint8_t* __restrict q, int64_t n, int64_t group,
                                     const float* __restrict scales) {
  const auto* __restrict x = static_cast<const typename In::T*>(xv);
  if (group == 1) return encode_run<In, Fmt>(x, q, n, scales, true);
  for (int64_t g = 0, start = 0; start < n; ++g, start += group) {
    encode_run<In, Fmt>(x + start, q + start, std::min(group, n - start), scales + g, false);
  }
}

/// y[i] = round_out(decode(q[i]) * s[i / group]) for i < n <= kStage, through 32-bit lanes.
template <typename Fmt, typename Out>
FP8KIT_ALWAYS_INLINE void decode_stage(const uint8_t* __restrict q, typename Out::T* __restrict y, int64_t n,
                                       const float* __restrict s, bool per_element) {
  if constexpr (sizeof(typename Out::T) == sizeof(uint32_t)) {  // f32: no narrowing, store directly
    if (per_element) {
      for (int64_t i = 0; i < n; ++i) y[i] = Out::store(vec::decode<Fmt>(q[i]) * s[i]);
    } else {
      const float scale = *s;
      for (int64_t i = 0; i < n; ++i) y[i] = Out::store(vec::decode<Fmt>(q[i]) * scale);
    }
    return;
  }
  uint32_t lanes[kStage];
  if (per_element) {
    for (int64_t i = 0; i < n; ++i) lanes[i] = Out::store(vec::decode<Fmt>(q[i]) * s[i]);
  } else {
    const float scale = *s;
    for (int64_t i = 0; i < n; ++i) lanes[i] = Out::store(vec::decode<Fmt>(q[i]) * scale);
  }
  narrow(lanes, y, n);
}

template <typename Fmt, typename Out>
FP8KIT_ALWAYS_INLINE void decode_run(const uint8_t* __restrict q, typename Out::T* __restrict y, int64_t n,
                                     const float* __restrict s, bool per_element) {
  for (int64_t i = 0; i < n; i += kStage) {
    const int64_t len = std::min(kStage, n - i);
    if (len == kStage) {
      decode_stage<Fmt, Out>(q + i, y + i, kStage, per_element ? s + i : s, per_element);
    } else {
      decode_stage<Fmt, Out>(q + i, y + i, len, per_element ? s + i : s, per_element);
    }
  }
}

template <typename Fmt, typename Out>
FP8KIT_ALWAYS_INLINE void decode_groups(const uint8_t* __restrict q, void* yv, int64_t n, int64_t group,
                                     const float* __restrict scales) {
  auto* __restrict y = static_cast<typename Out::T*>(yv);
  if (group == 1) return decode_run<Fmt, Out>(q, y, n, scales, true);
  for (int64_t g = 0, start = 0; start < n; ++g, start += group) {
    decode_run<Fmt, Out>(q + start, y + start, std::min(group, n - start), scales + g, false);
  }
}

// numerics::exp_portable without branches: the special inputs are replaced by 0 before the
// arithmetic (so the float-to-int conversion stays in range) and their results selected after.
FP8KIT_ALWAYS_INLINE float exp_portable(float x) {
  using vec::bits_of;
  using vec::float_of;
  using vec::select;
  const bool nan = (bits_of(x) & 0x7FFFFFFFu) > 0x7F800000u;
  const bool over = x > 88.72283935546875f;
  const bool under = x < -103.972076416015625f;
  const bool special = nan | over | under;  // not ||: no branches
  const float xc = float_of(select(special, 0u, bits_of(x)));
  const float magic = 12582912.0f;
  const float n = (xc * 1.44269502162933349609375f + magic) - magic;
  const float r = (xc - n * 0.693145751953125f) - n * 1.428606765330187045e-06f;
  float p = 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t ni = static_cast<int32_t>(n);
  const bool high = ni > 127, low = ni < -126;
  // p * 1.0f is exactly p, so the unscaled lanes match the reference's skipped multiply
  p = p * float_of(select(high, 254u << 23, select(low, 1u << 23, 127u << 23)));
  const uint32_t biased = static_cast<uint32_t>(ni + 127);  // 2^ni, rebased into [2^-126, 2^127]
  const uint32_t e = select(high, biased - 127u, select(low, biased + 126u, biased));
  const uint32_t result = bits_of(p * float_of(e << 23));
  const uint32_t overflow = select(over, 0x7F800000u, 0u);
  return float_of(select(nan, numerics::kF32CanonicalNan, select(over | under, overflow, result)));
}

FP8KIT_ALWAYS_INLINE void silu_mul_run(const uint16_t* __restrict gate, const uint16_t* __restrict up,
                                    uint16_t* __restrict h, int64_t n) {
  uint32_t lanes[kStage];
  for (int64_t i0 = 0; i0 < n; i0 += kStage) {
    const int64_t len = std::min(kStage, n - i0);
    for (int64_t i = 0; i < len; ++i) {
      const float g = vec::widen_bf16(gate[i0 + i]);
      const float silu = g / (1.0f + exp_portable(-g));
      lanes[i] = vec::to_bf16_bits(silu * vec::widen_bf16(up[i0 + i]));
    }
    narrow(lanes, h + i0, len);
  }
}

// The entry points, compiled once per instruction set from the always-inline loops above (the
// target attribute cannot depend on a template parameter, hence the macro).
#define FP8KIT_ROW_KERNELS_FOR_ISA(Name, ...)                                                            \
  struct Name {                                                                                          \
    template <typename In>                                                                               \
    __VA_ARGS__ static void abs_max(const void* x, int64_t n, int64_t group, uint32_t* amax) {           \
      group_abs_max<In>(x, n, group, amax);                                                              \
    }                                                                                                    \
    template <typename In, typename Fmt>                                                                 \
    __VA_ARGS__ static void encode(const void* x, uint8_t* q, int64_t n, int64_t group, const float* s) { \
      encode_groups<In, Fmt>(x, q, n, group, s);                                                         \
    }                                                                                                    \
    template <typename Fmt, typename Out>                                                                \
    __VA_ARGS__ static void decode(const uint8_t* q, void* y, int64_t n, int64_t group, const float* s) { \
      decode_groups<Fmt, Out>(q, y, n, group, s);                                                        \
    }                                                                                                    \
    __VA_ARGS__ static void silu_mul(const uint16_t* gate, const uint16_t* up, uint16_t* h, int64_t n) {  \
      silu_mul_run(gate, up, h, n);                                                                      \
    }                                                                                                    \
  };

FP8KIT_ROW_KERNELS_FOR_ISA(Baseline)
#if FP8KIT_CPU_X86
FP8KIT_ROW_KERNELS_FOR_ISA(Avx2, FP8KIT_CPU_TARGET_AVX2)
#else
using Avx2 = Baseline;  // never selected: isa_supported(Isa::avx2) is false
#endif
#undef FP8KIT_ROW_KERNELS_FOR_ISA

template <typename Isa, typename In>
QuantizeRowKernels quantize_kernels_for(DType fp8) {
  if (fp8 == DType::e5m2) return {&Isa::template abs_max<In>, &Isa::template encode<In, vec::E5m2>};
  return {&Isa::template abs_max<In>, &Isa::template encode<In, vec::E4m3>};
}

template <typename Isa, typename Out>
DequantizeRowKernels dequantize_kernels_for(DType fp8) {
  if (fp8 == DType::e5m2) return {&Isa::template decode<vec::E5m2, Out>};
  return {&Isa::template decode<vec::E4m3, Out>};
}

template <typename Isa>
struct KernelTables {
  QuantizeRowKernels quantize[3][2] = {
      {quantize_kernels_for<Isa, InF32>(DType::e4m3fn), quantize_kernels_for<Isa, InF32>(DType::e5m2)},
      {quantize_kernels_for<Isa, InBf16>(DType::e4m3fn), quantize_kernels_for<Isa, InBf16>(DType::e5m2)},
      {quantize_kernels_for<Isa, InF16>(DType::e4m3fn), quantize_kernels_for<Isa, InF16>(DType::e5m2)},
  };
  DequantizeRowKernels dequantize[3][2] = {
      {dequantize_kernels_for<Isa, OutF32>(DType::e4m3fn), dequantize_kernels_for<Isa, OutF32>(DType::e5m2)},
      {dequantize_kernels_for<Isa, OutBf16>(DType::e4m3fn), dequantize_kernels_for<Isa, OutBf16>(DType::e5m2)},
      {dequantize_kernels_for<Isa, OutF16>(DType::e4m3fn), dequantize_kernels_for<Isa, OutF16>(DType::e5m2)},
  };
};

const KernelTables<Baseline> kBaseline;
const KernelTables<Avx2> kAvx2;

int format_index(DType fp8) {
  FP8KIT_CHECK(is_fp8(fp8), "cpu row kernels: expected an FP8 dtype, got ", dtype_name(fp8));
  return fp8 == DType::e5m2 ? 1 : 0;
}

int precision_index(DType t) {
  FP8KIT_CHECK(is_high_precision(t), "cpu row kernels: expected f32, bf16 or f16, got ", dtype_name(t));
  return t == DType::f32 ? 0 : t == DType::bf16 ? 1 : 2;
}

}  // namespace

const QuantizeRowKernels& quantize_row_kernels(DType in, DType fp8) {
  const int i = precision_index(in), f = format_index(fp8);
  return active_isa() == Isa::avx2 ? kAvx2.quantize[i][f] : kBaseline.quantize[i][f];
}

const DequantizeRowKernels& dequantize_row_kernels(DType fp8, DType out) {
  const int o = precision_index(out), f = format_index(fp8);
  return active_isa() == Isa::avx2 ? kAvx2.dequantize[o][f] : kBaseline.dequantize[o][f];
}

void silu_mul_row(const uint16_t* gate, const uint16_t* up, uint16_t* h, int64_t n) {
  if (active_isa() == Isa::avx2) {
    Avx2::silu_mul(gate, up, h, n);
  } else {
    Baseline::silu_mul(gate, up, h, n);
  }
}

}  // namespace fp8kit::cpu
