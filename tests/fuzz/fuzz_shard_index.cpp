// fuzz_shard_index.cpp: libFuzzer target for the shard index reader (model.safetensors.index.json).
//
// Input: the index text. parse_shard_index must refuse it with CheckpointError or accept it; an
// accepted index must survive a rewrite (format_shard_index, as a conversion writes it, parses back
// to the same weight map and total_size) and be cross-checked against real shards: the input is also
// written as the index of a scratch model directory with two small shards (tensors "a", "b" in
// model-00001-of-00002.safetensors, "c" in model-00002-of-00002.safetensors), which
// InputCheckpoint::open must open or refuse with CheckpointError.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "checkpoint/checkpoint_error.h"
#include "checkpoint/input_checkpoint.h"
#include "checkpoint/safetensors_writer.h"
#include "checkpoint/shard_index.h"
#include "fuzz_support.h"

using namespace fp8kit::checkpoint;
using fp8kit::fuzz::require;
using fp8kit::fuzz::scratch_dir;
namespace fs = std::filesystem;

namespace {

void write_shard(const fs::path& path, const std::vector<TensorSpec>& tensors) {
  SafetensorsWriter w(path, plan_safetensors(tensors, {}, path.string()));
  const std::vector<uint8_t> zeros(64, 0);
  for (const TensorInfo& t : w.layout().tensors) w.write(t.name, zeros.data(), t.nbytes());
  w.finish();
  w.commit();
}

const fs::path& model_dir() {
  static const fs::path dir = [] {
    const fs::path d = scratch_dir() / "model";
    fs::create_directories(d);
    write_shard(d / "model-00001-of-00002.safetensors", {{"a", StDType::F32, {2, 2}}, {"b", StDType::BF16, {4}}});
    write_shard(d / "model-00002-of-00002.safetensors", {{"c", StDType::F16, {3}}});
    return d;
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const ShardIndex index = parse_shard_index(text, "fuzz.index.json");
    const std::vector<std::string> files = index.shard_files();
    for (const auto& [name, file] : index.weight_map) {
      require(file.ends_with(".safetensors") && file.find('/') == std::string::npos, "shard names are plain files");
    }
    const std::string rewritten = format_shard_index(index, 12345);
    const ShardIndex again = parse_shard_index(rewritten, "rewritten.index.json");
    require(again.weight_map == index.weight_map, "a rewritten index keeps the weight map");
    require(again.metadata.at("total_size") == 12345, "a rewritten index has the new total_size");
    require(again.shard_files() == files, "a rewritten index names the same shards");
  } catch (const CheckpointError&) {
  }
  {
    std::ofstream f(model_dir() / kIndexFileName, std::ios::binary | std::ios::trunc);
    f.write(text.data(), static_cast<std::streamsize>(text.size()));
  }
  try {
    // An index may leave a shard of the directory out (a stale file): only the listed shards count.
    const InputCheckpoint in = InputCheckpoint::open(model_dir());
    require(in.index().has_value(), "a directory with an index is read through it");
    require(in.tensor_count() == in.index()->weight_map.size(), "an accepted index maps exactly its shards' tensors");
    for (const auto& [name, shard] : in.index()->weight_map) {
      const auto where = in.find(name);
      require(where && in.shard_name(where->shard) == shard, "every tensor is where the index says");
    }
  } catch (const CheckpointError&) {
  }
  return 0;
}
