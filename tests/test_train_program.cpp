// magcnn-train as a user runs it: a small run writes its folder; a run stopped by SIGINT (after a
// checkpoint mid-epoch) or killed by SIGKILL (after one at an epoch's end) and resumed gives exactly the
// history of an uninterrupted run; bad input ends with one line, a non-zero exit, and any earlier
// checkpoint intact.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "h5file.h"
#include "program_runner.h"
#include "temp_dir.h"

namespace magcnn::test {
namespace {

namespace fs = std::filesystem;

const std::string kTrain = program_path("MAGCNN_TRAIN", MAGCNN_TRAIN_BUILT);
const std::string kGenerate = program_path("MAGCNN_GENERATE", MAGCNN_GENERATE_BUILT);

constexpr const char* kSmall = R"([data]
count = 120
img_size = 16
seed = 3
[network]
base_channels = 8
[training]
epochs = 4
batch_size = 8
learning_rate = 0.003
validation_fraction = 0.25
validation_batch = 10
target_loss = 0.0
)";

class TrainProgram : public TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    std::ofstream(path("small.toml")) << kSmall;
  }
  ProgramResult train(const std::string& args, const RunOptions& o = {}) const {
    return run_program(kTrain, split_args("--device cpu --config " + path("small.toml") + " " + args), o);
  }
  static std::vector<double> history(const std::string& run, const char* name) {
    return h5::File::open(run + "/history.h5").read<double>(name);
  }
  void expect_refusal(const ProgramResult& r, const std::string& needle) const {
    EXPECT_EQ(r.code, 1) << r.err;
    EXPECT_EQ(r.message_lines(), 1) << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << "missing '" << needle << "' in: " << r.err;
  }
};

TEST_F(TrainProgram, WritesItsRunFolder) {
  const ProgramResult r = train("--out " + path("run"));
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* f : {"model.h5", "history.h5", "loss.png"}) EXPECT_TRUE(fs::exists(path("run") + "/" + f)) << f;
  const auto train_mse = history(path("run"), "train_mse"), validation = history(path("run"), "validation_mse");
  ASSERT_EQ(train_mse.size(), 4u);
  EXPECT_LT(train_mse.back(), train_mse.front());
  EXPECT_NE(r.out.find("epoch 4/4"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("model: " + path("run") + "/model.h5"), std::string::npos) << r.out;
  for (const auto& e : fs::directory_iterator(path("run")))
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << "left behind: " << e.path();
}

bool model_exists(const std::string& run) { return fs::exists(run + "/model.h5"); }

// Noise and an NV axis: said, recorded in the model, the same on a rerun (counter-based noise), other
// training losses than the clean run's, and fixed for a resumed run.
TEST_F(TrainProgram, NoisyMapsAlongAnAxisAreRecordedAndRepeat) {
  ASSERT_EQ(train("--out " + path("clean") + " --epochs 2").code, 0);
  const std::string flags = " --epochs 2 --noise-rms 0.2 --noise-background 0.1 --field-axis 54.7356,45";
  const ProgramResult a = train("--out " + path("a") + flags);
  ASSERT_EQ(a.code, 0) << a.err;
  EXPECT_NE(a.out.find("noise: white noise 20% and background 10% of each map's RMS field"), std::string::npos) << a.out;
  EXPECT_NE(a.out.find("B along (0.57735, 0.57735, 0.57735)"), std::string::npos) << a.out;
  ASSERT_EQ(train("--out " + path("b") + flags).code, 0);
  EXPECT_EQ(history(path("a"), "train_mse"), history(path("b"), "train_mse"));
  EXPECT_NE(history(path("a"), "train_mse"), history(path("clean"), "train_mse"));
  const h5::File m = h5::File::open(path("a") + "/model.h5");
  EXPECT_EQ(m.attr_double("/", "data.noise_rms").value_or(0), 0.2);
  EXPECT_EQ(m.attr_string("/", "data.field_axis").value_or(""), "54.7356,45");
  EXPECT_EQ(m.attr_double("/", "format_version").value_or(0), 2) << "an older magcnn must refuse it, not read it as Bz";
  EXPECT_EQ(h5::File::open(path("clean") + "/model.h5").attr_double("/", "format_version").value_or(0), 1);
  expect_refusal(train("--out " + path("a") + " --resume --noise-rms 0.1"), "--noise-rms cannot change a run being resumed");
  expect_refusal(train("--out " + path("c") + " --noise-rms -1"), "--noise-rms: noise_rms = -1");
  expect_refusal(train("--out " + path("a") + " --resume --noise-tesla 1e-6"), "--noise-tesla cannot change a run being resumed");
  const ProgramResult t = train("--epochs 1 --noise-tesla 1e-4 --noise-Ms 4.8e5 --out " + path("tesla"));
  ASSERT_EQ(t.code, 0) << t.err;
  EXPECT_NE(t.out.find("white noise of 0.0001 T RMS (films of Ms 4.8e+05 A/m)"), std::string::npos) << t.out;
}

