// mma_sync_gemm_tile.cuh: the portable block-scaled FP8 GEMM kernel, shared by cuda_fp8_mma (sm89/, FP8
// mma.sync) and cuda_bf16_mma (sm80/, FP8 widened to f16 for mma.sync). Each architecture folder
// supplies an MMA policy and instantiates the kernel for its own PTX target.
//
// Per CTA: a BM x 128 tile of D. Per pipeline stage (K block kb, 128 bytes of K):
//   shared A tile [BM][128 B], B tile [128][128 B] (16-byte chunks XOR-swizzled by row, so ldmatrix
//   reads 8 rows without bank conflicts), As[m0 .. m0+BM, kb] and Bs[n0 / 128, kb].
// Each warp multiplies its (BM / WARPS_M) x (128 / WARPS_N) sub-tile in four 32-deep steps into fp32
// `part`, then promotes: acc += part * As[m, kb] * Bs[n / 128, kb] (docs/numerics.md, GEMM). Row
// scaling promotes with 1 and applies As[m] * Bs[n] in the epilogue. Loads of rows >= M or N and of
// K >= K are zero-filled, so ragged tiles need no special cases in the math.
//
// Policy interface (MmaPolicy): fragments exactly as ldmatrix.x4 returns them from fp8 tiles (FP8
// m16n8k32 register layout: A 4 registers per m16 x 32 block, B 2 registers per n8 x 32 block).
//   using BFrag;                                   B fragment as the multiply wants it
//   prepare_b(const uint32_t (&b)[2], p) -> BFrag  once per n8 fragment and 32-deep step
//   mma_row(float (&c)[NJ][4], const uint32_t (&a)[4], const BFrag (&b)[NJ], p)
//                                                  c[nj] += A (16 x 32) * B[nj] (8 x 32)^T
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "common/numerics.h"
#include "cuda/common/cuda_check.h"
#include "cuda/common/device_guard.h"
#include "cuda/common/mma_sync_gemm_plan.h"
#include "cuda/common/stream_workspace.h"
#include "fp8kit/dtype.h"

namespace fp8kit::cuda::mma_sync {

inline constexpr int kRowBytes = kTileK;  // one K block of fp8 per tile row
inline constexpr int kGroupM = 8;         // row tiles that sweep the column tiles together (L2 reuse)

template <int BM, int WARPS_M, int WARPS_N, int MIN_BLOCKS>
struct TileConfig {
  static constexpr int kBlockM = BM;
  static constexpr int kWarpsM = WARPS_M;
  static constexpr int kWarpsN = WARPS_N;
  static constexpr int kMinBlocks = MIN_BLOCKS;
  static constexpr int kThreads = 32 * WARPS_M * WARPS_N;
  static constexpr int kWarpM = BM / WARPS_M;
  static constexpr int kWarpN = kTileN / WARPS_N;
  static constexpr int kMi = kWarpM / 16;  // m16 fragments per warp
  static constexpr int kNj = kWarpN / 8;   // n8 fragments per warp
  static constexpr int kATileBytes = BM * kRowBytes;
  static constexpr int kBTileBytes = kTileN * kRowBytes;
  static constexpr int kScaleFloats = BM + 4;  // As for BM rows, Bs, padding to 16 bytes
  static constexpr int kAChunks = BM * (kRowBytes / 16) / kThreads;  // 16-byte chunks per thread
  static constexpr int kBChunks = kTileN * (kRowBytes / 16) / kThreads;
  static_assert(kAChunks >= 1 && kBChunks >= 1 && kNj % 2 == 0 && kThreads > BM, "tile shape");
};
using LargeTile = TileConfig<128, 2, 4, 1>;  // TileShape::large
using SmallTile = TileConfig<32, 1, 4, 2>;   // TileShape::small

namespace device {

__device__ __forceinline__ uint32_t smem_u32(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

/// Byte offset of 16-byte chunk `c` (0..7) of tile row `r`: chunks are XOR-swizzled by r % 8.
__device__ __forceinline__ uint32_t swizzle(int r, int c) {
  return static_cast<uint32_t>(r * kRowBytes + ((c ^ (r & 7)) << 4));
}

/// 16-byte asynchronous copy; bytes past `src_bytes` (0..16) are zero-filled and not read.
__device__ __forceinline__ void cp_async_16(uint32_t dst, const void* src, int src_bytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(src_bytes) : "memory");
}

/// 4-byte asynchronous copy; src_bytes 0 writes zero.
__device__ __forceinline__ void cp_async_4(uint32_t dst, const void* src, int src_bytes) {
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(dst), "l"(src), "r"(src_bytes) : "memory");
}

__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }

