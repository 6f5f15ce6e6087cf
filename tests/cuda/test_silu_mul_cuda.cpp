// CUDA SiLU-mul against the CPU reference: the plain kernel bit for bit, and the fused SiLU-mul + 1 x G
// quantization bit for bit against the CPU's two steps (silu_mul, then quantize) and its fused path,
// over group sizes, FP8 formats, scale formats and layouts, strides, unaligned pointers, and inputs
// that drive exp to overflow and underflow, NaN and inf.
#include <array>
#include <string>
#include <vector>

#include "cuda_quant_cases.h"

namespace fp8kit::testing {
namespace {

/// gate_up values over [R, 2I] (row stride ld): normal at magnitudes 2^-4..2^6, 3% hostile (exp
/// overflow and underflow, zeros, huge); NaN and +-inf placed when `nonfinite`.
std::vector<float> gate_up_values(int64_t rows, int64_t cols2, int64_t ld, bool nonfinite, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_int_distribution<int> percent(0, 99), exponent(-4, 6);
  const float specials[] = {0.0f, -0.0f, 100.0f, -100.0f, 88.7f, -88.7f, 104.0f, -104.0f, 1e30f, -1e30f, 1e-39f, 20.0f};
  std::uniform_int_distribution<size_t> pick(0, std::size(specials) - 1);
  std::vector<float> v(static_cast<size_t>(rows * ld), NAN);
  for (int64_t r = 0; r < rows; ++r) {
    const float scale = std::ldexp(1.0f, exponent(rng));
    for (int64_t c = 0; c < cols2; ++c) {
      v[static_cast<size_t>(r * ld + c)] = percent(rng) < 3 ? specials[pick(rng)] : normal(rng) * scale;
    }
  }
  if (nonfinite) place_nonfinite(v, rows, cols2, ld, rng);
  return v;
}

struct SiluCase {
  int64_t rows = 1, inter = 1;
  int64_t gate_up_pad = 0, out_pad = 0, gate_up_offset = 0;
  bool nonfinite = true;
  // fused only
  int64_t group = 128;
  DType fp8 = DType::e4m3fn, scale_dtype = DType::f32;
  ScaleRounding rounding = ScaleRounding::exact;
  bool scales_column_major = false;
  float bound = 0.0f;

