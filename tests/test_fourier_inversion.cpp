// The Fourier-inversion baseline (magcnn/fourier_inversion.h): it recovers a known map from its
// noiseless field, and only with the right direction.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "forward_helpers.h"
#include "magcnn/device.h"
#include "magcnn/fourier_inversion.h"
#include "reference.h"

namespace magcnn::test {
namespace {

// Each map less its mean: a uniform film has no field, so k = 0 (the map's mean over the padded grid)
// is what no inversion recovers.
template <class V>
std::vector<double> less_mean(const V& v) {
  double mean = 0;
  for (auto x : v) mean += static_cast<double>(x) / static_cast<double>(v.size());
  std::vector<double> out;
  for (auto x : v) out.push_back(static_cast<double>(x) - mean);
  return out;
}

TEST(FourierInversion, RecoversASmoothMapFromItsNoiselessField) {
  auto cpu = make_cpu_backend();
  std::mt19937_64 rng(fresh_seed());
  std::uniform_real_distribution<double> u01(0, 1);
  const int64_t ny = 64, nx = 72;
  const double d_over_h = 2.0, t_over_d = 0.1;
  std::vector<double> amplitude(ny * nx), mx, my, mz;
  const double cy = 30 + 4 * u01(rng), cx = 34 + 4 * u01(rng);
  for (int64_t r = 0; r < ny; ++r)
    for (int64_t c = 0; c < nx; ++c) amplitude[r * nx + c] = std::exp(-((r - cy) * (r - cy) + (c - cx) * (c - cx)) / (2 * 3.0 * 3.0));
  const double theta = std::acos(1 - 2 * u01(rng)) * 0.5, phi = 6.283185307179586 * u01(rng);  // out of plane to 45 degrees
  const double u[3] = {std::sin(theta) * std::cos(phi), std::sin(theta) * std::sin(phi), std::cos(theta)};
  for (double a : amplitude) {
    mx.push_back(a * u[0]);
    my.push_back(a * u[1]);
    mz.push_back(a * u[2]);
  }
  ForwardOptions o;
  o.method = ForwardMethod::Spectral;
  o.unit = FieldUnit::Normalized;
  const FilmGeometry g{1.0, d_over_h, d_over_h * t_over_d, 1.0};  // lengths in pixels
  const std::vector<double> b = run_forward(*cpu, g, 1, ny, nx, mx, my, mz, o);
  const std::vector<float> bf(b.begin(), b.end());
  FourierInversion inversion(*cpu, ny, nx, 1.0 / d_over_h, t_over_d, 1);
  std::vector<float> s(bf.size());
  const double dir[3] = {u[0], u[1], u[2]};
  InversionSettings settings;
  settings.epsilon = 1e-8;
  inversion.invert(bf.data(), dir, 1, settings, s.data());
  const double err = relative_l2(less_mean(s), less_mean(amplitude));
  std::cout << "[ case     ] relative L2 " << err << " (theta " << theta << ")" << std::endl;
  EXPECT_LT(err, 0.03);  // measured 1.1 to 1.5%: the field beyond the map's edges is not in the map
  // The wrong direction (mirrored in-plane part) does not recover it.
  const double wrong[3] = {-u[0], -u[1], u[2]};
  inversion.invert(bf.data(), wrong, 1, settings, s.data());
  if (theta > 0.2) {
    EXPECT_GT(relative_l2(less_mean(s), less_mean(amplitude)), 3 * err);
  }
  EXPECT_THROW(FourierInversion(*cpu, 1, 10, 1.0, 0.1, 1), InvalidInput);
}

}  // namespace
}  // namespace magcnn::test
