// Sorting by double keys on the GPU with CUB's radix sort (stable), its scratch and output buffers
// allocated with the plan; the results are copied back over the inputs, as SortPlan promises.
#include <cub/device/device_radix_sort.cuh>

#include "cuda/cuda_check.h"
#include "cuda/cuda_parts.h"

namespace magcnn::cuda {
namespace {

class CubSort final : public SortPlan {
 public:
  CubSort(CudaContext& ctx, int64_t n) : ctx_(ctx), n_(n) {
    MAGCNN_REQUIRE(n >= 1 && n <= INT32_MAX, "sorting takes 1 to 2^31 - 1 values, asked for " << n);
    MAGCNN_CHECK(cub::DeviceRadixSort::SortPairs(nullptr, temp_bytes_, static_cast<const double*>(nullptr),
                                                 static_cast<double*>(nullptr), static_cast<const int32_t*>(nullptr),
                                                 static_cast<int32_t*>(nullptr), static_cast<int>(n), 0, 64, ctx.stream()));
    MAGCNN_CHECK(cudaMalloc(&temp_, temp_bytes_ > 0 ? temp_bytes_ : 1));
    MAGCNN_CHECK(cudaMalloc(&keys_out_, sizeof(double) * static_cast<std::size_t>(n)));
    MAGCNN_CHECK(cudaMalloc(&values_out_, sizeof(int32_t) * static_cast<std::size_t>(n)));
  }
  ~CubSort() override {
    cudaFree(temp_);
    cudaFree(keys_out_);
    cudaFree(values_out_);
  }
  void sort(double* keys, int32_t* values) override {
    std::size_t bytes = temp_bytes_;
    MAGCNN_CHECK(cub::DeviceRadixSort::SortPairs(temp_, bytes, keys, keys_out_, values, values_out_, static_cast<int>(n_), 0, 64,
                                                 ctx_.stream()));
    const std::size_t n = static_cast<std::size_t>(n_);
    MAGCNN_CHECK(cudaMemcpyAsync(keys, keys_out_, sizeof(double) * n, cudaMemcpyDeviceToDevice, ctx_.stream()));
    MAGCNN_CHECK(cudaMemcpyAsync(values, values_out_, sizeof(int32_t) * n, cudaMemcpyDeviceToDevice, ctx_.stream()));
  }

 private:
  CudaContext& ctx_;
  int64_t n_;
  std::size_t temp_bytes_ = 0;
  void* temp_ = nullptr;
  double* keys_out_ = nullptr;
  int32_t* values_out_ = nullptr;
};

// A captured CUDA graph, instantiated once and launched on the context's stream.
class CudaGraph final : public StepGraph {
 public:
  CudaGraph(CudaContext& ctx, const std::function<void()>& work) : ctx_(ctx) {
    MAGCNN_CHECK(cudaStreamBeginCapture(ctx.stream(), cudaStreamCaptureModeThreadLocal));
    cudaGraph_t graph = nullptr;
    try {
      work();
    } catch (...) {
      cudaStreamEndCapture(ctx.stream(), &graph);  // leave the stream usable; the error is the work's
      if (graph != nullptr) cudaGraphDestroy(graph);
      (void)cudaGetLastError();  // an invalidated capture is also the thread's last error: clear it, or the
                                 // next launch check would report it against an unrelated kernel
      throw;
    }
    const cudaError_t ended = cudaStreamEndCapture(ctx.stream(), &graph);
    if (ended != cudaSuccess) (void)cudaGetLastError();
    MAGCNN_CHECK(ended);
    // The spelling CUDA 11.4 to 13 share (cudaGraphInstantiate changed its arguments in CUDA 12).
    const cudaError_t made = cudaGraphInstantiateWithFlags(&exec_, graph, 0);
    cudaGraphDestroy(graph);
    if (made != cudaSuccess) (void)cudaGetLastError();
    MAGCNN_CHECK(made);
  }
  ~CudaGraph() override {
    if (exec_ != nullptr) cudaGraphExecDestroy(exec_);
  }
  void replay() override { MAGCNN_CHECK(cudaGraphLaunch(exec_, ctx_.stream())); }

 private:
  CudaContext& ctx_;
  cudaGraphExec_t exec_ = nullptr;
};

}  // namespace

std::unique_ptr<SortPlan> make_cub_sort(CudaContext& ctx, int64_t n) { return std::make_unique<CubSort>(ctx, n); }
std::unique_ptr<StepGraph> make_cuda_graph(CudaContext& ctx, const std::function<void()>& work) {
  return std::make_unique<CudaGraph>(ctx, work);
}

}  // namespace magcnn::cuda
