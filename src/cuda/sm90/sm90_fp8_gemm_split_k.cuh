// sm90_fp8_gemm_split_k.cuh: the split-K exchange of the Hopper FP8 GEMM kernel. The `split` CTAs of a
// cluster each computed the whole tile over their share of K. The tile is finished in units of one consumer
// warp's fragment (its 16 rows of its warpgroup's columns): unit u (consumer warp u of the CTA) is finished
// by the CTA of rank u % split, which receives the other CTAs' partial sums of the unit and adds them to its
// own, its own first and the others in increasing rank: the same order every run.
//
// Each CTA owns a receive area: one slot per other rank, holding that rank's partials of the units this
// CTA finishes, lane-interleaved (float4 i of lane l of local unit v at ((v * kAcc / 4 + i) * 32 + l) * 16,
// so a warp's accesses cover 512 contiguous bytes). Senders write it with st.async, which completes on
// the receiver's `recv_full` mbarrier where the receiver expects the bytes; after summing, every consumer
// warp of the receiver arrives on each sender's `recv_free` mbarrier, which a sender waits for before it
// pushes its next tile.
//
// Why this shape (bench_sm90_gemm --trace, BENCHMARKS.md Hopper v7): a decode-sized launch runs its
// epilogue once per CTA, from cold instruction caches, so the epilogue's cost is mostly its code size. The
// v6 exchange (partials parked, pulled with ld.shared::cluster between two cluster barriers, column
// groups owned round-robin) and a first st.async version with the same ownership both compiled to a
// branchy copy of the loop per column group and took 6.5-9 us of a 20-50 us GEMM; here each warp sends or
// sums its whole fragment with straight-line code and one rolled loop over the ranks.
#pragma once

#include <cstdint>

#include "cuda/sm90/sm90_fp8_gemm_params.h"
#include "cuda/sm90/sm90_ptx.cuh"

namespace fp8kit::cuda::sm90::detail {

template <class Shape>
struct SplitKExchange {
  static_assert(Shape::kWaves == 1, "split K is for one-wave tiles (TileShape::kSplitK)");
  static constexpr int kUnits = Shape::kMathWarpgroups * 4;
  static constexpr int kVectors = Shape::kColGroups;  // float4s per thread: its 4 accumulators per column group

  uint8_t* recv;        // the receive area (split - 1 slots)
  uint64_t* recv_full;  // a phase per tile: every other rank's partials of this CTA's units have arrived
  uint64_t* recv_free;  // a phase per tile: every other rank has read this CTA's partials
  uint32_t split, rank;

  /// Bytes of one slot of the receive area (the same formula sizes it on the host).
  __device__ __forceinline__ uint32_t slot_bytes() const {
    return static_cast<uint32_t>(split_k_slot_bytes(kUnits, kVectors, static_cast<int32_t>(split)));
  }

  /// The rank that finishes unit `unit` (consumer warp index in the CTA).
  __device__ __forceinline__ uint32_t owner(int unit) const {
    return static_cast<uint32_t>(unit) - static_cast<uint32_t>(quotient(unit)) * split;
  }
  /// unit / split (split_k_quotient: no division).
  __device__ __forceinline__ int quotient(int unit) const {
    return split_k_quotient(unit, static_cast<int32_t>(split));
  }
  /// The slot that rank `sender` fills in the receive area of rank `receiver`.
  __device__ __forceinline__ static uint32_t slot(uint32_t sender, uint32_t receiver) {
    return sender < receiver ? sender : sender - 1;
  }
  /// Byte offset of this lane's first float4 of unit `unit` inside a slot of the unit's owner.
  __device__ __forceinline__ uint32_t offset(int unit) const {
    return static_cast<uint32_t>((quotient(unit) * kVectors * 32 + static_cast<int>(threadIdx.x) % 32) * 16);
  }

  /// A warp of a unit another rank finishes sends its partial sums there, once that rank has read the
  /// previous tile's (`parity`: the tile's index in this CTA's sequence, mod 2).
  __device__ void push(const float (&acc)[1][kVectors * 4], int unit, uint32_t parity) const {
    const uint32_t q = owner(unit);
    ptx::barrier_wait(recv_free, parity ^ 1u);
    const uint32_t to = ptx::map_to_cta(ptx::smem_addr(recv) + slot(rank, q) * slot_bytes() + offset(unit), q);
    const uint32_t bar = ptx::map_to_cta(ptx::smem_addr(recv_full), q);
#pragma unroll
    for (int i = 0; i < kVectors; ++i) {
      ptx::st_async_v4(to + i * 32 * 16, make_float4(acc[0][i * 4], acc[0][i * 4 + 1], acc[0][i * 4 + 2], acc[0][i * 4 + 3]),
                       bar);
    }
  }

  /// A warp of a unit this rank finishes: waits for the other ranks' partials (then calls `on_received`, a
  /// diagnostic hook) and adds them to its own. One thread of the CTA (lane 0 of consumer warp `rank`, whose
  /// unit this rank always finishes) first announces the bytes to expect.
  template <class OnReceived>
  __device__ void reduce(float (&acc)[1][kVectors * 4], int unit, uint32_t parity, OnReceived on_received) const {
    if (unit == static_cast<int>(rank) && threadIdx.x % 32 == 0) {
      const uint32_t units = quotient(kUnits - 1 - static_cast<int>(rank)) + 1;  // u < kUnits with u % split == rank
      ptx::barrier_arrive_expect_tx(recv_full, (split - 1) * units * kVectors * 32 * 16);
    }
    ptx::barrier_wait(recv_full, parity);
    on_received();
    const uint32_t at = ptx::smem_addr(recv) + offset(unit);
    for (uint32_t s = 0; s < split; ++s) {
      if (s == rank) continue;
      const uint32_t from = at + slot(s, rank) * slot_bytes();
#pragma unroll
      for (int i = 0; i < kVectors; ++i) {
        const float4 v = ptx::ld_shared_v4(from + i * 32 * 16);
        acc[0][i * 4] += v.x;
        acc[0][i * 4 + 1] += v.y;
        acc[0][i * 4 + 2] += v.z;
        acc[0][i * 4 + 3] += v.w;
      }
    }
  }

  /// Every consumer warp, after push or reduce: lets the other ranks push their next tile (skipped after
  /// the CTA's last tile, when they may have exited).
  __device__ void release() const {
    __syncwarp();
    if (threadIdx.x % 32 == 0) {
      for (uint32_t s = 0; s < split; ++s) {
        if (s != rank) ptx::barrier_arrive_cluster(recv_free, s);
      }
    }
  }
};

}  // namespace fp8kit::cuda::sm90::detail
