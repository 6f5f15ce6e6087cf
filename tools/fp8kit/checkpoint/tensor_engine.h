// tensor_engine.h: runs fp8kit::quantize / dequantize on host buffers, on the CPU or through a CUDA
// device (copying in and out of device buffers that are kept and grown across tensors).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fp8kit/fp8kit.h"

namespace fp8kit::checkpoint {

enum class DeviceChoice : uint8_t { automatic, cpu, cuda };

/// "auto" / "cpu" / "cuda"; nullopt otherwise.
std::optional<DeviceChoice> parse_device(std::string_view s);

/// Host-side description of a contiguous tensor: the engine builds the views.
struct HostTensor {
  void* data = nullptr;
  DType dtype = DType::f32;
  int64_t rows = 0, cols = 0;  // matrix view of the tensor
};

/// Host scale grid (contiguous, row-major [rows, cols]) in f32 or ue8m0.
struct HostScales {
  void* data = nullptr;
  DType dtype = DType::f32;
  int64_t rows = 0, cols = 0;
};

class TensorEngine {
 public:
  /// automatic: CUDA when a GPU is usable (a tensor the CUDA kernels refuse runs on the CPU), else
  /// CPU. cuda: throws if no GPU is usable or the kernels refuse a tensor.
  explicit TensorEngine(DeviceChoice choice);
  ~TensorEngine();
  TensorEngine(const TensorEngine&) = delete;
  TensorEngine& operator=(const TensorEngine&) = delete;

  /// q, s = quantize(x) per spec; all host memory.
  void quantize(const HostTensor& x, const HostTensor& q, const HostScales& s, const ScaleSpec& spec);
  /// y = dequantize(q, s) per spec; all host memory.
  void dequantize(const HostTensor& q, const HostScales& s, const HostTensor& y, const ScaleSpec& spec);

  /// "cpu (2 threads)" or "cuda:0 NVIDIA H100 ..." for the run summary.
  std::string description() const;
  bool on_gpu() const { return device_.is_cuda(); }

 private:
  struct DeviceBuffer {
    void* ptr = nullptr;
    size_t bytes = 0;
  };
  void* staged(DeviceBuffer& b, size_t bytes);

  Device device_;
  bool fallback_to_cpu_ = false;
  DeviceBuffer in_, out_, scales_;
};

/// Page-locks the host buffers a conversion run reuses, so the engine's copies to and from the GPU run
/// at the bus's speed (pageable copies measured 5-6 GB/s on an H200 host and made `--device cuda`
/// slower than 16 CPU cores). A no-op for a CPU engine. Each buffer's whole capacity is registered once,
/// so it must not reallocate while registered (reserve first, resize within the capacity), and is
/// unregistered when this object dies: declare it after the buffers (and the write queue that pools
/// them), so it is destroyed before they are freed. A refused registration leaves pageable copies;
/// buffers under 1 MiB are left pageable.
class HostPinning {
 public:
  explicit HostPinning(const TensorEngine& engine) : active_(engine.on_gpu()) {}
  ~HostPinning();
  HostPinning(const HostPinning&) = delete;
  HostPinning& operator=(const HostPinning&) = delete;

  void add(std::vector<uint8_t>& buffer);

 private:
  bool active_;
  std::vector<void*> registered_;
};

}  // namespace fp8kit::checkpoint
