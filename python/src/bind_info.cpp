// bind_info.cpp: what the build and machine offer, and the names and codes the Python layer uses.
#include <nanobind/stl/string.h>
#include <nanobind/stl/string_view.h>

#include "bindings.h"
#include "fp8kit/backend.h"
#include "fp8kit/dtype.h"
#include "fp8kit/quantize.h"
#include "fp8kit/version.h"
#include "op_options.h"

namespace nb = nanobind;
using namespace nb::literals;

namespace fp8kit::python {
namespace {

nb::dict capabilities_dict() {
  const Capabilities& c = capabilities();
  nb::list gpus;
  for (const GpuInfo& g : c.gpus) {
    nb::dict d;
    d["ordinal"] = g.ordinal;
    d["name"] = g.name;
    d["capability"] = nb::make_tuple(g.major, g.minor);
    d["multiprocessors"] = g.multiprocessors;
    d["memory_bytes"] = g.memory_bytes;
    gpus.append(d);
  }
  nb::dict out;
  out["version"] = c.version;
  out["cuda_compiled"] = c.cuda_compiled;
  out["cuda_runtime"] = c.cuda_runtime;
  out["cuda_driver"] = c.cuda_driver;
  out["cuda_status"] = c.cuda_status;
  out["gpus"] = gpus;
  out["cpu_threads"] = c.cpu_threads;
  return out;
}

nb::tuple scale_grid_shape_op(int64_t rows, int64_t cols, std::string_view granularity, int64_t block_rows,
                              int64_t block_cols) {
  const ScaleGridShape g = scale_grid_shape(rows, cols, make_spec(granularity, block_rows, block_cols, false));
  return nb::make_tuple(g.rows, g.cols);
}

}  // namespace

void bind_info(nb::module_& m) {
  m.attr("__version__") = FP8KIT_VERSION_STRING;
  m.def("capabilities", &capabilities_dict,
        "version, cuda_compiled, cuda_runtime, cuda_driver, cuda_status, gpus (ordinal, name, capability,\n"
        "multiprocessors, memory_bytes) and cpu_threads, probed once.");

  nb::dict dtypes;
  for (DType t : {DType::f32, DType::f16, DType::bf16, DType::e4m3fn, DType::e5m2, DType::ue8m0}) {
    dtypes[nb::str(dtype_name(t).data(), dtype_name(t).size())] = static_cast<int>(t);
  }
  m.attr("DTYPE_CODES") = dtypes;

  nb::list backends;
  for (Backend b : {Backend::cpu_reference, Backend::cpu, Backend::cuda, Backend::cublaslt, Backend::cuda_fp8_mma,
                    Backend::cuda_bf16_mma, Backend::cuda_sm90}) {
    backends.append(nb::str(backend_name(b).data(), backend_name(b).size()));
  }
  m.attr("BACKEND_NAMES") = nb::tuple(backends);

  m.def("scale_grid_shape", &scale_grid_shape_op, "rows"_a, "cols"_a, "granularity"_a = "group",
        "block_rows"_a = 1, "block_cols"_a = 128, "Shape (grid_rows, grid_cols) of the scale grid of a rows x cols matrix.");
}

}  // namespace fp8kit::python
