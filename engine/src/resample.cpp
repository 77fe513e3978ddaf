#include "magcnn/resample.h"

#include <algorithm>
#include <cmath>

#include "magcnn/error.h"

namespace magcnn {
namespace {

// Keys' cubic convolution kernel with a = -1/2, support [-2, 2].
double keys_cubic(double x) {
  x = std::fabs(x);
  if (x < 1) return (1.5 * x - 2.5) * x * x + 1;
  if (x < 2) return ((-0.5 * x + 2.5) * x - 4) * x + 2;
  return 0;
}

}  // namespace

int64_t resampled_size(int64_t n, double from_pixel, double to_pixel) {
  MAGCNN_REQUIRE(n >= 1 && from_pixel > 0 && to_pixel > 0 && std::isfinite(from_pixel / to_pixel),
                 "resampling needs a map and positive pixel sizes (got " << n << " pixels of " << from_pixel << " onto "
                                                                        << to_pixel << ")");
  const double size = std::round(static_cast<double>(n) * from_pixel / to_pixel);
  MAGCNN_REQUIRE(size <= double(int64_t{1} << 24), "resampling " << n << " pixels of " << from_pixel << " onto pixels of "
                                                                 << to_pixel << " makes " << size
                                                                 << " pixels: check the pixel size and standoff");
  return std::max<int64_t>(1, static_cast<int64_t>(size));
}

AxisResampler::AxisResampler(int64_t n_in, double in_pixel, int64_t n_out, double out_pixel) : n_in_(n_in), n_out_(n_out) {
  MAGCNN_REQUIRE(n_in >= 1 && n_out >= 1 && in_pixel > 0 && out_pixel > 0, "bad resampling axis");
  const double step = out_pixel / in_pixel;  // output spacing in input pixels
  // Same size and the same pixel (to rounding): nothing to interpolate, and copying keeps the bits.
  if (n_in == n_out && std::fabs(step - 1) < 1e-9) {
    identity_ = true;
    first_.resize(static_cast<std::size_t>(n_out));
    for (int64_t i = 0; i < n_out; ++i) first_[static_cast<std::size_t>(i)] = i;
    weights_.assign(static_cast<std::size_t>(n_out), 1.0);
    return;
  }
  const double widen = std::max(1.0, step);  // antialiasing when the output is coarser
  const double support = 2 * widen;
  // A window wider than the map covers the whole map.
  taps_ = std::min<int64_t>(static_cast<int64_t>(std::ceil(2 * support)) + 1, n_in);
  first_.resize(static_cast<std::size_t>(n_out));
  weights_.assign(static_cast<std::size_t>(n_out * taps_), 0.0);
  for (int64_t i = 0; i < n_out; ++i) {
    const double centre = (static_cast<double>(i) + 0.5) * step - 0.5;  // in input pixel indices
    const int64_t lo = static_cast<int64_t>(std::floor(centre - support)) + 1;
    // Taps that fall outside the map are moved onto the window's ends with zero weight, so that every
    // output has `taps_` in-range taps: the inner loop needs no bounds checks.
    const int64_t start = std::clamp<int64_t>(lo, 0, std::max<int64_t>(0, n_in - taps_));
    first_[static_cast<std::size_t>(i)] = start;
    double* w = &weights_[static_cast<std::size_t>(i * taps_)];
    double sum = 0;
    for (int64_t t = 0; t < taps_; ++t) {
      const int64_t j = start + t;
      if (j >= n_in) break;
      const double v = keys_cubic((static_cast<double>(j) - centre) / widen);
      w[t] = v;
      sum += v;
    }
    // Renormalize: at the edges some of the kernel falls outside the map. An output centred beyond the
    // map's last pixel by about a pixel (a rounded size) can see only the kernel's small negative lobe:
    // it takes its nearest pixel instead.
    if (sum < 0.25) {
      std::fill(w, w + taps_, 0.0);
      const int64_t nearest = std::clamp<int64_t>(static_cast<int64_t>(std::lround(centre)), 0, n_in - 1);
      w[nearest - start] = 1.0;
      continue;
    }
    for (int64_t t = 0; t < taps_; ++t) w[t] /= sum;
  }
}

Resampler::Resampler(int64_t ny_in, int64_t nx_in, double in_pixel, int64_t ny_out, int64_t nx_out, double out_pixel)
    : rows_(ny_in, in_pixel, ny_out, out_pixel),
      cols_(nx_in, in_pixel, nx_out, out_pixel),
      across_(static_cast<std::size_t>(ny_in * nx_out)) {}

void Resampler::apply(const float* in, float* out) {
  const int64_t ny = rows_.n_in(), nx = cols_.n_in(), oy = rows_.n_out(), ox = cols_.n_out();
  if (identity()) {
    std::copy(in, in + ny * nx, out);
    return;
  }
  const int64_t ct = cols_.taps(), rt = rows_.taps();
#pragma omp parallel for schedule(static)
  for (int64_t y = 0; y < ny; ++y) {
    const float* row = in + y * nx;
    double* dst = &across_[static_cast<std::size_t>(y * ox)];
    for (int64_t x = 0; x < ox; ++x) {
      const float* src = row + cols_.first(x);
      const double* w = cols_.weights(x);
      double s = 0;
      for (int64_t t = 0; t < ct; ++t) s += w[t] * src[t];
      dst[x] = s;
    }
  }
#pragma omp parallel for schedule(static)
  for (int64_t y = 0; y < oy; ++y) {
    const double* w = rows_.weights(y);
    const int64_t f = rows_.first(y);
    float* dst = out + y * ox;
    for (int64_t x = 0; x < ox; ++x) {
      double s = 0;
      for (int64_t t = 0; t < rt; ++t) s += w[t] * across_[static_cast<std::size_t>((f + t) * ox + x)];
      dst[x] = static_cast<float>(s);
    }
  }
}

}  // namespace magcnn
