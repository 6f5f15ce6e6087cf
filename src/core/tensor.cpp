// tensor.cpp: TensorView constructors and descriptions.
#include "fp8kit/tensor.h"

#include <sstream>

#include "fp8kit/error.h"

namespace fp8kit {

std::string to_string(const Device& d) {
  return d.kind == Device::Kind::cpu ? std::string("cpu") : "cuda:" + std::to_string(d.index);
}

TensorView TensorView::contiguous(void* data, DType dtype, std::initializer_list<int64_t> shape, Device device) {
  FP8KIT_CHECK(shape.size() <= static_cast<size_t>(kMaxRank), "TensorView: rank ", shape.size(),
               " exceeds the maximum of ", kMaxRank);
  TensorView t;
  t.data = data;
  t.dtype = dtype;
  t.device = device;
  t.rank = static_cast<int>(shape.size());
  int i = 0;
  for (int64_t s : shape) t.shape[i++] = s;
  int64_t stride = 1;
  for (int d = t.rank - 1; d >= 0; --d) {
    t.strides[d] = stride;
    stride *= t.shape[d];
  }
  return t;
}

TensorView TensorView::matrix(void* data, DType dtype, int64_t rows, int64_t cols, int64_t ld, Device device) {
  TensorView t;
  t.data = data;
  t.dtype = dtype;
  t.device = device;
  t.rank = 2;
  t.shape[0] = rows;
  t.shape[1] = cols;
  t.strides[0] = ld;
  t.strides[1] = 1;
  return t;
}

TensorView TensorView::column_major(void* data, DType dtype, int64_t rows, int64_t cols, int64_t ld,
                                    Device device) {
  TensorView t = matrix(data, dtype, rows, cols, 1, device);
  t.strides[0] = 1;
  t.strides[1] = ld;
  return t;
}

int64_t TensorView::numel() const {
  FP8KIT_CHECK(rank >= 0 && rank <= kMaxRank, "TensorView: rank ", rank, " is outside 0..", kMaxRank);
  for (int d = 0; d < rank; ++d) {
    if (shape[d] == 0) return 0;
  }
  int64_t n = 1;
  for (int d = 0; d < rank; ++d) {
    FP8KIT_CHECK(!__builtin_mul_overflow(n, shape[d], &n), "TensorView: ", describe(*this),
                 " has more elements than a 64-bit count holds");
  }
  return n;
}

bool TensorView::is_contiguous() const {
  int64_t expected = 1;
  for (int d = rank - 1; d >= 0; --d) {
    if (shape[d] != 1 && strides[d] != expected) return false;
    expected *= shape[d];
  }
  return true;
}

std::string describe(const TensorView& t) {
  std::ostringstream out;
  if (t.rank < 0 || t.rank > kMaxRank) {
    out << dtype_name(t.dtype) << " of invalid rank " << t.rank << " on " << to_string(t.device);
    return out.str();
  }
  out << dtype_name(t.dtype) << "[";
  for (int d = 0; d < t.rank; ++d) out << (d ? ", " : "") << t.shape[d];
  out << "] strides [";
  for (int d = 0; d < t.rank; ++d) out << (d ? ", " : "") << t.strides[d];
  out << "] on " << to_string(t.device);
  return out.str();
}

}  // namespace fp8kit
