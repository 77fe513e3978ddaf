// magcnn-train: trains the seed's network on a training set (a file, or generated in the process) and
// writes a run folder: model.h5 (checkpointed every epoch), history.h5 and loss.png.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>

#include "cli.h"
#include "magcnn/dataset_io.h"
#include "magcnn/generator.h"
#include "magcnn/interrupt.h"
#include "magcnn/memory.h"
#include "magcnn/model_io.h"
#include "magcnn/progress.h"
#include "magcnn/trainer.h"

namespace {

using namespace magcnn;
namespace fs = std::filesystem;

// Samples [first, first + count) of a generator's sequence into rows [row, row + count) of float tensors
// on the trainer's device (converted from the generator's type where it differs).
class SetFiller {
 public:
  SetFiller(Backend& backend) : backend_(backend) {}
  // after_batch(samples done) runs between batches (progress, a pending stop).
  void fill(Generator& gen, int64_t count, Tensor& inputs, Tensor& targets, int64_t row,
            const std::function<void(int64_t)>& after_batch = {}) {
    for (int64_t done = 0; done < count;) {
      const int64_t n = std::min(gen.batch_capacity(), count - done);
      const DeviceSamples d = gen.next_on_device(n);
      place(d.b, inputs, row + done);
      place(d.target, targets, row + done);
      done += n;
      if (after_batch) after_batch(done);
    }
  }

 private:
  void place(const TensorView& src, Tensor& dst, int64_t row) {
    const int64_t per = dst.numel() / dst.shape()[0];
    float* out = dst.data<float>() + row * per;
    if (src.dtype == DType::F32) {
      backend_.copy(out, src.data, src.bytes());
      return;
    }
    host_.resize(static_cast<std::size_t>(src.numel()));
    backend_.download(host_.data(), src.data, src.bytes());
    stage_.assign(host_.begin(), host_.end());
    backend_.upload(out, stage_.data(), stage_.size() * sizeof(float));
  }
  Backend& backend_;
  std::vector<double> host_;
  std::vector<float> stage_;
};

// A run folder, made here when missing (its parent must exist), and removed again when still empty as
// the run fails (before its first checkpoint): a refused run leaves nothing behind.
struct MadeFolder {
  fs::path path;  // set when this made it
  void make(const fs::path& dir) {
    std::error_code ec;
    if (fs::exists(dir, ec)) return;
    MAGCNN_REQUIRE(dir.parent_path().empty() || fs::is_directory(dir.parent_path(), ec),
                   "cannot make run folder " << dir.string() << ": " << dir.parent_path().string() << " does not exist");
    MAGCNN_REQUIRE(fs::create_directory(dir, ec), "cannot make run folder " << dir.string() << ": " << ec.message());
    path = dir;
  }
  ~MadeFolder() {
    std::error_code ignored;
    if (!path.empty() && fs::is_empty(path, ignored)) fs::remove(path, ignored);
  }
};

std::string seconds_text(double s) {
  char b[32];
  if (s < 100) {
    std::snprintf(b, sizeof b, "%.2f s", s);
  } else {
    std::snprintf(b, sizeof b, "%.0f min %.0f s", std::floor(s / 60), std::fmod(s, 60));
  }
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Trains the seed's convolutional network (DESIGN.md section 3) with Adam to predict the magnetization "
               "from the normalized stray field, and writes a run folder: model.h5 (a checkpoint at every epoch's end), "
               "history.h5 and loss.png.",
               "magcnn-train"};
  app::Common common;
  app::add_common_flags(app, common, true);
  std::string data = "generated", target, schedule, seed_text, axis;
  int64_t epochs = 0, batch = 0, ensemble = 0;
  double lr = 0, target_loss = 0, weight_decay = 0;
  bool resume = false, fresh = false;
  auto* o_data = app.add_option("--data", data, "a training set (HDF5, ours or the original MagneticCNN layout), or 'generated' (the default: "
                                  "[data] in the configuration, generated here)");
  auto* o_epochs = app.add_option("--epochs", epochs, "epochs at most [training.epochs]")->check(app::integer_range(1, int64_t{1} << 30));
  auto* o_batch = app.add_option("--batch-size", batch, "samples per step [training.batch_size]")->check(app::integer_range(1, int64_t{1} << 20));
  auto* o_lr = app.add_option("--lr", lr, "Adam's learning rate [training.learning_rate]")->check(app::number_range(1e-12, 1e3));
  auto* o_target = app::add_target_option(app, target);
  auto* o_seed = app.add_option("--seed", seed_text, "seed of the data, the weights and the shuffling [data.seed, training.seed]");
  auto* o_loss = app.add_option("--target-loss", target_loss, "stop once the validation MSE is at most this [training.target_loss]")
                     ->check(app::number_range(0, 1e30));
  auto* o_schedule = app.add_option("--schedule", schedule, "constant | step | cosine [training.schedule]")
                         ->check(CLI::IsMember({"constant", "step", "cosine"}));
  auto* o_wd = app.add_option("--weight-decay", weight_decay, "decoupled weight decay [training.weight_decay]")->check(app::number_range(0, 1));
  auto* o_axis = app.add_option("--field-axis", axis, app::kFieldAxisHelp);
  app::NoiseFlags noise_flags;
  noise_flags.add(app);
  auto* o_fresh = app.add_flag("--fresh-data", fresh, "new training samples every epoch (validation fixed) [training.fresh_data]");
  app.add_flag("--resume", resume, "continue the run in --out from its last checkpoint");
  auto* o_ensemble = app.add_option("--ensemble", ensemble,
                                    "train K models from the seeds seed, seed + 1, ... on the same data, into --out/member_1 ... member_K "
                                    "(magcnn-infer --model RUN_DIR: their mean and spread) [training.ensemble]")
                         ->check(app::integer_range(1, 1000));

