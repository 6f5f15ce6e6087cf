// conversion_common.h: pieces shared by the quantize and dequantize pipelines.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "checkpoint/conversion.h"
#include "checkpoint/output_target.h"
#include "checkpoint/progress.h"

namespace fp8kit::checkpoint {

/// The input shard's __metadata__ without "format" (the writer sets "pt") and without a previous
/// quantization_config entry.
std::map<std::string, std::string> carried_metadata(const SafetensorsFile& file);

/// Writes the side files of a directory conversion: other files copied, the index rewritten from the
/// output layouts (when the input had one), config.json (when the input had one) as given.
void stage_side_files(const InputCheckpoint& in, OutputTarget& target, const std::vector<SafetensorsLayout>& layouts,
                      const std::optional<Json>& config, ConvertReport& report);

/// Commits the finished shards, then the side files, and keeps the output.
void commit_all(std::vector<std::unique_ptr<SafetensorsWriter>>& writers, OutputTarget& target);

}  // namespace fp8kit::checkpoint
