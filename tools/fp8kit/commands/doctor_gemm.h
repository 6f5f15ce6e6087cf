// doctor_gemm.h: the GEMM part of `fp8kit doctor`.
#pragma once

#include "fp8kit/backend.h"

namespace fp8kit::cli {

/// Prints, per GEMM shape class, the backend automatic dispatch chooses on GPU `g` and why each other
/// backend refuses (each distinct reason once).
void print_gemm_paths(const GpuInfo& g);

}  // namespace fp8kit::cli
