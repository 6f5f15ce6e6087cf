// bench_mma_sync_ceiling.cu: the tensor-core ceiling of the portable GEMM backends' instruction mix on
// this card, measured without global memory, so their TFLOP/s can be read as a fraction of it.
//
// Each warp multiplies a 64 x 32 tile (4 m16 x 4 n8 fragments, the warp tile of cuda_fp8_mma's and
// cuda_bf16_mma's large tile) over and over: per 32-deep K step it loads its fragments from shared
// memory with ldmatrix.x4 and issues 16 mma.sync, either
//   fp8  mma.sync.m16n8k32 e4m3 (cuda_fp8_mma; on sm_90 ptxas turns each into F2FP unpacks and two
//        HMMA.16816, on sm_89 it is one QMMA), or
//   f16  two mma.sync.m16n8k16 f16 (the instruction cuda_bf16_mma issues after widening FP8 to f16).
// The fragments change every step (they are loaded), so conversions cannot be hoisted out of the loop.
// Run with 8 and with 16 warps per SM: the portable kernels' large tile has 8.
//
//   fp8kit_bench_mma_sync_ceiling [--iters N]
#include <cuda_runtime.h>

#include <cstdint>
#include <cstdio>
#include <exception>

#include "cuda/common/cuda_check.h"
#include "cuda/iters_option.h"

namespace {

constexpr int kMi = 4, kNj = 4;         // m16 and n8 fragments per warp: a 64 x 32 warp tile
constexpr int kWarps = 8;               // per block
constexpr int kRowBytes = 64;          // shared operand rows the fragments are read from (any bytes)
constexpr int kBRows = 16 * kNj / 2;    // B: kNj / 2 ldmatrix.x4 of 16 rows each
constexpr int kARows = 16 * kMi;        // A: kMi ldmatrix.x4 of 16 rows each, after B
constexpr int kTileBytes = (kBRows + kARows) * kRowBytes;

__device__ __forceinline__ void ldmatrix_x4(uint32_t addr, uint32_t (&r)[4]) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}

/// c += a * b for one m16 x n8 fragment pair with the PTX mma.sync `instruction` (A 4, B 2 registers).
#define BENCH_MMA_SYNC(instruction, c, a, b0, b1)                                                \
  asm volatile(instruction " {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n" \
               : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])                                  \
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1))

/// kFp8: one m16n8k32 e4m3 per (mi, nj) and K step; else two m16n8k16 f16 (the same 32-deep K step).
template <bool kFp8>
__global__ void __launch_bounds__(32 * kWarps) mma_loop(float* out, int iters) {
  __shared__ __align__(128) uint8_t tile[kTileBytes];
  for (int i = static_cast<int>(threadIdx.x); i < kTileBytes; i += blockDim.x) {
    tile[i] = static_cast<uint8_t>(0x30 + (i * 7) % 13);  // small normal values in e4m3 and f16 alike
  }
  __syncthreads();
  const int lane = static_cast<int>(threadIdx.x) & 31;
  const uint32_t base = static_cast<uint32_t>(__cvta_generic_to_shared(tile));
  float c[kMi][kNj][4] = {};
  for (int it = 0; it < iters; ++it) {
    // addresses move with the step so every load is a new one (16-byte chunks of 64-byte rows)
    const uint32_t step = static_cast<uint32_t>((it & 3) * 16);
#pragma unroll
    for (int sub = 0; sub < (kFp8 ? 1 : 2); ++sub) {
      uint32_t b[kNj / 2][4];
#pragma unroll
      for (int j = 0; j < kNj / 2; ++j) {
        ldmatrix_x4(base + (j * 16 + (lane & 15)) * kRowBytes + ((step + sub * 32) & (kRowBytes - 1)), b[j]);
      }
#pragma unroll
      for (int mi = 0; mi < kMi; ++mi) {
        uint32_t a[4];
        const int row = kBRows + mi * 16 + (lane & 15);
        ldmatrix_x4(base + row * kRowBytes + ((step + 16 * (lane >> 4) + sub * 32) & (kRowBytes - 1)), a);
#pragma unroll
        for (int nj = 0; nj < kNj; ++nj) {
          const uint32_t b0 = b[nj / 2][(nj & 1) * 2], b1 = b[nj / 2][(nj & 1) * 2 + 1];
          if constexpr (kFp8) {
            BENCH_MMA_SYNC("mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e4m3.f32", c[mi][nj], a, b0, b1);
          } else {
            BENCH_MMA_SYNC("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32", c[mi][nj], a, b0, b1);
          }
        }
      }
    }
  }
  float sum = 0.0f;
#pragma unroll
  for (int mi = 0; mi < kMi; ++mi)
#pragma unroll
    for (int nj = 0; nj < kNj; ++nj) sum += c[mi][nj][0] + c[mi][nj][1] + c[mi][nj][2] + c[mi][nj][3];
  out[blockIdx.x * blockDim.x + threadIdx.x] = sum;
}

