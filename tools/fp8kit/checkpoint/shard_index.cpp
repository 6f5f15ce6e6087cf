// shard_index.cpp: reading and writing model.safetensors.index.json.
#include "checkpoint/shard_index.h"

#include <algorithm>
#include <set>

#include "checkpoint/checkpoint_error.h"

namespace fp8kit::checkpoint {

std::vector<std::string> ShardIndex::shard_files() const {
  std::set<std::string> seen;
  std::vector<std::string> files;
  for (const auto& [name, file] : weight_map) {
    if (seen.insert(file).second) files.push_back(file);
  }
  std::sort(files.begin(), files.end());
  return files;
}

ShardIndex read_shard_index(const std::filesystem::path& path) {
  return parse_shard_index(read_text_file(path), path.string());
}

ShardIndex parse_shard_index(std::string_view text, std::string_view file) {
  const Json root = parse_strict_json(text, file, kMaxJsonFileDepth);
  if (!root.is_object()) fail(file, "", "index is not a JSON object");
  ShardIndex index;
  if (const auto meta = root.find("metadata"); meta != root.end() && !meta->is_null()) {
    if (!meta->is_object()) fail(file, "", "\"metadata\" is not a JSON object");
    index.metadata = *meta;
  }
  const auto map = root.find("weight_map");
  if (map == root.end() || !map->is_object()) fail(file, "", "missing \"weight_map\" object");
  for (const auto& [name, shard] : map->items()) {
    if (!shard.is_string()) fail(file, name, "weight_map entry is not a string");
    const std::string& s = shard.get_ref<const std::string&>();
    const bool plain = !s.empty() && s.find('/') == std::string::npos && s.find('\\') == std::string::npos &&
                       s != "." && s != ".." && s.size() > 12 && s.ends_with(".safetensors");
    if (!plain) fail(file, name, "weight_map names \"", s, "\", not a .safetensors file in the same directory");
    index.weight_map.emplace(name, s);
  }
  return index;
}

std::string format_shard_index(const ShardIndex& index, uint64_t total_size) {
  Json root = Json::object();
  Json meta = index.metadata.is_object() ? index.metadata : Json::object();
  meta["total_size"] = total_size;
  root["metadata"] = meta;
  Json map = Json::object();
  for (const auto& [name, shard] : index.weight_map) map[name] = shard;
  root["weight_map"] = map;
  return format_json(root);
}

}  // namespace fp8kit::checkpoint
