// cpu_isa.h: how the CPU backend compiles its hot loops for more than the baseline instruction set.
//
// FP8KIT_CPU_CLONES makes GCC/Clang build a function once for AVX2 and once for the baseline, picking
// one at load time (an ifunc): the loops inside are written for auto-vectorisation and get 256-bit
// vectors where the machine has them. Every clone computes the same bits: the code is the same IEEE
// arithmetic (no FMA contraction: -ffp-contract=off), only the vector width differs.
#pragma once

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(__CUDACC__)
#define FP8KIT_CPU_X86 1
#define FP8KIT_CPU_CLONES __attribute__((target_clones("avx2", "default")))
#define FP8KIT_CPU_TARGET_AVX2 __attribute__((target("avx2")))
#else
#define FP8KIT_CPU_X86 0
#define FP8KIT_CPU_CLONES
#define FP8KIT_CPU_TARGET_AVX2
#endif

namespace fp8kit::cpu {

/// True where the machine runs AVX2 code (always false off x86-64).
inline bool has_avx2() {
#if FP8KIT_CPU_X86
  static const bool yes = __builtin_cpu_supports("avx2");
  return yes;
#else
  return false;
#endif
}

}  // namespace fp8kit::cpu
