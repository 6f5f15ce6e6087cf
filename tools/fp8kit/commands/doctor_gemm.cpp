// doctor_gemm.cpp: `fp8kit doctor`'s GEMM report. Each shape class is described by a representative
// problem whose tensors carry placeholder addresses: dispatch only inspects shapes, dtypes, strides and
// alignment, and never dereferences them.
#include "commands/doctor_gemm.h"

#include <cstdint>
#include <cstdio>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "fp8kit/fp8kit.h"

namespace fp8kit::cli {
namespace {

const Backend kGemmBackends[] = {Backend::cublaslt, Backend::cuda_sm90, Backend::cuda_fp8_mma, Backend::cuda_bf16_mma};

void* placeholder(int slot) { return reinterpret_cast<void*>(uintptr_t{1} << 44 | uintptr_t(slot) << 36); }

GemmArgs describe(int64_t m, int64_t n, int64_t k, GemmScaling scaling, const Device& dev) {
  const int64_t l = (k + 127) / 128;
  GemmArgs a;
  a.a = TensorView::contiguous(placeholder(1), DType::e4m3fn, {m, k}, dev);
  a.b = TensorView::contiguous(placeholder(2), DType::e4m3fn, {n, k}, dev);
  if (scaling == GemmScaling::block) {
    a.a_scales = TensorView::contiguous(placeholder(3), DType::f32, {m, l}, dev);
    a.b_scales = TensorView::contiguous(placeholder(4), DType::f32, {(n + 127) / 128, l}, dev);
  } else {
    a.a_scales = TensorView::contiguous(placeholder(3), DType::f32, {m}, dev);
    a.b_scales = TensorView::contiguous(placeholder(4), DType::f32, {n}, dev);
  }
  a.d = TensorView::contiguous(placeholder(5), DType::bf16, {m, n}, dev);
  a.scaling = scaling;
  return a;
}

struct ShapeClass {
  const char* name;
  int64_t m, n, k;
};

const ShapeClass kClasses[] = {
    {"decode M<=64, N,K multiples of 128", 16, 7168, 2048},
    {"decode M<=64, ragged N,K", 16, 2112, 576},
    {"decode M<=64, K not a multiple of 16", 16, 2112, 1000},
    {"M<=128, N,K multiples of 128", 128, 7168, 2048},
    {"M<=128, ragged N,K", 128, 2112, 576},
    {"M<=128, K not a multiple of 16", 128, 2112, 1000},
    {"large M, wide (N > 2304, K > 512)", 4096, 7168, 2048},
    {"large M, narrow N (<= 2304)", 4096, 2112, 7168},
    {"large M, short K (<= 512)", 4096, 32768, 512},
    {"large M, ragged N,K", 4096, 2112, 576},
    {"large M, K not a multiple of 16", 4096, 2112, 1000},
};
}  // namespace

void print_gemm_paths(const GpuInfo& g) {
  const Device dev = Device::cuda(g.ordinal);
  std::printf("gemm on cuda:%d (bf16 output; automatic choice, then the other backends that accept):\n", g.ordinal);
  std::map<std::string, std::vector<std::string>> refusals;  // "backend: reason" -> classes
  for (GemmScaling scaling : {GemmScaling::block, GemmScaling::row}) {
    for (const ShapeClass& c : kClasses) {
      const GemmArgs args = describe(c.m, c.n, c.k, scaling, dev);
      const std::string cls = std::string(scaling == GemmScaling::block ? "block " : "row ") + c.name;
      std::string chosen = "none", others;
      try {
        chosen = std::string(backend_name(choose_gemm_backend(args)));
      } catch (const Error&) {
        chosen = "NONE (see below)";
      }
      for (Backend b : kGemmBackends) {
        GemmOptions o;
        o.backend = b;
        const Verdict v = can_gemm(args, o);
        const std::string name(backend_name(b));
        if (v.ok) {
          if (name != chosen) others += (others.empty() ? "" : ", ") + name;
          continue;
        }
        // the dispatcher's message lists "\n  <backend>: <reason>"; keep the reason
        const std::string marker = "\n  " + name + ": ";
        const size_t at = v.reason.find(marker);
        std::string reason = at == std::string::npos ? v.reason : v.reason.substr(at + marker.size());
        const size_t source = reason.rfind(" [");
        if (source != std::string::npos) reason.resize(source);
        refusals[name + ": " + reason].push_back(cls);
      }
      const std::string also = others.empty() ? std::string() : " (also: " + others + ")";
      std::printf("  %-46s %5lld x %5lld x %5lld  %s%s\n", cls.c_str(), static_cast<long long>(c.m),
                  static_cast<long long>(c.n), static_cast<long long>(c.k), chosen.c_str(), also.c_str());
    }
  }
  if (!refusals.empty()) std::printf("  refusals:\n");
  for (const auto& [why, classes] : refusals) {
    std::printf("    %s\n      (%zu of %zu classes", why.c_str(), classes.size(), 2 * std::size(kClasses));
    if (classes.size() <= 3) {
      for (const std::string& c : classes) std::printf("; %s", c.c_str());
    }
    std::printf(")\n");
  }
}

}  // namespace fp8kit::cli
