// The trainer on the CPU: a short run whose loss falls; the same bits for the same seed; a run stopped
// mid-epoch, saved, loaded and resumed gives exactly the numbers of an uninterrupted one; model files
// round-trip and refuse other architectures and damage; steps allocate nothing.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <filesystem>
#include <fstream>

#include "counting_backend.h"
#include "magcnn/device.h"
#include "magcnn/dataset_io.h"
#include "magcnn/generator.h"
#include "magcnn/model_io.h"
#include "magcnn/trainer.h"
#include "reference.h"
#include "temp_dir.h"

namespace magcnn::test {
namespace {

namespace fs = std::filesystem;

struct SmallRun {
  NetworkSpec spec;
  TrainSettings settings;
  int64_t side = 16, n_train = 40, n_val = 24;
  SmallRun() {
    spec.base_channels = 8;
    settings.batch_size = 6;  // 40 = 6 x 6 + 4: a partial last batch
    settings.validation_batch = 10;  // 24 = 2 x 10 + 4
    settings.epochs = 4;
    settings.adam.learning_rate = 3e-3;
    settings.seed = 11;
  }
};

// Fills a trainer's sets with the generator's samples (seed fixed: the same data for every trainer).
void fill(Trainer& t, Backend& backend, const SmallRun& r) {
  GeneratorSettings g;
  g.img_size = r.side;
  g.count = r.n_train + r.n_val;
  g.seed = 5;
  Generator gen(backend, g);
  SampleBatch b;
  gen.next(g.count, b);
  const int64_t plane = r.side * r.side;
  const auto part = [&](const std::vector<float>& v, int64_t first, int64_t count) {
    return std::vector<float>(v.begin() + first * plane, v.begin() + (first + count) * plane);
  };
  t.train_inputs().upload(part(b.b, 0, r.n_train));
  t.train_targets().upload(part(b.target, 0, r.n_train));
  t.validation_inputs().upload(part(b.b, r.n_train, r.n_val));
  t.validation_targets().upload(part(b.target, r.n_train, r.n_val));
}

std::vector<float> params_of(Trainer& t) { return t.parameters().values().to_host<float>(); }

TEST(Trainer, LossFallsAndRunsAreReproducible) {
  auto cpu = make_cpu_backend();
  SmallRun r;
  Trainer a(*cpu, r.spec, r.settings, r.side, r.side, r.n_train, r.n_val), b(*cpu, r.spec, r.settings, r.side, r.side, r.n_train, r.n_val);
  fill(a, *cpu, r);
  fill(b, *cpu, r);
  const double before = a.validate();
  for (int e = 0; e < 4; ++e) {
    ASSERT_TRUE(a.run_epoch(nullptr, nullptr));
    ASSERT_TRUE(b.run_epoch(nullptr, nullptr));
  }
  const auto& h = a.history();
  ASSERT_EQ(h.size(), 4u);
  EXPECT_LT(h.back().train_mse, h.front().train_mse);
  EXPECT_LT(h.back().validation_mse, before);
  for (std::size_t i = 0; i < h.size(); ++i) {
    EXPECT_EQ(h[i].train_mse, b.history()[i].train_mse) << "epoch " << i + 1;
    EXPECT_EQ(h[i].validation_mse, b.history()[i].validation_mse) << "epoch " << i + 1;
  }
  EXPECT_EQ(params_of(a), params_of(b));
}

class TrainerFiles : public TempDirTest {};

// Stopped after step 3 of epoch 2, checkpointed to a file, loaded into a new trainer and resumed: the
// same losses, parameters and Adam state, to the bit, as a run never stopped.
TEST_F(TrainerFiles, ResumeEqualsAnUninterruptedRun) {
  auto cpu = make_cpu_backend();
  SmallRun r;
  Config config;
  config.network.base_channels = r.spec.base_channels;
  Trainer straight(*cpu, r.spec, r.settings, r.side, r.side, r.n_train, r.n_val);
  fill(straight, *cpu, r);
  for (int e = 0; e < 3; ++e) ASSERT_TRUE(straight.run_epoch(nullptr, nullptr));
  {
    Trainer first(*cpu, r.spec, r.settings, r.side, r.side, r.n_train, r.n_val);
    fill(first, *cpu, r);
    ASSERT_TRUE(first.run_epoch(nullptr, nullptr));
    int steps = 0;
    ASSERT_FALSE(first.run_epoch([&] { return steps++ == 3; }, nullptr));
    EXPECT_EQ(first.state().step_in_epoch, 3);
    save_model(path("model.h5"), config, first.parameters(), first.state(), r.side, r.side, "cpu");
  }
  const ModelFile saved = load_model(path("model.h5"));
  Trainer resumed(*cpu, r.spec, r.settings, r.side, r.side, r.n_train, r.n_val);
  fill(resumed, *cpu, r);
  load_parameters(saved, resumed.parameters());
  resumed.restore(saved.state);
  ASSERT_TRUE(resumed.run_epoch(nullptr, nullptr));
  ASSERT_TRUE(resumed.run_epoch(nullptr, nullptr));
  ASSERT_EQ(resumed.history().size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(resumed.history()[i].train_mse, straight.history()[i].train_mse) << "epoch " << i + 1;
    EXPECT_EQ(resumed.history()[i].validation_mse, straight.history()[i].validation_mse) << "epoch " << i + 1;
  }
  EXPECT_EQ(params_of(resumed), params_of(straight));
  EXPECT_EQ(resumed.state().adam_m, straight.state().adam_m);
  EXPECT_EQ(resumed.state().adam_step, straight.state().adam_step);
}

TEST_F(TrainerFiles, ModelFilesRoundTripAndRefuseWhatIsNotTheirs) {
  auto cpu = make_cpu_backend();
  SmallRun r;
  Config config;
  config.network.base_channels = r.spec.base_channels;
  config.training.batch_size = 6;
  config.data.seed = 123456789012345ull;
  Trainer t(*cpu, r.spec, r.settings, r.side, r.side, r.n_train, r.n_val);
  fill(t, *cpu, r);
  ASSERT_TRUE(t.run_epoch(nullptr, nullptr));
  save_model(path("model.h5"), config, t.parameters(), t.state(), r.side, r.side, "cpu");
  const ModelFile m = load_model(path("model.h5"));
  EXPECT_EQ(m.config.network.base_channels, 8);
  EXPECT_EQ(m.config.training.batch_size, 6);
  EXPECT_EQ(m.config.data.seed, 123456789012345ull);
  EXPECT_EQ(m.height, 16);
  EXPECT_EQ(m.state.history.size(), 1u);
  EXPECT_EQ(m.state.history[0].validation_mse, t.history()[0].validation_mse);
  const std::vector<float> want = params_of(t);
  Parameters copy(*cpu, r.spec, DType::F32);
  load_parameters(m, copy);
  EXPECT_EQ(copy.values().to_host<float>(), want);
  // Another architecture.
  NetworkSpec wider = r.spec;
  wider.base_channels = 16;
  Parameters other(*cpu, wider, DType::F32);
  try {
    load_parameters(m, other);
    ADD_FAILURE() << "loaded into another architecture";
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("another architecture"), std::string::npos) << e.what();
  }
  // Truncated and damaged files.
  std::vector<char> bytes(static_cast<std::size_t>(fs::file_size(path("model.h5"))));
  std::ifstream(path("model.h5"), std::ios::binary).read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  std::ofstream(path("cut.h5"), std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  EXPECT_THROW(load_model(path("cut.h5")), InvalidInput);
  EXPECT_THROW(load_model(path("nothing.h5")), InvalidInput);
  GeneratorSettings g;
  g.count = 3;
  g.img_size = 8;
  {
    TrainingSetWriter w(path("set.h5"), g, "cpu");
    auto gen = Generator(*cpu, g);
    SampleBatch b;
    gen.next(3, b);
    w.append(b);
    w.commit();
  }
  try {
    load_model(path("set.h5"));
    ADD_FAILURE() << "a training set taken for a model";
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("is not a magcnn model file"), std::string::npos) << e.what();
  }
  // A model's configuration is checked as a configuration file's is: a tampered value is refused.
  fs::copy_file(path("model.h5"), path("tampered.h5"));
  {
    const hid_t file = H5Fopen(path("tampered.h5").c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    const hid_t attr = H5Aopen_by_name(file, "/", "training.learning_rate", H5P_DEFAULT, H5P_DEFAULT);
    const double negative = -1;
    H5Awrite(attr, H5T_NATIVE_DOUBLE, &negative);
    H5Aclose(attr);
    H5Fclose(file);
  }
  try {
    load_model(path("tampered.h5"));
    ADD_FAILURE() << "a negative learning rate was accepted";
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("'training.learning_rate' = -1 is outside"), std::string::npos) << e.what();
  }
  // A non-finite parameter or moment is never written, and the file already there stays as it was.
  const auto before = fs::file_size(path("model.h5"));
  TrainerState overflowed = t.state();
  overflowed.adam_v[7] = INFINITY;
  EXPECT_THROW(save_model(path("model.h5"), config, t.parameters(), overflowed, r.side, r.side, "cpu"), InvalidInput);
  std::vector<double> values = t.parameters().download_values();
  values[3] = NAN;
  t.parameters().upload_values(values);
  EXPECT_THROW(save_model(path("model.h5"), config, t.parameters(), t.state(), r.side, r.side, "cpu"), InvalidInput);
  EXPECT_EQ(fs::file_size(path("model.h5")), before);
  EXPECT_EQ(load_model(path("model.h5")).values.size(), want.size());
}

// A network whose output ReLU is inactive on every map (its last bias far below zero) is seen as dead;
// another draw of the weights is another network, and a live one.
TEST(Trainer, SeesADeadOutputAndDrawsAgain) {
  auto cpu = make_cpu_backend();
  SmallRun r;
  Trainer t(*cpu, r.spec, r.settings, r.side, r.side, r.n_train, r.n_val);
  fill(t, *cpu, r);
  t.validate();
  EXPECT_FALSE(t.output_is_zero());
  const std::vector<float> first = params_of(t);
  std::vector<float> dead = first;
  for (const ParameterTensor& p : t.parameters().tensors())
    if (p.name == "conv5.bias")
      for (int64_t i = 0; i < p.count(); ++i) dead[static_cast<std::size_t>(p.offset + i)] = -100.0f;
  t.parameters().values().upload(dead);
  t.validate();
  EXPECT_TRUE(t.output_is_zero());
  // Training cannot move it: no gradient passes.
  ASSERT_TRUE(t.run_epoch(nullptr, nullptr));
  EXPECT_TRUE(t.output_is_zero());
  EXPECT_EQ(params_of(t), dead);
  EXPECT_EQ(t.redraw_if_dead(), 1);
  EXPECT_TRUE(t.history().empty());
  EXPECT_NE(params_of(t), first);
  t.validate();
  EXPECT_FALSE(t.output_is_zero());
  EXPECT_EQ(t.redraw_if_dead(), 0);
  // A run that learned for an epoch and then died is not drawn again: its checkpoint is what to keep.
  ASSERT_TRUE(t.run_epoch(nullptr, nullptr));
  EXPECT_EQ(t.redraw_if_dead(), 0);
  t.parameters().values().upload(dead);
  ASSERT_TRUE(t.run_epoch(nullptr, nullptr));
  EXPECT_THROW(t.redraw_if_dead(), InvalidInput);
}

TEST(Trainer, RefusesImpossibleSettings) {
  auto cpu = make_cpu_backend();
  SmallRun r;
  r.settings.batch_size = 41;  // more than the 40 training samples
  EXPECT_THROW(Trainer(*cpu, r.spec, r.settings, r.side, r.side, r.n_train, r.n_val), InvalidInput);
  r.settings.batch_size = 4;
  EXPECT_THROW(Trainer(*cpu, r.spec, r.settings, 18, 16, r.n_train, r.n_val), InvalidInput);  // not a multiple of 4
  EXPECT_THROW(Trainer(*cpu, r.spec, r.settings, r.side, r.side, r.n_train, 0), InvalidInput);
  TrainingConfig c;
  c.schedule = "linear";
  EXPECT_THROW(TrainSettings::from(c), InvalidInput);
}

TEST(Trainer, StepsAllocateNothing) {
  CountingBackend backend(make_cpu_backend());
  SmallRun r;
  Trainer t(backend, r.spec, r.settings, r.side, r.side, r.n_train, r.n_val);
  fill(t, backend, r);
  ASSERT_TRUE(t.run_epoch(nullptr, nullptr));
  const int allocations = backend.allocations, plans = backend.plans;
  ASSERT_TRUE(t.run_epoch(nullptr, nullptr));
  t.validate();
  EXPECT_EQ(backend.allocations, allocations) << "an epoch allocated device memory";
  EXPECT_EQ(backend.plans, plans) << "an epoch planned";
}

}  // namespace
}  // namespace magcnn::test
