// op_options.h: the non-tensor arguments of the bindings (backend, scale spec, stream), parsed with
// errors that name the argument and the value.
#pragma once

#include <cstdint>
#include <string_view>

#include "fp8kit/backend.h"
#include "fp8kit/gemm.h"
#include "fp8kit/quantize.h"

namespace fp8kit::python {

/// "auto", "cpu_reference", "cpu", "cuda", "cublaslt", ... (ValueError otherwise).
Backend parse_backend_arg(std::string_view name);

/// A ScaleSpec from granularity "tensor" | "row" | "column" | "group" | "block", the tile
/// (group: block_cols = G; block: block_rows x block_cols) and pow2 (UE8M0) rounding.
ScaleSpec make_spec(std::string_view granularity, int64_t block_rows, int64_t block_cols, bool pow2);

/// "block" | "row".
GemmScaling parse_scaling(std::string_view name);

/// A cudaStream_t passed from Python as an int (0 = the legacy default stream).
inline void* stream_ptr(uintptr_t stream) { return reinterpret_cast<void*>(stream); }

}  // namespace fp8kit::python
