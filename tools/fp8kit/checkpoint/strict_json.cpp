// strict_json.cpp: JSON with duplicate-key and depth checks, and small JSON files.
#include "checkpoint/strict_json.h"

#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "checkpoint/checkpoint_error.h"

namespace fp8kit::checkpoint {
namespace {

/// Thrown from inside the parser callback; turned into CheckpointError by the caller.
struct StructureProblem {
  std::string what;
};

}  // namespace

Json parse_strict_json(std::string_view text, std::string_view file, int max_depth) {
  std::vector<std::set<std::string>> open_objects;  // keys seen in each object being parsed
  auto callback = [&](int depth, nlohmann::detail::parse_event_t event, Json& parsed) -> bool {
    using Event = nlohmann::detail::parse_event_t;
    switch (event) {
      case Event::object_start:
      case Event::array_start:
        if (depth >= max_depth) throw StructureProblem{"JSON nested deeper than " + std::to_string(max_depth) + " levels"};
        if (event == Event::object_start) open_objects.emplace_back();
        break;
      case Event::object_end: open_objects.pop_back(); break;
      case Event::key: {
        const std::string& key = parsed.get_ref<const std::string&>();
        if (!open_objects.back().insert(key).second) throw StructureProblem{"duplicate key '" + key + "' in JSON"};
        break;
      }
      default: break;
    }
    return true;
  };
  try {
    return Json::parse(text.begin(), text.end(), callback);
  } catch (const StructureProblem& p) {
    fail(file, "", p.what);
  } catch (const Json::exception& e) {
    fail(file, "", "invalid JSON: ", e.what());
  }
}

Json read_json_file(const std::filesystem::path& path, size_t max_bytes) {
  return parse_strict_json(read_text_file(path, max_bytes), path.string(), kMaxJsonFileDepth);
}

std::string read_text_file(const std::filesystem::path& path, size_t max_bytes) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) fail(path.string(), "", "cannot read: ", ec.message());
  if (size > max_bytes) fail(path.string(), "", "JSON file of ", size, " bytes is larger than the limit of ", max_bytes);
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path.string(), "", "cannot open for reading");
  std::string text(size, '\0');
  in.read(text.data(), static_cast<std::streamsize>(size));
  if (!in) fail(path.string(), "", "read failed");
  return text;
}

std::string format_json(const Json& value) { return value.dump(2) + "\n"; }

}  // namespace fp8kit::checkpoint
