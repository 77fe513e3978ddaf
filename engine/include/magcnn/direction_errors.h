// How well a model recovers the direction of the magnetization, against samples whose direction is
// known (the generator's): the angle between the predicted and the true m, per film pixel and per
// shape, as medians and 90th percentiles in degrees. A vector model predicts m itself; a polar model
// only theta, whose error is a lower bound on its angular error (it gives no azimuth).
#pragma once

#include <cstdint>
#include <vector>

namespace magcnn {

struct AngleSummary {
  int64_t count = 0;               // angles measured
  double median_deg = 0, p90_deg = 0;
};

struct DirectionErrors {
  AngleSummary pixel;   // the angle between predicted and true m at each film pixel
  AngleSummary shape;   // the angle between the summed predicted m over each film and its direction
  AngleSummary polar;   // |theta predicted - theta true| at each film pixel
};

// The film pixels scored: where the true amplitude |m| is at least kFilmAmplitude (the interior; the
// smoothed edge's partial pixels are left out).
constexpr float kFilmAmplitude = 0.5f;

// The median and the 90th percentile (nearest rank) of `degrees`; zeros for none.
AngleSummary summarize_angles(std::vector<double> degrees);

// A vector prediction m [n, 3, ny, nx] against the true amplitude [n, ny, nx] and directions [n, 3]
// (unit vectors) of the samples with use[i] (all when use is empty). A pixel predicted as zero counts
// as 90 degrees off.
DirectionErrors vector_direction_errors(const float* m, const float* amplitude, const double* directions, int64_t n, int64_t ny,
                                        int64_t nx, const std::vector<bool>& use = {});

// A polar prediction theta [n, ny, nx] (radians) against the same truth: only `polar` is filled.
DirectionErrors polar_direction_errors(const float* theta, const float* amplitude, const double* directions, int64_t n, int64_t ny,
                                       int64_t nx, const std::vector<bool>& use = {});

}  // namespace magcnn
