// Progress bar: throttled redraws on a terminal, sparse lines in logs.
#include "magcnn/progress.h"

#include <unistd.h>

#include <cstdio>

namespace magcnn {

Progress::Progress(std::string label, int64_t total, std::string unit, bool enabled)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total > 0 ? total : 1),
      enabled_(enabled),
      tty_(isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

double Progress::elapsed_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::update(int64_t done) {
  done_ = done;
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (tty_) {
    if (now - last_draw_ < std::chrono::milliseconds(100) && done < total_) return;
    last_draw_ = now;
    draw(done, false);
  } else {
    const int decile = static_cast<int>(10 * done / total_);
    if (decile == last_decile_ || decile == 10) return;
    last_decile_ = decile;
    draw(done, false);
  }
}

void Progress::draw(int64_t done, bool final) {
  const double t = elapsed_s(), frac = static_cast<double>(done) / static_cast<double>(total_);
  const double rate = t > 0 ? static_cast<double>(done) / t : 0.0;
  if (tty_ && !final) {
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(frac * kWidth);
    const double eta = rate > 0 ? static_cast<double>(total_ - done) / rate : 0.0;
    std::fprintf(stderr, "\r%s [%-*s] %3.0f%% %lld/%lld %s, %.3g %s/s, %.1f s left ", label_.c_str(), kWidth,
                 std::string(static_cast<std::size_t>(filled), '#').c_str(), 100 * frac, static_cast<long long>(done),
                 static_cast<long long>(total_), unit_.c_str(), rate, unit_.c_str(), eta);
  } else {
    std::fprintf(stderr, "%s%s: %lld/%lld %s (%.0f%%) in %.2f s, %.3g %s/s\n", tty_ ? "\r" : "", label_.c_str(),
                 static_cast<long long>(done), static_cast<long long>(total_), unit_.c_str(), 100 * frac, t, rate,
                 unit_.c_str());
  }
  std::fflush(stderr);
}

void Progress::finish() {
  if (enabled_) draw(done_, true);
}

}  // namespace magcnn
