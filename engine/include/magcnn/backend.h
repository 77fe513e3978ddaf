// One interface over the CPU and CUDA backends: memory, batched FFTs, the random stream, and the element
// operations of element_ops.h. Callers (ForwardModel, Generator, later the network) check arguments before
// calling; backends do what they are told. No CUDA header is needed to use this interface.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "magcnn/communicator.h"
#include "magcnn/element_ops.h"
#include "magcnn/tensor.h"

namespace magcnn {

// A batch of 2-D real FFTs: [batch, ny, nx] real <-> [batch, ny, nx/2+1] complex. rows_in promises that
// input rows from rows_in on are zero (zero-padded maps); rows_out says that only the first rows_out rows
// of the inverse's output are read. Backends may use them to skip work (FFTW does) or ignore them.
enum class FftDirection { Forward, Inverse, Both };

struct FftSpec {
  DType real_type = DType::F64;
  int64_t batch = 1, ny = 1, nx = 1;
  int64_t rows_in = 0;   // 0: all rows
  int64_t rows_out = 0;  // 0: all rows
  FftDirection direction = FftDirection::Both;  // what will be executed: the other is not planned
};

// Batched 2-D real FFTs of one FftSpec, planned once and executed many times, unnormalized.
// forward: real -> half spectrum; inverse: the reverse. inverse may overwrite its input (as c2r
// transforms do) and leaves output rows from rows_out on undefined.
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

// A 2-D convolution of one fixed shape: NCHW tensors, OIHW weights, stride 1, zero padding of k/2 on
// every side ('same'; k odd), no bias (added by the BiasActivation op). Planned once (algorithm and
// workspace chosen and allocated up front), run many times, deterministic: the same inputs give the
// same bits on the same device.
struct ConvSpec {
  DType dtype = DType::F32;
  int64_t batch = 1, in_channels = 1, out_channels = 1, height = 1, width = 1, kernel = 3;
};

class ConvPlan {
 public:
  virtual ~ConvPlan() = default;
  // y[N, O, H, W] = conv(x[N, I, H, W], w[O, I, k, k])
  virtual void forward(const void* x, const void* w, void* y) = 0;
  // dx[N, I, H, W] = the gradient through the convolution of dy[N, O, H, W] (overwritten)
  virtual void backward_data(const void* dy, const void* w, void* dx) = 0;
  // dw[O, I, k, k] = the weights' gradient, summed over the batch (overwritten)
  virtual void backward_filter(const void* x, const void* dy, void* dw) = 0;
  // For people and benchmarks: which implementation and algorithms the plan chose.
  virtual std::string algorithm() const = 0;
};

// Sorting n values by double keys (ascending, ties kept in order), with its scratch space sized once.
class SortPlan {
 public:
  virtual ~SortPlan() = default;
  // keys [n] (overwritten), values [n] (reordered as the keys), both on the backend's device.
  virtual void sort(double* keys, int32_t* values) = 0;
};

// A recorded sequence of backend work, replayed as a whole: a CUDA graph on the GPU (one launch for a
// whole training step); on the CPU, the work itself, run again.
class StepGraph {
 public:
  virtual ~StepGraph() = default;
  virtual void replay() = 0;
};

// Copies that overlap the backend's compute: an upload lane and a download lane beside the compute
// stream that every other call queues on (GPU: two more streams, ordered by events; CPU: each call done
// at once, in the order given, so that the same calls give the same results). A Mark is a point in one
// lane's work: a lane told to wait for it runs what is queued on it afterwards only once everything
// queued on the marked lane before the mark is done; host_wait blocks the caller likewise. Host memory
// must come from allocate_host() and be left alone until a mark after its copy has been waited for.
enum class Lane { Upload, Compute, Download };

class CopyLanes {
 public:
  using Mark = int64_t;
  static constexpr Mark kNoMark = -1;  // waiting for it waits for nothing
  // Marks are recycled: at most this many may be waited for after they were made.
  static constexpr int kMarksInFlight = 16;
  virtual ~CopyLanes() = default;
  virtual void upload(void* dst, const void* host_src, std::size_t bytes) = 0;    // on Lane::Upload
  virtual void download(void* host_dst, const void* src, std::size_t bytes) = 0;  // on Lane::Download
  virtual Mark mark(Lane lane) = 0;
  virtual void wait(Lane lane, Mark m) = 0;
  virtual void host_wait(Mark m) = 0;
};

// Times device work for benchmarks: on the GPU, CUDA events recorded on the compute stream around it
// (the device's own time, without the host's launch overhead before the first of it); on the CPU, the
// wall clock.
class DeviceTimer {
 public:
  virtual ~DeviceTimer() = default;
  virtual void start() = 0;
  // Seconds from start() to the end of the work queued since, waiting for it.
  virtual double stop() = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual DeviceKind kind() const = 0;
  // For people: "CPU (2 threads)", "CUDA device 0: NVIDIA H100 80GB HBM3 (sm_90)".
  virtual std::string description() const = 0;
  // The real type the forward model and generator compute in: double on the CPU, float on the GPU.
  virtual DType preferred_real() const = 0;

