// quantize_group.cuh: 1 x G group quantization (activations; also per-row and 1 x C_b blocks whose
// width fits). A group is held by L = G / (4 * vector width) consecutive lanes of a warp (L a power of
// two, at most 32), each lane holding 4 16-byte vectors of the input: its amax is a few shuffles, the
// input is read once, and the per-group work (amax, scale, scale store) is shared by 32 elements
// (bf16/f16) or 16 (f32) per lane. Lane l holds vectors l, l + L, l + 2L, l + 3L of its group, so each
// load instruction of a warp reads whole 32-byte sectors.
//
// Groups are numbered row by row when the scales are row-major: a warp's groups are neighbours in one
// row, and so are their scales. With column-major scales a warp takes the same group column of
// 32 / L consecutive rows (a band), so its scale stores are neighbours too, and the warps of a block
// walk along the band, so the input is still read as a few long runs per row. The walk is a template
// parameter, and so is L: compile-time lane offsets (immediate vector offsets, no per-vector address
// registers) took the kernel from 60 to 54 registers and, on an H200, 16384 x 7168 bf16 with f32 scales
// from 87.0% to 91-91.5% of the copy bandwidth.
//
// The input comes through a Loader: PlainLoader<T> reads x; the fused SiLU-mul loader (silu_mul.cuh)
// reads the gate and up halves and computes bf16(silu(gate) * up).
//
// Programmatic dependent launch (sm_90 and later): the kernel may start while the kernel ahead of it in the
// stream finishes (it waits for it before reading x), and lets the next kernel start at once: the GEMM that
// consumes the activations overlaps its set-up with this kernel.
#pragma once

#include "cuda/common/dependent_launch.cuh"
#include "cuda/smxx/device_numerics.cuh"

namespace fp8kit::cuda::smxx {

inline constexpr int kGroupMaxThreads = 256;
inline constexpr uint32_t kGroupVectorsPerLane = 4;

/// Loads 16-byte vectors of x (dtype T) in one step: fetch issues the load, finish gives the vector.
template <DType T>
struct PlainLoader {
  static constexpr DType kIn = T;
  using Fetched = uint4;

  __device__ __forceinline__ static Fetched fetch(const GroupParams& p, uint32_t row, uint32_t col) {
    const auto* base = static_cast<const uint8_t*>(p.x) + (static_cast<int64_t>(row) * p.x_ld + col) * (T == DType::f32 ? 4 : 2);
    return __ldg(reinterpret_cast<const uint4*>(base));
  }
  __device__ __forceinline__ static uint4 finish(const Fetched& f) { return f; }
};

template <class Loader, Fp8Format F, bool kMMajor, uint32_t kLog2Lanes>
__global__ void __launch_bounds__(kGroupMaxThreads) smxx_quantize_group_kernel(const GroupParams p) {
  // Launched as a dependent kernel (group_launch.cuh): x may still be being written by the kernel ahead.
  // Then the GEMM that reads q and s (cuda_sm90 is launched for it) may start its set-up: it waits for
  // this kernel's completion.
  wait_for_previous_grid();
  allow_dependent_launch();
  constexpr DType kIn = Loader::kIn;
  constexpr uint32_t kVec = kVecOf<kIn>;
  constexpr uint32_t log2_lanes = kLog2Lanes;
  constexpr uint32_t lanes = 1u << log2_lanes;
  const uint32_t lane = threadIdx.x & (lanes - 1);
  const uint32_t g = blockIdx.x * (blockDim.x >> log2_lanes) + (threadIdx.x >> log2_lanes);

  uint32_t row = 0, group_index = 0;
  bool exists = false;
  if constexpr (kMMajor) {
    constexpr uint32_t log2_band = 5 - log2_lanes;  // groups (rows) per warp
    const uint32_t w = g >> log2_band;
    const uint32_t band = w / p.groups_per_row;
    group_index = w - band * p.groups_per_row;
    row = (band << log2_band) + (g & ((1u << log2_band) - 1u));
    exists = row < p.rows;
  } else {
    row = g / p.groups_per_row;
    group_index = g - row * p.groups_per_row;
    exists = row < p.rows;
  }
  row += p.row_begin;
  const uint32_t col0 = group_index * p.group + lane * kVec;  // column of this lane's first vector
  constexpr uint32_t step = lanes * kVec;                     // columns between its vectors

  typename Loader::Fetched fetched[kGroupVectorsPerLane] = {};
  bool loaded[kGroupVectorsPerLane];
#pragma unroll
  for (uint32_t k = 0; k < kGroupVectorsPerLane; ++k) {
    loaded[k] = exists && col0 + k * step < p.cols;  // vectors past a ragged last group hold nothing
    if (loaded[k]) fetched[k] = Loader::fetch(p, row, col0 + k * step);
  }
  uint4 raw[kGroupVectorsPerLane];
  uint32_t amax = 0;
#pragma unroll
  for (uint32_t k = 0; k < kGroupVectorsPerLane; ++k) {
    raw[k] = loaded[k] ? Loader::finish(fetched[k]) : make_uint4(0, 0, 0, 0);
    amax = max(amax, vec_amax_bits<kIn>(raw[k]));
  }
  // Max over the group's lanes (every lane of the warp takes part; groups never straddle warps).
#pragma unroll
  for (uint32_t offset = 16; offset > 0; offset /= 2) {
    if (offset < lanes) amax = max(amax, __shfl_xor_sync(0xFFFFFFFFu, amax, offset));
  }
  if (!exists) return;
  const TileScale ts = tile_scale(amax, p.rule);
  if (lane == 0) store_scale(p.s, row, group_index, ts.scale);
  quantize_store<kIn, F>(raw, loaded, ts, amax, p.q + static_cast<int64_t>(row) * p.q_ld + col0,
                         [](int k) { return static_cast<uint32_t>(k) * step; });
}

}  // namespace fp8kit::cuda::smxx
