// The training loop over the backend: resident sets, device-side permutation, captured steps, Adam.
#include "magcnn/trainer.h"

#include <chrono>
#include <cmath>
#include <numeric>

#include "magcnn/memory.h"

namespace magcnn {

uint64_t epoch_seed(uint64_t seed, int64_t epoch, uint64_t stream) {
  uint64_t z = seed ^ (0x9E3779B97F4A7C15ull * (static_cast<uint64_t>(epoch) + 1)) ^ (0xD1B54A32D192ED03ull * (stream + 1));
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

TrainSettings TrainSettings::from(const TrainingConfig& c) {
  TrainSettings s;
  s.epochs = c.epochs;
  s.batch_size = c.batch_size;
  s.validation_batch = c.validation_batch;
  s.target_loss = c.target_loss;
  s.seed = c.seed;
  s.adam.learning_rate = c.learning_rate;
  s.adam.beta1 = c.beta1;
  s.adam.beta2 = c.beta2;
  s.adam.epsilon = c.epsilon;
  s.adam.weight_decay = c.weight_decay;
  s.adam.decay_epochs = c.decay_epochs;
  s.adam.decay_gamma = c.decay_gamma;
  s.adam.schedule = parse_schedule(c.schedule);
  return s;
}

int parse_schedule(const std::string& name) {
  if (name == "constant") return kern::kConstant;
  if (name == "step") return kern::kStepDecay;
  if (name == "cosine") return kern::kCosine;
  throw InvalidInput("unknown schedule '" + name + "': use constant, step or cosine");
}

namespace {
// Targets are magnetizations of magnitude up to 1 (or angles up to pi): a mean squared error above this
// means the weights have run away, whatever the loss does next.
constexpr double kDivergedMse = 1e6;
}

struct Trainer::Impl {
  Backend& backend;
  NetworkSpec spec;
  TrainSettings s;
  int64_t H, W, n_train, n_val, B, full_steps, tail, steps, Bv, val_full, val_tail;
  // Data parallelism: rank r of R takes its share of the samples of every full batch and of the last
  // partial one, and of the validation maps.
  Communicator* comm = nullptr;
  int R = 1, r = 0;
  RankShare batch_share, tail_share, val_share;
  Parameters params;
  Tensor x_train, t_train, x_val, t_val;
  Tensor xb, tb, xb_tail, tb_tail;
  std::unique_ptr<Network> net, net_tail, net_val, net_val_tail;
  int64_t redraws = 0;  // dead starts drawn again (redraw_if_dead)
  Tensor m, v, scalars, counters, loss_sums, val_sums, keys, order;
  Tensor out_squares;  // [n_val * out_channels]: the mean square of each validation output plane
  std::unique_ptr<SortPlan> sort;
  std::unique_ptr<StepGraph> step_full, step_tail, validation;
  std::function<void(int64_t)> refill;
  TrainerState st;

  Impl(Backend& b, const NetworkSpec& sp, const TrainSettings& settings, int64_t height, int64_t width, int64_t ntr, int64_t nv)
      : backend(b), spec(sp), s(settings), H(height), W(width), n_train(ntr), n_val(nv), params(b, sp, DType::F32) {
    MAGCNN_REQUIRE(n_train >= 1 && n_val >= 1, "training needs at least one training and one validation sample, got "
                                                    << n_train << " and " << n_val);
    MAGCNN_REQUIRE(s.batch_size >= 1 && s.batch_size <= n_train,
                   "batch size " << s.batch_size << " is larger than the training set (" << n_train << " samples)");
    MAGCNN_REQUIRE(n_train <= INT32_MAX, "training sets hold at most 2^31 - 1 samples");
    B = s.batch_size;
    full_steps = n_train / B;
    tail = n_train % B;
    steps = full_steps + (tail > 0 ? 1 : 0);
    comm = s.communicator;
    if (comm != nullptr) {
      R = comm->size();
      r = comm->rank();
    }
    // This rank's share of the validation maps (all of them alone).
    val_share = rank_share(n_val, r, R);
    Bv = std::min(s.validation_batch, std::max<int64_t>(val_share.count, 1));
    val_full = val_share.count / Bv;
    val_tail = val_share.count % Bv;
    s.adam.steps_per_epoch = steps;
    s.adam.total_steps = steps * s.epochs;
    batch_share = rank_share(B, r, R);
    tail_share = rank_share(tail, r, R);
    require_memory(memory_bytes(), backend.available_memory(),
                   "training on " + std::to_string(n_train) + " + " + std::to_string(n_val) + " maps of " + std::to_string(H) + " x " +
                       std::to_string(W) + " at batch " + std::to_string(B) + " (validation batch " + std::to_string(Bv) +
                       ", the sets held whole on the device)",
                   backend.kind() == DeviceKind::CPU ? "host" : "GPU");

    const int64_t ci = spec.in_channels, co = spec.out_channels;
    x_train = Tensor(b, DType::F32, Shape{n_train, ci, H, W});
    t_train = Tensor(b, DType::F32, Shape{n_train, co, H, W});
    x_val = Tensor(b, DType::F32, Shape{n_val, ci, H, W});
    t_val = Tensor(b, DType::F32, Shape{n_val, co, H, W});
    // A rank whose share of a batch is empty (more ranks than samples) has no network for it.
    if (batch_share.count > 0) {
      xb = Tensor(b, DType::F32, Shape{batch_share.count, ci, H, W});
      tb = Tensor(b, DType::F32, Shape{batch_share.count, co, H, W});
      net = std::make_unique<Network>(params, batch_share.count, H, W);
    }
    if (tail_share.count > 0) {
      xb_tail = Tensor(b, DType::F32, Shape{tail_share.count, ci, H, W});
      tb_tail = Tensor(b, DType::F32, Shape{tail_share.count, co, H, W});
      net_tail = std::make_unique<Network>(params, tail_share.count, H, W);
    }
    if (val_full > 0) net_val = std::make_unique<Network>(params, Bv, H, W);
    if (val_tail > 0) net_val_tail = std::make_unique<Network>(params, val_tail, H, W);
    m = Tensor(b, DType::F32, Shape{params.count()});
    v = Tensor(b, DType::F32, Shape{params.count()});
    scalars = Tensor(b, DType::F64, Shape{3});
    counters = Tensor(b, DType::I64, Shape{kern::kCounterCount});
    loss_sums = Tensor(b, DType::F64, Shape{steps});
    val_sums = Tensor(b, DType::F64, Shape{std::max<int64_t>(1, val_full + (val_tail > 0 ? 1 : 0))});
    val_sums.zero();
    out_squares = Tensor(b, DType::F64, Shape{std::max<int64_t>(1, val_share.count * spec.out_channels)});
    out_squares.zero();
    keys = Tensor(b, DType::F64, Shape{n_train});
    order = Tensor(b, DType::I32, Shape{n_train});
    sort = b.plan_sort(n_train);
    scalars.zero();

    // Everything runs once before it is captured, on zeroed data: libraries load their kernels lazily,
    // which a stream being captured must not do. The trainer's initialize() then resets what this touched.
    for (Tensor* t : {&x_train, &t_train, &x_val, &t_val}) t->zero();
    backend.run(kern::Iota{order.data<int32_t>()}, n_train);
    set_counters(0, 0);
    full_step();
    if (tail > 0) tail_step();
    validate_all();
    b.synchronize();
    if (s.use_graph) {
      step_full = b.capture([this] { full_step(); });
      if (tail > 0) step_tail = b.capture([this] { tail_step(); });
    }
    validation = b.capture([this] { validate_all(); });
  }

  // The sets, batch buffers, the four networks and the optimizer, before any of it is allocated.
  double memory_bytes() const {
    const double map = static_cast<double>(H) * static_cast<double>(W) * sizeof(float);
    const double per_sample = map * static_cast<double>(spec.in_channels + spec.out_channels);
    double bytes = per_sample * static_cast<double>(n_train + n_val + B + tail);
    bytes += Network::memory_bytes(spec, B, H, W, DType::F32) + Network::memory_bytes(spec, Bv, H, W, DType::F32);
    if (tail > 0) bytes += Network::memory_bytes(spec, tail, H, W, DType::F32);
    if (val_tail > 0) bytes += Network::memory_bytes(spec, val_tail, H, W, DType::F32);
    bytes += static_cast<double>(params.count()) * 4 * sizeof(float);  // values, gradients, moments
    bytes += static_cast<double>(n_train) * (sizeof(double) + sizeof(int32_t)) * 2;      // keys, order, sort scratch
    return bytes;
  }

  void full_step() { step(net.get(), xb, tb, batch_share.first, B); }
  void tail_step() { step(net_tail.get(), xb_tail, tb_tail, tail_share.first, tail); }

  // One training step on the batch at the device's step counter: this rank's share of it, from sample
  // `first` of the batch (n: null for an empty share), of a batch of `global` samples in all.
  void step(Network* n, const Tensor& x, const Tensor& t, int64_t first, int64_t global) {
    const int64_t per_x = spec.in_channels * H * W, per_t = spec.out_channels * H * W;
    const int64_t* c = counters.data<int64_t>();
    if (n != nullptr) {
      const int64_t count = x.shape()[0];
      backend.run(kern::GatherBatch<float>{x_train.data<float>(), order.data<int32_t>(), c, x.data<float>(), per_x, B, first},
                  count * per_x);
      backend.run(kern::GatherBatch<float>{t_train.data<float>(), order.data<int32_t>(), c, t.data<float>(), per_t, B, first},
                  count * per_t);
      n->forward(x.view());
      const TensorView y = n->output(), dy = n->output_gradient();
      // The mean over the whole batch, whichever rank holds a sample.
      backend.run(kern::MseGrad<float>{y.as<float>(), t.data<float>(), dy.as<float>(), 2.0f / static_cast<float>(global * per_t)},
                  count * per_t);
      backend.reduce(kern::SquaredErrorSum<float>{y.as<float>(), t.data<float>(), count, per_t, loss_sums.data<double>(), c, 0}, 1);
      n->backward(x.view());
    } else {
      params.gradients().zero();
    }
    // The flat gradient buffer summed over the ranks, in one all-reduce: every rank updates alike.
    if (R > 1) backend.sum_over_ranks(params.gradients().data<float>(), params.count(), *comm);
    int64_t* cm = counters.data<int64_t>();
    backend.run(kern::AdamScalars{s.adam, cm, scalars.data<double>()}, 1);
    backend.run(kern::AdamUpdate<float>{params.values().data<float>(), params.gradients().data<float>(), m.data<float>(),
                                        v.data<float>(), scalars.data<double>(), s.adam.beta1, s.adam.beta2, s.adam.epsilon,
                                        s.adam.weight_decay},
                params.count());
    backend.run(kern::AdvanceStep{cm}, 1);
  }

  void validate_all() {
    const int64_t per_t = spec.out_channels * H * W;
    const auto pass = [&](Network& n, int64_t first, int64_t slot) {
      const int64_t count = n.batch();
      const int64_t row = val_share.first + first;
      n.forward(x_val.view().slice(row, row + count));
      const TensorView target = t_val.view().slice(row, row + count);
      backend.reduce(kern::SquaredErrorSum<float>{n.output().as<float>(), target.as<float>(), count, per_t,
                                                  val_sums.data<double>(), nullptr, slot},
                     1);
      // Every output plane's mean square, for output_is_zero: a dead network is silent on every map.
      backend.reduce(kern::MapMeanSquare<float>{n.output().as<float>(), out_squares.data<double>() + first * spec.out_channels, H * W},
                     count * spec.out_channels);
    };
    for (int64_t j = 0; j < val_full; ++j) pass(*net_val, j * Bv, j);
    if (val_tail > 0) pass(*net_val_tail, val_full * Bv, val_full);
  }

  // The permutation of epoch e: Philox keys of the epoch's seed, sorted on the device.
  void shuffle(int64_t e) {
    backend.uniform_stream(epoch_seed(s.seed, e, kShuffleStream))->generate(keys.data<double>(), n_train);
    backend.run(kern::Iota{order.data<int32_t>()}, n_train);
    sort->sort(keys.data<double>(), order.data<int32_t>());
  }

  void set_counters(int64_t step_in_epoch, int64_t adam_step) {
    const int64_t host[kern::kCounterCount] = {step_in_epoch, adam_step};
    backend.upload(counters.data<int64_t>(), host, sizeof host);
  }
};

Trainer::Trainer(Backend& backend, const NetworkSpec& spec, const TrainSettings& settings, int64_t height, int64_t width,
                 int64_t n_train, int64_t n_validation)
    : impl_(std::make_unique<Impl>(backend, spec, settings, height, width, n_train, n_validation)) {
  initialize();
}

Trainer::~Trainer() = default;

Tensor& Trainer::train_inputs() { return impl_->x_train; }
Tensor& Trainer::train_targets() { return impl_->t_train; }
Tensor& Trainer::validation_inputs() { return impl_->x_val; }
Tensor& Trainer::validation_targets() { return impl_->t_val; }
Parameters& Trainer::parameters() { return impl_->params; }
const TrainSettings& Trainer::settings() const { return impl_->s; }
int64_t Trainer::steps_per_epoch() const { return impl_->steps; }
const std::vector<EpochRecord>& Trainer::history() const { return impl_->st.history; }
void Trainer::set_epoch_data(std::function<void(int64_t)> refill) { impl_->refill = std::move(refill); }

void Trainer::initialize() { initialize_weights(impl_->s.seed); }

void Trainer::initialize_weights(uint64_t weight_seed) {
  Impl& t = *impl_;
  t.params.initialize(weight_seed);
  t.m.zero();
  t.v.zero();
  t.st = TrainerState{};
  t.set_counters(0, 0);
}

RankShare Trainer::validation_share() const { return impl_->val_share; }

bool Trainer::output_is_zero() {
  Impl& t = *impl_;
  if (t.n_val == 0) return false;
  bool zero = true;
  const std::vector<double> squares = t.out_squares.to_host<double>();
  for (double v : squares)
    if (v != 0.0) zero = false;
  // Every rank looked at its share of the maps: silent on all of them, or alive.
  return t.R > 1 ? t.comm->all(zero) : zero;
}

int64_t Trainer::redraw_if_dead() {
  Impl& t = *impl_;
  if (!output_is_zero()) return 0;
  // Only a run that never learned is drawn again: one that died later keeps its last checkpoint.
  MAGCNN_REQUIRE(t.st.history.size() <= 1, "the network died in epoch " << t.st.history.back().epoch
                                                << ": its output became zero on every validation map, and no gradient passes an inactive "
                                                << "output ReLU, so it cannot learn again; training stopped with the previous epoch's "
                                                << "checkpoint kept (start again with a lower learning rate)");
  ++t.redraws;
  MAGCNN_REQUIRE(t.redraws <= kMaxRedraws, "the network's output became zero on every validation map in "
                                               << kMaxRedraws + 1 << " starts: it cannot learn from these data with these settings "
                                               << "(lower the learning rate, or check [network] output_activation and the data's scale)");
  initialize_weights(epoch_seed(t.s.seed, t.redraws, kRedrawStream));
  return t.redraws;
}

void Trainer::restore(const TrainerState& state) {
  Impl& t = *impl_;
  MAGCNN_REQUIRE(static_cast<int64_t>(state.adam_m.size()) == t.params.count() &&
                     static_cast<int64_t>(state.adam_v.size()) == t.params.count(),
                 "checkpoint: optimizer state of " << state.adam_m.size() << " values for " << t.params.count() << " parameters");
  MAGCNN_REQUIRE(state.step_in_epoch >= 0 && state.step_in_epoch < t.steps &&
                     static_cast<int64_t>(state.loss_sums.size()) == state.step_in_epoch,
                 "checkpoint: step " << state.step_in_epoch << " of an epoch of " << t.steps << " steps with "
                                     << state.loss_sums.size() << " loss sums (another batch size?)");
  t.m.upload(std::vector<float>(state.adam_m.begin(), state.adam_m.end()));
  t.v.upload(std::vector<float>(state.adam_v.begin(), state.adam_v.end()));
  t.st = state;
  t.set_counters(state.step_in_epoch, state.adam_step);
}

TrainerState Trainer::state() const {
  const Impl& t = *impl_;
  TrainerState out = t.st;
  const std::vector<float> m = t.m.to_host<float>(), v = t.v.to_host<float>();
  out.adam_m.assign(m.begin(), m.end());
  out.adam_v.assign(v.begin(), v.end());
  return out;
}

bool Trainer::run_epoch(const std::function<bool()>& stop, const std::function<void(int64_t, int64_t)>& progress) {
  Impl& t = *impl_;
  const auto start = std::chrono::steady_clock::now();
  const int64_t e = t.st.epoch, first = t.st.step_in_epoch;
  if (t.refill) t.refill(e);
  t.shuffle(e);
  t.set_counters(first, t.st.adam_step);
  if (t.R > 1) t.loss_sums.zero();  // a rank with an empty share of a step adds nothing to its sum
  if (first > 0) {
    // The checkpoint's sums are the ranks' total: rank 0 carries them, the others start from zero.
    const std::vector<double> prefix = t.r == 0 ? t.st.loss_sums : std::vector<double>(t.st.loss_sums.size(), 0.0);
    t.backend.upload(t.loss_sums.data<double>(), prefix.data(), sizeof(double) * prefix.size());
  }
  int64_t done = first;
  for (; done < t.steps; ++done) {
    bool stop_now = stop && stop();
    if (t.R > 1) stop_now = !t.comm->all(!stop_now);  // every rank stops at the same step, or none
    if (stop_now) break;
    if (!t.s.use_graph) {
      if (done < t.full_steps) {
        t.full_step();
      } else {
        t.tail_step();
      }
    } else {
      (done < t.full_steps ? t.step_full : t.step_tail)->replay();
    }
    if (progress) progress(done + 1, t.steps);
  }
  // The only read-back of the epoch: its loss sums (and the counters, for a checkpoint).
  std::vector<double> sums(static_cast<std::size_t>(t.steps));
  t.backend.download(sums.data(), t.loss_sums.data<double>(), sizeof(double) * sums.size());
  if (t.R > 1) t.comm->sum(sums.data(), t.steps);
  int64_t host_counters[kern::kCounterCount];
  t.backend.download(host_counters, t.counters.data<int64_t>(), sizeof host_counters);
  t.st.adam_step = host_counters[kern::kAdamStep];
  t.st.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (done < t.steps) {
    t.st.step_in_epoch = done;
    t.st.loss_sums.assign(sums.begin(), sums.begin() + done);
    return false;
  }
  const double values = static_cast<double>(t.n_train * t.spec.out_channels * t.H * t.W);
  EpochRecord r;
  r.epoch = e + 1;
  r.train_mse = std::accumulate(sums.begin(), sums.end(), 0.0) / values;
  r.validation_mse = validate();
  // A diverged run is stopped here, before anything records it: the last checkpoint stays as it was.
  MAGCNN_REQUIRE(std::isfinite(r.train_mse) && std::isfinite(r.validation_mse) && r.train_mse < kDivergedMse,
                 "training diverged in epoch " << r.epoch << " (train MSE " << r.train_mse << ", validation MSE "
                                                     << r.validation_mse
                                                     << "): lower the learning rate (--lr), or check the scale of the data");
  r.seconds = t.st.seconds - std::accumulate(t.st.history.begin(), t.st.history.end(), 0.0,
                                             [](double a, const EpochRecord& h) { return a + h.seconds; });
  t.st.history.push_back(r);
  t.st.epoch = e + 1;
  t.st.step_in_epoch = 0;
  t.st.loss_sums.clear();
  return true;
}

double Trainer::validate() {
  Impl& t = *impl_;
  t.validation->replay();
  std::vector<double> sums(static_cast<std::size_t>(t.val_sums.numel()));
  t.backend.download(sums.data(), t.val_sums.data<double>(), sizeof(double) * sums.size());
  double total = std::accumulate(sums.begin(), sums.end(), 0.0);
  if (t.R > 1) t.comm->sum(&total, 1);  // the ranks' shares of the validation maps
  return total / static_cast<double>(t.n_val * t.spec.out_channels * t.H * t.W);
}

std::string Trainer::describe() const {
  const Impl& t = *impl_;
  return std::to_string(t.params.count()) + " parameters; " + std::to_string(t.n_train) + " training and " +
         std::to_string(t.n_val) + " validation maps of " + std::to_string(t.H) + " x " + std::to_string(t.W) + "; " +
         std::to_string(t.steps) + " steps of " + std::to_string(t.B) + " per epoch" +
         (t.R > 1 ? "; data-parallel over " + std::to_string(t.R) + " processes (" + t.comm->describe() + "), this one taking " +
                        std::to_string(t.batch_share.count) + " of each batch"
                  : std::string()) +
         "\n" + (t.net ? t.net->describe_algorithms() : t.net_tail ? t.net_tail->describe_algorithms() : std::string());
}

}  // namespace magcnn
