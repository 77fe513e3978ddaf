// The network's layers over the backend: convolution plans, the element ops of kernels/network_ops.h and
// the reductions of kernels/reduce_ops.h, with every buffer allocated by the constructor.
#include "magcnn/network.h"

#include <cmath>
#include <map>
#include <tuple>

namespace magcnn {

int parse_activation(const std::string& name) {
  if (name == "relu") return kern::kRelu;
  if (name == "sigmoid") return kern::kSigmoid;
  if (name == "identity") return kern::kIdentity;
  throw InvalidInput("unknown activation '" + name + "': use relu, sigmoid or identity");
}

const char* activation_name(int activation) {
  return activation == kern::kRelu ? "relu" : activation == kern::kSigmoid ? "sigmoid" : "identity";
}

NetworkSpec NetworkSpec::from(const NetworkConfig& c) {
  NetworkSpec s;
  s.in_channels = c.in_channels;
  s.out_channels = c.out_channels;
  s.base_channels = c.base_channels;
  s.depth = c.depth;
  s.kernel_size = c.kernel_size;
  s.activation = parse_activation(c.activation);
  s.output_activation = parse_activation(c.output_activation);
  s.validate();
  return s;
}

void NetworkSpec::validate() const {
  MAGCNN_REQUIRE(in_channels >= 1 && out_channels >= 1 && base_channels >= 1,
                 "network channels must be at least 1, got in " << in_channels << ", out " << out_channels << ", base "
                                                                << base_channels);
  MAGCNN_REQUIRE(depth >= 1, "network depth (convolutions per branch) must be at least 1, got " << depth);
  MAGCNN_REQUIRE(kernel_size >= 1 && kernel_size % 2 == 1,
                 "network kernel_size must be odd (zero 'same' padding of k/2 on each side), got " << kernel_size);
}

namespace {

// The convolution layers in order: name, in and out channels, kernel, resolution level (0 full, 1 half,
// 2 quarter).
struct ConvLayer {
  std::string name;
  int64_t in, out, kernel;
  int level;
};

std::vector<ConvLayer> conv_layers(const NetworkSpec& s) {
  std::vector<ConvLayer> layers{{"conv1", s.in_channels, s.base_channels, s.kernel_size, 0}};
  const char* branch[3] = {"full", "half", "quarter"};
  for (int level = 0; level < 3; ++level)
    for (int64_t i = 0; i < s.depth; ++i)
      layers.push_back({std::string(branch[level]) + "." + std::to_string(i + 1), s.base_channels, s.base_channels,
                        s.kernel_size, level});
  layers.push_back({"conv3", s.base_channels, s.base_channels, 3, 0});
  layers.push_back({"conv4", s.base_channels, s.base_channels, 1, 0});
  layers.push_back({"conv5", s.base_channels, s.out_channels, 1, 0});
  return layers;
}

}  // namespace

std::vector<ParameterTensor> parameter_layout(const NetworkSpec& spec) {
  spec.validate();
  std::vector<ParameterTensor> tensors;
  int64_t offset = 0;
  for (const ConvLayer& l : conv_layers(spec)) {
    tensors.push_back({l.name + ".weight", Shape{l.out, l.in, l.kernel, l.kernel}, offset});
    offset += tensors.back().count();
    tensors.push_back({l.name + ".bias", Shape{l.out}, offset});
    offset += tensors.back().count();
  }
  return tensors;
}

Parameters::Parameters(Backend& backend, const NetworkSpec& spec, DType dtype)
    : backend_(backend), spec_(spec), dtype_(dtype), tensors_(parameter_layout(spec)) {
  count_ = tensors_.back().offset + tensors_.back().count();
  values_ = Tensor(backend, dtype, Shape{count_});
  gradients_ = Tensor(backend, dtype, Shape{count_});
  values_.zero();
  gradients_.zero();
}

void Parameters::initialize(uint64_t seed) {
  // Uniforms from the backend's Philox stream (the same numbers on every backend), one per weight.
  Tensor uniforms(backend_, DType::F64, Shape{count_});
  backend_.uniform_stream(seed)->generate(uniforms.data<double>(), count_);
  std::vector<double> u = uniforms.to_host<double>(), host(static_cast<std::size_t>(count_), 0.0);
  for (const ParameterTensor& t : tensors_) {
    if (t.shape.rank() != 4) continue;  // biases stay zero
    const double fan_in = static_cast<double>(t.shape[1] * t.shape[2] * t.shape[3]);
    const double fan_out = static_cast<double>(t.shape[0] * t.shape[2] * t.shape[3]);
    const double limit = std::sqrt(6.0 / (fan_in + fan_out));
    for (int64_t i = t.offset; i < t.offset + t.count(); ++i)
      host[static_cast<std::size_t>(i)] = limit * (2.0 * u[static_cast<std::size_t>(i)] - 1.0);
  }
  upload_values(host);
}

std::vector<double> Parameters::download_values() const {
  if (dtype_ == DType::F64) return values_.to_host<double>();
  const std::vector<float> f = values_.to_host<float>();
  return std::vector<double>(f.begin(), f.end());
}

void Parameters::upload_values(const std::vector<double>& host) {
  MAGCNN_REQUIRE(static_cast<int64_t>(host.size()) == count_, "parameters: " << host.size() << " values for " << count_);
  if (dtype_ == DType::F64) {
    values_.upload(host);
  } else {
    values_.upload(std::vector<float>(host.begin(), host.end()));
  }
}

// ---------------------------------------------------------------------------------------------------

struct Network::Impl {
  Parameters& params;
  Backend& backend;
  NetworkSpec spec;
  DType dtype;
  int64_t B, H, W;
  std::vector<ConvLayer> layers;
  std::map<std::tuple<int64_t, int64_t, int64_t, int>, std::unique_ptr<ConvPlan>> plans;
  std::vector<ConvPlan*> layer_plan;  // per layer
  // Activations (after bias and activation) and their gradients, one per layer, and the pooling and
  // summing buffers.
  std::vector<Tensor> act, grad;
  Tensor pool1, pool2, dpool1, dpool2, sum, dsum;
  Tensor argmax1, argmax2;

