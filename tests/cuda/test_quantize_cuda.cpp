// CUDA quantization against the scalar CPU reference, bit for bit: every granularity, input and output
// dtype, scale format and layout, ragged shapes, row strides, unaligned pointers, NaN/inf/zero/subnormal
// tiles, amax bounds; per-tensor determinism; input written late by the kernel ahead (dependent launch);
// refusals of host pointers and missing devices.
#include <cuda_runtime.h>

#include <array>
#include <string>
#include <vector>

#include "cuda/common/cuda_check.h"
#include "cuda_quant_cases.h"
#include "late_writer.h"

namespace fp8kit::testing {
namespace {

struct QuantizeCase {
  int64_t rows = 1, cols = 1;
  DType in = DType::bf16, out = DType::e4m3fn;
  ScaleSpec spec = ScaleSpec::group(128);
  DType scale_dtype = DType::f32;
  bool scales_column_major = false;
  float bound = 0.0f;
  int64_t x_pad = 0, q_pad = 0, x_offset = 0;  // elements: row-stride padding, base misalignment
  bool nonfinite = true;                       // NaN and +-inf placed in the input
  const std::vector<float>* values = nullptr;  // instead of hostile values (rows x (cols + x_pad))
  bool late_input = false;  // x written by a kernel ahead of the quantization that lets it start early

