// The per-device context: stream first, library handles on demand, all bound to the stream.
#include "cuda/cuda_check.h"
#include "cuda/cuda_context.h"

namespace magcnn::cuda {

CudaContext::CudaContext(int device) : device_(device) {
  MAGCNN_CHECK(cudaSetDevice(device));
  MAGCNN_CHECK(cudaGetDeviceProperties(&props_, device));
  cudaStream_t s = nullptr;
  MAGCNN_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  stream_.reset(s);
}

CudaContext::~CudaContext() {
  // Let queued work finish before handles and the stream go; errors here can only be reported.
  if (stream_) cudaStreamSynchronize(stream_.get());
}

cublasHandle_t CudaContext::cublas() {
  if (!cublas_) {
    cublasHandle_t h = nullptr;
    MAGCNN_CHECK(cublasCreate(&h));
    cublas_.reset(h);
    MAGCNN_CHECK(cublasSetStream(h, stream()));
  }
  return cublas_.get();
}

cudnnHandle_t CudaContext::cudnn() {
  if (!cudnn_) {
    cudnnHandle_t h = nullptr;
    MAGCNN_CHECK(cudnnCreate(&h));
    cudnn_.reset(h);
    MAGCNN_CHECK(cudnnSetStream(h, stream()));
  }
  return cudnn_.get();
}

}  // namespace magcnn::cuda
