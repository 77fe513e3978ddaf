// Fuzzing the HDF5 readers (training sets in both layouts, magnetization maps, model files): valid files truncated and
// mutated byte by byte, and a table of odd types, ranks and shapes. Every read must end in a correct
// result or a magcnn error whose message names the problem without internals; a crash, a sanitizer
// report, or any other exception fails. CI runs a small fixed corpus (under ASan/UBSan too); longer runs:
//   MAGCNN_FUZZ_ITERATIONS=20000 MAGCNN_FUZZ_SEED=7 ./build/tests/test_fuzz
// MAGCNN_FUZZ_VERBOSE=1 names each input; MAGCNN_FUZZ_KEEP=N copies the inputs of iterations N and later to the temp folder.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>

#include "h5_builder.h"
#include "magcnn/dataset_io.h"
#include "magcnn/device.h"
#include "magcnn/model_io.h"
#include "magcnn/trainer.h"
#include "temp_dir.h"

namespace magcnn::test {
namespace {

namespace fs = std::filesystem;

int64_t env_or(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::stoll(v) : fallback;
}

std::vector<char> read_bytes(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return std::vector<char>(std::istreambuf_iterator<char>(in), {});
}
void write_bytes(const std::string& p, const std::vector<char>& bytes) {
  std::ofstream(p, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

struct Outcome {
  int accepted = 0, refused = 0;
};

// Runs `read`: it must return (its own checks passed) or refuse the file with InvalidInput and a clean
// message. Any other error (a failing library call, an internal error such as a sanitizer report in the
// checking child process) fails.
void expect_clean(const std::function<void()>& read, const std::string& what, Outcome& outcome) {
  try {
    read();
    ++outcome.accepted;
  } catch (const InvalidInput& e) {
    ++outcome.refused;
    const std::string m = e.what();
    for (const char* internal : {".cpp", "failed at", "MAGCNN_", "std::"})
      ASSERT_EQ(m.find(internal), std::string::npos) << what << ": internal detail '" << internal << "' in: " << m;
    ASSERT_FALSE(m.empty()) << what;
  } catch (const std::exception& e) {
    FAIL() << what << ": not a magcnn error: " << e.what();
  }
}

void check_training_set(const std::string& p) {
  const TrainingSet s = read_training_set(p);
  ASSERT_GE(s.count, 1);
  ASSERT_EQ(static_cast<int64_t>(s.b.size()), s.count * s.ny * s.nx);
  ASSERT_EQ(s.m.size(), s.b.size());
  for (const float v : s.b) ASSERT_TRUE(std::isfinite(v));
  for (const float v : s.m) ASSERT_TRUE(std::isfinite(v));
  ASSERT_TRUE(s.theta.empty() || static_cast<int64_t>(s.theta.size()) == s.count);
}

void check_maps(const std::string& p) {
  const MagnetizationMaps m = read_magnetization(p);
  ASSERT_EQ(static_cast<int64_t>(m.mx.size()), m.n * m.ny * m.nx);
  for (std::size_t i = 0; i < m.mx.size(); ++i) {
    const double norm = std::sqrt(m.mx[i] * m.mx[i] + m.my[i] * m.my[i] + m.mz[i] * m.mz[i]);
    ASSERT_LE(norm, 1 + m.tolerance + 1e-12);
  }
}

// A model file must load whole: every tensor of its own architecture, finite, into parameters of it.
void check_model(const std::string& p) {
  const ModelFile m = load_model(p);
  auto cpu = make_cpu_backend();
  Parameters params(*cpu, NetworkSpec::from(m.config.network), DType::F32);
  load_parameters(m, params);
  ASSERT_EQ(static_cast<int64_t>(m.values.size()), params.count());
  ASSERT_EQ(static_cast<int64_t>(m.state.adam_v.size()), params.count());
  for (const double v : m.values) ASSERT_TRUE(std::isfinite(v));
}

class Fuzz : public TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    auto cpu = make_cpu_backend();
    GeneratorSettings s;
    s.count = 5;
    s.img_size = 8;
    s.seed = 3;
    Generator gen(*cpu, s);
    TrainingSetWriter writer(path("set.h5"), s, "fuzz");
    SampleBatch batch;
    gen.next(5, batch);
    writer.append(batch);
    writer.commit();
    {
      H5Builder b(path("maps.h5"));
      std::vector<double> v(2 * 6 * 7);
      for (std::size_t i = 0; i < v.size(); ++i) v[i] = 0.5 * std::cos(0.3 * static_cast<double>(i));
      for (const char* c : {"mx", "my", "mz"}) b.doubles(c, {2, 6, 7}, v);
      b.attr("/", "pixel_size_m", {5e-8});
      b.attr("mz", "standoff_m", {7e-8});
    }
    {  // a small network after one epoch on the set above
      NetworkSpec spec;
      spec.base_channels = 2;
      TrainSettings t;
      t.batch_size = 2;
      t.validation_batch = 2;
      Trainer trainer(*cpu, spec, t, 8, 8, 3, 2);
      trainer.train_inputs().upload(std::vector<float>(batch.b.begin(), batch.b.begin() + 3 * 64));
      trainer.train_targets().upload(std::vector<float>(batch.target.begin(), batch.target.begin() + 3 * 64));
      trainer.validation_inputs().upload(std::vector<float>(batch.b.begin() + 3 * 64, batch.b.end()));
      trainer.validation_targets().upload(std::vector<float>(batch.target.begin() + 3 * 64, batch.target.end()));
      trainer.run_epoch(nullptr, nullptr);
      Config config;
      config.network.base_channels = 2;
      save_model(path("model.h5"), config, trainer.parameters(), trainer.state(), 8, 8, "fuzz");
    }
    {
      H5Builder b(path("orig.h5"));
      b.doubles("Bz", {3, 64}, std::vector<double>(192, 2e-17));
      b.doubles("mloc", {3, 64}, std::vector<double>(192, 0.5));
      b.doubles("Theta", {3, 1}, {0.1, 0.2, 0.3});
      b.doubles("Phi", {3, 1}, {1.1, 1.2, 1.3});
    }
  }
};

TEST_F(Fuzz, MutatedAndTruncatedFiles) {
  const int64_t iterations = env_or("MAGCNN_FUZZ_ITERATIONS", 150);
  const uint64_t seed = static_cast<uint64_t>(env_or("MAGCNN_FUZZ_SEED", 20261125));
  const bool verbose = env_or("MAGCNN_FUZZ_VERBOSE", 0) != 0;
  const int64_t keep_iteration = env_or("MAGCNN_FUZZ_KEEP", -1);
  std::cout << "[ fuzz     ] MAGCNN_FUZZ_SEED=" << seed << " MAGCNN_FUZZ_ITERATIONS=" << iterations << std::endl;
  std::mt19937_64 rng(seed);
  const std::pair<const char*, std::function<void(const std::string&)>> targets[] = {
      {"set.h5", check_training_set}, {"orig.h5", check_training_set}, {"maps.h5", check_maps}, {"model.h5", check_model}};
  Outcome outcome;
  for (int64_t it = 0; it < iterations; ++it) {
    for (const auto& [name, check] : targets) {
      std::vector<char> bytes = read_bytes(path(name));
      const std::size_t size = bytes.size();
      std::string how;
      switch (rng() % 4) {
        case 0: {  // truncated
          bytes.resize(rng() % size);
          how = "truncated to " + std::to_string(bytes.size());
          break;
        }
        case 1: {  // a few bytes flipped
          const int flips = 1 + static_cast<int>(rng() % 16);
          for (int k = 0; k < flips; ++k) bytes[rng() % size] ^= static_cast<char>(1 + rng() % 255);
          how = std::to_string(flips) + " bytes flipped";
          break;
        }
        case 2: {  // an 8-byte word set to an extreme
          const uint64_t words[] = {0, ~uint64_t{0}, 0x7fffffffffffffffull, 0x7ff8000000000000ull, rng()};
          const uint64_t w = words[rng() % 5];
          const std::size_t at = (rng() % (size / 8)) * 8;
          std::memcpy(&bytes[at], &w, 8);
          how = "word at " + std::to_string(at) + " overwritten";
          break;
        }
        default: {  // a block copied over another
          const std::size_t len = 1 + rng() % 256, from = rng() % (size - len), to = rng() % (size - len);
          std::memmove(&bytes[to], &bytes[from], len);
          how = std::to_string(len) + " bytes moved";
          break;
        }
      }
      // A new file each time: HDF5 recognises a file it still holds open by its inode, and a damaged file
      // can fail to close (magcnn reports that); rewriting one file in place would make every later read
      // share that stale state, which no user's single read can meet.
      const std::string mutated = path("mutated_" + std::to_string(it) + "_" + name);
      write_bytes(mutated, bytes);
      if (verbose) std::cout << "[ fuzz     ] " << name << ", iteration " << it << ", " << how << std::endl;
      if (keep_iteration >= 0 && it >= keep_iteration) {  // to reproduce inputs outside the test
        const fs::path kept = fs::temp_directory_path() / ("magcnn_fuzz_" + std::to_string(it) + "_" + name);
        fs::copy_file(mutated, kept, fs::copy_options::overwrite_existing);
        std::cout << "[ fuzz     ] kept as " << kept.string() << std::endl;
      }
      expect_clean([&] { check(mutated); }, std::string(name) + ", iteration " + std::to_string(it) + ", " + how, outcome);
      if (HasFatalFailure()) {
        // Keep the file that failed, to reproduce it outside the test.
        const fs::path kept = fs::temp_directory_path() / ("magcnn_fuzz_failure_" + std::string(name));
        fs::copy_file(mutated, kept, fs::copy_options::overwrite_existing);
        std::cout << "[ fuzz     ] failing input kept as " << kept.string() << std::endl;
        return;
      }
      fs::remove(mutated);
    }
  }
  std::cout << "[ fuzz     ] " << outcome.accepted << " read, " << outcome.refused << " refused" << std::endl;
  EXPECT_GT(outcome.refused, 0);
}

// Odd types, ranks and shapes where the readers expect floats of a given shape.
TEST_F(Fuzz, OddTypesRanksAndShapes) {
  Outcome outcome;
  const auto maps_with = [&](const std::function<void(H5Builder&)>& make) {
    {
      H5Builder b(path("odd.h5"));
      make(b);
    }
    expect_clean([&] { check_maps(path("odd.h5")); }, "maps", outcome);
  };
  const std::vector<double> v(12, 0.25);
  const hid_t types[] = {H5T_STD_I8LE, H5T_STD_U64BE, H5T_IEEE_F32BE, H5Builder::float16(), H5T_STD_I32LE};
  for (const hid_t type : types)
    maps_with([&](H5Builder& b) {
      for (const char* c : {"mx", "my", "mz"}) b.dataset(c, {3, 4}, type, v);
    });
  maps_with([&](H5Builder& b) {
    b.string_dataset("mx");
    b.doubles("my", {4}, std::vector<double>(4, 0.1));
    b.doubles("mz", {4}, std::vector<double>(4, 0.1));
  });
  for (const std::vector<hsize_t>& dims :
       std::vector<std::vector<hsize_t>>{{}, {12}, {1, 1, 3, 4}, {0, 3, 4}, {3, 0}, {1, 1, 1, 1, 1, 12}})
    maps_with([&](H5Builder& b) {
      hsize_t n = 1;
      for (const hsize_t d : dims) n *= d;
      for (const char* c : {"mx", "my", "mz"}) b.doubles(c, dims, std::vector<double>(n, 0.1));
    });
  maps_with([&](H5Builder& b) {
    const hid_t compound = H5Tcreate(H5T_COMPOUND, 16);
    H5Tinsert(compound, "a", 0, H5T_NATIVE_DOUBLE);
    H5Tinsert(compound, "b", 8, H5T_NATIVE_DOUBLE);
    const hsize_t dims[2] = {3, 4};
    const hid_t space = H5Screate_simple(2, dims, nullptr);
    for (const char* c : {"mx", "my", "mz"}) H5Dclose(H5Dcreate2(b.id(), c, compound, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    H5Sclose(space);
    H5Tclose(compound);
  });
  maps_with([&](H5Builder& b) {
    const hid_t space = H5Screate(H5S_NULL);
    for (const char* c : {"mx", "my", "mz"})
      H5Dclose(H5Dcreate2(b.id(), c, H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    H5Sclose(space);
  });
  EXPECT_GT(outcome.refused, 8);
  EXPECT_GE(outcome.accepted, 4) << "integer, big-endian and float16 maps are maps";
}

// Data reached through a link into another file (valid there, never checked) is refused, also when a soft
// link leads to the external one.
TEST_F(Fuzz, LinksToOtherFilesAreNotFollowed) {
  {
    H5Builder elsewhere(path("elsewhere.h5"));
    for (const char* c : {"mx", "my", "mz"}) elsewhere.doubles(c, {3, 4}, std::vector<double>(12, 0.2));
  }
  for (const bool through_soft_link : {false, true}) {
    {
      H5Builder b(path("linked.h5"));
      for (const char* c : {"my", "mz"}) b.doubles(c, {3, 4}, std::vector<double>(12, 0.2));
      const char* name = through_soft_link ? "mx_external" : "mx";
      H5Lcreate_external(path("elsewhere.h5").c_str(), "/mx", b.id(), name, H5P_DEFAULT, H5P_DEFAULT);
      if (through_soft_link) H5Lcreate_soft("/mx_external", b.id(), "mx", H5P_DEFAULT, H5P_DEFAULT);
    }
    try {
      read_magnetization(path("linked.h5"));
      ADD_FAILURE() << "followed a link into another file";
    } catch (const InvalidInput& e) {
      EXPECT_NE(std::string(e.what()).find("link to another file"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace magcnn::test