// --fresh-data trains on new samples every epoch (so its training losses differ from a fixed set's),
// keeps the validation set, repeats to the bit, and resumes after SIGKILL to the same numbers.
TEST_F(TrainProgram, FreshDataIsReproducibleAndResumes) {
  ASSERT_EQ(train("--out " + path("fixed") + " --epochs 3").code, 0);
  ASSERT_EQ(train("--out " + path("fresh") + " --epochs 3 --fresh-data").code, 0);
  const auto fixed = history(path("fixed"), "train_mse"), fresh = history(path("fresh"), "train_mse");
  ASSERT_EQ(fresh.size(), 3u);
  EXPECT_NE(fresh, fixed);
  EXPECT_LT(fresh.back(), fresh.front());
  RunOptions o;
  o.ready = [&] { return model_exists(path("fresh_killed")); };
  o.signals = {SIGKILL};
  EXPECT_EQ(train("--out " + path("fresh_killed") + " --epochs 3 --fresh-data", o).signal, SIGKILL);
  const ProgramResult resumed = train("--out " + path("fresh_killed") + " --resume");
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  EXPECT_EQ(history(path("fresh_killed"), "train_mse"), fresh);
  EXPECT_EQ(history(path("fresh_killed"), "validation_mse"), history(path("fresh"), "validation_mse"));
}

TEST_F(TrainProgram, ResumeAfterSigintOrSigkillEqualsAnUninterruptedRun) {
  ASSERT_EQ(train("--out " + path("straight")).code, 0);
  const auto want = history(path("straight"), "validation_mse"), want_train = history(path("straight"), "train_mse");
  for (const int sig : {SIGINT, SIGKILL}) {
    const std::string run = path(sig == SIGINT ? "interrupted" : "killed");
    RunOptions o;
    o.ready = [&] { return model_exists(run); };  // the first epoch's checkpoint is there
    o.signals = {sig};
    const ProgramResult stopped = train("--out " + run, o);
    if (sig == SIGINT) {
      EXPECT_EQ(stopped.code, 130) << stopped.err;
      EXPECT_NE(stopped.err.find("checkpoint written"), std::string::npos) << stopped.err;
    } else {
      EXPECT_EQ(stopped.signal, SIGKILL);
    }
    ASSERT_TRUE(model_exists(run));
    const ProgramResult resumed = train("--out " + run + " --resume");
    ASSERT_EQ(resumed.code, 0) << resumed.err;
    EXPECT_NE(resumed.out.find("resuming"), std::string::npos) << resumed.out;
    EXPECT_EQ(history(run, "validation_mse"), want) << "after " << (sig == SIGINT ? "SIGINT" : "SIGKILL");
    EXPECT_EQ(history(run, "train_mse"), want_train);
  }
}

