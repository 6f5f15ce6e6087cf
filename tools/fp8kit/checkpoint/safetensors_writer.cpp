// safetensors_writer.cpp: layout planning and streaming writes.
#include "checkpoint/safetensors_writer.h"

#include <algorithm>
#include <set>

#include "checkpoint/checkpoint_error.h"
#include "checkpoint/strict_json.h"

namespace fp8kit::checkpoint {

SafetensorsLayout plan_safetensors(std::vector<TensorSpec> tensors, const std::map<std::string, std::string>& metadata,
                                   std::string_view file) {
  std::sort(tensors.begin(), tensors.end(), [](const TensorSpec& a, const TensorSpec& b) {
    if (a.dtype != b.dtype) return a.dtype > b.dtype;
    return a.name < b.name;
  });
  SafetensorsLayout layout;
  Json header = Json::object();
  Json meta = Json::object();
  meta["format"] = "pt";
  for (const auto& [k, v] : metadata) meta[k] = v;
  header["__metadata__"] = meta;
  std::set<std::string> names;
  uint64_t offset = 0;
  for (const TensorSpec& t : tensors) {
    if (t.name == "__metadata__") fail(file, t.name, "a tensor cannot be called __metadata__");
    if (!names.insert(t.name).second) fail(file, t.name, "two tensors have this name");
    TensorInfo info;
    info.name = t.name;
    info.dtype = t.dtype;
    info.shape = t.shape;
    info.begin = offset;
    info.end = offset + tensor_nbytes(t.dtype, t.shape, file, t.name);
    offset = info.end;
    header[t.name] = {{"dtype", std::string(st_dtype_name(t.dtype))},
                      {"shape", t.shape},
                      {"data_offsets", {info.begin, info.end}}};
    layout.tensors.push_back(std::move(info));
  }
  layout.header = header.dump();
  layout.header.append((8 - layout.header.size() % 8) % 8, ' ');
  layout.file_size = 8 + layout.header.size() + offset;
  return layout;
}

SafetensorsWriter::SafetensorsWriter(const std::filesystem::path& path, SafetensorsLayout layout)
    : layout_(std::move(layout)), file_(path) {
  for (size_t i = 0; i < layout_.tensors.size(); ++i) index_.emplace(layout_.tensors[i].name, i);
  written_.assign(layout_.tensors.size(), 0);
  file_.resize(layout_.file_size);
  uint8_t length[8];
  const uint64_t n = layout_.header.size();
  for (int i = 0; i < 8; ++i) length[i] = static_cast<uint8_t>(n >> (8 * i));
  file_.write_at(0, length, 8);
  file_.write_at(8, layout_.header.data(), n);
}

void SafetensorsWriter::write(const std::string& name, const void* bytes, uint64_t size) {
  write_part(name, 0, bytes, size);
  const TensorInfo& t = layout_.tensors[index_.at(name)];
  FP8KIT_CHECK(size == t.nbytes(), "tensor '", name, "' planned with ", t.nbytes(), " bytes, written with ", size);
}

void SafetensorsWriter::write_part(const std::string& name, uint64_t offset, const void* bytes, uint64_t size) {
  const auto it = index_.find(name);
  FP8KIT_CHECK(it != index_.end(), "tensor '", name, "' is not in the planned layout of ", path().string());
  const TensorInfo& t = layout_.tensors[it->second];
  FP8KIT_CHECK(offset + size <= t.nbytes(), "tensor '", name, "': bytes [", offset, ", ", offset + size,
               ") are outside its ", t.nbytes(), " bytes");
  file_.write_at(layout_.buffer_offset() + t.begin + offset, bytes, size);
  written_[it->second] += size;
}

void SafetensorsWriter::copy(const std::string& name, int in_fd, uint64_t in_offset) {
  const auto it = index_.find(name);
  FP8KIT_CHECK(it != index_.end(), "tensor '", name, "' is not in the planned layout of ", path().string());
  const TensorInfo& t = layout_.tensors[it->second];
  file_.copy_from(in_fd, in_offset, layout_.buffer_offset() + t.begin, t.nbytes());
  written_[it->second] += t.nbytes();
}

void SafetensorsWriter::finish() {
  for (size_t i = 0; i < layout_.tensors.size(); ++i) {
    FP8KIT_CHECK(written_[i] == layout_.tensors[i].nbytes(), "tensor '", layout_.tensors[i].name, "' of ",
                 path().string(), ": ", written_[i], " of ", layout_.tensors[i].nbytes(), " bytes written");
  }
  file_.finish_writing();
}

}  // namespace fp8kit::checkpoint
