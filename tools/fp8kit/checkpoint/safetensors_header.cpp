// safetensors_header.cpp: the safetensors header parser and validator (see the header file).
#include "checkpoint/safetensors_header.h"

#include <algorithm>
#include <cstring>

#include "checkpoint/checkpoint_error.h"
#include "checkpoint/strict_json.h"

namespace fp8kit::checkpoint {
namespace {

constexpr std::string_view kMetadataKey = "__metadata__";

uint64_t read_u64_le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

/// A JSON number that is a non-negative integer (JSON "4.0" or "-1" are refused).
bool as_unsigned(const Json& j, uint64_t& out) {
  if (!j.is_number_unsigned()) return false;
  out = j.get<uint64_t>();
  return true;
}

TensorInfo parse_entry(const std::string& name, const Json& entry, std::string_view file) {
  if (!entry.is_object()) fail(file, name, "header entry is not a JSON object");
  TensorInfo t;
  t.name = name;
  const auto dtype = entry.find("dtype");
  if (dtype == entry.end() || !dtype->is_string()) fail(file, name, "missing or non-string \"dtype\"");
  const auto parsed = parse_st_dtype(dtype->get_ref<const std::string&>());
  if (!parsed) fail(file, name, "unknown dtype \"", dtype->get_ref<const std::string&>(), "\"");
  t.dtype = *parsed;

  const auto shape = entry.find("shape");
  if (shape == entry.end() || !shape->is_array()) fail(file, name, "missing or non-array \"shape\"");
  for (const Json& d : *shape) {
    uint64_t v = 0;
    if (!as_unsigned(d, v) || v > static_cast<uint64_t>(INT64_MAX)) {
      fail(file, name, "shape ", shape->dump(), " has an entry that is not a non-negative integer");
    }
    t.shape.push_back(static_cast<int64_t>(v));
  }

  const auto offsets = entry.find("data_offsets");
  if (offsets == entry.end() || !offsets->is_array() || offsets->size() != 2) {
    fail(file, name, "missing \"data_offsets\" or not a pair [BEGIN, END]");
  }
  if (!as_unsigned((*offsets)[0], t.begin) || !as_unsigned((*offsets)[1], t.end)) {
    fail(file, name, "data_offsets ", offsets->dump(), " are not non-negative integers");
  }
  if (t.end < t.begin) fail(file, name, "data_offsets ", offsets->dump(), " end before they begin");
  const uint64_t want = tensor_nbytes(t.dtype, t.shape, file, name);
  if (t.nbytes() != want) {
    fail(file, name, "data_offsets ", offsets->dump(), " hold ", t.nbytes(), " bytes, but ", st_dtype_name(t.dtype), " ",
         shape_string(t.shape), " needs ", want);
  }
  return t;
}

}  // namespace

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (const int64_t d : shape) n *= d;
  return n;
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

uint64_t tensor_nbytes(StDType dtype, const std::vector<int64_t>& shape, std::string_view file,
                       std::string_view tensor) {
  uint64_t numel = 1;
  for (const int64_t d : shape) {
    if (d < 0 || __builtin_mul_overflow(numel, static_cast<uint64_t>(d), &numel)) {
      fail(file, tensor, "shape ", shape_string(shape), " has too many elements");
    }
  }
  uint64_t bits = 0;
  if (__builtin_mul_overflow(numel, static_cast<uint64_t>(st_dtype_bits(dtype)), &bits)) {
    fail(file, tensor, "shape ", shape_string(shape), " of ", st_dtype_name(dtype), " has too many bytes");
  }
  if (bits % 8 != 0) {
    fail(file, tensor, st_dtype_name(dtype), " ", shape_string(shape), " does not fill whole bytes (", bits, " bits)");
  }
  return bits / 8;
}

SafetensorsHeader parse_safetensors_header(const uint8_t* bytes, uint64_t file_size, std::string_view file) {
  if (file_size < 8) fail(file, "", "file of ", file_size, " bytes is too small for a safetensors header length");
  SafetensorsHeader h;
  h.header_bytes = read_u64_le(bytes);
  if (h.header_bytes > kMaxHeaderBytes) {
    fail(file, "", "header length ", h.header_bytes, " is larger than the limit of ", kMaxHeaderBytes, " bytes");
  }
  if (h.header_bytes > file_size - 8) {
    fail(file, "", "header length ", h.header_bytes, " runs past the end of the file (", file_size, " bytes)");
  }
  const std::string_view text(reinterpret_cast<const char*>(bytes + 8), h.header_bytes);
  if (text.empty() || text.front() != '{') fail(file, "", "header does not start with '{'");
  // Depth 3: top object -> tensor entry -> shape / data_offsets arrays (and __metadata__ -> strings).
  const Json root = parse_strict_json(text, file, 3);
  if (!root.is_object()) fail(file, "", "header is not a JSON object");

  for (const auto& [name, value] : root.items()) {
    if (name == kMetadataKey) {
      if (!value.is_object()) fail(file, "", "__metadata__ is not a JSON object");
      for (const auto& [k, v] : value.items()) {
        if (!v.is_string()) fail(file, "", "__metadata__ value of key '", k, "' is not a string");
        h.metadata.emplace(k, v.get<std::string>());
      }
      continue;
    }
    h.tensors.push_back(parse_entry(name, value, file));
  }

  std::sort(h.tensors.begin(), h.tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
    if (a.begin != b.begin) return a.begin < b.begin;
    if (a.end != b.end) return a.end < b.end;
    return a.name < b.name;
  });
  const uint64_t room = file_size - 8 - h.header_bytes;
  uint64_t cursor = 0;
  for (const TensorInfo& t : h.tensors) {
    if (t.end > room) {
      fail(file, t.name, "data [", t.begin, ", ", t.end, ") runs past the end of the buffer (", room,
           " bytes): offsets out of range or file truncated");
    }
    if (t.begin > cursor) fail(file, t.name, "data starts at byte ", t.begin, ", leaving a hole after byte ", cursor);
    if (t.begin < cursor) fail(file, t.name, "data [", t.begin, ", ", t.end, ") overlaps the previous tensor, which ends at ", cursor);
    cursor = t.end;
  }
  if (cursor != room) {
    fail(file, "", "tensor data ends at buffer byte ", cursor, " but the buffer holds ", room,
         " bytes (file size ", file_size, ")", cursor > room ? ": file is truncated" : ": trailing bytes");
  }
  return h;
}

}  // namespace fp8kit::checkpoint
