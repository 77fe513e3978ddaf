// Measurement noise added to field maps, written once for the CPU loops and the CUDA kernels: white
// Gaussian noise and a smooth background offset (a random plane), each scaled by the map's RMS field.
// The numbers are counter-based (Philox4x32-10 keyed by the seed): the noise of a pixel depends only on
// (seed, draw, sample, pixel), not on the batching, and on the device only to the rounding of log and
// cos; a new draw (an epoch) gives new noise on the same maps.
#pragma once

#include <cmath>
#include <cstdint>

#include "hd.h"
#include "philox.h"

namespace magcnn::kern {

// Two standard normal numbers from one Philox block (Box-Muller), for counter (a, b, c, tag).
MAGCNN_HD void philox_normals(uint64_t seed, uint64_t a, uint64_t b, uint32_t tag, double& g0, double& g1) {
  const PhiloxBlock r = philox4x32_10(PhiloxBlock{static_cast<uint32_t>(a), static_cast<uint32_t>(a >> 32), static_cast<uint32_t>(b), tag},
                                      static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
  const double u1 = philox_to_double(r.x, r.y), u2 = philox_to_double(r.z, r.w);  // in (0, 1): log(u1) is finite
  const double radius = sqrt(-2.0 * log(u1)), angle = 6.283185307179586477 * u2;
  g0 = radius * cos(angle);
  g1 = radius * sin(angle);
}

constexpr uint32_t kWhiteNoiseTag = 0x6e6f6973u, kBackgroundTag = 0x626b6764u;  // "nois", "bkgd"

// noisy = clean + rms(map) (white N(0, 1) + background (g0 + g1 x' + g2 y')), x', y' in [-1, 1] across
// the map, for maps [n, ny, nx]; mean_square[map] is the clean map's mean square. In place when
// noisy == clean. `first` is the global index of map 0 (the sample's place in its sequence).
template <class T>
struct AddNoise {
  const T* clean;
  T* noisy;
  const double* mean_square;
  double white, background;  // RMS of each part, relative to the map's RMS field
  double absolute;           // RMS of white noise in the maps' own unit, whatever their field
  int64_t ny, nx, first;
  uint64_t seed, draw;
  MAGCNN_HD void operator()(int64_t i) const {
    const int64_t plane = ny * nx, map = i / plane, pixel = i % plane;
    const uint64_t sample = static_cast<uint64_t>(first + map);
    double g0 = 0, g1 = 0;
    philox_normals(seed, sample * static_cast<uint64_t>(plane) + static_cast<uint64_t>(pixel), draw, kWhiteNoiseTag, g0, g1);
    double value = white * g0;
    if (background > 0) {
      double c0 = 0, c1 = 0, c2 = 0, unused = 0;
      philox_normals(seed, sample, draw, kBackgroundTag, c0, c1);
      philox_normals(seed, sample, draw, kBackgroundTag + 1, c2, unused);
      const double x = nx > 1 ? 2.0 * static_cast<double>(pixel % nx) / static_cast<double>(nx - 1) - 1.0 : 0.0;
      const double y = ny > 1 ? 2.0 * static_cast<double>(pixel / nx) / static_cast<double>(ny - 1) - 1.0 : 0.0;
      // E[(c0 + c1 x + c2 y)^2] = 1 + 1/3 + 1/3 for x, y uniform in [-1, 1] (on n pixels, (n + 1) / (3 (n - 1))
      // each: 0.6% more at 64 pixels).
      value += background * (c0 + c1 * x + c2 * y) / sqrt(1.0 + 2.0 / 3.0);
    }
    // The absolute noise takes the second normal of the white noise's draw: independent of the first.
    noisy[i] = static_cast<T>(static_cast<double>(clean[i]) + sqrt(mean_square[map]) * value + absolute * g1);
  }
};

// mean_square[map] = the mean of b^2 over each map of [n, plane] (a reduction: output = map, one row).
template <class T>
struct MapMeanSquare {
  const T* b;
  double* mean_square;
  int64_t cols;  // the plane
  MAGCNN_HD int64_t rows() const { return 1; }
  MAGCNN_HD double value(int64_t map, int64_t, int64_t c) const {
    const double v = static_cast<double>(b[map * cols + c]);
    return v * v;
  }
  MAGCNN_HD void store(int64_t map, double sum) const { mean_square[map] = sum / static_cast<double>(cols); }
};

}  // namespace magcnn::kern
