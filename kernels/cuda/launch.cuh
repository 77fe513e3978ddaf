// The CUDA side of "one formula, two loops": a grid-stride kernel around an element functor from kernels/.
// The launch is the only GPU-only line of an element operation; its error is checked at once.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

namespace magcnn::kern {

template <class Op>
static __global__ void element_kernel(const Op op, const int64_t n) {
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) op(i);
}

// Launches op over n elements on `stream`; returns the launch's error (cudaSuccess if none).
template <class Op>
static cudaError_t launch_elements(cudaStream_t stream, const Op& op, int64_t n, int threads = 256) {
  if (n <= 0) return cudaSuccess;
  // Enough blocks to fill any current GPU several times over; the grid-stride loop covers the rest.
  const int64_t blocks = std::min<int64_t>((n + threads - 1) / threads, int64_t{1} << 16);
  element_kernel<<<static_cast<unsigned>(blocks), threads, 0, stream>>>(op, n);
  return cudaGetLastError();
}

}  // namespace magcnn::kern
