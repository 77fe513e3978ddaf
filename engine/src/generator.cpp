// The training-data generator above the backend interface: uniforms -> ellipse parameters -> fine shape ->
// exact collinear field sampled on the network grid -> targets, batch by batch, with buffers sized once.
#include "magcnn/generator.h"

#include <algorithm>
#include <cmath>

namespace magcnn {

TargetKind parse_target_kind(const std::string& text) {
  if (text == "shape") return TargetKind::Shape;
  if (text == "polar") return TargetKind::Polar;
  if (text == "vector") return TargetKind::Vector;
  throw InvalidInput("unknown target '" + text + "': use shape, polar or vector");
}

const char* target_kind_name(TargetKind t) {
  switch (t) {
    case TargetKind::Shape: return "shape";
    case TargetKind::Polar: return "polar";
    case TargetKind::Vector: return "vector";
  }
  return "?";
}

int64_t target_channels(TargetKind t) { return t == TargetKind::Vector ? 3 : 1; }

void GeneratorSettings::validate() const {
  using L = GeneratorLimits;
  MAGCNN_REQUIRE(count >= 1 && count <= L::kMaxCount, "count must be in 1.." << L::kMaxCount << ", got " << count);
  MAGCNN_REQUIRE(img_size >= L::kMinImgSize && img_size <= L::kMaxImgSize,
                 "img_size must be in " << L::kMinImgSize << ".." << L::kMaxImgSize << ", got " << img_size);
  MAGCNN_REQUIRE(finer_grid >= 1 && finer_grid <= L::kMaxFinerGrid,
                 "finer_grid must be in 1.." << L::kMaxFinerGrid << ", got " << finer_grid);
  MAGCNN_REQUIRE(std::isfinite(rmax) && rmax >= L::kMinRmax && rmax <= L::kMaxRmax,
                 "rmax must be in " << L::kMinRmax << ".." << L::kMaxRmax << " standoffs, got " << rmax);
  MAGCNN_REQUIRE(std::isfinite(thickness_over_standoff) && thickness_over_standoff >= L::kMinThicknessOverStandoff &&
                     thickness_over_standoff <= L::kMaxThicknessOverStandoff,
                 "thickness_over_standoff must be in " << L::kMinThicknessOverStandoff << ".."
                                                       << L::kMaxThicknessOverStandoff << ", got " << thickness_over_standoff);
  MAGCNN_REQUIRE(batch >= 0 && batch <= L::kMaxBatch,
                 "batch must be 0 (automatic) or up to " << L::kMaxBatch << ", got " << batch);
  parse_field_axis(field_axis);  // throws, saying what an axis is
  noise.validate();
}

struct Generator::Buffers {
  Tensor uniforms;   // [B, 7] f64
  Tensor params;     // [B, 9] f64
  Tensor direction;  // [B, 3]
  Tensor b;          // [B, n, n] normalized field
  Tensor shape;      // [B, n, n]
  Tensor polar;      // [B, n, n]
  Tensor vector;     // [B, 3, n, n], for the vector target only
  HostBuffer host_stage;  // b [B, n, n] and target [B, C, n, n] of the real type, then params [B, 9] double
};

namespace {

int64_t default_batch(const Backend& backend, int64_t fine) {
  // Enough maps per call to keep the device busy while the workspace stays near 64 MB (CPU) / 1 GB (GPU).
  const int64_t padded_bytes = (2 * fine) * (2 * fine) * 8 * 2;
  const int64_t budget = backend.kind() == DeviceKind::CPU ? (int64_t{64} << 20) : (int64_t{1} << 30);
  return std::max<int64_t>(1, budget / padded_bytes);
}

template <class T>
void to_float(const T* in, std::size_t count, std::vector<float>& out) {
  out.resize(count);
  float* o = out.data();
  const int64_t n = static_cast<int64_t>(count);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) o[i] = static_cast<float>(in[i]);
}

}  // namespace

Generator::Generator(Backend& backend, const GeneratorSettings& settings)
    : backend_(backend), settings_(settings) {
  settings.validate();
  const int64_t fine = settings.img_size * settings.finer_grid, o = settings.img_size;
  capacity_ = std::min(settings.count, settings.batch > 0 ? settings.batch : default_batch(backend, fine));
  const DType real = backend.preferred_real();

  // Lengths in units of the standoff d: one network pixel is d, a fine pixel d / finer_grid.
  FilmGeometry geometry;
  geometry.pixel_size_m = 1.0 / static_cast<double>(settings.finer_grid);
  geometry.standoff_m = 1.0;
  geometry.thickness_m = settings.thickness_over_standoff;
  geometry.Ms_A_per_m = 1.0;
  ForwardOptions options;
  options.method = settings.method;
  options.unit = FieldUnit::Normalized;
  options.max_batch = capacity_;
  options.output_stride = settings.finer_grid;
  options.axis = parse_field_axis(settings.field_axis);
  forward_ = std::make_unique<ForwardModel>(backend, geometry, fine, fine, options);
  if (settings.noise.any())
    noise_ = std::make_unique<FieldNoise>(backend, settings.noise, capacity_, settings.img_size, settings.img_size, real,
                                          settings.thickness_over_standoff);

  uniforms_ = backend.uniform_stream(settings.seed);
  buf_ = std::make_unique<Buffers>();
  const int64_t B = capacity_;
  buf_->uniforms = Tensor(backend, DType::F64, Shape{B, kern::kUniformsPerSample});
  buf_->params = Tensor(backend, DType::F64, Shape{B, kern::kEllipseParamCount});
  buf_->direction = Tensor(backend, real, Shape{B, 3});
  buf_->b = Tensor(backend, real, Shape{B, o, o});
  buf_->shape = Tensor(backend, real, Shape{B, o, o});
  buf_->polar = Tensor(backend, real, Shape{B, o, o});
  const int64_t channels = target_channels(settings.target);
  if (channels == 3) buf_->vector = Tensor(backend, real, Shape{B, 3, o, o});
  buf_->host_stage = HostBuffer(backend, static_cast<std::size_t>((1 + channels) * B * o * o) * dtype_size(real) +
                                             static_cast<std::size_t>(B * kern::kEllipseParamCount) * sizeof(double));
}

