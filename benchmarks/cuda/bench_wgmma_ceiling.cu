// bench_wgmma_ceiling.cu: the consumer main loop of the Hopper GEMM (src/cuda/sm90) alone, with no
// producer, no global memory and no mbarrier waits, so that the GEMM's TFLOP/s can be split into what the
// wgmma + promotion loop itself reaches and what the loads cost.
//
// One or two consumer warpgroups per SM (one CTA per SM, like the GEMM), each owning 64 rows per wave of a
// (WARPGROUPS * 64 * WAVES) x N tile, multiply 128-deep K blocks read from shared memory (two copies of A and B
// with 128-byte swizzle, alternated like pipeline stages, random e4m3 codes) with 4 wgmma m64nNk32 per
// block and wave, in one of four loops:
//   accumulate      the tensor core accumulates across K blocks (no wait inside the loop): its peak
//   wait_each       the same, waiting for each wave's wgmma group before issuing the next
//   promote         the GEMM's run_single: scratch accumulator, wait, final += As * Bs * scratch (FFMA)
//   promote_double  the GEMM's run_double (one wave): K block kb + 1 issued before kb is promoted
//   promote_halves  two waves in column halves (m64n(N/2)k32): each K block is four groups (wave, half),
//                   group g + 1 issued before g is promoted, in two half-size scratch accumulators (the
//                   registers of promote's one full-size scratch)
// The SM clock is measured during the run (clock64 over %globaltimer), and every rate is also given as a
// fraction of the dense FP8 peak at that clock (4096 multiply-adds per clock per SM).
//
//   fp8kit_bench_wgmma_ceiling [--iters N]
#include <cuda_runtime.h>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <vector>

#include "cuda/common/cuda_check.h"
#include "cuda/iters_option.h"
#include "cuda/sm90/sm90_ptx.cuh"
#include "cuda/sm90/sm90_wgmma_fp8.cuh"

namespace {

using namespace fp8kit::cuda::sm90;

enum class Loop { accumulate, wait_each, promote, promote_double, promote_halves };
const char* loop_name(Loop l) {
  switch (l) {
    case Loop::accumulate: return "accumulate";
    case Loop::wait_each: return "wait_each";
    case Loop::promote: return "promote";
    case Loop::promote_double: return "promote_double";
    case Loop::promote_halves: return "promote_halves";
  }
  return "?";
}

constexpr int kBlockK = 128;
constexpr int kCopies = 2;       // operand copies, alternated per K block like pipeline stages
constexpr int kScaleRows = 256;  // A scales per copy (the largest tile's rows)

template <int kN, int kWaves, int kWgs>
struct Layout {
  static constexpr int kABytes = kWgs * kWaves * 64 * kBlockK;
  static constexpr int kBBytes = kN * kBlockK;
  static constexpr int kSmemBytes = 1024 + kCopies * (kABytes + kBBytes) + kCopies * kScaleRows * 4;
};

/// Per-block timing: SM clocks and nanoseconds between the first and the last K block.
struct Timing {
  unsigned long long cycles, ns;
};

__device__ __forceinline__ unsigned long long global_ns() {
  unsigned long long t;
  asm volatile("mov.u64 %0, %globaltimer;" : "=l"(t));
  return t;
}

/// One warpgroup's wgmma of width kMmaN (the tile's N, or half of it) over a tile of width kN, one of kWgs.
template <int kN, int kWaves, int kWgs, int kMmaN = kN>
struct WarpgroupLoop {
  using L = Layout<kN, kWaves, kWgs>;
  using W = WgmmaFp8<kMmaN>;
  static constexpr int kAcc = W::kAccumulators;
  const uint8_t* a;
  const uint8_t* b;
  const float* scales;
  int wg, row;

