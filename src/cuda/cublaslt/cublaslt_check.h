// cublaslt_check.h: error check for cuBLASLt calls; throws fp8kit::Error with the call and cuBLAS status.
#pragma once

#include <cublasLt.h>

#include "fp8kit/error.h"

#define FP8KIT_CUBLAS_CHECK(call)                                                                       \
  do {                                                                                                  \
    const cublasStatus_t fp8kit_status_ = (call);                                                       \
    FP8KIT_CHECK(fp8kit_status_ == CUBLAS_STATUS_SUCCESS, #call, " failed: ",                           \
                 cublasLtGetStatusName(fp8kit_status_), " (", cublasLtGetStatusString(fp8kit_status_), ")"); \
  } while (0)
