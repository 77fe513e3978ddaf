// The FFT forward model above the backend interface: argument checks, kernel spectra, workspaces, and the
// sequence embed -> FFT -> folded spectral product -> inverse FFT -> crop and scale.
#include "magcnn/forward_model.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "magcnn/memory.h"

namespace magcnn {

ForwardMethod parse_forward_method(const std::string& text) {
  if (text == "exact") return ForwardMethod::Exact;
  if (text == "spectral") return ForwardMethod::Spectral;
  throw InvalidInput("unknown forward-model method '" + text + "': use exact or spectral");
}

const char* forward_method_name(ForwardMethod m) { return m == ForwardMethod::Exact ? "exact" : "spectral"; }

void FieldAxis::validate() const {
  MAGCNN_REQUIRE(std::isfinite(x) && std::isfinite(y) && std::isfinite(z), "the field axis " << describe() << " is not finite");
  const double length = std::sqrt(x * x + y * y + z * z);
  MAGCNN_REQUIRE(std::fabs(length - 1.0) <= 1e-9, "the field axis " << describe() << " is not a unit vector (length " << length << ")");
}

std::string FieldAxis::describe() const {
  if (is_z()) return "z";
  if (x == 1 && y == 0 && z == 0) return "x";
  if (x == 0 && y == 1 && z == 0) return "y";
  char text[96];
  std::snprintf(text, sizeof text, "(%.6g, %.6g, %.6g)", x, y, z);
  return text;
}

std::string FieldAxis::text() const {
  const std::string name = describe();
  if (name.size() == 1) return name;
  char out[96];
  std::snprintf(out, sizeof out, "%.17g,%.17g,%.17g", x, y, z);
  return out;
}

FieldAxis field_axis_from_vector(double x, double y, double z) {
  const double length = std::sqrt(x * x + y * y + z * z);
  MAGCNN_REQUIRE(std::isfinite(length) && length > 0,
                 "an axis (" << x << ", " << y << ", " << z << ") has no direction: give a vector of non-zero, finite length");
  FieldAxis u{x / length, y / length, z / length};
  // Keep the three axes exact, so that they are recognized (and Bz takes its three-plane path).
  for (double* c : {&u.x, &u.y, &u.z})
    if (std::fabs(*c) < 1e-15) *c = 0.0; else if (std::fabs(std::fabs(*c) - 1.0) < 1e-15) *c = std::copysign(1.0, *c);
  return u;
}

FieldAxis parse_field_axis(const std::string& text) {
  if (text == "z") return FieldAxis{};
  if (text == "x") return field_axis_from_vector(1, 0, 0);
  if (text == "y") return field_axis_from_vector(0, 1, 0);
  MAGCNN_REQUIRE(text.empty() || text.back() != ',', "axis '" << text << "' ends in a comma; give z, x, y, THETA,PHI in degrees or UX,UY,UZ");
  std::vector<double> v;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, ',');) {
    std::size_t used = 0;
    double value = 0;
    try {
      value = std::stod(part, &used);
    } catch (const std::out_of_range&) {
      throw InvalidInput("axis '" + text + "': '" + part + "' is outside the range of double precision");
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || part.find_first_not_of(" \t", used) != std::string::npos)
      throw InvalidInput("axis '" + text + "': '" + part + "' is not a number; give z, x, y, THETA,PHI in degrees or UX,UY,UZ");
    v.push_back(value);
  }
  if (v.size() == 2) return field_axis_from_angles(v[0], v[1]);
  if (v.size() == 3) return field_axis_from_vector(v[0], v[1], v[2]);
  throw InvalidInput("axis '" + text + "' has " + std::to_string(v.size()) +
                     " numbers; give z, x, y, THETA,PHI (polar from +z, azimuth from +x, degrees) or UX,UY,UZ");
}

bool same_axis(const FieldAxis& a, const FieldAxis& b) {
  return std::fabs(a.x - b.x) <= 1e-6 && std::fabs(a.y - b.y) <= 1e-6 && std::fabs(a.z - b.z) <= 1e-6;
}

