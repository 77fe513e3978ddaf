// One GPU's context: its stream and library handles, created once (cuBLAS and cuDNN lazily, on first use)
// and destroyed with it. All work of a CudaBackend is queued on this one stream.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <memory>
#include <string>
#include <type_traits>

namespace magcnn::cuda {

template <class Handle, class Status>
using HandlePtr = std::unique_ptr<std::remove_pointer_t<Handle>, Status (*)(Handle)>;

class CudaContext {
 public:
  explicit CudaContext(int device);
  ~CudaContext();
  CudaContext(const CudaContext&) = delete;
  CudaContext& operator=(const CudaContext&) = delete;

  int device() const { return device_; }
  cudaStream_t stream() const { return stream_.get(); }
  const cudaDeviceProp& properties() const { return props_; }
  cublasHandle_t cublas();
  cudnnHandle_t cudnn();

 private:
  int device_;
  cudaDeviceProp props_{};
  HandlePtr<cudaStream_t, cudaError_t> stream_{nullptr, &cudaStreamDestroy};
  HandlePtr<cublasHandle_t, cublasStatus_t> cublas_{nullptr, &cublasDestroy};
  HandlePtr<cudnnHandle_t, cudnnStatus_t> cudnn_{nullptr, &cudnnDestroy};
};

}  // namespace magcnn::cuda
