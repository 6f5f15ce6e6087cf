// test_safetensors_header.cpp: every class of malformed safetensors header is refused with a message
// that names the file, the tensor and the problem; valid headers (all dtypes, empty and rank-0
// tensors, metadata, padding) are accepted; random corruption never crashes the parser.
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "checkpoint/checkpoint_error.h"
#include "checkpoint/safetensors_header.h"

namespace fp8kit::checkpoint {
namespace {

std::vector<uint8_t> make_file(const std::string& header, size_t buffer_bytes, uint64_t claimed_length = UINT64_MAX) {
  const uint64_t n = claimed_length == UINT64_MAX ? header.size() : claimed_length;
  std::vector<uint8_t> f(8 + header.size() + buffer_bytes, 0);
  for (int i = 0; i < 8; ++i) f[static_cast<size_t>(i)] = static_cast<uint8_t>(n >> (8 * i));
  std::memcpy(f.data() + 8, header.data(), header.size());
  return f;
}

SafetensorsHeader parse(const std::vector<uint8_t>& f) { return parse_safetensors_header(f.data(), f.size(), "t.safetensors"); }

/// Expects a CheckpointError whose message contains every fragment.
void expect_refused(const std::vector<uint8_t>& f, std::initializer_list<const char*> fragments) {
  try {
    parse(f);
    ADD_FAILURE() << "accepted a malformed file; expected an error mentioning " << *fragments.begin();
  } catch (const CheckpointError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    EXPECT_EQ(msg.rfind("t.safetensors", 0), 0u) << msg;
    for (const char* frag : fragments) EXPECT_NE(msg.find(frag), std::string::npos) << "missing '" << frag << "' in: " << msg;
  }
}

const std::string kOne = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";

TEST(SafetensorsHeader, AcceptsAValidFileWithMetadataAndPadding) {
  const std::string h = R"({"__metadata__":{"format":"pt","k":"v"},"b":{"dtype":"BF16","shape":[2,3],"data_offsets":[8,20]},)"
                        R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}   )";
  const SafetensorsHeader hd = parse(make_file(h, 20));
  ASSERT_EQ(hd.tensors.size(), 2u);
  EXPECT_EQ(hd.tensors[0].name, "a");  // file order
  EXPECT_EQ(hd.tensors[1].name, "b");
  EXPECT_EQ(hd.tensors[1].shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(hd.metadata.at("format"), "pt");
  EXPECT_EQ(hd.metadata.at("k"), "v");
  EXPECT_EQ(hd.buffer_offset(), 8 + h.size());
}

TEST(SafetensorsHeader, AcceptsEveryDtypeEmptyAndScalarTensors) {
  const char* dtypes[] = {"BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0", "F8_E4M3FNUZ", "F8_E5M2FNUZ", "I16", "U16",
                          "F16", "BF16", "I32", "U32", "F32", "C64", "F64", "I64", "U64"};
  std::string h = "{";
  uint64_t off = 0;
  int i = 0;
  for (const char* d : dtypes) {
    const uint64_t bits = std::string(d).find("64") != std::string::npos ? 64
                          : (std::string(d).find("32") != std::string::npos) ? 32
                          : (std::string(d).find("16") != std::string::npos) ? 16 : 8;
    const uint64_t bytes = 3 * bits / 8;
    h += "\"t" + std::to_string(i++) + "\":{\"dtype\":\"" + d + "\",\"shape\":[3],\"data_offsets\":[" + std::to_string(off) +
         "," + std::to_string(off + bytes) + "]},";
    off += bytes;
  }
  // Sub-byte types in whole bytes, an empty tensor and a rank-0 scalar.
  h += "\"f4\":{\"dtype\":\"F4\",\"shape\":[2,3],\"data_offsets\":[" + std::to_string(off) + "," + std::to_string(off + 3) + "]},";
  off += 3;
  h += "\"f6\":{\"dtype\":\"F6_E2M3\",\"shape\":[4],\"data_offsets\":[" + std::to_string(off) + "," + std::to_string(off + 3) + "]},";
  off += 3;
  h += "\"empty\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[" + std::to_string(off) + "," + std::to_string(off) + "]},";
  h += "\"scalar\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[" + std::to_string(off) + "," + std::to_string(off + 4) + "]}}";
  off += 4;
  const SafetensorsHeader hd = parse(make_file(h, off));
  EXPECT_EQ(hd.tensors.size(), std::size(dtypes) + 4);
}

TEST(SafetensorsHeader, RefusesFilesTooSmallForTheLength) {
  expect_refused(std::vector<uint8_t>(5, 0), {"too small"});
}

TEST(SafetensorsHeader, RefusesAHeaderLengthPastTheEnd) {
  expect_refused(make_file(kOne, 8, kOne.size() + 100), {"header length", "runs past the end"});
}

TEST(SafetensorsHeader, RefusesAHeaderLengthOverTheLimit) {
  expect_refused(make_file(kOne, 8, 100'000'001), {"larger than the limit"});
}

TEST(SafetensorsHeader, RefusesJsonNotStartingWithBrace) {
  expect_refused(make_file(" " + kOne, 8), {"does not start with '{'"});
  expect_refused(make_file("[1,2]", 0), {"does not start with '{'"});
  expect_refused(make_file("", 0), {"does not start with '{'"});
}

TEST(SafetensorsHeader, RefusesInvalidJson) {
  expect_refused(make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})", 8), {"invalid JSON"});
  expect_refused(make_file(R"({"a":{"dtype":"F32",,}})", 8), {"invalid JSON"});
  expect_refused(make_file("{\"a\xff\":1}", 0), {"invalid JSON"});  // ill-formed UTF-8
  expect_refused(make_file(kOne + "x", 8), {"invalid JSON"});        // non-space trailing bytes
}

