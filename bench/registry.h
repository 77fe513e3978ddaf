// The benchmark groups of magcnn-bench, registered by main (bench_main.cpp), and what they share.
#pragma once

#include <benchmark/benchmark.h>

#include <memory>

#include "magcnn/device.h"

namespace magcnn::bench {

void register_forward_benchmarks();
void register_network_benchmarks();
void register_element_benchmarks();
void register_inference_benchmarks();
void register_accuracy_benchmarks();
void register_peak_benchmarks();

// The device's measured peaks (peaks.cpp), measured once per process: copy bandwidth in bytes/s (read
// + written) and FP32 arithmetic in FLOP/s (the faster of the BLAS's SGEMM, cuBLAS or OpenBLAS, and the
// backend's 1 x 1 convolution on a GEMM shape).
double copy_peak(DeviceKind kind);
double arithmetic_peak(DeviceKind kind);
#if MAGCNN_WITH_CUDA
double cublas_sgemm_rate();  // gemm_peak_cuda.cpp
#endif

// Each iteration of `work` timed by the device (CUDA events on the compute stream on a GPU, the wall
// clock on the CPU), after one warm-up; for benchmarks registered with UseManualTime().
template <class Work>
void time_on_device(benchmark::State& state, Backend& backend, Work work) {
  const std::unique_ptr<DeviceTimer> timer = backend.timer();
  work();
  backend.synchronize();
  for (auto _ : state) {
    timer->start();
    work();
    state.SetIterationTime(timer->stop());
  }
}

inline std::unique_ptr<Backend> backend_for(DeviceKind kind) {
  return kind == DeviceKind::CPU ? make_cpu_backend() : make_cuda_backend();
}

}  // namespace magcnn::bench
