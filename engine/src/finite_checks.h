// Checks shared by the file readers and writers: every value finite, with the first bad one located
// in the maps (map, row, column) or per-sample rows it came from.
#pragma once

#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>

#include "magcnn/error.h"

namespace magcnn::detail {

inline std::string precise(double v) {
  std::ostringstream o;
  o.precision(9);
  o << v;
  return o.str();
}

// Where value i lies, for messages: in maps of ny x nx counted from first_map, or in per-sample rows of
// `per_sample` values counted from first_sample.
inline std::string map_position(int64_t i, int64_t ny, int64_t nx, int64_t first_map) {
  const int64_t plane = ny * nx;
  return "map " + std::to_string(first_map + i / plane) + ", row " + std::to_string((i % plane) / nx) + ", column " +
         std::to_string(i % nx);
}
inline std::string sample_position(int64_t i, int64_t per_sample, int64_t first_sample) {
  return "sample " + std::to_string(first_sample + i / per_sample) +
         (per_sample > 1 ? ", value " + std::to_string(i % per_sample) : std::string());
}

// Throws InvalidInput at the first value that is not finite, saying where it is.
template <class T, class Where>
void require_finite(const T* v, int64_t count, const std::string& what, Where where) {
  for (int64_t i = 0; i < count; ++i)
    if (!std::isfinite(v[i]))
      throw InvalidInput(what + " is " + precise(static_cast<double>(v[i])) + " at " + where(i) + ": every value must be finite");
}
template <class T>
void require_finite_maps(const T* v, int64_t count, int64_t ny, int64_t nx, int64_t first_map, const std::string& what) {
  require_finite(v, count, what, [&](int64_t i) { return map_position(i, ny, nx, first_map); });
}


}  // namespace magcnn::detail