  // Bytes of device memory still free for this process (host memory on the CPU); 0 when unknown.
  virtual uint64_t available_memory() const = 0;
  virtual void* allocate(std::size_t bytes) = 0;
  virtual void deallocate(void* ptr) noexcept = 0;
  // Host memory that downloads and uploads are fastest with (page-locked on the GPU backend).
  virtual void* allocate_host(std::size_t bytes) = 0;
  virtual void deallocate_host(void* ptr) noexcept = 0;
  virtual void upload(void* dst, const void* host_src, std::size_t bytes) = 0;
  virtual void download(void* host_dst, const void* src, std::size_t bytes) = 0;
  // Queues a download into memory from allocate_host(); the data is there after synchronize().
  virtual void download_async(void* host_dst, const void* src, std::size_t bytes) = 0;
  virtual void copy(void* dst, const void* src, std::size_t bytes) = 0;
  virtual void zero(void* dst, std::size_t bytes) = 0;
  // Waits for all queued work; errors of asynchronous work surface here at the latest.
  virtual void synchronize() = 0;
  // Sums `count` floats at `data` (this backend's memory) over the ranks of `ranks`, in place, in order
  // with the backend's other work (inside a captured step too). The CPU goes through the communicator;
  // the GPU through NCCL on its stream (InvalidInput in a build without NCCL). The first call makes
  // what it needs (an NCCL communicator) and must come before any capture.
  virtual void sum_over_ranks(float* data, int64_t count, Communicator& ranks) = 0;

  virtual std::unique_ptr<CopyLanes> copy_lanes() = 0;
  virtual std::unique_ptr<DeviceTimer> timer() = 0;

  virtual std::unique_ptr<FftPlan> plan_fft(const FftSpec& spec) = 0;
  virtual std::unique_ptr<UniformStream> uniform_stream(uint64_t seed) = 0;

  // Spectra of the cell kernels from their first quadrant ([tables][P/2+1][Q/2+1] doubles, as filled by
  // kern::CellKernelQuadrant; tables 3 or 6; P, Q even; overwritten) into the planes [tables][P][Q/2+1]
  // of `planes_type`: Im DFT(Kx), Im DFT(Ky), Re DFT(Kz), then Re DFT(Kxx), Re DFT(Kxy), Re DFT(Kyy),
  // times `scale`. The CPU uses the parities (DCT-I / DST-I on the quadrant alone); the GPU mirrors the
  // quadrant and runs a full double-precision FFT.
  virtual void kernel_spectra(double* quadrant, int tables, int64_t P, int64_t Q, DType planes_type, void* planes, double scale) = 0;

  virtual std::unique_ptr<ConvPlan> plan_conv(const ConvSpec& spec) = 0;
  virtual std::unique_ptr<SortPlan> plan_sort(int64_t n) = 0;
  // Records `work` (which must queue backend calls only: no allocation, no synchronization, no
  // downloads) for replay. The work is not run by capturing; replay() runs it.
  virtual std::unique_ptr<StepGraph> capture(const std::function<void()>& work) = 0;

  // run(op, n) applies op to elements 0..n-1.
#define MAGCNN_DECLARE_RUN(Op) virtual void run(const Op& op, int64_t n) = 0;
  MAGCNN_ELEMENT_OPS(MAGCNN_DECLARE_RUN)
#undef MAGCNN_DECLARE_RUN
  // reduce(op, outputs) computes outputs 0..outputs-1 of a reduction (kernels/reduce_ops.h).
#define MAGCNN_DECLARE_REDUCE(Op) virtual void reduce(const Op& op, int64_t outputs) = 0;
  MAGCNN_REDUCE_OPS(MAGCNN_DECLARE_REDUCE)
#undef MAGCNN_DECLARE_REDUCE
};

}  // namespace magcnn
