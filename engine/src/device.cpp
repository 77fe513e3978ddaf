// Backend selection for --device auto|cpu|cuda.
#include "magcnn/device.h"

#include "magcnn/log.h"

namespace magcnn {

#if MAGCNN_WITH_CUDA
// Defined in cuda/cuda_backend.cu.
CudaProbe probe_cuda_device();
std::unique_ptr<Backend> make_cuda_backend_impl(int device_index);
#endif

DeviceChoice parse_device_choice(const std::string& text) {
  if (text == "auto") return DeviceChoice::Auto;
  if (text == "cpu") return DeviceChoice::Cpu;
  if (text == "cuda" || text == "gpu") return DeviceChoice::Cuda;
  throw InvalidInput("unknown device '" + text + "': use auto, cpu or cuda");
}

CudaProbe probe_cuda() {
#if MAGCNN_WITH_CUDA
  return probe_cuda_device();
#else
  return CudaProbe{false, "this build of magcnn has no CUDA backend (configured without a CUDA toolkit)"};
#endif
}

std::unique_ptr<Backend> make_cuda_backend(int device_index) {
#if MAGCNN_WITH_CUDA
  const CudaProbe probe = probe_cuda();
  if (!probe.usable) throw Error("--device cuda: no usable GPU (" + probe.detail + "); use --device cpu or auto");
  return make_cuda_backend_impl(device_index);
#else
  (void)device_index;
  throw Error("--device cuda: no usable GPU (" + probe_cuda().detail + "); use --device cpu or auto");
#endif
}

std::unique_ptr<Backend> make_backend(DeviceChoice choice, std::string* why) {
  std::unique_ptr<Backend> backend;
  std::string reason;
  switch (choice) {
    case DeviceChoice::Cpu:
      backend = make_cpu_backend();
      reason = "as requested";
      break;
    case DeviceChoice::Cuda:
      backend = make_cuda_backend(0);
      reason = "as requested";
      break;
    case DeviceChoice::Auto: {
      const CudaProbe probe = probe_cuda();
      if (probe.usable) {
        backend = make_cuda_backend(0);
        reason = "auto: a GPU works";
      } else {
        backend = make_cpu_backend();
        reason = "auto: " + probe.detail;
      }
      break;
    }
  }
  if (why != nullptr) *why = "device " + backend->description() + ", " + reason;
  return backend;
}

}  // namespace magcnn
