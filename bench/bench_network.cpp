// magcnn-bench, network group: every convolution implementation on the seed network's layer shapes, a
// whole training step, an epoch of the seed's 3000 samples, and inference, on every backend that works.
// Each benchmark checks a result before timing it.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>
#include <string>

#include "../tests/reference.h"
#include "cpu/cpu_parts.h"
#include "magcnn/generator.h"
#include "magcnn/network.h"
#include "magcnn/trainer.h"
#include "registry.h"

namespace magcnn::bench {
namespace {

// The seed network's convolution shapes (b = 32, 32 x 32 maps): in, out, kernel, side.
struct LayerShape {
  const char* name;
  int64_t in, out, kernel, side;
};
const LayerShape kLayers[] = {{"conv1_1to32_3x3_32", 1, 32, 3, 32},   {"full_32to32_3x3_32", 32, 32, 3, 32},
                              {"half_32to32_3x3_16", 32, 32, 3, 16},  {"quarter_32to32_3x3_8", 32, 32, 3, 8},
                              {"conv4_32to32_1x1_32", 32, 32, 1, 32}, {"conv5_32to1_1x1_32", 32, 1, 1, 32}};

enum class ConvImpl { Backend, OneDnnWinograd, OneDnnDirect, Im2colGemm };

std::unique_ptr<ConvPlan> make_plan(Backend& backend, ConvImpl impl, const ConvSpec& s) {
  switch (impl) {
    case ConvImpl::OneDnnWinograd: return cpu::make_dnnl_conv(s, true);
    case ConvImpl::OneDnnDirect: return cpu::make_dnnl_conv(s, false);
    case ConvImpl::Im2colGemm: return cpu::make_gemm_conv(s);
    default: return backend.plan_conv(s);
  }
}

// pass 0 forward, 1 backward-data, 2 backward-filter; FLOP/s counts 2 x multiply-adds of a direct
// convolution (Winograd does fewer: its rate is "effective").
void BM_Conv(benchmark::State& state, DeviceKind kind, ConvImpl impl, int pass) {
  auto backend = backend_for(kind);
  const LayerShape& L = kLayers[state.range(1)];
  const ConvSpec spec{DType::F32, state.range(0), L.in, L.out, L.side, L.side, L.kernel};
  auto plan = make_plan(*backend, impl, spec);
  if (!plan) {
    state.SkipWithError("not available for this shape or build");
    return;
  }
  std::mt19937_64 rng(9);
  const int64_t nx = spec.batch * spec.in_channels * L.side * L.side, ny = spec.batch * spec.out_channels * L.side * L.side;
  const int64_t nw = spec.out_channels * spec.in_channels * L.kernel * L.kernel;
  Tensor x(*backend, DType::F32, Shape{nx}), y(*backend, DType::F32, Shape{ny}), w(*backend, DType::F32, Shape{nw});
  x.upload(test::uniform_values<float>(rng, nx, 1.0));
  y.upload(test::uniform_values<float>(rng, ny, 1.0));
  w.upload(test::uniform_values<float>(rng, nw, 0.3));
  // Check: the forward pass against im2col + GEMM on the CPU (itself checked by tests/test_network.cpp).
  {
    Tensor out(*backend, DType::F32, Shape{ny});
    plan->forward(x.data<float>(), w.data<float>(), out.data<float>());
    auto cpu = make_cpu_backend();
    std::vector<float> hx = x.to_host<float>(), hw = w.to_host<float>(), want(static_cast<std::size_t>(ny));
    cpu::make_gemm_conv(spec)->forward(hx.data(), hw.data(), want.data());
    if (test::relative_l2(out.to_host<float>(), want) > 1e-3) throw std::runtime_error(plan->algorithm() + ": wrong forward result");
  }
  time_on_device(state, *backend, [&] {
    if (pass == 0) plan->forward(x.data<float>(), w.data<float>(), y.data<float>());
    if (pass == 1) plan->backward_data(y.data<float>(), w.data<float>(), x.data<float>());
    if (pass == 2) plan->backward_filter(x.data<float>(), y.data<float>(), w.data<float>());
  });
  const double flop = 2.0 * static_cast<double>(spec.batch * spec.in_channels * spec.out_channels * L.kernel * L.kernel * L.side * L.side);
  state.counters["FLOP_per_s"] = benchmark::Counter(flop, benchmark::Counter::kIsIterationInvariantRate);
  // The time the FLOPs take at the device's measured GEMM rate, over the time taken: 1 is the peak.
  state.counters["of_peak"] = benchmark::Counter(flop / arithmetic_peak(kind), benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(plan->algorithm());
}

// A trainer on n_train generated samples (the seed's 32 x 32 maps) and n_val validation samples.
struct SeedTrainer {
  std::unique_ptr<Backend> backend;
  std::unique_ptr<Trainer> trainer;
  SeedTrainer(DeviceKind kind, int64_t batch, int64_t n_train, bool graph, int64_t n_val) : backend(backend_for(kind)) {
    TrainSettings s;
    s.batch_size = batch;
    s.validation_batch = std::min<int64_t>(n_val, 250);
    s.adam.learning_rate = 1e-3;
    s.use_graph = graph;
    trainer = std::make_unique<Trainer>(*backend, NetworkSpec{}, s, 32, 32, n_train, n_val);
    GeneratorSettings g;
    g.count = n_train + n_val;
    Generator gen(*backend, g);
    SampleBatch b;
    std::vector<float> x, t;
    for (int64_t done = 0; done < g.count; done += b.count) {
      gen.next(std::min(gen.batch_capacity(), g.count - done), b);
      x.insert(x.end(), b.b.begin(), b.b.end());
      t.insert(t.end(), b.target.begin(), b.target.end());
    }
    const std::size_t split = static_cast<std::size_t>(n_train) * 1024;
    trainer->train_inputs().upload(std::vector<float>(x.begin(), x.begin() + split));
    trainer->train_targets().upload(std::vector<float>(t.begin(), t.begin() + split));
    trainer->validation_inputs().upload(std::vector<float>(x.begin() + split, x.end()));
    trainer->validation_targets().upload(std::vector<float>(t.begin() + split, t.end()));
  }
};

// One training step (gather, forward, loss, backward, Adam), timed over epochs of at least 20 steps and
// 1024 samples whose validation is a single map: the epoch's own work (the permutation, the read-back)
// is then a few percent of a step's cost at most.
void BM_TrainStep(benchmark::State& state, DeviceKind kind, bool graph) {
  const int64_t batch = state.range(0), steps = std::max<int64_t>(20, 1024 / batch);
  SeedTrainer t(kind, batch, batch * steps, graph, 1);
  time_on_device(state, *t.backend, [&] { t.trainer->run_epoch(nullptr, nullptr); });
  if (!std::isfinite(t.trainer->history().back().train_mse)) throw std::runtime_error("non-finite training loss");
  state.counters["steps_per_s"] = benchmark::Counter(static_cast<double>(steps), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["samples_per_s"] = benchmark::Counter(static_cast<double>(steps * batch), benchmark::Counter::kIsIterationInvariantRate);
  // 140 MFLOP a training sample (DESIGN.md section 7), counted as a direct convolution does.
  state.counters["FLOP_per_s"] = benchmark::Counter(140e6 * static_cast<double>(steps * batch), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["of_peak"] = benchmark::Counter(140e6 * static_cast<double>(steps * batch) / arithmetic_peak(kind),
                                                 benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(t.backend->description() + (graph ? ", captured step" : ", eager"));
}

// An epoch of the seed's 3000 training samples and the validation of its 2000, at the given batch.
void BM_SeedEpoch(benchmark::State& state, DeviceKind kind) {
  SeedTrainer t(kind, state.range(0), 3000, true, 2000);
  t.trainer->run_epoch(nullptr, nullptr);
  for (auto _ : state) t.trainer->run_epoch(nullptr, nullptr);
  state.counters["samples_per_s"] = benchmark::Counter(3000.0, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(t.backend->description());
}

// Inference: the network's forward pass on a batch of 32 x 32 maps.
void BM_Inference(benchmark::State& state, DeviceKind kind) {
  auto backend = backend_for(kind);
  const int64_t batch = state.range(0);
  Parameters params(*backend, NetworkSpec{}, DType::F32);
  params.initialize(3);
  Network net(params, batch, 32, 32);
  std::mt19937_64 rng(4);
  Tensor x(*backend, DType::F32, Shape{batch, 1, 32, 32});
  x.upload(test::uniform_values<float>(rng, batch * 1024, 0.3));
  time_on_device(state, *backend, [&] { net.forward(x); });
  state.counters["maps_per_s"] = benchmark::Counter(static_cast<double>(batch), benchmark::Counter::kIsIterationInvariantRate);
  // 46.4 MFLOP a map forward (counted as direct convolutions), against the measured GEMM rate.
  state.counters["of_peak"] = benchmark::Counter(46.4e6 * static_cast<double>(batch) / arithmetic_peak(kind),
                                                 benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(backend->description());
}

}  // namespace

void register_network_benchmarks() {
  std::vector<std::pair<DeviceKind, std::string>> kinds{{DeviceKind::CPU, "cpu"}};
  if (probe_cuda().usable) kinds.emplace_back(DeviceKind::CUDA, "cuda");
  const char* passes[3] = {"forward", "backward_data", "backward_filter"};
  std::vector<std::pair<ConvImpl, std::string>> cpu_impls{{ConvImpl::Im2colGemm, "im2col_gemm"}};
#if MAGCNN_HAVE_DNNL
  cpu_impls.emplace_back(ConvImpl::OneDnnWinograd, "onednn_winograd");
  cpu_impls.emplace_back(ConvImpl::OneDnnDirect, "onednn_direct");
#endif
  for (int pass = 0; pass < 3; ++pass) {
    for (const auto& [impl, name] : cpu_impls) {
      auto* b = benchmark::RegisterBenchmark(("conv_" + std::string(passes[pass]) + "/cpu/" + name).c_str(), BM_Conv, DeviceKind::CPU,
                                             impl, pass);
      for (const int64_t batch : {2, 32, 256})
        for (int64_t layer = 0; layer < 6; ++layer) b->Args({batch, layer});
      b->Unit(benchmark::kMicrosecond)->UseManualTime();
    }
    if (kinds.size() > 1) {
      auto* b = benchmark::RegisterBenchmark(("conv_" + std::string(passes[pass]) + "/cuda/cudnn").c_str(), BM_Conv, DeviceKind::CUDA,
                                             ConvImpl::Backend, pass);
      for (const int64_t batch : {2, 32, 256})
        for (int64_t layer = 0; layer < 6; ++layer) b->Args({batch, layer});
      b->Unit(benchmark::kMicrosecond)->UseManualTime();
    }
  }
  for (const auto& [kind, name] : kinds) {
    for (const bool graph : {true, false}) {
      if (kind == DeviceKind::CPU && !graph) continue;  // the CPU's "graph" is the work itself
      benchmark::RegisterBenchmark(("train_step/" + name + (graph ? "/graph" : "/eager")).c_str(), BM_TrainStep, kind, graph)
          ->Arg(2)->Arg(4)->Arg(32)->Arg(256)->Unit(benchmark::kMillisecond)->UseManualTime();
    }
    benchmark::RegisterBenchmark(("seed_epoch/" + name).c_str(), BM_SeedEpoch, kind)->Arg(4)->Arg(32)->Arg(128)->Unit(benchmark::kMillisecond)->UseRealTime();
    benchmark::RegisterBenchmark(("inference/" + name).c_str(), BM_Inference, kind)
        ->Arg(1)->Arg(32)->Arg(64)->Arg(256)->Arg(4096)->Unit(benchmark::kMillisecond)->UseManualTime();
  }
}

}  // namespace magcnn::bench
