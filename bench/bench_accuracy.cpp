// magcnn-bench, accuracy group: the exact and spectral forward models against the closed-form cuboid,
// beside their time per map. For each standoff d/h from 0.25 to 8 and three magnetizations of a 64 x 64
// map (a random texture, every pixel its own direction; a 20 x 12 rectangle; a single pixel), the field
// of every cell is summed directly from tests/reference.h's closed form in long double (independent of
// magcnn's kernels), and the counter `rel_l2` is ||Bz(method) - Bz(oracle)|| / ||Bz(oracle)||. The CPU
// backend (double); film thickness t = h / 10.
#include <benchmark/benchmark.h>

#include <cmath>
#include <map>
#include <random>
#include <string>
#include <tuple>

#include "../tests/reference.h"
#include "magcnn/forward_model.h"
#include "registry.h"

namespace magcnn::bench {
namespace {

constexpr int64_t kSide = 64;
constexpr double kThickness = 0.1;  // in pixels
const double kStandoffs[] = {0.25, 0.5, 1.0, 2.0, 4.0, 8.0};
const char* const kShapes[] = {"texture", "rectangle", "pixel"};

struct Maps {
  std::vector<double> mx, my, mz;
};

Maps magnetization(int shape) {
  const auto n = static_cast<std::size_t>(kSide * kSide);
  Maps m{std::vector<double>(n, 0.0), std::vector<double>(n, 0.0), std::vector<double>(n, 0.0)};
  if (shape == 0) {
    std::mt19937_64 rng(20261201);
    std::uniform_real_distribution<double> u(-0.577, 0.577);
    for (std::size_t i = 0; i < n; ++i) {
      m.mx[i] = u(rng);
      m.my[i] = u(rng);
      m.mz[i] = u(rng);
    }
  } else {
    const int64_t r0 = shape == 1 ? 22 : 32, r1 = shape == 1 ? 34 : 33, c0 = shape == 1 ? 20 : 32, c1 = shape == 1 ? 40 : 33;
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t c = c0; c < c1; ++c) {
        const auto i = static_cast<std::size_t>(r * kSide + c);
        m.mx[i] = 0.48;
        m.my[i] = -0.36;
        m.mz[i] = 0.8;
      }
  }
  return m;
}

// Bz / (mu0 Ms) at every pixel centre: the closed-form field of each cell, summed directly.
std::vector<double> oracle(const Maps& m, double d) {
  const int64_t n = kSide, w = 2 * n - 1;
  std::vector<test::Field3> k(static_cast<std::size_t>(w * w));
  for (int64_t dy = -(n - 1); dy < n; ++dy)
    for (int64_t dx = -(n - 1); dx < n; ++dx)
      k[static_cast<std::size_t>((dy + n - 1) * w + dx + n - 1)] = test::unit_cell_field(dx, dy, d, kThickness);
  std::vector<double> bz(static_cast<std::size_t>(n * n), 0.0);
  for (int64_t sy = 0; sy < n; ++sy)
    for (int64_t sx = 0; sx < n; ++sx) {
      const auto s = static_cast<std::size_t>(sy * n + sx);
      if (m.mx[s] == 0 && m.my[s] == 0 && m.mz[s] == 0) continue;
      for (int64_t y = 0; y < n; ++y)
        for (int64_t x = 0; x < n; ++x) {
          const test::Field3& f = k[static_cast<std::size_t>((y - sy + n - 1) * w + x - sx + n - 1)];
          bz[static_cast<std::size_t>(y * n + x)] += static_cast<double>(f.kx * m.mx[s] + f.ky * m.my[s] + f.kz * m.mz[s]);
        }
    }
  return bz;
}

// The oracle of each (shape, standoff), computed once whichever benchmarks run.
const std::vector<double>& oracle_for(int shape, int standoff) {
  static std::map<std::pair<int, int>, std::vector<double>> cache;
  auto [it, fresh] = cache.try_emplace({shape, standoff});
  if (fresh) it->second = oracle(magnetization(shape), kStandoffs[standoff]);
  return it->second;
}

void BM_Accuracy(benchmark::State& state, ForwardMethod method) {
  const int shape = static_cast<int>(state.range(0)), standoff = static_cast<int>(state.range(1));
  const double d = kStandoffs[standoff];
  auto cpu = make_cpu_backend();
  ForwardOptions o;
  o.method = method;
  o.unit = FieldUnit::Tesla;
  // Ms = 1 / mu0, so that Bz in tesla is Bz / (mu0 Ms), the oracle's unit.
  ForwardModel model(*cpu, FilmGeometry{1.0, d, kThickness, 1.0 / kMu0}, kSide, kSide, o);
  const Maps m = magnetization(shape);
  const Shape s{1, kSide, kSide};
  Tensor mx(*cpu, DType::F64, s), my(*cpu, DType::F64, s), mz(*cpu, DType::F64, s), bz(*cpu, DType::F64, s);
  mx.upload(m.mx);
  my.upload(m.my);
  mz.upload(m.mz);
  model.compute(mx, my, mz, bz);
  const double error = test::relative_l2(bz.to_host<double>(), oracle_for(shape, standoff));
  for (auto _ : state) model.compute(mx, my, mz, bz);
  state.counters["rel_l2"] = error;
  state.counters["d_over_h"] = d;
  state.SetLabel(std::string(forward_method_name(method)) + ", " + kShapes[shape] + ", d/h " + std::to_string(d).substr(0, 4));
}

}  // namespace

void register_accuracy_benchmarks() {
  for (const ForwardMethod method : {ForwardMethod::Exact, ForwardMethod::Spectral}) {
    auto* b = benchmark::RegisterBenchmark((std::string("accuracy/cpu/") + forward_method_name(method)).c_str(), BM_Accuracy, method);
    for (int shape = 0; shape < 3; ++shape)
      for (int standoff = 0; standoff < 6; ++standoff) b->Args({shape, standoff});
    b->Unit(benchmark::kMicrosecond)->UseRealTime();
  }
}

}  // namespace magcnn::bench