  Impl(Parameters& p, int64_t batch, int64_t height, int64_t width)
      : params(p), backend(p.backend()), spec(p.spec()), dtype(p.dtype()), B(batch), H(height), W(width),
        layers(conv_layers(p.spec())) {
    const int64_t b = spec.base_channels;
    for (const ConvLayer& l : layers) {
      const int64_t h = H >> l.level, w = W >> l.level;
      auto& plan = plans[{l.in, l.out, l.kernel, l.level}];
      if (!plan) plan = backend.plan_conv(ConvSpec{dtype, B, l.in, l.out, h, w, l.kernel});
      layer_plan.push_back(plan.get());
      act.emplace_back(backend, dtype, Shape{B, l.out, h, w});
      grad.emplace_back(backend, dtype, Shape{B, l.out, h, w});
    }
    pool1 = Tensor(backend, dtype, Shape{B, b, H / 2, W / 2});
    dpool1 = Tensor(backend, dtype, Shape{B, b, H / 2, W / 2});
    pool2 = Tensor(backend, dtype, Shape{B, b, H / 4, W / 4});
    dpool2 = Tensor(backend, dtype, Shape{B, b, H / 4, W / 4});
    argmax1 = Tensor(backend, DType::U8, Shape{B, b, H / 2, W / 2});
    argmax2 = Tensor(backend, DType::U8, Shape{B, b, H / 4, W / 4});
    sum = Tensor(backend, dtype, Shape{B, b, H, W});
    dsum = Tensor(backend, dtype, Shape{B, b, H, W});
  }

  template <class T>
  const T* weight(std::size_t layer) const {
    return params.values().data<T>() + params.tensors()[2 * layer].offset;
  }
  template <class T>
  const T* bias(std::size_t layer) const {
    return params.values().data<T>() + params.tensors()[2 * layer + 1].offset;
  }
  template <class T>
  T* weight_grad(std::size_t layer) const {
    return params.gradients().data<T>() + params.tensors()[2 * layer].offset;
  }
  template <class T>
  T* bias_grad(std::size_t layer) const {
    return params.gradients().data<T>() + params.tensors()[2 * layer + 1].offset;
  }
  static unsigned char* mask(const Tensor& t) { return t.data<unsigned char>(); }

  // Layer indices: 0 conv1; then full 1..depth, half, quarter; then conv3, conv4, conv5.
  std::size_t first_of(int level) const { return 1 + static_cast<std::size_t>(level * spec.depth); }
  std::size_t last_of(int level) const { return first_of(level) + static_cast<std::size_t>(spec.depth) - 1; }

