// input_checkpoint.cpp: opening and cross-checking a file or a model directory.
#include "checkpoint/input_checkpoint.h"

#include <algorithm>
#include <set>

#include "checkpoint/checkpoint_error.h"
#include "checkpoint/staged_file.h"

namespace fp8kit::checkpoint {
namespace fs = std::filesystem;
namespace {

/// Weight files of other formats: copying them beside FP8 shards would leave stale high-precision
/// weights that some loaders prefer.
bool is_other_weight_file(const fs::path& p) {
  static const std::set<std::string> kExtensions = {".bin", ".pt", ".pth", ".h5", ".msgpack", ".ckpt",
                                                    ".safetensors", ".onnx", ".gguf", ".ot", ".tflite"};
  return kExtensions.count(p.extension().string()) > 0;
}

bool is_hidden_tool_dir(const fs::path& name) { return name == ".git" || name == ".cache" || name == ".huggingface"; }

std::vector<std::string> directory_shards(const fs::path& dir, std::optional<ShardIndex>& index) {
  const fs::path index_path = dir / kIndexFileName;
  if (fs::exists(index_path)) {
    index = read_shard_index(index_path);
    std::vector<std::string> files = index->shard_files();
    if (files.empty()) fail(index_path.string(), "", "weight_map is empty");
    return files;
  }
  if (fs::exists(dir / "model.safetensors")) return {"model.safetensors"};
  std::vector<std::string> found;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".safetensors" && !e.path().filename().string().starts_with(".")) {
      found.push_back(e.path().filename().string());
    }
  }
  if (found.size() == 1) return found;
  if (found.empty()) fail(dir.string(), "", "no .safetensors file in this directory");
  fail(dir.string(), "", found.size(), " .safetensors files but no ", kIndexFileName, " saying which form the model");
}

}  // namespace

InputCheckpoint InputCheckpoint::open(const fs::path& path) {
  return with_filesystem_errors([&] { return open_checked(path); });
}

InputCheckpoint InputCheckpoint::open_checked(const fs::path& path) {
  InputCheckpoint c;
  c.path_ = path;
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) fail(path.string(), "", "does not exist");
  std::vector<std::string> files;
  if (fs::is_directory(st)) {
    c.is_directory_ = true;
    c.directory_ = path;
    files = directory_shards(path, c.index_);
  } else {
    c.directory_ = path.has_parent_path() ? path.parent_path() : fs::path(".");
    files = {path.filename().string()};
  }
  const fs::path config_path = c.directory_ / "config.json";
  if (fs::is_regular_file(config_path)) {
    Json config = read_json_file(config_path);
    if (!config.is_object()) fail(config_path.string(), "", "config is not a JSON object");
    c.config_ = std::move(config);
  }
  for (const std::string& f : files) {
    const fs::path p = c.is_directory_ ? c.directory_ / f : path;
    std::error_code missing;
    if (!fs::exists(p, missing)) {
      fail(c.index_ ? (c.directory_ / kIndexFileName).string() : p.string(), "", "shard ", f, " does not exist",
           missing ? " (" + missing.message() + ")" : std::string());
    }
    c.shards_.push_back(std::make_unique<SafetensorsFile>(p.string()));
    c.shard_names_.push_back(f);
  }
  for (size_t s = 0; s < c.shards_.size(); ++s) {
    for (const TensorInfo& t : c.shards_[s]->tensors()) {
      const auto [it, inserted] = c.where_.emplace(t.name, std::make_pair(s, &t));
      if (!inserted) {
        fail(c.shards_[s]->path(), t.name, "also stored in ", c.shard_names_[it->second.first]);
      }
      if (c.index_) {
        const auto m = c.index_->weight_map.find(t.name);
        if (m == c.index_->weight_map.end()) {
          fail((c.directory_ / kIndexFileName).string(), t.name, "stored in ", c.shard_names_[s],
               " but missing from weight_map");
        }
        if (m->second != c.shard_names_[s]) {
          fail((c.directory_ / kIndexFileName).string(), t.name, "weight_map says ", m->second, " but it is stored in ",
               c.shard_names_[s]);
        }
      }
    }
  }
  if (c.index_) {
    for (const auto& [name, shard] : c.index_->weight_map) {
      if (!c.where_.count(name)) fail((c.directory_ / kIndexFileName).string(), name, "listed in weight_map but not in ", shard);
    }
  }
  return c;
}

std::optional<TensorLocation> InputCheckpoint::find(const std::string& name) const {
  const auto it = where_.find(name);
  if (it == where_.end()) return std::nullopt;
  return TensorLocation{shards_[it->second.first].get(), it->second.second, it->second.first};
}

uint64_t InputCheckpoint::total_tensor_bytes() const {
  uint64_t n = 0;
  for (const auto& s : shards_) {
    for (const TensorInfo& t : s->tensors()) n += t.nbytes();
  }
  return n;
}

uint64_t InputCheckpoint::largest_tensor_bytes() const {
  uint64_t n = 0;
  for (const auto& s : shards_) {
    for (const TensorInfo& t : s->tensors()) n = std::max(n, t.nbytes());
  }
  return n;
}

std::vector<fs::path> InputCheckpoint::other_files(const fs::path& skip_dir) const {
  return with_filesystem_errors([&] { return other_files_checked(skip_dir); });
}

std::vector<fs::path> InputCheckpoint::other_files_checked(const fs::path& skip_dir) const {
  std::vector<fs::path> out;
  if (!is_directory_) return out;
  std::error_code ec;
  const fs::path skip = skip_dir.empty() ? fs::path() : fs::weakly_canonical(skip_dir, ec);
  for (auto it = fs::recursive_directory_iterator(directory_); it != fs::recursive_directory_iterator(); ++it) {
    const fs::path rel = fs::relative(it->path(), directory_);
    if (it->is_directory()) {
      const bool inside_output = !skip.empty() && fs::weakly_canonical(it->path(), ec) == skip;
      if (is_hidden_tool_dir(it->path().filename()) || inside_output) it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file()) continue;
    const std::string name = it->path().filename().string();
    const bool top = !rel.has_parent_path();
    if (top && (name == kIndexFileName || name == "config.json")) continue;  // rewritten
    if (is_staged_file_name(name) || is_other_weight_file(it->path())) continue;
    out.push_back(rel);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::pair<fs::path, std::string>> InputCheckpoint::left_out_files() const {
  return with_filesystem_errors([&] { return left_out_files_checked(); });
}

std::vector<std::pair<fs::path, std::string>> InputCheckpoint::left_out_files_checked() const {
  std::vector<std::pair<fs::path, std::string>> out;
  if (!is_directory_) return out;
  const std::set<std::string> shard_set(shard_names_.begin(), shard_names_.end());
  for (auto it = fs::recursive_directory_iterator(directory_); it != fs::recursive_directory_iterator(); ++it) {
    if (it->is_directory()) {
      if (is_hidden_tool_dir(it->path().filename())) it.disable_recursion_pending();
      continue;
    }
    const fs::path rel = fs::relative(it->path(), directory_);
    if (!rel.has_parent_path() && shard_set.count(rel.string())) continue;
    if (is_other_weight_file(it->path())) out.emplace_back(rel, "weights in another format or not in the checkpoint");
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace fp8kit::checkpoint
