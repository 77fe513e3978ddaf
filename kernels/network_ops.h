// Per-element steps of the network (DESIGN.md section 3) and of its training, written once for the CPU
// loops and the CUDA kernels: fused bias + activation and its gradient, 2 x 2 max-pooling with its
// argmax and gradient, nearest upsampling added into a finer map and its gradient, the MSE gradient,
// batch assembly, and the Adam update. Tensors are NCHW; weights are OIHW.
#pragma once

#include <cmath>

#include "hd.h"

namespace magcnn::kern {

enum Activation : int { kIdentity = 0, kRelu = 1, kSigmoid = 2 };

template <class T>
MAGCNN_HD T activate(T v, int act) {
  if (act == kRelu) return v > T(0) ? v : T(0);
  if (act == kSigmoid) return T(1) / (T(1) + static_cast<T>(exp(-v)));
  return v;
}

// The derivative written in terms of the output y = act(v), so that the pre-activation need not be kept.
template <class T>
MAGCNN_HD T activation_slope(T y, int act) {
  if (act == kRelu) return y > T(0) ? T(1) : T(0);
  if (act == kSigmoid) return y * (T(1) - y);
  return T(1);
}

// Ops over a [rows, cols] grid: at(row, col) is the whole body of one element; operator()(i) maps a flat
// index onto it (the CUDA grid-stride loop), while the CPU runs rows and, inside, columns, so that no
// element pays for a division (kernels/parallel_for.h). Upsampling and pooling sizes are powers of two
// (`shift`): their index arithmetic is shifts.

// y[n, c, p] = act(y[n, c, p] + bias[c]), in place on a convolution's output. Rows: n, c; columns: p.
template <class T>
struct BiasActivation {
  T* y;
  const T* bias;
  int64_t channels, cols;  // cols: the plane, H x W
  int act;
  MAGCNN_HD void at(int64_t row, int64_t col) const {
    T& v = y[row * cols + col];
    v = activate(v + bias[row % channels], act);
  }
  MAGCNN_HD void operator()(int64_t i) const { at(i / cols, i % cols); }
};

// dy *= act'(y), in place: the gradient with respect to the pre-activation.
template <class T>
struct ActivationGrad {
  T* dy;
  const T* y;
  int act;
  MAGCNN_HD void operator()(int64_t i) const { dy[i] *= activation_slope(y[i], act); }
};

// 2 x 2 max-pooling, stride 2, of planes [P, H, W] (H, W even) into [P, H/2, W/2], keeping for each output
// the window position of its maximum (0..3, row-major; the first on ties). Rows: output rows of all
// planes (output row `row` reads input rows 2 row and 2 row + 1); columns: output columns.
template <class T>
struct MaxPool2x2 {
  const T* x;
  T* y;
  unsigned char* argmax;
  int64_t cols;  // output width, W / 2
  MAGCNN_HD void at(int64_t row, int64_t col) const {
    const int64_t width = 2 * cols;
    const T* w = x + 2 * row * width + 2 * col;
    // The first maximum of the window, in arithmetic rather than branches: a branch on the data is
    // mispredicted half the time (the loop form took a quarter of the CPU's forward pass). On a tie the
    // earlier pixel wins, in each pair and between the pairs (max(p, q) is q only when p < q).
    const T a = w[0], b = w[1], c = w[width], d = w[width + 1];
    const int top_right = b > a, bottom_right = d > c;
    const T top = a < b ? b : a, bottom = c < d ? d : c;
    const int lower = top < bottom;
    y[row * cols + col] = top < bottom ? bottom : top;
    argmax[row * cols + col] = static_cast<unsigned char>(lower * (2 + bottom_right) + (1 - lower) * top_right);
  }
  MAGCNN_HD void operator()(int64_t i) const { at(i / cols, i % cols); }
};

// The pooling's gradient: each input pixel receives its window's output gradient if it was the maximum.
// Element = input pixel (rows: input rows of all planes; columns: input columns); written, or added to
// (`accumulate`) where the input also feeds another branch.
template <class T>
struct MaxPool2x2Grad {
  const T* dy;
  const unsigned char* argmax;
  T* dx;
  int64_t cols;  // input width
  bool accumulate;
  MAGCNN_HD void at(int64_t row, int64_t col) const {
    const int64_t out = (row >> 1) * (cols >> 1) + (col >> 1);
    const int position = static_cast<int>((row & 1) * 2 + (col & 1));
    const T g = argmax[out] == position ? dy[out] : T(0);
    T& d = dx[row * cols + col];
    d = accumulate ? d + g : g;
  }
  MAGCNN_HD void operator()(int64_t i) const { at(i / cols, i % cols); }
};

// fine[p, r, c] += coarse[p, r >> shift, c >> shift]: nearest-neighbour upsampling by 2^shift, added into
// a map. Rows: fine rows of all planes; columns: fine columns.
template <class T>
struct UpsampleAdd {
  const T* coarse;
  T* fine;
  int64_t cols;  // fine width
  int shift;
  MAGCNN_HD void at(int64_t row, int64_t col) const {
    fine[row * cols + col] += coarse[(row >> shift) * (cols >> shift) + (col >> shift)];
  }
  MAGCNN_HD void operator()(int64_t i) const { at(i / cols, i % cols); }
};

// Its gradient: each coarse pixel gathers, in a fixed order, the fine gradients it was copied to. Rows:
// coarse rows of all planes; columns: coarse columns.
template <class T>
struct UpsampleAddGrad {
  const T* dfine;
  T* dcoarse;
  int64_t cols;  // coarse width
  int shift;
  MAGCNN_HD void at(int64_t row, int64_t col) const {
    const int64_t f = int64_t{1} << shift, width = cols << shift;
    const T* d = dfine + (row << shift) * width + (col << shift);
    T sum = T(0);
    for (int64_t a = 0; a < f; ++a)
      for (int64_t b = 0; b < f; ++b) sum += d[a * width + b];
    dcoarse[row * cols + col] = sum;
  }
  MAGCNN_HD void operator()(int64_t i) const { at(i / cols, i % cols); }
};

// The gradient of the mean squared error over `count` values: dy = 2 (y - t) / count.
template <class T>
struct MseGrad {
  const T* y;
  const T* target;
  T* dy;
  T scale;  // 2 / count
  MAGCNN_HD void operator()(int64_t i) const { dy[i] = scale * (y[i] - target[i]); }
};

// Training counters kept on the device, so that a replayed step (a CUDA graph) reads the current step.
enum Counter : int { kStepInEpoch = 0, kAdamStep = 1, kCounterCount };

// A batch of samples gathered from a resident set in the order of a permutation: sample s of the batch
// is set sample order[first + s], first = counters[kStepInEpoch] * batch + offset. Rows: samples;
// columns: values of a sample.
template <class T>
struct GatherBatch {
  const T* set;
  const int32_t* order;
  const int64_t* counters;
  T* batch;
  int64_t cols, batch_size, offset;  // cols: values per sample
  MAGCNN_HD void at(int64_t s, int64_t k) const {
    const int64_t first = counters[kStepInEpoch] * batch_size + offset;
    batch[s * cols + k] = set[static_cast<int64_t>(order[first + s]) * cols + k];
  }
  MAGCNN_HD void operator()(int64_t i) const { at(i / cols, i % cols); }
};

// Advances the step counter within the epoch (one element).
struct AdvanceStep {
  int64_t* counters;
  MAGCNN_HD void operator()(int64_t) const { counters[kStepInEpoch] += 1; }
};

// Adam's hyper-parameters and learning-rate schedule (DESIGN.md section 3; Kingma & Ba with bias
// correction; decoupled weight decay as in AdamW).
enum Schedule : int { kConstant = 0, kStepDecay = 1, kCosine = 2 };
struct AdamSettings {
  double learning_rate = 1e-3, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8, weight_decay = 0;
  int schedule = kConstant;
  int64_t steps_per_epoch = 1, decay_epochs = 1;  // step decay: times gamma every decay_epochs
  double decay_gamma = 0.1;
  int64_t total_steps = 1;                         // cosine: from learning_rate to 0 over total_steps
};

// The learning rate of Adam step t (t >= 1).
MAGCNN_HD double scheduled_rate(const AdamSettings& s, int64_t t) {
  if (s.schedule == kStepDecay) {
    const int64_t epoch = (t - 1) / s.steps_per_epoch;
    return s.learning_rate * pow(s.decay_gamma, static_cast<double>(epoch / s.decay_epochs));
  }
  if (s.schedule == kCosine) {
    const double done = fmin(1.0, static_cast<double>(t - 1) / static_cast<double>(s.total_steps));
    return s.learning_rate * 0.5 * (1.0 + cos(3.14159265358979323846 * done));
  }
  return s.learning_rate;
}

// Scalars of one Adam step, computed on the device from its counter (one element): t += 1, the rate and
// the bias corrections. scalars: [rate, 1 - beta1^t, 1 - beta2^t].
struct AdamScalars {
  AdamSettings settings;
  int64_t* counters;
  double* scalars;
  MAGCNN_HD void operator()(int64_t) const {
    const int64_t t = counters[kAdamStep] + 1;
    counters[kAdamStep] = t;
    scalars[0] = scheduled_rate(settings, t);
    scalars[1] = 1.0 - pow(settings.beta1, static_cast<double>(t));
    scalars[2] = 1.0 - pow(settings.beta2, static_cast<double>(t));
  }
};

// One Adam update of parameter i: m, v moving averages; p -= rate * weight_decay * p (decoupled, on the
// old value, as AdamW), then p -= rate (m / c1) / (sqrt(v / c2) + epsilon).
template <class T>
struct AdamUpdate {
  T* param;
  const T* grad;
  T* m;
  T* v;
  const double* scalars;
  double beta1, beta2, epsilon, weight_decay;
  MAGCNN_HD void operator()(int64_t i) const {
    const double g = static_cast<double>(grad[i]);
    const double mi = beta1 * static_cast<double>(m[i]) + (1.0 - beta1) * g;
    const double vi = beta2 * static_cast<double>(v[i]) + (1.0 - beta2) * g * g;
    m[i] = static_cast<T>(mi);
    v[i] = static_cast<T>(vi);
    const double rate = scalars[0];
    double p = static_cast<double>(param[i]);
    p -= rate * weight_decay * p;
    p -= rate * (mi / scalars[1]) / (sqrt(vi / scalars[2]) + epsilon);
    param[i] = static_cast<T>(p);
  }
};

// The permutation of an epoch: order[i] = i, then sorted by a random key (backend sort).
struct Iota {
  int32_t* order;
  MAGCNN_HD void operator()(int64_t i) const { order[i] = static_cast<int32_t>(i); }
};

}  // namespace magcnn::kern
