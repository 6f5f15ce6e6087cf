// test_checkpoint_writer.cpp: writer round trips (layout order, alignment, padding, metadata) and the
// staged-file protocol (nothing under the final name before commit, temporaries removed on failure).
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>

#include <gtest/gtest.h>

#include "checkpoint/checkpoint_error.h"
#include "checkpoint/safetensors_file.h"
#include "checkpoint/safetensors_writer.h"
#include "checkpoint/shard_index.h"
#include "checkpoint/staged_file.h"

namespace fp8kit::checkpoint {
namespace {
namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / ("fp8kit-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }
  size_t entries() const { return static_cast<size_t>(std::distance(fs::directory_iterator(path_), fs::directory_iterator())); }

 private:
  fs::path path_;
  static inline int counter_ = 0;
};

TEST(SafetensorsWriter, RoundTripSortsAlignsAndPads) {
  TempDir dir;
  const uint32_t seed = std::random_device{}();
  std::mt19937 rng(seed);
  std::vector<TensorSpec> specs = {
      {"z.weight", StDType::F8_E4M3, {3, 5}}, {"a.weight_scale_inv", StDType::F32, {1, 1}},
      {"m.bias", StDType::BF16, {7}},          {"ids", StDType::I64, {1, 3}},
      {"e8", StDType::F8_E8M0, {2, 2}},        {"empty", StDType::F16, {0, 4}},
      {"scalar", StDType::F32, {}},
  };
  const SafetensorsLayout layout = plan_safetensors(specs, {{"note", "x"}}, "out.safetensors");
  EXPECT_EQ(layout.header.size() % 8, 0u);
  std::map<std::string, std::vector<uint8_t>> data;
  {
    SafetensorsWriter w(dir.path() / "out.safetensors", layout);
    EXPECT_FALSE(fs::exists(dir.path() / "out.safetensors")) << "visible before commit";
    for (const TensorSpec& s : specs) {
      std::vector<uint8_t> bytes(tensor_nbytes(s.dtype, s.shape, "", s.name));
      for (auto& b : bytes) b = static_cast<uint8_t>(rng());
      w.write(s.name, bytes.data(), bytes.size());
      data[s.name] = bytes;
    }
    w.finish();
    w.commit();
  }
  const SafetensorsFile f((dir.path() / "out.safetensors").string());
  EXPECT_EQ(f.metadata().at("format"), "pt");
  EXPECT_EQ(f.metadata().at("note"), "x");
  ASSERT_EQ(f.tensors().size(), specs.size());
  // Descending dtype (format order), then name: I64, F32 (a..., scalar), BF16, F16, F8_E8M0, F8_E4M3.
  const std::vector<std::string> order = {"ids", "a.weight_scale_inv", "scalar", "m.bias", "empty", "e8", "z.weight"};
  for (size_t i = 0; i < order.size(); ++i) {
    const TensorInfo& t = f.tensors()[i];
    EXPECT_EQ(t.name, order[i]);
    EXPECT_EQ((f.header().buffer_offset() + t.begin) % static_cast<uint64_t>(st_dtype_bits(t.dtype) / 8), 0u) << t.name;
    EXPECT_EQ(f.read(t), data[t.name]) << t.name << " seed " << seed;
  }
  EXPECT_EQ(dir.entries(), 1u);
}

TEST(SafetensorsWriter, RefusesDuplicateNamesAndIncompleteTensors) {
  EXPECT_THROW(plan_safetensors({{"a", StDType::F32, {1}}, {"a", StDType::F16, {1}}}, {}, "x"), CheckpointError);
  TempDir dir;
  {
    SafetensorsWriter w(dir.path() / "x.safetensors", plan_safetensors({{"a", StDType::F32, {4}}}, {}, "x"));
    const float half[2] = {1, 2};
    w.write_part("a", 0, half, sizeof half);
    EXPECT_THROW(w.finish(), Error);
    EXPECT_THROW(w.write("nope", half, 4), Error);
  }
  EXPECT_EQ(dir.entries(), 0u) << "an unfinished file was left behind";
}

TEST(StagedFile, UncommittedFilesDisappear) {
  TempDir dir;
  {
    StagedFile f(dir.path() / "model.safetensors");
    f.write_at(0, "abc", 3);
    EXPECT_EQ(dir.entries(), 1u);
    EXPECT_TRUE(f.temp_path().filename().string().starts_with(".fp8kit-partial."));
  }
  EXPECT_EQ(dir.entries(), 0u);
  write_file_atomically(dir.path() / "c.json", "{}\n");
  EXPECT_TRUE(fs::exists(dir.path() / "c.json"));
  EXPECT_EQ(dir.entries(), 1u);
}

// Names of the files in `dir`, sorted.
std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(StagedFile, LockedFromTheMomentItHasItsPartialName) {
  TempDir dir;
  StagedFile f(dir.path() / "model.safetensors");
  EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{f.temp_path().filename().string()})
      << "the file it was created under (.fp8kit-new.) is still there";
  const LeftoverPartials found = remove_stale_partial_files(dir.path(), "", false);
  EXPECT_TRUE(found.removed.empty()) << "removed a live writer's file";
  ASSERT_EQ(found.in_use.size(), 1u);
  EXPECT_EQ(found.in_use[0], f.temp_path());
}

TEST(StagedFile, LeftoversOfKilledWritersAreRemoved) {
  TempDir dir;
  const pid_t gone = ::fork();  // a pid whose process has exited and been reaped
  ASSERT_GE(gone, 0);
  if (gone == 0) ::_exit(0);
  ASSERT_EQ(::waitpid(gone, nullptr, 0), gone);
  const std::string me = std::to_string(::getpid()), dead = std::to_string(gone);
  std::ofstream(dir.path() / (".fp8kit-partial." + me + ".a.safetensors")) << "unlocked: its writer is gone";
  std::ofstream(dir.path() / (".fp8kit-new." + dead + ".b.safetensors"));
  std::ofstream(dir.path() / (".fp8kit-new." + me + ".c.safetensors"));  // its creator may still lock it
  std::ofstream(dir.path() / ".fp8kit-partial.x.d.safetensors") << "not a partial name: no pid";
  const LeftoverPartials found = remove_stale_partial_files(dir.path(), "", false);
  EXPECT_EQ(found.removed.size(), 2u);
  EXPECT_EQ(found.removed_bytes, 28u);
  EXPECT_TRUE(found.in_use.empty());
  EXPECT_EQ(names_in(dir.path()),
            (std::vector<std::string>{".fp8kit-new." + me + ".c.safetensors", ".fp8kit-partial.x.d.safetensors"}));
}

TEST(StagedFile, UnwritableDestinationNamesIt) {
  TempDir dir;
  std::ofstream(dir.path() / "file") << "x";
  try {
    StagedFile f(dir.path() / "file" / "model.safetensors");
    ADD_FAILURE() << "created a file under a regular file";
  } catch (const CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot create an output file"), std::string::npos) << e.what();
  }
}

TEST(ShardIndex, RoundTripAndValidation) {
  TempDir dir;
  ShardIndex idx;
  idx.metadata = {{"total_size", 1}, {"extra", "kept"}};
  idx.weight_map = {{"b", "model-00002-of-00002.safetensors"}, {"a", "model-00001-of-00002.safetensors"}};
  write_file_atomically(dir.path() / kIndexFileName, format_shard_index(idx, 1234));
  const ShardIndex back = read_shard_index(dir.path() / kIndexFileName);
  EXPECT_EQ(back.metadata["total_size"], 1234);
  EXPECT_EQ(back.metadata["extra"], "kept");
  EXPECT_EQ(back.weight_map, idx.weight_map);
  EXPECT_EQ(back.shard_files(), (std::vector<std::string>{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}));
  write_file_atomically(dir.path() / "bad.json", R"({"weight_map": {"a": "../etc/x.safetensors"}})");
  EXPECT_THROW(read_shard_index(dir.path() / "bad.json"), CheckpointError);
  write_file_atomically(dir.path() / "dup.json", R"({"weight_map": {"a": "m.safetensors", "a": "n.safetensors"}})");
  EXPECT_THROW(read_shard_index(dir.path() / "dup.json"), CheckpointError);
}

}  // namespace
}  // namespace fp8kit::checkpoint
