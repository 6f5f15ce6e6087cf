// strict_json.h: JSON parsing for checkpoint headers and side files, stricter than plain nlohmann:
// duplicate keys in an object are an error (nlohmann would keep the last one silently), and nesting
// deeper than `max_depth` is refused before it is built.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace fp8kit::checkpoint {

using Json = nlohmann::ordered_json;

/// Parses `text`; throws CheckpointError naming `file` and the problem (syntax error with its byte
/// position, duplicate key, nesting too deep).
Json parse_strict_json(std::string_view text, std::string_view file, int max_depth);

/// Nesting limit of JSON side files (config.json, index files).
inline constexpr int kMaxJsonFileDepth = 64;

/// The contents of a file of at most `max_bytes` (config.json, index files); throws naming it.
std::string read_text_file(const std::filesystem::path& path, size_t max_bytes = 100'000'000);

/// Reads and parses a JSON file of at most `max_bytes`; depth limit kMaxJsonFileDepth.
Json read_json_file(const std::filesystem::path& path, size_t max_bytes = 100'000'000);

/// Writes `value` as indented JSON followed by a newline.
std::string format_json(const Json& value);

}  // namespace fp8kit::checkpoint
