// Choosing the backend: --device auto|cpu|cuda. "auto" takes the GPU when one works, else the CPU.
#pragma once

#include <memory>
#include <string>

#include "magcnn/backend.h"

namespace magcnn {

enum class DeviceChoice { Auto, Cpu, Cuda };

// Parses "auto", "cpu", "cuda" (throws InvalidInput otherwise).
DeviceChoice parse_device_choice(const std::string& text);

struct CudaProbe {
  bool usable = false;
  std::string detail;  // the GPU's name when usable, else why not ("built without CUDA", "no GPU: ...")
};

// Never throws. Without a GPU, cudaGetDeviceCount returns error 35 (driver too old / absent) or 100
// (no device): both mean "no GPU".
CudaProbe probe_cuda();

std::unique_ptr<Backend> make_cpu_backend();
// Throws Error when the build has no CUDA backend or no GPU works.
std::unique_ptr<Backend> make_cuda_backend(int device_index = 0);

// The backend for a choice; `Cuda` throws when no GPU works, `Auto` falls back to the CPU. `why` (may be
// null) receives a sentence saying what was chosen and why.
std::unique_ptr<Backend> make_backend(DeviceChoice choice, std::string* why);

}  // namespace magcnn
