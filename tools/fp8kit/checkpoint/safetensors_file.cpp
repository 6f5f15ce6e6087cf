// safetensors_file.cpp: header reading + validation.
#include "checkpoint/safetensors_file.h"

#include <algorithm>

namespace fp8kit::checkpoint {
namespace {

/// The first bytes of the file that parse_safetensors_header needs: the length field and the header
/// it announces, at most what the file holds and the header size limit allows (the parser refuses the rest).
std::vector<uint8_t> header_bytes(const InputFile& f) {
  if (f.size() < 8) return f.read(0, f.size());
  std::vector<uint8_t> bytes = f.read(0, 8);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[static_cast<size_t>(i)];
  const uint64_t take = std::min({n, f.size() - 8, kMaxHeaderBytes});
  bytes.resize(8 + take);
  f.read(8, bytes.data() + 8, take);
  return bytes;
}

}  // namespace

SafetensorsFile::SafetensorsFile(const std::string& path)
    : file_(path), header_(parse_safetensors_header(header_bytes(file_).data(), file_.size(), path)) {
  for (size_t i = 0; i < header_.tensors.size(); ++i) by_name_.emplace(header_.tensors[i].name, i);
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
  const auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &header_.tensors[it->second];
}

}  // namespace fp8kit::checkpoint
