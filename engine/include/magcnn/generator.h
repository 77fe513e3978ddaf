// The seed's training-data generator (DESIGN.md section 2): random smoothed ellipses magnetized along
// random directions, their exact normalized field b = Bz 2d/(mu0 Ms t) and the target, on the network grid.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "magcnn/backend.h"
#include "magcnn/field_noise.h"
#include "magcnn/forward_model.h"

namespace magcnn {

// shape: the amplitude |m| in [0, 1]; polar: theta inside the film, 0 outside (the seed's two); vector:
// m itself, (mx, my, mz) per pixel, three channels.
enum class TargetKind { Shape, Polar, Vector };
TargetKind parse_target_kind(const std::string& text);  // "shape", "polar", "vector"
const char* target_kind_name(TargetKind t);
// Channels per pixel of the target (and of the network's output): 3 for vector, else 1.
int64_t target_channels(TargetKind t);

// The accepted ranges, in one place for the configuration, the flags and validate().
struct GeneratorLimits {
  static constexpr int64_t kMaxCount = int64_t{1} << 40;
  static constexpr int64_t kMinImgSize = 4, kMaxImgSize = 4096;
  static constexpr int64_t kMaxFinerGrid = 16;
  static constexpr double kMinRmax = 1e-3, kMaxRmax = 1e4;  // in standoffs
  // t/d: with d/h = finer_grid <= 16, t/h stays inside GeometryLimits.
  static constexpr double kMinThicknessOverStandoff = 1e-6, kMaxThicknessOverStandoff = 1e3;
  static constexpr int64_t kMaxBatch = int64_t{1} << 20;
};

struct GeneratorSettings {
  int64_t count = 5000;
  uint64_t seed = 1;
  int64_t img_size = 32;          // network pixels per side; one pixel = one standoff d
  int64_t finer_grid = 4;         // fine pixels per network pixel (rasterization and forward model)
  double rmax = 5.0;              // largest ellipse semi-axis, in units of d
  double thickness_over_standoff = 0.1;  // t/d (the seed: t = 1 nm, d = 10 nm)
  TargetKind target = TargetKind::Shape;
  ForwardMethod method = ForwardMethod::Exact;
  // The field component the samples hold, B . u (parse_field_axis: "z", "x", "y", "THETA,PHI" in
  // degrees, "UX,UY,UZ"): Bz, the seed's, by default; an NV centre's axis for NV-axis models.
  std::string field_axis = "z";
  // Noise of a measured map on every field (magcnn/field_noise.h): white Gaussian noise and a smooth
  // background, each relative to the map's RMS field; 0 (clean, the seed's) by default.
  NoiseSettings noise;
  int64_t batch = 0;  // samples per backend call; 0 picks one for the backend
  // Throws InvalidInput naming the first value outside GeneratorLimits.
  void validate() const;
};

// One batch of samples on the host: b [n, img, img], target [n, C, img, img] (C = target_channels), params [n, 7]
// (theta, phi, a, b, tilt, xc, yc; lengths in units of d, centres relative to the map's centre).
struct SampleBatch {
  int64_t count = 0;
  std::vector<float> b, target;
  std::vector<double> params;
};

// One batch on the generator's device: views into its buffers, valid until the next call.
// b [n, img, img] and target [n, C, img, img] of the backend's real type, params [n, 9] double
// (kern::EllipseParam order).
struct DeviceSamples {
  int64_t count = 0;
  TensorView b, target, params;
};

class Generator {
 public:
  Generator(Backend& backend, const GeneratorSettings& settings);
  ~Generator();
  Generator(const Generator&) = delete;
  Generator& operator=(const Generator&) = delete;

  int64_t batch_capacity() const { return capacity_; }
  // The next `n` samples (1 <= n <= batch_capacity()) of the seed's sequence, left on the device (what a
  // trainer that generates on the fly consumes). Asynchronous on the GPU.
  DeviceSamples next_on_device(int64_t n);
  // The same, copied to the host as float32 into `out` (resized).
  void next(int64_t n, SampleBatch& out);
  const GeneratorSettings& settings() const { return settings_; }
  // Passes over the next `n` samples (n >= 0): the sequence goes on as if they had been drawn, at the
  // cost of their uniforms alone (7 per sample, no shapes and no field). A rank of a data-parallel run
  // skips to its share of the seed's sequence so.
  void skip(int64_t n);
  // Starts the sequence of another seed from its beginning, keeping the forward model, plans and
  // buffers (a trainer's fresh samples every epoch cost no set-up).
  void restart(uint64_t seed);

 private:
  struct Buffers;
  Backend& backend_;
  GeneratorSettings settings_;
  int64_t capacity_;
  std::unique_ptr<UniformStream> uniforms_;
  std::unique_ptr<ForwardModel> forward_;
  std::unique_ptr<FieldNoise> noise_;  // when settings.noise.any()
  int64_t drawn_ = 0;                  // samples drawn since the seed's start: the noise's counter
  std::unique_ptr<Buffers> buf_;
};

constexpr int kStoredEllipseParams = 7;

}  // namespace magcnn
