// Inference on maps in physical units: the resampler against smooth closed forms, the tiles against one
// pass over the whole map, 90-degree rotations and shifts carried through the whole pipeline, the
// physics residual against the closed-form cuboid field, and the units.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "magcnn/device.h"
#include "magcnn/field_residual.h"
#include "magcnn/inference.h"
#include "magcnn/predictor.h"
#include "magcnn/resample.h"
#include "counting_backend.h"
#include "forward_helpers.h"
#include "random_model.h"
#include "reference.h"

namespace magcnn::test {
namespace {

// A model with random weights and biases (biases too: a tile edge that wrongly acted as the map's edge
// would show through them). `symmetric`: every kernel averaged over its four 90-degree rotations, which
// makes the network itself commute with rotating a square map.
ModelFile random_model(uint64_t seed, bool symmetric, int64_t base_channels = 8) {
  NetworkConfig network;
  network.base_channels = base_channels;
  network.output_activation = "identity";  // no clipping: differences stay visible
  ModelFile m = random_model_file(seed, network);
  std::mt19937_64 rng(seed + 1);
  std::uniform_real_distribution<double> bias(-0.1, 0.1);
  for (const ParameterTensor& t : m.tensors) {
    double* v = m.values.data() + t.offset;
    if (t.shape.rank() == 1) {
      for (int64_t i = 0; i < t.count(); ++i) v[i] = bias(rng);
    } else if (symmetric) {
      const int64_t k = t.shape[3];
      for (int64_t f = 0; f < t.shape[0] * t.shape[1]; ++f) {
        double* w = v + f * k * k;
        std::vector<double> s(static_cast<std::size_t>(k * k));
        for (int64_t r = 0; r < k; ++r)
          for (int64_t c = 0; c < k; ++c)
            s[r * k + c] = 0.25 * (w[r * k + c] + w[c * k + (k - 1 - r)] + w[(k - 1 - r) * k + (k - 1 - c)] + w[(k - 1 - c) * k + r]);
        std::copy(s.begin(), s.end(), w);
      }
    }
  }
  return m;
}

// A smooth random field: a few Gaussian bumps of width `sigma` pixels.
std::vector<float> bumps(std::mt19937_64& rng, int64_t ny, int64_t nx, double sigma, int count = 6) {
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<float> f(static_cast<std::size_t>(ny * nx), 0.0f);
  for (int b = 0; b < count; ++b) {
    const double cy = u(rng) * ny, cx = u(rng) * nx, a = 2 * u(rng) - 1;
    for (int64_t y = 0; y < ny; ++y)
      for (int64_t x = 0; x < nx; ++x)
        f[y * nx + x] += static_cast<float>(a * std::exp(-((y - cy) * (y - cy) + (x - cx) * (x - cx)) / (2 * sigma * sigma)));
  }
  return f;
}

std::vector<float> rotate90(const std::vector<float>& m, int64_t n) {  // square n x n, counter-clockwise
  std::vector<float> r(m.size());
  for (int64_t y = 0; y < n; ++y)
    for (int64_t x = 0; x < n; ++x) r[(n - 1 - x) * n + y] = m[y * n + x];
  return r;
}

double max_abs(const std::vector<float>& v) {
  double m = 0;
  for (float x : v) m = std::max(m, double(std::fabs(x)));
  return m;
}

// ---------------------------------------------------------------------------------------------------
// Resampling

double gaussian(double y, double x, double cy, double cx, double s) {
  return std::exp(-((y - cy) * (y - cy) + (x - cx) * (x - cx)) / (2 * s * s));
}

// A Gaussian of width 4 output pixels, sampled on grid A (pixel a) and resampled onto grid B (pixel b)
// of the same extent: compared with the Gaussian sampled on B directly.
double resampling_error(int64_t n_in, double a, double b) {
  const int64_t n_out = resampled_size(n_in, a, b);
  const double extent = n_in * a, cy = 0.45 * extent, cx = 0.55 * extent, s = 4 * std::max(a, b);
  std::vector<float> in(static_cast<std::size_t>(n_in * n_in)), want(static_cast<std::size_t>(n_out * n_out)),
      got(want.size());
  for (int64_t y = 0; y < n_in; ++y)
    for (int64_t x = 0; x < n_in; ++x) in[y * n_in + x] = static_cast<float>(gaussian((y + 0.5) * a, (x + 0.5) * a, cy, cx, s));
  for (int64_t y = 0; y < n_out; ++y)
    for (int64_t x = 0; x < n_out; ++x) want[y * n_out + x] = static_cast<float>(gaussian((y + 0.5) * b, (x + 0.5) * b, cy, cx, s));
  Resampler r(n_in, n_in, a, n_out, n_out, b);
  r.apply(in.data(), got.data());
  return relative_l2(got, want);
}

TEST(Resample, SmoothMapsArePreserved) {
  // Finer (x2.5): cubic interpolation, third-order accurate.
  EXPECT_LT(resampling_error(40, 1.0, 0.4), 2e-3);
  // Coarser (x4, as a map sampled at d/4 onto the model's grid): the widened kernel averages, which
  // blurs a Gaussian of 4 output pixels by about 1/(12 * 16) of its variance.
  EXPECT_LT(resampling_error(160, 0.25, 1.0), 1.5e-2);
  // Slightly coarser, not a whole ratio.
  EXPECT_LT(resampling_error(90, 0.7, 1.0), 5e-3);
}

TEST(Resample, ConstantsStayConstantAndTheSameGridIsACopy) {
  std::mt19937_64 rng(fresh_seed());
  for (const auto& [n, a, b] : {std::tuple<int64_t, double, double>{37, 1.0, 0.3}, {50, 0.3, 1.0}, {7, 1.0, 3.0}, {5, 3.0, 1.0}}) {
    const int64_t m = resampled_size(n, a, b);
    Resampler r(n, n + 3, a, m, resampled_size(n + 3, a, b), b);
    std::vector<float> in(static_cast<std::size_t>(n * (n + 3)), 0.625f), out(static_cast<std::size_t>(r.ny_out() * r.nx_out()));
    r.apply(in.data(), out.data());
    for (float v : out) ASSERT_NEAR(v, 0.625f, 1e-6) << n << " " << a << " -> " << b;
  }
  const std::vector<float> in = uniform_values<float>(rng, 30 * 20);
  std::vector<float> out(in.size());
  Resampler same(30, 20, 2.5e-9, 30, 20, 2.5e-9);
  EXPECT_TRUE(same.identity());
  same.apply(in.data(), out.data());
  EXPECT_EQ(in, out);
}

// ---------------------------------------------------------------------------------------------------
// Tiles

TEST(Tiles, SpansCoverTheAxisOnceAndKeepTheirMargins) {
  std::mt19937_64 rng(fresh_seed());
  for (int trial = 0; trial < 300; ++trial) {
    const int64_t margin = 4 * std::uniform_int_distribution<int64_t>(0, 4)(rng);
    const int64_t tile = 2 * margin + 4 * std::uniform_int_distribution<int64_t>(1, 10)(rng);
    const int64_t n = 4 * std::uniform_int_distribution<int64_t>(1, 80)(rng);
    const std::vector<TileSpan> spans = tile_axis(n, tile, margin);
    int64_t next = 0;
    for (std::size_t k = 0; k < spans.size(); ++k) {
      const TileSpan& s = spans[k];
      ASSERT_EQ(s.origin % 4, 0);
      ASSERT_EQ(s.keep_begin, next);
      ASSERT_LT(s.keep_begin, s.keep_end);
      ASSERT_GE(s.origin, 0);
      ASSERT_LE(s.origin + std::min(tile, n), n);
      // Kept pixels are a margin away from every cut edge (the map's own edges are not cuts).
      if (k > 0) {
        ASSERT_GE(s.keep_begin, s.origin + margin);
      }
      if (k + 1 < spans.size()) {
        ASSERT_LE(s.keep_end, s.origin + tile - margin);
      }
      next = s.keep_end;
    }
    ASSERT_EQ(next, n);
  }
  EXPECT_THROW(tile_axis(100, 20, 12), InvalidInput);  // 20 < 2 * 12 + 4
}

TEST(Tiles, TiledInferenceEqualsOnePass) {
  auto cpu = make_cpu_backend();
  const uint64_t seed = fresh_seed();
  std::mt19937_64 rng(seed);
  const ModelFile model = random_model(seed, false);
  const int64_t ny = 101, nx = 78;  // not multiples of 4: the padding is tiled too
  const std::vector<float> b = bumps(rng, ny, nx, 3.0, 12);
  std::vector<float> whole(b.size()), tiled(b.size());
  Predictor one(*cpu, model, ny, nx);
  EXPECT_EQ(one.tiles_per_map(), 1);
  one.predict(b.data(), 1, whole.data());
  for (const int64_t tile : {28, 40, 64}) {
    PredictorOptions o;
    o.tile = tile;
    Predictor many(*cpu, model, ny, nx, o);
    EXPECT_GT(many.tiles_per_map(), 1) << tile;
    many.predict(b.data(), 1, tiled.data());
    double worst = 0;
    for (std::size_t i = 0; i < b.size(); ++i) worst = std::max(worst, double(std::fabs(tiled[i] - whole[i])));
    EXPECT_LT(worst, 1e-5 * max_abs(whole)) << "tile " << tile << ": " << many.describe();
  }
  // Several maps per pass, of more tiles than a pass holds, give the same maps.
  PredictorOptions o;
  o.tile = 40;
  o.max_batch = 5;
  Predictor batched(*cpu, model, ny, nx, o);
  std::vector<float> two(2 * b.size()), both(2 * b.size());
  std::copy(b.begin(), b.end(), two.begin());
  const std::vector<float> other = bumps(rng, ny, nx, 2.0, 5);
  std::copy(other.begin(), other.end(), two.begin() + static_cast<std::ptrdiff_t>(b.size()));
  batched.predict(two.data(), 2, both.data());
  std::vector<float> first(both.begin(), both.begin() + static_cast<std::ptrdiff_t>(b.size()));
  EXPECT_LT(relative_l2(first, whole), 1e-6);
}

// ---------------------------------------------------------------------------------------------------
// The whole pipeline: rotations and shifts

MapGrid grid_of(int64_t n, double pixel_m, double standoff_m) {
  MapGrid g;
  g.ny = g.nx = n;
  g.geometry = FilmGeometry{pixel_m, standoff_m, 1e-9, 1e5};
  return g;
}

TEST(Pipeline, A90DegreeRotationRotatesThePrediction) {
  auto cpu = make_cpu_backend();
  const uint64_t seed = fresh_seed();
  std::mt19937_64 rng(seed);
  const ModelFile model = random_model(seed, true);
  // 128 pixels of d/2 onto 64 model pixels: the grids' extents agree, so resampling commutes with the
  // rotation too. Tiled (tile 40): the tiles' layout is not symmetric, which the result must not show.
  const MapGrid grid = grid_of(128, 5e-9, 10e-9);
  InferenceOptions o;
  o.predictor.tile = 40;
  o.residual = false;
  Inference inference(*cpu, model, grid, o);
  ASSERT_EQ(inference.model_ny(), 64);
  std::vector<float> field = bumps(rng, 128, 128, 8.0, 8);
  for (float& v : field) v *= 1e-3f;  // tesla
  std::vector<float> for_field(field.size()), for_rotated(field.size());
  inference.run(field.data(), 1, nullptr, for_field.data(), nullptr);
  const std::vector<float> rotated = rotate90(field, 128);
  inference.run(rotated.data(), 1, nullptr, for_rotated.data(), nullptr);
  EXPECT_LT(relative_l2(for_rotated, rotate90(for_field, 128)), 1e-5);
}

TEST(Pipeline, AShiftShiftsThePrediction) {
  auto cpu = make_cpu_backend();
  const uint64_t seed = fresh_seed();
  std::mt19937_64 rng(seed);
  const ModelFile model = random_model(seed, false);
  const int64_t n = 96;
  const MapGrid grid = grid_of(n, 10e-9, 10e-9);  // on the model's grid
  InferenceOptions o;
  o.residual = false;
  Inference inference(*cpu, model, grid, o);
  // A feature in the middle, and the same feature 4 pixels (one quarter-resolution pixel) down and right.
  std::vector<float> a(static_cast<std::size_t>(n * n), 0.0f), b(a.size(), 0.0f);
  const std::vector<float> patch = bumps(rng, 24, 24, 3.0, 4);
  for (int64_t y = 0; y < 24; ++y)
    for (int64_t x = 0; x < 24; ++x) {
      a[(36 + y) * n + 36 + x] = 1e-3f * patch[y * 24 + x];
      b[(40 + y) * n + 40 + x] = 1e-3f * patch[y * 24 + x];
    }
  std::vector<float> pa(a.size()), pb(a.size());
  inference.run(a.data(), 1, nullptr, pa.data(), nullptr);
  inference.run(b.data(), 1, nullptr, pb.data(), nullptr);
  // Away from the map's edges (the receptive radius and the shift), the output moved with the input.
  const int64_t r = receptive_radius(NetworkSpec::from(model.config.network)) + 4;
  double worst = 0, scale = 0;
  for (int64_t y = r; y < n - r; ++y)
    for (int64_t x = r; x < n - r; ++x) {
      worst = std::max(worst, double(std::fabs(pb[(y + 4) * n + x + 4] - pa[y * n + x])));
      scale = std::max(scale, double(std::fabs(pa[y * n + x])));
    }
  EXPECT_LT(worst, 1e-5 * scale);
  // A shift by one pixel is not a symmetry of the pooling: the output changes by more than rounding.
  std::vector<float> c(a.size(), 0.0f), pc(a.size());
  for (int64_t y = 0; y < 24; ++y)
    for (int64_t x = 0; x < 24; ++x) c[(37 + y) * n + 37 + x] = 1e-3f * patch[y * 24 + x];
  inference.run(c.data(), 1, nullptr, pc.data(), nullptr);
  double moved = 0;
  for (int64_t y = r; y < n - r; ++y)
    for (int64_t x = r; x < n - r; ++x) moved = std::max(moved, double(std::fabs(pc[(y + 1) * n + x + 1] - pa[y * n + x])));
  EXPECT_GT(moved, 1e-4 * scale);
}

TEST(Pipeline, UnitsAndScaleInvarianceGiveTheSameNormalizedField) {
  auto cpu = make_cpu_backend();
  const uint64_t seed = fresh_seed();
  std::mt19937_64 rng(seed);
  const ModelFile model = random_model(seed, false);
  std::vector<float> tesla = bumps(rng, 48, 48, 4.0);
  for (float& v : tesla) v *= 2e-3f;
  std::vector<float> gauss(tesla.size());
  for (std::size_t i = 0; i < tesla.size(); ++i) gauss[i] = tesla[i] * 1e4f;
  InferenceOptions o;
  o.residual = false;
  MapGrid g = grid_of(48, 10e-9, 10e-9);
  Inference in_tesla(*cpu, model, g, o);
  std::vector<float> p_t(tesla.size()), p_g(tesla.size()), p_s(tesla.size());
  in_tesla.run(tesla.data(), 1, nullptr, p_t.data(), nullptr);
  // b = Bz 2 d / (mu0 Ms t), by hand.
  const double to_b = 2 * 10e-9 / (kMu0 * 1e5 * 1e-9);
  std::vector<float> want(tesla.size());
  for (std::size_t i = 0; i < tesla.size(); ++i) want[i] = static_cast<float>(tesla[i] * to_b);
  EXPECT_LT(relative_l2(in_tesla.last_normalized(), want), 1e-6);
  g.tesla_per_unit = 1e-4;
  Inference in_gauss(*cpu, model, g, o);
  in_gauss.run(gauss.data(), 1, nullptr, p_g.data(), nullptr);
  EXPECT_LT(relative_l2(p_g, p_t), 1e-6);
  // Every length doubled and the thickness with it: the same map in units of d.
  MapGrid big = grid_of(48, 20e-9, 20e-9);
  big.geometry.thickness_m = 2e-9;
  Inference in_big(*cpu, model, big, o);
  in_big.run(tesla.data(), 1, nullptr, p_s.data(), nullptr);
  EXPECT_LT(relative_l2(p_s, p_t), 1e-6);
}

TEST(Pipeline, BatchesAllocateAndPlanNothing) {
  CountingBackend backend(make_cpu_backend());
  const uint64_t seed = fresh_seed();
  std::mt19937_64 rng(seed);
  const ModelFile model = random_model(seed, false);
  ModelFile shape_model = model;
  MapGrid grid = grid_of(40, 5e-9, 10e-9);
  InferenceOptions o;
  o.predictor.max_batch = 3;
  Inference inference(backend, shape_model, grid, o);
  ASSERT_TRUE(inference.computes_residual());
  const int allocations = backend.allocations, host = backend.host_allocations, plans = backend.plans;
  std::vector<float> field(static_cast<std::size_t>(7 * 40 * 40)), out(field.size());
  for (int i = 0; i < 7; ++i) {
    std::vector<float> one = bumps(rng, 40, 40, 4.0);
    for (float& v : one) v *= 1e-3f;
    std::copy(one.begin(), one.end(), field.begin() + i * 1600);
  }
  std::vector<ResidualReport> reports(7);
  for (const int64_t count : {7, 1, 5}) inference.run(field.data(), count, nullptr, out.data(), reports.data());
  EXPECT_EQ(backend.allocations, allocations);
  EXPECT_EQ(backend.host_allocations, host);
  EXPECT_EQ(backend.plans, plans);
  // The pipelined groups give what one map at a time gives.
  std::vector<float> single(1600);
  ResidualReport r;
  inference.run(field.data() + 4 * 1600, 1, nullptr, single.data(), &r);
  inference.run(field.data(), 7, nullptr, out.data(), reports.data());
  EXPECT_EQ(std::vector<float>(out.begin() + 4 * 1600, out.begin() + 5 * 1600), single);
  EXPECT_DOUBLE_EQ(reports[4].relative_l2, r.relative_l2);
}

TEST(Pipeline, RefusesMapsSmallerThanTheNetworkTakes) {
  auto cpu = make_cpu_backend();
  const ModelFile model = random_model(1, false);
  EXPECT_THROW(Inference(*cpu, model, grid_of(12, 2e-9, 10e-9), InferenceOptions{}), InvalidInput);  // 2.4 d
}

// ---------------------------------------------------------------------------------------------------
// The physics residual

// Bz (tesla) at the pixel centres of an ny x nx map of pixel h from a rectangle of cells [r0, r1) x
// [c0, c1) uniformly magnetized along u: the closed-form cuboid (tests/reference.h), not magcnn's kernels.
std::vector<float> rectangle_field(int64_t ny, int64_t nx, int64_t r0, int64_t r1, int64_t c0, int64_t c1,
                                   const std::array<double, 3>& u, const FilmGeometry& g) {
  std::vector<float> bz(static_cast<std::size_t>(ny * nx));
  const long double h = g.pixel_size_m, d = g.standoff_m / h, t = g.thickness_m / h;
  for (int64_t y = 0; y < ny; ++y)
    for (int64_t x = 0; x < nx; ++x) {
      const Field3 k = cuboid_field(c0, c1, r0, r1, x + 0.5L, y + 0.5L, d, t);
      bz[y * nx + x] = static_cast<float>(kMu0 * g.Ms_A_per_m * (k.kx * u[0] + k.ky * u[1] + k.kz * u[2]));
    }
  return bz;
}

// A direction uniform on the sphere.
std::array<double, 3> random_unit_vector(std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u01(0, 1);
  const double theta = std::acos(1 - 2 * u01(rng)), phi = 2 * M_PI * u01(rng);
  return {std::sin(theta) * std::cos(phi), std::sin(theta) * std::sin(phi), std::cos(theta)};
}

TEST(Residual, NearZeroForTheTrueMagnetization) {
  auto cpu = make_cpu_backend();
  std::mt19937_64 rng(fresh_seed());
  const std::array<double, 3> u = random_unit_vector(rng);
  const int64_t ny = 40, nx = 52;
  const FilmGeometry g{5e-9, 10e-9, 1e-9, 1e5};
  const std::vector<float> measured = rectangle_field(ny, nx, 12, 25, 15, 40, u, g);
  std::vector<float> amplitude(measured.size(), 0.0f);
  for (int64_t y = 12; y < 25; ++y)
    for (int64_t x = 15; x < 40; ++x) amplitude[y * nx + x] = 1.0f;
  FieldResidual residual(*cpu, g, ny, nx, FieldUnit::Tesla);

  const ResidualReport known = residual.evaluate(amplitude.data(), measured.data(), u);
  EXPECT_LT(known.relative_l2, 1e-5);
  EXPECT_FALSE(known.fitted);

  const ResidualReport fitted = residual.evaluate(amplitude.data(), measured.data(), std::nullopt);
  EXPECT_TRUE(fitted.fitted);
  EXPECT_LT(fitted.relative_l2, 1e-5);
  EXPECT_NEAR(fitted.scale, 1.0, 1e-5);
  const std::array<double, 3> got{std::sin(fitted.theta_rad) * std::cos(fitted.phi_rad),
                                  std::sin(fitted.theta_rad) * std::sin(fitted.phi_rad), std::cos(fitted.theta_rad)};
  EXPECT_GT(got[0] * u[0] + got[1] * u[1] + got[2] * u[2], 1 - 1e-8);

  // Half the amplitude: the fitted direction holds, the scale asks for twice as much, and the residual
  // of the prediction as it is says it explains half the field.
  for (float& a : amplitude) a *= 0.5f;
  const ResidualReport half = residual.evaluate(amplitude.data(), measured.data(), std::nullopt);
  EXPECT_NEAR(half.scale, 2.0, 1e-4);
  EXPECT_NEAR(half.relative_l2, 0.5, 1e-4);
  // Nothing predicted explains nothing.
  std::fill(amplitude.begin(), amplitude.end(), 0.0f);
  const ResidualReport empty = residual.evaluate(amplitude.data(), measured.data(), std::nullopt);
  EXPECT_TRUE(empty.empty);
  EXPECT_DOUBLE_EQ(empty.relative_l2, 1.0);
}

// Along an NV axis: the residual's forward model computes B . u, and the fitted direction is found from
// B . u maps as from Bz maps (both are linear in m).
TEST(Residual, AlongAnNvAxisNearZeroForTheTrueMagnetization) {
  auto cpu = make_cpu_backend();
  std::mt19937_64 rng(fresh_seed());
  const std::array<double, 3> m = random_unit_vector(rng);
  const FieldAxis axis = field_axis_from_angles(54.7356, 45);
  const int64_t ny = 40, nx = 52;
  const FilmGeometry g{5e-9, 10e-9, 1e-9, 1e5};
  std::vector<double> amplitude(static_cast<std::size_t>(ny * nx), 0.0), mx, my, mz;
  for (int64_t y = 12; y < 25; ++y)
    for (int64_t x = 15; x < 40; ++x) amplitude[y * nx + x] = 1.0;
  for (double a : amplitude) {
    mx.push_back(a * m[0]);
    my.push_back(a * m[1]);
    mz.push_back(a * m[2]);
  }
  ForwardOptions o;
  o.axis = axis;
  const std::vector<double> field = run_forward(*cpu, g, 1, ny, nx, mx, my, mz, o);
  const std::vector<float> measured(field.begin(), field.end()), prediction(amplitude.begin(), amplitude.end());
  FieldResidual residual(*cpu, g, ny, nx, FieldUnit::Tesla, 1, axis);
  EXPECT_LT(residual.evaluate(prediction.data(), measured.data(), m).relative_l2, 1e-5);
  const ResidualReport fitted = residual.evaluate(prediction.data(), measured.data(), std::nullopt);
  EXPECT_LT(fitted.relative_l2, 1e-5);
  EXPECT_NEAR(fitted.scale, 1.0, 1e-5);
  // The same maps read as Bz are not explained by the same magnetization.
  FieldResidual as_bz(*cpu, g, ny, nx, FieldUnit::Tesla);
  EXPECT_GT(as_bz.evaluate(prediction.data(), measured.data(), m).relative_l2, 0.1);
}

// A model records the field component it was trained on; maps of another are refused.
TEST(Pipeline, RefusesMapsOfAnotherFieldComponent) {
  auto cpu = make_cpu_backend();
  ModelFile model = random_model(1, false);
  model.config.data.field_axis = "54.7356,45";
  MapGrid grid = grid_of(40, 5e-9, 10e-9);
  grid.axis = FieldAxis{};
  EXPECT_THROW(Inference(*cpu, model, grid, InferenceOptions{}), InvalidInput);
  grid.axis = field_axis_from_angles(54.7356, 45);
  EXPECT_NO_THROW(Inference(*cpu, model, grid, InferenceOptions{}));
  grid.axis.reset();  // NumPy, PNG: the file does not say
  EXPECT_NO_THROW(Inference(*cpu, model, grid, InferenceOptions{}));
}

TEST(Residual, PolarPredictionsOfTheTrueAngleExplainTheField) {
  auto cpu = make_cpu_backend();
  std::mt19937_64 rng(fresh_seed());
  std::uniform_real_distribution<double> u01(0, 1);
  // theta away from 0, where a polar target cannot tell the film from its surroundings.
  const double theta = 0.3 + 2.5 * u01(rng), phi = 2 * M_PI * u01(rng);
  const std::array<double, 3> u{std::sin(theta) * std::cos(phi), std::sin(theta) * std::sin(phi), std::cos(theta)};
  const int64_t ny = 36, nx = 44;
  const FilmGeometry g{5e-9, 10e-9, 1e-9, 1e5};
  const std::vector<float> measured = rectangle_field(ny, nx, 8, 27, 10, 30, u, g);
  std::vector<float> angle(measured.size(), 0.0f);
  for (int64_t y = 8; y < 27; ++y)
    for (int64_t x = 10; x < 30; ++x) angle[y * nx + x] = static_cast<float>(theta);
  FieldResidual residual(*cpu, g, ny, nx, FieldUnit::Tesla, 2);
  ResidualReport r[2];
  const std::optional<double> phis[2] = {phi, std::nullopt};
  std::vector<float> two(2 * angle.size()), fields(2 * angle.size());
  for (int k = 0; k < 2; ++k) {
    std::copy(angle.begin(), angle.end(), two.begin() + k * angle.size());
    std::copy(measured.begin(), measured.end(), fields.begin() + k * angle.size());
  }
  residual.evaluate_polar(2, two.data(), fields.data(), phis, r);
  EXPECT_FALSE(r[0].fitted);
  EXPECT_LT(r[0].relative_l2, 1e-5);
  EXPECT_NEAR(r[0].theta_rad, theta, 1e-6);
  EXPECT_TRUE(r[1].fitted);
  EXPECT_LT(r[1].relative_l2, 1e-5);
  EXPECT_NEAR(std::cos(r[1].phi_rad - phi), 1.0, 1e-8);
  EXPECT_NEAR(r[1].scale, 1.0, 1e-5);
  // The wrong angle does not explain the field.
  for (float& a : two) a = a > 0 ? static_cast<float>(theta > 1.6 ? theta - 1.0 : theta + 1.0) : 0.0f;
  residual.evaluate_polar(2, two.data(), fields.data(), phis, r);
  EXPECT_GT(r[0].relative_l2, 0.1);
}

}  // namespace
}  // namespace magcnn::test
