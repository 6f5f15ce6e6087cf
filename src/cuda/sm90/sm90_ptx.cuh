// sm90_ptx.cuh: the Hopper (sm_90a) primitives the FP8 GEMM is built from: mbarriers, TMA loads (plain,
// evict-first and multicast), 4-byte cp.async with mbarrier completion, cluster barriers and remote
// arrivals, wgmma fences and descriptors, register reallocation, and the timer and SM id of the trace.
// CCCL's cuda::ptx where it has the instruction, inline PTX where it has not (wgmma, setmaxnreg, mapa,
// cp.async, timers, cache policies). Device code only.
#pragma once

#include <cuda.h>
#include <cuda/ptx>

#include <cstdint>

namespace fp8kit::cuda::sm90::ptx {

/// Shared-memory window address of a generic pointer to this CTA's shared memory.
__device__ __forceinline__ uint32_t smem_addr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// ---- mbarriers --------------------------------------------------------------------------------------

__device__ __forceinline__ void barrier_init(uint64_t* bar, uint32_t count) { ::cuda::ptx::mbarrier_init(bar, count); }

/// Makes initialised barriers visible to the other CTAs of the cluster and to the async proxy.
__device__ __forceinline__ void barrier_init_fence() {
  ::cuda::ptx::fence_mbarrier_init(::cuda::ptx::sem_release, ::cuda::ptx::scope_cluster);
}

/// Spins until the phase with parity `parity` of `bar` has completed.
__device__ __forceinline__ void barrier_wait(uint64_t* bar, uint32_t parity) {
  while (!::cuda::ptx::mbarrier_try_wait_parity(bar, parity)) {
  }
}

/// One arrival on this CTA's barrier (release semantics, CTA scope).
__device__ __forceinline__ void barrier_arrive(uint64_t* bar) {
  asm volatile("mbarrier.arrive.release.cta.shared::cta.b64 _, [%0];" ::"r"(smem_addr(bar)) : "memory");
}

/// One arrival on the barrier at the same shared-memory offset in CTA `cta_rank` of the cluster. Default
/// (release, CTA-scope) semantics: it orders this thread's completed reads of the stage, and avoids the
/// GPU-wide fence that a cluster-scope release compiles to.
__device__ __forceinline__ void barrier_arrive_cluster(uint64_t* bar, uint32_t cta_rank) {
  asm volatile(
      "{\n.reg .b32 remote;\n"
      "mapa.shared::cluster.u32 remote, %0, %1;\n"
      "mbarrier.arrive.shared::cluster.b64 _, [remote];\n}\n" ::"r"(smem_addr(bar)),
      "r"(cta_rank)
      : "memory");
}

/// One arrival that also announces `bytes` of asynchronous (TMA) traffic for the current phase. Default
/// (release, CTA-scope) semantics: a cluster-scope release compiles to a GPU-wide MEMBAR before every
/// stage's loads, which throttled the producer to ~25 bytes/clock per SM.
__device__ __forceinline__ void barrier_arrive_expect_tx(uint64_t* bar, uint32_t bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(smem_addr(bar)), "r"(bytes) : "memory");
}

// ---- asynchronous copies ------------------------------------------------------------------------------

/// 2-D TMA tile load global -> this CTA's shared memory; completes `bytes` on `bar`.
__device__ __forceinline__ void tma_load_2d(void* dst, const CUtensorMap* map, int32_t x, int32_t y, uint64_t* bar) {
  const int32_t coords[2] = {x, y};
  ::cuda::ptx::cp_async_bulk_tensor(::cuda::ptx::space_shared, ::cuda::ptx::space_global, dst, map, coords, bar);
}

/// tma_load_2d for data read once: under an evict-first L2 policy (createpolicy at each load, so that no
/// policy register lives across the producer's loop).
__device__ __forceinline__ void tma_load_2d_evict_first(void* dst, const CUtensorMap* map, int32_t x, int32_t y,
                                                        uint64_t* bar) {
  asm volatile(
      "{\n.reg .b64 policy;\n"
      "createpolicy.fractional.L2::evict_first.b64 policy, 1.0;\n"
      "cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes.L2::cache_hint [%0], [%1, {%2, %3}], "
      "[%4], policy;\n}" ::"r"(smem_addr(dst)),
      "l"(map), "r"(x), "r"(y), "r"(smem_addr(bar))
      : "memory");
}

