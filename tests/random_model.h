// A model file of the seed's architecture (or `network`'s) with Glorot-uniform weights from `seed` and
// zero biases, as magcnn-train starts from: for tests and benchmarks of inference, whose cost and
// plumbing do not depend on what the weights learned.
#pragma once

#include <cstdint>

#include "magcnn/device.h"
#include "magcnn/model_io.h"

namespace magcnn::test {

inline ModelFile random_model_file(uint64_t seed, const NetworkConfig& network = {}) {
  auto cpu = make_cpu_backend();
  ModelFile m;
  m.config.network = network;
  m.config.source = "a model with random weights";
  m.height = m.width = 32;
  Parameters p(*cpu, NetworkSpec::from(network), DType::F32);
  p.initialize(seed);
  m.tensors = p.tensors();
  m.values = p.download_values();
  return m;
}

}  // namespace magcnn::test