FieldAxis field_axis_from_angles(double polar_deg, double azimuth_deg) {
  MAGCNN_REQUIRE(std::isfinite(polar_deg) && std::isfinite(azimuth_deg),
                 "axis angles must be finite, got polar " << polar_deg << ", azimuth " << azimuth_deg << " degrees");
  MAGCNN_REQUIRE(polar_deg >= 0 && polar_deg <= 180, "the polar angle of an axis is 0 to 180 degrees (from +z), got " << polar_deg);
  const double rad = 3.14159265358979323846 / 180.0, theta = polar_deg * rad, phi = azimuth_deg * rad;
  return field_axis_from_vector(std::sin(theta) * std::cos(phi), std::sin(theta) * std::sin(phi), std::cos(theta));
}

int64_t fft_friendly_size(int64_t minimum, int64_t multiple) {
  MAGCNN_REQUIRE(minimum >= 1 && minimum <= (int64_t{1} << 50) && multiple >= 1 && multiple <= (int64_t{1} << 20),
                 "FFT size for minimum " << minimum << ", multiple " << multiple);
  // m = 2^k (k large enough) always qualifies, so the search ends before m doubles.
  for (int64_t m = (minimum + multiple - 1) / multiple;; ++m) {
    int64_t r = m;
    for (const int64_t p : {2, 3, 5, 7})
      while (r % p == 0) r /= p;
    if (r == 1) return m * multiple;
  }
}

// Buffers for max_batch maps, sized once; components go through them one after another. Complex arrays
// are real tensors with interleaved (re, im). The inverse FFT writes into `spectrum`, spent by then.
struct ForwardModel::Workspace {
  Tensor padded;    // [B, P, Q], padding zero
  Tensor spectrum;  // [B, P, 2 (Q/2+1)]; then the inverse's output [B, P/s, Q/s]
  Tensor folded;    // [B, P/s, 2 (Q/(2s)+1)], the field's spectrum summed over components
};

namespace {

// The model's kernel spectra: for Bz the three tables' planes as they are; for another axis the six
// tables' spectra, in double, combined into the planes of B . u (kern::AxisSpectra).
template <class T>
void fill_spectra(Backend& backend, ForwardMethod method, const FieldAxis& axis, int64_t ny, int64_t nx, int64_t P, int64_t Q,
                  double d, double t, const Tensor& spectra) {
  const int64_t plane = P * (Q / 2 + 1);
  const double scale = 1.0 / static_cast<double>(P * Q);
  const bool bz = axis.is_z();
  const int tables = bz ? kern::kOutOfPlaneTables : kern::kAllTables;
  Tensor raw;  // the six tables' spectra in double, for another axis
  if (!bz) raw = Tensor(backend, DType::F64, Shape{tables, P, Q / 2 + 1});
  if (method == ForwardMethod::Spectral) {
    if (bz) {
      backend.run(kern::TransferSpectra<T>{P, Q, d, t, scale, spectra.data<T>(), tables}, plane);
    } else {
      backend.run(kern::TransferSpectra<double>{P, Q, d, t, scale, raw.data<double>(), tables}, plane);
    }
  } else {
    // Cell kernels and their spectra in double on every backend; only the finished planes are converted.
    Tensor quadrant(backend, DType::F64, Shape{tables, P / 2 + 1, Q / 2 + 1});
    quadrant.zero();
    const ops::CellKernelQuadrant op{ny, nx, P, Q, d, t, quadrant.data<double>(), tables};
    backend.run(op, op.count());
    if (bz) {
      backend.kernel_spectra(quadrant.data<double>(), tables, P, Q, dtype_of<T>(), spectra.data<T>(), scale);
    } else {
      backend.kernel_spectra(quadrant.data<double>(), tables, P, Q, DType::F64, raw.data<double>(), scale);
    }
    backend.synchronize();  // `quadrant` is freed on return
  }
  if (!bz) {
    backend.run(kern::AxisSpectra<T>{raw.data<double>(), spectra.data<T>(), plane, axis.x, axis.y, axis.z}, plane);
    backend.synchronize();  // `raw` is freed on return
  }
}

template <class T>
const kern::Complex<T>* as_complex(const Tensor& t) {
  return reinterpret_cast<const kern::Complex<T>*>(t.data<T>());
}
template <class T>
kern::Complex<T>* as_complex_mut(const Tensor& t) {
  return reinterpret_cast<kern::Complex<T>*>(t.data<T>());
}

}  // namespace

