// tensor_args.cpp: DLPack, (array, dtype) and raw-descriptor arguments to TensorView (tensor_args.h).
#include "tensor_args.h"

#include <string>
#include <string_view>

#include "fp8kit/dtype.h"
#include "fp8kit/error.h"

namespace nb = nanobind;

namespace fp8kit::python {
namespace {

// DLPack type codes and device types (dlpack.h, DLPack 1.1), spelled out here so that the module
// builds with nanobind releases that predate the float8 codes in their enum.
constexpr uint8_t kDLFloat = 2, kDLBfloat = 4, kDLFloat8_e4m3fn = 10, kDLFloat8_e5m2 = 12,
                  kDLFloat8_e8m0fnu = 14;
constexpr int kDLCPU = 1, kDLCUDA = 2, kDLCUDAHost = 3, kDLCUDAManaged = 13;

[[noreturn]] void type_error(const std::string& message) { throw nb::type_error(message.c_str()); }
[[noreturn]] void value_error(const std::string& message) { throw nb::value_error(message.c_str()); }

std::string python_type_name(nb::handle obj) { return nb::type_name(obj.type()).c_str(); }

Device device_of(int device_type, int device_id, const char* name) {
  switch (device_type) {
    case kDLCPU:
    case kDLCUDAHost: return Device::cpu();
    case kDLCUDA:
    case kDLCUDAManaged: return Device::cuda(device_id);
    default:
      value_error(detail::concat(name, ": DLPack device type ", device_type,
                                 " is not one fp8kit can address (CPU = 1, CUDA = 2, CUDA host = 3, CUDA managed = 13)"));
  }
}

/// The fp8kit element type of a DLPack dtype, or nullopt.
std::optional<DType> dtype_of(nb::dlpack::dtype t) {
  if (t.lanes != 1) return std::nullopt;
  switch (t.code) {
    case kDLFloat:
      if (t.bits == 32) return DType::f32;
      if (t.bits == 16) return DType::f16;
      return std::nullopt;
    case kDLBfloat: return t.bits == 16 ? std::optional(DType::bf16) : std::nullopt;
    case kDLFloat8_e4m3fn: return DType::e4m3fn;
    case kDLFloat8_e5m2: return DType::e5m2;
    case kDLFloat8_e8m0fnu: return DType::ue8m0;
    default: return std::nullopt;
  }
}

/// A DType given as a name ("e4m3fn", "bfloat16"...) or as its integer code.
DType parse_dtype_arg(nb::handle obj, const char* name) {
  if (PyLong_Check(obj.ptr())) {
    const long code = PyLong_AsLong(obj.ptr());
    if (code < 0 || code > static_cast<long>(DType::ue8m0)) {
      PyErr_Clear();
      value_error(detail::concat(name, ": dtype code ", code, " is not an fp8kit DType (0..",
                                 static_cast<int>(DType::ue8m0), ")"));
    }
    return static_cast<DType>(code);
  }
  if (PyUnicode_Check(obj.ptr())) {
    Py_ssize_t size = 0;
    const char* text = PyUnicode_AsUTF8AndSize(obj.ptr(), &size);
    if (text == nullptr) throw nb::python_error();
    const std::string_view s(text, static_cast<size_t>(size));
    if (const auto t = parse_dtype(s)) return *t;
    value_error(detail::concat(name, ": unknown dtype name '", s,
                               "' (expected f32, f16, bf16, e4m3fn, e5m2 or ue8m0, or an alias such as bfloat16)"));
  }
  type_error(detail::concat(name, ": a dtype must be a name or a DType code, got ", python_type_name(obj)));
}

int64_t as_int64(PyObject* obj, const char* name, const char* field) {
  if (!PyLong_Check(obj)) {
    type_error(detail::concat(name, ": the raw descriptor's ", field, " must be an int, got ", python_type_name(obj)));
  }
  const long long v = PyLong_AsLongLong(obj);
  if (v == -1 && PyErr_Occurred()) {
    PyErr_Clear();
    value_error(detail::concat(name, ": the raw descriptor's ", field, " does not fit in 64 bits"));
  }
  return v;
}

/// shape or strides of a raw descriptor: a tuple or list of ints (torch.Size is a tuple).
int read_dims(PyObject* seq, std::array<int64_t, kMaxRank>& out, const char* name, const char* field) {
  if (!PyTuple_Check(seq) && !PyList_Check(seq)) {
    type_error(detail::concat(name, ": the raw descriptor's ", field, " must be a tuple of ints, got ",
                              python_type_name(seq)));
  }
  const Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
  if (n > kMaxRank) {
    value_error(detail::concat(name, ": rank ", n, " exceeds the maximum of ", kMaxRank));
  }
  PyObject** items = PySequence_Fast_ITEMS(seq);
  for (Py_ssize_t i = 0; i < n; ++i) out[static_cast<size_t>(i)] = as_int64(items[i], name, field);
  return static_cast<int>(n);
}

/// (data_ptr, dtype, shape, strides, device_type, device_id)
TensorView from_raw_descriptor(PyObject* tuple, const char* name) {
  PyObject** f = &PyTuple_GET_ITEM(tuple, 0);
  TensorView v;
  v.data = reinterpret_cast<void*>(static_cast<uintptr_t>(as_int64(f[0], name, "data_ptr")));
  v.dtype = parse_dtype_arg(f[1], name);
  v.rank = read_dims(f[2], v.shape, name, "shape");
  const int stride_rank = read_dims(f[3], v.strides, name, "strides");
  if (stride_rank != v.rank) {
    value_error(detail::concat(name, ": the raw descriptor has ", v.rank, " sizes but ", stride_rank, " strides"));
  }
  v.device = device_of(static_cast<int>(as_int64(f[4], name, "device_type")),
                       static_cast<int>(as_int64(f[5], name, "device_id")), name);
  return v;
}

TensorView from_ndarray(const nb::ndarray<nb::ro>& a, const char* name, std::optional<DType> override_dtype) {
  TensorView v;
  if (a.ndim() > static_cast<size_t>(kMaxRank)) {
    value_error(detail::concat(name, ": rank ", a.ndim(), " exceeds the maximum of ", kMaxRank));
  }
  const nb::dlpack::dtype dt = a.dtype();
  if (override_dtype) {
    if (dt.lanes != 1 || dt.bits != 8 * dtype_size(*override_dtype)) {
      value_error(detail::concat(name, ": cannot read ", static_cast<int>(dt.bits), "-bit elements as ",
                                 dtype_name(*override_dtype), " (", 8 * dtype_size(*override_dtype),
                                 " bits): view the array with an integer type of that size"));
    }
    v.dtype = *override_dtype;
  } else if (const auto t = dtype_of(dt)) {
    v.dtype = *t;
  } else {
    type_error(detail::concat(name, ": DLPack element type (code ", static_cast<int>(dt.code), ", ",
                              static_cast<int>(dt.bits), " bits) is not one fp8kit reads (float32, float16, "
                              "bfloat16, float8_e4m3fn, float8_e5m2, float8_e8m0fnu); for raw bytes, such as "
                              "numpy views of ml_dtypes arrays, pass (array, 'e4m3fn')"));
  }
  v.data = const_cast<void*>(a.data());
  v.rank = static_cast<int>(a.ndim());
  for (int d = 0; d < v.rank; ++d) {
    v.shape[static_cast<size_t>(d)] = static_cast<int64_t>(a.shape(static_cast<size_t>(d)));
    v.strides[static_cast<size_t>(d)] = a.stride(static_cast<size_t>(d));
  }
  v.device = device_of(a.device_type(), a.device_id(), name);
  return v;
}

TensorView import_array(nb::handle obj, const char* name, bool writable, std::optional<DType> override_dtype,
                        ImportScope& scope) {
  if (writable) {
    nb::ndarray<> array;
    if (nb::try_cast(obj, array, false)) {
      nb::ndarray<nb::ro> kept(array);
      TensorView v = from_ndarray(kept, name, override_dtype);
      scope.keep(std::move(kept));
      return v;
    }
    nb::ndarray<nb::ro> readonly;
    if (nb::try_cast(obj, readonly, false)) {
      value_error(detail::concat(name, ": the output array is read-only"));
    }
  } else {
    nb::ndarray<nb::ro> array;
    if (nb::try_cast(obj, array, false)) {
      TensorView v = from_ndarray(array, name, override_dtype);
      scope.keep(std::move(array));
      return v;
    }
  }
  type_error(detail::concat(name, ": expected a tensor (any DLPack producer: torch, numpy, cupy, jax), an "
                            "(array, dtype) pair or a raw descriptor (data_ptr, dtype, shape, strides, "
                            "device_type, device_id), got ", python_type_name(obj)));
}

}  // namespace

TensorView to_view(nb::handle obj, const char* name, bool writable, ImportScope& scope) {
  PyObject* o = obj.ptr();
  if (o == Py_None) type_error(detail::concat(name, ": a tensor is required, got None"));
  if (PyTuple_Check(o)) {
    const Py_ssize_t n = PyTuple_GET_SIZE(o);
    if (n == 6) return from_raw_descriptor(o, name);
    if (n == 2) {
      return import_array(PyTuple_GET_ITEM(o, 0), name, writable, parse_dtype_arg(PyTuple_GET_ITEM(o, 1), name),
                          scope);
    }
    type_error(detail::concat(name, ": a tuple argument must be (array, dtype) or a raw descriptor (data_ptr, "
                              "dtype, shape, strides, device_type, device_id), got a tuple of ", n, " items"));
  }
  return import_array(obj, name, writable, std::nullopt, scope);
}

TensorView to_optional_view(nb::handle obj, const char* name, ImportScope& scope) {
  if (obj.is_none()) return TensorView{};
  return to_view(obj, name, false, scope);
}

}  // namespace fp8kit::python