/// TFLOP/s of `blocks` blocks running `iters` K steps each (best of 5 launches after a warm-up).
template <bool kFp8>
double measure(int blocks, int iters, float* out) {
  cudaEvent_t start, stop;
  FP8KIT_CUDA_CHECK(cudaEventCreate(&start));
  FP8KIT_CUDA_CHECK(cudaEventCreate(&stop));
  mma_loop<kFp8><<<blocks, 32 * kWarps>>>(out, iters);
  FP8KIT_CUDA_CHECK_LAUNCH("mma_loop");
  float best_ms = 1e30f;
  for (int r = 0; r < 5; ++r) {
    FP8KIT_CUDA_CHECK(cudaEventRecord(start));
    mma_loop<kFp8><<<blocks, 32 * kWarps>>>(out, iters);
    FP8KIT_CUDA_CHECK(cudaEventRecord(stop));
    FP8KIT_CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0.0f;
    FP8KIT_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    best_ms = ms < best_ms ? ms : best_ms;
  }
  FP8KIT_CUDA_CHECK(cudaEventDestroy(start));
  FP8KIT_CUDA_CHECK(cudaEventDestroy(stop));
  // per warp and K step: kMi x kNj products of 16 x 8 x 32
  const double flops = 2.0 * blocks * kWarps * static_cast<double>(iters) * kMi * kNj * 16 * 8 * 32;
  return flops / (best_ms * 1e-3) / 1e12;
}

}  // namespace

int run(int argc, char** argv) {
  const int iters = fp8kit::bench::iters_option(argc, argv, 20000);
  if (iters < 0) return 2;
  cudaDeviceProp prop{};
  FP8KIT_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  const int sms = prop.multiProcessorCount;
  float* out = nullptr;
  FP8KIT_CUDA_CHECK(cudaMalloc(&out, sizeof(float) * 32 * kWarps * sms * 2));
  std::printf("mma.sync ceiling on %s (sm_%d%d, %d SMs), 64 x 32 warp tile fed by ldmatrix, %d K steps per warp\n",
              prop.name, prop.major, prop.minor, sms, iters);
  std::printf("%-44s %14s %14s\n", "instruction mix", "8 warps/SM", "16 warps/SM");
  std::printf("%-44s %9.0f TF/s %9.0f TF/s\n", "fp8 m16n8k32 e4m3 (cuda_fp8_mma)", measure<true>(sms, iters, out),
              measure<true>(2 * sms, iters, out));
  std::printf("%-44s %9.0f TF/s %9.0f TF/s\n", "f16 m16n8k16 x 2 (cuda_bf16_mma after widening)",
              measure<false>(sms, iters, out), measure<false>(2 * sms, iters, out));
  FP8KIT_CUDA_CHECK(cudaFree(out));
  return 0;
}

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fp8kit_bench_mma_sync_ceiling: %s\n", e.what());
    return 1;
  }
}
