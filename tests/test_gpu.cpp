// The CUDA backend against the CPU backend, case by case from one table, on fresh random inputs. Every
// test skips, saying why, when no GPU works; a skip is never a pass.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "forward_helpers.h"
#include "magcnn/device.h"
#include "magcnn/generator.h"
#include "magcnn/inference.h"
#include "magcnn/network.h"
#include "magcnn/trainer.h"
#include "random_model.h"
#include "reference.h"

namespace magcnn::test {
namespace {

class Gpu : public ::testing::Test {
 protected:
  void SetUp() override {
    const CudaProbe probe = probe_cuda();
    if (!probe.usable) GTEST_SKIP() << "no GPU to test: " << probe.detail;
    gpu = make_cuda_backend();
    cpu = make_cpu_backend();
    std::cout << "[ gpu      ] " << gpu->description() << std::endl;
  }
  std::unique_ptr<Backend> gpu, cpu;
};

struct ForwardCase {
  const char* name;
  int64_t n, ny, nx;
  double d, t;  // in pixels
  ForwardMethod method;
  int64_t stride;
  double tolerance;  // relative L2, float GPU against double CPU
};

// Sizes chosen to exercise non-square, odd, FFT-unfriendly and batched shapes, near and far standoffs.
const ForwardCase kForwardCases[] = {
    {"exact_square_near", 2, 32, 32, 0.25, 0.1, ForwardMethod::Exact, 1, 1e-5},
    {"exact_nonsquare_far", 1, 45, 71, 8.0, 1.0, ForwardMethod::Exact, 1, 1e-5},
    {"exact_odd_batch", 5, 17, 23, 1.0, 0.3, ForwardMethod::Exact, 1, 1e-5},
    {"exact_strided", 3, 128, 128, 4.0, 0.4, ForwardMethod::Exact, 4, 1e-5},
    {"exact_large", 1, 640, 1000, 0.5, 0.05, ForwardMethod::Exact, 1, 1e-5},
    {"spectral", 2, 40, 56, 1.5, 0.2, ForwardMethod::Spectral, 1, 1e-5},
    {"spectral_strided", 2, 64, 48, 2.0, 0.2, ForwardMethod::Spectral, 2, 1e-5},
};

TEST_F(Gpu, ForwardModelMatchesCpu) {
  std::mt19937_64 rng(fresh_seed());
  std::uniform_real_distribution<double> u(-0.577, 0.577);  // |m| <= 1
  for (const ForwardCase& c : kForwardCases) {
    const int64_t size = c.n * c.ny * c.nx;
    std::vector<double> mx(size), my(size), mz(size);
    for (int64_t i = 0; i < size; ++i) {
      mx[i] = u(rng);
      my[i] = u(rng);
      mz[i] = u(rng);
    }
    const FilmGeometry g{1e-7, c.d * 1e-7, c.t * 1e-7, 1e6};
    ForwardOptions o;
    o.method = c.method;
    o.output_stride = c.stride;
    const auto want = run_forward(*cpu, g, c.n, c.ny, c.nx, mx, my, mz, o);
    const auto got = run_forward(*gpu, g, c.n, c.ny, c.nx, mx, my, mz, o);
    const double err = relative_l2(got, want);
    std::cout << "[ case     ] " << c.name << ": relative L2 " << err << std::endl;
    EXPECT_LT(err, c.tolerance) << c.name;
  }
}

// Bx, By and an NV axis on the GPU (float; six spectra combined in double, then converted) against the
// CPU in double, itself checked against the cuboid superposition to 1e-9 (test_forward_model.cpp): 1e-5
// at d/h from 0.25 to 8, exact and spectral.
TEST_F(Gpu, FieldAlongAnAxisMatchesCpu) {
  std::mt19937_64 rng(fresh_seed());
  std::uniform_real_distribution<double> u(-0.57, 0.57);
  const int64_t n = 3, ny = 70, nx = 53;
  std::vector<double> mx(n * ny * nx), my(mx.size()), mz(mx.size());
  for (std::size_t i = 0; i < mx.size(); ++i) {
    mx[i] = u(rng);
    my[i] = u(rng);
    mz[i] = u(rng);
  }
  for (const double d : {0.25, 1.0, 8.0}) {
    for (const FieldAxis& axis : {field_axis_from_vector(1, 0, 0), field_axis_from_vector(0, 1, 0), field_axis_from_angles(54.7, 30)}) {
      for (const ForwardMethod method : {ForwardMethod::Exact, ForwardMethod::Spectral}) {
        const FilmGeometry g{1e-7, d * 1e-7, 0.2e-7, 1e6};
        ForwardOptions o;
        o.axis = axis;
        o.method = method;
        const double err = relative_l2(run_forward(*gpu, g, n, ny, nx, mx, my, mz, o), run_forward(*cpu, g, n, ny, nx, mx, my, mz, o));
        std::cout << "[ case     ] axis " << axis.describe() << ", d/h " << d << ", " << forward_method_name(method) << ": relative L2 "
                  << err << std::endl;
        EXPECT_LT(err, 1e-5);
      }
    }
  }
}

// DESIGN.md section 6: a rectangle of pixels matches the cuboid's closed form to 1e-5 on the GPU (float).
TEST_F(Gpu, RectangleOfPixelsMatchesCuboidClosedForm) {
  for (const double d : {0.25, 1.0, 8.0}) {
    const int64_t ny = 30, nx = 44, x0 = 10, y0 = 7, w = 15, h = 9;
    std::vector<double> mx(ny * nx, 0.0), my(ny * nx, 0.0), mz(ny * nx, 0.0);
    const double dir[3] = {0.48, -0.6, 0.64};
    for (int64_t r = y0; r < y0 + h; ++r)
      for (int64_t c = x0; c < x0 + w; ++c) {
        mx[r * nx + c] = dir[0];
        my[r * nx + c] = dir[1];
        mz[r * nx + c] = dir[2];
      }
    const FilmGeometry g{1.0, d, 0.2, 1.0};
    const auto got = run_forward(*gpu, g, 1, ny, nx, mx, my, mz);
    std::vector<double> want(ny * nx);
    for (int64_t r = 0; r < ny; ++r)
      for (int64_t c = 0; c < nx; ++c) {
        const Field3 f = cuboid_field(x0 - 0.5L, x0 + w - 0.5L, y0 - 0.5L, y0 + h - 0.5L, c, r, d, 0.2L);
        want[r * nx + c] = kMu0 * static_cast<double>(dir[0] * f.kx + dir[1] * f.ky + dir[2] * f.kz);
      }
    EXPECT_LT(relative_l2(got, want), 1e-5) << "d/h=" << d;
  }
}

// Cell kernels are evaluated in double on the GPU too: they must agree with the CPU to rounding.
TEST_F(Gpu, CellKernelsAndSpectraInDouble) {
  const int64_t ny = 300, nx = 410, P = 600, Q = 820;
  auto quadrant = [&](Backend& b) {
    Tensor t(b, DType::F64, Shape{kern::kAllTables, P / 2 + 1, Q / 2 + 1});
    t.zero();
    const ops::CellKernelQuadrant op{ny, nx, P, Q, 0.37, 0.11, t.data<double>(), kern::kAllTables};
    b.run(op, op.count());
    return t;
  };
  Tensor on_cpu = quadrant(*cpu), on_gpu = quadrant(*gpu);
  EXPECT_LT(relative_l2(on_gpu.to_host<double>(), on_cpu.to_host<double>()), 1e-13);
  auto spectra = [&](Backend& b, Tensor& q) {
    Tensor planes(b, DType::F64, Shape{kern::kAllTables, P, Q / 2 + 1});
    b.kernel_spectra(q.data<double>(), kern::kAllTables, P, Q, DType::F64, planes.data<double>(), 1.0);
    return planes.to_host<double>();
  };
  EXPECT_LT(relative_l2(spectra(*gpu, on_gpu), spectra(*cpu, on_cpu)), 1e-12);
}

TEST_F(Gpu, CurandDeviceStreamMatchesHost) {
  const uint64_t seed = fresh_seed();
  auto host = cpu->uniform_stream(seed);
  auto device = gpu->uniform_stream(seed);
  for (const int64_t n : {int64_t{7}, int64_t{1000003}, int64_t{70}}) {
    std::vector<double> want(n), got(n);
    host->generate(want.data(), n);
    Tensor t(*gpu, DType::F64, Shape{n});
    device->generate(t.data<double>(), n);
    t.download(got.data(), n * sizeof(double));
    ASSERT_EQ(got, want) << "call of " << n;
  }
}

// The same seed gives the same data set on either backend: parameters to double rounding (device and
// host libm may differ in the last bit), targets exactly but for pixels a rounding away from an ellipse's
// edge, the field to float precision.
TEST_F(Gpu, GeneratorMatchesCpu) {
  GeneratorSettings s;
  s.count = 300;
  s.seed = fresh_seed();
  s.batch = 128;
  // The seed's two targets and the vector target on Bz, and the shape target along an NV axis (the
  // six-plane product).
  const std::pair<TargetKind, const char*> cases[] = {
      {TargetKind::Shape, "z"}, {TargetKind::Polar, "z"}, {TargetKind::Vector, "z"}, {TargetKind::Shape, "54.7356,45"}};
  for (const auto& [target, axis] : cases) {
    s.target = target;
    s.field_axis = axis;
    auto run = [&](Backend& b) {
      Generator gen(b, s);
      SampleBatch all, part;
      for (int64_t done = 0; done < s.count; done += part.count) {
        gen.next(std::min(gen.batch_capacity(), s.count - done), part);
        all.b.insert(all.b.end(), part.b.begin(), part.b.end());
        all.target.insert(all.target.end(), part.target.begin(), part.target.end());
        all.params.insert(all.params.end(), part.params.begin(), part.params.end());
      }
      return all;
    };
    const SampleBatch want = run(*cpu), got = run(*gpu);
    ASSERT_EQ(got.params.size(), want.params.size());
    for (std::size_t i = 0; i < want.params.size(); ++i) ASSERT_NEAR(got.params[i], want.params[i], 1e-12 * (1 + std::fabs(want.params[i])));
    int64_t differing = 0;
    for (std::size_t i = 0; i < want.target.size(); ++i) differing += std::fabs(got.target[i] - want.target[i]) > 1e-6;
    // A shape pixel rounding differently differs in each of the vector target's three channels.
    EXPECT_LE(differing, 2 * target_channels(target)) << "target pixels differing between CPU and GPU";
    EXPECT_LT(relative_l2(got.b, want.b), 1e-5);
  }
}

// A data-parallel rank's skip on the GPU: skipping 200 samples (in batches of 128 and a part) and drawing
// 50 gives the CPU's samples 200 to 249, the device's uniforms drawn and dropped as the host's are.
TEST_F(Gpu, GeneratorSkipMatchesCpu) {
  GeneratorSettings s;
  s.count = 250;
  s.seed = fresh_seed();
  s.batch = 128;
  s.noise.relative_rms = 0.05;
  auto tail = [&](Backend& b) {
    Generator gen(b, s);
    gen.skip(200);
    SampleBatch part;
    gen.next(50, part);
    return part;
  };
  const SampleBatch want = tail(*cpu), got = tail(*gpu);
  ASSERT_EQ(got.params.size(), want.params.size());
  for (std::size_t i = 0; i < want.params.size(); ++i) ASSERT_NEAR(got.params[i], want.params[i], 1e-12 * (1 + std::fabs(want.params[i])));
  // The noise is drawn in float on the GPU and double on the CPU, from the same counter.
  EXPECT_LT(relative_l2(got.b, want.b), 1e-5);
}

// Models made and destroyed return all their GPU memory: cuFFT plans pair cufftCreate with
// cufftMakePlanMany (cufftPlanMany would leak a handle and its work area per plan), and a partial batch
// plans and allocates nothing.
TEST_F(Gpu, ForwardModelsReleaseTheirMemory) {
  ForwardOptions o;
  o.max_batch = 16;
  const FilmGeometry g{1e-7, 1e-7, 1e-8, 1e6};
  { ForwardModel warm(*gpu, g, 128, 128, o); }  // the first model pays for library start-up
  gpu->synchronize();
  const uint64_t before = gpu->available_memory();
  for (int k = 0; k < 30; ++k) {
    ForwardModel model(*gpu, g, 128, 128, o);
    Tensor m(*gpu, DType::F32, Shape{16, 128, 128}), bz(*gpu, DType::F32, Shape{16, 128, 128});
    m.zero();
    for (const int64_t n : {16, 3, 7}) model.compute(m.view().slice(0, n), m.view().slice(0, n), m.view().slice(0, n), bz.view().slice(0, n));
    gpu->synchronize();
  }
  const uint64_t after = gpu->available_memory();
  std::cout << "[ memory   ] free before " << before << " B, after 30 models " << after << " B" << std::endl;
  EXPECT_LE(before - std::min(before, after), uint64_t{16} << 20) << "GPU memory lost over 30 models";
}

// The network on the GPU against the CPU, case by case from one table, on random inputs: every
// convolution pass, the whole network's output and parameter gradients, and an Adam step. TF32 is off
// (cuda_conv.cpp), so float agrees with float to rounding.
struct ConvCase {
  const char* name;
  ConvSpec spec;
  double tolerance;  // relative L2, each pass
};
const ConvCase kConvCases[] = {
    {"conv1_1to32_3x3", {DType::F32, 8, 1, 32, 32, 32, 3}, 1e-5},
    {"full_32to32_3x3_batch32", {DType::F32, 32, 32, 32, 32, 32, 3}, 1e-5},
    {"quarter_32to32_3x3_odd_batch", {DType::F32, 7, 32, 32, 8, 8, 3}, 1e-5},
    {"conv4_32to32_1x1", {DType::F32, 16, 32, 32, 32, 32, 1}, 1e-5},
    {"conv5_32to1_1x1", {DType::F32, 16, 32, 1, 32, 32, 1}, 1e-5},
    {"kernel5_nonsquare", {DType::F32, 3, 4, 6, 12, 20, 5}, 1e-5},
    {"full_32to32_3x3_batch256", {DType::F32, 256, 32, 32, 32, 32, 3}, 1e-5},
};

TEST_F(Gpu, ConvolutionsMatchCpu) {
  std::mt19937_64 rng(fresh_seed());
  for (const ConvCase& c : kConvCases) {
    const ConvSpec& s = c.spec;
    const int64_t nx = s.batch * s.in_channels * s.height * s.width, ny = s.batch * s.out_channels * s.height * s.width;
    const int64_t nw = s.out_channels * s.in_channels * s.kernel * s.kernel;
    const auto x = uniform_values<float>(rng, nx, 1.0), dy = uniform_values<float>(rng, ny, 1.0), w = uniform_values<float>(rng, nw, 0.3);
    std::vector<std::vector<float>> results[2];
    Backend* backends[2] = {cpu.get(), gpu.get()};
    for (int b = 0; b < 2; ++b) {
      Backend& be = *backends[b];
      auto plan = be.plan_conv(s);
      Tensor tx(be, DType::F32, Shape{nx}), tdy(be, DType::F32, Shape{ny}), tw(be, DType::F32, Shape{nw});
      Tensor y(be, DType::F32, Shape{ny}), dx(be, DType::F32, Shape{nx}), dw(be, DType::F32, Shape{nw});
      tx.upload(x);
      tdy.upload(dy);
      tw.upload(w);
      plan->forward(tx.data<float>(), tw.data<float>(), y.data<float>());
      plan->backward_data(tdy.data<float>(), tw.data<float>(), dx.data<float>());
      plan->backward_filter(tx.data<float>(), tdy.data<float>(), dw.data<float>());
      results[b] = {y.to_host<float>(), dx.to_host<float>(), dw.to_host<float>()};
      if (b == 1) std::cout << "[ case     ] " << c.name << ": " << plan->algorithm() << std::endl;
    }
    const char* passes[3] = {"forward", "backward data", "backward filter"};
    // The filter gradient sums batch x H x W products per weight (262144 at batch 256): float rounding
    // of two different summation orders grows as its square root, so it gets three times the room.
    for (int p = 0; p < 3; ++p)
      EXPECT_LT(relative_l2(results[1][p], results[0][p]), p == 2 ? 3 * c.tolerance : c.tolerance) << c.name << ", " << passes[p];
  }
}

// The reductions on the GPU against the CPU's, at the seed network's largest shapes and at odd ones
// (planes narrower and wider than a block, a single row): sums of double terms agree to rounding, and a
// rerun gives the same bits.
TEST_F(Gpu, ReductionsMatchCpuAndRepeat) {
  std::mt19937_64 rng(fresh_seed());
  struct Case {
    int64_t batch, channels, plane;
  };
  for (const Case c : {Case{256, 32, 1024}, Case{256, 32, 64}, Case{3, 5, 3001}, Case{1, 1, 7}, Case{9, 2, 1}}) {
    const int64_t n = c.batch * c.channels * c.plane;
    const auto dy = uniform_values<float>(rng, n, 1.0), target = uniform_values<float>(rng, n, 1.0);
    std::vector<double> bias[2], again(static_cast<std::size_t>(c.channels)), sums[2];
    Backend* backends[2] = {cpu.get(), gpu.get()};
    for (int b = 0; b < 2; ++b) {
      Backend& be = *backends[b];
      Tensor tdy(be, DType::F32, Shape{n}), tt(be, DType::F32, Shape{n}), db(be, DType::F32, Shape{c.channels});
      Tensor loss(be, DType::F64, Shape{2});
      tdy.upload(dy);
      tt.upload(target);
      loss.zero();
      be.reduce(kern::BiasGrad<float>{tdy.data<float>(), db.data<float>(), c.batch, c.channels, c.plane}, c.channels);
      be.reduce(kern::SquaredErrorSum<float>{tdy.data<float>(), tt.data<float>(), c.batch, c.channels * c.plane, loss.data<double>(),
                                             nullptr, 1},
                1);
      const std::vector<float> f = db.to_host<float>();
      bias[b].assign(f.begin(), f.end());
      sums[b] = loss.to_host<double>();
      if (b == 1) {
        be.reduce(kern::BiasGrad<float>{tdy.data<float>(), db.data<float>(), c.batch, c.channels, c.plane}, c.channels);
        const std::vector<float> g = db.to_host<float>();
        again.assign(g.begin(), g.end());
      }
    }
    const std::string shape = std::to_string(c.batch) + " x " + std::to_string(c.channels) + " x " + std::to_string(c.plane);
    for (int64_t ch = 0; ch < c.channels; ++ch) {
      const double scale = std::sqrt(static_cast<double>(c.batch * c.plane));  // the size of a sum of random terms
      EXPECT_NEAR(bias[1][static_cast<std::size_t>(ch)], bias[0][static_cast<std::size_t>(ch)], 1e-6 * scale) << shape;
    }
    EXPECT_EQ(again, bias[1]) << "the GPU's bias gradient did not repeat, " << shape;
    EXPECT_EQ(sums[1][0], 0.0) << "slot 0 was written: the slot offset is ignored, " << shape;
    EXPECT_NEAR(sums[1][1], sums[0][1], 1e-12 * sums[0][1]) << shape;
  }
}

TEST_F(Gpu, NetworkAndAdamMatchCpu) {
  const uint64_t seed = fresh_seed();
  std::mt19937_64 rng(seed);
  NetworkSpec spec;
  const int64_t B = 6, H = 32, W = 24;
  const auto x = uniform_values<float>(rng, B * H * W, 0.3), r = uniform_values<float>(rng, B * H * W, 1.0);
  std::vector<float> out[2], grads[2], after[2];
  Backend* backends[2] = {cpu.get(), gpu.get()};
  for (int b = 0; b < 2; ++b) {
    Backend& be = *backends[b];
    Parameters params(be, spec, DType::F32);
    params.initialize(seed);
    Network net(params, B, H, W);
    Tensor tx(be, DType::F32, Shape{B, 1, H, W}), tr(be, DType::F32, Shape{B, 1, H, W});
    tx.upload(x);
    tr.upload(r);
    net.forward(tx);
    be.copy(net.output_gradient().data, tr.data<float>(), tr.bytes());
    net.backward(tx);
    std::vector<float> y(static_cast<std::size_t>(B * H * W));
    be.download(y.data(), net.output().data, y.size() * sizeof(float));
    out[b] = y;
    grads[b] = params.gradients().to_host<float>();
    // One Adam step from zero moments, on the CPU's gradients on both backends: the first step moves
    // each parameter by about lr sign(g), so a gradient within rounding of zero, whose sign the two
    // backends may disagree on, would move by 2 lr; the step's own arithmetic is what is compared.
    params.gradients().upload(grads[0]);
    kern::AdamSettings adam;
    adam.learning_rate = 1e-3;
    Tensor m(be, DType::F32, Shape{params.count()}), v(be, DType::F32, Shape{params.count()});
    Tensor counters(be, DType::I64, Shape{kern::kCounterCount}), scalars(be, DType::F64, Shape{3});
    m.zero();
    v.zero();
    counters.zero();
    be.run(kern::AdamScalars{adam, counters.data<int64_t>(), scalars.data<double>()}, 1);
    be.run(kern::AdamUpdate<float>{params.values().data<float>(), params.gradients().data<float>(), m.data<float>(), v.data<float>(),
                                   scalars.data<double>(), adam.beta1, adam.beta2, adam.epsilon, adam.weight_decay},
           params.count());
    after[b] = params.values().to_host<float>();
  }
  EXPECT_LT(relative_l2(out[1], out[0]), 1e-5) << "network output";
  EXPECT_LT(relative_l2(grads[1], grads[0]), 1e-4) << "parameter gradients";
  EXPECT_LT(relative_l2(after[1], after[0]), 1e-6) << "parameters after one Adam step";
}

// A short training run on both backends: the same data and seed give losses that agree to float
// rounding accumulated over the steps, and the GPU's run repeats to the bit.
TEST_F(Gpu, TrainingMatchesCpuAndRepeats) {
  TrainSettings s;
  s.batch_size = 8;
  s.validation_batch = 16;
  s.adam.learning_rate = 2e-3;
  s.seed = fresh_seed();
  NetworkSpec spec;
  spec.base_channels = 16;
  GeneratorSettings g;
  g.img_size = 16;
  g.count = 96;
  g.seed = s.seed;
  SampleBatch data;
  Generator(*cpu, g).next(g.count, data);
  const auto run = [&](Backend& be) {
    Trainer t(be, spec, s, 16, 16, 64, 32);
    t.train_inputs().upload(std::vector<float>(data.b.begin(), data.b.begin() + 64 * 256));
    t.train_targets().upload(std::vector<float>(data.target.begin(), data.target.begin() + 64 * 256));
    t.validation_inputs().upload(std::vector<float>(data.b.begin() + 64 * 256, data.b.end()));
    t.validation_targets().upload(std::vector<float>(data.target.begin() + 64 * 256, data.target.end()));
    for (int e = 0; e < 3; ++e) t.run_epoch(nullptr, nullptr);
    return t.history();
  };
  const auto on_cpu = run(*cpu), on_gpu = run(*gpu), again = run(*gpu);
  for (std::size_t e = 0; e < 3; ++e) {
    EXPECT_NEAR(on_gpu[e].train_mse, on_cpu[e].train_mse, 1e-3 * on_cpu[e].train_mse) << "epoch " << e + 1;
    EXPECT_NEAR(on_gpu[e].validation_mse, on_cpu[e].validation_mse, 1e-3 * on_cpu[e].validation_mse) << "epoch " << e + 1;
    EXPECT_EQ(again[e].validation_mse, on_gpu[e].validation_mse) << "the GPU run did not repeat, epoch " << e + 1;
  }
}

// Inference with the copy lanes (upload, compute and download streams, two passes in flight) against
// the CPU: tiled maps in physical units, several passes, the residual's fit on the GPU's forward model.
TEST_F(Gpu, InferenceMatchesCpu) {
  const uint64_t seed = fresh_seed();
  std::mt19937_64 rng(seed);
  // The amplitude model, and a vector model: three channels through the lanes, the resampling and the
  // vector residual.
  for (const TargetKind target : {TargetKind::Shape, TargetKind::Vector}) {
    NetworkConfig network;
    network.base_channels = 8;
    network.output_activation = "identity";
    fit_network_to_target(network, target);
    ModelFile model = random_model_file(seed, network);
    model.config.data.target = target;
    MapGrid grid;
    grid.ny = 150;
    grid.nx = 122;
    grid.geometry = FilmGeometry{5e-9, 10e-9, 1e-9, 1e5};
    InferenceOptions o;
    o.predictor.tile = 36;
    o.predictor.max_batch = 3;  // many passes: the lanes' ordering is what is tested
    const int64_t n = 5, plane = grid.ny * grid.nx, C = target_channels(target);
    std::vector<float> field = uniform_values<float>(rng, n * plane, 1e-3);
    std::vector<float> on_gpu(static_cast<std::size_t>(C) * field.size()), on_cpu(on_gpu.size());
    std::vector<ResidualReport> r_gpu(n), r_cpu(n);
    Inference(*gpu, model, grid, o).run(field.data(), n, nullptr, on_gpu.data(), r_gpu.data());
    Inference(*cpu, model, grid, o).run(field.data(), n, nullptr, on_cpu.data(), r_cpu.data());
    EXPECT_LT(relative_l2(on_gpu, on_cpu), 1e-5) << target_kind_name(target);
    for (int64_t i = 0; i < n; ++i)
      EXPECT_NEAR(r_gpu[i].relative_l2, r_cpu[i].relative_l2, 1e-4 * r_cpu[i].relative_l2) << target_kind_name(target) << " " << i;
  }
}

// The GPUs' all-reduce of data-parallel training over one rank: an NCCL communicator of size 1 made
// from the run's communicator, whose sum leaves the values as they are, on the backend's stream and
// inside a captured step (where a multi-GPU machine would sum the ranks' gradients).
TEST_F(Gpu, NcclSumOverOneRankInsideACapturedStep) {
  std::unique_ptr<Communicator> alone = make_single_process();
  const int64_t n = 38401;  // the seed network's gradient count
  std::vector<float> host(n);
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<float> u(-1, 1);
  for (float& v : host) v = u(rng);
  Tensor values(*gpu, DType::F32, Shape{n});
  values.upload(host);
  try {
    gpu->sum_over_ranks(values.data<float>(), n, *alone);  // made before capture, as the trainer's warm-up does
  } catch (const InvalidInput& e) {
    GTEST_SKIP() << "this build has no NCCL: " << e.what();
  }
  EXPECT_EQ(values.to_host<float>(), host);
  auto step = gpu->capture([&] { gpu->sum_over_ranks(values.data<float>(), n, *alone); });
  step->replay();
  step->replay();
  EXPECT_EQ(values.to_host<float>(), host);
}

}  // namespace
}  // namespace magcnn::test
