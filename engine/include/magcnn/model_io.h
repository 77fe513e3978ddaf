// Model files (DESIGN.md section 5): everything a trained network and its training run are. A model
// file holds the configuration (network, training, data), every weight tensor by layer name, the
// optimizer's state and counters, and the training history, so that magcnn-train --resume continues a
// run exactly and magcnn-infer can rebuild the network. Written atomically (atomic_output.h).
#pragma once

#include <string>
#include <vector>

#include "magcnn/config.h"
#include "magcnn/network.h"
#include "magcnn/trainer.h"

namespace magcnn {

struct ModelFile {
  Config config;          // network, training and data sections as trained
  int64_t height = 0, width = 0;  // the training maps' size
  std::string device;     // where it was trained
  std::string data;       // what it was trained on: "generated" (from config.data) or the training set's path
  std::vector<ParameterTensor> tensors;  // names and shapes, in the file's order
  std::vector<double> values;            // every parameter, in the tensors' order
  TrainerState state;
};

// Writes `path` (atomically): the configuration, parameters, optimizer state and history.
void save_model(const std::string& path, const Config& config, const Parameters& parameters, const TrainerState& state,
                int64_t height, int64_t width, const std::string& device, const std::string& data = "generated");
// Reads and checks a model file (types, shapes, sizes, finiteness); InvalidInput naming what is wrong.
ModelFile load_model(const std::string& path);
// Copies the file's values into `parameters`, checking that every tensor has the same name and shape
// (InvalidInput otherwise: a model of another architecture).
void load_parameters(const ModelFile& model, Parameters& parameters);

// history.h5: epoch, train_mse, validation_mse, seconds [E] (float64).
void write_history(const std::string& path, const std::vector<EpochRecord>& history);
// loss.png: the train and validation MSE against epoch on a log axis (PLplot). Returns false, writing
// nothing, in a build without PLplot.
bool plot_losses(const std::string& path, const std::vector<EpochRecord>& history, const std::string& title);

}  // namespace magcnn
