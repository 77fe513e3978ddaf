// magcnn-train: trains the seed's network on a training set (a file, or generated in the process) and
// writes a run folder: model.h5 (checkpointed every epoch), history.h5 and loss.png.
#include "cli.h"
#include "train_run.h"

#include <memory>

#include "magcnn/communicator.h"

int main(int argc, char** argv) {
  using namespace magcnn;
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

  // Under mpirun (or srun), one rank of a data-parallel run; alone otherwise.
  const std::unique_ptr<Communicator> world = make_world_communicator();
  const int code = app::run(app, argc, argv, [&] {
    // Only rank 0 says which configuration it read; the run decides which ranks speak (rank 0 of each
    // group training a member) and only rank 0 of the world draws progress bars.
    const bool quiet = common.quiet;
    if (world->rank() != 0) common.quiet = true;
    app::TrainRequest request;
    request.communicator = world.get();
    request.base = app::load_config(common);
    request.out = common.out;
    request.device = common.device;
    request.data = data;
    request.data_given = o_data->count() > 0;
    request.resume = resume;
    if (*o_epochs) request.epochs = epochs;
    if (*o_batch) request.batch_size = batch;
    if (*o_ensemble) request.ensemble = ensemble;
    if (*o_lr) request.learning_rate = lr;
    if (*o_loss) request.target_loss = target_loss;
    if (*o_wd) request.weight_decay = weight_decay;
    if (*o_target) request.target = target;
    if (*o_schedule) request.schedule = schedule;
    if (*o_axis) request.field_axis = axis;
    if (*o_seed) request.seed = app::parse_seed(seed_text, "--seed");
    if (*o_fresh) request.fresh_data = fresh;
    request.noise = noise_flags.given_values();
    app::TrainHooks hooks;
    common.quiet = quiet;
    if (!common.quiet) hooks.say = [&](const std::string& line) { app::say(common, line); };
    hooks.progress_bars = !common.quiet && world->rank() == 0;
    app::train_run(request, hooks);
  }, world->rank());
  // A rank that failed ends the others, which may be waiting for it in an all-reduce. A stop (a signal,
  // which every rank agrees on) and success end each rank by itself.
  if (code == 1) world->abort(code);
  return code;
}
