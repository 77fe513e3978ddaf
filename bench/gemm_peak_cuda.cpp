// The GPU's FP32 arithmetic peak as cuBLAS reaches it: C = A B for square 4096 x 4096 matrices (137
// GFLOP), CUBLAS_PEDANTIC_MATH so that no TF32 tensor-core path is taken (the network computes in full
// FP32), timed by CUDA events on the handle's own stream, the best of 5 after one warm-up. Only this file
// of the benchmarks calls a CUDA library directly; every call is checked.
#include <algorithm>
#include <cmath>
#include <random>
#include <string>

#include "../tests/reference.h"
#include "cuda/cuda_check.h"
#include "cuda/cuda_context.h"
#include "registry.h"

namespace magcnn::bench {

double cublas_sgemm_rate() {
  using cuda::HandlePtr;
  auto backend = make_cuda_backend();
  const int n = 4096;
  std::mt19937_64 rng(12);
  Tensor a(*backend, DType::F32, Shape{int64_t{n} * n}), b(*backend, DType::F32, Shape{int64_t{n} * n}),
      c(*backend, DType::F32, Shape{int64_t{n} * n});
  a.upload(test::uniform_values<float>(rng, a.numel(), 1.0));
  b.upload(test::uniform_values<float>(rng, b.numel(), 1.0));
  backend->synchronize();

  HandlePtr<cudaStream_t, cudaError_t> stream{nullptr, &cudaStreamDestroy};
  HandlePtr<cublasHandle_t, cublasStatus_t> handle{nullptr, &cublasDestroy};
  HandlePtr<cudaEvent_t, cudaError_t> start{nullptr, &cudaEventDestroy}, stop{nullptr, &cudaEventDestroy};
  {
    cudaStream_t s = nullptr;
    MAGCNN_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    stream.reset(s);
    cublasHandle_t h = nullptr;
    MAGCNN_CHECK(cublasCreate(&h));
    handle.reset(h);
    for (auto* e : {&start, &stop}) {
      cudaEvent_t made = nullptr;
      MAGCNN_CHECK(cudaEventCreate(&made));
      e->reset(made);
    }
  }
  MAGCNN_CHECK(cublasSetStream(handle.get(), stream.get()));
  MAGCNN_CHECK(cublasSetMathMode(handle.get(), CUBLAS_PEDANTIC_MATH));
  const float one = 1.0f, zero = 0.0f;
  auto gemm = [&] {
    MAGCNN_CHECK(cublasSgemm(handle.get(), CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, a.data<float>(), n, b.data<float>(), n, &zero,
                             c.data<float>(), n));
  };
  gemm();
  MAGCNN_CHECK(cudaStreamSynchronize(stream.get()));
  double best = 1e30;
  for (int i = 0; i < 5; ++i) {
    MAGCNN_CHECK(cudaEventRecord(start.get(), stream.get()));
    gemm();
    MAGCNN_CHECK(cudaEventRecord(stop.get(), stream.get()));
    MAGCNN_CHECK(cudaEventSynchronize(stop.get()));
    float ms = 0;
    MAGCNN_CHECK(cudaEventElapsedTime(&ms, start.get(), stop.get()));
    best = std::min(best, 1e-3 * static_cast<double>(ms));
  }
  // A check that it computed: one entry of C against the host's dot product.
  const std::vector<float> ha = a.to_host<float>(), hb = b.to_host<float>(), hc = c.to_host<float>();
  double want = 0;
  for (int k = 0; k < n; ++k) want += static_cast<double>(ha[static_cast<std::size_t>(k) * n + 7]) * hb[static_cast<std::size_t>(5) * n + k];
  const double got = hc[static_cast<std::size_t>(5) * n + 7];  // column-major: C(7, 5)
  if (std::abs(got - want) > 1e-3 * std::sqrt(static_cast<double>(n)))
    throw Error("cuBLAS SGEMM check failed: " + std::to_string(got) + " vs " + std::to_string(want));
  return 2.0 * n * static_cast<double>(n) * n / best;
}

}  // namespace magcnn::bench
