// Status overloads for MAGCNN_CHECK over CUDA runtime, cuFFT, cuBLAS and cuDNN calls (cuRAND's are in
// curand_status.h); all of them turn a failure into magcnn::Error with the call site.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>
#include <cufft.h>

#include <string>

#include "check.h"
#include "curand_status.h"

namespace magcnn {

inline bool status_ok(cudaError_t s) { return s == cudaSuccess; }
inline std::string status_text(cudaError_t s) {
  return std::string(cudaGetErrorName(s)) + " (" + cudaGetErrorString(s) + ")";
}

inline bool status_ok(cufftResult s) { return s == CUFFT_SUCCESS; }
inline std::string status_text(cufftResult s) {
  switch (s) {
    case CUFFT_INVALID_PLAN: return "CUFFT_INVALID_PLAN";
    case CUFFT_ALLOC_FAILED: return "CUFFT_ALLOC_FAILED (out of GPU memory)";
    case CUFFT_INVALID_VALUE: return "CUFFT_INVALID_VALUE";
    case CUFFT_INTERNAL_ERROR: return "CUFFT_INTERNAL_ERROR";
    case CUFFT_EXEC_FAILED: return "CUFFT_EXEC_FAILED";
    case CUFFT_SETUP_FAILED: return "CUFFT_SETUP_FAILED";
    case CUFFT_INVALID_SIZE: return "CUFFT_INVALID_SIZE";
    case CUFFT_NOT_SUPPORTED: return "CUFFT_NOT_SUPPORTED";
    default: return "cuFFT status " + std::to_string(static_cast<int>(s));
  }
}

inline bool status_ok(cublasStatus_t s) { return s == CUBLAS_STATUS_SUCCESS; }
inline std::string status_text(cublasStatus_t s) { return cublasGetStatusString(s); }

inline bool status_ok(cudnnStatus_t s) { return s == CUDNN_STATUS_SUCCESS; }
inline std::string status_text(cudnnStatus_t s) { return cudnnGetErrorString(s); }

}  // namespace magcnn
