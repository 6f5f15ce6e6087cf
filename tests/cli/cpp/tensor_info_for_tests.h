// tensor_info_for_tests.h: a TensorInfo as a header would describe it (offsets from 0), for the
// checkpoint library's unit tests.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "checkpoint/safetensors_header.h"

namespace fp8kit::checkpoint {

inline TensorInfo tensor(std::string name, std::vector<int64_t> shape, StDType dtype = StDType::BF16) {
  TensorInfo t;
  t.name = std::move(name);
  t.shape = std::move(shape);
  t.dtype = dtype;
  t.end = tensor_nbytes(t.dtype, t.shape, "", t.name);
  return t;
}

}  // namespace fp8kit::checkpoint