Generator::~Generator() = default;

void Generator::restart(uint64_t seed) {
  settings_.seed = seed;
  uniforms_ = backend_.uniform_stream(seed);
  drawn_ = 0;
}

void Generator::skip(int64_t n) {
  MAGCNN_REQUIRE(n >= 0, "a generator skips 0 samples or more, asked for " << n);
  // cuRAND's own offset does not follow the order its uniform doubles come in across calls (see
  // kernels/philox.h), so the skipped uniforms are drawn, into the batch's buffer, and dropped.
  for (int64_t done = 0; done < n;) {
    const int64_t m = std::min(capacity_, n - done);
    uniforms_->generate(buf_->uniforms.data<double>(), m * kern::kUniformsPerSample);
    done += m;
  }
  drawn_ += n;
}

DeviceSamples Generator::next_on_device(int64_t n) {
  MAGCNN_REQUIRE(n >= 1 && n <= capacity_, "a generator batch holds 1 to " << capacity_ << " samples, asked for " << n);
  const int64_t f = settings_.img_size * settings_.finer_grid, o = settings_.img_size, s = settings_.finer_grid;
  const double h = 1.0 / static_cast<double>(s);
  const double lo = -0.5 * static_cast<double>(f - 1) * h, hi = -lo;
  Buffers& b = *buf_;
  uniforms_->generate(b.uniforms.data<double>(), n * kern::kUniformsPerSample);
  auto run = [&](auto zero) {
    using T = decltype(zero);
    backend_.run(kern::EllipseFromUniforms<T>{b.uniforms.data<double>(), b.params.data<double>(), b.direction.data<T>(),
                                              settings_.rmax, lo, hi},
                 n);
    // The shapes are drawn straight into the forward model's zero-padded input: no copy.
    const TensorView fine = forward_->collinear_input(n);
    const int64_t row = fine.shape[2], map = fine.shape[1] * fine.shape[2];
    backend_.run(kern::RasterizeEllipse<T>{b.params.data<double>(), fine.as<T>(), f, row, map, lo, h}, n * f * f);
    forward_->compute_collinear_prepared(b.direction.view().slice(0, n), b.b.view().slice(0, n));
    backend_.run(kern::SampleTarget<T>{fine.as<T>(), b.params.data<double>(), b.shape.data<T>(), b.polar.data<T>(),
                                       row, map, o, s},
                 n * o * o);
    if (settings_.target == TargetKind::Vector)
      backend_.run(kern::SampleVectorTarget<T>{b.shape.data<T>(), b.direction.data<T>(), b.vector.data<T>(), o * o}, n * 3 * o * o);
  };
  if (backend_.preferred_real() == DType::F64) run(0.0); else run(0.0f);
  if (noise_) noise_->apply(b.b.view().slice(0, n), b.b.view().slice(0, n), drawn_, settings_.seed, 0);
  drawn_ += n;
  const Tensor& target = settings_.target == TargetKind::Shape ? b.shape : settings_.target == TargetKind::Polar ? b.polar : b.vector;
  return DeviceSamples{n, b.b.view().slice(0, n), target.view().slice(0, n), b.params.view().slice(0, n)};
}

void Generator::next(int64_t n, SampleBatch& out) {
  const DeviceSamples d = next_on_device(n);
  // Three queued copies into one page-locked buffer and a single wait, then conversion on all cores.
  const std::size_t maps = static_cast<std::size_t>(n * settings_.img_size * settings_.img_size);
  const std::size_t targets = maps * static_cast<std::size_t>(target_channels(settings_.target));
  const std::size_t map_bytes = maps * dtype_size(d.b.dtype), target_bytes = targets * dtype_size(d.b.dtype);
  auto* stage = static_cast<unsigned char*>(buf_->host_stage.data());
  backend_.download_async(stage, d.b.data, map_bytes);
  backend_.download_async(stage + map_bytes, d.target.data, target_bytes);
  backend_.download_async(stage + map_bytes + target_bytes, d.params.data, d.params.bytes());
  backend_.synchronize();
  if (d.b.dtype == DType::F64) {
    to_float(reinterpret_cast<const double*>(stage), maps, out.b);
    to_float(reinterpret_cast<const double*>(stage + map_bytes), targets, out.target);
  } else {
    to_float(reinterpret_cast<const float*>(stage), maps, out.b);
    to_float(reinterpret_cast<const float*>(stage + map_bytes), targets, out.target);
  }
  const auto* params = reinterpret_cast<const double*>(stage + map_bytes + target_bytes);
  out.count = n;
  out.params.resize(static_cast<std::size_t>(n * kStoredEllipseParams));
  for (int64_t i = 0; i < n; ++i)
    for (int j = 0; j < kStoredEllipseParams; ++j)
      out.params[static_cast<std::size_t>(i * kStoredEllipseParams + j)] =
          params[static_cast<std::size_t>(i * kern::kEllipseParamCount + j)];
}

}  // namespace magcnn
