// cpu_backend.h: entry points of the CPU backend. The *_reference functions are the scalar oracle of
// the numerics contract; the others are the fast paths, which must equal the reference bit for bit.
#pragma once

#include "core/problem.h"

namespace fp8kit::cpu {

void quantize_reference(const core::QuantizeProblem& p);
void dequantize_reference(const core::DequantizeProblem& p);
void silu_mul_reference(const core::SiluMulProblem& p);
void silu_mul_quantize_reference(const core::SiluMulQuantizeProblem& p);
void gemm_reference(const core::GemmProblem& p);

void quantize(const core::QuantizeProblem& p);
void dequantize(const core::DequantizeProblem& p);
void silu_mul(const core::SiluMulProblem& p);
void silu_mul_quantize(const core::SiluMulQuantizeProblem& p);
void gemm(const core::GemmProblem& p);

/// Threads the fast paths use: FP8KIT_NUM_THREADS if set, else the hardware concurrency.
int thread_count();

}  // namespace fp8kit::cpu
