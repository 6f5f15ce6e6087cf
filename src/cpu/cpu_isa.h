// cpu_isa.h: the instruction sets the CPU backend's hot loops are compiled for, and which one runs.
//
// The vectorised loops (row_kernels.cpp, gemm_microkernel.cpp) are compiled once per instruction set
// from the same code: for the x86-64 baseline (SSE2) and for AVX2 (through the target attribute, so
// the rest of the build keeps the baseline). Each form computes the same bits: the code is the same
// IEEE arithmetic (never contracted: -ffp-contract=off), only the vector width differs. The best set
// the machine runs is used; tests force each one with ScopedIsa to check them all.
#pragma once

#include <cstdint>
#include <string_view>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(__CUDACC__)
#define FP8KIT_CPU_X86 1
#define FP8KIT_CPU_TARGET_AVX2 __attribute__((target("avx2")))
#else
#define FP8KIT_CPU_X86 0
#endif

namespace fp8kit::cpu {

enum class Isa : uint8_t { baseline, avx2 };
inline constexpr int kIsaCount = 2;

std::string_view isa_name(Isa isa);

/// True where this build has code for `isa` and the machine runs it.
bool isa_supported(Isa isa);

/// The instruction set the fast paths use now: the best supported one, unless a ScopedIsa is alive.
Isa active_isa();

/// While alive, the fast paths use `isa` (which must be supported). For tests.
class ScopedIsa {
 public:
  explicit ScopedIsa(Isa isa);
  ~ScopedIsa();
  ScopedIsa(const ScopedIsa&) = delete;
  ScopedIsa& operator=(const ScopedIsa&) = delete;

 private:
  int previous_;
};

}  // namespace fp8kit::cpu
