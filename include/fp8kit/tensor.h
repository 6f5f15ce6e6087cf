// fp8kit/tensor.h: a non-owning view of a strided tensor on the CPU or on a CUDA device.
//
// Shapes and strides are in elements (as in torch and DLPack). The library never allocates or frees
// what a view points to.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "fp8kit/dtype.h"

namespace fp8kit {

struct Device {
  enum class Kind : uint8_t { cpu, cuda };
  Kind kind = Kind::cpu;
  int index = 0;  // CUDA ordinal; 0 for the CPU

  static Device cpu() { return {}; }
  static Device cuda(int ordinal = 0) { return {Kind::cuda, ordinal}; }
  bool is_cuda() const { return kind == Kind::cuda; }
  friend bool operator==(const Device& a, const Device& b) { return a.kind == b.kind && a.index == b.index; }
};

/// "cpu" or "cuda:N".
std::string to_string(const Device& d);

inline constexpr int kMaxRank = 6;

struct TensorView {
  void* data = nullptr;
  DType dtype = DType::f32;
  int rank = 0;
  std::array<int64_t, kMaxRank> shape{};
  std::array<int64_t, kMaxRank> strides{};  // in elements; 0 broadcasts along that dimension
  Device device{};

  /// A row-major (C-order) view of `shape`.
  static TensorView contiguous(void* data, DType dtype, std::initializer_list<int64_t> shape,
                               Device device = Device::cpu());
  /// A 2-D view with an explicit row stride (ld >= cols) and unit column stride.
  static TensorView matrix(void* data, DType dtype, int64_t rows, int64_t cols, int64_t ld,
                           Device device = Device::cpu());
  /// A 2-D column-major view: element (i, j) at i + j * ld (ld >= rows). The M-major scale layout.
  static TensorView column_major(void* data, DType dtype, int64_t rows, int64_t cols, int64_t ld,
                                 Device device = Device::cpu());

  /// The number of elements (0 when any size is 0); throws fp8kit::Error when the product of the
  /// sizes does not fit in int64 or the rank is outside 0..kMaxRank.
  int64_t numel() const;
  bool defined() const { return data != nullptr || numel() == 0; }
  bool is_contiguous() const;
};

/// "bf16[4096, 7168] strides [7168, 1] on cuda:0" (for error messages).
std::string describe(const TensorView& t);

}  // namespace fp8kit
