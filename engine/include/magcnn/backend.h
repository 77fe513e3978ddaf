// One interface over the CPU and CUDA backends: memory, batched FFTs, the random stream, and the element
// operations of element_ops.h. Callers (ForwardModel, Generator, later the network) check arguments before
// calling; backends do what they are told. No CUDA header is needed to use this interface.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "magcnn/element_ops.h"
#include "magcnn/tensor.h"

namespace magcnn {

// Batched 2-D real FFTs of one size and precision, planned once and executed many times, unnormalized.
// forward: real [batch, ny, nx] -> half spectrum [batch, ny, nx/2+1]; inverse: the reverse (it may
// overwrite its input, as c2r transforms do).
class FftPlan {
 public:
  virtual ~FftPlan() = default;
  virtual void forward(const void* real, void* half_spectrum) = 0;
  virtual void inverse(void* half_spectrum, void* real) = 0;
};

// cuRAND's Philox4x32-10 uniform doubles in (0, 1] for one seed, continuing from call to call: the same
// seed gives the same numbers on every backend, however the calls split them.
class UniformStream {
 public:
  virtual ~UniformStream() = default;
  // `out` is device memory of the backend that made the stream.
  virtual void generate(double* out, int64_t count) = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual DeviceKind kind() const = 0;
  // For people: "CPU (2 threads)", "CUDA device 0: NVIDIA H100 80GB HBM3 (sm_90)".
  virtual std::string description() const = 0;
  // The real type the forward model and generator compute in: double on the CPU, float on the GPU.
  virtual DType preferred_real() const = 0;

  virtual void* allocate(std::size_t bytes) = 0;
  virtual void deallocate(void* ptr) noexcept = 0;
  virtual void upload(void* dst, const void* host_src, std::size_t bytes) = 0;
  virtual void download(void* host_dst, const void* src, std::size_t bytes) = 0;
  virtual void copy(void* dst, const void* src, std::size_t bytes) = 0;
  virtual void zero(void* dst, std::size_t bytes) = 0;
  // Waits for all queued work; errors of asynchronous work surface here at the latest.
  virtual void synchronize() = 0;

  virtual std::unique_ptr<FftPlan> plan_fft(DType real_type, int64_t batch, int64_t ny, int64_t nx) = 0;
  virtual std::unique_ptr<UniformStream> uniform_stream(uint64_t seed) = 0;

  // run(op, n) applies op to elements 0..n-1.
#define MAGCNN_DECLARE_RUN(Op) virtual void run(const Op& op, int64_t n) = 0;
  MAGCNN_ELEMENT_OPS(MAGCNN_DECLARE_RUN)
#undef MAGCNN_DECLARE_RUN
};

}  // namespace magcnn
