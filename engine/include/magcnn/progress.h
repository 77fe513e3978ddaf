// Progress of long work on stderr: a bar redrawn in place on a terminal, a line per 10% otherwise.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace magcnn {

class Progress {
 public:
  Progress(std::string label, int64_t total, std::string unit, bool enabled = true);
  void update(int64_t done);
  // The final line: count, elapsed time and rate.
  void finish();
  double elapsed_s() const;

 private:
  void draw(int64_t done, bool final);
  std::string label_, unit_;
  int64_t total_;
  bool enabled_, tty_;
  int last_decile_ = -1;
  std::chrono::steady_clock::time_point start_, last_draw_;
  int64_t done_ = 0;
};

}  // namespace magcnn
