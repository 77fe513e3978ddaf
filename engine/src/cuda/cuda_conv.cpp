// Convolutions on the GPU with cuDNN's convolution API (cudnnConvolutionForward, ...BackwardData,
// ...BackwardFilter and their descriptors). cuDNN 9 marks this API deprecated in favour of the graph
// API; it is kept because the same code also builds against cuDNN 8, the last release for pre-Turing
// GPUs (a later build with CUDA 11.8 for them), and needs no headers beyond cudnn.h. The deprecation
// warnings are silenced in this file only.
//
// Algorithms: cuDNN's heuristics (the _v7 queries, no timing runs), taking the first algorithm it ranks
// that is deterministic, runs without tensor-op math and fits a 256 MB workspace. Heuristics, not
// timing, so that every run on the same GPU picks the same algorithms and a resumed training gives the
// same bits. TF32 is off (CUDNN_FMA_MATH on the descriptor; results asking for tensor-op math are
// skipped): float results agree with the CPU to float rounding, not TF32's 1e-3.
#include <algorithm>
#include <climits>
#include <cstdint>
#include <string>
#include <type_traits>

#include "cuda/cuda_check.h"
#include "cuda/cuda_parts.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace magcnn::cuda {
namespace {

constexpr std::size_t kMaxWorkspace = std::size_t{256} << 20;

template <class Handle, class Status>
using Owned = std::unique_ptr<std::remove_pointer_t<Handle>, Status (*)(Handle)>;

class CudnnConv final : public ConvPlan {
 public:
  CudnnConv(CudaContext& ctx, const ConvSpec& s) : ctx_(ctx) {
    MAGCNN_REQUIRE(s.batch <= INT32_MAX && s.in_channels <= INT32_MAX && s.out_channels <= INT32_MAX && s.height <= INT32_MAX &&
                       s.width <= INT32_MAX,
                   "cuDNN takes sizes below 2^31");
    const cudnnDataType_t type = s.dtype == DType::F64 ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT;
    const int n = static_cast<int>(s.batch), ci = static_cast<int>(s.in_channels), co = static_cast<int>(s.out_channels);
    const int h = static_cast<int>(s.height), w = static_cast<int>(s.width), k = static_cast<int>(s.kernel);
    cudnnTensorDescriptor_t td = nullptr;
    MAGCNN_CHECK(cudnnCreateTensorDescriptor(&td));
    x_.reset(td);
    MAGCNN_CHECK(cudnnSetTensor4dDescriptor(td, CUDNN_TENSOR_NCHW, type, n, ci, h, w));
    MAGCNN_CHECK(cudnnCreateTensorDescriptor(&td));
    y_.reset(td);
    MAGCNN_CHECK(cudnnSetTensor4dDescriptor(td, CUDNN_TENSOR_NCHW, type, n, co, h, w));
    cudnnFilterDescriptor_t fd = nullptr;
    MAGCNN_CHECK(cudnnCreateFilterDescriptor(&fd));
    w_.reset(fd);
    MAGCNN_CHECK(cudnnSetFilter4dDescriptor(fd, type, CUDNN_TENSOR_NCHW, co, ci, k, k));
    cudnnConvolutionDescriptor_t cd = nullptr;
    MAGCNN_CHECK(cudnnCreateConvolutionDescriptor(&cd));
    conv_.reset(cd);
    MAGCNN_CHECK(cudnnSetConvolution2dDescriptor(cd, k / 2, k / 2, 1, 1, 1, 1, CUDNN_CROSS_CORRELATION, type));
    MAGCNN_CHECK(cudnnSetConvolutionMathType(cd, CUDNN_FMA_MATH));

    cudnnHandle_t handle = ctx_.cudnn();
    std::size_t need = 0;
    {
      cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
      int found = 0;
      MAGCNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(handle, x_.get(), w_.get(), conv_.get(), y_.get(),
                                                          CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &found, perf));
      fwd_ = pick(perf, found, "forward");
      MAGCNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(handle, x_.get(), w_.get(), conv_.get(), y_.get(), fwd_, &need));
      workspace_bytes_ = std::max(workspace_bytes_, need);
    }
    {
      cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
      int found = 0;
      MAGCNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(handle, w_.get(), y_.get(), conv_.get(), x_.get(),
                                                               CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &found, perf));
      bwd_data_ = pick(perf, found, "backward-data");
      MAGCNN_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(handle, w_.get(), y_.get(), conv_.get(), x_.get(), bwd_data_, &need));
      workspace_bytes_ = std::max(workspace_bytes_, need);
    }
    {
      cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
      int found = 0;
      MAGCNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(handle, x_.get(), y_.get(), conv_.get(), w_.get(),
                                                                 CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &found, perf));
      bwd_filter_ = pick(perf, found, "backward-filter");
      MAGCNN_CHECK(
          cudnnGetConvolutionBackwardFilterWorkspaceSize(handle, x_.get(), y_.get(), conv_.get(), w_.get(), bwd_filter_, &need));
      workspace_bytes_ = std::max(workspace_bytes_, need);
    }
    if (workspace_bytes_ > 0) MAGCNN_CHECK(cudaMalloc(&workspace_, workspace_bytes_));
    double_ = s.dtype == DType::F64;
  }

  ~CudnnConv() override {
    if (workspace_ != nullptr) cudaFree(workspace_);
  }

  void forward(const void* x, const void* w, void* y) override {
    MAGCNN_CHECK(cudnnConvolutionForward(ctx_.cudnn(), one(), x_.get(), x, w_.get(), w, conv_.get(), fwd_, workspace_,
                                         workspace_bytes_, zero(), y_.get(), y));
  }
  void backward_data(const void* dy, const void* w, void* dx) override {
    MAGCNN_CHECK(cudnnConvolutionBackwardData(ctx_.cudnn(), one(), w_.get(), w, y_.get(), dy, conv_.get(), bwd_data_, workspace_,
                                              workspace_bytes_, zero(), x_.get(), dx));
  }
  void backward_filter(const void* x, const void* dy, void* dw) override {
    MAGCNN_CHECK(cudnnConvolutionBackwardFilter(ctx_.cudnn(), one(), x_.get(), x, y_.get(), dy, conv_.get(), bwd_filter_,
                                                workspace_, workspace_bytes_, zero(), w_.get(), dw));
  }
  std::string algorithm() const override {
    return "cuDNN legacy API, FMA math (no TF32): forward algo " + std::to_string(static_cast<int>(fwd_)) + ", backward-data algo " +
           std::to_string(static_cast<int>(bwd_data_)) + ", backward-filter algo " + std::to_string(static_cast<int>(bwd_filter_)) +
           ", workspace " + std::to_string(workspace_bytes_) + " B";
  }

 private:
  template <class Perf>
  static decltype(Perf{}.algo) pick(const Perf* perf, int found, const char* pass) {
    for (int i = 0; i < found; ++i)
      if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].determinism == CUDNN_DETERMINISTIC && perf[i].memory <= kMaxWorkspace &&
          perf[i].mathType != CUDNN_TENSOR_OP_MATH && perf[i].mathType != CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION)
        return perf[i].algo;
    throw Error(std::string("cuDNN offers no deterministic ") + pass + " convolution algorithm for this shape");
  }
  // Scaling factors: double for double tensors, float otherwise (cuDNN's rule).
  const void* one() const { return double_ ? static_cast<const void*>(&one_d_) : static_cast<const void*>(&one_f_); }
  const void* zero() const { return double_ ? static_cast<const void*>(&zero_d_) : static_cast<const void*>(&zero_f_); }

  CudaContext& ctx_;
  Owned<cudnnTensorDescriptor_t, cudnnStatus_t> x_{nullptr, &cudnnDestroyTensorDescriptor}, y_{nullptr, &cudnnDestroyTensorDescriptor};
  Owned<cudnnFilterDescriptor_t, cudnnStatus_t> w_{nullptr, &cudnnDestroyFilterDescriptor};
  Owned<cudnnConvolutionDescriptor_t, cudnnStatus_t> conv_{nullptr, &cudnnDestroyConvolutionDescriptor};
  cudnnConvolutionFwdAlgo_t fwd_{};
  cudnnConvolutionBwdDataAlgo_t bwd_data_{};
  cudnnConvolutionBwdFilterAlgo_t bwd_filter_{};
  void* workspace_ = nullptr;
  std::size_t workspace_bytes_ = 0;
  bool double_ = false;
  float one_f_ = 1.0f, zero_f_ = 0.0f;
  double one_d_ = 1.0, zero_d_ = 0.0;
};

}  // namespace

std::unique_ptr<ConvPlan> make_cudnn_conv(CudaContext& ctx, const ConvSpec& spec) { return std::make_unique<CudnnConv>(ctx, spec); }

}  // namespace magcnn::cuda

#pragma GCC diagnostic pop
