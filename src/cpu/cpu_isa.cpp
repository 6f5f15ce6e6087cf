// cpu_isa.cpp: detection and override of the instruction set of the CPU fast paths (cpu_isa.h).
#include "cpu/cpu_isa.h"

#include <atomic>

#include "fp8kit/error.h"

namespace fp8kit::cpu {
namespace {

std::atomic<int> g_forced{-1};  // -1: none

}  // namespace

std::string_view isa_name(Isa isa) { return isa == Isa::avx2 ? "avx2" : "baseline"; }

bool isa_supported(Isa isa) {
  if (isa == Isa::baseline) return true;
#if FP8KIT_CPU_X86
  static const bool avx2 = __builtin_cpu_supports("avx2");
  return avx2;
#else
  return false;
#endif
}

Isa active_isa() {
  const int forced = g_forced.load(std::memory_order_relaxed);
  if (forced >= 0) return static_cast<Isa>(forced);
  return isa_supported(Isa::avx2) ? Isa::avx2 : Isa::baseline;
}

ScopedIsa::ScopedIsa(Isa isa) : previous_(g_forced.load()) {
  FP8KIT_CHECK(isa_supported(isa), "cpu: instruction set ", isa_name(isa), " is not available on this machine");
  g_forced.store(static_cast<int>(isa));
}
ScopedIsa::~ScopedIsa() { g_forced.store(previous_); }

}  // namespace fp8kit::cpu