  std::string name() const {
    std::ostringstream o;
    o << "gate_up bf16[" << rows << ", " << 2 * inter << "] ld+" << gate_up_pad << " off+" << gate_up_offset << ", out ld+"
      << out_pad << ", group " << group << " " << dtype_name(fp8) << " " << dtype_name(scale_dtype)
      << (rounding == ScaleRounding::pow2 ? " pow2" : "") << (scales_column_major ? " column-major" : " row-major")
      << " scales, bound " << bound << (nonfinite ? ", with NaN/inf" : "");
    return o.str();
  }
  StagedMatrix gate_up(std::mt19937& rng) const {
    const int64_t ld = 2 * inter + gate_up_pad;
    return {dtype_bytes(gate_up_values(rows, 2 * inter, ld, nonfinite, rng), DType::bf16, gate_up_offset), DType::bf16, rows,
            2 * inter, ld, gate_up_offset};
  }
};

std::string run_plain(const SiluCase& c, std::mt19937& rng) {
  const StagedMatrix gu = c.gate_up(rng);
  StagedMatrix h = StagedMatrix::filled(DType::bf16, c.rows, c.inter, c.inter + c.out_pad, 0, kOutPoison);
  std::vector<uint8_t> gu_host = gu.bytes;
  DeviceBuffer gd(gu.bytes), hd(h.bytes);
  silu_mul(gu.view(gu_host.data(), Device::cpu()), h.view(h.bytes.data(), Device::cpu()), on_backend(Backend::cpu_reference));
  silu_mul(gu.view(gd.get(), gpu()), h.view(hd.get(), gpu()), on_backend(Backend::cuda));
  cuda::synchronize(0);
  return compare_bytes("h", h.bytes, hd.read<uint8_t>(), 2, c.inter + c.out_pad);
}

std::string run_fused(const SiluCase& c, std::mt19937& rng) {
  const StagedMatrix gu = c.gate_up(rng);
  std::vector<uint8_t> gu_host = gu.bytes;
  const int64_t q_ld = c.inter + c.out_pad;
  const ScaleSpec spec = c.rounding == ScaleRounding::pow2 ? ScaleSpec::group(c.group).pow2() : ScaleSpec::group(c.group);
  const QuantizeOptions reference = on_backend(Backend::cpu_reference, c.bound);

  // The CPU's two steps: h = silu_mul(gate_up), then quantize(h).
  StagedMatrix h = StagedMatrix::filled(DType::bf16, c.rows, c.inter, c.inter, 0, 0);
  StagedMatrix q2 = StagedMatrix::filled(c.fp8, c.rows, c.inter, q_ld, 0, kQPoison);
  ScaleBuffer s2 = ScaleBuffer::make(spec, c.scale_dtype, c.rows, c.inter, c.scales_column_major, kScalePoison);
  silu_mul(gu.view(gu_host.data(), Device::cpu()), h.view(h.bytes.data(), Device::cpu()), reference);
  quantize(h.view(h.bytes.data(), Device::cpu()), q2.view(q2.bytes.data(), Device::cpu()), s2.view(s2.bytes.data(), Device::cpu()),
           spec, reference);
  // The CPU's fused path must agree with its two steps.
  StagedMatrix q1 = StagedMatrix::filled(c.fp8, c.rows, c.inter, q_ld, 0, kQPoison);
  ScaleBuffer s1 = ScaleBuffer::make(spec, c.scale_dtype, c.rows, c.inter, c.scales_column_major, kScalePoison);
  silu_mul_quantize(gu.view(gu_host.data(), Device::cpu()), q1.view(q1.bytes.data(), Device::cpu()),
                    s1.view(s1.bytes.data(), Device::cpu()), spec, reference);
  std::string m = compare_bytes("CPU fused q vs CPU two-step q", q2.bytes, q1.bytes, 1, q_ld);
  if (!m.empty()) return m;

  StagedMatrix qg = StagedMatrix::filled(c.fp8, c.rows, c.inter, q_ld, 0, kQPoison);
  ScaleBuffer sg = ScaleBuffer::make(spec, c.scale_dtype, c.rows, c.inter, c.scales_column_major, kScalePoison);
  DeviceBuffer gd(gu.bytes), qd(qg.bytes), sd(sg.bytes);
  silu_mul_quantize(gu.view(gd.get(), gpu()), qg.view(qd.get(), gpu()), sg.view(sd.get(), gpu()), spec,
                    on_backend(Backend::cuda, c.bound));
  cuda::synchronize(0);
  m = compare_bytes("q", q2.bytes, qd.read<uint8_t>(), 1, q_ld);
  if (m.empty()) m = compare_bytes("scales", s2.bytes, sd.read<uint8_t>(), static_cast<size_t>(dtype_size(c.scale_dtype)), 0);
  return m;
}

#define EXPECT_SILU_OK(run, c, rng)                                                      \
  do {                                                                                   \
    const std::string fp8kit_msg_ = run((c), (rng));                                     \
    EXPECT_TRUE(fp8kit_msg_.empty()) << (c).name() << "\n  " << fp8kit_msg_ << "\n  " << seed_note(); \
  } while (0)

const std::array<std::pair<int64_t, int64_t>, 6> kShapes = {{{1, 7168}, {2, 100}, {3, 576}, {17, 7232}, {128, 128}, {513, 2048}}};

/// The plain and fused kernels on small shapes (vector and generic paths): the sweep compute-sanitizer runs.
TEST(SiluMulCuda, SmallShapesOfEveryKernel) {
  FP8KIT_SKIP_WITHOUT_GPU();
  std::mt19937 rng(suite_seed() + 202);
  int i = 0;
  for (int64_t group : {128, 32, 100}) {
    for (bool strided : {false, true}) {
      SiluCase c;
      c.rows = 17;
      c.inter = 576;
      c.group = group;
      c.fp8 = i % 2 ? DType::e5m2 : DType::e4m3fn;
      c.rounding = i % 3 == 1 ? ScaleRounding::pow2 : ScaleRounding::exact;
      c.scales_column_major = i % 2 == 1;
      if (strided) {
        c.gate_up_pad = 3;
        c.out_pad = 1;
        c.gate_up_offset = 1;
      }
      EXPECT_SILU_OK(run_plain, c, rng);
      EXPECT_SILU_OK(run_fused, c, rng);
      ++i;
    }
  }
}

TEST(SiluMulCuda, PlainMatchesReference) {
  FP8KIT_SKIP_WITHOUT_GPU();
  std::mt19937 rng(suite_seed() + 200);
  int i = 0;
  for (const auto& [rows, inter] : kShapes) {
    for (const auto& layout : std::array<std::array<int64_t, 3>, 3>{{{0, 0, 0}, {16, 8, 0}, {3, 1, 1}}}) {
      SiluCase c;
      c.rows = rows;
      c.inter = inter;
      c.gate_up_pad = layout[0];
      c.out_pad = layout[1];
      c.gate_up_offset = layout[2];
      c.nonfinite = i % 2 == 0;
      EXPECT_SILU_OK(run_plain, c, rng);
      ++i;
    }
  }
}

TEST(SiluMulCuda, FusedQuantizeMatchesTwoSteps) {
  FP8KIT_SKIP_WITHOUT_GPU();
  std::mt19937 rng(suite_seed() + 201);
  int i = 0;
  for (const auto& [rows, inter] : kShapes) {
    for (int64_t group : {128, 64, 32, 100}) {
      SiluCase c;
      c.rows = rows;
      c.inter = inter;
      c.group = group;
      c.fp8 = i % 2 ? DType::e5m2 : DType::e4m3fn;
      c.rounding = (i / 2) % 2 ? ScaleRounding::pow2 : ScaleRounding::exact;
      c.scale_dtype = c.rounding == ScaleRounding::pow2 && (i / 4) % 2 ? DType::ue8m0 : DType::f32;
      c.scales_column_major = (i / 3) % 2 == 1;
      c.nonfinite = i % 3 != 2;
      c.bound = i % 7 == 3 ? 2.0f : 0.0f;
      if (i % 5 == 4) {  // strided and unaligned: the generic path
        c.gate_up_pad = 3;
        c.out_pad = 1;
        c.gate_up_offset = 1;
      }
      EXPECT_SILU_OK(run_fused, c, rng);
      ++i;
    }
  }
}

}  // namespace
}  // namespace fp8kit::testing
