// test_fuzz_findings.cpp: one regression test per finding of the fuzz targets (tests/fuzz), named
// after its reproducer in tests/fuzz/corpus/<target>/regress-*, which ctest also replays. Each test
// would fail (or crash under the sanitizers) on the code before its fix.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "checkpoint/checkpoint_error.h"
#include "checkpoint/conversion.h"
#include "checkpoint/input_checkpoint.h"
#include "checkpoint/quant_policy.h"
#include "checkpoint/safetensors_header.h"
#include "tensor_info_for_tests.h"

namespace fp8kit::checkpoint {
namespace {

QuantizeSettings including(std::string pattern) {
  QuantizeSettings s;
  s.include.push_back(std::move(pattern));
  return s;
}

// checkpoint_file/regress-empty-weight-quantized: an empty [0, 4] linear weight was quantized, and
// the f32 scale copy passed a null pointer to memcpy (UBSan). Empty tensors are now kept.
TEST(FuzzFindings, EmptyWeightsAreKeptNotQuantized) {
  const QuantPolicy p{QuantizeSettings{}};
  EXPECT_EQ(*p.keep_reason(tensor("model.layers.0.mlp.down_proj.weight", {0, 4})), "empty");
  EXPECT_EQ(*p.keep_reason(tensor("model.layers.0.mlp.down_proj.weight", {4, 0})), "empty");
  EXPECT_EQ(*QuantPolicy(including("bias")).keep_reason(tensor("x.bias", {0})), "empty");
  EXPECT_FALSE(p.keep_reason(tensor("model.layers.0.mlp.down_proj.weight", {1, 4})));
}

// cli_args/regress-regex-repeat-count-overflow: "--include" with a back-reference \7777777777777777777
// overflowed a signed integer inside libstdc++'s regex compiler (UBSan); huge repetition counts make
// it copy sub-automata without bound. Expressions are now bounded before std::regex sees them.
TEST(FuzzFindings, RegularExpressionsAreBoundedBeforeCompiling) {
  for (const std::string& bad : {std::string("(a)\\7777777777777777777"), std::string("a{7777777777777777777}"),
                                 std::string("a{1,101}"), std::string("(a{50}){50}"), std::string(300, 'a')}) {
    EXPECT_THROW(QuantPolicy{including(bad)}, Error) << bad;
  }
  for (const std::string& good : {std::string(R"(layers\.[0-9]{1,2}\.)"), std::string(R"((a)\1)"),
                                  std::string(R"(\\7777)"), std::string("a{10}b{100}"), std::string(256, 'a')}) {
    EXPECT_NO_THROW(QuantPolicy{including(good)}) << good;
  }
  // names matched against expressions are bounded too (libstdc++'s matcher recurses per character)
  const QuantPolicy p(including("(a|b)*"));
  EXPECT_THROW(p.keep_reason(tensor(std::string(kMaxMatchedNameBytes + 1, 'a'), {2, 2})), CheckpointError);
  EXPECT_FALSE(p.keep_reason(tensor(std::string(kMaxMatchedNameBytes, 'a'), {2, 2})));
  EXPECT_EQ(*QuantPolicy{QuantizeSettings{}}.keep_reason(tensor(std::string(5000, 'a') + ".weight", {2})), "1-D")
      << "without --include / --exclude, long names are fine";
}

// shard_index/regress-shard-name-too-long: an index naming a shard longer than the file system's
// NAME_MAX made std::filesystem::exists throw filesystem_error out of InputCheckpoint::open, an
// exception type callers do not expect (the fuzz target saw it as an uncaught exception).
TEST(FuzzFindings, FileSystemErrorsBecomeCheckpointErrors) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("fp8kit-fuzz-finding-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  {
    std::ofstream index(dir / kIndexFileName);
    index << R"({"weight_map": {"a": ")" << std::string(300, 'x') << R"(.safetensors"}})";
  }
  try {
    InputCheckpoint::open(dir);
    ADD_FAILURE() << "an index naming a 300-byte shard name was accepted";
  } catch (const CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("does not exist (File name too long)"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace fp8kit::checkpoint
