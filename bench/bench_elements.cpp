// magcnn-bench, element group: each element operation and reduction of the network and its training
// (kernels/network_ops.h, kernels/reduce_ops.h) alone, on the seed network's activations (32 channels of
// 32 x 32 at batch 2, 32 and 256), timed by the device, with the bytes it must move and its floor: those
// bytes at the device's measured copy bandwidth. They do no arithmetic worth counting, so the floor is
// the memory's; where a launch takes longer than its floor (small batches) the launch and the grid's
// ramp are the cost, and the fix is fusion or a captured graph, not a faster kernel.
//
// Bytes are counted once per value read or written (a value read by four threads counts once, as a
// perfect cache would), so the floor is a lower bound. Results are checked by tests/test_network.cpp and
// tests/test_gpu.cpp (each op on the GPU against the CPU); here they are only timed.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "../tests/reference.h"
#include "magcnn/element_ops.h"
#include "magcnn/network.h"
#include "registry.h"

namespace magcnn::bench {
namespace {

constexpr int64_t kChannels = 32, kSide = 32, kPlane = kSide * kSide;

// Device buffers of the seed network's shapes for one batch size, filled with fresh random values.
struct Activations {
  std::unique_ptr<Backend> backend;
  int64_t batch, count;  // count: values of one full-resolution activation [batch, 32, 32, 32]
  Tensor y, dy, x, coarse, coarser, pooled, dpooled;
  Tensor argmax;
  Tensor map_y, map_t, map_dy, set, order, counters, bias, db, sums;
  Activations(DeviceKind kind, int64_t b) : backend(backend_for(kind)), batch(b), count(b * kChannels * kPlane) {
    std::mt19937_64 rng(21);
    auto random = [&](Shape shape) {
      Tensor t(*backend, DType::F32, shape);
      t.upload(test::uniform_values<float>(rng, t.numel(), 1.0));
      return t;
    };
    y = random(Shape{b, kChannels, kSide, kSide});
    dy = random(Shape{b, kChannels, kSide, kSide});
    x = random(Shape{b, kChannels, kSide, kSide});
    coarse = random(Shape{b, kChannels, kSide / 2, kSide / 2});
    coarser = random(Shape{b, kChannels, kSide / 4, kSide / 4});
    pooled = random(Shape{b, kChannels, kSide / 2, kSide / 2});
    dpooled = random(Shape{b, kChannels, kSide / 2, kSide / 2});
    argmax = Tensor(*backend, DType::U8, Shape{b * kChannels * kPlane / 4});
    std::vector<uint8_t> positions(static_cast<std::size_t>(argmax.numel()));
    for (auto& p : positions) p = static_cast<uint8_t>(rng() % 4);
    argmax.upload(positions);
    map_y = random(Shape{b, 1, kSide, kSide});
    map_t = random(Shape{b, 1, kSide, kSide});
    map_dy = random(Shape{b, 1, kSide, kSide});
    set = random(Shape{4 * b, 1, kSide, kSide});  // a resident training set four batches long
    order = Tensor(*backend, DType::I32, Shape{4 * b});
    std::vector<int32_t> perm(static_cast<std::size_t>(4 * b));
    for (std::size_t i = 0; i < perm.size(); ++i) perm[i] = static_cast<int32_t>(i);
    std::shuffle(perm.begin(), perm.end(), rng);
    order.upload(perm);
    counters = Tensor(*backend, DType::I64, Shape{kern::kCounterCount});
    counters.upload(std::vector<int64_t>{1, 0});
    bias = random(Shape{kChannels});
    db = random(Shape{kChannels});
    sums = Tensor(*backend, DType::F64, Shape{1});
  }
};

// Times `work` on the device; `bytes` is what one call must read and write.
void time_element(benchmark::State& state, Activations& a, double bytes, const std::function<void()>& work) {
  time_on_device(state, *a.backend, work);
  const double peak = copy_peak(a.backend->kind());
  state.counters["bytes_per_s"] = benchmark::Counter(bytes, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["floor_us"] = 1e6 * bytes / peak;
  state.counters["of_copy_peak"] = benchmark::Counter(bytes / peak, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(a.backend->description());
}

enum class Op {
  BiasRelu, ReluGrad, BiasGrad, MaxPool, MaxPoolGrad, Upsample2, Upsample4, UpsampleGrad2, UpsampleGrad4,
  MseGrad, SquaredError, Gather, Adam
};

void BM_Element(benchmark::State& state, DeviceKind kind, Op op) {
  Activations a(kind, state.range(0));
  Backend& backend = *a.backend;
  const double n = static_cast<double>(a.count), f = sizeof(float);
  const int64_t B = a.batch, maps = B * kPlane;
  switch (op) {
    case Op::BiasRelu:  // y read and written in place
      return time_element(state, a, 2 * f * n, [&] {
        backend.run(kern::BiasActivation<float>{a.y.data<float>(), a.bias.data<float>(), kChannels, kPlane, kern::kRelu}, a.count);
      });
    case Op::ReluGrad:  // dy read and written, y read
      return time_element(state, a, 3 * f * n, [&] {
        backend.run(kern::ActivationGrad<float>{a.dy.data<float>(), a.y.data<float>(), kern::kRelu}, a.count);
      });
    case Op::BiasGrad:  // dy read
      return time_element(state, a, f * n, [&] {
        backend.reduce(kern::BiasGrad<float>{a.dy.data<float>(), a.db.data<float>(), B, kChannels, kPlane}, kChannels);
      });
    case Op::MaxPool:  // x read; a quarter as many outputs and argmax bytes written
      return time_element(state, a, f * n + (f + 1) * n / 4, [&] {
        backend.run(kern::MaxPool2x2<float>{a.x.data<float>(), a.pooled.data<float>(), a.argmax.data<uint8_t>(), kSide / 2},
                    B * kChannels * kPlane / 4);
      });
    case Op::MaxPoolGrad:  // dx read and written (accumulated), a quarter as many gradients and argmax bytes read
      return time_element(state, a, 2 * f * n + (f + 1) * n / 4, [&] {
        backend.run(kern::MaxPool2x2Grad<float>{a.dpooled.data<float>(), a.argmax.data<uint8_t>(), a.dy.data<float>(), kSide, true},
                    a.count);
      });
    case Op::Upsample2:
    case Op::Upsample4: {  // fine read and written, the coarse map read
      const int shift = op == Op::Upsample2 ? 1 : 2;
      const Tensor& coarse = shift == 1 ? a.coarse : a.coarser;
      return time_element(state, a, 2 * f * n + f * n / (1 << (2 * shift)), [&, shift] {
        backend.run(kern::UpsampleAdd<float>{coarse.data<float>(), a.y.data<float>(), kSide, shift}, a.count);
      });
    }
    case Op::UpsampleGrad2:
    case Op::UpsampleGrad4: {  // the fine gradient read, the coarse one written
      const int shift = op == Op::UpsampleGrad2 ? 1 : 2;
      const Tensor& coarse = shift == 1 ? a.coarse : a.coarser;
      return time_element(state, a, f * n + f * n / (1 << (2 * shift)), [&, shift] {
        backend.run(kern::UpsampleAddGrad<float>{a.dy.data<float>(), coarse.data<float>(), kSide >> shift, shift}, coarse.numel());
      });
    }
    case Op::MseGrad:  // output and target read, gradient written, one channel
      return time_element(state, a, 3 * f * static_cast<double>(maps), [&] {
        backend.run(kern::MseGrad<float>{a.map_y.data<float>(), a.map_t.data<float>(), a.map_dy.data<float>(), 1.0f / maps}, maps);
      });
    case Op::SquaredError:  // output and target read
      return time_element(state, a, 2 * f * static_cast<double>(maps), [&] {
        backend.reduce(kern::SquaredErrorSum<float>{a.map_y.data<float>(), a.map_t.data<float>(), B, kPlane, a.sums.data<double>(), nullptr, 0}, 1);
      });
    case Op::Gather:  // the batch's samples read from the set and written
      return time_element(state, a, 2 * f * static_cast<double>(maps), [&] {
        backend.run(kern::GatherBatch<float>{a.set.data<float>(), a.order.data<int32_t>(), a.counters.data<int64_t>(), a.map_y.data<float>(),
                                             kPlane, B, 0},
                    maps);
      });
    case Op::Adam: {  // the seed network's parameters: values, m, v read and written, gradients read
      Parameters params(backend, NetworkSpec{}, DType::F32);
      params.initialize(1);
      std::mt19937_64 rng(22);
      params.gradients().upload(test::uniform_values<float>(rng, params.count(), 1e-3));
      Tensor m(backend, DType::F32, Shape{params.count()}), v(backend, DType::F32, Shape{params.count()});
      m.zero();
      v.zero();
      Tensor scalars(backend, DType::F64, Shape{3});
      scalars.upload(std::vector<double>{1e-3, 0.1, 0.001});
      state.counters["parameters"] = static_cast<double>(params.count());
      return time_element(state, a, 7 * f * static_cast<double>(params.count()), [&] {
        backend.run(kern::AdamUpdate<float>{params.values().data<float>(), params.gradients().data<float>(), m.data<float>(), v.data<float>(),
                                            scalars.data<double>(), 0.9, 0.999, 1e-8, 0.0},
                    params.count());
      });
    }
  }
}

}  // namespace

void register_element_benchmarks() {
  std::vector<std::pair<DeviceKind, std::string>> kinds{{DeviceKind::CPU, "cpu"}};
  if (probe_cuda().usable) kinds.emplace_back(DeviceKind::CUDA, "cuda");
  const std::pair<Op, const char*> ops[] = {
      {Op::BiasRelu, "bias_relu"},         {Op::ReluGrad, "relu_grad"},         {Op::BiasGrad, "bias_grad"},
      {Op::MaxPool, "max_pool"},           {Op::MaxPoolGrad, "max_pool_grad"},  {Op::Upsample2, "upsample_add_x2"},
      {Op::Upsample4, "upsample_add_x4"},  {Op::UpsampleGrad2, "upsample_add_grad_x2"},
      {Op::UpsampleGrad4, "upsample_add_grad_x4"}, {Op::MseGrad, "mse_grad"},      {Op::SquaredError, "squared_error_sum"},
      {Op::Gather, "gather_batch"},        {Op::Adam, "adam_update"}};
  for (const auto& [kind, device] : kinds) {
    for (const auto& [op, name] : ops) {
      auto* b = benchmark::RegisterBenchmark(("element/" + device + "/" + name).c_str(), BM_Element, kind, op);
      if (op == Op::Adam) b->Arg(1); else b->Arg(2)->Arg(32)->Arg(256);  // Adam: the parameters, whatever the batch
      b->Unit(benchmark::kMicrosecond)->UseManualTime();
    }
  }
}

}  // namespace magcnn::bench