template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

/// Waits until the oldest of the `stages - 1` copy groups in flight has landed.
__device__ __forceinline__ void cp_async_wait_oldest(int stages) {
  switch (stages) {
    case 2: cp_async_wait<0>(); break;
    case 3: cp_async_wait<1>(); break;
    default: cp_async_wait<2>(); break;
  }
}

__device__ __forceinline__ void ldmatrix_x4(uint32_t addr, uint32_t& r0, uint32_t& r1, uint32_t& r2, uint32_t& r3) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3)
               : "r"(addr));
}

/// One 16-byte chunk of row `row` at K offset `k_off` into shared memory at `dst`. Rows past the matrix
/// and bytes past K read as zero. aligned: the chunk's source is 16-byte aligned (cp.async); else a
/// byte-wise fallback for operands whose rows are not 16-byte aligned.
__device__ __forceinline__ void load_chunk(uint8_t* dst, const uint8_t* base, int64_t ld, bool row_ok, int row,
                                           int k_off, int k, bool aligned) {
  if (aligned) {
    const int bytes = row_ok ? min(max(k - k_off, 0), 16) : 0;
    const uint8_t* src = bytes > 0 ? base + static_cast<int64_t>(row) * ld + k_off : base;
    cp_async_16(smem_u32(dst), src, bytes);
  } else {
    uint32_t w[4] = {0u, 0u, 0u, 0u};
    if (row_ok) {
      const uint8_t* src = base + static_cast<int64_t>(row) * ld;
#pragma unroll
      for (int j = 0; j < 16; ++j) {
        if (k_off + j < k) w[j >> 2] |= static_cast<uint32_t>(__ldg(src + k_off + j)) << ((j & 3) * 8);
      }
    }
    *reinterpret_cast<uint4*>(dst) = make_uint4(w[0], w[1], w[2], w[3]);
  }
}

__device__ __forceinline__ float load_bias(const MmaGemmParams& p, int n) {
  if (p.bias_dtype == static_cast<int>(DType::f32)) return static_cast<const float*>(p.bias)[n];
  const uint16_t h = static_cast<const uint16_t*>(p.bias)[n];
  return p.bias_dtype == static_cast<int>(DType::bf16) ? numerics::bf16_bits_to_float(h) : numerics::f16_bits_to_float(h);
}

/// D[idx] = v rounded to the output dtype per the contract (NaN written as the canonical NaN).
__device__ __forceinline__ void store_one(const MmaGemmParams& p, int64_t idx, float v) {
  if (p.out_dtype == static_cast<int>(DType::f32)) {
    static_cast<float*>(p.d)[idx] = numerics::canonicalize_f32(v);
  } else if (p.out_dtype == static_cast<int>(DType::bf16)) {
    static_cast<uint16_t*>(p.d)[idx] = numerics::float_to_bf16_bits(v);
  } else {
    static_cast<uint16_t*>(p.d)[idx] = numerics::float_to_f16_bits(v);
  }
}

/// D[idx], D[idx + 1] = v0, v1 in one store; idx is even and the row allows it (vector_stores).
__device__ __forceinline__ void store_two(const MmaGemmParams& p, int64_t idx, float v0, float v1) {
  if (p.out_dtype == static_cast<int>(DType::f32)) {
    *reinterpret_cast<float2*>(static_cast<float*>(p.d) + idx) =
        make_float2(numerics::canonicalize_f32(v0), numerics::canonicalize_f32(v1));
    return;
  }
  const bool bf16 = p.out_dtype == static_cast<int>(DType::bf16);
  const uint32_t lo = bf16 ? numerics::float_to_bf16_bits(v0) : numerics::float_to_f16_bits(v0);
  const uint32_t hi = bf16 ? numerics::float_to_bf16_bits(v1) : numerics::float_to_f16_bits(v1);
  *reinterpret_cast<uint32_t*>(static_cast<uint16_t*>(p.d) + idx) = lo | (hi << 16);
}

}  // namespace device