  template <class T>
  void conv_forward(std::size_t layer, const T* input, int act_kind) {
    const Tensor& y = act[layer];
    layer_plan[layer]->forward(input, weight<T>(layer), y.data<T>());
    const int64_t plane = y.shape()[2] * y.shape()[3];
    backend.run(kern::BiasActivation<T>{y.data<T>(), bias<T>(layer), y.shape()[1], plane, act_kind}, y.numel());
  }

  template <class T>
  void forward(const T* x) {
    const int64_t b = spec.base_channels;
    conv_forward<T>(0, x, spec.activation);
    const T* a1 = act[0].data<T>();
    backend.run(kern::MaxPool2x2<T>{a1, pool1.data<T>(), mask(argmax1), W / 2}, B * b * (H / 2) * (W / 2));
    backend.run(kern::MaxPool2x2<T>{pool1.data<T>(), pool2.data<T>(), mask(argmax2), W / 4}, B * b * (H / 4) * (W / 4));
    const T* branch_input[3] = {a1, pool1.data<T>(), pool2.data<T>()};
    for (int level = 0; level < 3; ++level) {
      const T* in = branch_input[level];
      for (std::size_t l = first_of(level); l <= last_of(level); ++l) {
        conv_forward<T>(l, in, spec.activation);
        in = act[l].data<T>();
      }
    }
    // sum = full + up2(half) + up4(quarter)
    backend.copy(sum.data<T>(), act[last_of(0)].data<T>(), sum.bytes());
    backend.run(kern::UpsampleAdd<T>{act[last_of(1)].data<T>(), sum.data<T>(), W, 1}, sum.numel());
    backend.run(kern::UpsampleAdd<T>{act[last_of(2)].data<T>(), sum.data<T>(), W, 2}, sum.numel());
    const std::size_t c3 = last_of(2) + 1;
    conv_forward<T>(c3, sum.data<T>(), spec.activation);
    conv_forward<T>(c3 + 1, act[c3].data<T>(), spec.activation);
    conv_forward<T>(c3 + 2, act[c3 + 1].data<T>(), spec.output_activation);
  }

  // From grad[layer] (dLoss/d output of the layer, after activation) to the layer's parameter gradients
  // and, when `input_grad` is given, dLoss/d input (overwritten).
  template <class T>
  void conv_backward(std::size_t layer, const T* input, int act_kind, T* input_grad) {
    T* g = grad[layer].data<T>();
    const Tensor& y = act[layer];
    backend.run(kern::ActivationGrad<T>{g, y.data<T>(), act_kind}, y.numel());
    const int64_t channels = y.shape()[1], plane = y.shape()[2] * y.shape()[3];
    backend.reduce(kern::BiasGrad<T>{g, bias_grad<T>(layer), B, channels, plane}, channels);
    layer_plan[layer]->backward_filter(input, g, weight_grad<T>(layer));
    if (input_grad != nullptr) layer_plan[layer]->backward_data(g, weight<T>(layer), input_grad);
  }