TEST(SafetensorsHeader, RefusesDuplicateKeys) {
  expect_refused(make_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8),
                 {"duplicate key 'a'"});
  expect_refused(make_file(R"({"a":{"dtype":"F32","dtype":"F16","shape":[2],"data_offsets":[0,8]}})", 8), {"duplicate key 'dtype'"});
}

TEST(SafetensorsHeader, RefusesDeepNesting) {
  expect_refused(make_file(R"({"a":{"dtype":"F32","shape":[[2]],"data_offsets":[0,8]}})", 8), {"nested deeper"});
  expect_refused(make_file(std::string("{\"a\":") + std::string(5000, '[') + std::string(5000, ']') + "}", 0), {"nested deeper"});
}

TEST(SafetensorsHeader, RefusesUnknownDtype) {
  expect_refused(make_file(R"({"w":{"dtype":"F8_E4M3FN","shape":[2],"data_offsets":[0,2]}})", 2), {"tensor 'w'", "unknown dtype"});
  expect_refused(make_file(R"({"w":{"dtype":"f32","shape":[2],"data_offsets":[0,8]}})", 8), {"unknown dtype \"f32\""});
}

TEST(SafetensorsHeader, RefusesMissingOrMistypedFields) {
  expect_refused(make_file(R"({"w":{"shape":[2],"data_offsets":[0,8]}})", 8), {"tensor 'w'", "dtype"});
  expect_refused(make_file(R"({"w":{"dtype":"F32","data_offsets":[0,8]}})", 8), {"tensor 'w'", "shape"});
  expect_refused(make_file(R"({"w":{"dtype":"F32","shape":[2]}})", 8), {"tensor 'w'", "data_offsets"});
  expect_refused(make_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8,9]}})", 8), {"data_offsets"});
  expect_refused(make_file(R"({"w":[1,2]})", 0), {"tensor 'w'", "not a JSON object"});
  expect_refused(make_file(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8), {"non-negative integer"});
  expect_refused(make_file(R"({"w":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", 8), {"non-negative integer"});
  expect_refused(make_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,-8]}})", 8), {"not non-negative integers"});
  expect_refused(make_file(R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", 8), {"end before they begin"});
}

TEST(SafetensorsHeader, RefusesShapeSizeMismatch) {
  expect_refused(make_file(R"({"w":{"dtype":"BF16","shape":[4,4],"data_offsets":[0,12]}})", 12),
                 {"tensor 'w'", "hold 12 bytes", "needs 32"});
}

TEST(SafetensorsHeader, RefusesOverflowingShapes) {
  expect_refused(make_file(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}})", 8), {"too many"});
  expect_refused(make_file(R"({"w":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,8]}})", 8), {"too many"});
}

TEST(SafetensorsHeader, RefusesSubByteTotalsThatAreNotWholeBytes) {
  expect_refused(make_file(R"({"w":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}})", 2), {"whole bytes"});
}

TEST(SafetensorsHeader, RefusesHolesAndOverlaps) {
  expect_refused(make_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})", 12),
                 {"tensor 'b'", "hole"});
  expect_refused(make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8),
                 {"tensor 'b'", "overlaps"});
  expect_refused(make_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8), {"tensor 'a'", "hole"});
}

TEST(SafetensorsHeader, RefusesOffsetsOutOfRangeAndTrailingBytes) {
  expect_refused(make_file(kOne, 4), {"tensor 'a'", "runs past the end"});
  expect_refused(make_file(kOne, 12), {"trailing bytes"});
}

TEST(SafetensorsHeader, RefusesBadMetadata) {
  expect_refused(make_file(R"({"__metadata__":{"format":1}})", 0), {"__metadata__", "not a string"});
  expect_refused(make_file(R"({"__metadata__":{"nested":{"x":"y"}}})", 0), {"__metadata__"});
  expect_refused(make_file(R"({"__metadata__":"pt"})", 0), {"__metadata__ is not a JSON object"});
}

TEST(SafetensorsHeader, RandomCorruptionNeverCrashes) {
  const std::string h = R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                        R"("b":{"dtype":"BF16","shape":[2,3],"data_offsets":[8,20]}})";
  const std::vector<uint8_t> valid = make_file(h, 20);
  const uint32_t seed = std::random_device{}();
  std::mt19937 rng(seed);
  int refused = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    std::vector<uint8_t> f = valid;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t pos = rng() % f.size();
      switch (rng() % 3) {
        case 0: f[pos] = static_cast<uint8_t>(rng()); break;
        case 1: f.erase(f.begin() + static_cast<std::ptrdiff_t>(pos)); break;
        default: f.insert(f.begin() + static_cast<std::ptrdiff_t>(pos), static_cast<uint8_t>(rng())); break;
      }
      if (f.empty()) f.push_back(0);
    }
    try {
      parse(f);
    } catch (const CheckpointError&) {
      ++refused;
    }
  }
  EXPECT_GT(refused, 2000) << "seed " << seed;
}

}  // namespace
}  // namespace fp8kit::checkpoint