template <class Mma, class Cfg>
__global__ void __launch_bounds__(Cfg::kThreads, Cfg::kMinBlocks) mma_sync_gemm_kernel(const MmaGemmParams p) {
  using namespace device;
  constexpr int BM = Cfg::kBlockM, MI = Cfg::kMi, NJ = Cfg::kNj;
  extern __shared__ __align__(128) uint8_t smem[];
  const int tid = static_cast<int>(threadIdx.x);
  const int lane = tid & 31, warp = tid >> 5;
  const int warp_m = warp / Cfg::kWarpsN, warp_n = warp % Cfg::kWarpsN;

  // Grouped raster: kGroupM consecutive row tiles share the same column sweep, so the B tiles of one
  // wave are reused from L2 by several row tiles.
  const int per_group = kGroupM * p.tiles_n;
  const int id = static_cast<int>(blockIdx.x);
  const int first_m = (id / per_group) * kGroupM;
  const int group_rows = min(p.tiles_m - first_m, kGroupM);
  const int m_tile = first_m + (id % per_group) % group_rows;
  const int n_tile = (id % per_group) / group_rows;
  const int m0 = m_tile * BM, n0 = n_tile * kTileN;

  const int split = static_cast<int>(blockIdx.y);
  const int kb_begin = split * p.kblocks_per_split;
  const int nk = min(p.num_kblocks - kb_begin, p.kblocks_per_split);

  uint8_t* const a_tiles = smem;
  uint8_t* const b_tiles = smem + p.stages * Cfg::kATileBytes;
  float* const scales = reinterpret_cast<float*>(b_tiles + p.stages * Cfg::kBTileBytes);
  const bool aligned = p.aligned_loads != 0;
  const bool block_scaling = p.row_scaling == 0;

  auto load_stage = [&](int slot, int kb) {
    const int k0 = kb * kTileK;
    uint8_t* a_s = a_tiles + slot * Cfg::kATileBytes;
#pragma unroll
    for (int i = 0; i < Cfg::kAChunks; ++i) {
      const int chunk = tid + i * Cfg::kThreads;
      const int r = chunk >> 3, c = chunk & 7;
      load_chunk(a_s + swizzle(r, c), p.a, p.lda, m0 + r < p.m, m0 + r, k0 + c * 16, p.k, aligned);
    }
    uint8_t* b_s = b_tiles + slot * Cfg::kBTileBytes;
#pragma unroll
    for (int i = 0; i < Cfg::kBChunks; ++i) {
      const int chunk = tid + i * Cfg::kThreads;
      const int r = chunk >> 3, c = chunk & 7;
      load_chunk(b_s + swizzle(r, c), p.b, p.ldb, n0 + r < p.n, n0 + r, k0 + c * 16, p.k, aligned);
    }
    if (block_scaling) {
      float* s = scales + slot * Cfg::kScaleFloats;
      if (tid < BM) {
        const int row = m0 + tid;
        const bool ok = row < p.m;
        const float* src = ok ? p.a_scales + row * p.as_row + kb * p.as_col : p.a_scales;
        cp_async_4(smem_u32(s + tid), src, ok ? 4 : 0);
      } else if (tid == BM) {
        cp_async_4(smem_u32(s + BM), p.b_scales + n_tile * p.bs_row + kb * p.bs_col, 4);
      }
    }
  };

  float acc[MI][NJ][4];
#pragma unroll
  for (int mi = 0; mi < MI; ++mi)
#pragma unroll
    for (int nj = 0; nj < NJ; ++nj)
#pragma unroll
      for (int e = 0; e < 4; ++e) acc[mi][nj][e] = 0.0f;

  for (int s = 0; s < p.stages - 1; ++s) {
    if (s < nk) load_stage(s, kb_begin + s);
    cp_async_commit();
  }

  for (int it = 0; it < nk; ++it) {
    cp_async_wait_oldest(p.stages);
    __syncthreads();  // stage `it` is visible to all; the slot refilled below was consumed by all
    const int next = it + p.stages - 1;
    if (next < nk) load_stage(next % p.stages, kb_begin + next);
    cp_async_commit();

    const int slot = it % p.stages;
    const uint32_t a_base = smem_u32(a_tiles + slot * Cfg::kATileBytes);
    const uint32_t b_base = smem_u32(b_tiles + slot * Cfg::kBTileBytes);
    float part[MI][NJ][4];
#pragma unroll
    for (int mi = 0; mi < MI; ++mi)
#pragma unroll
      for (int nj = 0; nj < NJ; ++nj)
#pragma unroll
        for (int e = 0; e < 4; ++e) part[mi][nj][e] = 0.0f;

#pragma unroll 1  // not unrolled: the JIT for sm_90 would otherwise run out of registers
    for (int ks = 0; ks < kTileK / 32; ++ks) {
      typename Mma::BFrag bf[NJ];
#pragma unroll
      for (int nj = 0; nj < NJ; nj += 2) {
        // matrices: (n8 fragment nj, K 0-15), (nj, K 16-31), (nj + 1, K 0-15), (nj + 1, K 16-31)
        const int r = warp_n * Cfg::kWarpN + nj * 8 + (lane & 7) + (lane >> 4) * 8;
        const int c = ks * 2 + ((lane >> 3) & 1);
        uint32_t b0[2], b1[2];
        ldmatrix_x4(b_base + swizzle(r, c), b0[0], b0[1], b1[0], b1[1]);
        bf[nj] = Mma::prepare_b(b0, p);
        bf[nj + 1] = Mma::prepare_b(b1, p);
      }
#pragma unroll
      for (int mi = 0; mi < MI; ++mi) {
        // matrices: rows 0-7 / 8-15 of the m16 fragment, K bytes 0-15 / 16-31 of the step
        const int r = warp_m * Cfg::kWarpM + mi * 16 + (lane & 7) + ((lane >> 3) & 1) * 8;
        const int c = ks * 2 + (lane >> 4);
        uint32_t af[4];
        ldmatrix_x4(a_base + swizzle(r, c), af[0], af[1], af[2], af[3]);
        Mma::mma_row(part[mi], af, bf, p);
      }
    }

    // promotion: this K block's partial sums, scaled, into the fp32 accumulator
    if (block_scaling) {
      const float* s = scales + slot * Cfg::kScaleFloats;
      const float sb = __fmul_rn(s[BM], p.operand_scale);
#pragma unroll
      for (int mi = 0; mi < MI; ++mi) {
        const int r = warp_m * Cfg::kWarpM + mi * 16 + (lane >> 2);
        const float s0 = __fmul_rn(s[r], sb), s1 = __fmul_rn(s[r + 8], sb);
#pragma unroll
        for (int nj = 0; nj < NJ; ++nj) {
          acc[mi][nj][0] = __fmaf_rn(part[mi][nj][0], s0, acc[mi][nj][0]);
          acc[mi][nj][1] = __fmaf_rn(part[mi][nj][1], s0, acc[mi][nj][1]);
          acc[mi][nj][2] = __fmaf_rn(part[mi][nj][2], s1, acc[mi][nj][2]);
          acc[mi][nj][3] = __fmaf_rn(part[mi][nj][3], s1, acc[mi][nj][3]);
        }
      }
    } else {
#pragma unroll
      for (int mi = 0; mi < MI; ++mi)
#pragma unroll
        for (int nj = 0; nj < NJ; ++nj)
#pragma unroll
          for (int e = 0; e < 4; ++e) acc[mi][nj][e] = __fmaf_rn(part[mi][nj][e], p.operand_scale, acc[mi][nj][e]);
    }
  }
  cp_async_wait<0>();

  // epilogue: thread holds rows g and g + 8, columns 2t and 2t + 1 of each m16 x n8 fragment
  const int g = lane >> 2, t4 = lane & 3;
#pragma unroll
  for (int mi = 0; mi < MI; ++mi) {
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int row = m0 + warp_m * Cfg::kWarpM + mi * 16 + g + half * 8;
      if (row >= p.m) continue;
      const float row_scale = block_scaling ? 1.0f : p.a_scales[row * p.as_row];
#pragma unroll
      for (int nj = 0; nj < NJ; ++nj) {
        const int col = n0 + warp_n * Cfg::kWarpN + nj * 8 + t4 * 2;
        if (col >= p.n) continue;
        const bool two = col + 1 < p.n;
        float v0 = acc[mi][nj][half * 2], v1 = acc[mi][nj][half * 2 + 1];
        if (!block_scaling) {
          v0 = __fmul_rn(v0, __fmul_rn(row_scale, p.b_scales[col * p.bs_row]));
          if (two) v1 = __fmul_rn(v1, __fmul_rn(row_scale, p.b_scales[(col + 1) * p.bs_row]));
        }
        if (p.splits > 1) {
          float* dst = p.partial + (static_cast<int64_t>(split) * p.m + row) * p.n + col;
          dst[0] = v0;
          if (two) dst[1] = v1;
          continue;
        }
        if (p.bias != nullptr) {
          v0 = __fadd_rn(v0, load_bias(p, col));
          if (two) v1 = __fadd_rn(v1, load_bias(p, col + 1));
        }
        const int64_t idx = static_cast<int64_t>(row) * p.ldd + col;
        if (two && p.vector_stores != 0) {
          store_two(p, idx, v0, v1);
        } else {
          store_one(p, idx, v0);
          if (two) store_one(p, idx + 1, v1);
        }
      }
    }
  }
}

