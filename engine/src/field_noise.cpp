// FieldNoise: the checks above the backend, then two element passes (kernels/noise_ops.h).
#include "magcnn/field_noise.h"

#include <cmath>
#include <utility>

#include "magcnn/forward_model.h"

namespace magcnn {

void NoiseSettings::validate() const {
  for (const auto& [value, name] : {std::pair<double, const char*>{relative_rms, "noise_rms"}, {background, "noise_background"}})
    MAGCNN_REQUIRE(std::isfinite(value) && value >= 0 && value <= kMaxLevel,
                   name << " = " << value << ": a noise level is a fraction of the map's RMS field, from 0 to " << kMaxLevel
                        << " (0.05 is 5%)");
  MAGCNN_REQUIRE(std::isfinite(tesla_rms) && tesla_rms >= 0 && tesla_rms <= kMaxTesla,
                 "noise_tesla = " << tesla_rms << ": an RMS noise in tesla, from 0 to " << kMaxTesla << " (1e-6 is 1 uT)");
  MAGCNN_REQUIRE(tesla_rms == 0 || (std::isfinite(Ms_A_per_m) && Ms_A_per_m > 0 && Ms_A_per_m <= 1e8),
                 "noise_Ms_A_per_m = " << Ms_A_per_m << ": a noise level in tesla needs the films' Ms, in (0, 1e8] A/m, to compare "
                                       << "it with their normalized field");
}

double NoiseSettings::normalized_rms(double thickness_over_standoff) const {
  if (tesla_rms == 0) return 0;
  MAGCNN_REQUIRE(std::isfinite(thickness_over_standoff) && thickness_over_standoff > 0,
                 "a noise level in tesla needs the films' t/d, not " << thickness_over_standoff);
  return 2 * tesla_rms / (kMu0 * Ms_A_per_m * thickness_over_standoff);
}

FieldNoise::FieldNoise(Backend& backend, const NoiseSettings& settings, int64_t max_maps, int64_t ny, int64_t nx, DType dtype,
                       double thickness_over_standoff)
    : backend_(backend), settings_(settings), max_maps_(max_maps), ny_(ny), nx_(nx), dtype_(dtype) {
  settings.validate();
  absolute_ = settings.normalized_rms(thickness_over_standoff);
  MAGCNN_REQUIRE(max_maps >= 1 && ny >= 1 && nx >= 1, "noise for " << max_maps << " maps of " << ny << " x " << nx);
  MAGCNN_REQUIRE(dtype == DType::F32 || dtype == DType::F64, "noise is added to float or double maps");
  mean_square_ = Tensor(backend, DType::F64, Shape{max_maps});
}

void FieldNoise::apply(const TensorView& clean, const TensorView& noisy, int64_t first, uint64_t seed, uint64_t draw) {
  const int64_t n = clean.shape.rank() >= 1 ? clean.shape[0] : 0;
  MAGCNN_REQUIRE(n >= 1 && n <= max_maps_ && clean.shape.numel() == n * ny_ * nx_ && noisy.shape.numel() == clean.shape.numel() &&
                     clean.dtype == dtype_ && noisy.dtype == dtype_ && clean.device == backend_.kind() && noisy.device == backend_.kind(),
                 "noise for maps " << clean.shape.str() << " -> " << noisy.shape.str() << "; planned for up to " << max_maps_ << " maps of "
                                   << ny_ << " x " << nx_ << " " << dtype_name(dtype_) << " on the " << device_name(backend_.kind()));
  MAGCNN_REQUIRE(first >= 0, "noise: the first map's index is negative");
  if (!settings_.any()) {
    if (noisy.data != clean.data) backend_.copy(noisy.data, clean.data, clean.shape.numel() * dtype_size(dtype_));
    return;
  }
  const int64_t plane = ny_ * nx_;
  auto run = [&](auto zero) {
    using T = decltype(zero);
    double* ms = mean_square_.data<double>();
    backend_.reduce(kern::MapMeanSquare<T>{clean.as<T>(), ms, plane}, n);
    backend_.run(kern::AddNoise<T>{clean.as<T>(), noisy.as<T>(), ms, settings_.relative_rms, settings_.background, absolute_, ny_, nx_,
                                   first, seed, draw},
                 n * plane);
  };
  if (dtype_ == DType::F64) run(0.0); else run(0.0f);
}

}  // namespace magcnn
