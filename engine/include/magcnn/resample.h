// Resampling maps between grids of different pixel sizes (a measured map onto the model's grid, 1 pixel =
// one standoff d, and the prediction back).
//
// Separable cubic convolution (Keys, a = -1/2), widened by the scale factor when the grid gets coarser so
// that every output pixel averages all the input it covers (antialiasing, as image libraries do it). Why
// cubic: the field above a film is smooth on the scale of d (its spectrum falls as e^{-kd}), and Keys'
// kernel reproduces quadratics exactly with a third-order error, where bilinear interpolation flattens
// every peak by O(h^2); why widened: a plain interpolation of a map sampled much finer than d would pick
// single pixels and pass their noise through unaveraged. Pixel centres sit at (i + 1/2) pixel sizes from
// the map's corner on both grids; near the edges the weights of the taps inside the map are renormalized.
// Each axis's weights are computed once per plan and reused for every map.
#pragma once

#include <cstdint>
#include <vector>

namespace magcnn {

// One axis: n_in samples of spacing `in_pixel` onto n_out of spacing `out_pixel` (any one length unit).
class AxisResampler {
 public:
  AxisResampler(int64_t n_in, double in_pixel, int64_t n_out, double out_pixel);
  int64_t n_in() const { return n_in_; }
  int64_t n_out() const { return n_out_; }
  bool identity() const { return identity_; }
  // Output i = sum over taps t < taps() of weight(i, t) * input[first(i) + t].
  int64_t taps() const { return taps_; }
  int64_t first(int64_t i) const { return first_[static_cast<std::size_t>(i)]; }
  const double* weights(int64_t i) const { return &weights_[static_cast<std::size_t>(i * taps_)]; }

 private:
  int64_t n_in_, n_out_, taps_ = 1;
  bool identity_ = false;
  std::vector<int64_t> first_;
  std::vector<double> weights_;  // [n_out, taps]
};

// The number of pixels of spacing `to_pixel` that cover n pixels of spacing `from_pixel` (rounded, >= 1).
int64_t resampled_size(int64_t n, double from_pixel, double to_pixel);

// A 2-D plan: [ny_in, nx_in] onto [ny_out, nx_out]. apply() allocates nothing.
class Resampler {
 public:
  Resampler(int64_t ny_in, int64_t nx_in, double in_pixel, int64_t ny_out, int64_t nx_out, double out_pixel);
  bool identity() const { return rows_.identity() && cols_.identity(); }
  int64_t ny_in() const { return rows_.n_in(); }
  int64_t nx_in() const { return cols_.n_in(); }
  int64_t ny_out() const { return rows_.n_out(); }
  int64_t nx_out() const { return cols_.n_out(); }
  // One map: in [ny_in, nx_in] -> out [ny_out, nx_out] (float in and out, double arithmetic).
  void apply(const float* in, float* out);

 private:
  AxisResampler rows_, cols_;
  std::vector<double> across_;  // [ny_in, nx_out]: the maps resampled along x first
};

}  // namespace magcnn