  template <class T>
  void backward(const T* x) {
    const int64_t b = spec.base_channels;
    const std::size_t c3 = last_of(2) + 1;
    conv_backward<T>(c3 + 2, act[c3 + 1].data<T>(), spec.output_activation, grad[c3 + 1].data<T>());
    conv_backward<T>(c3 + 1, act[c3].data<T>(), spec.activation, grad[c3].data<T>());
    conv_backward<T>(c3, sum.data<T>(), spec.activation, dsum.data<T>());
    // The sum's gradient goes to the full branch as it is, to the coarse ones summed over their copies.
    backend.copy(grad[last_of(0)].data<T>(), dsum.data<T>(), dsum.bytes());
    backend.run(kern::UpsampleAddGrad<T>{dsum.data<T>(), grad[last_of(1)].data<T>(), W / 2, 1}, grad[last_of(1)].numel());
    backend.run(kern::UpsampleAddGrad<T>{dsum.data<T>(), grad[last_of(2)].data<T>(), W / 4, 2}, grad[last_of(2)].numel());
    // Branches, last convolution first; each branch's input gradient lands in its input's buffer.
    T* branch_input_grad[3] = {grad[0].data<T>(), dpool1.data<T>(), dpool2.data<T>()};
    const T* branch_input[3] = {act[0].data<T>(), pool1.data<T>(), pool2.data<T>()};
    for (int level = 0; level < 3; ++level) {
      for (std::size_t l = last_of(level); l >= first_of(level); --l) {
        const bool first = l == first_of(level);
        conv_backward<T>(l, first ? branch_input[level] : act[l - 1].data<T>(), spec.activation,
                         first ? branch_input_grad[level] : grad[l - 1].data<T>());
      }
    }
    // The pools add their gradients to what their inputs' own branches gave.
    backend.run(kern::MaxPool2x2Grad<T>{dpool2.data<T>(), mask(argmax2), dpool1.data<T>(), W / 2, true},
                B * b * (H / 2) * (W / 2));
    backend.run(kern::MaxPool2x2Grad<T>{dpool1.data<T>(), mask(argmax1), grad[0].data<T>(), W, true}, B * b * H * W);
    conv_backward<T>(0, x, spec.activation, nullptr);
  }
};

double Network::memory_bytes(const NetworkSpec& spec, int64_t batch, int64_t height, int64_t width, DType dtype) {
  const double value = static_cast<double>(dtype_size(dtype)), B = static_cast<double>(batch);
  const double plane = static_cast<double>(height) * static_cast<double>(width), b = static_cast<double>(spec.base_channels);
  double bytes = 0;
  for (const ConvLayer& l : conv_layers(spec)) {
    const double level_plane = plane / static_cast<double>(int64_t{1} << (2 * l.level));
    const double in = static_cast<double>(l.in) * level_plane, out = static_cast<double>(l.out) * level_plane;
    bytes += B * value * (2 * out + 2 * (in + out));  // activation and gradient; the plan's copies
  }
  bytes += B * b * plane * (value * 2 * (1.0 / 4 + 1.0 / 16) + (1.0 / 4 + 1.0 / 16));  // pools, gradients, argmaxes
  bytes += B * b * plane * value * 2;                                                  // the sum and its gradient
  return bytes;
}

Network::Network(Parameters& parameters, int64_t batch, int64_t height, int64_t width)
    : batch_(batch), height_(height), width_(width) {
  MAGCNN_REQUIRE(batch >= 1, "network batch must be at least 1, got " << batch);
  MAGCNN_REQUIRE(height >= NetworkSpec::kSideMultiple && width >= NetworkSpec::kSideMultiple &&
                     height % NetworkSpec::kSideMultiple == 0 && width % NetworkSpec::kSideMultiple == 0,
                 "the network takes maps whose sides are multiples of " << NetworkSpec::kSideMultiple << ", got " << height << " x "
                                                                      << width);
  impl_ = std::make_unique<Impl>(parameters, batch, height, width);
}

Network::~Network() = default;

namespace {
void check_input(const TensorView& x, const NetworkSpec& s, DType dtype, DeviceKind device, int64_t B, int64_t H, int64_t W) {
  MAGCNN_REQUIRE(x.dtype == dtype && x.device == device,
                 "network input is " << dtype_name(x.dtype) << " on the " << device_name(x.device) << ", the network runs "
                                     << dtype_name(dtype) << " on the " << device_name(device));
  MAGCNN_REQUIRE(x.shape == Shape({B, s.in_channels, H, W}),
                 "network input has shape " << x.shape.str() << ", expected [" << B << ", " << s.in_channels << ", " << H << ", " << W
                                            << "]");
}
}  // namespace

void Network::forward(const TensorView& x) {
  check_input(x, impl_->spec, impl_->dtype, impl_->backend.kind(), batch_, height_, width_);
  if (impl_->dtype == DType::F64) {
    impl_->forward<double>(x.as<double>());
  } else {
    impl_->forward<float>(x.as<float>());
  }
}

TensorView Network::output() const { return impl_->act.back().view(); }
TensorView Network::output_gradient() const { return impl_->grad.back().view(); }

void Network::backward(const TensorView& x) {
  check_input(x, impl_->spec, impl_->dtype, impl_->backend.kind(), batch_, height_, width_);
  if (impl_->dtype == DType::F64) {
    impl_->backward<double>(x.as<double>());
  } else {
    impl_->backward<float>(x.as<float>());
  }
}

std::string Network::describe_algorithms() const {
  std::string out;
  for (const auto& [key, plan] : impl_->plans) {
    const auto& [in, outc, k, level] = key;
    out += std::to_string(in) + "->" + std::to_string(outc) + " " + std::to_string(k) + "x" + std::to_string(k) + " at 1/" +
           std::to_string(1 << level) + ": " + plan->algorithm() + "\n";
  }
  return out;
}

}  // namespace magcnn
