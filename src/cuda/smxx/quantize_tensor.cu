// quantize_tensor.cu: launcher of per-tensor quantization (quantize_tensor.cuh). The amax word lives
// in stream-ordered memory (cudaMallocAsync on the caller's stream), so concurrent calls on different
// streams never share it.
#include <algorithm>

#include "cuda/common/cuda_check.h"
#include "cuda/smxx/launchers.h"
#include "cuda/smxx/quantize_tensor.cuh"

namespace fp8kit::cuda::smxx {
namespace {

/// One uint32 of stream-ordered device memory, freed on the same stream when the scope ends.
class StreamWord {
 public:
  explicit StreamWord(cudaStream_t stream) : stream_(stream) {
    FP8KIT_CUDA_CHECK(cudaMallocAsync(&ptr_, sizeof(uint32_t), stream_));
  }
  ~StreamWord() { cudaFreeAsync(ptr_, stream_); }
  StreamWord(const StreamWord&) = delete;
  StreamWord& operator=(const StreamWord&) = delete;
  uint32_t* get() const { return static_cast<uint32_t*>(ptr_); }

 private:
  cudaStream_t stream_;
  void* ptr_ = nullptr;
};

template <DType T>
void launch_for_input(TensorParams t, int64_t rows, Fp8Format f, const LaunchContext& c) {
  // A few waves of resident blocks; the grid-stride loops take the rest.
  const int64_t cap = int64_t{8} * c.multiprocessors;
  const int64_t per_block = int64_t{kTensorThreads} * kTensorUnroll;
  for_each_row_range(rows, t.units_per_row, [&](int64_t first, int64_t count) {
    t.row_begin = first;
    t.rows = static_cast<uint32_t>(count);
    smxx_tensor_amax_kernel<T><<<grid_blocks(count * t.units_per_row, per_block, cap), kTensorThreads, 0, c.stream>>>(t);
    FP8KIT_CUDA_CHECK_LAUNCH("smxx_tensor_amax_kernel");
  });
  // rows == 0 still launches once, so the scale (1) of an empty tensor is written.
  int64_t first = 0;
  do {
    const int64_t count = std::min(rows - first, std::max<int64_t>(1, kMaxIndex32 / std::max<uint32_t>(1, t.units_per_row)));
    t.row_begin = first;
    t.rows = static_cast<uint32_t>(count);
    const uint32_t blocks = grid_blocks(count * t.units_per_row, per_block, cap);
    if (f == Fp8Format::e5m2) {
      smxx_tensor_quantize_kernel<T, Fp8Format::e5m2><<<blocks, kTensorThreads, 0, c.stream>>>(t);
    } else {
      smxx_tensor_quantize_kernel<T, Fp8Format::e4m3fn><<<blocks, kTensorThreads, 0, c.stream>>>(t);
    }
    FP8KIT_CUDA_CHECK_LAUNCH("smxx_tensor_quantize_kernel");
    first += count;
  } while (first < rows);
}

}  // namespace

bool quantize_tensor_fits(const core::QuantizeProblem& p) { return p.x.cols < kMaxIndex32; }

void launch_quantize_tensor(const core::QuantizeProblem& p, const LaunchContext& c) {
  const int64_t vec = vector_width(p.x.dtype);
  TensorParams t;
  t.x = p.x.data;
  t.x_ld = p.x.ld;
  t.q = static_cast<uint8_t*>(p.q.data);
  t.q_ld = p.q.ld;
  t.s = scale_target(p.s);
  t.rule = scale_rule(p.q.dtype, p.rounding, p.amax_upper_bound);
  t.cols = static_cast<uint32_t>(p.x.cols);
  t.vector = p.x.cols % vec == 0 && rows_aligned(p.x.data, p.x.ld, p.x.rows, dtype_size(p.x.dtype), 16) &&
             rows_aligned(p.q.data, p.q.ld, p.q.rows, 1, static_cast<int>(vec));
  t.units_per_row = static_cast<uint32_t>(t.vector ? p.x.cols / vec : p.x.cols);
  t.contiguous = (p.x.rows <= 1 || p.x.ld == p.x.cols) && (p.q.rows <= 1 || p.q.ld == p.q.cols);

  const StreamWord word(c.stream);
  t.amax_bits = word.get();
  FP8KIT_CUDA_CHECK(cudaMemsetAsync(t.amax_bits, 0, sizeof(uint32_t), c.stream));
  const Fp8Format f = format_of(p.q.dtype);
  switch (p.x.dtype) {
    case DType::f32: launch_for_input<DType::f32>(t, p.x.rows, f, c); break;
    case DType::f16: launch_for_input<DType::f16>(t, p.x.rows, f, c); break;
    case DType::bf16: launch_for_input<DType::bf16>(t, p.x.rows, f, c); break;
    default: FP8KIT_FAIL("quantize: unsupported input dtype ", dtype_name(p.x.dtype));
  }
}

}  // namespace fp8kit::cuda::smxx
