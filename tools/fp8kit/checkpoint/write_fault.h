// write_fault.h: a test hook that makes one output operation fail as if the disk were full.
//
// Off unless the environment variable FP8KIT_INJECT_WRITE_FAULT=N (N >= 1) is set: then the process
// counts its output operations (creating an output directory or file, sizing it, each pwrite and
// copy_file_range call, closing, renaming into place) and the N-th one fails with ENOSPC. The
// fault tests (tests/cli/test_faults.py) run a conversion once for every N until it succeeds, so each
// write of the run fails once, and check that the input is untouched and no output is left behind.
// Unset, the cost is one relaxed atomic load per operation.
#pragma once

namespace fp8kit::checkpoint {

/// True (with errno = ENOSPC) when this output operation is the one FP8KIT_INJECT_WRITE_FAULT names.
bool inject_write_fault();

}  // namespace fp8kit::checkpoint
