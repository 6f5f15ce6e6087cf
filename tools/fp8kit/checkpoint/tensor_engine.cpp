// tensor_engine.cpp: host or device execution of the library's quantize / dequantize.
#include "checkpoint/tensor_engine.h"

#include "cuda/cuda_backend.h"

namespace fp8kit::checkpoint {
namespace {

TensorView view(void* data, DType dtype, int64_t rows, int64_t cols, const Device& d) {
  return TensorView::contiguous(data, dtype, {rows, cols}, d);
}

size_t bytes_of(DType t, int64_t rows, int64_t cols) {
  return static_cast<size_t>(rows) * static_cast<size_t>(cols) * static_cast<size_t>(dtype_size(t));
}

}  // namespace

std::optional<DeviceChoice> parse_device(std::string_view s) {
  if (s == "auto") return DeviceChoice::automatic;
  if (s == "cpu") return DeviceChoice::cpu;
  if (s == "cuda") return DeviceChoice::cuda;
  return std::nullopt;
}

TensorEngine::TensorEngine(DeviceChoice choice) {
  if (choice == DeviceChoice::cpu) return;
  const Capabilities& caps = capabilities();
  if (caps.gpus.empty()) {
    FP8KIT_CHECK(choice != DeviceChoice::cuda, "--device cuda: no usable CUDA GPU (", caps.cuda_status, ")");
    return;
  }
  device_ = Device::cuda(caps.gpus.front().ordinal);
  fallback_to_cpu_ = choice == DeviceChoice::automatic;
}

TensorEngine::~TensorEngine() {
  for (DeviceBuffer* b : {&in_, &out_, &scales_}) {
    if (b->ptr != nullptr) cuda::device_free(b->ptr);
  }
}

void* TensorEngine::staged(DeviceBuffer& b, size_t bytes) {
  if (bytes > b.bytes) {
    if (b.ptr != nullptr) cuda::device_free(b.ptr);
    b.ptr = nullptr;
    b.ptr = cuda::device_alloc(bytes, device_.index);
    b.bytes = bytes;
  }
  return b.ptr;
}

void TensorEngine::quantize(const HostTensor& x, const HostTensor& q, const HostScales& s, const ScaleSpec& spec) {
  if (!device_.is_cuda()) {
    fp8kit::quantize(view(x.data, x.dtype, x.rows, x.cols, device_), view(q.data, q.dtype, q.rows, q.cols, device_),
                     view(s.data, s.dtype, s.rows, s.cols, device_), spec);
    return;
  }
  const size_t xb = bytes_of(x.dtype, x.rows, x.cols), qb = bytes_of(q.dtype, q.rows, q.cols);
  const size_t sb = bytes_of(s.dtype, s.rows, s.cols);
  void* dx = staged(in_, xb);
  void* dq = staged(out_, qb);
  void* ds = staged(scales_, sb);
  const TensorView vx = view(dx, x.dtype, x.rows, x.cols, device_), vq = view(dq, q.dtype, q.rows, q.cols, device_);
  const TensorView vs = view(ds, s.dtype, s.rows, s.cols, device_);
  if (fallback_to_cpu_ && !can_quantize(vx, vq, vs, spec)) {
    const Device cpu = Device::cpu();
    fp8kit::quantize(view(x.data, x.dtype, x.rows, x.cols, cpu), view(q.data, q.dtype, q.rows, q.cols, cpu),
                     view(s.data, s.dtype, s.rows, s.cols, cpu), spec);
    return;
  }
  cuda::copy_to_device(dx, x.data, xb);
  fp8kit::quantize(vx, vq, vs, spec);
  cuda::synchronize(device_.index);
  cuda::copy_to_host(q.data, dq, qb);
  cuda::copy_to_host(s.data, ds, sb);
}

void TensorEngine::dequantize(const HostTensor& q, const HostScales& s, const HostTensor& y, const ScaleSpec& spec) {
  if (!device_.is_cuda()) {
    fp8kit::dequantize(view(q.data, q.dtype, q.rows, q.cols, device_), view(s.data, s.dtype, s.rows, s.cols, device_),
                       view(y.data, y.dtype, y.rows, y.cols, device_), spec);
    return;
  }
  const size_t qb = bytes_of(q.dtype, q.rows, q.cols), yb = bytes_of(y.dtype, y.rows, y.cols);
  const size_t sb = bytes_of(s.dtype, s.rows, s.cols);
  void* dq = staged(in_, qb);
  void* dy = staged(out_, yb);
  void* ds = staged(scales_, sb);
  const TensorView vq = view(dq, q.dtype, q.rows, q.cols, device_), vs = view(ds, s.dtype, s.rows, s.cols, device_);
  const TensorView vy = view(dy, y.dtype, y.rows, y.cols, device_);
  if (fallback_to_cpu_ && !can_dequantize(vq, vs, vy, spec)) {
    const Device cpu = Device::cpu();
    fp8kit::dequantize(view(q.data, q.dtype, q.rows, q.cols, cpu), view(s.data, s.dtype, s.rows, s.cols, cpu),
                       view(y.data, y.dtype, y.rows, y.cols, cpu), spec);
    return;
  }
  cuda::copy_to_device(dq, q.data, qb);
  cuda::copy_to_device(ds, s.data, sb);
  fp8kit::dequantize(vq, vs, vy, spec);
  cuda::synchronize(device_.index);
  cuda::copy_to_host(y.data, dy, yb);
}

HostPinning::~HostPinning() {
  for (void* ptr : registered_) cuda::host_unregister(ptr);
}

void HostPinning::add(std::vector<uint8_t>& buffer) {
  // Buffers under 1 MiB stay pageable: their copies are latency-bound, and a heap page they share
  // with another registered buffer cannot be registered twice.
  constexpr size_t kMinBytes = size_t{1} << 20;
  if (!active_ || buffer.capacity() < kMinBytes) return;
  if (cuda::host_register(buffer.data(), buffer.capacity())) registered_.push_back(buffer.data());
}

std::string TensorEngine::description() const {
  if (!device_.is_cuda()) return detail::concat("cpu, threads: ", capabilities().cpu_threads);
  for (const GpuInfo& g : capabilities().gpus) {
    if (g.ordinal == device_.index) return detail::concat(to_string(device_), " ", g.name);
  }
  return to_string(device_);
}

}  // namespace fp8kit::checkpoint
