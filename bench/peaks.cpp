// The device's measured peaks, against which benchmarks set their FLOPs and bytes, each measured once
// per device and process, whichever benchmarks run:
//   bandwidth: a 256 MB device-to-device copy (read + written bytes), the best of 5;
//   arithmetic: a 1 x 1 convolution of 1024 -> 1024 channels on a 64 x 64 map (a GEMM of 1024 x 1024 x
//   4096, 8.6 GFLOP) through the backend's own plan: cuDNN in FP32 with TF32 off on the GPU, oneDNN on
//   the CPU. The best of 5.
#include <algorithm>
#include <chrono>
#include <map>
#include <random>

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

double arithmetic_peak(DeviceKind kind) {
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

void BM_Peaks(benchmark::State& state, DeviceKind kind) {
  const double bandwidth = copy_peak(kind), arithmetic = arithmetic_peak(kind);
  for (auto _ : state) benchmark::DoNotOptimize(bandwidth + arithmetic);
  state.counters["copy_bytes_per_s"] = bandwidth;
  state.counters["gemm_FLOP_per_s"] = arithmetic;
  state.SetLabel(backend_for(kind)->description() + ": 256 MB copy; 1x1 convolution 1024 -> 1024 on 64 x 64 (a GEMM)");
}

void register_peak_benchmarks() {
  std::vector<std::pair<DeviceKind, std::string>> kinds{{DeviceKind::CPU, "cpu"}};
  if (probe_cuda().usable) kinds.emplace_back(DeviceKind::CUDA, "cuda");
  for (const auto& [kind, name] : kinds) benchmark::RegisterBenchmark(("peaks/" + name).c_str(), BM_Peaks, kind)->Iterations(1);
}

}  // namespace magcnn::bench
