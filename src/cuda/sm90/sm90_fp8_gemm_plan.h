// sm90_fp8_gemm_plan.h: launch plans of the Hopper FP8 GEMM (tile shape, TMA multicast, split K, pipeline
// depth, persistent grid, rasterisation) and the planner that picks one per problem by a cost model.
// Internal: used by sm90_fp8_gemm.cpp, and by the tests and the benchmark to run every plan.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/problem.h"
#include "cuda/sm90/sm90_fp8_gemm_tiles.h"

namespace fp8kit::cuda::sm90 {

/// One complete launch of the kernel for one problem.
struct LaunchPlan {
  const TileConfig* tile = nullptr;
  bool multicast = false;  // clusters of 2 CTAs along M whose B tile is loaded once, multicast to both
  int split_k = 1;         // clusters of split_k CTAs along K, reduced through distributed shared memory
  bool tma_store = false;  // bf16/f16 epilogue staged in shared memory and written by TMA
  int stages = 0;          // shared-memory pipeline depth
  size_t smem_bytes = 0;
  int num_tiles = 0;       // tiles of one cluster each (see sm90_fp8_gemm_params.h)
  int grid = 0;            // CTAs of the persistent launch
  int group_n = 1;         // rasterisation group width (n-blocks)
  double predicted_us = 0.0;
  Overlap overlap = Overlap::setup;  // with the kernel before it in the stream (sm90_fp8_gemm_params.h)
  uint64_t* trace = nullptr;  // diagnostics: kTraceSlots timestamps per CTA (see sm90_fp8_gemm_params.h)

  int cluster_size() const { return multicast ? 2 : split_k; }
};

/// Every valid plan for `p` on its device, each with the cost model's predicted time. p must pass
/// supports_fp8_gemm.
std::vector<LaunchPlan> candidate_plans(const core::GemmProblem& p);

/// The candidate with the smallest predicted time.
LaunchPlan choose_plan(const core::GemmProblem& p);

/// A short description: tile, cluster use, stages, grid ("128x128 mc2 st6 grid132 gn8").
std::string describe(const LaunchPlan& plan);

/// Runs `p` with `plan` (a plan made for this problem) on p.stream.
void run_fp8_gemm(const core::GemmProblem& p, const LaunchPlan& plan);

}  // namespace fp8kit::cuda::sm90
