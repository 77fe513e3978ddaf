// Fourier inversion of field maps with their magnetization direction given: the standard alternative to
// the network, for comparing with it (bench/noise_study.cpp). For a film magnetized uniformly along u
// with amplitude s(x, y), b(k) = H(k) s(k) with the thin-film transfer function (forward_ops.h,
// kern::InversionFilter); s is recovered as b conj(H) / (|H|^2 + epsilon) below a low-pass cut-off, on
// a grid padded to twice the map (no wrap-around of the inverse's ringing). Plans made once per map size.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "magcnn/backend.h"
#include "magcnn/tensor.h"

namespace magcnn {

struct InversionSettings {
  double cutoff = 3.14159265358979323846;  // |k| in radians per pixel; pi is the grid's Nyquist
  double epsilon = 1e-6;                   // regularization, relative to the largest |H|^2
};

class FourierInversion {
 public:
  // Maps of ny x nx pixels in units of the standoff (pixel_over_standoff = h/d), of a film t/d thick, in
  // the normalized field b = Bz 2 d / (mu0 Ms t); up to max_maps per call. Computes in double.
  FourierInversion(Backend& backend, int64_t ny, int64_t nx, double pixel_over_standoff, double thickness_over_standoff, int64_t max_maps);
  ~FourierInversion();
  // b [count, ny, nx] and directions [count, 3] (unit vectors) on the host; writes s [count, ny, nx].
  void invert(const float* b, const double* directions, int64_t count, const InversionSettings& settings, float* s);

 private:
  Backend& backend_;
  int64_t ny_, nx_, P_, Q_, max_maps_;
  double d_, t_, max_transfer2_;
  Tensor padded_, spectrum_, direction_, out_;
  std::unique_ptr<FftPlan> forward_, inverse_;
  std::vector<double> stage_;
};

}  // namespace magcnn
