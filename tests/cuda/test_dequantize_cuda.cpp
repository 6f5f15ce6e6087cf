// CUDA dequantization against the scalar CPU reference, bit for bit: every granularity, FP8 format,
// output dtype, scale format and layout, on all 256 codes (NaN and inf codes included) and hostile
// scales (NaN, inf, zero, subnormal, huge, negative), with row strides and unaligned pointers.
#include <array>
#include <string>
#include <vector>

#include "cuda_quant_cases.h"

namespace fp8kit::testing {
namespace {

struct DequantizeCase {
  int64_t rows = 1, cols = 1;
  DType fp8 = DType::e4m3fn, out = DType::bf16;
  ScaleSpec spec = ScaleSpec::block(128, 128);
  DType scale_dtype = DType::f32;
  bool scales_column_major = false;
  int64_t q_pad = 0, y_pad = 0, q_offset = 0, y_offset = 0;  // elements

  std::string name() const {
    std::ostringstream o;
    o << dtype_name(fp8) << "[" << rows << ", " << cols << "] ld+" << q_pad << " off+" << q_offset << " -> "
      << dtype_name(out) << " ld+" << y_pad << " off+" << y_offset << ", " << spec_text(spec) << " "
      << dtype_name(scale_dtype) << (scales_column_major ? " column-major" : " row-major") << " scales";
    return o.str();
  }
};

/// Scales that are mostly powers of two times [1, 2) over a wide range, 5% hostile.
void fill_scales(ScaleBuffer& s, std::mt19937& rng) {
  std::uniform_int_distribution<int> byte(0, 255), percent(0, 99), exponent(-40, 40);
  std::uniform_real_distribution<float> mantissa(1.0f, 2.0f);
  if (s.dtype == DType::ue8m0) {
    for (uint8_t& b : s.bytes) b = static_cast<uint8_t>(byte(rng));
    return;
  }
  const float specials[] = {NAN, INFINITY, 0.0f, -0.0f, 1e-40f, -3.5f, 1e38f, std::ldexp(1.0f, -127)};
  std::uniform_int_distribution<size_t> pick(0, std::size(specials) - 1);
  for (size_t i = 0; i + 4 <= s.bytes.size(); i += 4) {
    const float v = percent(rng) < 5 ? specials[pick(rng)] : std::ldexp(mantissa(rng), exponent(rng));
    std::memcpy(&s.bytes[i], &v, 4);
  }
}

std::string run_case(const DequantizeCase& c, std::mt19937& rng) {
  const int64_t q_ld = c.cols + c.q_pad, y_ld = c.cols + c.y_pad;
  StagedMatrix q = StagedMatrix::filled(c.fp8, c.rows, c.cols, q_ld, c.q_offset, 0);
  std::uniform_int_distribution<int> byte(0, 255);
  for (uint8_t& b : q.bytes) b = static_cast<uint8_t>(byte(rng));
  ScaleBuffer s = ScaleBuffer::make(c.spec, c.scale_dtype, c.rows, c.cols, c.scales_column_major, 0);
  fill_scales(s, rng);
  StagedMatrix y = StagedMatrix::filled(c.out, c.rows, c.cols, y_ld, c.y_offset, kOutPoison);

  DeviceBuffer qd(q.bytes), sd(s.bytes), yd(y.bytes);
  DequantizeOptions o;
  o.backend = Backend::cpu_reference;
  dequantize(q.view(q.bytes.data(), Device::cpu()), s.view(s.bytes.data(), Device::cpu()), y.view(y.bytes.data(), Device::cpu()),
             c.spec, o);
  o.backend = Backend::cuda;
  dequantize(q.view(qd.get(), gpu()), s.view(sd.get(), gpu()), y.view(yd.get(), gpu()), c.spec, o);
  cuda::synchronize(0);
  return compare_bytes("y", y.bytes, yd.read<uint8_t>(), static_cast<size_t>(dtype_size(c.out)), 0);
}

#define EXPECT_DEQUANT_OK(c, rng)                                                        \
  do {                                                                                   \
    const std::string fp8kit_msg_ = run_case((c), (rng));                                \
    EXPECT_TRUE(fp8kit_msg_.empty()) << (c).name() << "\n  " << fp8kit_msg_ << "\n  " << seed_note(); \
  } while (0)

const std::array<DType, 3> kOutputs = {DType::bf16, DType::f16, DType::f32};
const std::array<DType, 2> kFormats = {DType::e4m3fn, DType::e5m2};

/// One small case per dequantize path (scales per chunk or per element, every granularity, output
/// dtype and FP8 format, strided and unaligned rows): the sweep compute-sanitizer runs.
TEST(DequantizeCuda, SmallShapesOfEveryKernel) {
  FP8KIT_SKIP_WITHOUT_GPU();
  std::mt19937 rng(suite_seed() + 102);
  int i = 0;
  for (const ScaleSpec& spec : {ScaleSpec::block(128, 128), ScaleSpec::block(16, 4), ScaleSpec::group(128),
                                ScaleSpec::group(100), ScaleSpec::per_row(), ScaleSpec::per_column(),
                                ScaleSpec::per_tensor()}) {
    for (DType out : kOutputs) {
      DequantizeCase c;
      c.rows = 130;
      c.cols = 300;
      c.fp8 = kFormats[static_cast<size_t>(i % 2)];
      c.out = out;
      c.spec = i % 3 == 2 ? spec.pow2() : spec;
      c.scale_dtype = i % 3 == 2 && i % 2 ? DType::ue8m0 : DType::f32;
      c.scales_column_major = i % 2 == 1;
      if (i % 4 == 3) {
        c.q_pad = 3;
        c.y_pad = 1;
        c.q_offset = 1;
        c.y_offset = 1;
      }
      EXPECT_DEQUANT_OK(c, rng);
      ++i;
    }
  }
}

TEST(DequantizeCuda, EveryGranularityAndDtype) {
  FP8KIT_SKIP_WITHOUT_GPU();
  std::mt19937 rng(suite_seed() + 100);
  const std::array<ScaleSpec, 12> specs = {ScaleSpec::per_tensor(), ScaleSpec::per_row(), ScaleSpec::per_column(),
                                           ScaleSpec::group(128),   ScaleSpec::group(64),  ScaleSpec::group(32),
                                           ScaleSpec::group(100),   ScaleSpec::block(128, 128), ScaleSpec::block(128, 64),
                                           ScaleSpec::block(32, 96), ScaleSpec::block(1, 128), ScaleSpec::block(16, 4)};
  const std::array<std::pair<int64_t, int64_t>, 7> shapes = {
      {{1, 32}, {2, 100}, {3, 7232}, {17, 576}, {128, 7168}, {4097, 128}, {300, 200}}};
  int i = 0;
  for (const ScaleSpec& spec : specs) {
    for (const auto& [rows, cols] : shapes) {
      DequantizeCase c;
      c.rows = rows;
      c.cols = cols;
      c.fp8 = kFormats[static_cast<size_t>(i % 2)];
      c.out = kOutputs[static_cast<size_t>(i % 3)];
      c.spec = spec;
      const bool pow2 = (i / 6) % 2 == 1;
      if (pow2) c.spec = spec.pow2();
      c.scale_dtype = pow2 && (i / 12) % 2 ? DType::ue8m0 : DType::f32;
      c.scales_column_major = (i / 2) % 2 == 1;
      EXPECT_DEQUANT_OK(c, rng);
      ++i;
    }
  }
  DequantizeCase weight;  // the weight shape family, ragged in both directions
  weight.rows = 4097;
  weight.cols = 7232;
  EXPECT_DEQUANT_OK(weight, rng);
}

TEST(DequantizeCuda, RowStridesAndUnalignedPointers) {
  FP8KIT_SKIP_WITHOUT_GPU();
  std::mt19937 rng(suite_seed() + 101);
  // {q_pad, y_pad, q_offset, y_offset}
  const std::array<std::array<int64_t, 4>, 5> layouts = {{{16, 8, 0, 0}, {3, 5, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}, {7, 3, 5, 2}}};
  int i = 0;
  for (const ScaleSpec& spec : {ScaleSpec::block(128, 128), ScaleSpec::group(128), ScaleSpec::per_row(), ScaleSpec::per_column()}) {
    for (const auto& layout : layouts) {
      DequantizeCase c;
      c.rows = i % 2 ? 130 : 17;
      c.cols = i % 3 ? 576 : 7232;
      c.fp8 = kFormats[static_cast<size_t>(i % 2)];
      c.out = kOutputs[static_cast<size_t>(i % 3)];
      c.spec = spec;
      c.q_pad = layout[0];
      c.y_pad = layout[1];
      c.q_offset = layout[2];
      c.y_offset = layout[3];
      EXPECT_DEQUANT_OK(c, rng);
      ++i;
    }
  }
}

}  // namespace
}  // namespace fp8kit::testing
