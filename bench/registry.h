// The benchmark groups of magcnn-bench, registered by main (bench_main.cpp), and what they share.
#pragma once

#include <memory>

#include "magcnn/device.h"

namespace magcnn::bench {

void register_forward_benchmarks();
void register_network_benchmarks();
void register_inference_benchmarks();
void register_accuracy_benchmarks();

inline std::unique_ptr<Backend> backend_for(DeviceKind kind) {
  return kind == DeviceKind::CPU ? make_cpu_backend() : make_cuda_backend();
}

}  // namespace magcnn::bench
