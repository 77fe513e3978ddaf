// The seed's network (DESIGN.md section 3, after Tompson et al.): conv1, two 2 x 2 max-pools giving three
// resolutions, `depth` convolutions per resolution, the coarse branches upsampled (nearest) and summed
// with the full one, then conv3 (3 x 3), conv4 and conv5 (1 x 1). Fully convolutional: any H, W
// divisible by 4.
//
// Parameters (every weight and bias, in one flat buffer, gradients in another: Adam is one pass over a
// buffer, an all-reduce one call) are separate from a Network, which holds the activations, gradients
// and convolution plans for one batch size and map size: several Networks (a training batch, the last
// partial batch, a validation batch) share one Parameters. Float on both backends; double on the CPU
// for the gradient checks.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "magcnn/backend.h"
#include "magcnn/config.h"
#include "magcnn/tensor.h"

namespace magcnn {

struct NetworkSpec {
  int64_t in_channels = 1, out_channels = 1, base_channels = 32, depth = 1, kernel_size = 3;
  int activation = kern::kRelu, output_activation = kern::kRelu;
  // From the configuration's [network] section; throws InvalidInput on an unknown activation.
  static NetworkSpec from(const NetworkConfig& config);
  // Throws InvalidInput naming the first value out of range (channels >= 1, depth >= 1, kernel odd).
  void validate() const;
  // Maps must have sides divisible by this (two 2 x 2 pools).
  static constexpr int64_t kSideMultiple = 4;
};

int parse_activation(const std::string& name);  // "relu", "sigmoid", "identity"
const char* activation_name(int activation);

// One parameter tensor: "conv1.weight" [O, I, k, k] or "conv1.bias" [O], at `offset` in the flat buffers.
struct ParameterTensor {
  std::string name;
  Shape shape;
  int64_t offset = 0;
  int64_t count() const { return shape.numel(); }
};

// Every parameter tensor of a network, in the flat buffers' order: conv1, full.1.., half.1..,
// quarter.1.., conv3, conv4, conv5, each as NAME.weight then NAME.bias.
std::vector<ParameterTensor> parameter_layout(const NetworkSpec& spec);

class Parameters {
 public:
  Parameters(Backend& backend, const NetworkSpec& spec, DType dtype);
  const NetworkSpec& spec() const { return spec_; }
  DType dtype() const { return dtype_; }
  Backend& backend() const { return backend_; }
  const std::vector<ParameterTensor>& tensors() const { return tensors_; }
  int64_t count() const { return count_; }
  Tensor& values() { return values_; }
  Tensor& gradients() { return gradients_; }
  const Tensor& values() const { return values_; }
  const Tensor& gradients() const { return gradients_; }
  // Weights Glorot-uniform (limit sqrt(6 / (fan_in + fan_out)), fan = channels x k x k) from cuRAND's
  // Philox stream of `seed`, the same on every backend; biases zero.
  void initialize(uint64_t seed);
  // Host copies in the buffers' order, as double (checkpoints, tests).
  std::vector<double> download_values() const;
  void upload_values(const std::vector<double>& host);

 private:
  Backend& backend_;
  NetworkSpec spec_;
  DType dtype_;
  std::vector<ParameterTensor> tensors_;
  int64_t count_ = 0;
  Tensor values_, gradients_;
};

class Network {
 public:
  // Plans every convolution and allocates every buffer for `batch` maps of height x width.
  Network(Parameters& parameters, int64_t batch, int64_t height, int64_t width);
  ~Network();
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  int64_t batch() const { return batch_; }
  int64_t height() const { return height_; }
  int64_t width() const { return width_; }
  // x [batch, in_channels, H, W] of the parameters' dtype, on their backend. Allocation-free.
  void forward(const TensorView& x);
  // The last forward's output [batch, out_channels, H, W].
  TensorView output() const;
  // Where the caller writes dLoss/dOutput [batch, out_channels, H, W] before backward().
  TensorView output_gradient() const;
  // From output_gradient() to every parameter's gradient (overwritten, summed over the batch), using the
  // activations of the last forward on `x`. Allocation-free.
  void backward(const TensorView& x);
  // The convolution algorithms chosen, for people.
  std::string describe_algorithms() const;
  // About how many bytes a Network of this shape holds: activations, their gradients and the pooling
  // buffers exactly, plus the convolution plans' own buffers (workspaces, oneDNN's reordered copies),
  // counted as two more copies of each layer's input and output. Checked before allocating.
  static double memory_bytes(const NetworkSpec& spec, int64_t batch, int64_t height, int64_t width, DType dtype);

 private:
  struct Impl;
  int64_t batch_, height_, width_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace magcnn
