// write_fault.cpp: the FP8KIT_INJECT_WRITE_FAULT test hook (see the header).
#include "checkpoint/write_fault.h"

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace fp8kit::checkpoint {
namespace {

/// The operation number that fails, 0 for none (the variable unset or not a positive integer).
uint64_t fault_at() {
  static const uint64_t at = [] {
    const char* env = std::getenv("FP8KIT_INJECT_WRITE_FAULT");
    if (env == nullptr) return uint64_t{0};
    const std::string_view v(env);
    uint64_t n = 0;
    const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    return ec == std::errc() && p == v.data() + v.size() ? n : uint64_t{0};
  }();
  return at;
}

std::atomic<uint64_t> g_operations{0};

}  // namespace

bool inject_write_fault() {
  const uint64_t at = fault_at();
  if (at == 0) return false;
  if (g_operations.fetch_add(1, std::memory_order_relaxed) + 1 != at) return false;
  errno = ENOSPC;
  return true;
}

}  // namespace fp8kit::checkpoint
