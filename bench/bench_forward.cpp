// magcnn-bench: Google Benchmark suite for the forward model and the generator, on every backend that
// works here. Each benchmark checks its result against a closed form or an invariant before timing.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>
#include <string>

#include "../tests/reference.h"
#include "magcnn/dataset_io.h"
#include "magcnn/device.h"
#include "magcnn/forward_model.h"
#include "magcnn/generator.h"
#include "registry.h"

namespace magcnn::bench {
namespace {

// A uniformly magnetized square map is one cuboid: its centre pixel has a closed form.
void check_uniform_map(Backend& backend, int64_t n, double d, double t) {
  const FilmGeometry g{1.0, d, t, 1.0};
  ForwardModel model(backend, g, n, n, ForwardOptions{});
  Tensor mx(backend, model.dtype(), Shape{1, n, n}), bz(backend, model.dtype(), Shape{1, n, n});
  const double dir[3] = {0.6, 0.0, 0.8};
  double got = 0;
  auto run = [&](auto zero) {
    using T = decltype(zero);
    Tensor my(backend, model.dtype(), Shape{1, n, n}), mz(backend, model.dtype(), Shape{1, n, n});
    mx.upload(std::vector<T>(n * n, T(dir[0])));
    my.upload(std::vector<T>(n * n, T(dir[1])));
    mz.upload(std::vector<T>(n * n, T(dir[2])));
    model.compute(mx, my, mz, bz);
    got = static_cast<double>(bz.to_host<T>()[(n / 2) * n + n / 3]);
  };
  if (model.dtype() == DType::F64) run(0.0); else run(0.0f);
  const test::Field3 f = test::cuboid_field(-0.5L, n - 0.5L, -0.5L, n - 0.5L, n / 3, n / 2, d, t);
  const double want = kMu0 * static_cast<double>(dir[0] * f.kx + dir[2] * f.kz);
  if (std::fabs(got - want) > 1e-5 * std::fabs(want))
    throw std::runtime_error("forward model check failed: " + std::to_string(got) + " vs " + std::to_string(want));
}

template <class T>
std::vector<T> random_component(std::mt19937_64& rng, int64_t count) {
  std::uniform_real_distribution<double> u(-0.577, 0.577);
  std::vector<T> v(count);
  for (auto& x : v) x = static_cast<T>(u(rng));
  return v;
}

// One random n x n map (|m| <= 1) and room for its field, on `backend` in its real type.
struct RandomMap {
  Tensor mx, my, mz, bz;
  RandomMap(Backend& backend, int64_t n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    const DType dt = backend.preferred_real();
    for (Tensor* t : {&mx, &my, &mz, &bz}) *t = Tensor(backend, dt, Shape{1, n, n});
    for (Tensor* t : {&mx, &my, &mz}) {
      if (dt == DType::F64) t->upload(random_component<double>(rng, n * n)); else t->upload(random_component<float>(rng, n * n));
    }
  }
};

// One n x n map, three components, end to end: cell kernels and their spectra, then the field.
void BM_ForwardMapWithKernels(benchmark::State& state, DeviceKind kind) {
  auto backend = backend_for(kind);
  const int64_t n = state.range(0);
  check_uniform_map(*backend, 64, 0.5, 0.1);
  const FilmGeometry g{1.0, 0.5, 0.1, 1.0};
  RandomMap m(*backend, n, 1);
  auto once = [&] {
    ForwardModel model(*backend, g, n, n, ForwardOptions{});
    model.compute(m.mx, m.my, m.mz, m.bz);
    backend->synchronize();
  };
  once();  // warm-up: library initialization and lazy module loading stay out of the figures
  for (auto _ : state) once();
  state.SetLabel(backend->description());
}

// What magcnn-forward computes between reading a map and writing its field: the check of every pixel
// (finite, |m| <= 1), the kernels and the field. The Python module's magcnn.forward does the same work
// (bench/python_bench.py compares the two). CPU: the maps are where the check reads them.
void BM_ForwardMapChecked(benchmark::State& state) {
  auto backend = make_cpu_backend();
  const int64_t n = state.range(0);
  const FilmGeometry g{1.0, 0.5, 0.1, 1.0};
  RandomMap m(*backend, n, 1);
  auto once = [&] {
    check_unit_magnetization(m.mx.data<double>(), m.my.data<double>(), m.mz.data<double>(), n * n, n, n, 0, 4 * std::ldexp(1.0, -23),
                             "float32", "benchmark");
    ForwardModel model(*backend, g, n, n, ForwardOptions{});
    model.compute(m.mx, m.my, m.mz, m.bz);
  };
  once();
  for (auto _ : state) once();
  state.SetLabel(backend->description());
}

// The same map with the spectra already cached: the FFT part alone.
void BM_ForwardMapCached(benchmark::State& state, DeviceKind kind) {
  auto backend = backend_for(kind);
  const int64_t n = state.range(0);
  const FilmGeometry g{1.0, 0.5, 0.1, 1.0};
  RandomMap m(*backend, n, 2);
  ForwardModel model(*backend, g, n, n, ForwardOptions{});
  model.compute(m.mx, m.my, m.mz, m.bz);  // warm-up
  backend->synchronize();
  for (auto _ : state) {
    model.compute(m.mx, m.my, m.mz, m.bz);
    backend->synchronize();
  }
  state.SetLabel(backend->description());
}

// The cell kernels alone (double, first quadrant), for an n x n map.
void BM_CellKernelTables(benchmark::State& state, DeviceKind kind) {
  auto backend = backend_for(kind);
  const int64_t n = state.range(0), P = fft_friendly_size(2 * n - 1, 2);
  Tensor quadrant(*backend, DType::F64, Shape{3, P / 2 + 1, P / 2 + 1});
  const ops::CellKernelQuadrant op{n, n, P, P, 2.0, 0.2, quadrant.data<double>(), kern::kOutOfPlaneTables};
  backend->run(op, op.count());  // warm-up
  backend->synchronize();
  for (auto _ : state) {
    backend->run(op, op.count());
    backend->synchronize();
  }
  state.counters["evaluations_per_s"] = benchmark::Counter(static_cast<double>(n * (n + 1) / 2), benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(backend->description());
}

// The seed's data set: 5000 samples (32 x 32, fine grid 128, exact model) to host memory, as
// magcnn-generate makes them (without the file): the generator's construction (plans, workspaces, kernel
// spectra) included.
void BM_GenerateSeedSet(benchmark::State& state, DeviceKind kind) {
  auto backend = backend_for(kind);
  GeneratorSettings s;
  s.count = state.range(0);
  s.seed = 12345;
  auto once = [&] {
    Generator gen(*backend, s);
    SampleBatch batch;
    double total = 0;
    for (int64_t done = 0; done < s.count; done += batch.count) {
      gen.next(std::min(gen.batch_capacity(), s.count - done), batch);
      total += batch.b[batch.b.size() / 2];
    }
    if (!std::isfinite(total)) throw std::runtime_error("generator produced a non-finite field");
  };
  once();  // warm-up
  for (auto _ : state) once();
  state.counters["samples_per_s"] = benchmark::Counter(static_cast<double>(s.count), benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(backend->description());
}

// A running generator's throughput, 5000 samples per iteration, all in one batch: left on the device (as
// a trainer generating on the fly consumes them) or copied to the host (as magcnn-generate writes them).
void BM_GeneratorThroughput(benchmark::State& state, DeviceKind kind, bool to_host) {
  auto backend = backend_for(kind);
  GeneratorSettings s;
  s.count = state.range(0);
  s.batch = s.count;
  s.seed = 777;
  Generator gen(*backend, s);
  SampleBatch batch;
  auto once = [&] {
    if (to_host) {
      gen.next(s.count, batch);
    } else {
      gen.next_on_device(s.count);
      backend->synchronize();
    }
  };
  once();  // warm-up, and a check
  if (to_host && !std::isfinite(batch.b[batch.b.size() / 2])) throw std::runtime_error("non-finite field");
  for (auto _ : state) once();
  state.counters["samples_per_s"] = benchmark::Counter(static_cast<double>(s.count), benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(backend->description());
}

// The forward model over map sides and batch sizes, spectra cached: maps/s, and the memory traffic of
// its passes against the device's copy bandwidth. Traffic counted: 3 component maps read and embedded
// into padded planes, each transformed (read + written, twice for the passes of a 2-D FFT), the three
// spectra multiplied into one (3 read + 1 written), the inverse (read + written twice) and the crop;
// about 26 padded planes of the real type a map (28 along an NV axis: six kernel planes read, not three).
// A floor, not a model of the caches.
void BM_ForwardSweep(benchmark::State& state, DeviceKind kind, ForwardMethod method, FieldAxis axis) {
  auto backend = backend_for(kind);
  const double peak_bytes_per_s = copy_peak(kind);
  const int64_t n = state.range(0), batch = state.range(1);
  ForwardOptions o;
  o.method = method;
  o.axis = axis;
  o.max_batch = batch;
  ForwardModel model(*backend, FilmGeometry{1.0, 1.0, 0.1, 1.0}, n, n, o);
  std::mt19937_64 rng(8);
  const DType dt = model.dtype();
  Tensor m(*backend, dt, Shape{batch, n, n}), bz(*backend, dt, Shape{batch, n, n});
  if (dt == DType::F64) m.upload(test::uniform_values<double>(rng, batch * n * n, 0.5)); else m.upload(test::uniform_values<float>(rng, batch * n * n, 0.5));
  time_on_device(state, *backend, [&] { model.compute(m, m, m, bz); });
  const double plane = static_cast<double>(model.padded_ny() * model.padded_nx()) * static_cast<double>(dtype_size(dt));
  const double bytes = (axis.is_z() ? 26.0 : 28.0) * plane * static_cast<double>(batch);
  state.counters["maps_per_s"] = benchmark::Counter(static_cast<double>(batch), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["bytes_per_s"] = benchmark::Counter(bytes, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["floor_ms"] = 1e3 * bytes / peak_bytes_per_s;
  state.counters["of_copy_peak"] = benchmark::Counter(bytes / peak_bytes_per_s, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(backend->description() + ", " + forward_method_name(method) + ", B along " + axis.describe());
}

}  // namespace

void register_forward_benchmarks() {
  std::vector<std::pair<DeviceKind, std::string>> kinds{{DeviceKind::CPU, "cpu"}};
  if (probe_cuda().usable) kinds.emplace_back(DeviceKind::CUDA, "cuda");
  for (const auto& [kind, name] : kinds) {
    benchmark::RegisterBenchmark(("generate_seed_set/" + name).c_str(), BM_GenerateSeedSet, kind)
        ->Arg(5000)->Unit(benchmark::kMillisecond)->UseRealTime();
    benchmark::RegisterBenchmark(("generator_throughput_device/" + name).c_str(), BM_GeneratorThroughput, kind, false)
        ->Arg(5000)->Unit(benchmark::kMillisecond)->UseRealTime();
    benchmark::RegisterBenchmark(("generator_throughput_host/" + name).c_str(), BM_GeneratorThroughput, kind, true)
        ->Arg(5000)->Unit(benchmark::kMillisecond)->UseRealTime();
    benchmark::RegisterBenchmark(("forward_map_with_kernels/" + name).c_str(), BM_ForwardMapWithKernels, kind)
        ->Arg(2048)->Unit(benchmark::kMillisecond)->UseRealTime();
    benchmark::RegisterBenchmark(("forward_map_cached/" + name).c_str(), BM_ForwardMapCached, kind)
        ->Arg(2048)->Unit(benchmark::kMillisecond)->UseRealTime();
    benchmark::RegisterBenchmark(("cell_kernel_tables/" + name).c_str(), BM_CellKernelTables, kind)
        ->Arg(2048)->Unit(benchmark::kMillisecond)->UseRealTime();
  }
  benchmark::RegisterBenchmark("forward_map_checked/cpu", BM_ForwardMapChecked)->Arg(2048)->Unit(benchmark::kMillisecond)->UseRealTime();
  for (const auto& [kind, name] : kinds) {
    for (const ForwardMethod method : {ForwardMethod::Exact, ForwardMethod::Spectral}) {
      auto* b = benchmark::RegisterBenchmark(("forward_sweep/" + name + "/" + forward_method_name(method)).c_str(), BM_ForwardSweep, kind,
                                             method, FieldAxis{});
      for (const int64_t side : {32, 128, 512, 2048})
        for (const int64_t batch : {1, 16, 256, 4096})
          if (side * side * batch <= (int64_t{1} << 22)) b->Args({side, batch});  // at most 4 M pixels a call
      b->Unit(benchmark::kMillisecond)->UseManualTime();
    }
    // The field along an NV axis: six kernel planes instead of three in the spectral product.
    benchmark::RegisterBenchmark(("forward_sweep/" + name + "/exact_nv").c_str(), BM_ForwardSweep, kind, ForwardMethod::Exact,
                                 field_axis_from_angles(54.7356, 45))
        ->Args({32, 256})->Args({2048, 1})->Unit(benchmark::kMillisecond)->UseManualTime();
  }
}

}  // namespace magcnn::bench