// --target vector: three identity-like outputs, said so; a run resumes with the configuration file it
// started from (whose [network] says one output); a set of another target is refused, naming the flag.
TEST_F(TrainProgram, VectorTargetTrainsResumesAndChecksItsData) {
  const ProgramResult a = train("--target vector --epochs 1 --out " + path("v"));
  ASSERT_EQ(a.code, 0) << a.err;
  EXPECT_NE(a.out.find("note: the vector target: network out_channels 1 -> 3, output_activation relu -> identity"), std::string::npos) << a.out;
  EXPECT_NE(a.out.find("output 3 channel(s), identity"), std::string::npos) << a.out;
  const ProgramResult b = train("--resume --epochs 2 --out " + path("v"));
  ASSERT_EQ(b.code, 0) << b.err;
  EXPECT_EQ(history(path("v"), "validation_mse").size(), 2u);
  ASSERT_EQ(run_program(kGenerate, split_args("--device cpu --quiet --config " + path("small.toml") + " --count 12 --out " + path("shape.h5"))).code, 0);
  expect_refusal(train("--data " + path("shape.h5") + " --target vector --out " + path("w")), "holds a 'shape' target");
  ASSERT_EQ(run_program(kGenerate, split_args("--device cpu --quiet --config " + path("small.toml") + " --count 12 --target vector --out " +
                                              path("vector.h5"))).code, 0);
  const ProgramResult c = train("--data " + path("vector.h5") + " --target vector --epochs 1 --out " + path("from_file"));
  EXPECT_EQ(c.code, 0) << c.err;
}

// --ensemble K: member k trains from seed + k - 1 on the same data (member 1 is the plain run), each a
// run folder of its own; --resume continues every member and keeps K.
TEST_F(TrainProgram, EnsembleMembersDifferBySeedAndResume) {
  const ProgramResult a = train("--ensemble 2 --epochs 1 --out " + path("ens"));
  ASSERT_EQ(a.code, 0) << a.err;
  EXPECT_NE(a.out.find("ensemble member 2 of 2"), std::string::npos) << a.out;
  ASSERT_EQ(train("--epochs 1 --out " + path("single")).code, 0);
  EXPECT_EQ(history(path("ens/member_1"), "validation_mse"), history(path("single"), "validation_mse"));
  EXPECT_NE(history(path("ens/member_2"), "validation_mse"), history(path("single"), "validation_mse"));
  const h5::File m2 = h5::File::open(path("ens/member_2/model.h5")), m1 = h5::File::open(path("ens/member_1/model.h5"));
  EXPECT_EQ(*m2.attr_uint64("/", "training.seed"), *m1.attr_uint64("/", "training.seed") + 1);
  EXPECT_EQ(m2.attr_double("/", "training.ensemble"), 2.0);
  const ProgramResult b = train("--resume --epochs 2 --out " + path("ens"));
  ASSERT_EQ(b.code, 0) << b.err;
  for (const char* m : {"ens/member_1", "ens/member_2"}) EXPECT_EQ(history(path(m), "validation_mse").size(), 2u) << m;
  expect_refusal(train("--resume --ensemble 3 --out " + path("ens")), "keeps its size");
  expect_refusal(train("--ensemble 2 --out " + path("single")), "holds a single run");
  expect_refusal(train("--ensemble 2 --out " + path("ens")), "already holds a run");
}