  /// Issues one K block of `wave` and of column part `part` (kMmaN columns from part * kMmaN).
  __device__ __forceinline__ void issue(float (&d)[kAcc], int copy, int wave, bool overwrite, int part = 0) const {
    const uint64_t desc_a =
        ptx::wgmma_desc_sw128(a + copy * L::kABytes + (wave * 64 * kWgs + wg * 64) * kBlockK);
    const uint64_t desc_b = ptx::wgmma_desc_sw128(b + copy * L::kBBytes + part * kMmaN * kBlockK);
#pragma unroll
    for (int i = 0; i < kAcc; ++i) ptx::fence_register(d[i]);
    ptx::wgmma_fence();
#pragma unroll
    for (int k = 0; k < kBlockK / 32; ++k) W::mma(d, desc_a + 2 * k, desc_b + 2 * k, (overwrite && k == 0) ? 0u : 1u);
    ptx::wgmma_commit();
#pragma unroll
    for (int i = 0; i < kAcc; ++i) ptx::fence_register(d[i]);
  }

  /// acc += As[row] * Bs * scratch (rows row and row + 8 of the fragment), like the GEMM's promotion.
  __device__ __forceinline__ void promote(float (&acc)[kAcc], float (&scratch)[kAcc], int copy, int wave) const {
#pragma unroll
    for (int i = 0; i < kAcc; ++i) ptx::fence_register(scratch[i]);
    const float* s = scales + copy * kScaleRows;
    const float sb = s[kScaleRows - 1];
    const int r = wave * 64 * kWgs + wg * 64 + row;
    const float s0 = s[r] * sb, s1 = s[r + 8] * sb;
#pragma unroll
    for (int j = 0; j < kAcc / 4; ++j) {
      acc[j * 4 + 0] = fmaf(s0, scratch[j * 4 + 0], acc[j * 4 + 0]);
      acc[j * 4 + 1] = fmaf(s0, scratch[j * 4 + 1], acc[j * 4 + 1]);
      acc[j * 4 + 2] = fmaf(s1, scratch[j * 4 + 2], acc[j * 4 + 2]);
      acc[j * 4 + 3] = fmaf(s1, scratch[j * 4 + 3], acc[j * 4 + 3]);
    }
  }
};

template <int kN, int kWaves, int kWgs, Loop kLoop>
__global__ void __launch_bounds__(256, 1) wgmma_loop(float* out, Timing* timing, int iters) {
  static_assert(kLoop != Loop::promote_double || kWaves == 1, "the double-buffered loop has one wave");
  static_assert(kLoop != Loop::promote_halves || kWaves == 2, "the column-halves loop has two waves");
  using L = Layout<kN, kWaves, kWgs>;
  using WL = WarpgroupLoop<kN, kWaves, kWgs>;
  using HL = WarpgroupLoop<kN, kWaves, kWgs, kLoop == Loop::promote_halves ? kN / 2 : kN>;  // column halves
  constexpr int kAcc = WL::kAcc;
  extern __shared__ uint8_t smem_raw[];
  uint8_t* smem = smem_raw + ((1024u - (ptx::smem_addr(smem_raw) & 1023u)) & 1023u);
  uint8_t* a = smem;
  uint8_t* b = a + kCopies * L::kABytes;
  float* scales = reinterpret_cast<float*>(b + kCopies * L::kBBytes);
  // Random e4m3 codes below 2 in magnitude (bit 6 clear: never NaN, sums stay finite).
  for (int i = static_cast<int>(threadIdx.x); i < kCopies * (L::kABytes + L::kBBytes); i += blockDim.x) {
    uint32_t h = static_cast<uint32_t>(i) * 2654435761u + blockIdx.x;
    h ^= h >> 15;
    h *= 2246822519u;
    h ^= h >> 13;
    smem[i] = static_cast<uint8_t>(h & 0xBFu);
  }
  for (int i = static_cast<int>(threadIdx.x); i < kCopies * kScaleRows; i += blockDim.x) {
    scales[i] = 1.0f + static_cast<float>(i % 7) * 0.125f;
  }
  __syncthreads();
  const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;
  const WL wl{a, b, scales, warp / 4, (warp % 4) * 16 + lane / 4};
  const HL hl{a, b, scales, warp / 4, (warp % 4) * 16 + lane / 4};

  float acc[kWaves][kAcc];
  float scratch0[kAcc], scratch1[kLoop == Loop::promote_double ? kAcc : 1];
#pragma unroll
  for (int w = 0; w < kWaves; ++w)
#pragma unroll
    for (int i = 0; i < kAcc; ++i) acc[w][i] = 0.0f;
#pragma unroll
  for (int i = 0; i < kAcc; ++i) scratch0[i] = 0.0f;
#pragma unroll
  for (int i = 0; i < (kLoop == Loop::promote_double ? kAcc : 1); ++i) scratch1[i] = 0.0f;

  const unsigned long long c0 = clock64(), t0 = global_ns();
  if constexpr (kLoop == Loop::accumulate || kLoop == Loop::wait_each) {
    for (int it = 0; it < iters; ++it) {
#pragma unroll
      for (int w = 0; w < kWaves; ++w) {
        wl.issue(acc[w], it & 1, w, false);
        if constexpr (kLoop == Loop::wait_each) ptx::wgmma_wait<0>();
      }
    }
    ptx::wgmma_wait<0>();
  } else if constexpr (kLoop == Loop::promote) {
    for (int it = 0; it < iters; ++it) {
#pragma unroll
      for (int w = 0; w < kWaves; ++w) {
        wl.issue(scratch0, it & 1, w, true);
        ptx::wgmma_wait<0>();
        wl.promote(acc[w], scratch0, it & 1, w);
      }
    }
  } else if constexpr (kLoop == Loop::promote_halves) {
    // Groups (wave, half) in the order (0,0) (0,1) (1,0) (1,1); even groups in h0, odd in h1; acc_h[2w + h]
    // is half h of wave w's accumulator (its registers replace acc's, h0 and h1 scratch0's). As in
    // promote_double, two K blocks per iteration and a peeled tail whose branches each run their own steps:
    // with one block per iteration, or with the tail's common steps before its branch, ptxas serialised
    // every wgmma (C7514).
    float acc_h[kWaves * 2][HL::kAcc], h0[HL::kAcc], h1[HL::kAcc];
#pragma unroll
    for (int i = 0; i < HL::kAcc; ++i) {
      h0[i] = h1[i] = 0.0f;
#pragma unroll
      for (int g = 0; g < kWaves * 2; ++g) acc_h[g][i] = 0.0f;
    }
    // Issues the next group into `next`, then promotes the group in `done` (complete once one is pending).
#define FP8KIT_HALVES_STEP(next, copy, wave, half, done, g, done_copy) \
  hl.issue(next, copy, wave, true, half);                              \
  ptx::wgmma_wait<1>();                                                \
  hl.promote(acc_h[g], done, done_copy, (g) / 2);
    // The first three steps of the block in `copy` (group (0,0) in h0, in flight), leaving (1,1) in h1.
#define FP8KIT_HALVES_FIRST3(copy)                   \
  FP8KIT_HALVES_STEP(h1, copy, 0, 1, h0, 0, copy);   \
  FP8KIT_HALVES_STEP(h0, copy, 1, 0, h1, 1, copy);   \
  FP8KIT_HALVES_STEP(h1, copy, 1, 1, h0, 2, copy);
    hl.issue(h0, 0, 0, true, 0);
    int it = 0;
    for (; it + 2 < iters; it += 2) {  // h0 holds group (0,0) of block it (copy 0), in flight
      FP8KIT_HALVES_FIRST3(0);
      FP8KIT_HALVES_STEP(h0, 1, 0, 0, h1, 3, 0);
      FP8KIT_HALVES_FIRST3(1);
      FP8KIT_HALVES_STEP(h0, 0, 0, 0, h1, 3, 1);
    }
    if (it + 1 < iters) {  // two blocks left
      FP8KIT_HALVES_FIRST3(0);
      FP8KIT_HALVES_STEP(h0, 1, 0, 0, h1, 3, 0);
      FP8KIT_HALVES_FIRST3(1);
    } else {
      FP8KIT_HALVES_FIRST3(0);
    }
    ptx::wgmma_wait<0>();
    hl.promote(acc_h[3], h1, (iters - 1) & 1, 1);
#pragma unroll
    for (int g = 0; g < kWaves * 2; ++g)
#pragma unroll
      for (int i = 0; i < HL::kAcc; ++i) acc[g / 2][(g % 2) * HL::kAcc + i] = acc_h[g][i];
#undef FP8KIT_HALVES_FIRST3
#undef FP8KIT_HALVES_STEP
  } else {
    // As the GEMM's run_double: the loop body issues unconditionally and the tail is peeled.
    wl.issue(scratch0, 0, 0, true);
    int it = 0;
    for (; it + 2 < iters; it += 2) {
      wl.issue(scratch1, 1, 0, true);
      ptx::wgmma_wait<1>();
      wl.promote(acc[0], scratch0, 0, 0);
      wl.issue(scratch0, 0, 0, true);
      ptx::wgmma_wait<1>();
      wl.promote(acc[0], scratch1, 1, 0);
    }
    if (it + 1 < iters) {
      wl.issue(scratch1, 1, 0, true);
      ptx::wgmma_wait<1>();
      wl.promote(acc[0], scratch0, 0, 0);
      ptx::wgmma_wait<0>();
      wl.promote(acc[0], scratch1, 1, 0);
    } else {
      ptx::wgmma_wait<0>();
      wl.promote(acc[0], scratch0, 0, 0);
    }
  }
  const unsigned long long c1 = clock64(), t1 = global_ns();

  float sum = 0.0f;
#pragma unroll
  for (int w = 0; w < kWaves; ++w)
#pragma unroll
    for (int i = 0; i < kAcc; ++i) sum += acc[w][i];
  out[blockIdx.x * blockDim.x + threadIdx.x] = sum;
  if (threadIdx.x == 0) timing[blockIdx.x] = Timing{c1 - c0, t1 - t0};
}

struct Result {
  double tflops, mhz;
};

/// TFLOP/s over `sms` CTAs (best of 5 launches after a warm-up) and the mean SM clock of the best launch.
template <int kN, int kWaves, int kWgs, Loop kLoop>
Result measure(int sms, int iters, float* out, Timing* timing) {
  using L = Layout<kN, kWaves, kWgs>;
  auto kernel = wgmma_loop<kN, kWaves, kWgs, kLoop>;
  FP8KIT_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, L::kSmemBytes));
  cudaEvent_t start, stop;
  FP8KIT_CUDA_CHECK(cudaEventCreate(&start));
  FP8KIT_CUDA_CHECK(cudaEventCreate(&stop));
  kernel<<<sms, 128 * kWgs, L::kSmemBytes>>>(out, timing, iters);
  FP8KIT_CUDA_CHECK_LAUNCH("wgmma_loop");
  float best_ms = 1e30f;
  double best_mhz = 0.0;
  std::vector<Timing> host(static_cast<size_t>(sms));
  for (int r = 0; r < 5; ++r) {
    FP8KIT_CUDA_CHECK(cudaEventRecord(start));
    kernel<<<sms, 128 * kWgs, L::kSmemBytes>>>(out, timing, iters);
    FP8KIT_CUDA_CHECK(cudaEventRecord(stop));
    FP8KIT_CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0.0f;
    FP8KIT_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    if (ms < best_ms) {
      best_ms = ms;
      FP8KIT_CUDA_CHECK(cudaMemcpy(host.data(), timing, sizeof(Timing) * host.size(), cudaMemcpyDeviceToHost));
      double cycles = 0.0, ns = 0.0;
      for (const Timing& t : host) {
        cycles += static_cast<double>(t.cycles);
        ns += static_cast<double>(t.ns);
      }
      best_mhz = ns > 0.0 ? cycles / ns * 1e3 : 0.0;
    }
  }
  FP8KIT_CUDA_CHECK(cudaEventDestroy(start));
  FP8KIT_CUDA_CHECK(cudaEventDestroy(stop));
  const double flops = 2.0 * sms * static_cast<double>(iters) * (kWgs * kWaves * 64) * kN * kBlockK;
  return {flops / (best_ms * 1e-3) / 1e12, best_mhz};
}

