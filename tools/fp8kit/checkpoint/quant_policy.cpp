// quant_policy.cpp: the default tensor-selection rule and --include / --exclude.
#include "checkpoint/quant_policy.h"

#include <algorithm>
#include <cctype>

#include "checkpoint/checkpoint_error.h"
#include "fp8kit/error.h"

namespace fp8kit::checkpoint {
namespace {

/// Throws unless `s` is within the bounds the header states (length, repetition counts and their
/// product, back-reference numbers), before std::regex sees it.
void check_pattern(const std::string& s, const char* option) {
  FP8KIT_CHECK(s.size() <= kMaxPatternBytes, option, " '", s.substr(0, 40), "...' is ", s.size(),
               " bytes long; at most ", kMaxPatternBytes, " are accepted");
  auto number = [&](size_t& i) {  // the decimal number at s[i], advancing i; saturates above the limit
    int64_t v = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      v = std::min<int64_t>(v * 10 + (s[i] - '0'), kMaxRepeatCount + 1);
      ++i;
    }
    return v;
  };
  int64_t product = 1;
  for (size_t i = 0; i < s.size();) {
    if (s[i] == '\\') {
      ++i;
      if (i < s.size() && s[i] >= '1' && s[i] <= '9') {
        FP8KIT_CHECK(number(i) <= kMaxRepeatCount, option, " '", s, "': back-references above \\", kMaxRepeatCount,
                     " are not accepted");
      } else {
        ++i;
      }
      continue;
    }
    if (s[i] == '{') {
      ++i;
      int64_t count = number(i);
      if (i < s.size() && s[i] == ',') {
        ++i;
        count = std::max(count, number(i));
      }
      FP8KIT_CHECK(count <= kMaxRepeatCount, option, " '", s, "': repetition counts above ", kMaxRepeatCount,
                   " are not accepted");
      product *= std::max<int64_t>(count, 1);
      FP8KIT_CHECK(product <= kMaxRepeatProduct, option, " '", s, "': repetitions multiply to more than ",
                   kMaxRepeatProduct, " copies");
      continue;
    }
    ++i;
  }
}

std::vector<std::regex> compile(const std::vector<std::string>& sources, const char* option) {
  std::vector<std::regex> out;
  for (const std::string& s : sources) {
    check_pattern(s, option);
    try {
      out.emplace_back(s, std::regex::ECMAScript | std::regex::optimize);
    } catch (const std::regex_error& e) {
      FP8KIT_FAIL(option, " '", s, "' is not a valid regular expression: ", e.what());
    }
  }
  return out;
}

bool matches_any(const std::vector<std::regex>& res, const std::string& name) {
  return std::any_of(res.begin(), res.end(), [&](const std::regex& r) { return std::regex_search(name, r); });
}

bool is_float(StDType t) { return t == StDType::F32 || t == StDType::F16 || t == StDType::BF16; }

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

/// Why a module is not a linear layer to quantize by default, or nullopt.
std::optional<std::string> non_linear_module(const std::string& module) {
  const size_t dot = module.rfind('.');
  const std::string last = lower(dot == std::string::npos ? module : module.substr(dot + 1));
  if (last.find("embed") != std::string::npos || last == "wte" || last == "wpe") return "embedding";
  if (last == "lm_head" || last == "output") return "lm_head";
  if (last.find("norm") != std::string::npos || last.starts_with("ln_") || last == "ln") return "norm";
  if (last == "gate" || last == "router" || last.ends_with("_gate") || last.find("router") != std::string::npos) {
    return "router/gate";
  }
  return std::nullopt;
}

}  // namespace

std::string module_of(const std::string& tensor_name) {
  const size_t dot = tensor_name.rfind('.');
  return dot == std::string::npos ? tensor_name : tensor_name.substr(0, dot);
}

QuantPolicy::QuantPolicy(const QuantizeSettings& settings)
    : include_(compile(settings.include, "--include")), exclude_(compile(settings.exclude, "--exclude")) {}

std::optional<std::string> QuantPolicy::keep_reason(const TensorInfo& t) const {
  if (!is_float(t.dtype)) return std::string(st_dtype_name(t.dtype));
  if ((!include_.empty() || !exclude_.empty()) && t.name.size() > kMaxMatchedNameBytes) {
    throw CheckpointError(detail::concat("tensor '", t.name.substr(0, 64), "...': a name of ", t.name.size(),
                                         " bytes is longer than the ", kMaxMatchedNameBytes,
                                         " that --include / --exclude match"));
  }
  if (matches_any(exclude_, t.name)) return "excluded";
  if (t.numel() == 0) return "empty";
  const int rank = static_cast<int>(t.shape.size());
  if (matches_any(include_, t.name)) {
    if (rank == 1 || rank == 2) return std::nullopt;
    return detail::concat(rank, "-D (only 1-D and 2-D tensors can be quantized)");
  }
  if (rank != 2) return detail::concat(rank, "-D");
  if (!t.name.ends_with(".weight")) return "not a weight";
  if (auto why = non_linear_module(module_of(t.name))) return why;
  return std::nullopt;
}

}  // namespace fp8kit::checkpoint
