// safetensors_header.h: parsing and full validation of a safetensors file's header.
//
// Layout (huggingface/safetensors): bytes 0-7 hold N, the header length (u64 little-endian); bytes
// 8..8+N a UTF-8 JSON object that starts with '{' (right-padded with spaces); then the byte buffer.
// The header maps tensor names to {"dtype", "shape", "data_offsets": [BEGIN, END]} (offsets relative
// to the buffer, END one past) and may hold "__metadata__", a flat string -> string map.
//
// Validation (the reference reader's rules, plus duplicate keys): N <= 100,000,000 and 8 + N <= file
// size; JSON starts with '{'; no duplicate keys; every dtype known; shape entries are non-negative
// integers whose product does not overflow; END - BEGIN == numel * bits / 8 with whole bytes; the
// tensors sorted by offset tile the buffer from 0 with no hole or overlap; 8 + N + buffer end == file
// size. Every failure names the file, the tensor and the problem.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "checkpoint/st_dtype.h"

namespace fp8kit::checkpoint {

inline constexpr uint64_t kMaxHeaderBytes = 100'000'000;

struct TensorInfo {
  std::string name;
  StDType dtype = StDType::F32;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // byte range within the buffer

  int64_t numel() const;
  uint64_t nbytes() const { return end - begin; }
};

struct SafetensorsHeader {
  uint64_t header_bytes = 0;              // N
  std::vector<TensorInfo> tensors;        // sorted by (begin, end, name): file order
  std::map<std::string, std::string> metadata;
  uint64_t buffer_offset() const { return 8 + header_bytes; }
};

/// Parses and validates the header of a file of `file_size` bytes whose first bytes are `bytes`
/// (at least min(file_size, 8 + N) of them must be readable). `file` names it in errors.
SafetensorsHeader parse_safetensors_header(const uint8_t* bytes, uint64_t file_size, std::string_view file);

/// Bytes a tensor of this dtype and shape occupies; throws (naming file and tensor) on overflow or a
/// sub-byte total that is not a whole number of bytes.
uint64_t tensor_nbytes(StDType dtype, const std::vector<int64_t>& shape, std::string_view file,
                       std::string_view tensor);

/// "[4096, 7168]"
std::string shape_string(const std::vector<int64_t>& shape);

}  // namespace fp8kit::checkpoint
