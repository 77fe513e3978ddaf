// magcnn-generate and magcnn-forward as a user runs them: results, exit codes, one-line errors, and no
// output file (nor temporary) left behind by a failed run.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "forward_helpers.h"
#include "h5file.h"
#include "magcnn/dataset_io.h"
#include "magcnn/device.h"
#include "program_runner.h"
#include "reference.h"
#include "temp_dir.h"

namespace magcnn::test {
namespace {

namespace fs = std::filesystem;

class Programs : public TempDirTest {
 protected:
  ProgramResult run(const std::string& program, const std::string& args) const {
    return run_program(program, split_args(args));
  }
  // Exit 1 with one line on stderr containing `needle`, and nothing in the directory but `keep`.
  void expect_failure(const ProgramResult& r, const std::string& needle, std::initializer_list<std::string> keep) const {
    EXPECT_EQ(r.code, 1) << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
    EXPECT_EQ(r.lines(), 1) << r.err;
    expect_only(keep);
  }
};

const std::string kGenerate = program_path("MAGCNN_GENERATE", MAGCNN_GENERATE_BUILT);
const std::string kForward = program_path("MAGCNN_FORWARD", MAGCNN_FORWARD_BUILT);

TEST_F(Programs, GenerateWritesTheSetItAnnounces) {
  const ProgramResult r = run(kGenerate, "--device cpu --count 37 --img-size 8 --seed 5 --target polar --out " + path("s.h5"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("wrote " + path("s.h5")), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("device CPU"), std::string::npos) << r.out;
  const TrainingSet s = read_training_set(path("s.h5"));
  EXPECT_EQ(s.count, 37);
  EXPECT_EQ(s.ny, 8);
  EXPECT_EQ(s.target, "polar");
  // Along an NV axis: stored as Bnv with its axis.
  const ProgramResult nv = run(kGenerate, "--device cpu --count 4 --img-size 8 --field-axis 54.7356,45 --out " + path("nv.h5"));
  ASSERT_EQ(nv.code, 0) << nv.err;
  EXPECT_TRUE(same_axis(read_training_set(path("nv.h5")).axis, field_axis_from_angles(54.7356, 45)));
}

TEST_F(Programs, GenerateRejectsBadRequests) {
  expect_failure(run(kGenerate, "--device cpu --count 5 --out " + path("no/dir/s.h5")), "does not exist", {});
  std::ofstream(path("bad.toml")) << "[data]\ncount = 5\nfiner = 2\n";
  expect_failure(run(kGenerate, "--config " + path("bad.toml") + " --out " + path("s.h5")), "bad.toml:3: unknown key 'data.finer'",
                 {"bad.toml"});
  if (!probe_cuda().usable)
    expect_failure(run(kGenerate, "--device cuda --count 5 --out " + path("s.h5")), "no usable GPU", {"bad.toml"});
  const ProgramResult usage = run(kGenerate, "--count 5");  // --out is required
  EXPECT_EQ(usage.code, 106) << "CLI11's exit code for a missing required option";
  EXPECT_NE(usage.err.find("--out"), std::string::npos) << usage.err;
  expect_failure(run(kGenerate, "--device cpu --count 5 --field-axis 0,0,0 --out " + path("s.h5")),
                 "--field-axis: an axis (0, 0, 0) has no direction", {"bad.toml"});
  expect_failure(run(kGenerate, "--device cpu --count 5 --field-axis 1e400,0,0 --out " + path("s.h5")), "outside the range", {"bad.toml"});
  expect_failure(run(kGenerate, "--device cpu --count 5 --noise-rms -0.1 --out " + path("s.h5")),
                 "--noise-rms: noise_rms = -0.1: a noise level is a fraction", {"bad.toml"});
  expect_failure(run(kGenerate, "--device cpu --count 5 --noise-background nan --out " + path("s.h5")), "--noise-background", {"bad.toml"});
  expect_failure(run(kGenerate, "--device cpu --count 5 --noise-tesla 1e-6 --out " + path("s.h5")), "needs the films' Ms", {"bad.toml"});
  expect_failure(run(kGenerate, "--device cpu --count 5 --noise-tesla 2 --noise-Ms 4.8e5 --out " + path("s.h5")),
                 "--noise-tesla: noise_tesla = 2", {"bad.toml"});
  std::ofstream(path("axis.toml")) << "[data]\nfield_axis = \"up\"\n";
  expect_failure(run(kGenerate, "--config " + path("axis.toml") + " --out " + path("s.h5")), "axis.toml", {"bad.toml", "axis.toml"});
  const ProgramResult zero = run(kGenerate, "--count 0 --out " + path("s.h5"));
  EXPECT_NE(zero.code, 0);
  EXPECT_FALSE(fs::exists(path("s.h5")));
}

void write_maps(const std::string& p, int64_t ny, int64_t nx, const std::vector<double>& mx, const std::vector<double>& my,
                const std::vector<double>& mz, bool with_standoff) {
  h5::File f = h5::File::create(p);
  f.write("mx", {ny, nx}, mx.data());
  f.write("my", {ny, nx}, my.data());
  f.write("mz", {ny, nx}, mz.data());
  f.set_attr("/", "pixel_size_m", 5e-8);
  if (with_standoff) f.set_attr("/", "standoff_m", 7e-8);
  f.set_attr("/", "thickness_m", 2e-9);
  f.set_attr("/", "Ms_A_per_m", 4.8e5);
}

TEST_F(Programs, ForwardComputesWhatTheEngineComputes) {
  const int64_t ny = 12, nx = 17;
  std::mt19937_64 rng(fresh_seed());
  const std::vector<double> mx = uniform_values(rng, ny * nx, 0.57), my = uniform_values(rng, ny * nx, 0.57),
                            mz = uniform_values(rng, ny * nx, 0.57);  // |m| <= 1
  write_maps(path("m.h5"), ny, nx, mx, my, mz, true);
  for (const double standoff : {7e-8, 2e-8}) {
    const std::string flag = standoff == 7e-8 ? "" : " --standoff 2e-8";
    const ProgramResult r = run(kForward, "--device cpu --in " + path("m.h5") + " --out " + path("b.h5") + flag);
    ASSERT_EQ(r.code, 0) << r.err;
    h5::File f = h5::File::open(path("b.h5"));
    ASSERT_EQ(f.dims("Bz"), (std::vector<int64_t>{ny, nx}));
    EXPECT_DOUBLE_EQ(f.attr_double("/", "standoff_m").value_or(0), standoff);
    const auto got = f.read<double>("Bz");
    auto cpu = make_cpu_backend();
    const auto want = run_forward(*cpu, FilmGeometry{5e-8, standoff, 2e-9, 4.8e5}, 1, ny, nx, mx, my, mz);
    EXPECT_LT(relative_l2(got, want), 1e-6);  // stored as float32
    fs::remove(path("b.h5"));
  }
}

// --component x, y, nv write Bx, By, Bnv with the axis as an attribute, each what the engine computes.
TEST_F(Programs, ForwardWritesTheComponentAsked) {
  const int64_t ny = 10, nx = 13;
  std::mt19937_64 rng(fresh_seed());
  const std::vector<double> mx = uniform_values(rng, ny * nx, 0.57), my = uniform_values(rng, ny * nx, 0.57),
                            mz = uniform_values(rng, ny * nx, 0.57);  // |m| <= 1
  write_maps(path("m.h5"), ny, nx, mx, my, mz, true);
  struct Case {
    std::string flags, dataset;
    FieldAxis axis;
  };
  const Case cases[] = {{"--component x", "Bx", field_axis_from_vector(1, 0, 0)},
                        {"--component y", "By", field_axis_from_vector(0, 1, 0)},
                        {"--component nv --nv-axis 54.7356,45", "Bnv", field_axis_from_angles(54.7356, 45)},
                        {"--component nv --nv-axis 1,-1,1", "Bnv", field_axis_from_vector(1, -1, 1)}};
  auto cpu = make_cpu_backend();
  for (const Case& c : cases) {
    const ProgramResult r = run(kForward, "--device cpu --in " + path("m.h5") + " --out " + path("b.h5") + " " + c.flags);
    ASSERT_EQ(r.code, 0) << r.err;
    h5::File f = h5::File::open(path("b.h5"));
    ASSERT_EQ(f.dims(c.dataset), (std::vector<int64_t>{ny, nx})) << c.flags;
    const auto axis = f.attr_doubles(c.dataset, "field_axis", 3);
    ASSERT_EQ(axis.size(), 3u);
    EXPECT_NEAR(axis[0], c.axis.x, 1e-12);
    EXPECT_NEAR(axis[1], c.axis.y, 1e-12);
    EXPECT_NEAR(axis[2], c.axis.z, 1e-12);
    ForwardOptions o;
    o.axis = c.axis;
    const auto want = run_forward(*cpu, FilmGeometry{5e-8, 7e-8, 2e-9, 4.8e5}, 1, ny, nx, mx, my, mz, o);
    EXPECT_LT(relative_l2(f.read<double>(c.dataset), want), 1e-6) << c.flags;
    fs::remove(path("b.h5"));
  }
  const std::string out = " --device cpu --in " + path("m.h5") + " --out " + path("b.h5");
  expect_failure(run(kForward, out + " --component nv --nv-axis 0,0,0"), "no direction", {"m.h5"});
  expect_failure(run(kForward, out + " --component nv"), "--component nv needs --nv-axis", {"m.h5"});
  expect_failure(run(kForward, out + " --nv-axis 1,0,0"), "leave it out", {"m.h5"});
  expect_failure(run(kForward, out + " --component nv --nv-axis 1,2,3,4"), "has 4 numbers", {"m.h5"});
  expect_failure(run(kForward, out + " --component nv --nv-axis 1,x"), "'x' is not a number", {"m.h5"});
  expect_failure(run(kForward, out + " --component nv --nv-axis 190,0"), "polar angle", {"m.h5"});
  expect_failure(run(kForward, out + " --component nv --nv-axis 1,0,"), "ends in a comma", {"m.h5"});
}

TEST_F(Programs, ForwardRejectsBadInput) {
  const std::vector<double> zeros(20, 0.0);
  std::vector<double> nan_map = zeros, big = zeros;
  nan_map[3] = NAN;
  big[4] = 2.0;
  write_maps(path("ok.h5"), 4, 5, zeros, zeros, zeros, true);
  write_maps(path("nan.h5"), 4, 5, nan_map, zeros, zeros, true);
  write_maps(path("big.h5"), 4, 5, zeros, zeros, big, true);
  write_maps(path("nod.h5"), 4, 5, zeros, zeros, zeros, false);
  const std::initializer_list<std::string> inputs{"ok.h5", "nan.h5", "big.h5", "nod.h5"};
  const std::string out = " --device cpu --out " + path("b.h5");
  expect_failure(run(kForward, "--in " + path("missing.h5") + out), "no such file", inputs);
  expect_failure(run(kForward, "--in " + path("nan.h5") + out), "mx is nan at map 0, row 0, column 3", inputs);
  expect_failure(run(kForward, "--in " + path("big.h5") + out), "|m| = 2 at map 0, row 0, column 4", inputs);
  expect_failure(run(kForward, "--in " + path("nod.h5") + out), "pass --standoff", inputs);
  expect_failure(run(kForward, "--in " + path("ok.h5") + out + " --standoff 0"), "--standoff: standoff = 0 m; it must be a positive length", inputs);
  expect_failure(run(kForward, "--in " + path("ok.h5") + out + " --thickness -1e-9"), "--thickness: thickness = -1e-09 m; it must be a positive length", inputs);
  expect_failure(run(kForward, "--in " + path("ok.h5") + out + " --pixel-size 0"), "--pixel-size: pixel size = 0 m; it must be a positive length", inputs);
  {
    h5::File f = h5::File::create(path("names.h5"));
    f.write("Mx", {4, 5}, zeros.data());
  }
  expect_failure(run(kForward, "--in " + path("names.h5") + out), "no dataset 'mx'", {"ok.h5", "nan.h5", "big.h5", "nod.h5", "names.h5"});
}

}  // namespace
}  // namespace magcnn::test
