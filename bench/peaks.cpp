// The device's measured peaks, against which benchmarks set their FLOPs and bytes, each measured once
// per device and process, whichever benchmarks run:
//   bandwidth: a 256 MB device-to-device copy (read + written bytes), the best of 5;
//   arithmetic: the faster of two FP32 GEMMs of the same kind of work, the best of 5 each:
//     the platform's BLAS, cuBLAS on the GPU (4096^3, gemm_peak_cuda.cpp) and OpenBLAS on the CPU
//     (2048^3, 17 GFLOP);
//     the backend's own convolution plan on a GEMM shape, a 1 x 1 convolution of 1024 -> 1024 channels
//     on a 64 x 64 map (8.6 GFLOP; cuDNN in FP32 with TF32 off, oneDNN on the CPU).
//   On the build VM oneDNN is the faster (477 against OpenBLAS's 268 GFLOP/s); on a GPU cuBLAS is
//   expected to be. Both are printed, so that a line's fraction of the peak can be read against either.
#include <algorithm>
#include <chrono>
#include <map>
#include <random>

#if MAGCNN_HAVE_BLAS
#include <cblas.h>
#endif

#include "../tests/reference.h"
#include "registry.h"

namespace magcnn::bench {
namespace {

template <class Work>
double best_seconds(Backend& backend, Work work) {
  work();
  backend.synchronize();
  double best = 1e30;
  for (int i = 0; i < 5; ++i) {
    const auto start = std::chrono::steady_clock::now();
    work();
    backend.synchronize();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return best;
}

}  // namespace

double copy_peak(DeviceKind kind) {
  static std::map<DeviceKind, double> peaks;
  if (peaks.count(kind) == 0) {
    auto backend = backend_for(kind);
    const std::size_t bytes = std::size_t{256} << 20;
    Tensor a(*backend, DType::U8, Shape{static_cast<int64_t>(bytes)}), b(*backend, DType::U8, Shape{static_cast<int64_t>(bytes)});
    backend->zero(a.view().data, bytes);
    peaks[kind] = 2.0 * static_cast<double>(bytes) / best_seconds(*backend, [&] { backend->copy(b.view().data, a.view().data, bytes); });
  }
  return peaks[kind];
}

double conv_plan_rate(DeviceKind kind) {
  static std::map<DeviceKind, double> peaks;
  if (peaks.count(kind) == 0) {
    auto backend = backend_for(kind);
    const ConvSpec spec{DType::F32, 1, 1024, 1024, 64, 64, 1};
    auto plan = backend->plan_conv(spec);
    std::mt19937_64 rng(10);
    Tensor x(*backend, DType::F32, Shape{1024 * 64 * 64}), w(*backend, DType::F32, Shape{1024 * 1024}),
        y(*backend, DType::F32, Shape{1024 * 64 * 64});
    x.upload(test::uniform_values<float>(rng, x.numel(), 1.0));
    w.upload(test::uniform_values<float>(rng, w.numel(), 0.05));
    const double flop = 2.0 * 1024.0 * 1024.0 * 64.0 * 64.0;
    peaks[kind] = flop / best_seconds(*backend, [&] { plan->forward(x.data<float>(), w.data<float>(), y.data<float>()); });
  }
  return peaks[kind];
}

#if MAGCNN_HAVE_BLAS
double openblas_sgemm_rate() {
  const int n = 2048;
  std::mt19937_64 rng(12);
  const std::vector<float> a = test::uniform_values<float>(rng, n * n, 1.0), b = test::uniform_values<float>(rng, n * n, 1.0);
  std::vector<float> c(a.size());
  auto cpu = make_cpu_backend();
  const double seconds = best_seconds(*cpu, [&] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
  });
  return 2.0 * n * static_cast<double>(n) * n / seconds;
}
#endif

const char* blas_name(DeviceKind kind) {
  if (kind == DeviceKind::CUDA) return "cuBLAS SGEMM 4096^3";
  return MAGCNN_HAVE_BLAS ? "OpenBLAS SGEMM 2048^3" : "no BLAS in this build";
}

// The BLAS's GEMM rate, 0 where this build has none.
double blas_rate(DeviceKind kind) {
  static std::map<DeviceKind, double> rates;
  if (rates.count(kind) == 0) {
    rates[kind] = 0;
#if MAGCNN_WITH_CUDA
    if (kind == DeviceKind::CUDA) rates[kind] = cublas_sgemm_rate();
#endif
#if MAGCNN_HAVE_BLAS
    if (kind == DeviceKind::CPU) rates[kind] = openblas_sgemm_rate();
#endif
  }
  return rates[kind];
}

double arithmetic_peak(DeviceKind kind) { return std::max(blas_rate(kind), conv_plan_rate(kind)); }

void BM_Peaks(benchmark::State& state, DeviceKind kind) {
  const double bandwidth = copy_peak(kind), blas = blas_rate(kind), conv = conv_plan_rate(kind);
  for (auto _ : state) benchmark::DoNotOptimize(bandwidth + blas + conv);
  state.counters["copy_bytes_per_s"] = bandwidth;
  state.counters["blas_FLOP_per_s"] = blas;
  state.counters["conv_plan_FLOP_per_s"] = conv;
  state.counters["peak_FLOP_per_s"] = arithmetic_peak(kind);
  state.SetLabel(backend_for(kind)->description() + ": 256 MB copy; " + blas_name(kind) + "; conv plan: 1x1 1024 -> 1024 on 64 x 64");
}

void register_peak_benchmarks() {
  std::vector<std::pair<DeviceKind, std::string>> kinds{{DeviceKind::CPU, "cpu"}};
  if (probe_cuda().usable) kinds.emplace_back(DeviceKind::CUDA, "cuda");
  for (const auto& [kind, name] : kinds) benchmark::RegisterBenchmark(("peaks/" + name).c_str(), BM_Peaks, kind)->Iterations(1);
}

}  // namespace magcnn::bench