template <int kN, int kWaves, Loop kLoop, int kWgs = 2>
void report(const char* tile, int sms, int iters, float* out, Timing* timing) {
  const Result r = measure<kN, kWaves, kWgs, kLoop>(sms, iters, out, timing);
  const double peak = 2.0 * 4096.0 * sms * r.mhz * 1e6 / 1e12;  // dense FP8 at the measured clock
  // Clocks per K block of one CTA: its MACs at 4096 per clock, over the fraction of that peak reached.
  const double block_clocks = (kWgs * kWaves * 64.0) * kN * kBlockK / 4096.0 / (r.tflops / peak);
  std::printf("%-8s m64n%-3d x %d wave%s %d WG  %-15s %7.0f TF/s  %5.0f MHz  %5.1f%% of peak at that clock, "
              "%4.0f clocks per K block\n",
              tile, kLoop == Loop::promote_halves ? kN / 2 : kN, kWaves, kWaves > 1 ? "s" : " ", kWgs, loop_name(kLoop),
              r.tflops, r.mhz, 100.0 * r.tflops / peak, block_clocks);
}

}  // namespace

int run(int argc, char** argv) {
  const int iters = fp8kit::bench::iters_option(argc, argv, 8000);
  if (iters < 0) return 2;
  cudaDeviceProp prop{};
  FP8KIT_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  if (prop.major != 9) {
    std::printf("wgmma ceiling: needs an sm_90 GPU (this is sm_%d%d); nothing measured\n", prop.major, prop.minor);
    return 0;
  }
  const int sms = prop.multiProcessorCount;
  float* out = nullptr;
  Timing* timing = nullptr;
  FP8KIT_CUDA_CHECK(cudaMalloc(&out, sizeof(float) * 256 * sms));
  FP8KIT_CUDA_CHECK(cudaMalloc(&timing, sizeof(Timing) * sms));
  std::printf("wgmma ceiling on %s (%d SMs): one or two consumer warpgroups per SM, %d K blocks of 128, shared memory "
              "only\n",
              prop.name, sms, iters);
  report<256, 1, Loop::accumulate>("128x256", sms, iters, out, timing);
  report<128, 2, Loop::accumulate>("256x128", sms, iters, out, timing);
  report<128, 2, Loop::wait_each>("256x128", sms, iters, out, timing);
  report<128, 2, Loop::promote>("256x128", sms, iters, out, timing);
  report<128, 2, Loop::promote_halves>("256x128", sms, iters, out, timing);
  report<64, 2, Loop::accumulate>("256x64", sms, iters, out, timing);
  report<192, 1, Loop::accumulate>("128x192", sms, iters, out, timing);
  report<192, 1, Loop::wait_each>("128x192", sms, iters, out, timing);
  report<192, 1, Loop::promote>("128x192", sms, iters, out, timing);
  report<160, 1, Loop::promote>("128x160", sms, iters, out, timing);
  report<128, 1, Loop::accumulate>("128x128", sms, iters, out, timing);
  report<128, 1, Loop::wait_each>("128x128", sms, iters, out, timing);
  report<128, 1, Loop::promote>("128x128", sms, iters, out, timing);
  report<128, 1, Loop::promote_double>("128x128", sms, iters, out, timing);
  // The decode tiles: one consumer warpgroup.
  report<64, 1, Loop::accumulate, 1>("64x64", sms, iters, out, timing);
  report<64, 1, Loop::wait_each, 1>("64x64", sms, iters, out, timing);
  report<64, 1, Loop::promote_double, 1>("64x64", sms, iters, out, timing);
  report<128, 1, Loop::accumulate, 1>("64x128", sms, iters, out, timing);
  report<128, 1, Loop::wait_each, 1>("64x128", sms, iters, out, timing);
  report<128, 1, Loop::promote_double, 1>("64x128", sms, iters, out, timing);
  FP8KIT_CUDA_CHECK(cudaFree(out));
  FP8KIT_CUDA_CHECK(cudaFree(timing));
  return 0;
}

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fp8kit_bench_wgmma_ceiling: %s\n", e.what());
    return 1;
  }
}
