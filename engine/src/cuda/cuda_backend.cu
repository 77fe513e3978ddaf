// The CUDA backend: device memory on one stream, cuFFT, cuRAND, and grid-stride kernels over the shared
// element functors. Also the probe that tells whether a GPU works at all.
#include <string>

#include "cuda/cuda_check.h"
#include "cuda/cuda_context.h"
#include "cuda/cuda_parts.h"
#include "kernels/cuda/launch.cuh"
#include "magcnn/device.h"
#include "magcnn/log.h"

namespace magcnn {
namespace {

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(int device) : ctx_(device) {}

  DeviceKind kind() const override { return DeviceKind::CUDA; }
  std::string description() const override {
    const cudaDeviceProp& p = ctx_.properties();
    return "CUDA device " + std::to_string(ctx_.device()) + ": " + p.name + " (sm_" + std::to_string(p.major) +
           std::to_string(p.minor) + ", " + std::to_string(p.multiProcessorCount) + " SMs)";
  }
  DType preferred_real() const override { return DType::F32; }

  uint64_t available_memory() const override {
    std::size_t free_bytes = 0, total_bytes = 0;
    MAGCNN_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
    return free_bytes;
  }
  void* allocate(std::size_t bytes) override {
    void* p = nullptr;
    MAGCNN_CHECK(cudaMalloc(&p, bytes));
    return p;
  }
  void deallocate(void* ptr) noexcept override {
    const cudaError_t s = cudaFree(ptr);
    if (s != cudaSuccess) log_warn("cudaFree failed: " + status_text(s));
  }
  void* allocate_host(std::size_t bytes) override {
    void* p = nullptr;
    MAGCNN_CHECK(cudaMallocHost(&p, bytes));
    return p;
  }
  void deallocate_host(void* ptr) noexcept override {
    const cudaError_t s = cudaFreeHost(ptr);
    if (s != cudaSuccess) log_warn("cudaFreeHost failed: " + status_text(s));
  }
  void upload(void* dst, const void* src, std::size_t bytes) override {
    MAGCNN_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, ctx_.stream()));
    synchronize();  // the host buffer may go away once we return
  }
  void download(void* dst, const void* src, std::size_t bytes) override {
    MAGCNN_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, ctx_.stream()));
    synchronize();
  }
  void download_async(void* dst, const void* src, std::size_t bytes) override {
    MAGCNN_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, ctx_.stream()));
  }
  void copy(void* dst, const void* src, std::size_t bytes) override {
    MAGCNN_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, ctx_.stream()));
  }
  void zero(void* dst, std::size_t bytes) override { MAGCNN_CHECK(cudaMemsetAsync(dst, 0, bytes, ctx_.stream())); }
  void synchronize() override { MAGCNN_CHECK(cudaStreamSynchronize(ctx_.stream())); }
  void sum_over_ranks(float* data, int64_t count, Communicator& ranks) override {
    // One NCCL communicator per set of ranks, made on first use (before the step is captured).
    if (nccl_ == nullptr || nccl_for_ != &ranks) {
      nccl_ = cuda::make_nccl_ranks(ctx_, ranks);
      nccl_for_ = &ranks;
    }
    nccl_->sum(data, count);
  }

  std::unique_ptr<CopyLanes> copy_lanes() override { return cuda::make_copy_lanes(ctx_); }
  std::unique_ptr<DeviceTimer> timer() override { return cuda::make_event_timer(ctx_); }
  std::unique_ptr<FftPlan> plan_fft(const FftSpec& spec) override { return cuda::make_cufft_plan(ctx_, spec); }
  std::unique_ptr<UniformStream> uniform_stream(uint64_t seed) override {
    return cuda::make_curand_stream(ctx_, seed);
  }
  std::unique_ptr<ConvPlan> plan_conv(const ConvSpec& spec) override { return cuda::make_cudnn_conv(ctx_, spec); }
  std::unique_ptr<SortPlan> plan_sort(int64_t n) override { return cuda::make_cub_sort(ctx_, n); }
  std::unique_ptr<StepGraph> capture(const std::function<void()>& work) override { return cuda::make_cuda_graph(ctx_, work); }

  // cuFFT has no real-to-real transforms: mirror the quadrant into full tables and transform in double.
  void kernel_spectra(double* quadrant, int tables, int64_t P, int64_t Q, DType planes_type, void* planes, double scale) override {
    const int64_t plane = P * (Q / 2 + 1);
    Tensor full(*this, DType::F64, Shape{tables, P, Q});
    Tensor half(*this, DType::F64, Shape{tables, P, 2 * (Q / 2 + 1)});
    run(kern::MirrorQuadrant{quadrant, full.data<double>(), P, Q}, tables * P * Q);
    // The plan, like the buffers, must outlive the queued transform: it is destroyed after the synchronize.
    const std::unique_ptr<FftPlan> plan = plan_fft(FftSpec{DType::F64, tables, P, Q, 0, 0, FftDirection::Forward});
    plan->forward(full.data<double>(), half.data<double>());
    const auto* fft = reinterpret_cast<const kern::Complex<double>*>(half.data<double>());
    for (int c = 0; c < tables; ++c) {
      const bool imaginary = kern::table_spectrum_imaginary(c);
      if (planes_type == DType::F64) {
        run(kern::SpectrumPlane<double>{fft + c * plane, static_cast<double*>(planes) + c * plane, imaginary, scale}, plane);
      } else {
        run(kern::SpectrumPlane<float>{fft + c * plane, static_cast<float*>(planes) + c * plane, imaginary, scale}, plane);
      }
    }
    synchronize();  // `full`, `half` and `plan` are freed on return
  }

#define MAGCNN_CUDA_RUN(Op) \
  void run(const Op& op, int64_t n) override { MAGCNN_CHECK(kern::launch_elements(ctx_.stream(), op, n)); }
  MAGCNN_ELEMENT_OPS(MAGCNN_CUDA_RUN)
#undef MAGCNN_CUDA_RUN
#define MAGCNN_CUDA_REDUCE(Op) \
  void reduce(const Op& op, int64_t outputs) override { MAGCNN_CHECK(kern::launch_reduce(ctx_.stream(), op, outputs)); }
  MAGCNN_REDUCE_OPS(MAGCNN_CUDA_REDUCE)
#undef MAGCNN_CUDA_REDUCE

 private:
  cuda::CudaContext ctx_;
  std::unique_ptr<cuda::NcclRanks> nccl_;  // destroyed before ctx_, its stream: declared after it
  const Communicator* nccl_for_ = nullptr;
};

}  // namespace

CudaProbe probe_cuda_device() {
  int count = 0;
  const cudaError_t s = cudaGetDeviceCount(&count);
  if (s != cudaSuccess) {
    cudaGetLastError();  // clear it: "no GPU" is an answer, not a failure
    return CudaProbe{false, "no GPU: cudaGetDeviceCount returned " + status_text(s)};
  }
  if (count == 0) return CudaProbe{false, "no GPU: cudaGetDeviceCount found none"};
  cudaDeviceProp p{};
  const cudaError_t q = cudaGetDeviceProperties(&p, 0);
  if (q != cudaSuccess) {
    cudaGetLastError();
    return CudaProbe{false, "GPU 0 unusable: " + status_text(q)};
  }
  return CudaProbe{true, std::string(p.name) + " (sm_" + std::to_string(p.major) + std::to_string(p.minor) + ")"};
}

std::unique_ptr<Backend> make_cuda_backend_impl(int device_index) { return std::make_unique<CudaBackend>(device_index); }

}  // namespace magcnn