namespace {

// The padded grid: linear (not circular) convolution needs P >= 2 ny - 1; the folded output needs P
// divisible by the stride s; the kernels' parity transforms need P even and at least 4.
int64_t padded_size(int64_t n, int64_t s) {
  return fft_friendly_size(std::max<int64_t>(2 * n - 1, 4), s % 2 == 0 ? s : 2 * s);
}

void check_sizes(int64_t ny, int64_t nx, const ForwardOptions& options) {
  MAGCNN_REQUIRE(ny >= 1 && nx >= 1, "map size must be at least 1 x 1, got " << ny << " x " << nx);
  MAGCNN_REQUIRE(ny <= ForwardModel::kMaxSide && nx <= ForwardModel::kMaxSide,
                 "a map of " << ny << " x " << nx << " pixels is larger than the forward model accepts (sides up to "
                             << ForwardModel::kMaxSide << ")");
  MAGCNN_REQUIRE(options.max_batch >= 1 && options.max_batch <= (int64_t{1} << 30),
                 "max_batch must be in 1.." << (int64_t{1} << 30) << ", got " << options.max_batch);
  MAGCNN_REQUIRE(options.output_stride >= 1 && options.output_stride <= 64,
                 "output stride must be in 1..64, got " << options.output_stride);
}

}  // namespace

int64_t ForwardModel::suggested_batch(const Backend& backend, int64_t n, int64_t ny, int64_t nx) {
  // Three padded planes of 2H x 2W each per map, in the backend's real type.
  const double per_map = 12.0 * static_cast<double>(ny) * static_cast<double>(nx) * (backend.preferred_real() == DType::F64 ? 8 : 4);
  return std::clamp<int64_t>(static_cast<int64_t>(std::min(1e9 / per_map, 1e9)), 1, std::max<int64_t>(n, 1));
}

double ForwardModel::memory_bytes(const Backend& backend, int64_t ny, int64_t nx, const ForwardOptions& options) {
  check_sizes(ny, nx, options);
  const double es = static_cast<double>(dtype_size(options.dtype_from_backend ? backend.preferred_real() : options.dtype));
  const double s = static_cast<double>(options.output_stride);
  const double P = static_cast<double>(padded_size(ny, options.output_stride));
  const double Q = static_cast<double>(padded_size(nx, options.output_stride));
  const double B = static_cast<double>(options.max_batch), half = P * (Q / 2 + 1);
  const double tables = options.axis.is_z() ? 3 : 6;
  const double spectra = tables * half * es;
  const double work = B * (P * Q + 2 * half + 2 * (P / s) * (Q / s / 2 + 1)) * es;
  // Transients of construction: the kernels' first quadrant in double (and, for an axis other than z,
  // the tables' spectra in double); on the GPU its mirrored tables and their spectrum (also double); FFT
  // planning arrays (FFTW) or work areas (cuFFT), about one padded batch and its spectrum.
  const double quadrant = tables * (P / 2 + 1) * (Q / 2 + 1) * 8 + (tables == 6 ? 6 * half * 8 : 0);
  const double mirrored = backend.kind() == DeviceKind::CUDA ? tables * (P * Q + 2 * half) * 8 : 0;
  const double planning = B * (P * Q + 2 * half) * es;
  return spectra + work + quadrant + std::max(mirrored, planning);
}

ForwardModel::ForwardModel(Backend& backend, const FilmGeometry& geometry, int64_t ny, int64_t nx,
                           ForwardOptions options)
    : backend_(backend), geometry_(geometry), options_(options), ny_(ny), nx_(nx) {
  geometry.validate();
  options.axis.validate();
  check_sizes(ny, nx, options);
  require_memory(memory_bytes(backend, ny, nx, options), backend.available_memory(),
                 "the forward model of " + std::to_string(options.max_batch) + " map(s) of " + std::to_string(ny) + " x " +
                     std::to_string(nx) + " pixels",
                 backend.kind() == DeviceKind::CPU ? "host" : "GPU");
  dtype_ = options.dtype_from_backend ? backend.preferred_real() : options.dtype;
  const int64_t s = options.output_stride;
  P_ = padded_size(ny, s);
  Q_ = padded_size(nx, s);
  const double d = geometry.standoff_m / geometry.pixel_size_m;
  const double t = geometry.thickness_m / geometry.pixel_size_m;

  const int64_t qh = Q_ / 2 + 1;
  spectra_ = Tensor(backend, dtype_, Shape{options.axis.is_z() ? 3 : 6, P_, qh});
  if (dtype_ == DType::F64) {
    fill_spectra<double>(backend, options.method, options.axis, ny, nx, P_, Q_, d, t, spectra_);
  } else {
    fill_spectra<float>(backend, options.method, options.axis, ny, nx, P_, Q_, d, t, spectra_);
  }

  const int64_t B = options.max_batch, ps = P_ / s, qs = Q_ / s;
  work_ = std::make_unique<Workspace>();
  work_->padded = Tensor(backend, dtype_, Shape{B, P_, Q_});
  work_->padded.zero();  // the padding stays zero: only map interiors are ever written
  work_->spectrum = Tensor(backend, dtype_, Shape{B, P_, 2 * qh});
  work_->folded = Tensor(backend, dtype_, Shape{B, ps, 2 * (qs / 2 + 1)});
  work_->folded.zero();  // slots past a partial batch go through the inverse FFT too: keep them defined
  // Input rows from ny on are padding (zero); of the inverse's output only the first out_ny rows are read.
  forward_plan_ = backend.plan_fft(FftSpec{dtype_, B, P_, Q_, ny_, 0, FftDirection::Forward});
  inverse_plan_ = backend.plan_fft(FftSpec{dtype_, B, ps, qs, 0, out_ny(), FftDirection::Inverse});
}