  // One run into out_dir (an ensemble's member folder, or --out itself): resumed from its checkpoint or
  // started. member: 1..members for an ensemble's, 0 alone; `first_member`: when an ensemble is resumed,
  // its first member, whose settings a member not yet started takes.
  const auto train_one = [&](const Config& base, const std::string& out_dir, bool resume_this, int64_t member, int64_t members,
                             const ModelFile* first_member) {
    using Clock = std::chrono::steady_clock;
    const auto start = Clock::now();
    Config config = base;
    // A training set is recorded by its absolute path, so that --resume finds it from any folder.
    if (data != "generated") data = fs::absolute(data).lexically_normal().string();
    // The run folder: made if missing; a folder that already holds a run needs --resume.
    const fs::path run(out_dir);
    const std::string model_path = (run / "model.h5").string();
    std::error_code ec;
    MAGCNN_REQUIRE(!fs::exists(run, ec) || fs::is_directory(run, ec), "--out " << out_dir << " exists and is not a folder");
    MAGCNN_REQUIRE(!resume_this || fs::exists(model_path, ec), "--resume: " << model_path << " does not exist: nothing to resume");
    MAGCNN_REQUIRE(!fs::exists(model_path, ec) || fs::is_regular_file(model_path, ec),
                   model_path << " exists and is not a regular file: it cannot hold a checkpoint; choose another --out");
    MAGCNN_REQUIRE(resume_this || !fs::exists(model_path, ec),
                   out_dir << " already holds a run (" << model_path << "): pass --resume to continue it, or choose another --out");
    ModelFile checkpoint;
    const auto refuse_changes = [&] {
      std::vector<CLI::Option*> fixed{o_batch, o_lr, o_target, o_seed, o_schedule, o_wd, o_fresh, o_axis};
      for (CLI::Option* o : noise_flags.options()) fixed.push_back(o);
      for (CLI::Option* o : fixed)
        MAGCNN_REQUIRE(!*o, o->get_name() << " cannot change a run being resumed (it continues exactly as it started)");
    };
    if (resume_this) {
      checkpoint = load_model(model_path);
      const NetworkConfig& a = checkpoint.config.network;
      // The output follows the run's target, whatever the configuration file's [network] says of it.
      NetworkConfig b = config.network;
      fit_network_to_target(b, checkpoint.config.data.target);
      MAGCNN_REQUIRE(a.in_channels == b.in_channels && a.out_channels == b.out_channels && a.base_channels == b.base_channels &&
                         a.depth == b.depth && a.kernel_size == b.kernel_size && a.activation == b.activation &&
                         a.output_activation == b.output_activation,
                     model_path << " holds a network of another architecture than " << config.source
                                << " asks for (base_channels " << a.base_channels << " vs " << b.base_channels << ", depth " << a.depth
                                << " vs " << b.depth << ", kernel_size " << a.kernel_size << " vs " << b.kernel_size
                                << "): resume with the run's own configuration");
      refuse_changes();
      // The run continues with its own settings and data; only its budget may change.
      config = checkpoint.config;
      if (*o_epochs) config.training.epochs = epochs;
      if (*o_loss) config.training.target_loss = target_loss;
      if (!*o_data) {
        data = checkpoint.data;
      } else if (data != checkpoint.data) {
        app::say(common, "note: the run was trained on " + checkpoint.data + ", resuming on --data " + data +
                             " (the same set, moved? another set gives other numbers)");
      }
    } else if (first_member) {
      // A member of an ensemble being resumed that had not started: its first member's settings.
      refuse_changes();
      config = first_member->config;
      if (*o_epochs) config.training.epochs = epochs;
      if (*o_loss) config.training.target_loss = target_loss;
      if (!*o_data) data = first_member->data;  // --data may name the same set moved, as for a resumed member
    } else {
      if (*o_epochs) config.training.epochs = epochs;
      if (*o_batch) config.training.batch_size = batch;
      if (*o_lr) config.training.learning_rate = lr;
      if (*o_target) config.data.target = parse_target_kind(target);
      if (*o_seed) config.data.seed = config.training.seed = app::parse_seed(seed_text, "--seed");
      if (*o_loss) config.training.target_loss = target_loss;
      if (*o_schedule) config.training.schedule = schedule;
      if (*o_wd) config.training.weight_decay = weight_decay;
      if (*o_fresh) config.training.fresh_data = fresh;
      if (*o_axis) config.data.field_axis = app::checked_field_axis(axis, "--field-axis");
      noise_flags.apply(config.data.noise);
    }
    if (!resume_this) {
      // Member k: the weights and the shuffling of seed + k - 1; the data are the same for all.
      if (member > 0) config.training.seed += static_cast<uint64_t>(member - 1);
      config.training.ensemble = members;
    }
    const bool generated = data == "generated";
    MAGCNN_REQUIRE(generated || !config.training.fresh_data,
                   "--fresh-data generates new samples every epoch: it cannot be combined with --data " << data);
    const std::string fitted = fit_network_to_target(config.network, config.data.target);
    if (!fitted.empty()) app::say(common, std::string("note: the ") + target_kind_name(config.data.target) + " target: network " + fitted);
    const NetworkSpec spec = NetworkSpec::from(config.network);
    MAGCNN_REQUIRE(spec.in_channels == 1, "this release trains on one field channel (in_channels = 1), not " << spec.in_channels);
    TrainSettings settings = TrainSettings::from(config.training);
    MadeFolder made;
    made.make(run);
    check_output_path(model_path);
    auto backend = app::open_backend(common);

    // The data: a file read once, or the generator's samples; either way uploaded once and resident.
    int64_t samples = 0, side_y = 0, side_x = 0;
    TrainingSet file_set;
    if (generated) {
      config.data.validate();
      side_y = side_x = config.data.img_size;
      samples = config.data.count;
    } else {
      file_set = read_training_set(data);
      MAGCNN_REQUIRE(file_set.target == target_kind_name(config.data.target),
                     data << " holds a '" << file_set.target << "' target, the configuration trains '" << target_kind_name(config.data.target)
                          << "' (pass --target " << file_set.target << ")");
      // The model is trained on the set's field component, whatever the configuration says.
      if (*o_axis)
        MAGCNN_REQUIRE(same_axis(parse_field_axis(config.data.field_axis), file_set.axis),
                       data << " holds the field along " << file_set.axis.describe() << "; --field-axis " << axis << " does not apply");
      config.data.field_axis = file_set.axis.text();
      side_y = file_set.ny;
      side_x = file_set.nx;
      samples = file_set.count;
      if (!file_set.note.empty()) app::say(common, "note: " + data + ": " + file_set.note);
      if (file_set.noise.any() && config.data.noise.any())
        app::say(common, "note: " + data + " holds noisy maps already (" + app::describe_noise(file_set.noise) + "); the noise asked for here (" +
                             app::describe_noise(config.data.noise) + ") is added on top");
    }
    const int64_t n_val = static_cast<int64_t>(std::llround(static_cast<double>(samples) * config.training.validation_fraction));
    const int64_t n_train = samples - n_val;
    MAGCNN_REQUIRE(side_y % NetworkSpec::kSideMultiple == 0 && side_x % NetworkSpec::kSideMultiple == 0,
                   "maps of " << side_y << " x " << side_x << ": the network needs sides that are multiples of " << NetworkSpec::kSideMultiple);
    Trainer trainer(*backend, spec, settings, side_y, side_x, n_train, n_val);
    const auto data_start = Clock::now();
    SetFiller filler(*backend);
    std::function<void(int64_t)> trainer_refill;  // fresh data every epoch, when asked for
    // Noise (data.noise_*) is drawn afresh every epoch on the training maps and once on the validation
    // maps, over clean samples: the generators here make clean ones.
    const NoiseSettings noise = config.data.noise;
    if (generated) {
      GeneratorSettings gs = config.data;
      gs.noise = NoiseSettings{};
      Generator gen(*backend, gs);
      // A stop asked for while the sets are made ends the run at once: nothing has been trained yet.
      Progress bar("data", n_train + n_val, "samples", !common.quiet);
      filler.fill(gen, n_train, trainer.train_inputs(), trainer.train_targets(), 0, [&](int64_t done) {
        bar.update(done);
        throw_if_interrupted();
      });
      filler.fill(gen, n_val, trainer.validation_inputs(), trainer.validation_targets(), 0, [&](int64_t done) {
        bar.update(n_train + done);
        throw_if_interrupted();
      });
      if (config.training.fresh_data) {
        // Epoch e's samples come from a seed of its own (the data seed and e), so that a resumed run
        // draws the same ones; one generator, restarted, serves every epoch.
        GeneratorSettings fresh_settings = config.data;
        fresh_settings.count = n_train;
        fresh_settings.noise = NoiseSettings{};
        auto fresh_gen = std::make_shared<Generator>(*backend, fresh_settings);
        trainer_refill = [&, fresh_gen](int64_t epoch) {
          fresh_gen->restart(epoch_seed(config.data.seed, epoch, kFreshDataStream));
          filler.fill(*fresh_gen, n_train, trainer.train_inputs(), trainer.train_targets(), 0);
        };
        trainer.set_epoch_data(trainer_refill);
      }
    } else {
      const int64_t plane = side_y * side_x, target_plane = plane * file_set.channels;
      const auto part = [&](const std::vector<float>& v, int64_t per, int64_t first, int64_t count) {
        return std::vector<float>(v.begin() + first * per, v.begin() + (first + count) * per);
      };
      trainer.train_inputs().upload(part(file_set.b, plane, 0, n_train));
      trainer.train_targets().upload(part(file_set.m, target_plane, 0, n_train));
      trainer.validation_inputs().upload(part(file_set.b, plane, n_train, n_val));
      trainer.validation_targets().upload(part(file_set.m, target_plane, n_train, n_val));
    }
    std::shared_ptr<FieldNoise> field_noise;
    Tensor clean_train;
    if (noise.any()) {
      // A level in tesla is converted with the data's t/d: the file's for a training set.
      const double t_over_d = generated ? config.data.thickness_over_standoff : file_set.thickness_over_standoff;
      field_noise = std::make_shared<FieldNoise>(*backend, noise, std::max<int64_t>(n_train, std::max<int64_t>(n_val, 1)), side_y, side_x,
                                                 DType::F32, t_over_d);
      // Validation maps: one draw of their own, the maps numbered as the generator numbers them.
      if (n_val > 0) field_noise->apply(trainer.validation_inputs(), trainer.validation_inputs(), n_train, config.data.seed, kValidationDraw);
      if (!config.training.fresh_data) {
        require_memory(static_cast<double>(trainer.train_inputs().bytes()), backend->available_memory(),
                       "a clean copy of the training maps, for noise drawn afresh every epoch", device_name(backend->kind()));
        clean_train = Tensor(*backend, DType::F32, trainer.train_inputs().shape());
        backend->copy(clean_train.view().data, trainer.train_inputs().view().data, clean_train.bytes());
      }
      // The training maps: draw e + 1 at epoch e, onto the clean maps (or the epoch's fresh ones).
      std::function<void(int64_t)> refill = trainer_refill;
      trainer.set_epoch_data([&, field_noise, refill](int64_t epoch) {
        if (refill) refill(epoch);
        const Tensor& clean = config.training.fresh_data ? trainer.train_inputs() : clean_train;
        field_noise->apply(clean, trainer.train_inputs(), 0, config.data.seed, static_cast<uint64_t>(epoch) + 1);
      });
    }
    backend->synchronize();
    const double data_seconds = std::chrono::duration<double>(Clock::now() - data_start).count();
    char line[400];
    const FieldAxis field_axis = parse_field_axis(config.data.field_axis);
    const std::string field = field_axis.is_z() ? "Bz" : "B along " + field_axis.describe();
    std::snprintf(line, sizeof line, "data: %lld training and %lld validation maps of %lld x %lld, %s, target %s, %s in %s",
                  static_cast<long long>(n_train), static_cast<long long>(n_val), static_cast<long long>(side_y),
                  static_cast<long long>(side_x), field.c_str(), target_kind_name(config.data.target),
                  generated ? (config.training.fresh_data ? "generated (fresh training samples every epoch)" : "generated")
                            : ("read from " + data).c_str(),
                  seconds_text(data_seconds).c_str());
    app::say(common, line);
    if (noise.any()) app::say(common, "noise: " + app::describe_noise(noise) + ", drawn afresh every epoch on the training maps");

    if (resume_this) {
      load_parameters(checkpoint, trainer.parameters());
      trainer.restore(checkpoint.state);
      std::snprintf(line, sizeof line, "resuming %s at epoch %lld, step %lld", model_path.c_str(),
                    static_cast<long long>(checkpoint.state.epoch + 1), static_cast<long long>(checkpoint.state.step_in_epoch));
      app::say(common, line);
    }
    std::snprintf(line, sizeof line, "network: b = %lld, depth %lld, kernel %lld, %s, output %lld channel(s), %s; Adam, learning rate %g (%s), batch %lld; %lld epochs at most, target validation MSE %g",
                  static_cast<long long>(spec.base_channels), static_cast<long long>(spec.depth), static_cast<long long>(spec.kernel_size),
                  activation_name(spec.activation), static_cast<long long>(spec.out_channels), activation_name(spec.output_activation),
                  config.training.learning_rate, config.training.schedule.c_str(),
                  static_cast<long long>(config.training.batch_size), static_cast<long long>(config.training.epochs),
                  config.training.target_loss);
    app::say(common, line);
    app::say(common, trainer.describe());

    const std::string device = backend->description();
    const auto checkpoint_now = [&] {
      save_model(model_path, config, trainer.parameters(), trainer.state(), side_y, side_x, device, data);
    };
    bool reached = !trainer.history().empty() && trainer.history().back().validation_mse <= config.training.target_loss;
    while (!reached && static_cast<int64_t>(trainer.history().size()) < config.training.epochs) {
      const int64_t epoch = static_cast<int64_t>(trainer.history().size()) + 1;
      Progress bar("epoch " + std::to_string(epoch), trainer.steps_per_epoch(), "steps", !common.quiet);
      const bool finished = trainer.run_epoch([] { return interrupt_signal() != 0; },
                                              [&](int64_t done, int64_t) { bar.update(done); });
      if (!finished) {
        checkpoint_now();
        write_history((run / "history.h5").string(), trainer.history());
        throw Interrupted(interrupt_signal(), "checkpoint written to " + model_path + " (epoch " + std::to_string(epoch) + ", step " +
                                                  std::to_string(trainer.state().step_in_epoch) + "); continue with --resume");
      }
      // An output ReLU inactive on every map passes no gradient: the run would spend its epochs
      // unchanged (some seeds' runs die so in their first epoch). It starts again from another draw.
      if (const int64_t redraw = trainer.redraw_if_dead()) {
        app::say(common, "note: in epoch " + std::to_string(epoch) +
                             " the network's output became zero on every map (an inactive output ReLU, which no gradient passes, so "
                             "it could never learn again): started again from a new draw of its weights (" +
                             std::to_string(redraw) + " of at most " + std::to_string(Trainer::kMaxRedraws) + ")");
        continue;
      }
      checkpoint_now();
      write_history((run / "history.h5").string(), trainer.history());
      const EpochRecord& r = trainer.history().back();
      const double total = trainer.state().seconds;
      const double eta = total / static_cast<double>(trainer.history().size()) *
                         static_cast<double>(config.training.epochs - static_cast<int64_t>(trainer.history().size()));
      std::snprintf(line, sizeof line, "epoch %lld/%lld: train MSE %.4e, validation MSE %.4e, %s (%.0f samples/s), at most %s left",
                    static_cast<long long>(r.epoch), static_cast<long long>(config.training.epochs), r.train_mse, r.validation_mse,
                    seconds_text(r.seconds).c_str(), static_cast<double>(n_train) / r.seconds, seconds_text(eta).c_str());
      app::say(common, line);
      reached = r.validation_mse <= config.training.target_loss;
    }
    const bool drawn = plot_losses((run / "loss.png").string(), trainer.history(),
                                   "magcnn-train: " + std::string(target_kind_name(config.data.target)) + " target, b = " +
                                       std::to_string(spec.base_channels) + ", batch " + std::to_string(config.training.batch_size));
    const EpochRecord& last = trainer.history().back();
    const double wall = std::chrono::duration<double>(Clock::now() - start).count();
    std::snprintf(line, sizeof line, "%s validation MSE %.4e after %lld epochs (target %g): %s of training, %s in all with the data",
                  reached ? "reached" : "stopped at", last.validation_mse, static_cast<long long>(last.epoch), config.training.target_loss,
                  seconds_text(trainer.state().seconds).c_str(), seconds_text(wall).c_str());
    app::say(common, line);
    app::say(common, "model: " + model_path + "; history: " + (run / "history.h5").string() +
                         (drawn ? "; loss curves: " + (run / "loss.png").string() : "; no loss.png (this build has no PLplot)"));
  };

