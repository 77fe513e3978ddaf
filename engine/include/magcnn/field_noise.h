// Noise of a measured map added to clean fields, for training on noisy maps: white Gaussian noise of RMS
// `relative_rms` times each map's RMS field, optionally a smooth background (a random plane) of RMS
// `background` times it, and white noise of a fixed level in tesla (a magnetometer's noise floor). Counter-based (kernels/noise_ops.h): the same (seed, draw) gives the same noise
// on any device and batching; another draw (a new epoch) gives new noise on the same maps.
#pragma once

#include <cstdint>

#include "magcnn/backend.h"
#include "magcnn/tensor.h"

namespace magcnn {

struct NoiseSettings {
  double relative_rms = 0;  // white noise, relative to each map's RMS field
  double background = 0;    // background offset, relative to it too
  // White noise of this RMS in tesla on every map whatever its field, for films of saturation
  // magnetization Ms_A_per_m (which a tesla level needs: the fields are normalized, b = Bz 2d / (mu0 Ms t)).
  double tesla_rms = 0;
  double Ms_A_per_m = 0;
  bool any() const { return relative_rms > 0 || background > 0 || tesla_rms > 0; }
  // tesla_rms in the normalized field of films of thickness t = thickness_over_standoff d:
  // 2 tesla_rms / (mu0 Ms (t/d)).
  double normalized_rms(double thickness_over_standoff) const;
  // Throws InvalidInput for a relative level that is negative, not finite, or above kMaxLevel, a tesla
  // level outside 0..kMaxTesla, or a tesla level without an Ms in (0, 1e8] A/m.
  void validate() const;
  static constexpr double kMaxLevel = 100, kMaxTesla = 1;
};

// The draw of magcnn-train's validation noise: not the generator's 0, so that noise added to a set made
// noisy by magcnn-generate with the same seed is new noise, not the same noise twice.
constexpr uint64_t kValidationDraw = uint64_t{1} << 62;

class FieldNoise {
 public:
  // For up to max_maps maps of ny x nx per call, in the backend's real type `dtype`, of films of
  // thickness_over_standoff (t/d; needed only for a level in tesla).
  FieldNoise(Backend& backend, const NoiseSettings& settings, int64_t max_maps, int64_t ny, int64_t nx, DType dtype,
             double thickness_over_standoff = 0);
  // noisy = clean + noise, maps [n, ny, nx] (n <= max_maps; noisy may be clean itself); `first` is the
  // global index of map 0 in its sequence, (seed, draw) the stream (the generator: draw 0; magcnn-train:
  // epoch + 1 on the training maps, kValidationDraw on the validation maps).
  // Allocation-free; asynchronous on the GPU.
  void apply(const TensorView& clean, const TensorView& noisy, int64_t first, uint64_t seed, uint64_t draw);
  const NoiseSettings& settings() const { return settings_; }

 private:
  Backend& backend_;
  NoiseSettings settings_;
  int64_t max_maps_, ny_, nx_;
  DType dtype_;
  double absolute_ = 0;  // tesla_rms in the normalized field
  Tensor mean_square_;  // [max_maps] double
};

}  // namespace magcnn
