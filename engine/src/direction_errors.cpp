#include "magcnn/direction_errors.h"

#include <algorithm>
#include <cmath>

#include "magcnn/error.h"

namespace magcnn {
namespace {

constexpr double kDeg = 180.0 / 3.14159265358979323846;

// The angle between a and the unit vector u, in degrees; 90 for a zero vector (no direction given).
double angle_deg(const double a[3], const double* u) {
  const double norm = std::sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2]);
  if (!(norm > 0)) return 90;
  const double c = (a[0] * u[0] + a[1] * u[1] + a[2] * u[2]) / norm;
  return std::acos(std::clamp(c, -1.0, 1.0)) * kDeg;
}

double polar_deg(const double* u) { return std::acos(std::clamp(u[2], -1.0, 1.0)) * kDeg; }

void check(int64_t n, int64_t ny, int64_t nx, const std::vector<bool>& use) {
  MAGCNN_REQUIRE(n >= 0 && ny >= 1 && nx >= 1 && (use.empty() || static_cast<int64_t>(use.size()) == n),
                 "direction errors of " << n << " maps of " << ny << " x " << nx << " with " << use.size() << " selections");
}

}  // namespace

AngleSummary summarize_angles(std::vector<double> degrees) {
  AngleSummary s;
  s.count = static_cast<int64_t>(degrees.size());
  if (degrees.empty()) return s;
  const auto rank = [&](double q) {
    // Nearest rank: the smallest value with at least a fraction q of the values at or below it.
    const auto k = static_cast<std::size_t>(std::max(1.0, std::ceil(q * static_cast<double>(degrees.size())))) - 1;
    std::nth_element(degrees.begin(), degrees.begin() + static_cast<std::ptrdiff_t>(k), degrees.end());
    return degrees[k];
  };
  s.median_deg = rank(0.5);
  s.p90_deg = rank(0.9);
  return s;
}

DirectionErrors vector_direction_errors(const float* m, const float* amplitude, const double* directions, int64_t n, int64_t ny,
                                        int64_t nx, const std::vector<bool>& use) {
  check(n, ny, nx, use);
  const int64_t plane = ny * nx;
  std::vector<double> pixel, shape, polar;
  for (int64_t i = 0; i < n; ++i) {
    if (!use.empty() && !use[static_cast<std::size_t>(i)]) continue;
    const double* u = directions + 3 * i;
    const float* mi = m + 3 * i * plane;
    double sum[3] = {0, 0, 0};
    bool any = false;
    for (int64_t p = 0; p < plane; ++p) {
      if (amplitude[i * plane + p] < kFilmAmplitude) continue;
      const double a[3] = {mi[p], mi[plane + p], mi[2 * plane + p]};
      pixel.push_back(angle_deg(a, u));
      // The polar angle of the prediction (90 degrees off for a zero vector, as above).
      const double norm = std::sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2]);
      polar.push_back(norm > 0 ? std::fabs(std::acos(std::clamp(a[2] / norm, -1.0, 1.0)) * kDeg - polar_deg(u)) : 90.0);
      for (int c = 0; c < 3; ++c) sum[c] += a[c];
      any = true;
    }
    if (any) shape.push_back(angle_deg(sum, u));
  }
  return DirectionErrors{summarize_angles(std::move(pixel)), summarize_angles(std::move(shape)), summarize_angles(std::move(polar))};
}

DirectionErrors polar_direction_errors(const float* theta, const float* amplitude, const double* directions, int64_t n, int64_t ny,
                                       int64_t nx, const std::vector<bool>& use) {
  check(n, ny, nx, use);
  const int64_t plane = ny * nx;
  std::vector<double> polar;
  for (int64_t i = 0; i < n; ++i) {
    if (!use.empty() && !use[static_cast<std::size_t>(i)]) continue;
    const double want = polar_deg(directions + 3 * i);
    for (int64_t p = 0; p < plane; ++p)
      if (amplitude[i * plane + p] >= kFilmAmplitude) polar.push_back(std::fabs(theta[i * plane + p] * kDeg - want));
  }
  DirectionErrors e;
  e.polar = summarize_angles(std::move(polar));
  return e;
}

}  // namespace magcnn
