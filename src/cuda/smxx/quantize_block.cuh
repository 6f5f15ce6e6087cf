// quantize_block.cuh: R_b x C_b block quantization (weights, 128 x 128 by default) and per-row
// quantization of wide rows (the 1 x C tile): one thread block per tile.
//
// Thread t holds the tile's 16-byte vectors (slots) t, t + blockDim.x, ...: the first kV of them stay in
// registers from one read, all loads issued before the first use; a tile of more than kV * blockDim.x
// vectors (a 1 x C tile of very wide rows) reads the rest twice, for the amax and to quantize, from L2 in
// practice. Many small blocks per multiprocessor keep the memory busy while others wait on their one
// barrier: on an H200 this quantizes a 7168 x 18432 bf16 weight at 88% of the copy bandwidth, where
// persistent blocks that prefetched their next tile across the barrier reached 60% (fewer bytes in
// flight). At 8 vectors per thread the kernel is close to its instruction limit too (about 14
// instructions per element, the division by the scale the largest part), so index work counts.
#pragma once

#include <algorithm>

#include "cuda/smxx/device_numerics.cuh"

namespace fp8kit::cuda::smxx {

inline constexpr int kBlockMaxThreads = 512;

/// Threads for a tile of `vectors` 16-byte vectors, about `per_thread` each, a multiple of a warp, at
/// most kBlockMaxThreads. The launcher asks for 8 per thread for R x C blocks (128 x 128 bf16: 256
/// threads; the kernel is near its instruction limit there, and half the threads halve the per-thread
/// index work: on an H200 8 per thread read 86.9% of the copy bandwidth where 4 read 81.8%) and 4 for
/// 1 x C rows (7168 bf16: 224 threads, 94.8% against 92.7% for 8 per thread at 128 threads).
inline int block_threads(int64_t vectors, int per_thread) {
  const int64_t threads = (vectors + per_thread - 1) / per_thread;
  return static_cast<int>(std::clamp<int64_t>((threads + 31) / 32 * 32, 32, kBlockMaxThreads));
}

/// Vectors per thread kept in registers: 4 where that covers the tile, else 8.
inline int block_cached_vectors(int64_t vectors, int threads) { return vectors <= 4 * int64_t{threads} ? 4 : 8; }

/// How a thread's slots (vectors threadIdx.x + k * blockDim.x of its tile, row-major within the tile)
/// map to rows and columns. A template parameter, so each kernel computes a slot's offsets with a
/// multiply-add from strides the launcher computed: with a division per slot and runtime choices
/// between the walks, the one-tile-per-block kernel read 52% of the copy bandwidth.
enum class SlotWalk {
  fixed_column,  // blockDim.x is a multiple of the tile's vectors per row: one column, slot k is
                 // k * blockDim.x / vecs_per_tile_row rows down; every slot cached
  row,           // 1 x C tiles (per-row quantization of wide rows): slot k is k * blockDim.x vectors
                 // right; every slot cached
  general,       // a division per slot; slots beyond the cached ones are read twice
};

/// Where this thread's slots of tile blockIdx.x lie.
template <SlotWalk kWalk, uint32_t kVec>
struct BlockSlots {
  const BlockParams& p;
  uint32_t tile_row, tile_col;
  uint32_t valid_rows, valid_cols;  // the tile's extent inside the matrix (smaller at ragged edges)
  uint32_t row0, col0;              // slot 0's row and column in the tile (fixed_column, row)
  int64_t x_first, q_first;         // slot 0's element offsets in x and q (fixed_column, row)

  __device__ __forceinline__ explicit BlockSlots(const BlockParams& params) : p(params) {
    tile_row = p.by_tiles_per_row.divide(blockIdx.x);
    tile_col = blockIdx.x - tile_row * p.tiles_per_row;
    const uint32_t r0 = tile_row * p.tile_rows, c0 = tile_col * p.tile_cols;
    valid_rows = min(p.tile_rows, p.rows - r0);
    valid_cols = min(p.tile_cols, p.cols - c0);
    if constexpr (kWalk == SlotWalk::fixed_column) {
      row0 = p.by_vecs_per_tile_row.divide(threadIdx.x);
      col0 = (threadIdx.x - row0 * p.vecs_per_tile_row) * kVec;
    } else {
      row0 = 0;
      col0 = threadIdx.x * kVec;
    }
    const int64_t row = static_cast<int64_t>(r0) + row0;
    const uint32_t col = c0 + col0;
    x_first = row * p.x_ld + col;
    q_first = row * p.q_ld + col;
  }

