// The parts of the module, each binding one capability (module.cpp puts them together).
#pragma once

#include <pybind11/pybind11.h>

#include <string>

#include "magcnn/generator.h"
#include "magcnn/trainer.h"

namespace magcnn::py_binding {

namespace py = pybind11;

void bind_forward(py::module_& m);
void bind_generator(py::module_& m);
void bind_model(py::module_& m);
void bind_train(py::module_& m);

// [data] settings from a configuration file's path, a dict or None (the seed's), with `keys` over them.
GeneratorSettings generator_settings(py::handle settings, const py::dict& keys);
// Sets the [data] keys of a dict (ValueError naming an unknown key or a value out of range).
void apply_data_keys(GeneratorSettings& s, const py::dict& keys);
// An option as Python spells it in messages: "--batch-size" -> "batch_size=", "--lr" -> "learning_rate=".
std::string python_spelling(const std::string& flag);
// {"epoch", "train_mse", "validation_mse", "seconds"}
py::dict epoch_record(const EpochRecord& r);

}  // namespace magcnn::py_binding
