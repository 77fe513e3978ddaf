// The network's pieces on the CPU against oracles nobody tuned: every convolution implementation, each
// pass, against its direct sum in long double; the whole
// network's gradients against central finite differences (double); float against double; reductions
// bit-stable whatever the thread count; Adam against values worked by hand; steps that allocate nothing.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "counting_backend.h"
#include "cpu/cpu_parts.h"
#include "magcnn/device.h"
#include "magcnn/network.h"
#include "reference.h"

namespace magcnn::test {
namespace {

// y[n, o, r, c] = sum over i, ky, kx of w[o, i, ky, kx] x[n, i, r + ky - k/2, c + kx - k/2] (zero outside).
std::vector<double> direct_conv(const ConvSpec& s, const std::vector<double>& x, const std::vector<double>& w) {
  const int64_t k = s.kernel, p = k / 2, H = s.height, W = s.width;
  std::vector<double> y(static_cast<std::size_t>(s.batch * s.out_channels * H * W), 0.0);
  for (int64_t n = 0; n < s.batch; ++n)
    for (int64_t o = 0; o < s.out_channels; ++o)
      for (int64_t r = 0; r < H; ++r)
        for (int64_t c = 0; c < W; ++c) {
          long double sum = 0;
          for (int64_t i = 0; i < s.in_channels; ++i)
            for (int64_t ky = 0; ky < k; ++ky)
              for (int64_t kx = 0; kx < k; ++kx) {
                const int64_t sr = r + ky - p, sc = c + kx - p;
                if (sr < 0 || sr >= H || sc < 0 || sc >= W) continue;
                sum += static_cast<long double>(w[((o * s.in_channels + i) * k + ky) * k + kx]) *
                       x[((n * s.in_channels + i) * H + sr) * W + sc];
              }
          y[((n * s.out_channels + o) * H + r) * W + c] = static_cast<double>(sum);
        }
  return y;
}

// The two gradients of the same sum: dx[n, i, sr, sc] = sum over o, ky, kx of w[o, i, ky, kx] dy[n, o, r, c]
// and dw[o, i, ky, kx] = sum over n, r, c of dy[n, o, r, c] x[n, i, sr, sc], where (sr, sc) = (r + ky - k/2,
// c + kx - k/2) lies inside the map.
void direct_conv_gradients(const ConvSpec& s, const std::vector<double>& x, const std::vector<double>& w,
                           const std::vector<double>& dy, std::vector<double>& dx, std::vector<double>& dw) {
  const int64_t k = s.kernel, p = k / 2, H = s.height, W = s.width, I = s.in_channels, O = s.out_channels;
  std::vector<long double> gx(x.size(), 0.0L), gw(w.size(), 0.0L);
  for (int64_t n = 0; n < s.batch; ++n)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t r = 0; r < H; ++r)
        for (int64_t c = 0; c < W; ++c) {
          const long double g = dy[static_cast<std::size_t>(((n * O + o) * H + r) * W + c)];
          for (int64_t i = 0; i < I; ++i)
            for (int64_t ky = 0; ky < k; ++ky)
              for (int64_t kx = 0; kx < k; ++kx) {
                const int64_t sr = r + ky - p, sc = c + kx - p;
                if (sr < 0 || sr >= H || sc < 0 || sc >= W) continue;
                const std::size_t xi = static_cast<std::size_t>(((n * I + i) * H + sr) * W + sc);
                const std::size_t wi = static_cast<std::size_t>(((o * I + i) * k + ky) * k + kx);
                gx[xi] += g * w[wi];
                gw[wi] += g * x[xi];
              }
        }
  dx.assign(gx.begin(), gx.end());
  dw.assign(gw.begin(), gw.end());
}

template <class T>
std::vector<double> run_conv_pass(ConvPlan& plan, int pass, const std::vector<double>& a, const std::vector<double>& b,
                                  std::size_t out_size) {
  const std::vector<T> ta(a.begin(), a.end()), tb(b.begin(), b.end());
  std::vector<T> out(out_size);
  if (pass == 0) plan.forward(ta.data(), tb.data(), out.data());
  if (pass == 1) plan.backward_data(ta.data(), tb.data(), out.data());
  if (pass == 2) plan.backward_filter(ta.data(), tb.data(), out.data());
  return std::vector<double>(out.begin(), out.end());
}

// Each pass against its direct sum in long double.
template <class T>
void check_conv(ConvPlan& plan, const ConvSpec& s, double tolerance, std::mt19937_64& rng) {
  const std::size_t nx = s.batch * s.in_channels * s.height * s.width, ny = s.batch * s.out_channels * s.height * s.width;
  const std::size_t nw = s.out_channels * s.in_channels * s.kernel * s.kernel;
  const auto x = uniform_values(rng, static_cast<int64_t>(nx)), dy = uniform_values(rng, static_cast<int64_t>(ny));
  const auto w = uniform_values(rng, static_cast<int64_t>(nw), 0.3);
  std::vector<double> want_dx, want_dw;
  direct_conv_gradients(s, x, w, dy, want_dx, want_dw);
  EXPECT_LT(relative_l2(run_conv_pass<T>(plan, 0, x, w, ny), direct_conv(s, x, w)), tolerance) << "forward, " << plan.algorithm();
  EXPECT_LT(relative_l2(run_conv_pass<T>(plan, 1, dy, w, nx), want_dx), tolerance) << "backward data, " << plan.algorithm();
  EXPECT_LT(relative_l2(run_conv_pass<T>(plan, 2, x, dy, nw), want_dw), tolerance) << "backward filter, " << plan.algorithm();
}

const ConvSpec kConvShapes[] = {
    {DType::F64, 2, 1, 4, 8, 12, 3},  {DType::F64, 3, 5, 6, 12, 8, 3},  {DType::F64, 2, 4, 4, 16, 16, 5},
    {DType::F64, 5, 3, 2, 4, 4, 1},   {DType::F64, 4, 32, 32, 8, 8, 3}, {DType::F64, 9, 2, 3, 7, 9, 3},
};

TEST(Convolution, Im2colGemmInDoubleAndFloat) {
  std::mt19937_64 rng(fresh_seed());
  for (ConvSpec s : kConvShapes) {
    s.dtype = DType::F64;
    check_conv<double>(*cpu::make_gemm_conv(s), s, 1e-12, rng);
    s.dtype = DType::F32;
    check_conv<float>(*cpu::make_gemm_conv(s), s, 1e-5, rng);
  }
}

#if MAGCNN_HAVE_DNNL
TEST(Convolution, OneDnnDirectAndWinograd) {
  std::mt19937_64 rng(fresh_seed());
  for (ConvSpec s : kConvShapes) {
    s.dtype = DType::F32;
    check_conv<float>(*cpu::make_dnnl_conv(s, false), s, 1e-5, rng);
    if (auto winograd = cpu::make_dnnl_conv(s, true)) check_conv<float>(*winograd, s, 2e-4, rng);
  }
}
#endif

NetworkSpec small_spec(int activation, int64_t depth = 1) {
  NetworkSpec s;
  s.base_channels = 4;
  s.depth = depth;
  s.kernel_size = 3;
  s.activation = activation;
  s.output_activation = activation;
  return s;
}

// L = sum of output * r for a fixed random r: dL/doutput = r.
double weighted_output(Network& net, const Tensor& x, const std::vector<double>& r) {
  net.forward(x);
  const double* y = net.output().as<double>();
  long double sum = 0;
  for (std::size_t i = 0; i < r.size(); ++i) sum += static_cast<long double>(y[i]) * r[i];
  return static_cast<double>(sum);
}

// The whole network's parameter gradients against central differences, in double on the CPU.
void check_network_gradients(int activation, int64_t depth, uint64_t seed) {
  auto cpu = make_cpu_backend();
  const NetworkSpec spec = small_spec(activation, depth);
  Parameters params(*cpu, spec, DType::F64);
  std::mt19937_64 rng(seed);
  // Random biases too: with Glorot weights and zero biases, a ReLU fed only zeros sits exactly on its kink.
  params.upload_values(uniform_values(rng, params.count(), 0.4));
  const int64_t B = 2, H = 8, W = 8;
  Network net(params, B, H, W);
  Tensor x(*cpu, DType::F64, Shape{B, 1, H, W});
  x.upload(uniform_values(rng, B * H * W, 2.0));
  const auto r = uniform_values(rng, B * H * W);
  net.forward(x);
  std::copy(r.begin(), r.end(), net.output_gradient().as<double>());
  net.backward(x);
  const std::vector<double> analytic = params.gradients().to_host<double>();
  std::vector<double> theta = params.download_values(), numeric(theta.size());
  // Up to 10 entries of each tensor (all of a bias), spread over it: every layer, a few seconds.
  std::vector<std::size_t> checked;
  for (const ParameterTensor& t : params.tensors()) {
    const int64_t step = std::max<int64_t>(1, t.count() / 10);
    for (int64_t i = t.offset; i < t.offset + t.count(); i += step) checked.push_back(static_cast<std::size_t>(i));
  }
  const double eps = 1e-6;
  for (const std::size_t i : checked) {
    const double keep = theta[i];
    theta[i] = keep + eps;
    params.upload_values(theta);
    const double plus = weighted_output(net, x, r);
    theta[i] = keep - eps;
    params.upload_values(theta);
    const double minus = weighted_output(net, x, r);
    theta[i] = keep;
    numeric[i] = (plus - minus) / (2 * eps);
  }
  params.upload_values(theta);
  for (const ParameterTensor& t : params.tensors()) {
    std::vector<double> a, n;
    for (const std::size_t i : checked)
      if (static_cast<int64_t>(i) >= t.offset && static_cast<int64_t>(i) < t.offset + t.count()) {
        a.push_back(analytic[i]);
        n.push_back(numeric[i]);
      }
    ASSERT_FALSE(a.empty()) << t.name;
    EXPECT_LT(relative_l2(a, n), 1e-5) << t.name << " (" << activation_name(activation) << ", depth " << depth << ")";
  }
}

TEST(Network, GradientsMatchFiniteDifferences) {
  const uint64_t seed = fresh_seed();
  // Thousands of forward passes of a tiny network: one thread is faster than waking others each time.
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  check_network_gradients(kern::kSigmoid, 1, seed);
  check_network_gradients(kern::kIdentity, 2, seed + 1);
  check_network_gradients(kern::kRelu, 1, seed + 2);  // kinks: random inputs land on one with probability ~0
  omp_set_num_threads(threads);
}

TEST(Network, FloatAgreesWithDouble) {
  auto cpu = make_cpu_backend();
  NetworkSpec spec;  // the seed's: b = 32, depth 1, k = 3, ReLU
  const uint64_t seed = fresh_seed();
  Parameters p64(*cpu, spec, DType::F64), p32(*cpu, spec, DType::F32);
  p64.initialize(seed);
  p32.initialize(seed);
  const int64_t B = 3, H = 16, W = 20;
  Network n64(p64, B, H, W), n32(p32, B, H, W);
  std::mt19937_64 rng(seed);
  const auto xs = uniform_values(rng, B * H * W, 0.3), r = uniform_values(rng, static_cast<int64_t>(xs.size()));
  Tensor x64(*cpu, DType::F64, Shape{B, 1, H, W}), x32(*cpu, DType::F32, Shape{B, 1, H, W});
  x64.upload(xs);
  x32.upload(std::vector<float>(xs.begin(), xs.end()));
  n64.forward(x64);
  n32.forward(x32);
  const double* y64 = n64.output().as<double>();
  const float* y32 = n32.output().as<float>();
  EXPECT_LT(relative_l2(std::vector<float>(y32, y32 + xs.size()), std::vector<double>(y64, y64 + xs.size())), 1e-4);
  std::copy(r.begin(), r.end(), n64.output_gradient().as<double>());
  std::copy(r.begin(), r.end(), n32.output_gradient().as<float>());
  n64.backward(x64);
  n32.backward(x32);
  EXPECT_LT(relative_l2(p32.gradients().to_host<float>(), p64.gradients().to_host<double>()), 1e-3);
}

TEST(Network, StepsAllocateNothing) {
  CountingBackend backend(make_cpu_backend());
  Parameters params(backend, NetworkSpec{}, DType::F32);
  params.initialize(7);
  Tensor x(backend, DType::F32, Shape{4, 1, 16, 16});
  x.zero();
  Network net(params, 4, 16, 16);
  const int allocations = backend.allocations, plans = backend.plans;
  for (int k = 0; k < 3; ++k) {
    net.forward(x);
    net.backward(x);
  }
  EXPECT_EQ(backend.allocations, allocations);
  EXPECT_EQ(backend.plans, plans);
}

TEST(Network, RefusesBadShapes) {
  auto cpu = make_cpu_backend();
  Parameters params(*cpu, NetworkSpec{}, DType::F32);
  EXPECT_THROW(Network(params, 2, 18, 16), InvalidInput);  // 18 is not a multiple of 4
  EXPECT_THROW(Network(params, 0, 16, 16), InvalidInput);
  Network net(params, 2, 16, 16);
  Tensor wrong(*cpu, DType::F32, Shape{2, 1, 16, 12});
  EXPECT_THROW(net.forward(wrong), InvalidInput);
  NetworkSpec even;
  even.kernel_size = 4;
  EXPECT_THROW(even.validate(), InvalidInput);
  EXPECT_THROW(parse_activation("tanh"), InvalidInput);
}

// Reductions: the same bits whatever the number of threads, and the value of an ordered double sum.
TEST(Reductions, SameBitsWhateverTheThreads) {
  auto cpu = make_cpu_backend();
  std::mt19937_64 rng(fresh_seed());
  const int64_t batch = 7, channels = 5, plane = 3001;  // more terms than one chunk
  const auto dy = uniform_values(rng, batch * channels * plane);
  std::vector<double> bias(channels), again(channels);
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  cpu->reduce(kern::BiasGrad<double>{dy.data(), bias.data(), batch, channels, plane}, channels);
  omp_set_num_threads(std::max(2, threads));
  cpu->reduce(kern::BiasGrad<double>{dy.data(), again.data(), batch, channels, plane}, channels);
  omp_set_num_threads(threads);
  EXPECT_EQ(bias, again);
  for (int64_t c = 0; c < channels; ++c) {
    long double sum = 0;
    for (int64_t n = 0; n < batch; ++n)
      for (int64_t p = 0; p < plane; ++p) sum += dy[static_cast<std::size_t>((n * channels + c) * plane + p)];
    EXPECT_NEAR(bias[static_cast<std::size_t>(c)], static_cast<double>(sum), 1e-10);
  }
  double one = 0;  // one output, many chunks: the parallel-over-chunks path
  const int64_t rows = 97, cols = static_cast<int64_t>(dy.size() - 1) / rows;
  cpu->reduce(kern::SquaredErrorSum<double>{dy.data(), dy.data() + 1, rows, cols, &one, nullptr, 0}, 1);
  long double want = 0;
  for (int64_t k = 0; k < rows * cols; ++k) want += (static_cast<long double>(dy[k]) - dy[k + 1]) * (dy[k] - dy[k + 1]);
  EXPECT_NEAR(one, static_cast<double>(want), 1e-9 * static_cast<double>(want));
}

// The GPU reduction's traversal (kern::StridedCursor, run here as the kernel runs it): the threads of a
// block together visit every term of the grid exactly once, each thread the flat indices t, t + T, ...
TEST(Reductions, GpuTraversalVisitsEveryTermOnce) {
  struct Grid {
    int64_t rows, cols, threads;
  };
  for (const Grid g : {Grid{256, 1024, 1024}, Grid{7, 3001, 1024}, Grid{256, 64, 1024}, Grid{5, 1, 1024}, Grid{3, 7, 4},
                       Grid{1000, 1000, 1024}, Grid{1, 5, 1024}}) {
    std::vector<int> visits(static_cast<std::size_t>(g.rows * g.cols), 0);
    for (int64_t t = 0; t < g.threads; ++t) {
      int64_t expected = t;
      for (kern::StridedCursor at(t, g.threads, g.cols); at.row < g.rows; at.advance(), expected += g.threads) {
        ASSERT_LT(at.col, g.cols);
        ASSERT_EQ(at.row * g.cols + at.col, expected) << "thread " << t << " of " << g.threads << ", cols " << g.cols;
        ++visits[static_cast<std::size_t>(at.row * g.cols + at.col)];
      }
    }
    EXPECT_EQ(std::count(visits.begin(), visits.end(), 1), g.rows * g.cols) << g.rows << " x " << g.cols;
  }
}

// Adam (bias-corrected, decoupled weight decay) against the textbook update written out here.
TEST(Adam, MatchesValuesWorkedByHand) {
  auto cpu = make_cpu_backend();
  kern::AdamSettings s;
  s.learning_rate = 0.01;
  s.weight_decay = 0.1;
  std::vector<double> p{0.5, -1.5, 2.0}, m(3, 0.0), v(3, 0.0), scalars(3);
  std::vector<int64_t> counters(kern::kCounterCount, 0);
  const double grads[3][3] = {{0.3, -0.2, 0.0}, {0.1, 0.4, -1.0}, {-0.5, 0.05, 2.0}};
  long double P[3] = {0.5L, -1.5L, 2.0L}, M[3] = {0, 0, 0}, V[3] = {0, 0, 0};
  for (int t = 1; t <= 3; ++t) {
    std::vector<double> g(grads[t - 1], grads[t - 1] + 3);
    cpu->run(kern::AdamScalars{s, counters.data(), scalars.data()}, 1);
    cpu->run(kern::AdamUpdate<double>{p.data(), g.data(), m.data(), v.data(), scalars.data(), s.beta1, s.beta2, s.epsilon,
                                      s.weight_decay},
             3);
    for (int i = 0; i < 3; ++i) {
      M[i] = 0.9L * M[i] + 0.1L * g[i];
      V[i] = 0.999L * V[i] + 0.001L * g[i] * g[i];
      const long double mhat = M[i] / (1 - std::pow(0.9L, t)), vhat = V[i] / (1 - std::pow(0.999L, t));
      P[i] -= 0.01L * 0.1L * P[i];
      P[i] -= 0.01L * mhat / (std::sqrt(vhat) + 1e-8L);
      EXPECT_NEAR(p[i], static_cast<double>(P[i]), 1e-14) << "step " << t << ", parameter " << i;
    }
  }
  EXPECT_EQ(counters[kern::kAdamStep], 3);
}

TEST(Adam, Schedules) {
  kern::AdamSettings s;
  s.learning_rate = 1.0;
  s.schedule = kern::kStepDecay;
  s.steps_per_epoch = 10;
  s.decay_epochs = 2;
  s.decay_gamma = 0.5;
  EXPECT_DOUBLE_EQ(kern::scheduled_rate(s, 1), 1.0);
  EXPECT_DOUBLE_EQ(kern::scheduled_rate(s, 20), 1.0);   // epoch 1
  EXPECT_DOUBLE_EQ(kern::scheduled_rate(s, 21), 0.5);   // epoch 2
  EXPECT_DOUBLE_EQ(kern::scheduled_rate(s, 41), 0.25);  // epoch 4
  s.schedule = kern::kCosine;
  s.total_steps = 100;
  EXPECT_DOUBLE_EQ(kern::scheduled_rate(s, 1), 1.0);
  EXPECT_NEAR(kern::scheduled_rate(s, 51), 0.5, 1e-12);
  EXPECT_NEAR(kern::scheduled_rate(s, 101), 0.0, 1e-12);
}

}  // namespace
}  // namespace magcnn::test
