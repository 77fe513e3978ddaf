// The vector target (mx, my, mz per pixel) below the programs: the generator's target is the shape
// times the sample's direction; training sets store and check it as [N, 3, H, W]; the physics residual
// forwards a predicted vector map with the exact model and finds the true one consistent with its field
// and a wrong one not; the angular errors are those of rotations by known angles; a short training run
// lowers the loss and recovers directions far better than a random guess; inference returns every
// channel on the input's grid.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <functional>
#include <cmath>
#include <random>

#include "forward_helpers.h"
#include "h5_builder.h"
#include "magcnn/config.h"
#include "magcnn/dataset_io.h"
#include "magcnn/device.h"
#include "magcnn/direction_errors.h"
#include "magcnn/field_residual.h"
#include "magcnn/generator.h"
#include "magcnn/inference.h"
#include "magcnn/predictor.h"
#include "magcnn/trainer.h"
#include "random_model.h"
#include "reference.h"
#include "temp_dir.h"

namespace magcnn::test {
namespace {

// InvalidInput whose message holds `needle`.
void expect_invalid_input(const std::function<void()>& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one with '" << needle << "'";
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

std::array<double, 3> direction_of(const std::vector<double>& params, int64_t i) {
  const double theta = params[static_cast<std::size_t>(i * kStoredEllipseParams)];
  const double phi = params[static_cast<std::size_t>(i * kStoredEllipseParams + 1)];
  return {std::sin(theta) * std::cos(phi), std::sin(theta) * std::sin(phi), std::cos(theta)};
}

TEST(VectorTarget, IsTheShapeTimesTheDirection) {
  auto cpu = make_cpu_backend();
  EXPECT_EQ(parse_target_kind("vector"), TargetKind::Vector);
  EXPECT_STREQ(target_kind_name(TargetKind::Vector), "vector");
  EXPECT_EQ(target_channels(TargetKind::Vector), 3);
  EXPECT_EQ(target_channels(TargetKind::Polar), 1);
  GeneratorSettings s;
  s.count = 12;
  s.img_size = 16;
  s.seed = fresh_seed();
  SampleBatch shape, vector;
  Generator(*cpu, s).next(s.count, shape);
  s.target = TargetKind::Vector;
  Generator(*cpu, s).next(s.count, vector);
  EXPECT_EQ(vector.b, shape.b);  // the same samples
  EXPECT_EQ(vector.params, shape.params);
  const int64_t plane = s.img_size * s.img_size;
  ASSERT_EQ(vector.target.size(), static_cast<std::size_t>(3 * s.count * plane));
  int64_t film = 0;
  for (int64_t i = 0; i < s.count; ++i) {
    const std::array<double, 3> u = direction_of(vector.params, i);
    for (int64_t p = 0; p < plane; ++p) {
      const double a = shape.target[static_cast<std::size_t>(i * plane + p)];
      film += a > 0 ? 1 : 0;
      for (int c = 0; c < 3; ++c)
        ASSERT_NEAR(vector.target[static_cast<std::size_t>((3 * i + c) * plane + p)], a * u[c], 2e-7)
            << "sample " << i << " component " << c << " pixel " << p;
    }
  }
  EXPECT_GT(film, 0) << "no film in any sample: the comparison proves nothing";
}

// The network's output follows the target: three identity outputs for the vector.
TEST(VectorTarget, NetworkFitsTheTarget) {
  NetworkConfig n;
  EXPECT_NE(fit_network_to_target(n, TargetKind::Vector), "");
  EXPECT_EQ(n.out_channels, 3);
  EXPECT_EQ(n.output_activation, "identity");
  EXPECT_EQ(fit_network_to_target(n, TargetKind::Vector), "");  // once fitted, nothing more changes
  NetworkConfig seed;
  EXPECT_EQ(fit_network_to_target(seed, TargetKind::Shape), "");
  EXPECT_EQ(seed.output_activation, "relu");
  n.output_activation = "relu";
  fit_network_to_target(n, TargetKind::Polar);
  EXPECT_EQ(n.out_channels, 1);
}

using VectorSets = TempDirTest;

TEST_F(VectorSets, RoundTripAndRefusals) {
  auto cpu = make_cpu_backend();
  GeneratorSettings s;
  s.count = 6;
  s.img_size = 8;
  s.seed = fresh_seed();
  s.target = TargetKind::Vector;
  SampleBatch batch;
  Generator(*cpu, s).next(s.count, batch);
  {
    TrainingSetWriter writer(path("v.h5"), s, cpu->description());
    writer.append(batch);
    writer.commit();
  }
  const TrainingSet read = read_training_set(path("v.h5"));
  EXPECT_EQ(read.target, "vector");
  EXPECT_EQ(read.channels, 3);
  EXPECT_EQ(read.m, batch.target);
  EXPECT_EQ(read.b, batch.b);

  // A batch whose target holds one channel is not a vector batch.
  SampleBatch one = batch;
  one.target.resize(batch.b.size());
  TrainingSetWriter w2(path("w.h5"), s, "cpu");
  EXPECT_THROW(w2.append(one), InvalidInput);

  // A file that says vector but holds one plane per sample, or a |m| above 1: one clear refusal each.
  const auto build = [&](const std::string& name, const std::vector<hsize_t>& m_dims, double m_value) {
    H5Builder f(path(name));
    f.dataset("Bz", {2, 4, 4}, H5T_IEEE_F32LE, std::vector<double>(32, 0.01));
    f.attr_strings("Bz", "unit", {"normalized"}, false);
    std::size_t values = 1;
    for (hsize_t d : m_dims) values *= d;
    f.dataset("m", m_dims, H5T_IEEE_F32LE, std::vector<double>(values, m_value));
    f.attr_strings("/", "target", {"vector"}, false);
  };
  build("planes.h5", {2, 4, 4}, 0.1);
  expect_invalid_input([&] { read_training_set(path("planes.h5")); }, "[2, 3, 4, 4]");
  build("long.h5", {2, 3, 4, 4}, 0.7);  // |m| = 0.7 sqrt(3) = 1.21
  expect_invalid_input([&] { read_training_set(path("long.h5")); }, "|m| = 1.21");
  build("fine.h5", {2, 3, 4, 4}, 0.5);
  EXPECT_EQ(read_training_set(path("fine.h5")).channels, 3);
}

// A vector map that is not collinear: random directions in a rectangle, smaller |m| in another.
struct VectorMap {
  int64_t ny = 30, nx = 38;
  std::vector<double> mx, my, mz;
  explicit VectorMap(uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(-1, 1);
    const auto plane = static_cast<std::size_t>(ny * nx);
    mx.assign(plane, 0.0);
    my.assign(plane, 0.0);
    mz.assign(plane, 0.0);
    for (int64_t y = 0; y < ny; ++y)
      for (int64_t x = 0; x < nx; ++x) {
        const bool a = y >= 5 && y < 17 && x >= 4 && x < 20, b = y >= 14 && y < 26 && x >= 22 && x < 33;
        if (!a && !b) continue;
        double v[3] = {u(rng), u(rng), u(rng)};
        const double n = std::sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]) / (a ? 1.0 : 0.6);
        const auto k = static_cast<std::size_t>(y * nx + x);
        mx[k] = v[0] / n;
        my[k] = v[1] / n;
        mz[k] = v[2] / n;
      }
  }
  // [3, ny, nx] as a prediction holds it.
  std::vector<float> planes() const {
    std::vector<float> p(mx.begin(), mx.end());
    p.insert(p.end(), my.begin(), my.end());
    p.insert(p.end(), mz.begin(), mz.end());
    return p;
  }
};

TEST(VectorResidual, TheTrueMapExplainsItsFieldAndAWrongOneDoesNot) {
  auto cpu = make_cpu_backend();
  const VectorMap m(fresh_seed());
  const FilmGeometry g{5e-9, 10e-9, 1e-9, 1e5};
  for (const FieldAxis& axis : {FieldAxis{}, field_axis_from_angles(54.7356, 45)}) {
    ForwardOptions o;
    o.axis = axis;
    const std::vector<double> field = run_forward(*cpu, g, 1, m.ny, m.nx, m.mx, m.my, m.mz, o);
    const std::vector<float> measured(field.begin(), field.end());
    FieldResidual residual(*cpu, g, m.ny, m.nx, FieldUnit::Tesla, 2, axis);
    const std::vector<float> truth = m.planes();
    // Two maps in one call: the true one, and one with mx and my swapped.
    std::vector<float> two = truth;
    const std::size_t plane = truth.size() / 3;
    two.insert(two.end(), truth.begin() + plane, truth.begin() + 2 * plane);
    two.insert(two.end(), truth.begin(), truth.begin() + plane);
    two.insert(two.end(), truth.begin() + 2 * plane, truth.end());
    std::vector<float> fields = measured;
    fields.insert(fields.end(), measured.begin(), measured.end());
    ResidualReport r[2];
    residual.evaluate_vector(2, two.data(), fields.data(), r);
    EXPECT_LT(r[0].relative_l2, 1e-5) << axis.describe();
    EXPECT_FALSE(r[0].fitted);
    EXPECT_GT(r[1].relative_l2, 0.1) << axis.describe() << ": a wrong map must not explain the field";
    // The reported direction is that of the summed m.
    double s[3] = {0, 0, 0};
    for (std::size_t p = 0; p < plane; ++p) s[0] += m.mx[p], s[1] += m.my[p], s[2] += m.mz[p];
    const double norm = std::sqrt(s[0] * s[0] + s[1] * s[1] + s[2] * s[2]);
    EXPECT_NEAR(r[0].theta_rad, std::acos(s[2] / norm), 1e-6);
  }
}

// For a collinear map the vector residual is the amplitude's with the direction known.
TEST(VectorResidual, CollinearMapsAgreeWithTheAmplitudeResidual) {
  auto cpu = make_cpu_backend();
  std::mt19937_64 rng(fresh_seed());
  std::uniform_real_distribution<double> u01(0, 1);
  const double theta = std::acos(1 - 2 * u01(rng)), phi = 2 * M_PI * u01(rng);
  const std::array<double, 3> u{std::sin(theta) * std::cos(phi), std::sin(theta) * std::sin(phi), std::cos(theta)};
  const int64_t ny = 24, nx = 28;
  std::vector<float> amplitude(static_cast<std::size_t>(ny * nx)), measured(amplitude.size()), planes(3 * amplitude.size());
  for (std::size_t p = 0; p < amplitude.size(); ++p) {
    amplitude[p] = static_cast<float>(u01(rng) < 0.3 ? u01(rng) : 0.0);
    measured[p] = static_cast<float>(1e-3 * (u01(rng) - 0.5));  // any field: only the comparison matters
    for (int c = 0; c < 3; ++c) planes[c * amplitude.size() + p] = static_cast<float>(amplitude[p] * u[c]);
  }
  const FilmGeometry g{5e-9, 7e-9, 2e-9, 3e5};
  FieldResidual residual(*cpu, g, ny, nx, FieldUnit::Tesla);
  ResidualReport vector;
  residual.evaluate_vector(1, planes.data(), measured.data(), &vector);
  const ResidualReport known = residual.evaluate(amplitude.data(), measured.data(), u);
  EXPECT_NEAR(vector.relative_l2, known.relative_l2, 1e-5 * known.relative_l2);
  EXPECT_NEAR(vector.theta_rad, theta, 1e-5);
}

// Predictions rotated away from the truth by known angles.
TEST(DirectionErrors, AreTheAnglesOfKnownRotations) {
  std::mt19937_64 rng(fresh_seed());
  std::uniform_real_distribution<double> u01(0, 1);
  const int64_t n = 5, ny = 6, nx = 7, plane = ny * nx;
  std::vector<float> amplitude(static_cast<std::size_t>(n * plane), 0.0f), m(static_cast<std::size_t>(3 * n * plane), 0.0f);
  std::vector<float> theta(amplitude.size(), 0.0f);
  std::vector<double> directions;
  std::vector<double> applied;  // the angle of each film pixel's rotation, degrees
  for (int64_t i = 0; i < n; ++i) {
    // theta in (20, 160) degrees, so that a rotation in the theta direction by up to 15 degrees stays in (0, 180).
    const double th = (20 + 140 * u01(rng)) * M_PI / 180, ph = 2 * M_PI * u01(rng);
    directions.insert(directions.end(), {std::sin(th) * std::cos(ph), std::sin(th) * std::sin(ph), std::cos(th)});
    for (int64_t p = 0; p < plane; ++p) {
      if (u01(rng) < 0.4) continue;  // outside the film
      const double a = 0.5 + 0.5 * u01(rng), alpha = 15 * u01(rng);
      applied.push_back(alpha);
      amplitude[static_cast<std::size_t>(i * plane + p)] = static_cast<float>(a);
      // Rotated in the meridian plane by alpha: theta + alpha, the same phi; scaled arbitrarily.
      const double t2 = th + alpha * M_PI / 180, scale = 0.2 + u01(rng);
      const double v[3] = {std::sin(t2) * std::cos(ph), std::sin(t2) * std::sin(ph), std::cos(t2)};
      for (int c = 0; c < 3; ++c) m[static_cast<std::size_t>((3 * i + c) * plane + p)] = static_cast<float>(scale * v[c]);
      theta[static_cast<std::size_t>(i * plane + p)] = static_cast<float>(t2);
    }
  }
  const AngleSummary want = summarize_angles(applied);
  const DirectionErrors v = vector_direction_errors(m.data(), amplitude.data(), directions.data(), n, ny, nx);
  EXPECT_EQ(v.pixel.count, static_cast<int64_t>(applied.size()));
  EXPECT_NEAR(v.pixel.median_deg, want.median_deg, 1e-3);
  EXPECT_NEAR(v.pixel.p90_deg, want.p90_deg, 1e-3);
  EXPECT_NEAR(v.polar.median_deg, want.median_deg, 1e-3);  // a meridian rotation is all in theta
  EXPECT_EQ(v.shape.count, n);
  const DirectionErrors p = polar_direction_errors(theta.data(), amplitude.data(), directions.data(), n, ny, nx);
  EXPECT_NEAR(p.polar.median_deg, want.median_deg, 1e-3);
  // Only the samples asked for; a zero prediction is 90 degrees off.
  std::fill(m.begin(), m.end(), 0.0f);
  const DirectionErrors zero = vector_direction_errors(m.data(), amplitude.data(), directions.data(), n, ny, nx,
                                                       {true, false, false, false, false});
  EXPECT_DOUBLE_EQ(zero.pixel.median_deg, 90.0);
  EXPECT_EQ(zero.shape.count, 1);
  // Nearest-rank percentiles of 1..10.
  const AngleSummary ten = summarize_angles({10, 9, 8, 7, 6, 5, 4, 3, 2, 1});
  EXPECT_EQ(ten.median_deg, 5);
  EXPECT_EQ(ten.p90_deg, 9);
  EXPECT_EQ(summarize_angles({}).count, 0);
}

// A short run on the CPU: the loss falls, and the recovered directions beat a random guess (whose median
// error is 90 degrees) by far: measured 16 degrees per shape and 24 per pixel after 6 epochs (0.6 s).
TEST(VectorTraining, LossFallsAndDirectionsBeatARandomGuess) {
  auto cpu = make_cpu_backend();
  const int64_t side = 16, n_train = 300, n_val = 100, plane = side * side;
  GeneratorSettings g;
  g.img_size = side;
  g.count = n_train + n_val;
  g.seed = 21;
  g.rmax = 4;
  g.target = TargetKind::Vector;
  g.batch = g.count;
  SampleBatch b;
  Generator(*cpu, g).next(g.count, b);
  NetworkConfig network;
  network.base_channels = 16;
  fit_network_to_target(network, TargetKind::Vector);
  TrainSettings settings;
  settings.batch_size = 4;
  settings.adam.learning_rate = 2e-3;
  settings.seed = 3;
  Trainer t(*cpu, NetworkSpec::from(network), settings, side, side, n_train, n_val);
  const auto part = [&](const std::vector<float>& v, int64_t per, int64_t first, int64_t count) {
    return std::vector<float>(v.begin() + first * per, v.begin() + (first + count) * per);
  };
  t.train_inputs().upload(part(b.b, plane, 0, n_train));
  t.train_targets().upload(part(b.target, 3 * plane, 0, n_train));
  t.validation_inputs().upload(part(b.b, plane, n_train, n_val));
  t.validation_targets().upload(part(b.target, 3 * plane, n_train, n_val));
  t.initialize();
  const double before = t.validate();
  for (int e = 0; e < 6; ++e) ASSERT_TRUE(t.run_epoch(nullptr, nullptr));
  EXPECT_LT(t.history().back().validation_mse, 0.5 * before);

  // Predict the validation maps through a model file, as magcnn-infer does.
  ModelFile model;
  model.config.network = network;
  model.config.data.target = TargetKind::Vector;
  model.height = model.width = side;
  model.tensors = t.parameters().tensors();
  model.values = t.parameters().download_values();
  Predictor predictor(*cpu, model, side, side);
  std::vector<float> m(static_cast<std::size_t>(3 * n_val * plane));
  predictor.predict(part(b.b, plane, n_train, n_val).data(), n_val, m.data());
  std::vector<float> amplitude(static_cast<std::size_t>(n_val * plane));
  std::vector<double> directions;
  for (int64_t i = 0; i < n_val; ++i) {
    const std::array<double, 3> u = direction_of(b.params, n_train + i);
    directions.insert(directions.end(), u.begin(), u.end());
    for (int64_t p = 0; p < plane; ++p) {
      double a = 0;
      for (int c = 0; c < 3; ++c) a += std::pow(b.target[static_cast<std::size_t>((3 * (n_train + i) + c) * plane + p)], 2);
      amplitude[static_cast<std::size_t>(i * plane + p)] = static_cast<float>(std::sqrt(a));
    }
  }
  const DirectionErrors e = vector_direction_errors(m.data(), amplitude.data(), directions.data(), n_val, side, side);
  std::printf("[ measured ] validation MSE %.3e -> %.3e; median angle per shape %.1f deg, per pixel %.1f deg\n", before,
              t.history().back().validation_mse, e.shape.median_deg, e.pixel.median_deg);
  ASSERT_GT(e.shape.count, 50);
  // The stated margin: at most half a random guess's median error.
  EXPECT_LT(e.shape.median_deg, 45) << "a random guess is 90 degrees off (median)";
  EXPECT_LT(e.pixel.median_deg, 45);
}

// Inference on a vector model returns its three channels, each resampled onto the input's grid.
TEST(VectorInference, EveryChannelComesBackOnTheInputsGrid) {
  auto cpu = make_cpu_backend();
  NetworkConfig network;
  network.base_channels = 8;
  fit_network_to_target(network, TargetKind::Vector);
  ModelFile model = random_model_file(fresh_seed(), network);
  model.config.data.target = TargetKind::Vector;
  const int64_t side = 24;
  std::mt19937_64 rng(fresh_seed());
  std::normal_distribution<double> noise(0, 0.2);
  std::vector<float> b(static_cast<std::size_t>(side * side));
  for (float& v : b) v = static_cast<float>(noise(rng));
  // On the model's grid the prediction is the predictor's, channel by channel.
  MapGrid grid;
  grid.ny = grid.nx = side;
  grid.normalized = true;
  grid.geometry = FilmGeometry{1.0, 1.0, 0.1, 1.0};
  InferenceOptions options;
  options.residual = true;
  Inference inference(*cpu, model, grid, options);
  ASSERT_EQ(inference.channels(), 3);
  std::vector<float> got(static_cast<std::size_t>(3 * side * side)), want(got.size());
  ResidualReport report;
  inference.run(b.data(), 1, nullptr, got.data(), &report);
  Predictor predictor(*cpu, model, side, side);
  predictor.predict(b.data(), 1, want.data());
  EXPECT_EQ(got, want);
  EXPECT_GT(report.relative_l2, 0);  // random weights explain nothing in particular, but it was computed
  // A shape model of three channels is not what its target says: refused.
  model.config.data.target = TargetKind::Shape;
  EXPECT_THROW(Inference(*cpu, model, grid, options), InvalidInput);
}

}  // namespace
}  // namespace magcnn::test
