// fuzz_safetensors_header.cpp: libFuzzer target for the safetensors header parser and validator.
//
// Input: the bytes of a whole .safetensors file. parse_safetensors_header must either refuse it with
// CheckpointError (any other exception, a crash, a leak or undefined behaviour is a finding) or accept
// it; an accepted header must then survive the writer: planning a file with the same tensors and
// metadata (plan_safetensors) and parsing that file's header again gives the same tensors (names,
// dtypes, shapes, byte sizes) and metadata.
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "checkpoint/checkpoint_error.h"
#include "checkpoint/safetensors_header.h"
#include "checkpoint/safetensors_writer.h"
#include "fuzz_support.h"

using namespace fp8kit::checkpoint;
using fp8kit::fuzz::require;

namespace {

void round_trip(const SafetensorsHeader& h) {
  std::vector<TensorSpec> specs;
  for (const TensorInfo& t : h.tensors) specs.push_back({t.name, t.dtype, t.shape});
  const SafetensorsLayout layout = plan_safetensors(specs, h.metadata, "fuzz.safetensors");
  require(layout.header.size() % 8 == 0, "planned header is padded to 8 bytes");
  std::vector<uint8_t> file(8 + layout.header.size() + layout.tensor_bytes(), 0);
  const uint64_t n = layout.header.size();
  for (int i = 0; i < 8; ++i) file[static_cast<size_t>(i)] = static_cast<uint8_t>(n >> (8 * i));
  std::memcpy(file.data() + 8, layout.header.data(), layout.header.size());
  const SafetensorsHeader again = parse_safetensors_header(file.data(), file.size(), "round-trip.safetensors");
  require(again.tensors.size() == h.tensors.size(), "round trip keeps every tensor");
  std::map<std::string, const TensorInfo*> by_name;
  for (const TensorInfo& t : again.tensors) by_name[t.name] = &t;
  for (const TensorInfo& t : h.tensors) {
    const auto it = by_name.find(t.name);
    require(it != by_name.end(), "round trip keeps tensor names");
    require(it->second->dtype == t.dtype && it->second->shape == t.shape && it->second->nbytes() == t.nbytes(),
            "round trip keeps dtypes, shapes and sizes");
  }
  std::map<std::string, std::string> want = h.metadata;
  want.emplace("format", "pt");  // the writer adds it unless the input had one
  require(again.metadata == want, "round trip keeps the metadata");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  SafetensorsHeader h;
  try {
    h = parse_safetensors_header(data, size, "fuzz.safetensors");
  } catch (const CheckpointError&) {
    return 0;  // refused with a message: fine
  }
  require(8 + h.header_bytes <= size, "header within the file");
  uint64_t cursor = 0;
  for (const TensorInfo& t : h.tensors) {
    require(t.begin == cursor && t.end >= t.begin, "tensors tile the buffer in order");
    require(t.nbytes() == tensor_nbytes(t.dtype, t.shape, "", t.name), "byte size matches dtype and shape");
    cursor = t.end;
  }
  require(8 + h.header_bytes + cursor == size, "buffer ends at the end of the file");
  round_trip(h);
  return 0;
}
