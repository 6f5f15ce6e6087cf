// conversion_common.h: pieces shared by the quantize and dequantize pipelines.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "checkpoint/conversion.h"
#include "checkpoint/output_target.h"
#include "checkpoint/progress.h"
#include "checkpoint/write_queue.h"

namespace fp8kit::checkpoint {

/// Adds the wall time of its scope to `total` (seconds).
class ScopedSeconds {
 public:
  explicit ScopedSeconds(double& total) : total_(total), start_(std::chrono::steady_clock::now()) {}
  ~ScopedSeconds() { total_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }
  ScopedSeconds(const ScopedSeconds&) = delete;
  ScopedSeconds& operator=(const ScopedSeconds&) = delete;

 private:
  double& total_;
  std::chrono::steady_clock::time_point start_;
};

/// Reads tensor t of `file` into `buffer` (resized to its bytes) for conversion, adding the time to
/// report.read_seconds.
void read_converted(const SafetensorsFile& file, const TensorInfo& t, std::vector<uint8_t>& buffer, ConvertReport& report);

/// Queues the end of an output shard (its writer finishes after every queued write) and accounts for the
/// shard in the report and the progress display.
void finish_shard(WriteQueue& queue, SafetensorsWriter* writer, const SafetensorsFile& file, const SafetensorsLayout& layout,
                  ConvertReport& report, Progress& progress);

/// The input shard's __metadata__ without "format" (the writer sets "pt") and without a previous
/// quantization_config entry.
std::map<std::string, std::string> carried_metadata(const SafetensorsFile& file);

/// Writes the side files of a directory conversion: other files copied, config.json (when the input
/// had one) as given, the index rewritten from the output layouts (when the input had one), in this
/// order, which is also the order of their commit. Adds the target's notes to the report.
void stage_side_files(const InputCheckpoint& in, OutputTarget& target, const std::vector<SafetensorsLayout>& layouts,
                      const std::optional<Json>& config, ConvertReport& report);

/// Checks that no input shard changed while it was read, then commits the finished shards, then the
/// side files (config.json, and the index last, so an index means a complete output), and keeps the
/// output. On an error the target's destructor removes what was already committed.
void commit_all(const InputCheckpoint& in, std::vector<std::unique_ptr<SafetensorsWriter>>& writers,
                OutputTarget& target);

}  // namespace fp8kit::checkpoint
