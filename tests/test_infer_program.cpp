// magcnn-infer as a user runs it, on one small model trained once for the suite: training sets, field maps
// in tesla or gauss (HDF5), NumPy and PNG inputs give the same predictions for the same field; the
// prediction does not depend on the unit or the length scale, only on the geometry's ratios; the output
// file carries the prediction, the physics residual, the MSE against a truth and the geometry; figures
// appear beside --out; bad input ends with one line, exit code 1 and no output left behind.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <set>
#include <sstream>

#include "h5_builder.h"
#include "h5file.h"
#include "magcnn/array_formats.h"
#include "magcnn/dataset_io.h"
#include "magcnn/forward_model.h"
#include "program_runner.h"
#include "temp_dir.h"

namespace magcnn::test {
namespace {

namespace fs = std::filesystem;

const std::string kTrain = program_path("MAGCNN_TRAIN", MAGCNN_TRAIN_BUILT);
const std::string kInfer = program_path("MAGCNN_INFER", MAGCNN_INFER_BUILT);
const std::string kGenerate = program_path("MAGCNN_GENERATE", MAGCNN_GENERATE_BUILT);

// Trains in well under a second on 2 cores; its predictions are poor but not zero, which is all that
// comparisons between runs need.
constexpr const char* kSmall = R"([data]
count = 60
img_size = 16
seed = 3
[network]
base_channels = 8
[training]
epochs = 2
batch_size = 8
learning_rate = 0.003
validation_fraction = 0.25
validation_batch = 10
target_loss = 0.0
)";

// The SI geometry of a map; the field depends on the lengths only through their ratios.
struct Geometry {
  double h = 50e-9, d = 100e-9, t = 10e-9, Ms = 4.8e5;
  Geometry scaled(double s) const { return Geometry{h * s, d * s, t * s, Ms}; }
  std::string flags() const {
    std::ostringstream o;
    o << std::setprecision(17) << "--pixel-size " << h << " --standoff " << d << " --thickness " << t << " --Ms " << Ms;
    return o.str();
  }
};

// A smooth field in tesla: a positive and a negative bump, not symmetric under any flip or transpose.
// `peak` 1.5e-2 T gives a normalized b of about 0.5 on the default geometry, as in the training data.
std::vector<double> bumps(int64_t H, int64_t W, double peak = 1.5e-2) {
  std::vector<double> v(static_cast<std::size_t>(H * W));
  for (int64_t y = 0; y < H; ++y)
    for (int64_t x = 0; x < W; ++x) {
      const double a = (x - 0.49 * W) * (x - 0.49 * W) + (y - 0.45 * H) * (y - 0.45 * H);
      const double b = (x - 0.3 * W) * (x - 0.3 * W) + (y - 0.62 * H) * (y - 0.62 * H);
      v[static_cast<std::size_t>(y * W + x)] =
          peak * (std::exp(-a / (2 * 0.0225 * H * W)) - 0.4 * std::exp(-b / (2 * 0.01 * H * W)));
    }
  return v;
}

std::vector<double> times(std::vector<double> v, double s) {
  for (double& x : v) x *= s;
  return v;
}

// Bz (float32) with its unit on the dataset and the geometry on the root (or on Bz).
void write_maps(const std::string& p, const std::vector<hsize_t>& dims, const std::vector<double>& bz, const std::string& unit,
                const Geometry& g, bool on_root = true) {
  H5Builder b(p);
  b.dataset("Bz", dims, H5T_IEEE_F32LE, bz);
  b.attr_strings(on_root ? "Bz" : "/", "unit", {unit}, false);
  const std::string where = on_root ? "/" : "Bz";
  b.attr(where, "pixel_size_m", {g.h});
  b.attr(where, "standoff_m", {g.d});
  b.attr(where, "thickness_m", {g.t});
  b.attr(where, "Ms_A_per_m", {g.Ms});
}

// An output file's dataset and shape.
struct Output {
  std::vector<int64_t> dims;
  std::vector<float> values;
};
Output read_output(const std::string& p, const std::string& name = "m") {
  const h5::File f = h5::File::open(p);
  return Output{f.dims(name), f.read<float>(name)};
}

float largest(const std::vector<float>& v) {
  float m = 0;
  for (float x : v) m = std::max(m, std::fabs(x));
  return m;
}

// Equal to `rel` times the largest value of `want`, which must not be zero (two empty predictions would
// compare equal whatever the program did).
void expect_close(const std::vector<float>& got, const std::vector<float>& want, double rel, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  const double scale = largest(want);
  ASSERT_GT(scale, 0) << what << ": the prediction is zero everywhere";
  double worst = 0;
  std::size_t at = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double e = std::fabs(double(got[i]) - double(want[i]));
    if (e > worst) worst = e, at = i;
  }
  EXPECT_LE(worst, rel * scale) << what << ": differs by " << worst << " at " << at << " (largest value " << scale << ")";
}

bool is_png(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  char head[8] = {};
  in.read(head, 8);
  return in.gcount() == 8 && std::string(head, 8) == std::string("\x89PNG\r\n\x1a\n", 8);
}

class InferProgram : public TempDirTest {
 public:
  static void SetUpTestSuite() {
    suite_ = fs::temp_directory_path() / ("magcnn_infer_suite_" + std::to_string(::getpid()));
    fs::remove_all(suite_);
    fs::create_directories(suite_);
    const std::string config = (suite_ / "small.toml").string();
    std::ofstream(config) << kSmall;
    const auto step = [](const std::string& program, const std::string& args) {
      if (!setup_error_.empty()) return;
      const ProgramResult r = run_program(program, split_args("--device cpu --quiet " + args));
      if (r.code != 0) setup_error_ = program + " " + args + " failed (" + std::to_string(r.code) + "): " + r.err;
    };
    step(kTrain, "--config " + config + " --out " + (suite_ / "shape").string());
    step(kTrain, "--config " + config + " --epochs 1 --target polar --out " + (suite_ / "polar").string());
    step(kGenerate, "--config " + config + " --count 20 --out " + (suite_ / "set.h5").string());
    step(kGenerate, "--config " + config + " --count 10 --target polar --out " + (suite_ / "polar_set.h5").string());
    step(kTrain, "--config " + config + " --epochs 1 --target vector --out " + (suite_ / "vector").string());
    step(kTrain, "--config " + config + " --ensemble 2 --out " + (suite_ / "ensemble").string());
    step(kGenerate, "--config " + config + " --count 10 --target vector --out " + (suite_ / "vector_set.h5").string());
  }
  static void TearDownTestSuite() { fs::remove_all(suite_); }

 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    ASSERT_TRUE(setup_error_.empty()) << setup_error_;
  }
  static std::string suite(const std::string& name) { return (suite_ / name).string(); }
  static std::string model() { return suite("shape/model.h5"); }
  static std::string polar_model() { return suite("polar/model.h5"); }
  static std::string vector_model() { return suite("vector/model.h5"); }
  static std::string training_set() { return suite("set.h5"); }

  static ProgramResult infer(const std::string& args, const std::string& model_file = model()) {
    return run_program(kInfer, split_args("--device cpu --model " + model_file + " " + args));
  }
  // Exit code 0 and the output `out` in this test's folder.
  Output predict(const std::string& args, const std::string& out = "pred.h5", const std::string& name = "m") const {
    const ProgramResult r = infer(args + " --out " + path(out));
    EXPECT_EQ(r.code, 0) << args << "\n" << r.err;
    if (r.code != 0 || !fs::exists(path(out))) return {};
    return read_output(path(out), name);
  }
  std::set<std::string> listing() const {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
    return names;
  }
  // Refused: exit code 1, one line naming the problem, nothing written (no output, no temporary).
  void expect_refusal(const std::string& args, const std::string& needle, const std::string& model_file = model()) const {
    const std::set<std::string> before = listing();
    const ProgramResult r = infer(args + " --out " + path("pred.h5"), model_file);
    EXPECT_EQ(r.code, 1) << args << "\n" << r.err;
    EXPECT_EQ(r.message_lines(), 1) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << "missing '" << needle << "' for " << args << " in: " << r.err;
    EXPECT_EQ(listing(), before) << args << " left a file behind";
  }

  inline static fs::path suite_;
  inline static std::string setup_error_;
};