/// Split K: D[m, n] = sum over splits, in split order, of partial[s, m, n] (+ bias), rounded once.
/// Templated on the policy only so that each architecture's object has its own symbol.
template <class Mma>
__global__ void __launch_bounds__(256) mma_sync_splitk_reduce_kernel(const MmaGemmParams p) {
  const int64_t total = static_cast<int64_t>(p.m) * p.n;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
    float v = 0.0f;
    for (int s = 0; s < p.splits; ++s) v = __fadd_rn(v, p.partial[s * total + i]);
    const int row = static_cast<int>(i / p.n), col = static_cast<int>(i % p.n);
    if (p.bias != nullptr) v = __fadd_rn(v, device::load_bias(p, col));
    device::store_one(p, static_cast<int64_t>(row) * p.ldd + col, v);
  }
}

template <class Mma, class Cfg>
void launch_tile(const MmaGemmPlan& plan, cudaStream_t stream, const char* backend) {
  FP8KIT_CHECK(plan.threads == Cfg::kThreads, backend, ": plan for ", plan.threads, " threads, kernel has ",
               Cfg::kThreads);
  const auto kernel = &mma_sync_gemm_kernel<Mma, Cfg>;
  FP8KIT_CUDA_CHECK(
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(plan.smem_bytes)));
  kernel<<<dim3(plan.grid_x, plan.grid_y), Cfg::kThreads, plan.smem_bytes, stream>>>(plan.params);
  FP8KIT_CUDA_CHECK_LAUNCH(backend);
}

