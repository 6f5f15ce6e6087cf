// fp8kit/fp8kit.h: the umbrella header of the fp8kit C++ API.
#pragma once

#include "fp8kit/backend.h"
#include "fp8kit/dtype.h"
#include "fp8kit/error.h"
#include "fp8kit/format.h"
#include "fp8kit/gemm.h"
#include "fp8kit/quantize.h"
#include "fp8kit/tensor.h"
#include "fp8kit/version.h"
