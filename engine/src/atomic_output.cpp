// Output path checks and write-then-rename.
#include "magcnn/atomic_output.h"

#include <fcntl.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "magcnn/error.h"
#include "magcnn/interrupt.h"
#include "magcnn/memory.h"

namespace magcnn {
namespace fs = std::filesystem;

bool check_output_path(const std::string& path, const std::vector<std::string>& inputs) {
  MAGCNN_REQUIRE(!path.empty(), "no output path given");
  const fs::path p(path);
  MAGCNN_REQUIRE(p.has_filename(), "cannot write " << path << ": it names a directory, not a file");
  const fs::path parent = p.parent_path();
  std::error_code ec;
  MAGCNN_REQUIRE(parent.empty() || fs::is_directory(parent, ec),
                 "cannot write " << path << ": directory " << parent.string() << " does not exist");
  MAGCNN_REQUIRE(p.filename().string().size() <= NAME_MAX,
                 "cannot write " << path << ": its file name is longer than " << NAME_MAX << " characters");
  const fs::file_status status = fs::status(p, ec);
  if (!fs::exists(status)) return false;  // nothing there, so it is none of the (existing) inputs either
  MAGCNN_REQUIRE(!fs::is_directory(status), "cannot write " << path << ": it is a directory");
  MAGCNN_REQUIRE(fs::is_regular_file(status),
                 "cannot write " << path << ": it exists and is not a regular file (a FIFO, device or socket); "
                                 << "choose a file name");
  for (const std::string& in : inputs) {
    MAGCNN_REQUIRE(!fs::equivalent(p, in, ec), "--out " << path << " is the input file " << in
                                                         << ": write the output under another name");
  }
  return true;
}

namespace {

// The temporary name: `path` + ".tmp<pid>", with the name shortened where needed so that the temporary
// is a legal file name whenever `path` is.
std::string temporary_name(const std::string& path) {
  const fs::path p(path);
  const std::string suffix = ".tmp" + std::to_string(::getpid());
  std::string name = p.filename().string();
  if (name.size() + suffix.size() > NAME_MAX) name.resize(NAME_MAX - suffix.size());
  return (p.parent_path() / (name + suffix)).string();
}

}  // namespace

AtomicOutput::AtomicOutput(std::string path, const std::vector<std::string>& inputs, double expected_bytes)
    : path_(std::move(path)) {
  check_output_path(path_, inputs);
  if (expected_bytes > 0) require_disk_space(expected_bytes, path_);
  temporary_ = temporary_name(path_);
  // Our pid's temporary can only be left over from a killed process that had our pid: a regular file is
  // removed. Anything else there (a link someone placed) is not followed; creation is exclusive anyway.
  std::error_code ec;
  const fs::file_status there = fs::symlink_status(temporary_, ec);
  if (fs::exists(there)) {
    MAGCNN_REQUIRE(fs::is_regular_file(there), "cannot write " << path_ << ": " << temporary_
                                                               << " is in the way and is not a regular file");
    fs::remove(temporary_, ec);
  }
  registration_ = std::make_unique<TemporaryFileRegistration>(temporary_);
}

AtomicOutput::~AtomicOutput() {
  if (!committed_) std::remove(temporary_.c_str());
}

void AtomicOutput::commit(bool honour_interrupt) {
  if (honour_interrupt) throw_if_interrupted();
  flush();
  rename_into_place();
}

void AtomicOutput::flush() {
  // Data on disk before the name: after a crash the final name holds the old file or the whole new one.
  const int fd = ::open(temporary_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    if (fd >= 0) ::close(fd);
    throw Error("cannot flush " + temporary_ + " to disk before renaming it to " + path_);
  }
  ::close(fd);
}

void AtomicOutput::rename_into_place() {
  std::error_code ec;
  fs::rename(temporary_, path_, ec);
  if (ec) throw Error("cannot move " + temporary_ + " to " + path_ + ": " + ec.message());
  committed_ = true;
}

void write_text_atomically(const std::string& path, const std::string& text) {
  AtomicOutput out(path);
  {
    std::ofstream f(out.temporary());
    f << text;
    MAGCNN_REQUIRE(f.good(), "could not write " << path);
  }
  out.commit();
}

}  // namespace magcnn
