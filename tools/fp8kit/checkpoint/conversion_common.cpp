// conversion_common.cpp: chunked copies, side files, commit order.
#include "checkpoint/conversion_common.h"

#include <algorithm>

#include "checkpoint/format_layout.h"

namespace fp8kit::checkpoint {
namespace fs = std::filesystem;

void read_converted(const SafetensorsFile& file, const TensorInfo& t, std::vector<uint8_t>& buffer, ConvertReport& report) {
  buffer.resize(t.nbytes());
  const ScopedSeconds timed(report.read_seconds);
  file.read(t, buffer.data());
}

void finish_shard(WriteQueue& queue, SafetensorsWriter* writer, const SafetensorsFile& file, const SafetensorsLayout& layout,
                  ConvertReport& report, Progress& progress) {
  queue.push([writer] { writer->finish(); });
  report.input_bytes += file.file_size();
  report.output_bytes += layout.file_size;
  progress.file_done(writer->path().string(), layout.file_size);
}

std::map<std::string, std::string> carried_metadata(const SafetensorsFile& file) {
  std::map<std::string, std::string> m = file.metadata();
  m.erase("format");
  m.erase(kMetadataQuantizationKey);
  return m;
}

void stage_side_files(const InputCheckpoint& in, OutputTarget& target, const std::vector<SafetensorsLayout>& layouts,
                      const std::optional<Json>& config, ConvertReport& report) {
  report.notes.insert(report.notes.end(), target.notes().begin(), target.notes().end());
  if (!target.is_directory()) return;
  for (const fs::path& rel : in.other_files(target.path())) target.stage_copy(in.directory() / rel, rel);
  for (const auto& [rel, why] : in.left_out_files()) report.notes.push_back("not copied: " + rel.string() + " (" + why + ")");
  if (config) {
    target.stage_text("config.json", format_json(*config));
  } else {
    report.notes.push_back("the input directory has no config.json, so none was written");
  }
  if (in.index()) {
    ShardIndex index;
    index.metadata = in.index()->metadata;
    uint64_t total = 0;
    for (size_t s = 0; s < layouts.size(); ++s) {
      total += layouts[s].tensor_bytes();
      for (const TensorInfo& t : layouts[s].tensors) index.weight_map[t.name] = in.shard_name(s);
    }
    target.stage_text(kIndexFileName, format_shard_index(index, total));
  }
}

void commit_all(const InputCheckpoint& in, std::vector<std::unique_ptr<SafetensorsWriter>>& writers,
                OutputTarget& target) {
  for (size_t s = 0; s < in.shard_count(); ++s) in.shard(s).check_unchanged();
  for (auto& w : writers) {
    w->commit();
    target.record_committed(w->path());
  }
  target.commit_side_files();
  target.keep();
}

}  // namespace fp8kit::checkpoint
