// HDF5 files and configuration: training-set round trip, the original MagneticCNN layout, magnetization
// maps, atomic writes, and every kind of bad file or key giving a clear InvalidInput.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "h5file.h"
#include "magcnn/config.h"
#include "magcnn/dataset_io.h"
#include "magcnn/inference_io.h"
#include "magcnn/device.h"
#include "reference.h"
#include "temp_dir.h"

namespace magcnn::test {
namespace {

namespace fs = std::filesystem;

using Io = TempDirTest;

TEST_F(Io, TrainingSetRoundTrip) {
  auto cpu = make_cpu_backend();
  GeneratorSettings s;
  s.count = 10;
  s.img_size = 8;
  s.batch = 4;
  s.seed = fresh_seed();
  s.target = TargetKind::Polar;
  Generator gen(*cpu, s);
  TrainingSetWriter writer(path("set.h5"), s, cpu->description());
  SampleBatch all, part;
  for (int64_t done = 0; done < s.count; done += part.count) {
    gen.next(std::min<int64_t>(4, s.count - done), part);
    writer.append(part);
    all.b.insert(all.b.end(), part.b.begin(), part.b.end());
    all.target.insert(all.target.end(), part.target.begin(), part.target.end());
    all.params.insert(all.params.end(), part.params.begin(), part.params.end());
  }
  EXPECT_FALSE(fs::exists(path("set.h5"))) << "visible before commit";
  writer.commit();
  const TrainingSet read = read_training_set(path("set.h5"));
  EXPECT_EQ(read.layout, "magcnn");
  EXPECT_EQ(read.count, 10);
  EXPECT_EQ(read.ny, 8);
  EXPECT_EQ(read.target, "polar");
  EXPECT_EQ(read.b, all.b);
  EXPECT_EQ(read.m, all.target);
  ASSERT_EQ(read.theta.size(), 10u);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(read.theta[i], all.params[i * kStoredEllipseParams]);
    EXPECT_EQ(read.phi[i], all.params[i * kStoredEllipseParams + 1]);
  }
  EXPECT_DOUBLE_EQ(read.thickness_over_standoff, 0.1);
  expect_only({"set.h5"});
}

// A set made noisy records its noise, a level in tesla with its Ms, and is read back with it.
TEST_F(Io, NoisySetRecordsItsNoise) {
  auto cpu = make_cpu_backend();
  GeneratorSettings s;
  s.count = 4;
  s.img_size = 8;
  s.seed = fresh_seed();
  s.noise = NoiseSettings{0.05, 0.01, 2e-6, 4.8e5};
  SampleBatch batch;
  Generator(*cpu, s).next(s.count, batch);
  TrainingSetWriter writer(path("noisy.h5"), s, cpu->description());
  writer.append(batch);
  writer.commit();
  const TrainingSet read = read_training_set(path("noisy.h5"));
  EXPECT_EQ(read.noise.relative_rms, 0.05);
  EXPECT_EQ(read.noise.background, 0.01);
  EXPECT_EQ(read.noise.tesla_rms, 2e-6);
  EXPECT_EQ(read.noise.Ms_A_per_m, 4.8e5);
}

// A set of B . u samples is stored as Bnv with its axis, and read back with it.
TEST_F(Io, TrainingSetOfAnAxisRoundTrip) {
  auto cpu = make_cpu_backend();
  GeneratorSettings s;
  s.count = 5;
  s.img_size = 8;
  s.seed = fresh_seed();
  s.field_axis = "1,-1,1";
  Generator gen(*cpu, s);
  TrainingSetWriter writer(path("set.h5"), s, cpu->description());
  SampleBatch part;
  gen.next(5, part);
  writer.append(part);
  writer.commit();
  {
    h5::File f = h5::File::open(path("set.h5"));
    EXPECT_TRUE(f.has("Bnv"));
    EXPECT_FALSE(f.has("Bz"));
  }
  const TrainingSet read = read_training_set(path("set.h5"));
  EXPECT_TRUE(same_axis(read.axis, field_axis_from_vector(1, -1, 1)));
  EXPECT_EQ(read.b, part.b);
  const TrainingSet seed_set = [&] {
    GeneratorSettings z = s;
    z.field_axis = "z";
    TrainingSetWriter w(path("z.h5"), z, "test");
    w.append(part);
    w.commit();
    return read_training_set(path("z.h5"));
  }();
  EXPECT_TRUE(seed_set.axis.is_z());
}

TEST_F(Io, AbandonedTrainingSetLeavesNothing) {
  GeneratorSettings s;
  s.count = 10;
  s.img_size = 8;
  {
    TrainingSetWriter writer(path("set.h5"), s, "test");
    SampleBatch b;
    b.count = 3;
    b.b.assign(3 * 64, 0.5f);
    b.target.assign(3 * 64, 1.0f);
    b.params.assign(3 * kStoredEllipseParams, 0.25);
    writer.append(b);
    EXPECT_THROW(writer.commit(), InvalidInput);  // 3 of 10 samples
  }
  expect_only({});
}

// A file in the layout of fcasola/MagneticCNN's Create_TrainingCNN.py, written here with HDF5 directly.
TEST_F(Io, ReadsTheOriginalLayout) {
  const int64_t n = 3, side = 32;
  std::vector<double> theta{0.3, 1.2, 2.9}, phi{0.1, 4.0, 6.0}, bz(n * side * side), mloc(n * side * side);
  std::mt19937_64 rng(fresh_seed());
  std::uniform_real_distribution<double> u(-1e-16, 1e-16);
  for (auto& v : bz) v = u(rng);
  for (std::size_t i = 0; i < mloc.size(); ++i) mloc[i] = (i % 7 == 0) ? 0.75 : 0.0;
  {
    h5::File f = h5::File::create(path("orig.h5"));
    f.write("Theta", {n, 1}, theta.data());
    f.write("Phi", {n, 1}, phi.data());
    f.write("Bz", {n, side * side}, bz.data());
    f.write("mloc", {n, side * side}, mloc.data());
  }
  const TrainingSet s = read_training_set(path("orig.h5"));
  EXPECT_EQ(s.layout, "MagneticCNN (original)");
  EXPECT_EQ(s.count, n);
  EXPECT_EQ(s.ny, side);
  EXPECT_EQ(s.nx, side);
  EXPECT_EQ(s.theta, theta);
  // b = Bz 2d/(mu0 Ms t) from the stored -Bz d^3/(1e-7 t Ms) with d = 10 nm: b = -stored / (2 pi d^2).
  for (std::size_t i = 0; i < bz.size(); i += 97)
    EXPECT_NEAR(s.b[i], -bz[i] / (2 * M_PI * 1e-16), 1e-6 * std::fabs(bz[i] / (2 * M_PI * 1e-16)) + 1e-12);
  EXPECT_FLOAT_EQ(s.m[7], 0.75f);
  EXPECT_NEAR(s.pixel_size_over_standoff, 128.0 / 127.0, 1e-12);
  EXPECT_NE(s.note.find("original MagneticCNN forward model"), std::string::npos);
}

void write_maps(const std::string& p, const std::vector<int64_t>& dims, const std::vector<double>& mx,
                const std::vector<double>& my, const std::vector<double>& mz, bool attrs = true) {
  h5::File f = h5::File::create(p);
  f.write("mx", dims, mx.data());
  f.write("my", dims, my.data());
  f.write("mz", dims, mz.data());
  if (attrs) {
    f.set_attr("/", "pixel_size_m", 5e-8);
    f.set_attr("/", "standoff_m", 7e-8);
    f.set_attr("/", "thickness_m", 1e-9);
    f.set_attr("mz", "Ms_A_per_m", 4.8e5);  // attributes may sit on the root or on mz
  }
}

// A field file's axis as other tools store it: float32 (renormalized), or a Bz's axis a hair off z (taken
// as z exactly); refused when it is not a unit vector.
TEST_F(Io, FieldAxisAttributesAreReadCarefully) {
  const std::vector<double> zeros(16, 0.0);
  {
    h5::File f = h5::File::create(path("nv.h5"));
    f.write("Bnv", {4, 4}, zeros.data());
    f.set_attr("Bnv", "field_axis", std::vector<double>{0.57735f, 0.57735f, 0.57735f});
    f.set_attr("Bnv", "unit", std::string("T"));
  }
  {
    h5::File f = h5::File::create(path("z.h5"));
    f.write("Bz", {4, 4}, zeros.data());
    f.set_attr("Bz", "field_axis", std::vector<double>{1e-8, 0, 1});
    f.set_attr("Bz", "unit", std::string("T"));
  }
  {
    h5::File f = h5::File::create(path("long.h5"));
    f.write("Bnv", {4, 4}, zeros.data());
    f.set_attr("Bnv", "field_axis", std::vector<double>{1, 1, 0});
    f.set_attr("Bnv", "unit", std::string("T"));
  }
  const FieldMapsReader nv(path("nv.h5"), FieldMapsOptions{});
  ASSERT_TRUE(nv.info().axis);
  const FieldAxis u = *nv.info().axis;
  EXPECT_NEAR(u.x * u.x + u.y * u.y + u.z * u.z, 1.0, 1e-15);
  const std::optional<FieldAxis> z = FieldMapsReader(path("z.h5"), FieldMapsOptions{}).info().axis;
  ASSERT_TRUE(z);
  EXPECT_TRUE(z->is_z());
  EXPECT_THROW(FieldMapsReader(path("long.h5"), FieldMapsOptions{}), InvalidInput);
}

TEST_F(Io, MagnetizationMapsAndFieldFiles) {
  const std::vector<double> mx(2 * 4 * 5, 0.6), my(2 * 4 * 5, 0.0), mz(2 * 4 * 5, 0.8);
  write_maps(path("m.h5"), {2, 4, 5}, mx, my, mz);
  const MagnetizationMaps maps = read_magnetization(path("m.h5"));
  EXPECT_EQ(maps.n, 2);
  EXPECT_EQ(maps.ny, 4);
  EXPECT_EQ(maps.nx, 5);
  EXPECT_TRUE(maps.batched);
  EXPECT_DOUBLE_EQ(maps.attributes.standoff_m.value.value_or(0), 7e-8);
  EXPECT_DOUBLE_EQ(maps.attributes.Ms_A_per_m.value.value_or(0), 4.8e5);
  EXPECT_TRUE(maps.attributes.Ms_A_per_m.problem.empty());
  write_field(path("b.h5"), std::vector<double>(40, 1e-3), 2, 4, 5, true, FilmGeometry{5e-8, 7e-8, 1e-9, 4.8e5},
              ForwardMethod::Exact);
  h5::File f = h5::File::open(path("b.h5"));
  EXPECT_EQ(f.dims("Bz"), (std::vector<int64_t>{2, 4, 5}));
  EXPECT_EQ(f.attr_string("Bz", "unit").value_or(""), "T");
  EXPECT_DOUBLE_EQ(f.attr_double("/", "thickness_m").value_or(0), 1e-9);
  expect_only({"m.h5", "b.h5"});
}

TEST_F(Io, BadFilesGiveClearErrors) {
  EXPECT_THROW(read_magnetization(path("missing.h5")), InvalidInput);
  std::ofstream(path("text.h5")) << "not hdf5";
  EXPECT_THROW(read_magnetization(path("text.h5")), InvalidInput);
  EXPECT_THROW(read_training_set(path("text.h5")), InvalidInput);
  {
    h5::File f = h5::File::create(path("no_mz.h5"));
    const std::vector<double> v(12, 0.0);
    f.write("mx", {3, 4}, v.data());
    f.write("my", {3, 4}, v.data());
    f.write("m_z", {3, 4}, v.data());
  }
  EXPECT_THROW(read_magnetization(path("no_mz.h5")), InvalidInput);
  const std::vector<double> a(12, 0.0), b(20, 0.0);
  write_maps(path("mismatch.h5"), {3, 4}, a, a, a);
  {
    h5::File f = h5::File::create(path("mismatch2.h5"));
    f.write("mx", {3, 4}, a.data());
    f.write("my", {3, 4}, a.data());
    f.write("mz", {4, 5}, b.data());
  }
  EXPECT_THROW(read_magnetization(path("mismatch2.h5")), InvalidInput);
  {
    h5::File f = h5::File::create(path("rank4.h5"));
    const std::vector<double> c(16, 0.0);
    for (const char* name : {"mx", "my", "mz"}) f.write(name, {1, 2, 2, 4}, c.data());
  }
  EXPECT_THROW(read_magnetization(path("rank4.h5")), InvalidInput);
  std::vector<double> nan_map(12, 0.0), big(12, 0.0);
  nan_map[5] = NAN;
  big[7] = 1.01;
  write_maps(path("nan.h5"), {3, 4}, nan_map, a, a);
  write_maps(path("big.h5"), {3, 4}, a, big, a);
  EXPECT_THROW(read_magnetization(path("nan.h5")), InvalidInput);
  EXPECT_THROW(read_magnetization(path("big.h5")), InvalidInput);
  std::vector<double> rounding(12, 0.0);
  rounding[0] = 1.0 + 1e-9;  // |m| = 1 up to rounding is fine
  write_maps(path("round.h5"), {3, 4}, rounding, a, a);
  EXPECT_NO_THROW(read_magnetization(path("round.h5")));
  EXPECT_THROW(write_field(path("no/such/dir/b.h5"), a, 1, 3, 4, false, FilmGeometry{1, 1, 1, 1}, ForwardMethod::Exact),
               InvalidInput);
}

std::string write_text(const fs::path& p, const std::string& text) {
  std::ofstream(p) << text;
  return p.string();
}

TEST_F(Io, SeedConfigEqualsTheBuiltInDefaults) {
  const Config file = load_config(std::string(MAGCNN_SOURCE_DIR) + "/configs/seed.toml"), built_in = default_config();
  EXPECT_EQ(file.data.count, built_in.data.count);
  EXPECT_EQ(file.data.seed, built_in.data.seed);
  EXPECT_EQ(file.data.img_size, built_in.data.img_size);
  EXPECT_EQ(file.data.finer_grid, built_in.data.finer_grid);
  EXPECT_EQ(file.data.rmax, built_in.data.rmax);
  EXPECT_EQ(file.data.thickness_over_standoff, built_in.data.thickness_over_standoff);
  EXPECT_EQ(file.data.target, built_in.data.target);
  EXPECT_EQ(file.network.base_channels, built_in.network.base_channels);
  EXPECT_EQ(file.training.learning_rate, built_in.training.learning_rate);
  EXPECT_EQ(file.training.target_loss, built_in.training.target_loss);
}

TEST_F(Io, ConfigErrorsNameFileAndLine) {
  const auto expect_error = [](const std::string& file, const std::string& needle) {
    try {
      load_config(file);
      ADD_FAILURE() << "no error for " << file;
    } catch (const InvalidInput& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error(write_text(dir / "a.toml", "[data]\ncount = 10\ncout = 3\n"), "a.toml:3: unknown key 'data.cout'");
  expect_error(write_text(dir / "b.toml", "[dataset]\ncount = 10\n"), "unknown section 'dataset'");
  expect_error(write_text(dir / "c.toml", "[data]\ncount = \"many\"\n"), "c.toml:2: data.count must be an integer");
  expect_error(write_text(dir / "d.toml", "[data]\ntarget = \"angle\"\n"), "d.toml:2: data.target");
  expect_error(write_text(dir / "e.toml", "[data\n"), "e.toml:1");
  expect_error(write_text(dir / "f.toml", "[data]\nthickness_over_standoff = -1\n"), "thickness_over_standoff");
  expect_error(path("none.toml"), "does not exist");
  const Config ok = load_config(write_text(dir / "ok.toml", "[data]\ncount = 7\nrmax = 3\n"));
  EXPECT_EQ(ok.data.count, 7);
  EXPECT_EQ(ok.data.rmax, 3.0);  // integers are numbers too
  EXPECT_EQ(ok.data.img_size, 32);
}

}  // namespace
}  // namespace magcnn::test
