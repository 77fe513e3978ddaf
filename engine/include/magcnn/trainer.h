// Training the network with Adam on a data set resident on the backend's device.
//
// Every epoch: (fresh training samples, when asked), a permutation drawn on the device (Philox keys
// sorted), then one step per batch: gather the batch, forward, MSE gradient and loss sum, backward,
// Adam. A step is captured once (a CUDA graph on the GPU) and replayed; it reads its step number and
// Adam's step from counters kept on the device, so nothing is sent to the device inside an epoch and
// nothing is read back but the loss sums at its end. The last partial batch has its own captured step.
// Steps allocate nothing; results are deterministic (same seed, same device, same number of CPU threads:
// same bits), which resuming from a checkpoint relies on.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "magcnn/backend.h"
#include "magcnn/communicator.h"
#include "magcnn/config.h"
#include "magcnn/network.h"

namespace magcnn {

struct TrainSettings {
  int64_t epochs = 500, batch_size = 2, validation_batch = 250;
  double target_loss = 9.55e-4;
  uint64_t seed = 1;       // weights and shuffling
  kern::AdamSettings adam;  // learning rate, moments, schedule (steps_per_epoch and total_steps are set by the trainer)
  bool use_graph = true;    // replay captured steps (false: queue each step's work anew; for benchmarks)
  // Data-parallel over its ranks (null: alone): each rank takes its share of every batch, the gradients
  // are summed over the ranks before each update, so that every rank holds the same weights and the run
  // is the one process's with the same global batch (to float rounding). Not owned.
  Communicator* communicator = nullptr;
  // From the configuration's [training] section; throws InvalidInput on unknown names.
  static TrainSettings from(const TrainingConfig& config);
};

// The learning-rate schedule by name: "constant", "step" or "cosine" (kern::Schedule); InvalidInput
// naming the known ones otherwise.
int parse_schedule(const std::string& name);

struct EpochRecord {
  int64_t epoch = 0;  // 1-based
  double train_mse = 0, validation_mse = 0, seconds = 0;
};

// Everything a checkpoint needs to continue exactly: the epoch and step reached, the loss sums of the
// steps done in an unfinished epoch, Adam's step and moments, the history.
struct TrainerState {
  int64_t epoch = 0;          // epochs finished
  int64_t step_in_epoch = 0;  // steps done in the unfinished epoch (0 at an epoch's end)
  int64_t adam_step = 0;
  std::vector<double> loss_sums;  // [step_in_epoch]
  std::vector<double> adam_m, adam_v;
  std::vector<EpochRecord> history;
  double seconds = 0;  // training time so far (epochs finished and the unfinished one)
};

class Trainer {
 public:
  // Sets of n_train and n_validation maps [n, in_channels, height, width] with targets
  // [n, out_channels, height, width] are allocated on the backend; fill them before training.
  Trainer(Backend& backend, const NetworkSpec& spec, const TrainSettings& settings, int64_t height, int64_t width,
          int64_t n_train, int64_t n_validation);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  Tensor& train_inputs();
  Tensor& train_targets();
  Tensor& validation_inputs();
  Tensor& validation_targets();
  Parameters& parameters();
  const TrainSettings& settings() const;
  int64_t steps_per_epoch() const;
  // The validation maps this rank evaluates (all of them alone): the only rows of validation_inputs()
  // and validation_targets() it reads, so the only ones a rank must fill.
  RankShare validation_share() const;

  // Called at the start of each epoch (its 0-based index) to refill the training set (fresh data).
  void set_epoch_data(std::function<void(int64_t epoch)> refill);

  // Weights from the settings' seed, Adam zeroed, no history.
  void initialize();
  // initialize(), with the weights drawn from `weight_seed` instead of the settings' seed (which still
  // shuffles): another draw for a start that cannot learn.
  void initialize_weights(uint64_t weight_seed);
  // Whether the network's output was exactly zero on every validation map in the last validate() (which
  // run_epoch() ends with; measured on the device in the same pass): an output ReLU inactive
  // everywhere, through which no gradient reaches any weight again (a run that died, as some seeds' do
  // in their first epoch). False without validation maps.
  bool output_is_zero();
  // After an epoch: when output_is_zero() after the first epoch of a run, starts again from another
  // draw of the weights (the k-th from stream kRedrawStream of the seed: the same seed dies and redraws
  // the same way) and returns k; 0 when the network lives. InvalidInput after kMaxRedraws draws, and
  // for a run that dies later (it learned before: its last checkpoint is what to keep).
  static constexpr int64_t kMaxRedraws = 5;
  int64_t redraw_if_dead();
  // Continues from a checkpoint's state (the parameters set separately).
  void restore(const TrainerState& state);
  TrainerState state() const;

  // Trains the next epoch to its end, or until `stop` says so between two steps (then returns false and
  // state() describes the unfinished epoch). `progress(steps_done, steps)` is called after each step.
  bool run_epoch(const std::function<bool()>& stop, const std::function<void(int64_t, int64_t)>& progress);
  // The mean squared error over the validation set, with the current parameters.
  double validate();
  const std::vector<EpochRecord>& history() const;
  std::string describe() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A 64-bit seed for epoch e of stream `seed` (SplitMix64): the permutation and fresh data of an epoch
// depend on the seed and the epoch alone, so a resumed run draws the same ones.
uint64_t epoch_seed(uint64_t seed, int64_t epoch, uint64_t stream);
// The streams of epoch_seed, one per use, so that no two draw the same numbers.
constexpr uint64_t kShuffleStream = 1;    // the epoch's permutation (the trainer)
constexpr uint64_t kFreshDataStream = 2;  // the epoch's fresh training samples (magcnn-train --fresh-data)
constexpr uint64_t kRedrawStream = 3;     // weights drawn again after a dead start (magcnn-train)

}  // namespace magcnn
