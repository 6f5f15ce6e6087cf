// doctor_gemm.cpp: `fp8kit doctor`'s GEMM report. Each shape class is described by a representative
// problem over real (uninitialised, never read) device buffers: dispatch checks that pointers are device
// memory of the right GPU, but runs nothing.
#include "commands/doctor_gemm.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "cuda/cuda_backend.h"
#include "fp8kit/fp8kit.h"

namespace fp8kit::cli {
namespace {

const Backend kGemmBackends[] = {Backend::cublaslt, Backend::cuda_sm90, Backend::cuda_fp8_mma, Backend::cuda_bf16_mma};

/// Device buffers large enough for every class's operands, freed on destruction.
class ProbeBuffers {
 public:
  ProbeBuffers(int ordinal, size_t a, size_t b, size_t as, size_t bs, size_t d) {
    for (size_t bytes : {a, b, as, bs, d}) ptrs_.push_back(cuda::device_alloc(bytes, ordinal));
  }
  ~ProbeBuffers() {
    for (void* p : ptrs_) cuda::device_free(p);
  }
  ProbeBuffers(const ProbeBuffers&) = delete;
  ProbeBuffers& operator=(const ProbeBuffers&) = delete;
  void* operator[](size_t i) const { return ptrs_[i]; }

 private:
  std::vector<void*> ptrs_;
};

GemmArgs describe(int64_t m, int64_t n, int64_t k, GemmScaling scaling, const Device& dev, const ProbeBuffers& buf) {
  const int64_t l = (k + 127) / 128;
  GemmArgs a;
  a.a = TensorView::contiguous(buf[0], DType::e4m3fn, {m, k}, dev);
  a.b = TensorView::contiguous(buf[1], DType::e4m3fn, {n, k}, dev);
  if (scaling == GemmScaling::block) {
    a.a_scales = TensorView::contiguous(buf[2], DType::f32, {m, l}, dev);
    a.b_scales = TensorView::contiguous(buf[3], DType::f32, {(n + 127) / 128, l}, dev);
  } else {
    a.a_scales = TensorView::contiguous(buf[2], DType::f32, {m}, dev);
    a.b_scales = TensorView::contiguous(buf[3], DType::f32, {n}, dev);
  }
  a.d = TensorView::contiguous(buf[4], DType::bf16, {m, n}, dev);
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
    {"large M, wide (N > 2304, K > 512)", 1024, 7168, 2048},
    {"large M, narrow N (<= 2304)", 1024, 2112, 7168},
    {"large M, short K (<= 512)", 1024, 32768, 512},
    {"large M, ragged N,K", 1024, 2112, 576},
    {"large M, K not a multiple of 16", 1024, 2112, 1000},
};
}  // namespace

void print_gemm_paths(const GpuInfo& g) {
  const Device dev = Device::cuda(g.ordinal);
  std::printf("gemm on cuda:%d (bf16 output; automatic choice, then the other backends that accept):\n", g.ordinal);
  std::map<std::string, std::vector<std::string>> refusals;  // "backend: reason" -> classes
  size_t a_bytes = 0, b_bytes = 0, as_bytes = 0, bs_bytes = 0, d_bytes = 0;
  for (const ShapeClass& c : kClasses) {
    const auto l = static_cast<size_t>((c.k + 127) / 128);
    a_bytes = std::max(a_bytes, static_cast<size_t>(c.m * c.k));
    b_bytes = std::max(b_bytes, static_cast<size_t>(c.n * c.k));
    as_bytes = std::max(as_bytes, static_cast<size_t>(c.m) * std::max<size_t>(l, 1) * 4);
    bs_bytes = std::max(bs_bytes, static_cast<size_t>(std::max<int64_t>((c.n + 127) / 128 * static_cast<int64_t>(l), c.n)) * 4);
    d_bytes = std::max(d_bytes, static_cast<size_t>(c.m * c.n) * 2);
  }
  const ProbeBuffers buf(g.ordinal, a_bytes, b_bytes, as_bytes, bs_bytes, d_bytes);
  for (GemmScaling scaling : {GemmScaling::block, GemmScaling::row}) {
    for (const ShapeClass& c : kClasses) {
      const GemmArgs args = describe(c.m, c.n, c.k, scaling, dev, buf);
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