  return app::run(app, argc, argv, [&] {
    const Config base = app::load_config(common);
    const fs::path root(common.out);
    std::error_code ec;
    // An ensemble's run folder holds member_1 ... member_K; resuming reads K from its first member.
    int64_t members = *o_ensemble ? ensemble : base.training.ensemble;
    std::optional<ModelFile> first;
    const fs::path first_model = app::ensemble_member_folder(root, 1) / "model.h5";
    if (resume && fs::exists(first_model, ec)) {
      first = load_model(first_model.string());
      MAGCNN_REQUIRE(!*o_ensemble || ensemble == first->config.training.ensemble,
                     "--ensemble " << ensemble << ": " << common.out << " holds an ensemble of " << first->config.training.ensemble
                                   << "; a run being resumed keeps its size");
      members = first->config.training.ensemble;
    }
    if (members == 1) {
      train_one(base, common.out, resume, 0, 1, nullptr);
      return;
    }
    MAGCNN_REQUIRE(!fs::exists(root / "model.h5", ec), common.out << " holds a single run (model.h5), not an ensemble: choose another --out");
    MAGCNN_REQUIRE(!resume || first, "--resume: " << first_model.string() << " does not exist: no ensemble to resume");
    MadeFolder made;
    made.make(root);
    MAGCNN_REQUIRE(fs::is_directory(root, ec), "--out " << common.out << " exists and is not a folder");
    for (int64_t k = 1; k <= members; ++k) {
      const fs::path dir = app::ensemble_member_folder(root, k);
      const bool started = fs::exists(dir / "model.h5", ec);
      app::say(common, "ensemble member " + std::to_string(k) + " of " + std::to_string(members) + ": " + dir.string() +
                           (resume && started ? " (resumed)" : ""));
      train_one(base, dir.string(), resume && started, k, members, first ? &*first : nullptr);
    }
    app::say(common, "ensemble: " + std::to_string(members) + " models in " + common.out +
                         "/member_1 ... member_" + std::to_string(members) + "; magcnn-infer --model " + common.out +
                         " gives their mean and its spread");
  });
}