  std::string name() const {
    std::ostringstream o;
    o << dtype_name(in) << "[" << rows << ", " << cols << "] ld+" << x_pad << " off+" << x_offset << " -> "
      << dtype_name(out) << " ld+" << q_pad << ", " << spec_text(spec) << " " << dtype_name(scale_dtype)
      << (scales_column_major ? " column-major" : " row-major") << " scales, bound " << bound
      << (nonfinite ? ", with NaN/inf" : "") << (late_input ? ", x written late" : "");
    return o.str();
  }
};

/// Runs the case on the CPU reference and on the GPU; empty when every byte agrees.
std::string run_case(const QuantizeCase& c, std::mt19937& rng, void* stream = nullptr) {
  const int64_t x_ld = c.cols + c.x_pad, q_ld = c.cols + c.q_pad;
  std::vector<float> values = c.values ? *c.values : hostile_values(c.rows, c.cols, x_ld, c.in, rng);
  if (c.nonfinite && !c.values) place_nonfinite(values, c.rows, c.cols, x_ld, rng);
  StagedMatrix x{dtype_bytes(values, c.in, c.x_offset), c.in, c.rows, c.cols, x_ld, c.x_offset};
  StagedMatrix q = StagedMatrix::filled(c.out, c.rows, c.cols, q_ld, 0, kQPoison);
  ScaleBuffer s = ScaleBuffer::make(c.spec, c.scale_dtype, c.rows, c.cols, c.scales_column_major, kScalePoison);

  DeviceBuffer xd(x.bytes), qd(q.bytes), sd(s.bytes);
  quantize(x.view(x.bytes.data(), Device::cpu()), q.view(q.bytes.data(), Device::cpu()),
           s.view(s.bytes.data(), Device::cpu()), c.spec, on_backend(Backend::cpu_reference, c.bound));
  // Late input (programmatic dependent launch, where the device has it): x on the device starts as huge
  // values, and a kernel that lets the quantization start at once copies the real x over it after a spin.
  const DeviceBuffer x_late(c.late_input ? x.bytes : std::vector<uint8_t>(16));
  if (c.late_input) {
    const auto late_stream = static_cast<cudaStream_t>(stream);
    FP8KIT_CUDA_CHECK(cudaMemsetAsync(xd.get(), 0x7F, x.bytes.size(), late_stream));
    write_late({xd.get(), x_late.get(), x.bytes.size()}, {}, /*delay_us=*/20, late_stream);
  }
  quantize(x.view(xd.get(), gpu()), q.view(qd.get(), gpu()), s.view(sd.get(), gpu()), c.spec,
           on_backend(Backend::cuda, c.bound, stream));
  cuda::synchronize(0);
  std::string m = compare_bytes("q", q.bytes, qd.read<uint8_t>(), 1, q_ld);
  if (m.empty()) m = compare_bytes("scales", s.bytes, sd.read<uint8_t>(), static_cast<size_t>(dtype_size(c.scale_dtype)), 0);
  return m;
}

#define EXPECT_CASE_OK(c, rng, ...)                                                               \
  do {                                                                                            \
    const std::string fp8kit_msg_ = run_case((c), (rng) __VA_OPT__(, ) __VA_ARGS__);              \
    EXPECT_TRUE(fp8kit_msg_.empty()) << (c).name() << "\n  " << fp8kit_msg_ << "\n  " << seed_note(); \
  } while (0)

const std::array<int64_t, 6> kRows = {1, 2, 3, 17, 128, 4097};
const std::array<int64_t, 6> kCols = {32, 100, 128, 576, 7168, 7232};
const std::array<DType, 3> kInputs = {DType::bf16, DType::f16, DType::f32};
const std::array<DType, 2> kOutputs = {DType::e4m3fn, DType::e5m2};

/// Scale formats in turn: f32 exact, f32 pow2, ue8m0 (pow2).
struct ScaleFormat {
  DType dtype;
  ScaleRounding rounding;
};
const std::array<ScaleFormat, 3> kScaleFormats = {{{DType::f32, ScaleRounding::exact},
                                                    {DType::f32, ScaleRounding::pow2},
                                                    {DType::ue8m0, ScaleRounding::pow2}}};

ScaleSpec with_rounding(ScaleSpec s, ScaleRounding r) {
  s.rounding = r;
  return s;
}

/// One small case per kernel path (the group vector kernel at several widths, the block kernel, the
/// per-tensor kernels, the generic kernel for column tiles, odd groups, strided and unaligned rows),
/// every input dtype: the sweep compute-sanitizer runs (scripts/gpu_check.sh sanitize).
TEST(QuantizeCuda, SmallShapesOfEveryKernel) {
  FP8KIT_SKIP_WITHOUT_GPU();
  std::mt19937 rng(suite_seed() + 9);
  int i = 0;
  for (const ScaleSpec& spec : {ScaleSpec::group(128), ScaleSpec::group(32), ScaleSpec::group(512), ScaleSpec::group(100),
                                ScaleSpec::block(128, 128), ScaleSpec::block(32, 96), ScaleSpec::block(1, 128),
                                ScaleSpec::per_row(), ScaleSpec::per_column(), ScaleSpec::per_tensor(),
                                ScaleSpec::group(128).pow2()}) {
    for (DType in : kInputs) {
      QuantizeCase c;
      c.rows = 130;
      c.cols = 300;
      c.in = in;
      c.out = kOutputs[static_cast<size_t>(i % 2)];
      c.spec = spec;
      c.scale_dtype = spec.rounding == ScaleRounding::pow2 && i % 2 ? DType::ue8m0 : DType::f32;
      c.scales_column_major = i % 2 == 1;
      c.bound = i % 5 == 2 ? 3.0f : 0.0f;
      if (i % 4 == 3) {  // padded rows and a misaligned base: the generic fallback
        c.x_pad = 3;
        c.q_pad = 1;
        c.x_offset = 1;
      }
      EXPECT_CASE_OK(c, rng);
      ++i;
    }
  }
}

TEST(QuantizeCuda, Group128EveryShape) {
  FP8KIT_SKIP_WITHOUT_GPU();
  std::mt19937 rng(suite_seed());
  int i = 0;
  for (int64_t rows : kRows) {
    for (int64_t cols : kCols) {
      QuantizeCase c;
      c.rows = rows;
      c.cols = cols;
      c.in = kInputs[static_cast<size_t>(i % 3)];
      c.out = kOutputs[static_cast<size_t>(i % 2)];
      const ScaleFormat f = kScaleFormats[static_cast<size_t>((i / 6) % 3)];
      c.scale_dtype = f.dtype;
      c.spec = with_rounding(ScaleSpec::group(128), f.rounding);
      c.scales_column_major = (i / 3) % 2 == 1;
      c.nonfinite = i % 4 != 3;
      EXPECT_CASE_OK(c, rng);
      ++i;
    }
  }
}

TEST(QuantizeCuda, GroupSizesDtypesAndLayouts) {
  FP8KIT_SKIP_WITHOUT_GPU();
  std::mt19937 rng(suite_seed() + 1);
  const std::array<std::pair<int64_t, int64_t>, 4> shapes = {{{17, 7232}, {128, 576}, {3, 100}, {2, 32}}};
  int i = 0;
  for (int64_t g : {32, 64, 128, 256, 8, 100, 48}) {
    for (DType in : kInputs) {
      for (const auto& [rows, cols] : shapes) {
        QuantizeCase c;
        c.rows = rows;
        c.cols = cols;
        c.in = in;
        c.out = kOutputs[static_cast<size_t>(i % 2)];
        const ScaleFormat f = kScaleFormats[static_cast<size_t>((i / 2) % 3)];
        c.scale_dtype = f.dtype;
        c.spec = with_rounding(ScaleSpec::group(g), f.rounding);
        c.scales_column_major = i % 4 >= 2;
        EXPECT_CASE_OK(c, rng);
        ++i;
      }
    }
  }
}

TEST(QuantizeCuda, RowsAndColumns) {
  FP8KIT_SKIP_WITHOUT_GPU();
  std::mt19937 rng(suite_seed() + 2);
  int i = 0;
  for (const ScaleSpec& spec : {ScaleSpec::per_row(), ScaleSpec::per_column()}) {
    for (int64_t rows : {1, 3, 17, 128}) {
      // 20000 and 40000: rows wider than the registers of one block hold (8 and more than 8 vectors per thread)
      for (int64_t cols : {32, 100, 256, 7168, 7232, 20000, 40000}) {
        QuantizeCase c;
        c.rows = rows;
        c.cols = cols;
        c.in = kInputs[static_cast<size_t>(i % 3)];
        c.out = kOutputs[static_cast<size_t>((i / 3) % 2)];
        const ScaleFormat f = kScaleFormats[static_cast<size_t>(i % 3)];
        c.scale_dtype = f.dtype;
        c.spec = with_rounding(spec, f.rounding);
        c.nonfinite = i % 3 != 1;
        EXPECT_CASE_OK(c, rng);
        ++i;
      }
    }
  }
}

TEST(QuantizeCuda, Blocks) {
  FP8KIT_SKIP_WITHOUT_GPU();
  std::mt19937 rng(suite_seed() + 3);
  // 256 x 256: more vectors than the registers of one block hold, read twice
  const std::array<std::pair<int64_t, int64_t>, 8> tiles = {
      {{128, 128}, {128, 64}, {64, 128}, {32, 96}, {1, 128}, {256, 32}, {16, 4}, {256, 256}}};
  const std::array<std::pair<int64_t, int64_t>, 5> shapes = {{{300, 200}, {128, 7168}, {17, 576}, {1, 100}, {129, 7232}}};
  int i = 0;
  for (const auto& [br, bc] : tiles) {
    for (const auto& [rows, cols] : shapes) {
      QuantizeCase c;
      c.rows = rows;
      c.cols = cols;
      c.in = kInputs[static_cast<size_t>(i % 3)];
      c.out = kOutputs[static_cast<size_t>((i / 3) % 2)];
      const ScaleFormat f = kScaleFormats[static_cast<size_t>((i / 2) % 3)];
      c.scale_dtype = f.dtype;
      c.spec = with_rounding(ScaleSpec::block(br, bc), f.rounding);
      c.scales_column_major = i % 2 == 1;
      c.nonfinite = i % 5 != 0;
      EXPECT_CASE_OK(c, rng);
      ++i;
    }
  }
  QuantizeCase big;  // the weight shape family, ragged in both directions
  big.rows = 4097;
  big.cols = 7232;
  big.spec = ScaleSpec::block(128, 128);
  EXPECT_CASE_OK(big, rng);
}

TEST(QuantizeCuda, TensorAndItsDeterminism) {
  FP8KIT_SKIP_WITHOUT_GPU();
  std::mt19937 rng(suite_seed() + 4);
  int i = 0;
  for (const auto& [rows, cols] : std::array<std::pair<int64_t, int64_t>, 5>{{{1, 32}, {3, 100}, {17, 7232}, {128, 576}, {4097, 128}}}) {
    for (bool nonfinite : {false, true}) {
      QuantizeCase c;
      c.rows = rows;
      c.cols = cols;
      c.in = kInputs[static_cast<size_t>(i % 3)];
      c.out = kOutputs[static_cast<size_t>(i % 2)];
      const ScaleFormat f = kScaleFormats[static_cast<size_t>(i % 3)];
      c.scale_dtype = f.dtype;
      c.spec = with_rounding(ScaleSpec::per_tensor(), f.rounding);
      c.nonfinite = nonfinite;
      EXPECT_CASE_OK(c, rng);
      ++i;
    }
  }
  // The same large input three times: identical bits each time (the amax reduction is order-free).
  const int64_t rows = 4097, cols = 7232;
  const std::vector<float> values = hostile_values(rows, cols, cols, DType::bf16, rng);
  const std::vector<uint8_t> x = dtype_bytes(values, DType::bf16, 0);
  DeviceBuffer xd(x), qd(static_cast<size_t>(rows * cols)), sd(sizeof(float));
  std::vector<uint8_t> first_q, first_s;
  for (int run = 0; run < 3; ++run) {
    quantize(TensorView::contiguous(xd.get(), DType::bf16, {rows, cols}, gpu()),
             TensorView::contiguous(qd.get(), DType::e4m3fn, {rows, cols}, gpu()),
             TensorView::contiguous(sd.get(), DType::f32, {1}, gpu()), ScaleSpec::per_tensor(), on_backend(Backend::cuda));
    cuda::synchronize(0);
    if (run == 0) {
      first_q = qd.read<uint8_t>();
      first_s = sd.read<uint8_t>();
    } else {
      EXPECT_EQ(qd.read<uint8_t>(), first_q) << "run " << run << ", " << seed_note();
      EXPECT_EQ(sd.read<uint8_t>(), first_s) << "run " << run << ", " << seed_note();
    }
  }
}

TEST(QuantizeCuda, EmptyTensorHasScaleOne) {
  FP8KIT_SKIP_WITHOUT_GPU();
  DeviceBuffer xd(16), qd(16), sd(std::vector<float>{-3.0f});
  quantize(TensorView::contiguous(xd.get(), DType::bf16, {0, 64}, gpu()),
           TensorView::contiguous(qd.get(), DType::e4m3fn, {0, 64}, gpu()),
           TensorView::contiguous(sd.get(), DType::f32, {1}, gpu()), ScaleSpec::per_tensor(), on_backend(Backend::cuda));
  cuda::synchronize(0);
  EXPECT_EQ(sd.read<float>()[0], 1.0f);
}

/// The group kernel is launched as a dependent kernel (it may start while the kernel ahead of it runs):
/// it must wait for that kernel before reading x, in both scale layouts and for a decode-sized and a large x.
TEST(QuantizeCuda, DependentLaunchWaitsForTheKernelBefore) {
  FP8KIT_SKIP_WITHOUT_GPU();
  std::mt19937 rng(suite_seed() + 17);
  cudaStream_t stream;
  FP8KIT_CUDA_CHECK(cudaStreamCreate(&stream));
  for (const int64_t rows : {64, 2048}) {
    for (const bool column_major : {false, true}) {
      QuantizeCase c;
      c.rows = rows;
      c.cols = 7168;
      c.scales_column_major = column_major;
      c.late_input = true;
      EXPECT_CASE_OK(c, rng, stream);
    }
  }
  FP8KIT_CUDA_CHECK(cudaStreamDestroy(stream));
}

TEST(QuantizeCuda, RowStridesAndUnalignedPointers) {
  FP8KIT_SKIP_WITHOUT_GPU();
  std::mt19937 rng(suite_seed() + 5);
  const std::array<ScaleSpec, 6> specs = {ScaleSpec::group(128), ScaleSpec::group(64).pow2(), ScaleSpec::block(128, 128),
                                          ScaleSpec::per_row(), ScaleSpec::per_tensor(), ScaleSpec::per_column()};
  // {x_pad, q_pad, x_offset}: aligned padding, odd padding, a base one element off, both.
  const std::array<std::array<int64_t, 3>, 4> layouts = {{{64, 16, 0}, {3, 5, 0}, {0, 0, 1}, {7, 1, 3}}};
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  int i = 0;
  for (const ScaleSpec& spec : specs) {
    for (const auto& layout : layouts) {
      QuantizeCase c;
      c.rows = i % 2 ? 130 : 17;
      c.cols = i % 3 ? 576 : 7232;
      c.in = kInputs[static_cast<size_t>(i % 3)];
      c.out = kOutputs[static_cast<size_t>(i % 2)];
      c.spec = spec;
      c.scale_dtype = spec.rounding == ScaleRounding::pow2 && i % 2 ? DType::ue8m0 : DType::f32;
      c.x_pad = layout[0];
      c.q_pad = layout[1];
      c.x_offset = layout[2];
      EXPECT_CASE_OK(c, rng, stream);
      ++i;
    }
  }
  cudaStreamDestroy(stream);
}

TEST(QuantizeCuda, AmaxUpperBound) {
  FP8KIT_SKIP_WITHOUT_GPU();
  std::mt19937 rng(suite_seed() + 6);
  int i = 0;
  for (float bound : {0.5f, 1e-38f, 3.0e38f, 448.0f}) {
    for (const ScaleSpec& spec : {ScaleSpec::per_row(), ScaleSpec::group(128), ScaleSpec::per_tensor(), ScaleSpec::block(64, 64).pow2()}) {
      QuantizeCase c;
      c.rows = 33;
      c.cols = 7232;
      c.in = kInputs[static_cast<size_t>(i % 3)];
      c.out = kOutputs[static_cast<size_t>(i % 2)];
      c.spec = spec;
      c.bound = bound;
      c.nonfinite = i % 2 == 0;  // a bound never hides inf
      EXPECT_CASE_OK(c, rng);
      ++i;
    }
  }
}

/// Every finite f32 exponent with the mantissa bits that decide rounding (ties, just below and above
/// them, at each position an FP8 normal or subnormal rounds at), plus random finite bit patterns.
/// With the bound at fmax and fmax in the group the scale is exactly 1, so q = encode(x): the GPU's
/// encoder (cvt.rn.satfinite on sm_89+) must equal numerics.h on all of them, saturation included.
TEST(QuantizeCuda, EncoderSweepAtScaleOne) {
  FP8KIT_SKIP_WITHOUT_GPU();
  std::mt19937 rng(suite_seed() + 7);
  std::vector<uint32_t> patterns;
  const uint32_t lows[] = {0u, 1u, 0x3FFFFu, 0x40000u, 0x40001u, 0x7FFFFu};
  for (uint32_t e = 0; e < 255; ++e) {
    for (uint32_t top = 0; top < 16; ++top) {
      for (uint32_t low : lows) patterns.push_back((e << 23) | (top << 19) | low);
    }
  }
  std::uniform_int_distribution<uint32_t> any(0, 0x7F7FFFFFu);
  for (int k = 0; k < 50000; ++k) patterns.push_back(any(rng));
  for (DType out : kOutputs) {
    const float fmax = traits(format_of(out)).max_finite;
    const int64_t group = 32, per_group = group - 1;
    const int64_t cols = 1024, groups = static_cast<int64_t>(2 * patterns.size() + per_group - 1) / per_group;
    const int64_t rows = (groups * group + cols - 1) / cols;
    std::vector<float> values(static_cast<size_t>(rows * cols), 0.0f);
    size_t next = 0;
    for (int64_t g = 0; g < rows * cols / group; ++g) {
      values[static_cast<size_t>(g * group)] = fmax;
      for (int64_t k = 1; k < group && next < 2 * patterns.size(); ++k, ++next) {
        const uint32_t sign = next % 2 ? 0x80000000u : 0u;
        values[static_cast<size_t>(g * group + k)] = numerics::float_of(patterns[next / 2] | sign);
      }
    }
    for (ScaleRounding rounding : {ScaleRounding::exact, ScaleRounding::pow2}) {
      QuantizeCase c;
      c.rows = rows;
      c.cols = cols;
      c.in = DType::f32;
      c.out = out;
      c.spec = with_rounding(ScaleSpec::group(group), rounding);
      c.bound = fmax;
      c.values = &values;
      c.nonfinite = false;
      EXPECT_CASE_OK(c, rng);
    }
  }
}

/// Every finite bf16 and f16 value, divided by scales across the range in every kernel family: the
/// kernels divide through numerics::ScaleDivisor (Markstein's sequence inside its fast domain, the
/// IEEE division outside), which must give the reference's bits. Column 0 of every 128 holds the
/// dtype's max, so with an amax bound B every tile's scale is B / fmax; the other columns sweep the
/// values (tiny ones leave the fast domain, so both paths run inside one tile).
TEST(QuantizeCuda, DivisionSweepOverEveryInputValue) {
  FP8KIT_SKIP_WITHOUT_GPU();
  std::mt19937 rng(suite_seed() + 8);
  const int64_t cols = 7168;
  const float bounds[] = {1e-30f, std::ldexp(1.0f, -100), 3e-20f, 1.0f / 3.0f, 0.7f, 1.0f, 1.999f * 1024.0f, 12345.678f,
                          448.0f, 57344.0f, 3e5f, 1.3f * std::ldexp(1.0f, 100), 3e38f};
  int i = 0;
  for (DType in : {DType::bf16, DType::f16}) {
    std::vector<float> sweep;
    for (uint32_t h = 0; h < 65536; ++h) {
      const auto b = static_cast<uint16_t>(h);
      const float v = in == DType::bf16 ? numerics::bf16_bits_to_float(b) : numerics::f16_bits_to_float(b);
      if (!numerics::is_nonfinite(v)) sweep.push_back(v);
    }
    const int64_t per_row = cols - cols / 128;
    const int64_t rows = (static_cast<int64_t>(sweep.size()) + per_row - 1) / per_row;
    std::vector<float> values(static_cast<size_t>(rows * cols), 0.0f);
    size_t next = 0;
    for (int64_t k = 0; k < rows * cols; ++k) {
      values[static_cast<size_t>(k)] = k % 128 == 0 ? max_finite_of(in) : (next < sweep.size() ? sweep[next++] : 0.0f);
    }
    for (const float bound : bounds) {
      for (const ScaleSpec& spec : {ScaleSpec::group(128), ScaleSpec::per_row(), ScaleSpec::block(128, 128), ScaleSpec::per_tensor()}) {
        QuantizeCase c;
        c.rows = rows;
        c.cols = cols;
        c.in = in;
        c.out = kOutputs[static_cast<size_t>(i++ % 2)];
        c.spec = spec;
        c.bound = bound;
        c.values = &values;
        c.nonfinite = false;
        EXPECT_CASE_OK(c, rng);
      }
    }
  }
}

/// Row strides beyond 2^31 elements: 64-bit offsets in every kernel family.
TEST(QuantizeCuda, OffsetsBeyond32Bits) {
  FP8KIT_SKIP_WITHOUT_GPU();
  const int64_t rows = 3, cols = 256, ld = (int64_t{1} << 31) + 256;
  const size_t bytes = static_cast<size_t>(((rows - 1) * ld + cols) * 2);
  size_t free_bytes = 0, total = 0;
  ASSERT_EQ(cudaMemGetInfo(&free_bytes, &total), cudaSuccess);
  if (free_bytes < bytes + (size_t{1} << 30)) GTEST_SKIP() << "needs " << bytes / (1 << 20) << " MiB of free GPU memory";
  std::mt19937 rng(suite_seed() + 8);
  const std::vector<float> values = hostile_values(rows, cols, cols, DType::bf16, rng);
  const std::vector<uint8_t> compact = to_bytes(values, DType::bf16);
  DeviceBuffer xd(bytes);
  ASSERT_EQ(cudaMemset(xd.get(), 0xFF, bytes), cudaSuccess);  // NaN everywhere but the rows
  ASSERT_EQ(cudaMemcpy2D(xd.get(), static_cast<size_t>(ld * 2), compact.data(), static_cast<size_t>(cols * 2),
                         static_cast<size_t>(cols * 2), static_cast<size_t>(rows), cudaMemcpyHostToDevice),
            cudaSuccess);
  for (const ScaleSpec& spec : {ScaleSpec::group(128), ScaleSpec::block(2, 128), ScaleSpec::per_tensor(), ScaleSpec::group(100)}) {
    const ScaleGridShape grid = scale_grid_shape(rows, cols, spec);
    const size_t cells = static_cast<size_t>(grid.rows * grid.cols);
    std::vector<uint8_t> q_ref(static_cast<size_t>(rows * cols), kQPoison);
    std::vector<float> s_ref(cells, -1.0f);
    const auto scale_view = [&](void* p, Device d) {
      return spec.granularity == Granularity::tensor ? TensorView::contiguous(p, DType::f32, {1}, d)
                                                     : TensorView::contiguous(p, DType::f32, {grid.rows, grid.cols}, d);
    };
    std::vector<uint8_t> x_host = compact;
    quantize(TensorView::contiguous(x_host.data(), DType::bf16, {rows, cols}),
             TensorView::contiguous(q_ref.data(), DType::e4m3fn, {rows, cols}), scale_view(s_ref.data(), Device::cpu()), spec,
             on_backend(Backend::cpu_reference));
    DeviceBuffer qd(std::vector<uint8_t>(q_ref.size(), kQPoison)), sd(std::vector<float>(cells, -1.0f));
    quantize(TensorView::matrix(xd.get(), DType::bf16, rows, cols, ld, gpu()),
             TensorView::contiguous(qd.get(), DType::e4m3fn, {rows, cols}, gpu()), scale_view(sd.get(), gpu()), spec,
             on_backend(Backend::cuda));
    cuda::synchronize(0);
    EXPECT_EQ(first_mismatch(q_ref, qd.read<uint8_t>(), 1, cols), "") << spec_text(spec) << ", " << seed_note();
    EXPECT_EQ(sd.read<float>(), s_ref) << spec_text(spec) << ", " << seed_note();
  }
}

// ---- refusals ---------------------------------------------------------------------------------

TEST(CudaBackendErrors, HostPointersAreRefusedByName) {
  FP8KIT_SKIP_WITHOUT_GPU();
  std::vector<uint16_t> x_host(256, 0x3F80);
  std::vector<uint8_t> q_host(256);
  std::vector<float> s_host(2);
  DeviceBuffer xd(x_host), qd(q_host), sd(s_host);
  const auto x = [&](void* p) { return TensorView::contiguous(p, DType::bf16, {2, 128}, gpu()); };
  const auto q = [&](void* p) { return TensorView::contiguous(p, DType::e4m3fn, {2, 128}, gpu()); };
  const auto s = [&](void* p) { return TensorView::contiguous(p, DType::f32, {2, 1}, gpu()); };
  const QuantizeOptions o = on_backend(Backend::cuda);
  struct Case {
    TensorView x, q, s;
    const char* name;
  };
  for (const Case& c : {Case{x(x_host.data()), q(qd.get()), s(sd.get()), "x"}, Case{x(xd.get()), q(q_host.data()), s(sd.get()), "q"},
                        Case{x(xd.get()), q(qd.get()), s(s_host.data()), "scales"}}) {
    const Verdict v = can_quantize(c.x, c.q, c.s, ScaleSpec::group(128), o);
    ASSERT_FALSE(v.ok) << c.name;
    EXPECT_NE(v.reason.find(std::string(c.name) + " ("), std::string::npos) << v.reason;
    EXPECT_NE(v.reason.find("host memory"), std::string::npos) << v.reason;
    EXPECT_THROW(quantize(c.x, c.q, c.s, ScaleSpec::group(128), o), Error) << c.name;
  }
  std::vector<uint16_t> y_host(256);
  DequantizeOptions d;
  d.backend = Backend::cuda;
  const Verdict v = can_dequantize(q(qd.get()), s(sd.get()), TensorView::contiguous(y_host.data(), DType::bf16, {2, 128}, gpu()),
                                   ScaleSpec::group(128), d);
  ASSERT_FALSE(v.ok);
  EXPECT_NE(v.reason.find("y ("), std::string::npos) << v.reason;
  EXPECT_THROW(silu_mul(TensorView::contiguous(xd.get(), DType::bf16, {2, 128}, gpu()),
                        TensorView::contiguous(y_host.data(), DType::bf16, {2, 64}, gpu()), o),
               Error);
  cuda::synchronize(0);  // nothing was launched: the context is healthy
}

// options.pointers_known (the Python layer's guarantee for its own tensors) skips only the runtime
// query: null pointers are still refused, and the same launch writes the same bits.
TEST(CudaBackendErrors, PointersKnownSkipsOnlyThePointerQuery) {
  FP8KIT_SKIP_WITHOUT_GPU();
  std::vector<uint16_t> x_host(256);
  for (size_t i = 0; i < x_host.size(); ++i) x_host[i] = static_cast<uint16_t>(0x3F80 + 37 * i);
  DeviceBuffer xd(x_host), qd(256), sd(8), q_known(256), s_known(8);
  const auto view = [&](void* p, DType t, int64_t cols) { return TensorView::contiguous(p, t, {2, cols}, gpu()); };
  QuantizeOptions known = on_backend(Backend::cuda);
  known.pointers_known = true;
  const ScaleSpec spec = ScaleSpec::group(128);
  const Verdict host = can_quantize(view(x_host.data(), DType::bf16, 128), view(qd.get(), DType::e4m3fn, 128),
                                    view(sd.get(), DType::f32, 1), spec, known);
  EXPECT_TRUE(host.ok) << "the guarantee should stand in for the query: " << host.reason;
  const Verdict null = can_quantize(view(nullptr, DType::bf16, 128), view(qd.get(), DType::e4m3fn, 128),
                                    view(sd.get(), DType::f32, 1), spec, known);
  ASSERT_FALSE(null.ok);
  EXPECT_NE(null.reason.find("null pointer"), std::string::npos) << null.reason;
  quantize(view(xd.get(), DType::bf16, 128), view(qd.get(), DType::e4m3fn, 128), view(sd.get(), DType::f32, 1), spec,
           on_backend(Backend::cuda));
  quantize(view(xd.get(), DType::bf16, 128), view(q_known.get(), DType::e4m3fn, 128), view(s_known.get(), DType::f32, 1),
           spec, known);
  EXPECT_EQ(qd.read<uint8_t>(), q_known.read<uint8_t>());
  EXPECT_EQ(sd.read<uint8_t>(), s_known.read<uint8_t>());
}

TEST(CudaBackendErrors, DevicesThatDoNotHoldThePointers) {
  FP8KIT_SKIP_WITHOUT_GPU();
  const int count = static_cast<int>(capabilities().gpus.size());
  DeviceBuffer xd(512), qd(256), sd(8);
  const auto views = [&](const Device& d) {
    return std::array<TensorView, 3>{TensorView::contiguous(xd.get(), DType::bf16, {2, 128}, d),
                                     TensorView::contiguous(qd.get(), DType::e4m3fn, {2, 128}, d),
                                     TensorView::contiguous(sd.get(), DType::f32, {2, 1}, d)};
  };
  const auto missing = views(Device::cuda(count));
  const Verdict v = can_quantize(missing[0], missing[1], missing[2], ScaleSpec::group(128), on_backend(Backend::cuda));
  ASSERT_FALSE(v.ok);
  EXPECT_NE(v.reason.find("does not exist"), std::string::npos) << v.reason;
  if (count < 2) GTEST_SKIP() << "the wrong-device case needs two GPUs, this machine has " << count;
  const auto other = views(Device::cuda(1));
  const Verdict w = can_quantize(other[0], other[1], other[2], ScaleSpec::group(128), on_backend(Backend::cuda));
  ASSERT_FALSE(w.ok);
  EXPECT_NE(w.reason.find("memory of cuda:0"), std::string::npos) << w.reason;
}

}  // namespace
}  // namespace fp8kit::testing
