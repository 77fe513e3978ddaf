// FourierInversion: embed, forward FFT, the inversion filter, inverse FFT, crop; all in double.
#include "magcnn/fourier_inversion.h"

#include <cmath>

#include "magcnn/forward_model.h"

namespace magcnn {

FourierInversion::FourierInversion(Backend& backend, int64_t ny, int64_t nx, double pixel_over_standoff, double thickness_over_standoff,
                                   int64_t max_maps)
    : backend_(backend), ny_(ny), nx_(nx), max_maps_(max_maps) {
  MAGCNN_REQUIRE(ny >= 2 && nx >= 2 && max_maps >= 1, "Fourier inversion of " << max_maps << " maps of " << ny << " x " << nx);
  MAGCNN_REQUIRE(std::isfinite(pixel_over_standoff) && pixel_over_standoff > 0 && std::isfinite(thickness_over_standoff) &&
                     thickness_over_standoff > 0,
                 "Fourier inversion: h/d = " << pixel_over_standoff << " and t/d = " << thickness_over_standoff << " must be positive");
  P_ = fft_friendly_size(2 * ny, 2);
  Q_ = fft_friendly_size(2 * nx, 2);
  d_ = 1.0 / pixel_over_standoff;  // in pixels
  t_ = thickness_over_standoff / pixel_over_standoff;
  // The largest g(k) = e^{-kd} (1 - e^{-kt}) / 2 is at k = ln(1 + t/d) / t; |H| <= b_scale g there.
  const double k_peak = std::log1p(t_ / d_) / t_, g_peak = 0.5 * std::exp(-k_peak * d_) * -std::expm1(-k_peak * t_);
  const double b_scale = 2.0 * d_ / t_;
  max_transfer2_ = b_scale * g_peak * b_scale * g_peak;
  padded_ = Tensor(backend, DType::F64, Shape{max_maps, P_, Q_});
  padded_.zero();
  spectrum_ = Tensor(backend, DType::F64, Shape{max_maps, P_, 2 * (Q_ / 2 + 1)});
  direction_ = Tensor(backend, DType::F64, Shape{max_maps, 3});
  out_ = Tensor(backend, DType::F64, Shape{max_maps, ny, nx});
  forward_ = backend.plan_fft(FftSpec{DType::F64, max_maps, P_, Q_, ny, 0, FftDirection::Forward});
  inverse_ = backend.plan_fft(FftSpec{DType::F64, max_maps, P_, Q_, 0, ny, FftDirection::Inverse});
  stage_.resize(static_cast<std::size_t>(max_maps * ny * nx));
}

FourierInversion::~FourierInversion() = default;

void FourierInversion::invert(const float* b, const double* directions, int64_t count, const InversionSettings& settings, float* s) {
  MAGCNN_REQUIRE(count >= 1 && count <= max_maps_, "Fourier inversion of " << count << " maps; planned for 1 to " << max_maps_);
  MAGCNN_REQUIRE(std::isfinite(settings.cutoff) && settings.cutoff > 0 && std::isfinite(settings.epsilon) && settings.epsilon >= 0,
                 "Fourier inversion: cut-off " << settings.cutoff << " and epsilon " << settings.epsilon << " must be positive");
  const int64_t plane = ny_ * nx_, values = count * plane;
  for (int64_t i = 0; i < values; ++i) stage_[static_cast<std::size_t>(i)] = static_cast<double>(b[i]);
  backend_.upload(out_.data<double>(), stage_.data(), static_cast<std::size_t>(values) * sizeof(double));
  backend_.upload(direction_.data<double>(), directions, static_cast<std::size_t>(3 * count) * sizeof(double));
  // Every slot's padding stays zero; slots past `count` are transformed too (the plan is for max_maps).
  backend_.run(kern::EmbedInterior<double>{out_.data<double>(), padded_.data<double>(), ny_, nx_, P_, Q_}, values);
  forward_->forward(padded_.data<double>(), spectrum_.data<double>());
  const int64_t half = P_ * (Q_ / 2 + 1);
  const double d = d_, t = t_;
  backend_.run(kern::InversionFilter<double>{reinterpret_cast<kern::Complex<double>*>(spectrum_.data<double>()), direction_.data<double>(), P_, Q_,
                                             d, t, 2.0 * d / t, settings.cutoff, settings.epsilon * max_transfer2_},
               count * half);
  inverse_->inverse(spectrum_.data<double>(), padded_.data<double>());
  backend_.run(kern::CropScale<double>{padded_.data<double>(), out_.data<double>(), P_, Q_, ny_, nx_, 1.0 / static_cast<double>(P_ * Q_)},
               values);
  backend_.download(stage_.data(), out_.data<double>(), static_cast<std::size_t>(values) * sizeof(double));
  // The embedding wrote only map interiors; the inverse overwrote the padding: zero it again.
  padded_.zero();
  for (int64_t i = 0; i < values; ++i) s[i] = static_cast<float>(stage_[static_cast<std::size_t>(i)]);
}

}  // namespace magcnn
