// The training run of magcnn-train, for the program and the Python module (train_run.h).
#include "train_run.h"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <utility>

#include "cli.h"
#include "magcnn/dataset_io.h"
#include "magcnn/device.h"
#include "magcnn/generator.h"
#include "magcnn/interrupt.h"
#include "magcnn/memory.h"
#include "magcnn/model_io.h"
#include "magcnn/progress.h"
#include "magcnn/trainer.h"

namespace magcnn::app {
namespace {

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

// After each rank has filled its share of the rows of `t` (rank_share), every rank holds them all: each
// share is broadcast from its rank, in place on the CPU and through the host from a GPU, in pieces of at
// most 64 MB.
void share_rows(Backend& backend, Communicator& comm, Tensor& t) {
  const int R = comm.size();
  if (R == 1) return;
  const int64_t rows = t.shape()[0];
  const std::size_t row_bytes = t.bytes() / static_cast<std::size_t>(std::max<int64_t>(rows, 1));
  auto* base = static_cast<unsigned char*>(t.view().data);
  const bool in_place = backend.kind() == DeviceKind::CPU;
  const int64_t piece_rows = std::max<int64_t>(1, static_cast<int64_t>((std::size_t{64} << 20) / std::max<std::size_t>(row_bytes, 1)));
  std::vector<unsigned char> stage;
  for (int q = 0; q < R; ++q) {
    const RankShare share = rank_share(rows, q, R);
    const int64_t end = share.end();
    for (int64_t first = share.first; first < end; first += piece_rows) {
      const std::size_t bytes = static_cast<std::size_t>(std::min(piece_rows, end - first)) * row_bytes;
      unsigned char* device = base + static_cast<std::size_t>(first) * row_bytes;
      if (in_place) {
        comm.broadcast(device, bytes, q);
        continue;
      }
      stage.resize(bytes);
      if (comm.rank() == q) backend.download(stage.data(), device, bytes);
      comm.broadcast(stage.data(), bytes, q);
      if (comm.rank() != q) backend.upload(device, stage.data(), bytes);
    }
  }
}

std::string seconds_text(double s) {
  char b[32];
  if (s < 100) {
    std::snprintf(b, sizeof b, "%.2f s", s);
  } else {
    std::snprintf(b, sizeof b, "%.0f min %.0f s", std::floor(s / 60), std::fmod(s, 60));
  }
  return b;
}


// One run into out_dir (an ensemble's member folder, or the request's folder itself): resumed from its
// checkpoint or started. member: 1..members for an ensemble's, 0 alone; `first_member`: when an ensemble
// is resumed, its first member, whose settings a member not yet started takes. `data` is the request's,
// made absolute and, when resuming, the run's own.
// `comm`: the ranks training this run data-parallel (null: alone); `voice` prefixes its lines (an
// ensemble's members trained side by side on groups of ranks speak at once).
EpochRecord train_one(const TrainRequest& req, const TrainHooks& hooks, std::string& data, const std::string& out_dir,
                      bool resume_this, int64_t member, int64_t members, const ModelFile* first_member, bool& reached_target,
                      Communicator* comm, const std::string& voice) {
  // Rank 0 of a data-parallel run speaks and writes; the others train their shares in silence.
  const bool lead = comm == nullptr || comm->rank() == 0;
  const int rank = comm == nullptr ? 0 : comm->rank(), ranks = comm == nullptr ? 1 : comm->size();
  const auto say = [&](const std::string& line) {
    if (hooks.say && lead) hooks.say(voice + line);
  };
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  Config config = req.base;
  // A training set is recorded by its absolute path, so that --resume finds it from any folder.
  if (data != "generated") data = fs::absolute(data).lexically_normal().string();
  // The run folder: made if missing; a folder that already holds a run needs --resume.
  const fs::path run(out_dir);
  const std::string model_path = (run / "model.h5").string();
  std::error_code ec;
  MAGCNN_REQUIRE(!fs::exists(run, ec) || fs::is_directory(run, ec), req.spell("--out") << " " << out_dir << " exists and is not a folder");
  MAGCNN_REQUIRE(!resume_this || fs::exists(model_path, ec), req.spell("--resume") << ": " << model_path << " does not exist: nothing to resume");
  MAGCNN_REQUIRE(!fs::exists(model_path, ec) || fs::is_regular_file(model_path, ec),
                 model_path << " exists and is not a regular file: it cannot hold a checkpoint; choose another " << req.spell("--out"));
  MAGCNN_REQUIRE(resume_this || !fs::exists(model_path, ec),
                 out_dir << " already holds a run (" << model_path << "): pass " << req.spell("--resume") << " to continue it, or choose another " << req.spell("--out"));
  ModelFile checkpoint;
  const auto refuse_changes = [&] {
    const std::pair<bool, const char*> fixed[] = {
        {bool(req.batch_size), "--batch-size"}, {bool(req.learning_rate), "--lr"},      {bool(req.target), "--target"},
        {bool(req.seed), "--seed"},             {bool(req.schedule), "--schedule"},     {bool(req.weight_decay), "--weight-decay"},
        {bool(req.fresh_data), "--fresh-data"}, {bool(req.field_axis), "--field-axis"}, {bool(req.noise.relative_rms), "--noise-rms"},
        {bool(req.noise.background), "--noise-background"}, {bool(req.noise.tesla_rms), "--noise-tesla"},
        {bool(req.noise.Ms_A_per_m), "--noise-Ms"}};
    for (const auto& [given, flag] : fixed)
      MAGCNN_REQUIRE(!given, req.spell(flag) << " cannot change a run being resumed (it continues exactly as it started)");
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
    if (req.epochs) config.training.epochs = *req.epochs;
    if (req.target_loss) config.training.target_loss = *req.target_loss;
    if (!req.data_given) {
      data = checkpoint.data;
    } else if (data != checkpoint.data) {
      say("note: the run was trained on " + checkpoint.data + ", resuming on " + req.spell("--data") + " " + data +
                           " (the same set, moved? another set gives other numbers)");
    }
  } else if (first_member) {
    // A member of an ensemble being resumed that had not started: its first member's settings.
    refuse_changes();
    config = first_member->config;
    if (req.epochs) config.training.epochs = *req.epochs;
    if (req.target_loss) config.training.target_loss = *req.target_loss;
    if (!req.data_given) data = first_member->data;  // --data may name the same set moved, as for a resumed member
  } else {
    if (req.epochs) config.training.epochs = *req.epochs;
    if (req.batch_size) config.training.batch_size = *req.batch_size;
    if (req.learning_rate) config.training.learning_rate = *req.learning_rate;
    if (req.target) config.data.target = parse_target_kind(*req.target);
    if (req.seed) config.data.seed = config.training.seed = *req.seed;
    if (req.target_loss) config.training.target_loss = *req.target_loss;
    if (req.schedule) config.training.schedule = *req.schedule;
    if (req.weight_decay) config.training.weight_decay = *req.weight_decay;
    if (req.fresh_data) config.training.fresh_data = *req.fresh_data;
    if (req.field_axis) config.data.field_axis = checked_field_axis(*req.field_axis, req.spell("--field-axis"));
    apply_noise(req.noise, config.data.noise, req.spell);
  }
  if (!resume_this) {
    // Member k: the weights and the shuffling of seed + k - 1; the data are the same for all.
    if (member > 0) config.training.seed += static_cast<uint64_t>(member - 1);
    config.training.ensemble = members;
  }
  const bool generated = data == "generated";
  MAGCNN_REQUIRE(generated || !config.training.fresh_data,
                 req.spell("--fresh-data") << " generates new samples every epoch: it cannot be combined with " << req.spell("--data") << " " << data);
  const std::string fitted = fit_network_to_target(config.network, config.data.target);
  if (!fitted.empty()) say(std::string("note: the ") + target_kind_name(config.data.target) + " target: network " + fitted);
  const NetworkSpec spec = NetworkSpec::from(config.network);
  MAGCNN_REQUIRE(spec.in_channels == 1, "this release trains on one field channel (in_channels = 1), not " << spec.in_channels);
  TrainSettings settings = TrainSettings::from(config.training);
  settings.communicator = comm;
  app::MadeFolder made;
  if (lead) {
    made.make(run);
    check_output_path(model_path);
  }
  std::string why;
  std::unique_ptr<Backend> backend;
  const DeviceChoice choice = parse_device_choice(req.device);
  if (comm != nullptr && comm->size() > 1 && choice != DeviceChoice::Cpu && probe_cuda().usable) {
    // One GPU per rank: the rank's place among the ranks on its machine picks it.
    backend = make_cuda_backend(local_rank());
    why = "device " + backend->description() + " (one GPU per rank: this machine's rank " + std::to_string(local_rank()) + ")";
  } else {
    backend = make_backend(choice, &why);
  }
  say(why);

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
                        << "' (pass " << req.spell("--target") << " " << file_set.target << ")");
    // The model is trained on the set's field component, whatever the configuration says.
    if (req.field_axis)
      MAGCNN_REQUIRE(same_axis(parse_field_axis(config.data.field_axis), file_set.axis),
                     data << " holds the field along " << file_set.axis.describe() << "; " << req.spell("--field-axis") << " "
                          << *req.field_axis << " does not apply");
    config.data.field_axis = file_set.axis.text();
    side_y = file_set.ny;
    side_x = file_set.nx;
    samples = file_set.count;
    if (!file_set.note.empty()) say("note: " + data + ": " + file_set.note);
    if (file_set.noise.any() && config.data.noise.any())
      say("note: " + data + " holds noisy maps already (" + describe_noise(file_set.noise) + "); the noise asked for here (" +
                           describe_noise(config.data.noise) + ") is added on top");
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
    // The sequence of one process: the training samples, then the validation ones. Each rank generates
    // its share of the training samples, which the ranks then share, and the validation samples it
    // evaluates, skipping over the others' (their uniforms alone are drawn).
    const RankShare train = rank_share(n_train, rank, ranks), val = trainer.validation_share();
    // A stop asked for while the sets are made ends the run at once: nothing has been trained yet. The
    // ranks stop together: one that had finished its share would otherwise wait in the broadcast.
    Progress bar("data", train.count + val.count, "samples", hooks.progress_bars && lead);
    std::optional<Interrupted> stopped;
    try {
      gen.skip(train.first);
      filler.fill(gen, train.count, trainer.train_inputs(), trainer.train_targets(), train.first, [&](int64_t done) {
        bar.update(done);
        throw_if_interrupted();
      });
      gen.skip(n_train - train.end() + val.first);
      filler.fill(gen, val.count, trainer.validation_inputs(), trainer.validation_targets(), val.first, [&](int64_t done) {
        bar.update(train.count + done);
        throw_if_interrupted();
      });
    } catch (const Interrupted& e) {
      if (ranks == 1) throw;
      stopped = e;
    }
    if (ranks > 1 && !comm->all(!stopped)) {
      if (stopped) throw *stopped;
      throw Interrupted(interrupt_signal() != 0 ? interrupt_signal() : SIGTERM);  // stopped on another rank
    }
    const auto share_training_set = [&] {
      if (comm == nullptr) return;
      share_rows(*backend, *comm, trainer.train_inputs());
      share_rows(*backend, *comm, trainer.train_targets());
    };
    share_training_set();
    if (config.training.fresh_data) {
      // Epoch e's samples come from a seed of its own (the data seed and e), so that a resumed run
      // draws the same ones; one generator, restarted, serves every epoch.
      GeneratorSettings fresh_settings = config.data;
      fresh_settings.count = n_train;
      fresh_settings.noise = NoiseSettings{};
      auto fresh_gen = std::make_shared<Generator>(*backend, fresh_settings);
      trainer_refill = [&, fresh_gen, train, share_training_set](int64_t epoch) {
        fresh_gen->restart(epoch_seed(config.data.seed, epoch, kFreshDataStream));
        fresh_gen->skip(train.first);
        filler.fill(*fresh_gen, train.count, trainer.train_inputs(), trainer.train_targets(), train.first);
        share_training_set();
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
    // (This rank's share of them: the only ones it reads.)
    const RankShare val = trainer.validation_share();
    if (val.count > 0) {
      const TensorView own = trainer.validation_inputs().view().slice(val.first, val.first + val.count);
      field_noise->apply(own, own, n_train + val.first, config.data.seed, kValidationDraw);
    }
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
  const std::string source =
      !generated ? "read from " + data
                 : std::string(config.training.fresh_data ? "generated (fresh training samples every epoch)" : "generated") +
                       (ranks > 1 ? ", each of " + std::to_string(ranks) + " ranks its share," : "");
  std::snprintf(line, sizeof line, "data: %lld training and %lld validation maps of %lld x %lld, %s, target %s, %s in %s",
                static_cast<long long>(n_train), static_cast<long long>(n_val), static_cast<long long>(side_y),
                static_cast<long long>(side_x), field.c_str(), target_kind_name(config.data.target), source.c_str(),
                seconds_text(data_seconds).c_str());
  say(line);
  if (noise.any()) say("noise: " + describe_noise(noise) + ", drawn afresh every epoch on the training maps");

  if (resume_this) {
    load_parameters(checkpoint, trainer.parameters());
    trainer.restore(checkpoint.state);
    std::snprintf(line, sizeof line, "resuming %s at epoch %lld, step %lld", model_path.c_str(),
                  static_cast<long long>(checkpoint.state.epoch + 1), static_cast<long long>(checkpoint.state.step_in_epoch));
    say(line);
  }
  std::snprintf(line, sizeof line, "network: b = %lld, depth %lld, kernel %lld, %s, output %lld channel(s), %s; Adam, learning rate %g (%s), batch %lld; %lld epochs at most, target validation MSE %g",
                static_cast<long long>(spec.base_channels), static_cast<long long>(spec.depth), static_cast<long long>(spec.kernel_size),
                activation_name(spec.activation), static_cast<long long>(spec.out_channels), activation_name(spec.output_activation),
                config.training.learning_rate, config.training.schedule.c_str(),
                static_cast<long long>(config.training.batch_size), static_cast<long long>(config.training.epochs),
                config.training.target_loss);
  say(line);
  say(trainer.describe());

  const std::string device = backend->description();
  // Every rank holds the same weights and state: rank 0 writes them.
  const auto checkpoint_now = [&] {
    if (!lead) return;
    save_model(model_path, config, trainer.parameters(), trainer.state(), side_y, side_x, device, data);
    write_history((run / "history.h5").string(), trainer.history());
  };
  bool reached = !trainer.history().empty() && trainer.history().back().validation_mse <= config.training.target_loss;
  while (!reached && static_cast<int64_t>(trainer.history().size()) < config.training.epochs) {
    const int64_t epoch = static_cast<int64_t>(trainer.history().size()) + 1;
    Progress bar("epoch " + std::to_string(epoch), trainer.steps_per_epoch(), "steps", hooks.progress_bars && lead);
    const bool finished = trainer.run_epoch([] { return interrupt_signal() != 0; }, [&](int64_t done, int64_t steps) {
      bar.update(done);
      if (hooks.step && lead) hooks.step(member, epoch, done, steps);
    });
    if (!finished) {
      checkpoint_now();
      // Every rank stopped at this step; none exits before rank 0 has written the checkpoint (the
      // launcher ends the others as soon as one exits with a failure).
      if (comm != nullptr && comm->size() > 1) comm->all(true);
      throw Interrupted(interrupt_signal(), "checkpoint written to " + model_path + " (epoch " + std::to_string(epoch) + ", step " +
                                                std::to_string(trainer.state().step_in_epoch) + "); continue with " + req.spell("--resume"));
    }
    // An output ReLU inactive on every map passes no gradient: the run would spend its epochs
    // unchanged (some seeds' runs die so in their first epoch). It starts again from another draw.
    if (const int64_t redraw = trainer.redraw_if_dead()) {
      say("note: in epoch " + std::to_string(epoch) +
                           " the network's output became zero on every map (an inactive output ReLU, which no gradient passes, so "
                           "it could never learn again): started again from a new draw of its weights (" +
                           std::to_string(redraw) + " of at most " + std::to_string(Trainer::kMaxRedraws) + ")");
      continue;
    }
    checkpoint_now();
    const EpochRecord& r = trainer.history().back();
    if (hooks.epoch && lead) hooks.epoch(member, r);
    const double total = trainer.state().seconds;
    const double eta = total / static_cast<double>(trainer.history().size()) *
                       static_cast<double>(config.training.epochs - static_cast<int64_t>(trainer.history().size()));
    std::snprintf(line, sizeof line, "epoch %lld/%lld: train MSE %.4e, validation MSE %.4e, %s (%.0f samples/s), at most %s left",
                  static_cast<long long>(r.epoch), static_cast<long long>(config.training.epochs), r.train_mse, r.validation_mse,
                  seconds_text(r.seconds).c_str(), static_cast<double>(n_train) / r.seconds, seconds_text(eta).c_str());
    say(line);
    reached = r.validation_mse <= config.training.target_loss;
  }
  // A stop asked for after the last step (in the last validation, or seen only now): the run is complete
  // and written; only the loss curves are left out.
  if (const int sig = interrupt_signal())
    throw Interrupted(sig, "training had finished: " + model_path + " and " + (run / "history.h5").string() +
                               " hold its last epoch; no loss.png drawn");
  const bool drawn = lead && plot_losses((run / "loss.png").string(), trainer.history(),
                                 "magcnn-train: " + std::string(target_kind_name(config.data.target)) + " target, b = " +
                                     std::to_string(spec.base_channels) + ", batch " + std::to_string(config.training.batch_size));
  const EpochRecord& last = trainer.history().back();
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();
  std::snprintf(line, sizeof line, "%s validation MSE %.4e after %lld epochs (target %g): %s of training, %s in all with the data",
                reached ? "reached" : "stopped at", last.validation_mse, static_cast<long long>(last.epoch), config.training.target_loss,
                seconds_text(trainer.state().seconds).c_str(), seconds_text(wall).c_str());
  say(line);
  say("model: " + model_path + "; history: " + (run / "history.h5").string() +
                       (drawn ? "; loss curves: " + (run / "loss.png").string() : "; no loss.png (this build has no PLplot)"));
  reached_target = reached;
  return last;
}

}  // namespace

TrainOutcome train_run(const TrainRequest& req, const TrainHooks& hooks) {
  const bool lead = req.communicator == nullptr || req.communicator->rank() == 0;
  const auto say = [&](const std::string& line) {
    if (hooks.say && lead) hooks.say(line);
  };
  const fs::path root(req.out);
  std::error_code ec;
  std::string data = req.data;
  TrainOutcome outcome;
  outcome.reached = true;
  const auto one = [&](const std::string& dir, bool resume_this, int64_t member, int64_t members, const ModelFile* first,
                       Communicator* comm, const std::string& voice) {
    bool reached = false;
    outcome.last.push_back(train_one(req, hooks, data, dir, resume_this, member, members, first, reached, comm, voice));
    outcome.models.push_back((fs::path(dir) / "model.h5").string());
    outcome.reached = outcome.reached && reached;
  };
  // An ensemble's run folder holds member_1 ... member_K; resuming reads K from its first member.
  int64_t members = req.ensemble ? *req.ensemble : req.base.training.ensemble;
  MAGCNN_REQUIRE(members >= 1 && members <= 1000, req.spell("--ensemble") << " " << members << ": from 1 to 1000 models");
  std::optional<ModelFile> first;
  const fs::path first_model = ensemble_member_folder(root, 1) / "model.h5";
  if (req.resume && fs::exists(first_model, ec)) {
    first = load_model(first_model.string());
    MAGCNN_REQUIRE(!req.ensemble || *req.ensemble == first->config.training.ensemble,
                   req.spell("--ensemble") << " " << *req.ensemble << ": " << req.out << " holds an ensemble of "
                                           << first->config.training.ensemble << "; a run being resumed keeps its size");
    members = first->config.training.ensemble;
  }
  if (members == 1) {
    one(req.out, req.resume, 0, 1, nullptr, req.communicator, "");
    return outcome;
  }
  MAGCNN_REQUIRE(!fs::exists(root / "model.h5", ec),
                 req.out << " holds a single run (model.h5), not an ensemble: choose another " << req.spell("--out"));
  MAGCNN_REQUIRE(!req.resume || first, req.spell("--resume") << ": " << first_model.string() << " does not exist: no ensemble to resume");
  app::MadeFolder made;
  if (lead) {
    made.make(root);
    MAGCNN_REQUIRE(fs::is_directory(root, ec), req.spell("--out") << " " << req.out << " exists and is not a folder");
  }
  // Over several ranks the members are placed on groups of them: G = min(K, R) groups, rank r in group
  // r mod G, member k trained by group (k - 1) mod G, data-parallel over the group's ranks (one rank a
  // member, each a share of the members, when K >= R; several ranks a member when K < R).
  Communicator* world = req.communicator;
  const int ranks = world != nullptr ? world->size() : 1;
  const int groups = static_cast<int>(std::min<int64_t>(members, ranks));
  const int group = world != nullptr ? world->rank() % groups : 0;
  std::unique_ptr<Communicator> part = world != nullptr && ranks > 1 ? world->split(group) : nullptr;
  if (world != nullptr && ranks > 1) world->all(true);  // the root folder exists before any group writes in it
  for (int64_t k = 1; k <= members; ++k) {
    if ((k - 1) % groups != group) continue;
    const fs::path dir = ensemble_member_folder(root, k);
    const bool started = fs::exists(dir / "model.h5", ec);
    const std::string voice = groups > 1 ? "member " + std::to_string(k) + ": " : "";
    if (hooks.say && (part == nullptr || part->rank() == 0))
      hooks.say("ensemble member " + std::to_string(k) + " of " + std::to_string(members) + ": " + dir.string() +
                (req.resume && started ? " (resumed)" : "") +
                (groups > 1 ? " (on " + std::to_string(part->size()) + " of the " + std::to_string(ranks) + " ranks)" : ""));
    one(dir.string(), req.resume && started, k, members, first ? &*first : nullptr, part ? part.get() : world, voice);
  }
  if (world != nullptr && ranks > 1) world->all(true);  // every group done before the run is announced complete
  say("ensemble: " + std::to_string(members) + " models in " + req.out + "/member_1 ... member_" + std::to_string(members) +
      "; magcnn-infer --model " + req.out + " gives their mean and its spread");
  return outcome;
}

}  // namespace magcnn::app
