// output_target.cpp: output path checks and staged side files.
#include "checkpoint/output_target.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "checkpoint/checkpoint_error.h"
#include "checkpoint/progress.h"
#include "checkpoint/write_fault.h"

namespace fp8kit::checkpoint {
namespace fs = std::filesystem;
namespace {

bool same_file(const fs::path& a, const fs::path& b) {
  struct stat sa{}, sb{};
  if (::stat(a.c_str(), &sa) != 0 || ::stat(b.c_str(), &sb) != 0) return false;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

fs::path canonical_or_weak(const fs::path& p) {
  std::error_code ec;
  fs::path c = fs::weakly_canonical(fs::absolute(p, ec), ec);
  return ec ? fs::absolute(p) : c;
}

}  // namespace

OutputTarget::OutputTarget(const InputCheckpoint& in, const fs::path& out, bool force) : out_(out) {
  try {
    with_filesystem_errors([&] { check_and_prepare(in, force); });
  } catch (...) {  // no destructor runs for a constructor that throws: undo the directory here
    if (created_dir_) {
      std::error_code ec;
      fs::remove(out_, ec);
      set_created_output_directory({});
    }
    throw;
  }
}

void OutputTarget::check_and_prepare(const InputCheckpoint& in, bool force) {
  const fs::path& out = out_;
  const std::string o = out.string();
  if (out.empty()) fail("<output>", "", "no output path given (-o OUT)");
  if (canonical_or_weak(out) == canonical_or_weak(in.path()) || same_file(out, in.path())) {
    fail(o, "", "the output is the input; refusing to overwrite it (choose another -o)");
  }
  directory_mode_ = in.is_directory();
  std::error_code ec;
  const fs::file_status st = fs::status(out, ec);
  if (!directory_mode_) {
    for (size_t i = 0; i < in.shard_count(); ++i) {
      if (same_file(out, in.shard(i).path())) fail(o, "", "the output is the input; refusing to overwrite it");
    }
    if (fs::is_directory(st)) fail(o, "", "is a directory; for a single-file input give the output file's name");
    if (fs::exists(st) && !force) fail(o, "", "already exists; use --force to replace it");
    const fs::path parent = out.has_parent_path() ? out.parent_path() : fs::path(".");
    if (!fs::is_directory(parent)) fail(o, "", "the directory ", parent.string(), " does not exist");
    clear_leftovers(parent, out.filename().string(), false);
    return;
  }
  if (fs::exists(st)) {
    if (!fs::is_directory(st)) fail(o, "", "exists and is not a directory (the input is a model directory)");
    if (same_file(out, in.directory())) fail(o, "", "the output is the input; refusing to overwrite it");
    clear_leftovers(out, "", true);
    if (!fs::is_empty(out, ec) && !force) fail(o, "", "is not empty; use --force to write into it");
  } else {
    if (inject_write_fault()) ec = std::make_error_code(std::errc::no_space_on_device);
    else fs::create_directories(out, ec);
    if (ec) fail(o, "", "cannot create the output directory: ", ec.message());
    created_dir_ = true;
    set_created_output_directory(out);
  }
  if (::access(out.c_str(), W_OK | X_OK) != 0) fail(o, "", "the output directory is not writable: ", std::strerror(errno));
}

void OutputTarget::clear_leftovers(const fs::path& dir, const std::string& name, bool recursive) {
  const LeftoverPartials found = remove_stale_partial_files(dir, name, recursive);
  if (!found.in_use.empty()) {
    fail(out_.string(), "", "another fp8kit run is writing here (", found.in_use.front().string(),
         " is in use); wait for it to finish or choose another -o");
  }
  if (!found.removed.empty()) {
    notes_.push_back(detail::concat("removed ", found.removed.size(), " partial file(s) (",
                                    human_bytes(found.removed_bytes), ") left in ", dir.string(),
                                    " by an interrupted run"));
  }
}

OutputTarget::~OutputTarget() {
  side_files_.clear();  // removes uncommitted temporary files
  if (created_dir_) set_created_output_directory({});
  if (keep_) return;
  std::error_code ec;
  for (const fs::path& p : committed_) fs::remove(p, ec);  // a commit failed midway: no half output
  for (auto it = created_subdirs_.rbegin(); it != created_subdirs_.rend(); ++it) fs::remove(*it, ec);  // only if empty
  if (created_dir_) fs::remove(out_, ec);
}

fs::path OutputTarget::shard_path(const std::string& shard_name) const {
  return directory_mode_ ? out_ / shard_name : out_;
}

void OutputTarget::stage_copy(const fs::path& from, const fs::path& relative) {
  with_filesystem_errors([&] { stage_copy_checked(from, relative); });
}

void OutputTarget::stage_copy_checked(const fs::path& from, const fs::path& relative) {
  const fs::path dest = out_ / relative;
  std::error_code ec;
  if (relative.has_parent_path() && !fs::exists(dest.parent_path())) {
    // Record each directory level created so a failed run can remove them again.
    std::vector<fs::path> missing;
    for (fs::path p = dest.parent_path(); !p.empty() && p != out_ && !fs::exists(p); p = p.parent_path()) {
      missing.push_back(p);
    }
    if (inject_write_fault()) ec = std::make_error_code(std::errc::no_space_on_device);
    else fs::create_directories(dest.parent_path(), ec);
    if (ec) fail(dest.string(), "", "cannot create directory: ", ec.message());
    created_subdirs_.insert(created_subdirs_.end(), missing.rbegin(), missing.rend());
  }
  std::ifstream src(from, std::ios::binary);
  if (!src) fail(from.string(), "", "cannot open for reading");
  auto staged = std::make_unique<StagedFile>(dest);
  std::vector<char> buf(1 << 20);
  uint64_t offset = 0;
  while (src) {
    src.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto n = static_cast<uint64_t>(src.gcount());
    if (n == 0) break;
    staged->write_at(offset, buf.data(), n);
    offset += n;
  }
  if (src.bad()) fail(from.string(), "", "read failed");
  staged->finish_writing();
  side_files_.push_back(std::move(staged));
}

void OutputTarget::stage_text(const fs::path& relative, const std::string& contents) {
  auto staged = std::make_unique<StagedFile>(out_ / relative);
  staged->write_at(0, contents.data(), contents.size());
  staged->finish_writing();
  side_files_.push_back(std::move(staged));
}

void OutputTarget::commit_side_files() {
  for (auto& f : side_files_) {
    f->commit();
    committed_.push_back(f->final_path());
  }
}

}  // namespace fp8kit::checkpoint
