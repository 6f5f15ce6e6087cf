// Bad inputs at the public API on CPU tensors: null and misaligned pointers, overlapping inputs and
// outputs, sizes whose products overflow 32 or 64 bits, address ranges that wrap, zero-size tensors,
// and dtype / layout / enum values the library does not support. Each must give fp8kit::Error naming
// the values (checked by substring), before any memory is touched; none may crash (this suite also
// runs under AddressSanitizer and UndefinedBehaviorSanitizer, scripts/test_sanitizers.sh).
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "test_support.h"

namespace fp8kit {
namespace {

using testing::HostMatrix;
using testing::HostScaleGrid;

/// Runs `f`; expects fp8kit::Error whose message contains every one of `parts`.
template <typename F>
void expect_error(F&& f, std::initializer_list<std::string_view> parts) {
  try {
    f();
    ADD_FAILURE() << "no error was thrown; expected one mentioning '" << *parts.begin() << "'";
  } catch (const Error& e) {
    const std::string what = e.what();
    for (const std::string_view p : parts) EXPECT_NE(what.find(p), std::string::npos) << "'" << p << "' missing in: " << what;
  }
}

/// An address that is never dereferenced (can_* and refused calls touch no memory), aligned to 256.
void* fake(uintptr_t address = 0x100000) { return reinterpret_cast<void*>(address); }

std::string address_of(const void* p) { return detail::concat(p); }

QuantizeOptions on(Backend b) {
  QuantizeOptions o;
  o.backend = b;
  return o;
}

const Backend kCpuBackends[] = {Backend::cpu, Backend::cpu_reference};

TEST(ApiBadInputs, NullPointersWithElementsAreRefused) {
  std::vector<float> x(64);
  std::vector<uint8_t> q(64);
  std::vector<float> s(8);
  const TensorView xv = TensorView::contiguous(x.data(), DType::f32, {8, 8});
  const TensorView qv = TensorView::contiguous(q.data(), DType::e4m3fn, {8, 8});
  const TensorView sv = TensorView::contiguous(s.data(), DType::f32, {8, 1});
  for (const Backend b : kCpuBackends) {
    SCOPED_TRACE(backend_name(b));
    expect_error([&] { quantize(TensorView::contiguous(nullptr, DType::f32, {8, 8}), qv, sv, ScaleSpec::per_row(), on(b)); },
                 {"quantize", "x", "null pointer", "64 elements", "f32[8, 8]"});
    expect_error([&] { quantize(xv, TensorView::contiguous(nullptr, DType::e4m3fn, {8, 8}), sv, ScaleSpec::per_row(), on(b)); },
                 {"q", "null pointer"});
    expect_error([&] { quantize(xv, qv, TensorView::contiguous(nullptr, DType::f32, {8, 1}), ScaleSpec::per_row(), on(b)); },
                 {"scales", "null pointer"});
    DequantizeOptions d;
    d.backend = b;
    expect_error([&] { dequantize(qv, sv, TensorView::contiguous(nullptr, DType::bf16, {8, 8}), ScaleSpec::per_row(), d); },
                 {"dequantize", "y", "null pointer"});
  }
  // An empty tensor may be null: nothing is read or written.
  EXPECT_TRUE(can_quantize(TensorView::contiguous(nullptr, DType::f32, {0, 8}),
                           TensorView::contiguous(nullptr, DType::e4m3fn, {0, 8}),
                           TensorView::contiguous(nullptr, DType::f32, {0, 1}), ScaleSpec::per_row())
                  .ok);
}

TEST(ApiBadInputs, MisalignedPointersAreRefusedWithTheAddress) {
  std::vector<uint8_t> raw(1024);
  uint8_t* base = raw.data();  // operator new: 16-byte aligned
  const TensorView q = TensorView::contiguous(base + 512, DType::e4m3fn, {4, 8});
  const TensorView s = TensorView::contiguous(base + 768, DType::f32, {4});
  const TensorView x_odd = TensorView::contiguous(base + 1, DType::bf16, {4, 8});
  expect_error([&] { quantize(x_odd, q, s, ScaleSpec::per_row()); },
               {"x", address_of(base + 1), "not aligned", "2-byte bf16"});
  const TensorView x = TensorView::contiguous(base, DType::bf16, {4, 8});
  const TensorView s_odd = TensorView::contiguous(base + 770, DType::f32, {4});
  expect_error([&] { quantize(x, q, s_odd, ScaleSpec::per_row()); }, {"scales", address_of(base + 770), "4-byte f32"});
  // One-byte types are never misaligned.
  EXPECT_TRUE(can_quantize(x, TensorView::contiguous(base + 513, DType::e4m3fn, {4, 8}), s, ScaleSpec::per_row()).ok);
  // The GEMM output and bias too.
  GemmArgs g;
  g.a = TensorView::contiguous(base, DType::e4m3fn, {2, 16});
  g.b = TensorView::contiguous(base + 64, DType::e4m3fn, {2, 16});
  g.a_scales = TensorView::contiguous(base + 128, DType::f32, {2});
  g.b_scales = TensorView::contiguous(base + 144, DType::f32, {2});
  g.d = TensorView::contiguous(base + 258, DType::f32, {2, 2});
  g.scaling = GemmScaling::row;
  expect_error([&] { gemm(g); }, {"gemm", "D", address_of(base + 258), "not aligned"});
  g.d = TensorView::contiguous(base + 256, DType::f32, {2, 2});
  g.bias = TensorView::contiguous(base + 301, DType::bf16, {2});
  expect_error([&] { gemm(g); }, {"bias", address_of(base + 301), "2-byte bf16"});
}

TEST(ApiBadInputs, OverlappingInputsAndOutputsAreRefused) {
  std::vector<float> buf(256);
  auto* b = reinterpret_cast<uint8_t*>(buf.data());
  const TensorView x = TensorView::contiguous(b, DType::bf16, {4, 32});  // bytes [0, 256)
  const TensorView s = TensorView::contiguous(b + 768, DType::f32, {4});
  // q's last row lies inside x
  expect_error([&] { quantize(x, TensorView::contiguous(b + 200, DType::e4m3fn, {4, 32}), s, ScaleSpec::per_row()); },
               {"x and q overlap", address_of(b + 200)});
  // scales inside q
  expect_error([&] {
    quantize(x, TensorView::contiguous(b + 512, DType::e4m3fn, {4, 32}), TensorView::contiguous(b + 520, DType::f32, {4}),
             ScaleSpec::per_row());
  },
               {"q and scales overlap"});
  // dequantize writing over its scales
  expect_error([&] {
    dequantize(TensorView::contiguous(b + 512, DType::e4m3fn, {4, 32}), TensorView::contiguous(b + 256, DType::f32, {4}),
               TensorView::contiguous(b + 240, DType::bf16, {4, 32}), ScaleSpec::per_row());
  },
               {"scales and y overlap"});
  // A padded row stride that skips over another tensor is still an overlap of the spans.
  GemmArgs g;
  g.a = TensorView::contiguous(b, DType::e4m3fn, {2, 16});
  g.b = TensorView::contiguous(b + 64, DType::e4m3fn, {2, 16});
  g.a_scales = TensorView::contiguous(b + 128, DType::f32, {2});
  g.b_scales = TensorView::contiguous(b + 144, DType::f32, {2});
  g.d = TensorView::contiguous(b + 16, DType::f32, {2, 2});
  g.scaling = GemmScaling::row;
  expect_error([&] { gemm(g); }, {"A and D overlap"});
  // Touching ranges are fine: q right after x.
  EXPECT_TRUE(can_quantize(x, TensorView::contiguous(b + 256, DType::e4m3fn, {4, 32}), s, ScaleSpec::per_row()).ok);
}

TEST(ApiBadInputs, SizesBeyond64BitsAreRefusedWithTheShape) {
  const int64_t big = int64_t{1} << 40;
  const TensorView s = TensorView::contiguous(fake(0x200000), DType::f32, {1});
  // numel overflows int64
  TensorView x = TensorView::matrix(fake(), DType::bf16, big, big, big);
  TensorView q = TensorView::matrix(fake(0x300000), DType::e4m3fn, big, big, big);
  const Verdict v1 = can_quantize(x, q, s, ScaleSpec::per_tensor());
  ASSERT_FALSE(v1.ok);
  EXPECT_NE(v1.reason.find("1099511627776, 1099511627776"), std::string::npos) << v1.reason;
  EXPECT_NE(v1.reason.find("64-bit"), std::string::npos) << v1.reason;
  // numel fits (2^62) but the span in bytes does not: (2^31 - 1) * 2^33 elements of 2 bytes
  x = TensorView::matrix(fake(), DType::bf16, int64_t{1} << 31, int64_t{1} << 31, int64_t{1} << 33);
  q = TensorView::matrix(fake(0x300000), DType::e4m3fn, int64_t{1} << 31, int64_t{1} << 31, int64_t{1} << 31);
  const Verdict v2 = can_quantize(x, q, s, ScaleSpec::per_tensor());
  ASSERT_FALSE(v2.ok);
  EXPECT_NE(v2.reason.find("spans more bytes than a 64-bit offset holds"), std::string::npos) << v2.reason;
  // elements fit, bytes do not: 2^61 f32
  const TensorView f = TensorView::contiguous(fake(), DType::f32, {int64_t{1} << 61});
  const Verdict v3 = can_dequantize(TensorView::contiguous(fake(0x300000), DType::e4m3fn, {int64_t{1} << 61}), s, f,
                                    ScaleSpec::per_tensor());
  ASSERT_FALSE(v3.ok);
  EXPECT_NE(v3.reason.find("y spans more bytes"), std::string::npos) << v3.reason;
  // an address range that wraps past the top of the address space
  const uintptr_t top = std::numeric_limits<uintptr_t>::max() - 4095;
  const Verdict v4 = can_quantize(TensorView::contiguous(fake(top), DType::f32, {1024, 1024}),
                                  TensorView::contiguous(fake(0x300000), DType::e4m3fn, {1024, 1024}), s,
                                  ScaleSpec::per_tensor());
  ASSERT_FALSE(v4.ok);
  EXPECT_NE(v4.reason.find("past the end of the address space"), std::string::npos) << v4.reason;
  // numel() itself refuses rather than wrapping
  expect_error([&] { (void)TensorView::matrix(fake(), DType::f32, big, big, big).numel(); }, {"64-bit count"});
  // ... but an empty tensor is empty whatever its other sizes
  EXPECT_EQ(TensorView::contiguous(fake(), DType::f32, {big, big, 0}).numel(), 0);
}

TEST(ApiBadInputs, SizesBeyond32BitsAreAcceptedAndIndexedIn64Bits) {
  // Validation only (can_*): these tensors would need 16 GiB. The CUDA suite runs > 2^31 offsets.
  const int64_t m = (int64_t{1} << 17) + 3, k = (int64_t{1} << 15) + 5;  // m * k > 2^32
  const TensorView x = TensorView::contiguous(fake(0x1000000), DType::bf16, {m, k});
  const TensorView q = TensorView::contiguous(fake(0x1000000000), DType::e4m3fn, {m, k});
  const ScaleGridShape g = scale_grid_shape(m, k, ScaleSpec::group());
  EXPECT_EQ(g.rows, m);
  EXPECT_EQ(g.cols, (k + 127) / 128);
  const TensorView s = TensorView::contiguous(fake(0x2000000000), DType::f32, {g.rows, g.cols});
  const Verdict v = can_quantize(x, q, s, ScaleSpec::group());
  EXPECT_TRUE(v.ok) << v.reason;
  GemmArgs a;
  a.a = q;
  a.b = TensorView::contiguous(fake(0x3000000000), DType::e4m3fn, {m, k});
  a.a_scales = s;
  const ScaleGridShape bg = scale_grid_shape(m, k, ScaleSpec::block());
  a.b_scales = TensorView::contiguous(fake(0x4000000000), DType::f32, {bg.rows, bg.cols});
  a.d = TensorView::contiguous(fake(0x5000000000), DType::bf16, {m, m});
  const Verdict vg = can_gemm(a);
  EXPECT_TRUE(vg.ok) << vg.reason;
  // scale grids near the int64 limit do not overflow their rounding up
  const int64_t huge = std::numeric_limits<int64_t>::max();
  const ScaleGridShape h = scale_grid_shape(huge, huge, ScaleSpec::block(128, 128));
  EXPECT_EQ(h.rows, huge / 128 + 1);
  EXPECT_EQ(h.cols, huge / 128 + 1);
  expect_error([&] { scale_grid_shape(-1, 4, ScaleSpec::group()); }, {"[-1, 4]"});
}

TEST(ApiBadInputs, NegativeSizesAndStridesAreRefused) {
  TensorView x = TensorView::contiguous(fake(), DType::f32, {4, 8});
  const TensorView q = TensorView::contiguous(fake(0x200000), DType::e4m3fn, {4, 8});
  const TensorView s = TensorView::contiguous(fake(0x300000), DType::f32, {1});
  x.strides[0] = -8;
  const Verdict v = can_quantize(x, q, s, ScaleSpec::per_tensor());
  ASSERT_FALSE(v.ok);
  EXPECT_NE(v.reason.find("negative stride in dimension 0"), std::string::npos) << v.reason;
  TensorView xs = TensorView::contiguous(fake(), DType::f32, {4, 8});
  TensorView qs = q;
  xs.shape[0] = qs.shape[0] = -4;
  const Verdict w = can_quantize(xs, qs, s, ScaleSpec::per_tensor());
  ASSERT_FALSE(w.ok);
  EXPECT_NE(w.reason.find("negative size"), std::string::npos) << w.reason;
}

TEST(ApiBadInputs, UnsupportedDtypesLayoutsAndEnumValuesAreRefused) {
  const TensorView x = TensorView::contiguous(fake(), DType::bf16, {4, 256});
  const TensorView q = TensorView::contiguous(fake(0x200000), DType::e4m3fn, {4, 256});
  const TensorView s = TensorView::contiguous(fake(0x300000), DType::f32, {4, 2});
  auto refused = [](const Verdict& v, std::initializer_list<std::string_view> parts) {
    ASSERT_FALSE(v.ok);
    for (const std::string_view p : parts) EXPECT_NE(v.reason.find(p), std::string::npos) << p << " missing in: " << v.reason;
  };
  refused(can_quantize(TensorView::contiguous(fake(), DType::e4m3fn, {4, 256}), q, s, ScaleSpec::group()),
          {"x must be f32, f16 or bf16, got e4m3fn"});
  refused(can_quantize(x, TensorView::contiguous(fake(0x200000), DType::bf16, {4, 256}), s, ScaleSpec::group()),
          {"q must be e4m3fn or e5m2, got bf16"});
  refused(can_quantize(x, q, TensorView::contiguous(fake(0x300000), DType::f16, {4, 2}), ScaleSpec::group()),
          {"scales must be f32 or ue8m0, got f16"});
  refused(can_quantize(x, q, TensorView::contiguous(fake(0x300000), DType::ue8m0, {4, 2}), ScaleSpec::group()),
          {"ue8m0 scales hold only powers of two"});
  refused(can_quantize(x, q, s, ScaleSpec::group(0)), {"group size >= 1, got 0"});
  refused(can_quantize(x, q, s, ScaleSpec::block(0, 128)), {"at least 1x1, got 0x128"});
  refused(can_quantize(x, q, s, ScaleSpec::group(100)), {"[4, 3]"});  // wrong grid for G = 100
  // a last dimension that is not contiguous, leading dimensions that do not flatten
  TensorView strided = x;
  strided.strides[1] = 2;
  refused(can_quantize(strided, q, s, ScaleSpec::group()), {"last dimension of x must be contiguous", "stride 2"});
  TensorView x3 = TensorView::contiguous(fake(), DType::bf16, {2, 2, 256});
  x3.strides[0] = 1000;
  refused(can_quantize(x3, TensorView::contiguous(fake(0x200000), DType::e4m3fn, {2, 2, 256}), s, ScaleSpec::group()),
          {"cannot be flattened", "stride 1000"});
  // enum values outside their range, as a caller casting an int would make them
  TensorView bad_dtype = x;
  bad_dtype.dtype = static_cast<DType>(42);
  refused(can_quantize(bad_dtype, q, s, ScaleSpec::group()), {"x must be f32, f16 or bf16"});
  refused(can_quantize(x, q, TensorView::contiguous(fake(0x300000), static_cast<DType>(42), {4, 2}), ScaleSpec::group()),
          {"scales has an unknown dtype (value 42)"});
  ScaleSpec bad_granularity = ScaleSpec::group();
  bad_granularity.granularity = static_cast<Granularity>(9);
  refused(can_quantize(x, q, s, bad_granularity), {"unknown scale granularity 9"});
  TensorView rank7 = x, q7 = q;
  rank7.rank = q7.rank = 7;
  refused(can_quantize(rank7, q7, s, ScaleSpec::group()), {"rank 7"});
  EXPECT_NE(describe(rank7).find("invalid rank 7"), std::string::npos) << describe(rank7);
  // GEMM: FP8 operands, high-precision D, f32 block scales, 2-D B
  GemmArgs g;
  g.a = TensorView::contiguous(fake(), DType::e4m3fn, {4, 256});
  g.b = TensorView::contiguous(fake(0x200000), DType::e4m3fn, {8, 256});
  g.a_scales = TensorView::contiguous(fake(0x300000), DType::f32, {4, 2});
  g.b_scales = TensorView::contiguous(fake(0x310000), DType::f32, {1, 2});
  g.d = TensorView::contiguous(fake(0x400000), DType::bf16, {4, 8});
  ASSERT_TRUE(can_gemm(g).ok) << can_gemm(g).reason;
  GemmArgs e = g;
  e.a.dtype = DType::bf16;
  refused(can_gemm(e), {"A and B must be e4m3fn or e5m2, got bf16 and e4m3fn"});
  e = g;
  e.d.dtype = DType::e5m2;
  refused(can_gemm(e), {"D must be bf16, f16 or f32, got e5m2"});
  e = g;
  e.b_scales.dtype = DType::ue8m0;
  refused(can_gemm(e), {"f32 scales", "Bs ue8m0"});
  e = g;
  e.block_k = 0;
  refused(can_gemm(e), {"block_k=0"});
  e = g;
  e.b = TensorView::contiguous(fake(0x200000), DType::e4m3fn, {2, 4, 256});
  refused(can_gemm(e), {"B must be a 2-D [N, K] matrix"});
  e = g;
  e.d = TensorView::contiguous(fake(0x400000), DType::bf16, {4, 9});
  refused(can_gemm(e), {"D must be [4, 8]", "bf16[4, 9]"});
  GemmOptions o;
  o.backend = Backend::cublaslt;
  refused(can_gemm(g, o), {"cublaslt cannot run on CPU tensors"});
}

TEST(ApiBadInputs, ZeroSizeTensorsWriteOnlyTheirScales) {
  for (const Backend b : kCpuBackends) {
    SCOPED_TRACE(backend_name(b));
    // [0, 300] and [5, 0] with every granularity: no code is written; every scale the grid holds is 1.
    for (const auto& [rows, cols] : {std::pair<int64_t, int64_t>{0, 300}, {5, 0}, {0, 0}}) {
      for (const ScaleSpec& spec : {ScaleSpec::per_tensor(), ScaleSpec::per_row(), ScaleSpec::per_column(),
                                    ScaleSpec::group(), ScaleSpec::block(), ScaleSpec::block().pow2()}) {
        SCOPED_TRACE(detail::concat("[", rows, ", ", cols, "] ", granularity_name(spec.granularity)));
        const HostMatrix x(DType::bf16, rows, cols);
        HostMatrix q(DType::e4m3fn, rows, cols);
        const ScaleGridShape g = scale_grid_shape(rows, cols, spec);
        const DType sd = spec.rounding == ScaleRounding::pow2 ? DType::ue8m0 : DType::f32;
        HostScaleGrid s(sd, g.rows, g.cols, false, std::max<int64_t>(1, g.cols));
        const std::vector<uint8_t> poison = s.bytes;
        quantize(x.view(), q.view(), s.view(), spec, on(b));
        for (int64_t i = 0; i < g.rows; ++i) {
          for (int64_t j = 0; j < g.cols; ++j) EXPECT_EQ(s.get(i, j), 1.0f) << i << "," << j;
        }
        if (g.rows * g.cols == 0) {
          EXPECT_EQ(s.bytes, poison) << "an empty grid is not written";
        }
      }
    }
    // GEMM: M = 0 and N = 0 write nothing; K = 0 (tested in CpuGemm.EmptyKGivesTheBiasExactly) writes bias.
    HostMatrix a(DType::e4m3fn, 0, 128), bm(DType::e4m3fn, 4, 128), d(DType::bf16, 0, 4);
    HostScaleGrid as(DType::f32, 0, 1, false, 1), bs(DType::f32, 1, 1, false, 1);
    GemmArgs g;
    g.a = a.view();
    g.b = bm.view();
    g.a_scales = as.view();
    g.b_scales = bs.view();
    g.d = d.view();
    GemmOptions o;
    o.backend = b;
    gemm(g, o);
    // silu_mul of an empty batch
    const HostMatrix gate_up(DType::bf16, 0, 256);
    HostMatrix h(DType::bf16, 0, 128);
    silu_mul(gate_up.view(), h.view(), on(b));
  }
}

}  // namespace
}  // namespace fp8kit
