// Output files that appear whole or not at all: written under a temporary name beside the final one,
// flushed to disk, then renamed into place. The path is checked before any work starts.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace magcnn {

class TemporaryFileRegistration;

// Throws InvalidInput unless `path` can become an output: a name in an existing directory, and, where
// something is already there, a regular file (not a directory, FIFO, device or socket) that is none of
// `inputs` (compared as files, so another spelling of the same path is caught). Returns whether an
// existing file will be replaced.
bool check_output_path(const std::string& path, const std::vector<std::string>& inputs = {});

// A temporary sibling of `path` that becomes `path` on commit() and is removed otherwise (also when a
// second interrupting signal forces an immediate exit; see interrupt.h).
class AtomicOutput {
 public:
  // Checks the path (check_output_path) and that about `expected_bytes` fit on its disk, then picks the
  // temporary name; a stale temporary of ours (a regular file) is removed, anything else there refused.
  explicit AtomicOutput(std::string path, const std::vector<std::string>& inputs = {}, double expected_bytes = 0);
  ~AtomicOutput();
  AtomicOutput(const AtomicOutput&) = delete;
  AtomicOutput& operator=(const AtomicOutput&) = delete;
  const std::string& temporary() const { return temporary_; }
  const std::string& path() const { return path_; }
  // Flushes the temporary file to disk and renames it; first refuses when a stop was requested
  // (throw_if_interrupted), unless the output is what a stop asks for (a checkpoint).
  void commit(bool honour_interrupt = true);
  // commit() in two steps, for outputs that must appear together (magcnn-infer's list of inputs):
  // flush() puts the temporary file's data on disk, rename_into_place() gives it its name.
  void flush();
  void rename_into_place();

 private:
  std::string path_, temporary_;
  std::unique_ptr<TemporaryFileRegistration> registration_;
  bool committed_ = false;
};

// Writes `text` to `path` through an AtomicOutput: the whole file or none. InvalidInput when it cannot.
void write_text_atomically(const std::string& path, const std::string& text);

}  // namespace magcnn