TEST_F(TrainProgram, BadInputIsRefusedAndCheckpointsSurvive) {
  ASSERT_EQ(train("--out " + path("run") + " --epochs 1").code, 0);
  const auto before = fs::last_write_time(path("run/model.h5"));
  expect_refusal(train("--out " + path("run")), "already holds a run");
  std::ofstream(path("wide.toml")) << std::string(kSmall).replace(std::string(kSmall).find("base_channels = 8"), 17, "base_channels = 16");
  expect_refusal(run_program(kTrain, split_args("--device cpu --config " + path("wide.toml") + " --out " + path("run") + " --resume")),
                 "another architecture");
  expect_refusal(train("--out " + path("run") + " --resume --batch-size 4"), "cannot change a run being resumed");
  EXPECT_EQ(fs::last_write_time(path("run/model.h5")), before) << "a refused run touched the checkpoint";
  // A damaged checkpoint is refused, not trained from.
  fs::create_directory(path("cut"));
  {
    std::ifstream in(path("run/model.h5"), std::ios::binary);
    std::vector<char> bytes(static_cast<std::size_t>(fs::file_size(path("run/model.h5"))));
    in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    std::ofstream(path("cut/model.h5"), std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 3));
  }
  const ProgramResult cut = train("--out " + path("cut") + " --resume");
  EXPECT_EQ(cut.code, 1) << cut.err;
  EXPECT_EQ(cut.message_lines(), 1) << cut.err;
  // Configuration errors name the file and line; impossible batches and folders are refused.
  std::ofstream(path("bad.toml")) << "[training]\nlearning_rate = -1\n";
  expect_refusal(run_program(kTrain, split_args("--device cpu --config " + path("bad.toml") + " --out " + path("r2"))),
                 "bad.toml:2: training.learning_rate = -1 is outside");
  std::ofstream(path("act.toml")) << "[network]\nactivation = \"tanh\"\n";
  expect_refusal(run_program(kTrain, split_args("--device cpu --config " + path("act.toml") + " --out " + path("r2"))), "act.toml:2");
  expect_refusal(train("--out " + path("r3") + " --batch-size 500"), "larger than the training set");
  EXPECT_FALSE(fs::exists(path("r3"))) << "a refused run left its folder behind";
  // Unwritable run folders: one the system refuses to create, one whose model.h5 is not a file.
  expect_refusal(train("--out /proc/magcnn-run"), "cannot make run folder /proc/magcnn-run");
  fs::create_directories(path("r5/model.h5"));
  expect_refusal(train("--out " + path("r5")), "model.h5 exists and is not a regular file");
  std::ofstream(path("afile")) << "x";
  expect_refusal(train("--out " + path("afile")), "is not a folder");
  expect_refusal(train("--out " + path("no/such/run")), "does not exist");
  // NaN in a data file.
  const ProgramResult g = run_program(kGenerate, split_args("--device cpu --count 20 --img-size 16 --out " + path("set.h5")));
  ASSERT_EQ(g.code, 0) << g.err;
  {
    h5::File f = h5::File::open(path("set.h5"));
    (void)f;
  }
  const hid_t file = H5Fopen(path("set.h5").c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  const hid_t ds = H5Dopen2(file, "Bz", H5P_DEFAULT);
  std::vector<float> values(20 * 16 * 16);
  H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data());
  values[300] = NAN;
  H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data());
  H5Dclose(ds);
  H5Fclose(file);
  expect_refusal(train("--out " + path("r4") + " --data " + path("set.h5")), "Bz is nan at map 1, row 2, column 12");
  // A field in other units than b (here 1e6 times too large) is refused, not trained into a divergence.
  values[300] = 0.5f;
  for (float& v : values) v *= 1e6f;
  {
    const hid_t again = H5Fopen(path("set.h5").c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    const hid_t bz = H5Dopen2(again, "Bz", H5P_DEFAULT);
    H5Dwrite(bz, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data());
    H5Dclose(bz);
    H5Fclose(again);
  }
  expect_refusal(train("--out " + path("r4") + " --data " + path("set.h5")), "in other units");
  // Sets and networks that cannot fit are refused before anything is allocated (not killed by the OOM
  // killer halfway): 1000 maps of 4096 x 4096 need several hundred GB.
  std::ofstream(path("huge.toml")) << "[data]\ncount = 1000\nimg_size = 4096\n";
  expect_refusal(run_program(kTrain, split_args("--device cpu --config " + path("huge.toml") + " --out " + path("r7"))),
                 "of host memory");
  // A learning rate that makes the weights run away stops the run with advice, writing nothing.
  expect_refusal(train("--quiet --out " + path("r6") + " --lr 1000"), "training diverged in epoch 1");
  EXPECT_FALSE(fs::exists(path("r6"))) << "a diverged run left a folder";
}

}  // namespace
}  // namespace magcnn::test