ForwardModel::~ForwardModel() = default;

int64_t ForwardModel::out_ny() const { return (ny_ + options_.output_stride - 1) / options_.output_stride; }
int64_t ForwardModel::out_nx() const { return (nx_ + options_.output_stride - 1) / options_.output_stride; }

void ForwardModel::check_maps(const TensorView& t, const char* name, int64_t rank, int64_t last) const {
  MAGCNN_REQUIRE(t.device == backend_.kind(), name << " is on the " << device_name(t.device)
                                                    << " but the forward model runs on the "
                                                    << device_name(backend_.kind()));
  MAGCNN_REQUIRE(t.dtype == dtype_, name << " is " << dtype_name(t.dtype) << ", the forward model computes in "
                                         << dtype_name(dtype_));
  MAGCNN_REQUIRE(t.shape.rank() == rank, name << " must have rank " << rank << ", got shape " << t.shape.str());
  MAGCNN_REQUIRE(t.shape[0] >= 1 && t.shape[0] <= options_.max_batch,
                 name << " holds " << t.shape[0] << " maps; this model takes 1 to " << options_.max_batch);
  if (rank == 3) {
    MAGCNN_REQUIRE(t.shape[1] == ny_ && t.shape[2] == nx_, name << " has shape " << t.shape.str()
                                                                << ", expected [N, " << ny_ << ", " << nx_ << "]");
  } else {
    MAGCNN_REQUIRE(t.shape[1] == last, name << " has shape " << t.shape.str() << ", expected [N, " << last << "]");
  }
}

void ForwardModel::check_field(const TensorView& bz, int64_t n) const {
  MAGCNN_REQUIRE(bz.device == backend_.kind() && bz.dtype == dtype_,
                 "bz must be a " << dtype_name(dtype_) << " tensor on the " << device_name(backend_.kind()));
  MAGCNN_REQUIRE(bz.shape == Shape({n, out_ny(), out_nx()}),
                 "bz has shape " << bz.shape.str() << ", expected [" << n << ", " << out_ny() << ", " << out_nx() << "]");
}

namespace {

// How the spectral product reads the model's planes (fill_spectra's layouts).
template <class T>
kern::KernelPlanes<T> kernel_planes(const Tensor& spectra, bool bz) {
  const T* k = spectra.data<T>();
  const int64_t plane = spectra.shape()[1] * spectra.shape()[2];
  if (bz) return {true, {nullptr, nullptr, k + 2 * plane}, {k, k + plane, nullptr}};
  return {false, {k, k + 2 * plane, k + 4 * plane}, {k + plane, k + 3 * plane, k + 5 * plane}};
}

template <class T>
void run_embed(Backend& b, const TensorView& src, T* dst, int64_t ny, int64_t nx, int64_t P, int64_t Q) {
  const int64_t n = src.shape[0];
  b.run(kern::EmbedInterior<T>{src.as<T>(), dst, ny, nx, P, Q}, n * ny * nx);
}

}  // namespace

