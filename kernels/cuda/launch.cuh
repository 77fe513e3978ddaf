// The CUDA side of "one formula, two loops": a grid-stride kernel around an element functor from kernels/.
// The launch is the only GPU-only line of an element operation; its error is checked at once.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "kernels/reduce_ops.h"

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

namespace magcnn::kern {

// The CUDA side of a reduction (kernels/reduce_ops.h): one block per output. Thread t sums the terms
// k = t, t + T, t + 2T, ... of the [rows, cols] grid (k = row cols + col), four at a time into four
// accumulators, so that four loads are in flight per thread (a single accumulator leaves the SM waiting
// on one load at a time); StridedCursor steps (row, col) with no division per term. A fixed
// tree in shared memory then sums the threads. The order depends on the op and its shape alone: reruns
// give the same bits, and no atomics are used.
constexpr int kReduceThreads = 1024;

template <class Op>
static __global__ void __launch_bounds__(kReduceThreads) reduce_kernel(const Op op, const int64_t rows, const int64_t cols) {
  __shared__ double partial[kReduceThreads];
  const int64_t o = blockIdx.x;
  StridedCursor at(threadIdx.x, kReduceThreads, cols);
  double acc[4] = {0, 0, 0, 0};
  while (at.row < rows) {
    double v[4];
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      v[j] = at.row < rows ? op.value(o, at.row, at.col) : 0.0;
      at.advance();
    }
#pragma unroll
    for (int j = 0; j < 4; ++j) acc[j] += v[j];
  }
  partial[threadIdx.x] = (acc[0] + acc[1]) + (acc[2] + acc[3]);
  __syncthreads();
  for (int stride = kReduceThreads / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
    __syncthreads();
  }
  if (threadIdx.x == 0) op.store(o, partial[0]);
}

template <class Op>
static cudaError_t launch_reduce(cudaStream_t stream, const Op& op, int64_t outputs) {
  if (outputs <= 0) return cudaSuccess;
  if (outputs > 0x7fffffff || op.cols < 1) return cudaErrorInvalidValue;
  reduce_kernel<<<static_cast<unsigned>(outputs), kReduceThreads, 0, stream>>>(op, op.rows(), op.cols);
  return cudaGetLastError();
}

}  // namespace magcnn::kern
