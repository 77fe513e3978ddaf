// The engine's readers, writers and models against hostile input, in process (issue 10): attributes that
// are arrays, strings or empty; training sets with mismatched lengths or non-finite values; writers given
// non-finite values; the forward model allocating nothing after construction whatever its batch; FFT sizes
// for awkward multiples; outputs that are not files; a requested stop refusing to commit.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "counting_backend.h"
#include "h5_builder.h"
#include "h5file.h"
#include "magcnn/atomic_output.h"
#include "magcnn/dataset_io.h"
#include "magcnn/device.h"
#include "magcnn/interrupt.h"
#include "reference.h"
#include "temp_dir.h"

namespace magcnn::test {
namespace {

namespace fs = std::filesystem;
using HostileFiles = TempDirTest;

// The message of the InvalidInput that `f` throws ("" and a test failure if it throws nothing or another type).
template <class F>
std::string refusal(F&& f) {
  try {
    f();
  } catch (const InvalidInput& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not an InvalidInput: " << e.what();
    return "";
  }
  ADD_FAILURE() << "accepted";
  return "";
}

TEST_F(HostileFiles, AttributesMustHoldOneValueOfTheirKind) {
  {
    H5Builder b(path("a.h5"));
    b.doubles("mz", {2, 2}, {0, 0, 0, 0});
    b.attr("/", "array2", {1, 2}, false);
    b.attr("/", "array4096", std::vector<double>(4096, 5e-8), false);
    b.attr("/", "one_element_array", {3.5}, false);
    b.attr("/", "scalar", {2.5});
    b.null_attr("/", "empty");
    b.attr_strings("/", "text", {"fifty nm"}, false);
    b.attr_strings("/", "texts", {"a", "bb", "ccc"}, false);
    b.attr_strings("/", "vtexts", {"a", "bb"}, true);
    b.attr_strings("/", "vtext", {"variable"}, true);
    b.attr_int64("mz", "negative_seed", -3);
    b.attr("mz", "float_seed", {3});
    b.attr_uint64("/", "seed", 18446744073709551615ull);
  }
  const h5::File f = h5::File::open(path("a.h5"));
  EXPECT_NE(f.attr_number("/", "array2").problem.find("holds 2 values; it must hold exactly one"), std::string::npos);
  EXPECT_NE(f.attr_number("/", "array4096").problem.find("holds 4096 values"), std::string::npos);
  EXPECT_NE(f.attr_number("/", "empty").problem.find("holds 0 values"), std::string::npos);
  EXPECT_NE(f.attr_number("/", "text").problem.find("is a string; it must be a number"), std::string::npos);
  EXPECT_FALSE(f.attr_number("/", "array2").value);
  EXPECT_EQ(f.attr_number("/", "one_element_array").value.value_or(0), 3.5);
  EXPECT_EQ(f.attr_double("/", "scalar").value_or(0), 2.5);
  EXPECT_FALSE(f.attr_double("/", "absent"));
  EXPECT_TRUE(f.attr_number("/", "absent").problem.empty());
  EXPECT_NE(refusal([&] { f.attr_double("/", "array4096"); }).find("a.h5: attribute 'array4096'"), std::string::npos);
  EXPECT_NE(refusal([&] { f.attr_string("/", "texts"); }).find("holds 3 values"), std::string::npos);
  EXPECT_NE(refusal([&] { f.attr_string("/", "vtexts"); }).find("holds 2 values"), std::string::npos);
  EXPECT_NE(refusal([&] { f.attr_string("/", "scalar"); }).find("is a float64; it must be a string"), std::string::npos);
  EXPECT_EQ(f.attr_string("/", "text").value_or(""), "fifty nm");
  EXPECT_EQ(f.attr_string("/", "vtext").value_or(""), "variable");
  EXPECT_EQ(f.attr_uint64("/", "seed").value_or(0), 18446744073709551615ull);
  EXPECT_NE(refusal([&] { f.attr_uint64("mz", "negative_seed"); }).find("= -3; it must not be negative"), std::string::npos);
  EXPECT_NE(refusal([&] { f.attr_uint64("mz", "float_seed"); }).find("is a float64; it must be an integer"), std::string::npos);
}

TEST_F(HostileFiles, GeometryValuesComeFromTheRightSource) {
  AttributeValue malformed{std::nullopt, "m.h5: attribute 'standoff_m' holds 2 values; it must hold exactly one"};
  AttributeValue zero{0.0, ""}, fine{7e-8, ""}, absent{};
  EXPECT_EQ(resolve_geometry_value("standoff_m", "--standoff", 5e-8, malformed, 9e-8, "m.h5"), 5e-8);
  EXPECT_NE(refusal([&] { resolve_geometry_value("standoff_m", "--standoff", std::nullopt, malformed, 9e-8, "m.h5"); })
                .find("pass --standoff to override it"),
            std::string::npos);
  EXPECT_NE(refusal([&] { resolve_geometry_value("standoff_m", "--standoff", std::nullopt, zero, 9e-8, "m.h5"); })
                .find("m.h5: attribute standoff_m: standoff = 0 m"),
            std::string::npos);
  EXPECT_EQ(resolve_geometry_value("standoff_m", "--standoff", std::nullopt, fine, 9e-8, "m.h5"), 7e-8);
  EXPECT_EQ(resolve_geometry_value("standoff_m", "--standoff", std::nullopt, absent, 9e-8, "m.h5"), 9e-8);
  EXPECT_NE(refusal([&] { resolve_geometry_value("standoff_m", "--standoff", std::nullopt, absent, std::nullopt, "m.h5"); })
                .find("has no attribute standoff_m"),
            std::string::npos);
  EXPECT_NE(refusal([&] { resolve_geometry_value("Ms_A_per_m", "--Ms", -1.0, absent, std::nullopt, "m.h5"); }).find("--Ms: Ms = -1"),
            std::string::npos);
  EXPECT_NE(refusal([] { FilmGeometry{1e-9, 1e-3, 1e-9, 1e5}.validate(); }).find("standoff / pixel size = 1e+06"),
            std::string::npos);
  EXPECT_NE(refusal([] { FilmGeometry{1e-6, 1e-6, 1e-13, 1e5}.validate(); }).find("thickness / pixel size = 1e-07"),
            std::string::npos);
  EXPECT_NO_THROW((FilmGeometry{1e-6, 1e-9, 1e-12, 1e5}.validate()));  // the limits themselves are accepted
}

// A training set in our layout, written with HDF5 directly so that each part can be made wrong.
void write_set(const std::string& p, hsize_t n, hsize_t side, const std::vector<double>& bz, hsize_t theta_count,
               const std::string& target = "shape") {
  H5Builder b(p);
  std::vector<double> m(n * side * side, 0.0);
  b.dataset("Bz", {n, side, side}, H5T_IEEE_F32LE, bz);
  b.dataset("m", {n, side, side}, H5T_IEEE_F32LE, m);
  b.doubles("theta", {theta_count}, std::vector<double>(theta_count, 0.5));
  b.doubles("phi", {n}, std::vector<double>(n, 0.5));
  b.attr_strings("/", "target", {target}, false);
}

TEST_F(HostileFiles, TrainingSetsAreCheckedBeforeUse) {
  std::vector<double> bz(3 * 16, 0.01);
  write_set(path("ok.h5"), 3, 4, bz, 3);
  EXPECT_EQ(read_training_set(path("ok.h5")).count, 3);
  write_set(path("theta.h5"), 3, 4, bz, 2);
  EXPECT_NE(refusal([&] { read_training_set(path("theta.h5")); }).find("dataset 'theta' holds 2 values; it must hold one per sample (3)"),
            std::string::npos);
  bz[21] = NAN;
  write_set(path("nan.h5"), 3, 4, bz, 3);
  EXPECT_NE(refusal([&] { read_training_set(path("nan.h5")); }).find("Bz is nan at map 1, row 1, column 1"), std::string::npos);
  bz[21] = INFINITY;
  write_set(path("inf.h5"), 3, 4, bz, 3);
  EXPECT_NE(refusal([&] { read_training_set(path("inf.h5")); }).find("Bz is inf at map 1"), std::string::npos);
  write_set(path("target.h5"), 3, 4, std::vector<double>(48, 0.0), 3, "angle");
  EXPECT_NE(refusal([&] { read_training_set(path("target.h5")); }).find("target = 'angle'"), std::string::npos);
  write_set(path("empty.h5"), 0, 4, {}, 0);
  EXPECT_NE(refusal([&] { read_training_set(path("empty.h5")); }).find("holds no samples"), std::string::npos);
  {
    H5Builder b(path("orig.h5"));
    b.doubles("Bz", {3, 16}, std::vector<double>(48, 1e-16));
    b.doubles("mloc", {3, 16}, std::vector<double>(48, 0.0));
    b.doubles("Theta", {3, 1}, {0.1, 0.2, 0.3});
    b.doubles("Phi", {2, 1}, {0.1, 0.2});
  }
  EXPECT_NE(refusal([&] { read_training_set(path("orig.h5")); }).find("'Phi' holds 2 values"), std::string::npos);
  {
    H5Builder b(path("group.h5"));
    b.group("Bz");
  }
  EXPECT_NE(refusal([&] { read_training_set(path("group.h5")); }).find("'Bz' is a group, not a dataset"), std::string::npos);
  EXPECT_NE(refusal([&] { read_training_set(dir.string()); }).find("is not a regular file"), std::string::npos);
}

TEST_F(HostileFiles, WritersRefuseNonFiniteValues) {
  const FilmGeometry g{5e-8, 7e-8, 1e-9, 4.8e5};
  std::vector<double> bz(2 * 3 * 4, 1e-3);
  bz[17] = NAN;
  EXPECT_NE(refusal([&] { write_field(path("b.h5"), bz, 2, 3, 4, true, g, ForwardMethod::Exact); })
                .find("computed Bz is nan at map 1, row 1, column 1"),
            std::string::npos);
  bz[17] = 1e300;  // finite in double, not in the float32 file
  EXPECT_NE(refusal([&] { write_field(path("b.h5"), bz, 2, 3, 4, true, g, ForwardMethod::Exact); }).find("is inf"), std::string::npos);
  GeneratorSettings s;
  s.count = 4;
  s.img_size = 4;
  {
    TrainingSetWriter writer(path("s.h5"), s, "test");
    SampleBatch batch;
    batch.count = 2;
    batch.b.assign(32, 0.1f);
    batch.target.assign(32, 0.0f);
    batch.params.assign(2 * kStoredEllipseParams, 0.5);
    batch.b[9] = -INFINITY;
    EXPECT_NE(refusal([&] { writer.append(batch); }).find("generated field b is -inf at map 0, row 2, column 1"), std::string::npos);
  }
  expect_only({});
}

TEST_F(HostileFiles, OutputPathsAreCheckedFirst) {
  std::ofstream(path("in.h5")) << "x";
  ASSERT_EQ(::mkfifo(path("fifo").c_str(), 0644), 0);
  EXPECT_FALSE(check_output_path(path("new.h5")));
  EXPECT_TRUE(check_output_path(path("in.h5")));
  EXPECT_NE(refusal([&] { check_output_path(path("fifo")); }).find("not a regular file"), std::string::npos);
  EXPECT_NE(refusal([&] { check_output_path(dir.string()); }).find("is a directory"), std::string::npos);
  EXPECT_NE(refusal([&] { check_output_path(path("no/such/b.h5")); }).find("does not exist"), std::string::npos);
  EXPECT_NE(refusal([&] { check_output_path(path("./in.h5"), {path("in.h5")}); }).find("is the input file"), std::string::npos);
  EXPECT_NE(refusal([&] { check_output_path(path(std::string(256, 'x'))); }).find("longer than 255"), std::string::npos);
  // The temporary name of the longest legal name is legal too.
  AtomicOutput longest(path(std::string(255, 'y')));
  EXPECT_LE(fs::path(longest.temporary()).filename().string().size(), 255u);
  std::ofstream(longest.temporary()) << "done";
  longest.commit();
  EXPECT_TRUE(fs::exists(path(std::string(255, 'y'))));
}

TEST_F(HostileFiles, AStopRequestPreventsTheCommit) {
  {
    AtomicOutput out(path("o.h5"));
    std::ofstream(out.temporary()) << "partial";
    request_interrupt(SIGTERM);
    try {
      out.commit();
      ADD_FAILURE() << "committed after a stop request";
    } catch (const Interrupted& e) {
      EXPECT_EQ(e.exit_code(), 143);
    }
    clear_interrupt();
  }
  expect_only({});
}

TEST(HostileModel, ComputeAllocatesAndPlansNothingWhateverTheBatch) {
  CountingBackend backend(make_cpu_backend());
  ForwardOptions options;
  options.max_batch = 5;
  ForwardModel model(backend, FilmGeometry{1, 1, 0.1, 1}, 12, 10, options);
  const int allocations = backend.allocations, plans = backend.plans;
  EXPECT_EQ(plans, 2) << "one forward and one inverse plan, for max_batch";
  Tensor mx(backend, DType::F64, Shape{5, 12, 10}), bz(backend, DType::F64, Shape{5, 12, 10});
  std::mt19937_64 rng(fresh_seed());
  std::uniform_real_distribution<double> u(-0.5, 0.5);
  std::vector<double> values(5 * 120);
  for (double& v : values) v = u(rng);
  mx.upload(values);
  const int before = backend.allocations;
  std::vector<std::vector<double>> fields;
  for (const int64_t n : {5, 1, 3, 2, 5}) {
    const TensorView m = mx.view().slice(0, n), b = bz.view().slice(0, n);
    model.compute(m, m, m, b);
    const std::vector<double> all = bz.to_host<double>();
    fields.emplace_back(all.begin(), all.begin() + n * 120);
  }
  EXPECT_EQ(backend.allocations, before) << "compute allocated";
  EXPECT_EQ(backend.plans, plans) << "compute planned";
  (void)allocations;
  // A partial batch gives the same maps as a full one.
  for (std::size_t k = 1; k < fields.size(); ++k)
    for (std::size_t i = 0; i < fields[k].size(); ++i) ASSERT_EQ(fields[k][i], fields[0][i]) << "batch " << k << " value " << i;
}

TEST(HostileModel, FftSizesForAnyMultiple) {
  std::mt19937_64 rng(fresh_seed());
  for (int trial = 0; trial < 2000; ++trial) {
    const int64_t multiple = 1 + static_cast<int64_t>(rng() % 40), minimum = 1 + static_cast<int64_t>(rng() % 5000);
    const int64_t n = fft_friendly_size(minimum, multiple);
    ASSERT_GE(n, minimum);
    ASSERT_EQ(n % multiple, 0);
    int64_t r = n / multiple;
    for (const int64_t p : {2, 3, 5, 7})
      while (r % p == 0) r /= p;
    ASSERT_EQ(r, 1) << n << " = " << multiple << " x a number with a prime factor above 7";
    for (int64_t smaller = (minimum + multiple - 1) / multiple * multiple; smaller < n; smaller += multiple) {
      int64_t q = smaller / multiple;
      for (const int64_t p : {2, 3, 5, 7})
        while (q % p == 0) q /= p;
      ASSERT_NE(q, 1) << smaller << " would do, " << n << " was chosen";
    }
  }
  EXPECT_EQ(fft_friendly_size(23, 22), 44);
  EXPECT_THROW(fft_friendly_size(int64_t{1} << 60, 22), InvalidInput);
}

TEST(HostileModel, MapsTooLargeForMemoryAreRefusedBeforeAllocating) {
  CountingBackend backend(make_cpu_backend());
  ForwardOptions options;
  const std::string message = refusal([&] { ForwardModel(backend, FilmGeometry{1, 1, 0.1, 1}, 1 << 20, 1 << 20, options); });
  EXPECT_NE(message.find("needs"), std::string::npos) << message;
  EXPECT_NE(message.find("of host memory"), std::string::npos) << message;
  EXPECT_EQ(backend.allocations, 0);
  EXPECT_NE(refusal([&] { ForwardModel(backend, FilmGeometry{1, 1, 0.1, 1}, int64_t{1} << 40, 8, options); }).find("larger than"),
            std::string::npos);
  EXPECT_THROW(Shape({int64_t{1} << 40, int64_t{1} << 40}), InvalidInput);
}

}  // namespace
}  // namespace magcnn::test
