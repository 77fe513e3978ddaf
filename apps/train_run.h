// A training run as magcnn-train makes it, for the program and the Python module alike: the run folder
// (or an ensemble's member folders), the data, the trainer, a checkpoint at every epoch's end, resuming,
// the dead-start redraw, the history and the loss curves. What the caller chose is a TrainRequest; what
// it hears is through TrainHooks.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "magcnn/communicator.h"
#include "magcnn/config.h"
#include "magcnn/trainer.h"
#include "overrides.h"

namespace magcnn::app {

// Each override is set when the caller gave it (a flag, a keyword argument); unset ones come from the
// configuration, or, when resuming, from the run itself.
struct TrainRequest {
  Config base;                     // the configuration loaded
  std::string out;                 // the run folder (an ensemble's root)
  std::string device = "auto";
  std::string data = "generated";  // a training set's path, or "generated"
  bool data_given = false;
  bool resume = false;
  std::optional<int64_t> epochs, batch_size, ensemble;
  std::optional<double> learning_rate, target_loss, weight_decay;
  std::optional<std::string> target, schedule, field_axis;
  std::optional<uint64_t> seed;
  std::optional<bool> fresh_data;
  NoiseOverrides noise;
  // Data-parallel over its ranks (magcnn-train under mpirun); null: alone. Rank 0 alone speaks and writes
  // the run folder; every rank trains its share of each batch.
  Communicator* communicator = nullptr;
  // How the caller spells its options in messages: "--batch-size" (the program) or "batch_size" (Python).
  Spelling spell = as_flag;
};

struct TrainHooks {
  std::function<void(const std::string& line)> say;  // a line for people (null: silent)
  bool progress_bars = true;                          // the data and epoch bars on stderr
  // After each training step: the member (0 alone, 1..K in an ensemble), the epoch (1-based), the steps
  // done in it and its steps.
  std::function<void(int64_t member, int64_t epoch, int64_t step, int64_t steps)> step;
  // After each finished epoch, with its record.
  std::function<void(int64_t member, const EpochRecord& record)> epoch;
};

struct TrainOutcome {
  std::vector<std::string> models;   // model.h5 of the run, or of each member
  std::vector<EpochRecord> last;     // each one's last epoch
  bool reached = false;              // every one reached the target loss
};

// Throws InvalidInput for what the caller can fix, Interrupted (with the checkpoint written) when
// interrupt_signal() asks to stop, Error otherwise.
TrainOutcome train_run(const TrainRequest& request, const TrainHooks& hooks);

}  // namespace magcnn::app
