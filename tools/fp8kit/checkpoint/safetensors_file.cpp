// safetensors_file.cpp: mapping + header validation.
#include "checkpoint/safetensors_file.h"

namespace fp8kit::checkpoint {

SafetensorsFile::SafetensorsFile(const std::string& path)
    : map_(path), header_(parse_safetensors_header(map_.data(), map_.size(), path)) {
  // The header pages are not needed again.
  map_.release(0, header_.buffer_offset());
  for (size_t i = 0; i < header_.tensors.size(); ++i) by_name_.emplace(header_.tensors[i].name, i);
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
  const auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &header_.tensors[it->second];
}

}  // namespace fp8kit::checkpoint