// A training set from magcnn-generate, as it is: on the model's grid, with its truth and directions.
TEST_F(InferProgram, TrainingSetAsItIs) {
  const ProgramResult r = infer("--in " + training_set() + " --out " + path("pred.h5"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("20 map(s) of 16 x 16"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("MSE against the truth"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("physics residual"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("resampling: none"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("wrote " + path("pred.h5")), std::string::npos) << r.out;
  const h5::File f = h5::File::open(path("pred.h5"));
  EXPECT_EQ(f.dims("m"), (std::vector<int64_t>{20, 16, 16}));
  EXPECT_EQ(f.stored_type_name("m"), "float32");
  const std::vector<float> m = f.read<float>("m");
  EXPECT_GT(largest(m), 0.f) << "the model predicts nothing at all";
  for (float v : m) ASSERT_TRUE(std::isfinite(v) && v >= 0) << v;  // |m| through a relu
  EXPECT_EQ(f.dims("residual_relative_l2"), (std::vector<int64_t>{20}));
  EXPECT_EQ(f.dims("mse_truth"), (std::vector<int64_t>{20}));
  // An undertrained model can overshoot the field along the known direction, so the residual may exceed
  // 1 (this one reaches about 3); it is a norm ratio, finite and never negative.
  for (double v : f.read<double>("residual_relative_l2")) EXPECT_TRUE(std::isfinite(v) && v >= 0 && v < 10) << v;
  for (double v : f.read<double>("mse_truth")) EXPECT_TRUE(std::isfinite(v) && v >= 0 && v < 1) << v;
  // The training set holds every map's direction: none is fitted.
  for (double v : f.read<double>("residual_direction_fitted")) EXPECT_EQ(v, 0);
  EXPECT_EQ(f.attr_string("/", "format"), "magcnn predictions");
  EXPECT_EQ(f.attr_string("/", "target"), "shape");
  EXPECT_EQ(f.attr_string("/", "model"), model());
  EXPECT_EQ(f.attr_string("/", "input"), training_set());
  EXPECT_EQ(f.attr_string("/", "input_format"), "HDF5 training set");
  EXPECT_EQ(f.attr_string("/", "input_unit"), "normalized");
  EXPECT_EQ(f.attr_string("m", "unit"), "M/Ms");
  EXPECT_EQ(f.attr_double("/", "pixel_size_over_standoff"), 1.0);
  EXPECT_EQ(f.attr_double("/", "thickness_over_standoff"), 0.1);
  EXPECT_FALSE(f.attr_double("/", "standoff_m")) << "a training set has no SI geometry";
  EXPECT_NE(f.attr_string("/", "model_settings").value_or("").find("base_channels 8"), std::string::npos);
  expect_only({"pred.h5"});
}

// The same maps in tesla on an SI grid with 1 pixel = d give the training set's prediction, residual and
// MSE: the normalization b = Bz 2d / (mu0 Ms t) and the residual in tesla agree with the normalized path.
// The truth as magnetization maps (--truth) gives the same MSE and directions.
TEST_F(InferProgram, PhysicalUnitsOfATrainingSetGiveItsResults) {
  ASSERT_EQ(infer("--in " + training_set() + " --out " + path("set_pred.h5")).code, 0);
  const h5::File set = h5::File::open(training_set());
  const std::vector<double> b = set.read<double>("Bz"), m = set.read<double>("m");
  const std::vector<double> theta = set.read<double>("theta"), phi = set.read<double>("phi");
  const Geometry g{100e-9, 100e-9, 10e-9, 4.8e5};
  const std::vector<double> bz = times(b, kMu0 * g.Ms * g.t / (2 * g.d));
  write_maps(path("tesla.h5"), {20, 16, 16}, bz, "T", g);
  {
    H5Builder with_truth(path("tesla_truth.h5"));
    with_truth.dataset("Bz", {20, 16, 16}, H5T_IEEE_F32LE, bz);
    with_truth.attr_strings("Bz", "unit", {"T"}, true);
    with_truth.attr("/", "pixel_size_m", {g.h});
    with_truth.attr("/", "standoff_m", {g.d});
    with_truth.attr("/", "thickness_m", {g.t});
    with_truth.attr("/", "Ms_A_per_m", {g.Ms});
    with_truth.dataset("m", {20, 16, 16}, H5T_IEEE_F32LE, m);
    with_truth.doubles("theta", {20}, theta);
    with_truth.doubles("phi", {20}, phi);
  }
  {
    std::vector<double> mx(m.size()), my(m.size()), mz(m.size());
    for (std::size_t i = 0; i < m.size(); ++i) {
      const std::size_t k = i / 256;
      mx[i] = m[i] * std::sin(theta[k]) * std::cos(phi[k]);
      my[i] = m[i] * std::sin(theta[k]) * std::sin(phi[k]);
      mz[i] = m[i] * std::cos(theta[k]);
    }
    H5Builder mag(path("mag.h5"));
    mag.dataset("mx", {20, 16, 16}, H5T_IEEE_F32LE, mx);
    mag.dataset("my", {20, 16, 16}, H5T_IEEE_F32LE, my);
    mag.dataset("mz", {20, 16, 16}, H5T_IEEE_F32LE, mz);
  }
  ASSERT_EQ(infer("--in " + path("tesla_truth.h5") + " --out " + path("truth_pred.h5")).code, 0);
  const ProgramResult r = infer("--in " + path("tesla.h5") + " --truth " + path("mag.h5") + " --out " + path("mag_pred.h5"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("MSE against the truth"), std::string::npos) << r.out;
  const h5::File want = h5::File::open(path("set_pred.h5"));
  for (const char* out : {"truth_pred.h5", "mag_pred.h5"}) {
    const h5::File got = h5::File::open(path(out));
    expect_close(got.read<float>("m"), want.read<float>("m"), 1e-5, out);
    const auto close = [&](const char* name, double tol) {
      const std::vector<double> a = got.read<double>(name), e = want.read<double>(name);
      ASSERT_EQ(a.size(), e.size()) << out << " " << name;
      for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], e[i], tol) << out << " " << name << " map " << i;
    };
    close("residual_relative_l2", 1e-5);
    close("mse_truth", 1e-6);
    close("residual_theta_rad", 1e-6);
    close("residual_direction_fitted", 0);
    EXPECT_EQ(got.attr_string("/", "input_format"), "HDF5");
    EXPECT_EQ(got.attr_double("/", "standoff_m"), g.d);
  }
  // Without a truth there is no MSE, and the directions are fitted.
  ASSERT_EQ(infer("--in " + path("tesla.h5") + " --out " + path("plain.h5")).code, 0);
  const h5::File plain = h5::File::open(path("plain.h5"));
  EXPECT_FALSE(plain.has("mse_truth"));
  for (double v : plain.read<double>("residual_direction_fitted")) EXPECT_EQ(v, 1);
  expect_close(plain.read<float>("m"), want.read<float>("m"), 1e-5, "without truth");
}

// A measured map in tesla: unbatched stays unbatched, resampled onto the model's grid and back, with the
// geometry in the output. Gauss gives the same prediction; so do all lengths doubled (only their ratios
// matter), and the attributes on Bz instead of the root.
TEST_F(InferProgram, PhysicalMapsDependOnRatiosNotUnits) {
  const Geometry g;
  const std::vector<double> bz = bumps(40, 40);
  write_maps(path("T.h5"), {40, 40}, bz, "T", g);
  write_maps(path("G.h5"), {40, 40}, times(bz, 1e4), "G", g);
  write_maps(path("twice.h5"), {40, 40}, bz, "T", g.scaled(2));
  write_maps(path("on_bz.h5"), {40, 40}, bz, "T", g, false);
  const ProgramResult r = infer("--in " + path("T.h5") + " --out " + path("pred.h5"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("1 map(s) of 40 x 40"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("onto the model's 20 x 20"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("physics residual"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("note:"), std::string::npos) << "t/d is the model's: no note\n" << r.out;
  const h5::File f = h5::File::open(path("pred.h5"));
  EXPECT_EQ(f.dims("m"), (std::vector<int64_t>{40, 40}));
  EXPECT_EQ(f.dims("residual_relative_l2"), (std::vector<int64_t>{1}));
  EXPECT_FALSE(f.has("mse_truth"));
  const double residual = f.read<double>("residual_relative_l2")[0];
  EXPECT_TRUE(std::isfinite(residual) && residual >= 0 && residual < 10) << residual;
  EXPECT_EQ(f.read<double>("residual_direction_fitted")[0], 1);
  EXPECT_EQ(f.attr_double("/", "pixel_size_m"), g.h);
  EXPECT_EQ(f.attr_double("/", "standoff_m"), g.d);
  EXPECT_EQ(f.attr_double("/", "thickness_m"), g.t);
  EXPECT_EQ(f.attr_double("/", "Ms_A_per_m"), g.Ms);
  EXPECT_EQ(f.attr_string("/", "input_unit"), "T");
  EXPECT_EQ(f.attr_string("/", "format"), "magcnn predictions");
  const std::vector<float> want = f.read<float>("m");
  // Cubic resampling back may ring; the result is clamped to what the network gave, so |m| >= 0.
  for (float v : want) ASSERT_TRUE(std::isfinite(v) && v >= 0) << v;

  const Output gauss = predict("--in " + path("G.h5"), "G_pred.h5");
  EXPECT_EQ(gauss.dims, (std::vector<int64_t>{40, 40}));
  expect_close(gauss.values, want, 1e-5, "gauss");
  EXPECT_EQ(h5::File::open(path("G_pred.h5")).attr_string("/", "input_unit"), "G");
  // Doubling every length doubles by a power of two: the same numbers exactly.
  const Output twice = predict("--in " + path("twice.h5"), "twice_pred.h5");
  EXPECT_TRUE(twice.values == want) << "a map twice as large with everything else the same";
  EXPECT_EQ(h5::File::open(path("twice_pred.h5")).attr_double("/", "standoff_m"), 2 * g.d);
  EXPECT_TRUE(predict("--in " + path("on_bz.h5"), "on_bz_pred.h5").values == want) << "attributes on Bz";
  // A flag wins over the file's attribute: the gauss file read as tesla is 1e4 times the field (1.5e2
  // T: refused as a unit mistake), the tesla file read as gauss 1e-4 times (another prediction).
  expect_refusal("--in " + path("G.h5") + " --unit T", "check the unit");
  const Output weak = predict("--in " + path("T.h5") + " --unit G", "weak.h5");
  ASSERT_EQ(weak.values.size(), want.size());
  EXPECT_NE(weak.values, want) << "--unit G did not change the field";
  // The standoff from a flag, over the attribute: doubling it alone changes the grid (10 x 10).
  const ProgramResult far = infer("--in " + path("T.h5") + " --standoff 2e-7 --out " + path("far.h5"));
  ASSERT_EQ(far.code, 0) << far.err;
  EXPECT_NE(far.out.find("onto the model's 10 x 10"), std::string::npos) << far.out;
  EXPECT_EQ(h5::File::open(path("far.h5")).attr_double("/", "standoff_m"), 2e-7);
  // A film far thicker than the model's t/d is predicted, with a note.
  const ProgramResult thick = infer("--in " + path("T.h5") + " --thickness 1e-6 --out " + path("thick.h5"));
  ASSERT_EQ(thick.code, 0) << thick.err;
  EXPECT_NE(thick.out.find("note: the model was trained for t/d = 0.1"), std::string::npos) << thick.out;
}

// Maps too large for one pass are tiled: the stitched prediction is the whole map's.
TEST_F(InferProgram, TilesGiveTheWholeMapsPrediction) {
  write_maps(path("large.h5"), {64, 64}, bumps(64, 64), "T", Geometry{100e-9, 100e-9, 10e-9, 4.8e5});
  const Output whole = predict("--in " + path("large.h5"), "whole.h5");
  for (const char* tile : {"32", "28"}) {
    const ProgramResult r = infer("--in " + path("large.h5") + " --tile " + tile + " --out " + path("tiled.h5"));
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find(std::string("tiles of ") + tile + " x " + tile), std::string::npos) << r.out;
    const Output tiled = read_output(path("tiled.h5"));
    EXPECT_EQ(tiled.dims, whole.dims);
    expect_close(tiled.values, whole.values, 1e-6, std::string("--tile ") + tile);
  }
  // Batches of any size give the same maps.
  ASSERT_EQ(infer("--in " + training_set() + " --out " + path("all.h5")).code, 0);
  ASSERT_EQ(infer("--in " + training_set() + " --batch-size 3 --out " + path("threes.h5")).code, 0);
  expect_close(read_output(path("threes.h5")).values, read_output(path("all.h5")).values, 1e-6, "--batch-size 3");
  expect_refusal("--in " + path("large.h5") + " --tile 12", "receptive radius");
}

// NumPy arrays carry no attributes: the unit and the geometry come from flags. float64 and float32 give
// the HDF5 file's prediction; [1, H, W] stays batched.
TEST_F(InferProgram, NumPyInput) {
  const Geometry g;
  const std::vector<double> bz = bumps(40, 40);
  write_maps(path("T.h5"), {40, 40}, bz, "T", g);
  write_npy(path("f64.npy"), {1, 40, 40}, bz.data());
  write_npy(path("f32.npy"), {1, 40, 40}, bz.data(), true);
  const std::vector<double> gauss = times(bz, 1e4);
  write_npy(path("gauss.npy"), {40, 40}, gauss.data());
  const Output want = predict("--in " + path("T.h5"), "h5_pred.h5");
  for (const char* f : {"f64.npy", "f32.npy"}) {
    const ProgramResult r = infer("--in " + path(f) + " --unit T " + g.flags() + " --out " + path("pred.h5"));
    ASSERT_EQ(r.code, 0) << f << ": " << r.err;
    EXPECT_NE(r.out.find("(NumPy, T)"), std::string::npos) << r.out;
    const Output got = read_output(path("pred.h5"));
    EXPECT_EQ(got.dims, (std::vector<int64_t>{1, 40, 40})) << f;
    expect_close(got.values, want.values, 1e-5, f);
    EXPECT_EQ(h5::File::open(path("pred.h5")).attr_string("/", "input_format"), "NumPy");
  }
  const Output g_pred = predict("--in " + path("gauss.npy") + " --unit G " + g.flags(), "g_pred.h5");
  EXPECT_EQ(g_pred.dims, (std::vector<int64_t>{40, 40}));
  expect_close(g_pred.values, want.values, 1e-5, "gauss.npy");
  expect_refusal("--in " + path("f64.npy") + " " + g.flags(), "--unit");
  expect_refusal("--in " + path("f64.npy") + " --unit T --standoff 1e-7 --thickness 1e-8 --Ms 4.8e5", "--pixel-size");
  expect_refusal("--in " + path("f64.npy") + " --unit normalized " + g.flags(), "--unit normalized");
  expect_only({"T.h5", "f64.npy", "f32.npy", "gauss.npy", "h5_pred.h5", "pred.h5", "g_pred.h5"});
}

// An 8-bit grayscale PNG is the field MIN + (MAX - MIN) p / 255 in gauss, row 0 at the top.
TEST_F(InferProgram, PngInput) {
  const Geometry g;
  GrayImage image;
  image.height = 40;
  image.width = 48;
  std::vector<double> field;
  const double lo = -20, hi = 30;
  const std::vector<double> smooth = bumps(40, 48, 1);
  for (std::size_t i = 0; i < smooth.size(); ++i) {
    const auto p = static_cast<uint8_t>(std::lround(std::clamp((smooth[i] + 0.4) / 1.4 * 255, 0.0, 255.0)));
    image.pixels.push_back(p);
    field.push_back(lo + (hi - lo) * p / 255.0);
  }
  write_png_gray8(path("map.png"), image);
  write_maps(path("G.h5"), {40, 48}, field, "G", g);
  const Output want = predict("--in " + path("G.h5"), "h5_pred.h5");
  const ProgramResult r = infer("--in " + path("map.png") + " --range -20 30 " + g.flags() + " --out " + path("pred.h5"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("(PNG, G)"), std::string::npos) << r.out;
  const Output got = read_output(path("pred.h5"));
  EXPECT_EQ(got.dims, (std::vector<int64_t>{40, 48}));
  expect_close(got.values, want.values, 1e-5, "PNG");
  EXPECT_EQ(h5::File::open(path("pred.h5")).attr_string("/", "input_format"), "PNG");
  fs::remove(path("pred.h5"));
  expect_refusal("--in " + path("map.png") + " " + g.flags(), "--range");
  expect_refusal("--in " + path("map.png") + " --range 5 5 " + g.flags(), "--range 5 5");
  expect_refusal("--in " + path("G.h5") + " --range -20 30", "--range is for PNG images");
  expect_only({"map.png", "G.h5", "h5_pred.h5"});
}

// --png: PRED.png for one map, PRED_0.png ... for several, at most --png-limit of them.
TEST_F(InferProgram, Figures) {
  write_maps(path("T.h5"), {40, 40}, bumps(40, 40), "T", Geometry{});
  const ProgramResult one = infer("--in " + path("T.h5") + " --png --out " + path("pred.h5"));
  ASSERT_EQ(one.code, 0) << one.err;
  if (one.out.find("no PLplot") != std::string::npos) {
    expect_only({"T.h5", "pred.h5"});
    GTEST_SKIP() << "this build has no PLplot: " << one.out;
  }
  EXPECT_TRUE(is_png(path("pred.png")));
  EXPECT_NE(one.out.find("wrote 1 figure(s): " + path("pred.png")), std::string::npos) << one.out;
  const ProgramResult many = infer("--in " + training_set() + " --png --png-limit 3 --out " + path("set.h5"));
  ASSERT_EQ(many.code, 0) << many.err;
  for (const char* f : {"set_0.png", "set_1.png", "set_2.png"}) EXPECT_TRUE(is_png(path(f))) << f;
  EXPECT_NE(many.out.find("wrote 3 figure(s): " + path("set_0.png") + " ... (--png-limit 3)"), std::string::npos) << many.out;
  expect_only({"T.h5", "pred.h5", "pred.png", "set.h5", "set_0.png", "set_1.png", "set_2.png"});
}

// Several inputs (--in A B C, or --in-list) give a prediction of each in the folder --out, named after
// it, each equal bit for bit to the input's prediction alone; a bad file among them (a NaN in the
// second of three) ends the run with its name and leaves no prediction and no folder; inputs of one
// name, --truth and an --out that is a file are refused first.
TEST_F(InferProgram, SeveralInputsGiveEachItsOwnPrediction) {
  const Geometry g;
  std::vector<double> two = bumps(40, 40);
  const std::vector<double> other = bumps(40, 40, -1e-2);
  two.insert(two.end(), other.begin(), other.end());
  write_maps(path("tesla.h5"), {2, 40, 40}, two, "T", g);
  write_maps(path("gauss.h5"), {24, 32}, times(bumps(24, 32), 1e4), "G", g.scaled(2));
  fs::copy_file(training_set(), path("set.h5"));
  const std::vector<std::string> names = {"tesla", "gauss", "set"};
  for (const std::string& n : names) predict("--in " + path(n + ".h5"), n + "_alone.h5");
  const auto same_as_alone = [&](const std::string& folder) {
    for (const std::string& n : names) {
      const std::string got = path(folder + "/" + n + ".h5"), want = path(n + "_alone.h5");
      ASSERT_TRUE(fs::exists(got)) << got;
      const h5::File a = h5::File::open(got), b = h5::File::open(want);
      EXPECT_EQ(a.dims("m"), b.dims("m")) << got;
      EXPECT_EQ(a.read<float>("m"), b.read<float>("m")) << got;
      EXPECT_EQ(a.read<double>("residual_relative_l2"), b.read<double>("residual_relative_l2")) << got;
      EXPECT_EQ(a.attr_string("/", "input"), path(n + ".h5"));
    }
  };
  const ProgramResult r = infer("--in " + path("tesla.h5") + " " + path("gauss.h5") + " " + path("set.h5") + " --out " + path("preds"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("3 input files, 23 maps in all"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("wrote 3 predictions into " + path("preds")), std::string::npos) << r.out;
  same_as_alone("preds");
  // A list: comments, blank lines, paths relative to the list's folder and absolute ones.
  fs::create_directory(path("lists"));
  std::ofstream(path("lists/all.txt")) << "# the archive\n\n  ../tesla.h5 \n" << path("gauss.h5") << "\n../set.h5\n";
  const ProgramResult listed = infer("--in-list " + path("lists/all.txt") + " --out " + path("listed"));
  ASSERT_EQ(listed.code, 0) << listed.err;
  same_as_alone("listed");

  std::vector<double> with_nan = bumps(40, 40);
  with_nan[7 * 40 + 2] = NAN;
  write_maps(path("nan.h5"), {40, 40}, with_nan, "T", g);
  // (With figures: those of the files done before the bad one are removed again.)
  const ProgramResult bad =
      infer("--in " + path("tesla.h5") + " " + path("nan.h5") + " " + path("set.h5") + " --png --out " + path("bad"));
  EXPECT_EQ(bad.code, 1) << bad.err;
  EXPECT_EQ(bad.message_lines(), 1) << bad.err;
  EXPECT_NE(bad.err.find(path("nan.h5") + ": the field is nan at map 0, row 7, column 2"), std::string::npos) << bad.err;
  EXPECT_FALSE(fs::exists(path("bad"))) << "a failed run left its folder";
  // Into a folder that exists: the files there stay as they were, and no prediction is added.
  fs::create_directory(path("kept"));
  std::ofstream(path("kept/notes.txt")) << "mine\n";
  EXPECT_EQ(infer("--in " + path("tesla.h5") + " " + path("nan.h5") + " --out " + path("kept")).code, 1);
  EXPECT_EQ(std::vector<fs::path>(fs::directory_iterator(path("kept")), fs::directory_iterator()),
            std::vector<fs::path>{path("kept/notes.txt")});

  fs::create_directory(path("other"));
  fs::copy_file(path("set.h5"), path("other/set.h5"));
  expect_refusal("--in " + path("set.h5") + " " + path("other/set.h5"), "would both write");
  expect_refusal("--in " + path("set.h5") + " " + path("tesla.h5") + " --truth " + path("set.h5"), "--truth pairs with one input");
  expect_refusal("--in-list " + path("lists/none.txt"), "cannot be read");
  // A one-map input named like another input's figure.
  write_maps(path("tesla_0.h5"), {40, 40}, bumps(40, 40), "T", g);
  expect_refusal("--in " + path("tesla.h5") + " " + path("tesla_0.h5") + " --png", "would both write");
  std::ofstream(path("lists/missing.txt")) << "../nothere.h5\n";
  expect_refusal("--in-list " + path("lists/missing.txt"), "nothere.h5");
  const ProgramResult onto_file = infer("--in " + path("set.h5") + " " + path("tesla.h5") + " --out " + path("set_alone.h5"));
  EXPECT_EQ(onto_file.code, 1);
  EXPECT_NE(onto_file.err.find("is a file: with several inputs --out names the folder"), std::string::npos) << onto_file.err;
  // An output that would replace an input: refused before any prediction.
  const ProgramResult onto_input = infer("--in " + path("tesla.h5") + " " + path("gauss.h5") + " --out " + dir.string());
  EXPECT_EQ(onto_input.code, 1);
  EXPECT_NE(onto_input.err.find("is the input file"), std::string::npos) << onto_input.err;
  EXPECT_EQ(onto_input.out.find("map(s) of"), std::string::npos) << "predicted before refusing: " << onto_input.out;
}

// A model trained for the polar angle writes theta and its residual (phi given by the set, or fitted),
// and an MSE only against a polar truth.
TEST_F(InferProgram, PolarModel) {
  const ProgramResult r = infer("--in " + training_set() + " --out " + path("pred.h5"), polar_model());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("physics residual (relative L2 of the field)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("holds a shape truth; the model predicts polar: no MSE"), std::string::npos) << r.out;
  {
    const h5::File f = h5::File::open(path("pred.h5"));
    EXPECT_TRUE(f.has("theta"));
    EXPECT_FALSE(f.has("m"));
    EXPECT_FALSE(f.has("mse_truth"));
    EXPECT_EQ(f.dims("theta"), (std::vector<int64_t>{20, 16, 16}));
    EXPECT_EQ(f.attr_string("/", "target"), "polar");
    EXPECT_EQ(f.attr_string("theta", "unit"), "rad");
    // The set gives every map's direction: its phi is used, not fitted.
    for (const double fitted : f.read<double>("residual_direction_fitted")) EXPECT_EQ(fitted, 0.0);
    for (const double rel : f.read<double>("residual_relative_l2")) EXPECT_TRUE(std::isfinite(rel) && rel >= 0);
  }
  const ProgramResult polar = infer("--in " + suite("polar_set.h5") + " --out " + path("polar.h5"), polar_model());
  ASSERT_EQ(polar.code, 0) << polar.err;
  EXPECT_NE(polar.out.find("MSE against the truth"), std::string::npos) << polar.out;
  const h5::File f = h5::File::open(path("polar.h5"));
  EXPECT_EQ(f.dims("mse_truth"), (std::vector<int64_t>{10}));
}

// A vector model writes mx, my and mz (magnetization maps, as magcnn-forward reads them), its MSE over
// the three against a vector truth, and a residual with nothing fitted; the same maps in tesla with the
// truth as magnetization maps (--truth) give the same prediction and MSE.
TEST_F(InferProgram, VectorModel) {
  const ProgramResult r = infer("--in " + suite("vector_set.h5") + " --out " + path("pred.h5"), vector_model());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("MSE against the truth"), std::string::npos) << r.out;
  const h5::File set = h5::File::open(suite("vector_set.h5"));
  const std::vector<double> truth = set.read<double>("m"), b = set.read<double>("Bz");
  ASSERT_EQ(truth.size(), 10u * 3 * 256);
  std::vector<float> predicted[3];
  {
    const h5::File f = h5::File::open(path("pred.h5"));
    EXPECT_FALSE(f.has("m"));
    EXPECT_EQ(f.attr_string("/", "target"), "vector");
    EXPECT_EQ(f.attr_string("/", "unit"), "M/Ms");
    const char* names[3] = {"mx", "my", "mz"};
    for (int c = 0; c < 3; ++c) {
      EXPECT_EQ(f.dims(names[c]), (std::vector<int64_t>{10, 16, 16})) << names[c];
      EXPECT_EQ(f.attr_string(names[c], "unit"), "M/Ms");
      predicted[c] = f.read<float>(names[c]);
    }
    // Signed components (an identity-like output), not all zero.
    EXPECT_GT(largest(predicted[2]), 0.f);
    const std::vector<double> mse = f.read<double>("mse_truth");
    ASSERT_EQ(mse.size(), 10u);
    for (int64_t i = 0; i < 10; ++i) {
      double s = 0;
      for (int c = 0; c < 3; ++c)
        for (int64_t p = 0; p < 256; ++p) {
          const double e = predicted[c][static_cast<std::size_t>(i * 256 + p)] - truth[static_cast<std::size_t>((3 * i + c) * 256 + p)];
          s += e * e;
        }
      EXPECT_NEAR(mse[static_cast<std::size_t>(i)], s / (3 * 256), 1e-7) << "map " << i;
    }
    for (double v : f.read<double>("residual_direction_fitted")) EXPECT_EQ(v, 0);
    for (double v : f.read<double>("residual_relative_l2")) EXPECT_TRUE(std::isfinite(v) && v >= 0) << v;
  }
  // In tesla on an SI grid of 1 pixel = d, with the truth as magnetization maps.
  const Geometry g{100e-9, 100e-9, 10e-9, 4.8e5};
  write_maps(path("tesla.h5"), {10, 16, 16}, times(b, kMu0 * g.Ms * g.t / (2 * g.d)), "T", g);
  {
    H5Builder mag(path("mag.h5"));
    const char* names[3] = {"mx", "my", "mz"};
    for (int c = 0; c < 3; ++c) {
      std::vector<double> plane;
      for (int64_t i = 0; i < 10; ++i) plane.insert(plane.end(), truth.begin() + (3 * i + c) * 256, truth.begin() + (3 * i + c + 1) * 256);
      mag.dataset(names[c], {10, 16, 16}, H5T_IEEE_F32LE, plane);
    }
  }
  const ProgramResult t = infer("--in " + path("tesla.h5") + " --truth " + path("mag.h5") + " --out " + path("tesla_pred.h5"), vector_model());
  ASSERT_EQ(t.code, 0) << t.err;
  const h5::File got = h5::File::open(path("tesla_pred.h5")), want = h5::File::open(path("pred.h5"));
  for (const char* name : {"mx", "my", "mz"}) expect_close(got.read<float>(name), want.read<float>(name), 1e-5, name);
  const std::vector<double> a = got.read<double>("mse_truth"), e = want.read<double>("mse_truth");
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], e[i], 1e-6) << "map " << i;
  EXPECT_EQ(got.attr_double("/", "standoff_m"), g.d);
  // A shape truth is not what a vector model predicts.
  const ProgramResult shape = infer("--in " + training_set() + " --out " + path("shape.h5"), vector_model());
  ASSERT_EQ(shape.code, 0) << shape.err;
  EXPECT_NE(shape.out.find("holds a shape truth; the model predicts vector: no MSE"), std::string::npos) << shape.out;
}

// An ensemble of one model twice is that model: the same prediction to the bit, no spread.
TEST_F(InferProgram, EnsembleOfIdenticalModelsIsTheModel) {
  const Output one = predict("--in " + training_set(), "one.h5");
  const ProgramResult r = run_program(kInfer, split_args("--device cpu --model " + model() + " --model " + model() + " --in " +
                                                         training_set() + " --out " + path("two.h5")));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("ensemble: 2 models"), std::string::npos) << r.out;
  const h5::File f = h5::File::open(path("two.h5"));
  EXPECT_EQ(f.read<float>("m"), one.values);
  EXPECT_EQ(f.attr_double("/", "ensemble"), 2.0);
  for (float v : f.read<float>("m_spread")) ASSERT_EQ(v, 0.0f);
  const h5::File g = h5::File::open(path("one.h5"));
  EXPECT_EQ(f.read<double>("residual_relative_l2"), g.read<double>("residual_relative_l2"));
  EXPECT_FALSE(g.has("m_spread"));
}

// An ensemble run folder (magcnn-train --ensemble 2): the mean of its members' predictions, their spread
// (population standard deviation: half the difference of two), the residual of the mean, and how well
// the spread predicts the error against the truth.
TEST_F(InferProgram, EnsembleGivesTheMembersMeanAndSpread) {
  const auto member = [&](int k, const std::string& out) {
    const ProgramResult r = infer("--in " + training_set() + " --out " + path(out), suite("ensemble/member_" + std::to_string(k) + "/model.h5"));
    EXPECT_EQ(r.code, 0) << r.err;
    return h5::File::open(path(out)).read<float>("m");
  };
  const std::vector<float> m1 = member(1, "m1.h5"), m2 = member(2, "m2.h5");
  const ProgramResult r = infer("--in " + training_set() + " --out " + path("ens.h5"), suite("ensemble"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("ensemble spread against the error |mean - truth|: correlation"), std::string::npos) << r.out;
  const h5::File f = h5::File::open(path("ens.h5"));
  const std::vector<float> mean = f.read<float>("m"), spread = f.read<float>("m_spread");
  ASSERT_EQ(mean.size(), m1.size());
  double differ = 0;
  for (std::size_t i = 0; i < mean.size(); ++i) {
    EXPECT_NEAR(mean[i], 0.5 * (double(m1[i]) + m2[i]), 1e-6) << i;
    EXPECT_NEAR(spread[i], 0.5 * std::fabs(double(m1[i]) - m2[i]), 1e-6) << i;
    differ = std::max(differ, std::fabs(double(m1[i]) - m2[i]));
  }
  EXPECT_GT(differ, 1e-3) << "the members are the same model: their seeds did not differ";
  const std::optional<double> c = f.attr_double("/", "spread_error_correlation");
  ASSERT_TRUE(c);
  EXPECT_TRUE(*c >= -1 && *c <= 1) << *c;
  EXPECT_NE(f.attr_string("/", "model").value_or("").find("member_2"), std::string::npos);
  // Members that predict different things are not an ensemble.
  const ProgramResult mixed = run_program(kInfer, split_args("--device cpu --model " + model() + " --model " + polar_model() + " --in " +
                                                             training_set() + " --out " + path("mixed.h5")));
  EXPECT_EQ(mixed.code, 1);
  EXPECT_NE(mixed.err.find("an ensemble's members predict the same"), std::string::npos) << mixed.err;
  EXPECT_FALSE(fs::exists(path("mixed.h5")));
  // An ensemble's folder missing a member is not that ensemble.
  fs::create_directories(path("partial/member_1"));
  fs::copy_file(suite("ensemble/member_1/model.h5"), path("partial/member_1/model.h5"));
  expect_refusal("--in " + training_set(), "belongs to an ensemble of 2 members, of which 1 are there", path("partial"));
}

// A residual that was not computed (--no-residual) leaves no residual datasets, only a root attribute
// `residual` saying why: never a value a reader could take for a measured one.
TEST_F(InferProgram, ResidualThatWasNotComputedIsNotRecorded) {
  ASSERT_EQ(infer("--in " + training_set() + " --no-residual --out " + path("skipped.h5")).code, 0);
  ASSERT_EQ(infer("--in " + training_set() + " --no-residual --out " + path("polar.h5"), polar_model()).code, 0);
  for (const char* out : {"skipped.h5", "polar.h5"}) {
    const h5::File f = h5::File::open(path(out));
    EXPECT_FALSE(f.has("residual_relative_l2")) << out << ": a residual that was not computed";
    EXPECT_NE(f.attr_string("/", "residual").value_or("").find("not computed"), std::string::npos) << out;
  }
}

// The figures are written beside --out: one that would replace an input (--in MAP.png --out MAP.h5) or
// the prediction itself (--out PRED.png) is refused before any work, leaving both intact.
TEST_F(InferProgram, FiguresNeverOverwriteInputsOrTheOutput) {
  const Geometry g;
  GrayImage image;
  image.height = image.width = 40;
  for (int i = 0; i < 1600; ++i) image.pixels.push_back(static_cast<uint8_t>((i * 7) % 256));
  write_png_gray8(path("map.png"), image);
  const std::string original = slurp(path("map.png"));
  const ProgramResult a = infer("--in " + path("map.png") + " --range -20 30 " + g.flags() + " --png --out " + path("map.h5"));
  EXPECT_EQ(a.code, 1) << a.err;
  EXPECT_EQ(a.message_lines(), 1) << a.err;
  EXPECT_TRUE(slurp(path("map.png")) == original) << "the input image was overwritten (exit " << a.code << ")";
  write_maps(path("T.h5"), {40, 40}, bumps(40, 40), "T", g);
  const ProgramResult b = infer("--in " + path("T.h5") + " --png --out " + path("pred.png"));
  if (b.code == 0) {
    std::ifstream in(path("pred.png"), std::ios::binary);
    char head[4] = {};
    in.read(head, 4);
    EXPECT_EQ(std::string(head + 1, 3), "HDF") << "--out pred.png holds the figure, not the prediction";
  } else {
    EXPECT_EQ(b.code, 1) << b.err;
    EXPECT_EQ(b.message_lines(), 1) << b.err;
  }
}

// h5py writes text attributes as variable-length UTF-8 strings (`ds.attrs["unit"] = "T"`); they are read
// as the ASCII ones are (HDF5 converts no strings between the two character sets by itself).
TEST_F(InferProgram, UnitWrittenByH5pyIsRead) {
  const Geometry g;
  const std::vector<double> bz = bumps(40, 40);
  write_maps(path("ascii.h5"), {40, 40}, bz, "T", g);
  {
    H5Builder b(path("utf8.h5"));
    b.dataset("Bz", {40, 40}, H5T_IEEE_F32LE, bz);
    const hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    H5Tset_cset(type, H5T_CSET_UTF8);
    const hid_t space = H5Screate(H5S_SCALAR);
    const hid_t ds = H5Dopen2(b.id(), "Bz", H5P_DEFAULT);
    const hid_t a = H5Acreate2(ds, "unit", type, space, H5P_DEFAULT, H5P_DEFAULT);
    const char* text = "T";
    H5Awrite(a, type, &text);
    H5Aclose(a);
    H5Dclose(ds);
    H5Sclose(space);
    H5Tclose(type);
    b.attr("/", "pixel_size_m", {g.h});
    b.attr("/", "standoff_m", {g.d});
    b.attr("/", "thickness_m", {g.t});
    b.attr("/", "Ms_A_per_m", {g.Ms});
  }
  const Output want = predict("--in " + path("ascii.h5"), "ascii_pred.h5");
  const Output got = predict("--in " + path("utf8.h5"), "utf8_pred.h5");
  ASSERT_FALSE(got.values.empty());
  EXPECT_TRUE(got.values == want.values);
}

// Bad input of every kind: exit code 1, one line naming the problem, nothing written.
TEST_F(InferProgram, BadInputIsRefusedWithoutOutput) {
  const Geometry g;
  const std::vector<double> bz = bumps(40, 40);
  std::vector<double> with_nan = bz;
  with_nan[3 * 40 + 5] = NAN;
  write_maps(path("nan.h5"), {40, 40}, with_nan, "T", g);
  write_maps(path("empty.h5"), {0, 8}, {}, "T", g);
  write_maps(path("empty3.h5"), {1, 0, 8}, {}, "T", g);
  write_maps(path("pixel.h5"), {1, 1}, {1e-3}, "T", g);
  write_maps(path("negative.h5"), {40, 40}, bz, "T", Geometry{-1, 100e-9, 10e-9, 4.8e5});
  write_maps(path("nanometres.h5"), {40, 40}, bz, "T", Geometry{50, 100, 10, 4.8e5});
  write_maps(path("furlong.h5"), {40, 40}, bz, "furlong", g);
  write_maps(path("normalized.h5"), {40, 40}, bz, "normalized", g);
  write_maps(path("small.h5"), {8, 8}, bumps(8, 8), "T", Geometry{50e-9, 200e-9, 10e-9, 4.8e5});
  write_maps(path("tesla.h5"), {40, 40}, times(bz, 1e4 / 1.5e-2), "T", g);  // 1e4 "T": gauss read as tesla
  write_maps(path("T.h5"), {40, 40}, bz, "T", g);
  {
    H5Builder b(path("truth.h5"));
    b.dataset("Bz", {2, 40, 40}, H5T_IEEE_F32LE, times(std::vector<double>(3200, 1), 1e-3));
    b.attr_strings("Bz", "unit", {"T"}, false);
    b.dataset("m", {2, 20, 20}, H5T_IEEE_F32LE, std::vector<double>(800, 0.5));
    b.doubles("theta", {3}, {0, 0, 0});
    b.doubles("phi", {3}, {0, 0, 0});
  }
  {
    H5Builder b(path("angles.h5"));
    b.dataset("Bz", {2, 40, 40}, H5T_IEEE_F32LE, times(std::vector<double>(3200, 1), 1e-3));
    b.attr_strings("Bz", "unit", {"T"}, false);
    b.doubles("theta", {3}, {0, 0, 0});
    b.doubles("phi", {3}, {0, 0, 0});
  }
  {
    H5Builder b(path("text_attr.h5"));
    b.dataset("Bz", {40, 40}, H5T_IEEE_F32LE, bz);
    b.attr_strings("Bz", "unit", {"T"}, true);
    b.attr_strings("/", "pixel_size_m", {"50 nm"}, false);
  }
  {
    H5Builder b(path("huge.h5"));  // 1e10 values declared, nothing stored
    b.declared("Bz", {100000, 100000});
    b.attr_strings("Bz", "unit", {"T"}, false);
  }
  {
    H5Builder b(path("group.h5"));
    b.group("Bz");
  }
  {
    H5Builder b(path("other.h5"));
    b.doubles("B", {4, 4}, std::vector<double>(16, 0));
  }
  {  // magcnn-forward's field along an NV axis
    FieldWriter w(path("nv.h5"), 1, 8, 8, false, FilmGeometry{5e-8, 5e-8, 5e-9, 4.8e5}, ForwardMethod::Exact, {},
                  field_axis_from_angles(54.7356, 45));
    const std::vector<float> field(64, 1e-4f);
    w.append(field.data(), 1);
    w.commit();
  }
  {
    H5Builder b(path("mag.h5"));
    for (const char* c : {"mx", "my", "mz"}) b.dataset(c, {16, 16}, H5T_IEEE_F32LE, std::vector<double>(256, c[1] == 'z' ? 1 : 0));
  }
  std::ofstream(path("notes.txt")) << "Bz = 1 mT\n1 2 3\n";
  GrayImage image;
  image.height = image.width = 16;
  image.pixels.assign(256, 128);
  write_png_gray8(path("map.png"), image);
  // A model whose weights are finite but absurd: its predictions are refused, not written.
  fs::copy_file(model(), path("wild.h5"));
  {
    const hid_t f = H5Fopen(path("wild.h5").c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    const hid_t d = H5Dopen2(f, "weights/conv5.weight", H5P_DEFAULT);
    const hid_t space = H5Dget_space(d);
    std::vector<float> w(static_cast<std::size_t>(H5Sget_simple_extent_npoints(space)), 3e37f);
    H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, w.data());
    H5Sclose(space);
    H5Dclose(d);
    H5Fclose(f);
  }
  fs::copy_file(model(), path("cut.h5"));
  fs::resize_file(path("cut.h5"), fs::file_size(model()) / 2);
  const std::string G = " " + g.flags();

  expect_refusal("--in " + path("nan.h5"), "nan at map 0, row 3, column 5");
  expect_refusal("--in " + path("empty.h5"), "0 x 8 pixels");
  expect_refusal("--in " + path("empty3.h5"), "0 x 8 pixels");
  expect_refusal("--in " + path("pixel.h5"), "1 x 1 pixels");
  expect_refusal("--in " + path("negative.h5"), "pixel_size_m");
  expect_refusal("--in " + path("nanometres.h5"), "in metres");
  expect_refusal("--in " + path("T.h5") + " --pixel-size 5", "--pixel-size");
  expect_refusal("--in " + path("T.h5") + " --Ms -3", "--Ms");
  expect_refusal("--in " + path("furlong.h5"), "furlong");
  expect_refusal("--in " + path("normalized.h5"), "not a training set (it holds no target m)");
  expect_refusal("--in " + path("truth.h5") + G, "the truth m has another shape than Bz");
  expect_refusal("--in " + path("angles.h5") + G, "theta must be [2]");
  expect_refusal("--in " + path("text_attr.h5") + " --standoff 1e-7 --thickness 1e-8 --Ms 4.8e5", "--pixel-size");
  expect_refusal("--in " + path("huge.h5") + G, "damaged");
  expect_refusal("--in " + path("group.h5") + G, "is a group");
  expect_refusal("--in " + path("other.h5") + G, "no dataset 'Bz'");
  expect_refusal("--in " + path("nv.h5"), "the maps hold the field along (0.57735, 0.57735, 0.57735) (B . u), but");
  expect_refusal("--in " + path("map.png") + G, "--range");
  expect_refusal("--in " + path("map.png") + " --range -10 10 --unit T" + G, "its --range is in gauss");
  expect_refusal("--in " + path("T.h5") + " --no-residual", "damaged or diverged", path("wild.h5"));
  expect_refusal("--in " + path("T.h5"), "not a magcnn model file", training_set());
  expect_refusal("--in " + path("T.h5"), "not a magcnn model file", path("T.h5"));
  expect_refusal("--in " + path("T.h5"), "truncated", path("cut.h5"));
  expect_refusal("--in " + path("T.h5"), "no such file", path("none.h5"));
  expect_refusal("--in " + path("small.h5"), "4 x 4");
  expect_refusal("--in " + path("tesla.h5"), "check the unit");
  expect_refusal("--in " + path("notes.txt") + G, "neither HDF5, NumPy .npy nor PNG");
  expect_refusal("--in " + path("none.h5"), "no such file");
  expect_refusal("--in " + dir.string(), "not a regular file");
  expect_refusal("--in " + path("T.h5") + " --truth " + training_set(), "no dataset 'mx'");
  expect_refusal("--in " + path("T.h5") + " --truth " + path("mag.h5"), "--truth " + path("mag.h5") + " holds 1 map(s) of 16 x 16");
  expect_refusal("--in " + training_set() + " --standoff 1e-7", "does not apply");
  expect_refusal("--in " + training_set() + " --unit T", "does not apply");
  {  // A usage error: CLI11's message and exit code (not 1), and nothing written.
    const ProgramResult r = infer("--in " + path("T.h5") + " --unit furlong --out " + path("pred.h5"));
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.err.find("furlong"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(path("pred.h5")));
  }

  // --out: the input, the model, a folder, a folder that does not exist; the input survives.
  const std::string before = slurp(path("T.h5"));
  for (const auto& [out, needle] : std::vector<std::pair<std::string, std::string>>{
           {path("T.h5"), "is the input file"}, {model(), "is the input file"}, {dir.string(), "is a directory"},
           {path("no/such/pred.h5"), "does not exist"}}) {
    const ProgramResult r = infer("--in " + path("T.h5") + " --out " + out);
    EXPECT_EQ(r.code, 1) << out << ": " << r.err;
    EXPECT_EQ(r.message_lines(), 1) << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << "missing '" << needle << "' in: " << r.err;
  }
  EXPECT_TRUE(slurp(path("T.h5")) == before) << "a refused run touched its input";
  EXPECT_TRUE(fs::exists(model()));
  expect_only({"nan.h5", "wild.h5", "empty.h5", "empty3.h5", "pixel.h5", "negative.h5", "nanometres.h5", "furlong.h5", "normalized.h5",
               "small.h5", "tesla.h5", "T.h5", "truth.h5", "angles.h5", "text_attr.h5", "huge.h5", "group.h5", "other.h5",
               "nv.h5", "notes.txt", "map.png", "cut.h5", "mag.h5"});
}

}  // namespace
}  // namespace magcnn::test