void ForwardModel::compute(const TensorView& mx, const TensorView& my, const TensorView& mz, const TensorView& bz) {
  check_maps(mx, "mx", 3, 0);
  check_maps(my, "my", 3, 0);
  check_maps(mz, "mz", 3, 0);
  const int64_t n = mx.shape[0];
  MAGCNN_REQUIRE(my.shape[0] == n && mz.shape[0] == n,
                 "mx, my, mz hold different numbers of maps: " << n << ", " << my.shape[0] << ", " << mz.shape[0]);
  check_field(bz, n);
  const int64_t s = options_.output_stride;
  const int64_t folded = n * (P_ / s) * ((Q_ / s) / 2 + 1);
  auto run = [&](auto zero) {
    using T = decltype(zero);
    T* padded = work_->padded.data<T>();
    const kern::KernelPlanes<T> k = kernel_planes<T>(spectra_, options_.axis.is_z());
    const int64_t half = P_ * (Q_ / 2 + 1);
    const TensorView* comps[3] = {&mx, &my, &mz};
    for (int c = 0; c < 3; ++c) {
      run_embed<T>(backend_, *comps[c], padded, ny_, nx_, P_, Q_);
      forward_plan_->forward(padded, work_->spectrum.data<T>());
      backend_.run(ops::ProductComponent<T>{{as_complex<T>(work_->spectrum), half, c}, k, as_complex_mut<T>(work_->folded), P_, Q_,
                                            s, c > 0},
                   folded);
    }
  };
  if (dtype_ == DType::F64) run(0.0); else run(0.0f);
  finish(n, bz);
}

void ForwardModel::compute_collinear(const TensorView& shape, const TensorView& direction, const TensorView& bz) {
  check_maps(shape, "shape", 3, 0);
  const int64_t n = shape.shape[0];
  MAGCNN_REQUIRE(direction.shape.rank() >= 1 && direction.shape[0] == n,
                 "shape holds " << n << " maps but direction has shape " << direction.shape.str());
  const TensorView input = collinear_input(n);
  if (dtype_ == DType::F64) {
    run_embed<double>(backend_, shape, input.as<double>(), ny_, nx_, P_, Q_);
  } else {
    run_embed<float>(backend_, shape, input.as<float>(), ny_, nx_, P_, Q_);
  }
  compute_collinear_prepared(direction, bz);
}

TensorView ForwardModel::collinear_input(int64_t n) const {
  MAGCNN_REQUIRE(n >= 1 && n <= options_.max_batch, "collinear input for " << n << " maps; this model takes 1 to "
                                                                            << options_.max_batch);
  return work_->padded.view().slice(0, n);
}

void ForwardModel::compute_collinear_prepared(const TensorView& direction, const TensorView& bz) {
  check_maps(direction, "direction", 2, 3);
  const int64_t n = direction.shape[0];
  check_field(bz, n);
  const int64_t s = options_.output_stride;
  const int64_t folded = n * (P_ / s) * ((Q_ / s) / 2 + 1);
  auto run = [&](auto zero) {
    using T = decltype(zero);
    forward_plan_->forward(work_->padded.data<T>(), work_->spectrum.data<T>());
    const int64_t half = P_ * (Q_ / 2 + 1);
    backend_.run(ops::ProductCollinear<T>{{as_complex<T>(work_->spectrum), direction.as<T>(), half},
                                          kernel_planes<T>(spectra_, options_.axis.is_z()), as_complex_mut<T>(work_->folded), P_, Q_,
                                          s, false},
                 folded);
  };
  if (dtype_ == DType::F64) run(0.0); else run(0.0f);
  finish(n, bz);
}

void ForwardModel::finish(int64_t n, const TensorView& bz) {
  const int64_t s = options_.output_stride, ps = P_ / s, qs = Q_ / s;
  const double scale = options_.unit == FieldUnit::Tesla ? kMu0 * geometry_.Ms_A_per_m
                                                         : 2.0 * geometry_.standoff_m / geometry_.thickness_m;
  auto run = [&](auto zero) {
    using T = decltype(zero);
    T* coarse = work_->spectrum.data<T>();  // [n, P/s, Q/s]
    inverse_plan_->inverse(work_->folded.data<T>(), coarse);
    backend_.run(kern::CropScale<T>{coarse, bz.as<T>(), ps, qs, out_ny(), out_nx(), static_cast<T>(scale)},
                 n * out_ny() * out_nx());
  };
  if (dtype_ == DType::F64) run(0.0); else run(0.0f);
}

}  // namespace magcnn
