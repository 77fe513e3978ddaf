// magcnn-bench, inference group: what magcnn-infer does per batch, on every backend that works.
//   infer_maps:     32 x 32 training-set maps (already on the model's grid) through the network, at batch
//                   sizes 1 to 4096 (the Predictor's passes), the physics residual off and on.
//   infer_large:    one measured map of side N (pixels of d/2) end to end in memory: resampled onto the
//                   model's grid, predicted whole, resampled back, the residual's exact forward model.
// The model is the seed's network with random weights: inference costs the same whatever they are.
// Timed by the wall clock, not by CUDA events: a batch here is host work (resampling, normalizing, the
// residual's fits) overlapped with device work on three streams, and what a user waits for is the
// whole. The network alone, event-timed, is inference/ in bench_network.cpp.
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>

#include "../tests/random_model.h"
#include "../tests/reference.h"
#include "magcnn/inference.h"
#include "registry.h"

namespace magcnn::bench {
namespace {

void BM_InferMaps(benchmark::State& state, DeviceKind kind, bool residual) {
  auto backend = backend_for(kind);
  const int64_t batch = state.range(0);
  const ModelFile model = test::random_model_file(11);
  MapGrid grid;
  grid.ny = grid.nx = 32;
  grid.normalized = true;
  grid.geometry = FilmGeometry{1.0, 1.0, 0.1, 1.0};
  InferenceOptions o;
  o.predictor.max_batch = batch;
  o.predictor.expected_maps = batch;
  o.residual = residual;
  Inference inference(*backend, model, grid, o);
  std::mt19937_64 rng(5);
  const std::vector<float> b = test::uniform_values<float>(rng, batch * 1024, 0.3);
  std::vector<float> out(b.size());
  std::vector<ResidualReport> reports(static_cast<std::size_t>(batch));
  inference.run(b.data(), batch, nullptr, out.data(), reports.data());
  for (float v : out)
    if (!std::isfinite(v)) state.SkipWithError("non-finite prediction");
  for (auto _ : state) inference.run(b.data(), batch, nullptr, out.data(), reports.data());
  state.counters["maps_per_s"] = benchmark::Counter(static_cast<double>(batch), benchmark::Counter::kIsIterationInvariantRate);
  // 46.4 MFLOP a map forward (counted as direct convolutions), against the measured GEMM rate.
  state.counters["of_peak"] = benchmark::Counter(46.4e6 * static_cast<double>(batch) / arithmetic_peak(kind),
                                                 benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(backend->description() + ", " + inference.predictor().describe());
}

void BM_InferLarge(benchmark::State& state, DeviceKind kind) {
  auto backend = backend_for(kind);
  const int64_t side = state.range(0);
  const ModelFile model = test::random_model_file(11);
  MapGrid grid;
  grid.ny = grid.nx = side;
  grid.geometry = FilmGeometry{5e-9, 10e-9, 1e-9, 1e5};  // pixels of d/2
  InferenceOptions o;
  o.predictor.expected_maps = 1;
  Inference inference(*backend, model, grid, o);  // plans and kernel spectra: once per map size
  std::mt19937_64 rng(6);
  const std::vector<float> bz = test::uniform_values<float>(rng, side * side, 1e-3);
  std::vector<float> out(bz.size());
  ResidualReport report;
  inference.run(bz.data(), 1, nullptr, out.data(), &report);
  if (!std::isfinite(report.relative_l2)) state.SkipWithError("non-finite residual");
  for (auto _ : state) inference.run(bz.data(), 1, nullptr, out.data(), &report);
  state.counters["pixels_per_s"] = benchmark::Counter(static_cast<double>(side * side), benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(backend->description() + ", " + inference.predictor().describe());
}

}  // namespace

void register_inference_benchmarks() {
  std::vector<std::pair<DeviceKind, std::string>> kinds{{DeviceKind::CPU, "cpu"}};
  if (probe_cuda().usable) kinds.emplace_back(DeviceKind::CUDA, "cuda");
  for (const auto& [kind, name] : kinds) {
    for (const bool residual : {false, true}) {
      benchmark::RegisterBenchmark(("infer_maps/" + name + (residual ? "/residual" : "/network")).c_str(), BM_InferMaps, kind, residual)
          ->Arg(1)->Arg(16)->Arg(32)->Arg(256)->Arg(4096)->Unit(benchmark::kMillisecond)->UseRealTime();
    }
    benchmark::RegisterBenchmark(("infer_large/" + name).c_str(), BM_InferLarge, kind)
        ->Arg(512)->Arg(2048)->Unit(benchmark::kMillisecond)->UseRealTime();
  }
}

}  // namespace magcnn::bench