/// 2-D TMA tile load multicast to the CTAs of `cta_mask`, at the same offsets (data and barrier) in each.
__device__ __forceinline__ void tma_load_2d_multicast(void* dst, const CUtensorMap* map, int32_t x, int32_t y,
                                                      uint64_t* bar, uint16_t cta_mask) {
  const int32_t coords[2] = {x, y};
  ::cuda::ptx::cp_async_bulk_tensor(::cuda::ptx::space_cluster, ::cuda::ptx::space_global, dst, map, coords, bar,
                                    cta_mask);
}

/// 2-D TMA tile store shared -> global (a bulk group; out-of-bounds rows and columns are not written).
__device__ __forceinline__ void tma_store_2d(const CUtensorMap* map, int32_t x, int32_t y, const void* src) {
  const int32_t coords[2] = {x, y};
  ::cuda::ptx::cp_async_bulk_tensor(::cuda::ptx::space_global, ::cuda::ptx::space_shared, map, coords, src);
}
__device__ __forceinline__ void bulk_commit() { ::cuda::ptx::cp_async_bulk_commit_group(); }
/// Waits until this thread's bulk stores have finished reading shared memory.
__device__ __forceinline__ void bulk_wait_read() { ::cuda::ptx::cp_async_bulk_wait_group_read(::cuda::ptx::n32_t<0>{}); }
/// Waits until this thread's bulk stores are complete.
__device__ __forceinline__ void bulk_wait() { ::cuda::ptx::cp_async_bulk_wait_group(::cuda::ptx::n32_t<0>{}); }
/// Orders this thread's generic shared-memory writes before later async-proxy (TMA) reads.
__device__ __forceinline__ void fence_async_shared() {
  ::cuda::ptx::fence_proxy_async(::cuda::ptx::space_shared);
}
__device__ __forceinline__ void st_shared_b32(uint32_t addr, uint32_t v) {
  asm volatile("st.shared.b32 [%0], %1;" ::"r"(addr), "r"(v) : "memory");
}

/// Fetches a tensor map into the descriptor cache.
__device__ __forceinline__ void tma_prefetch_descriptor(const CUtensorMap* map) {
  asm volatile("prefetch.tensormap [%0];" ::"l"(map) : "memory");
}

/// Asynchronous 4-byte copy global -> shared (cp.async, L1-cached).
__device__ __forceinline__ void cp_async_4(void* dst, const void* src) {
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4;" ::"r"(smem_addr(dst)), "l"(src) : "memory");
}

/// Counts as one arrival on `bar` once every cp.async this thread issued before has landed (the barrier's
/// expected count includes it: .noinc).
__device__ __forceinline__ void cp_async_arrive_noinc(uint64_t* bar) {
  asm volatile("cp.async.mbarrier.arrive.noinc.shared::cta.b64 [%0];" ::"r"(smem_addr(bar)) : "memory");
}

// ---- cluster -------------------------------------------------------------------------------------------

__device__ __forceinline__ uint32_t cluster_cta_rank() { return ::cuda::ptx::get_sreg_cluster_ctarank(); }

/// The start-up cluster barrier in two halves, so that a thread may work between its arrival and its wait.
/// The arrive is relaxed: barrier_init_fence already releases the initialised mbarriers at cluster scope and
/// orders them before a relaxed arrive (a release arrive compiles to a GPU-wide MEMBAR ahead of it). The wait
/// acquires. A launch without clusters is a cluster of one CTA: the same pair is then a CTA barrier.
__device__ __forceinline__ void cluster_arrive_relaxed() {
  ::cuda::ptx::barrier_cluster_arrive(::cuda::ptx::sem_relaxed);
}
__device__ __forceinline__ void cluster_wait() { ::cuda::ptx::barrier_cluster_wait(::cuda::ptx::sem_acquire); }

/// Full cluster barrier: every thread of every CTA in the cluster arrives (release) and waits (acquire).
__device__ __forceinline__ void cluster_sync() {
  ::cuda::ptx::barrier_cluster_arrive(::cuda::ptx::sem_release);
  cluster_wait();
}

