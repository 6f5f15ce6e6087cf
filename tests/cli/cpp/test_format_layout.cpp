// test_format_layout.cpp: tensor selection, scale shapes per format, scale-grid recognition, and the
// 16-bit scale storage of compressed-tensors (decode(q) * stored scale is the contract's result).
#include <cmath>
#include <cstring>
#include <random>

#include <gtest/gtest.h>

#include "checkpoint/checkpoint_error.h"
#include "checkpoint/format_layout.h"
#include "checkpoint/inspect.h"
#include "checkpoint/quant_policy.h"
#include "checkpoint/weight_quantizer.h"
#include "common/numerics.h"
#include "tensor_info_for_tests.h"

namespace fp8kit::checkpoint {
namespace {

TEST(QuantPolicy, DefaultRuleKeepsNonLinearTensors) {
  const QuantPolicy p{QuantizeSettings{}};
  EXPECT_FALSE(p.keep_reason(tensor("model.layers.0.mlp.gate_proj.weight", {1536, 576})));
  EXPECT_FALSE(p.keep_reason(tensor("model.layers.0.self_attn.q_proj.weight", {576, 576}, StDType::F32)));
  EXPECT_FALSE(p.keep_reason(tensor("encoder.layer.0.attention.output.dense.weight", {384, 384})));
  EXPECT_EQ(*p.keep_reason(tensor("model.embed_tokens.weight", {100, 64})), "embedding");
  EXPECT_EQ(*p.keep_reason(tensor("embeddings.word_embeddings.weight", {100, 64})), "embedding");
  EXPECT_EQ(*p.keep_reason(tensor("lm_head.weight", {100, 64})), "lm_head");
  EXPECT_EQ(*p.keep_reason(tensor("model.layers.0.mlp.gate.weight", {8, 64})), "router/gate");
  EXPECT_EQ(*p.keep_reason(tensor("model.layers.0.mlp.shared_expert_gate.weight", {1, 64})), "router/gate");
  EXPECT_EQ(*p.keep_reason(tensor("model.layers.0.input_layernorm.weight", {64})), "1-D");
  EXPECT_EQ(*p.keep_reason(tensor("model.layers.0.q_a_layernorm.weight", {64, 2})), "norm");
  EXPECT_EQ(*p.keep_reason(tensor("x.bias", {64, 2})), "not a weight");
  EXPECT_EQ(*p.keep_reason(tensor("experts.weight", {4, 64, 2})), "3-D");
  EXPECT_EQ(*p.keep_reason(tensor("position_ids", {1, 512}, StDType::I64)), "I64");
}

TEST(QuantPolicy, IncludeAndExclude) {
  QuantizeSettings s;
  s.include = {"lm_head", R"(\.bias$)"};
  s.exclude = {"down_proj", "lm_head"};
  const QuantPolicy p(s);
  EXPECT_EQ(*p.keep_reason(tensor("lm_head.weight", {100, 64})), "excluded");  // exclude wins
  EXPECT_FALSE(p.keep_reason(tensor("x.bias", {64})));                          // 1-D, included
  EXPECT_EQ(*p.keep_reason(tensor("layers.0.mlp.down_proj.weight", {64, 64})), "excluded");
  QuantizeSettings bad;
  bad.include = {"("};
  EXPECT_THROW(QuantPolicy{bad}, Error);
}

TEST(ScaleLayout, ShapesAndDtypesPerFormat) {
  const TensorInfo w = tensor("l.weight", {300, 200});
  QuantizeSettings s;
  ScaleLayout l = scale_layout(w, s);
  EXPECT_EQ(l.name, "l.weight_scale_inv");
  EXPECT_EQ(l.dtype, StDType::F32);
  EXPECT_EQ(l.shape, (std::vector<int64_t>{3, 2}));
  s.scheme = WeightScheme::tensor;
  EXPECT_TRUE(scale_layout(w, s).shape.empty());  // rank-0, as transformers' FP8Linear holds it
  s.format = CheckpointFormat::compressed_tensors;
  l = scale_layout(w, s);
  EXPECT_EQ(l.name, "l.weight_scale");
  EXPECT_EQ(l.dtype, StDType::BF16);
  EXPECT_EQ(l.shape, (std::vector<int64_t>{1}));
  s.scheme = WeightScheme::channel;
  EXPECT_EQ(scale_layout(w, s).shape, (std::vector<int64_t>{300, 1}));
  s.format = CheckpointFormat::fbgemm;
  l = scale_layout(w, s);
  EXPECT_EQ(l.dtype, StDType::F32);
  EXPECT_EQ(l.shape, (std::vector<int64_t>{300, 1}));
  s.scheme = WeightScheme::block;
  EXPECT_FALSE(check_settings(s).ok);
}

TEST(FitScale, RecognisesEveryGranularity) {
  const DetectedFormat none;
  EXPECT_EQ(fit_scale({3, 2}, 300, 200, none).scheme, "block 128x128");
  EXPECT_EQ(fit_scale({300, 1}, 300, 200, none).scheme, "channel");
  EXPECT_EQ(fit_scale({300}, 300, 200, none).scheme, "channel");
  EXPECT_EQ(fit_scale({}, 300, 200, none).scheme, "tensor");
  EXPECT_EQ(fit_scale({1}, 300, 200, none).scheme, "tensor");
  EXPECT_EQ(fit_scale({5, 4}, 320, 256, none).scheme, "block 64x64");  // divides exactly
  EXPECT_EQ(fit_scale({4, 2}, 320, 160, none).scheme, "block 80x80");
  EXPECT_FALSE(fit_scale({4, 2}, 300, 200, none).spec);  // 75x100: not square, ambiguous
  EXPECT_FALSE(fit_scale({7, 3}, 300, 200, none).spec);
  EXPECT_FALSE(fit_scale({2, 3}, 300, 200, none).spec);  // transposed grid
  DetectedFormat b64;
  b64.block = {64, 64};
  EXPECT_EQ(fit_scale({5, 4}, 300, 200, b64).scheme, "block 64x64");
  EXPECT_FALSE(fit_scale({3, 2}, 300, 200, b64).spec);  // the config says 64x64
  DetectedFormat g;
  g.group_size = 32;
  EXPECT_EQ(fit_scale({300, 7}, 300, 200, g).scheme, "group 1x32");
}

TEST(ParseBlock, AcceptsRxCAndSquare) {
  EXPECT_EQ(parse_block("128x64"), std::make_pair(int64_t{128}, int64_t{64}));
  EXPECT_EQ(parse_block("32"), std::make_pair(int64_t{32}, int64_t{32}));
  EXPECT_FALSE(parse_block("0x4"));
  EXPECT_FALSE(parse_block("4x"));
  EXPECT_FALSE(parse_block("axb"));
}

TEST(NaturalOrder, NumbersCompareAsNumbers) {
  EXPECT_TRUE(natural_less("layers.2.w", "layers.10.w"));
  EXPECT_FALSE(natural_less("layers.10.w", "layers.2.w"));
  EXPECT_TRUE(natural_less("a", "b"));
  EXPECT_TRUE(natural_less("a", "a.b"));
}

/// compressed-tensors with bf16 weights: scales stored in bf16, codes re-encoded with the stored
/// scale: decode(q) * stored must equal encode(x / stored) decoded, element by element.
TEST(WeightQuantizer, SixteenBitScalesAreTheOnesTheCodesUse) {
  const uint32_t seed = std::random_device{}();
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  for (StDType dtype : {StDType::BF16, StDType::F16}) {
    const TensorInfo w = tensor("l.weight", {130, 260}, dtype);
    std::vector<uint8_t> x(w.nbytes());
    for (int64_t i = 0; i < w.numel(); ++i) {
      float v = normal(rng) * ((i % 97 == 0) ? 50.0f : 1.0f);
      const uint16_t h = dtype == StDType::BF16 ? numerics::float_to_bf16_bits(v) : numerics::float_to_f16_bits(v);
      std::memcpy(&x[static_cast<size_t>(i) * 2], &h, 2);
    }
    QuantizeSettings s;
    s.format = CheckpointFormat::compressed_tensors;
    const ScaleLayout l = scale_layout(w, s);
    ASSERT_EQ(l.dtype, dtype);
    TensorEngine engine(DeviceChoice::cpu);
    QuantizeBuffers b;
    quantize_weight(engine, x.data(), w, l, Fp8Format::e4m3fn, b, "t");
    ASSERT_EQ(b.stored_scales.size(), 2u * 2u * 3u);
    for (int64_t r = 0; r < 130; ++r) {
      for (int64_t c = 0; c < 260; ++c) {
        const size_t cell = static_cast<size_t>((r / 128) * 3 + c / 128);
        const float stored = load_float(b.stored_scales.data(), dtype, static_cast<int64_t>(cell));
        ASSERT_GE(stored, b.scales[cell]) << "rounded down, seed " << seed;
        const int64_t k = r * 260 + c;
        const uint8_t want = numerics::encode_e4m3fn(numerics::div_rn(load_float(x.data(), dtype, k), stored));
        ASSERT_EQ(b.codes[static_cast<size_t>(k)], want) << "element " << r << "," << c << " seed " << seed;
      }
    }
    const QuantError e = measure_error(engine, x.data(), w, l, Fp8Format::e4m3fn, b);
    EXPECT_GT(e.sqnr_db, 25.0) << "seed " << seed;
  }
}

TEST(WeightQuantizer, RefusesNonFiniteWeights) {
  TensorInfo w = tensor("l.weight", {2, 4}, StDType::F32);
  std::vector<float> x = {1, 2, 3, 4, 5, 6, INFINITY, 8};
  QuantizeSettings s;
  TensorEngine engine(DeviceChoice::cpu);
  QuantizeBuffers b;
  EXPECT_THROW(quantize_weight(engine, reinterpret_cast<const uint8_t*>(x.data()), w, scale_layout(w, s),
                               Fp8Format::e4m3fn, b, "t"),
               CheckpointError);
}

}  // namespace
}  // namespace fp8kit::checkpoint