  /// Element offsets of slot k in x and q; false when the slot lies outside the tile or the matrix.
  __device__ __forceinline__ bool locate(uint32_t k, int64_t& x_off, int64_t& q_off) const {
    if constexpr (kWalk == SlotWalk::general) {
      const uint32_t v = threadIdx.x + k * blockDim.x;
      const uint32_t r = p.by_vecs_per_tile_row.divide(v);
      const uint32_t c = (v - r * p.vecs_per_tile_row) * kVec;
      const int64_t row = static_cast<int64_t>(tile_row) * p.tile_rows + r;
      const int64_t col = static_cast<int64_t>(tile_col) * p.tile_cols + c;
      x_off = row * p.x_ld + col;
      q_off = row * p.q_ld + col;
      return r < valid_rows && c < valid_cols;
    } else {
      x_off = x_first + k * p.x_slot_step;
      q_off = q_first + k * p.q_slot_step;
      return row0 + k * p.slot_row_step < valid_rows && col0 + k * p.slot_col_step < valid_cols;
    }
  }
};

/// Registers per thread: 64 keeps two blocks of 512 threads per multiprocessor; the row walk's blocks are
/// smaller (a 7168-wide bf16 row: 224 threads), and 56 keeps five of those instead of four.
template <SlotWalk kWalk, int kV>
inline constexpr int kBlockRegisters = kWalk == SlotWalk::row && kV == 4 ? 56 : 64;

template <DType T, Fp8Format F, int kV, SlotWalk kWalk>
__global__ void __launch_bounds__(kBlockMaxThreads) __maxnreg__((kBlockRegisters<kWalk, kV>)) smxx_quantize_block_kernel(const BlockParams p) {
  constexpr uint32_t kVec = kVecOf<T>;
  constexpr int64_t kBytes = T == DType::f32 ? 4 : 2;
  __shared__ uint32_t scratch[32];
  const auto* x = static_cast<const uint8_t*>(p.x);
  const BlockSlots<kWalk, kVec> slots(p);
  // Only the general walk has slots beyond the cached ones (the launcher's choice); locate masks the
  // slots past a tile's vectors.
  constexpr bool kUncached = kWalk == SlotWalk::general;

  uint4 raw[kV];
  bool valid[kV];
#pragma unroll
  for (int k = 0; k < kV; ++k) {
    int64_t x_off = 0, q_off = 0;
    valid[k] = slots.locate(static_cast<uint32_t>(k), x_off, q_off);
    raw[k] = valid[k] ? __ldg(reinterpret_cast<const uint4*>(x + x_off * kBytes)) : make_uint4(0, 0, 0, 0);
  }
  uint32_t amax = 0;
#pragma unroll
  for (int k = 0; k < kV; ++k) amax = max(amax, vec_amax_bits<T>(raw[k]));
  if constexpr (kUncached) {
    for (uint32_t k = kV; k < p.slots; ++k) {
      int64_t x_off = 0, q_off = 0;
      if (slots.locate(k, x_off, q_off)) amax = max(amax, vec_amax_bits<T>(__ldg(reinterpret_cast<const uint4*>(x + x_off * kBytes))));
    }
  }
  amax = block_max(amax, scratch);

  const TileScale ts = tile_scale(amax, p.rule);
  if (threadIdx.x == 0) store_scale(p.s, slots.tile_row, slots.tile_col, ts.scale);
  quantize_store<T, F>(raw, valid, ts, amax, p.q, [&](int k) {
    int64_t x_off = 0, q_off = 0;
    slots.locate(static_cast<uint32_t>(k), x_off, q_off);
    return q_off;
  });
  if constexpr (kUncached) {
    for (uint32_t k = kV; k < p.slots; ++k) {
      int64_t x_off = 0, q_off = 0;
      if (slots.locate(k, x_off, q_off)) {
        store_codes<T>(p.q + q_off, quantize_vec<T, F, Division::checked>(__ldg(reinterpret_cast<const uint4*>(x + x_off * kBytes)), ts));
      }
    }
  }
}

}  // namespace fp8kit::cuda::smxx