/// Shared-window address of the same byte in CTA `cta_rank` of the cluster (distributed shared memory).
__device__ __forceinline__ uint32_t map_to_cta(uint32_t addr, uint32_t cta_rank) {
  uint32_t out;
  asm volatile("mapa.shared::cluster.u32 %0, %1, %2;" : "=r"(out) : "r"(addr), "r"(cta_rank));
  return out;
}

/// Asynchronous 16-byte store into the shared memory of a CTA of the cluster (addresses from map_to_cta); its
/// 16 bytes complete on that CTA's mbarrier `remote_bar` (complete_tx).
__device__ __forceinline__ void st_async_v4(uint32_t remote_addr, float4 v, uint32_t remote_bar) {
  asm volatile("st.async.shared::cluster.mbarrier::complete_tx::bytes.v4.f32 [%0], {%1, %2, %3, %4}, [%5];" ::"r"(
                   remote_addr),
               "f"(v.x), "f"(v.y), "f"(v.z), "f"(v.w), "r"(remote_bar)
               : "memory");
}

__device__ __forceinline__ float4 ld_shared_v4(uint32_t addr) {
  float4 v;
  asm volatile("ld.shared.v4.f32 {%0, %1, %2, %3}, [%4];" : "=f"(v.x), "=f"(v.y), "=f"(v.z), "=f"(v.w) : "r"(addr)
               : "memory");
  return v;
}

// ---- wgmma ---------------------------------------------------------------------------------------------

/// Shared-memory matrix descriptor of a K-major tile written by TMA with 128-byte swizzling: rows of 128
/// bytes, 8-row swizzle atoms 1024 bytes apart (stride byte offset), the tile 1024-byte aligned.
__device__ __forceinline__ uint64_t wgmma_desc_sw128(const void* tile) {
  const uint64_t start = (smem_addr(tile) & 0x3FFFFu) >> 4;
  constexpr uint64_t kLeadingByteOffset = 1;         // unused for swizzled K-major layouts
  constexpr uint64_t kStrideByteOffset = 1024 >> 4;  // 8 rows x 128 bytes
  constexpr uint64_t kSwizzle128B = 1;
  return start | (kLeadingByteOffset << 16) | (kStrideByteOffset << 32) | (kSwizzle128B << 62);
}

/// Orders this thread's register and shared-memory accesses before the wgmma that follow.
__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;" ::: "memory"); }
__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;" ::: "memory"); }
template <int kPending>
__device__ __forceinline__ void wgmma_wait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;" ::"n"(kPending) : "memory");
}

/// Tells the compiler that the asynchronous wgmma may have read or written `r` here, so that it keeps its
/// own accesses to `r` on the right side of the fences and waits.
__device__ __forceinline__ void fence_register(float& r) { asm volatile("" : "+f"(r)::"memory"); }

/// `v`, opaque to the optimiser: values derived from it are computed where it is, not hoisted (used to keep
/// epilogue address arithmetic out of the main loop's register budget).
template <typename T>
__device__ __forceinline__ T opaque(T v) {
  static_assert(sizeof(T) == 4, "32-bit values only");
  asm volatile("mov.b32 %0, %0;" : "+r"(v));
  return v;
}

// ---- diagnostics ---------------------------------------------------------------------------------------

/// The GPU-wide nanosecond timer (comparable across SMs).
__device__ __forceinline__ uint64_t global_timer_ns() {
  uint64_t t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
}
/// The timer, read once `v` has been computed (an input of the read).
__device__ __forceinline__ uint64_t global_timer_ns_after(float v) {
  uint64_t t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t) : "f"(v));
  return t;
}
__device__ __forceinline__ uint32_t sm_id() {
  uint32_t id;
  asm volatile("mov.u32 %0, %%smid;" : "=r"(id));
  return id;
}

// ---- register reallocation -----------------------------------------------------------------------------

template <int kRegisters>
__device__ __forceinline__ void warpgroup_registers_increase() {
  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;" ::"n"(kRegisters));
}
template <int kRegisters>
__device__ __forceinline__ void warpgroup_registers_decrease() {
  asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;" ::"n"(kRegisters));
}

}  // namespace fp8kit::cuda::sm90::ptx