/// Plans and enqueues the GEMM on p.stream (split-K partial sums in the stream's workspace).
template <class Mma>
void run_mma_sync_gemm(const core::GemmProblem& p, bool widen_to_f16, const char* backend) {
  DeviceGuard guard(p.device.index);
  const auto stream = static_cast<cudaStream_t>(p.stream);
  MmaGemmPlan plan = plan_mma_gemm(p, widen_to_f16);
  auto launch = [&] {
    if (plan.tile == TileShape::large) {
      launch_tile<Mma, LargeTile>(plan, stream, backend);
    } else {
      launch_tile<Mma, SmallTile>(plan, stream, backend);
    }
    if (plan.params.splits > 1) {
      const int64_t total = static_cast<int64_t>(plan.params.m) * plan.params.n;
      const int64_t blocks = (total + 255) / 256;
      mma_sync_splitk_reduce_kernel<Mma>
          <<<static_cast<unsigned>(blocks < (1 << 20) ? blocks : (1 << 20)), 256, 0, stream>>>(plan.params);
      FP8KIT_CUDA_CHECK_LAUNCH(backend);
    }
  };
  if (plan.workspace_bytes > 0) {
    const WorkspaceLease lease = acquire_workspace(p.device.index, stream, plan.workspace_bytes);
    plan.params.partial = static_cast<float*>(lease.data());
    launch();
  } else {
    launch();
  }
}

}  // namespace fp8kit::cuda::mma_sync
