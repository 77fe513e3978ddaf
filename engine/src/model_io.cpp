// Model and history files in HDF5, through the wrapper in h5file.h.
#include "magcnn/model_io.h"

#include <cmath>

#include "h5file.h"
#include "magcnn/atomic_output.h"

namespace magcnn {
namespace {

constexpr const char* kFormat = "magcnn model";
constexpr int64_t kFormatVersion = 1;

void write_vector(h5::File& f, const std::string& name, const std::vector<double>& v) {
  f.write(name, {static_cast<int64_t>(v.size())}, v.data());
}

// The history as four float64 datasets [E] under `prefix` ("" or "history/").
void write_history_datasets(h5::File& f, const std::string& prefix, const std::vector<EpochRecord>& history) {
  std::vector<double> epoch, train, validation, seconds;
  for (const EpochRecord& r : history) {
    epoch.push_back(static_cast<double>(r.epoch));
    train.push_back(r.train_mse);
    validation.push_back(r.validation_mse);
    seconds.push_back(r.seconds);
  }
  write_vector(f, prefix + "epoch", epoch);
  write_vector(f, prefix + "train_mse", train);
  write_vector(f, prefix + "validation_mse", validation);
  write_vector(f, prefix + "seconds", seconds);
}

void write_config(h5::File& f, const Config& c) {
  const NetworkConfig& n = c.network;
  f.set_attr("/", "network.in_channels", n.in_channels);
  f.set_attr("/", "network.out_channels", n.out_channels);
  f.set_attr("/", "network.base_channels", n.base_channels);
  f.set_attr("/", "network.depth", n.depth);
  f.set_attr("/", "network.kernel_size", n.kernel_size);
  f.set_attr("/", "network.activation", n.activation);
  f.set_attr("/", "network.output_activation", n.output_activation);
  const TrainingConfig& t = c.training;
  f.set_attr("/", "training.epochs", t.epochs);
  f.set_attr("/", "training.batch_size", t.batch_size);
  f.set_attr("/", "training.learning_rate", t.learning_rate);
  f.set_attr("/", "training.validation_fraction", t.validation_fraction);
  f.set_attr("/", "training.target_loss", t.target_loss);
  f.set_attr("/", "training.optimizer", t.optimizer);
  f.set_attr("/", "training.seed", t.seed);
  f.set_attr("/", "training.schedule", t.schedule);
  f.set_attr("/", "training.decay_epochs", t.decay_epochs);
  f.set_attr("/", "training.decay_gamma", t.decay_gamma);
  f.set_attr("/", "training.weight_decay", t.weight_decay);
  f.set_attr("/", "training.beta1", t.beta1);
  f.set_attr("/", "training.beta2", t.beta2);
  f.set_attr("/", "training.epsilon", t.epsilon);
  f.set_attr("/", "training.fresh_data", int64_t{t.fresh_data ? 1 : 0});
  f.set_attr("/", "training.validation_batch", t.validation_batch);
  const GeneratorSettings& d = c.data;
  f.set_attr("/", "data.count", d.count);
  f.set_attr("/", "data.seed", d.seed);
  f.set_attr("/", "data.img_size", d.img_size);
  f.set_attr("/", "data.finer_grid", d.finer_grid);
  f.set_attr("/", "data.rmax", d.rmax);
  f.set_attr("/", "data.thickness_over_standoff", d.thickness_over_standoff);
  f.set_attr("/", "data.target", std::string(target_kind_name(d.target)));
  f.set_attr("/", "data.method", std::string(forward_method_name(d.method)));
  f.set_attr("/", "data.source", c.source);
}

// Attribute readers that refuse what is absent or malformed, naming the file and attribute.
struct Reader {
  const h5::File& f;
  double number(const char* name) const {
    const std::optional<double> v = f.attr_double("/", name);
    MAGCNN_REQUIRE(v && std::isfinite(*v), f.path() << ": model attribute '" << name << "' is missing or not a finite number");
    return *v;
  }
  int64_t integer(const char* name) const {
    const double v = number(name);
    MAGCNN_REQUIRE(v == std::floor(v) && std::fabs(v) < 9e15, f.path() << ": model attribute '" << name << "' = " << v << " is not a whole number");
    return static_cast<int64_t>(v);
  }
  std::string text(const char* name) const {
    const std::optional<std::string> v = f.attr_string("/", name);
    MAGCNN_REQUIRE(v, f.path() << ": model attribute '" << name << "' is missing");
    return *v;
  }
  uint64_t seed(const char* name) const {
    const std::optional<uint64_t> v = f.attr_uint64("/", name);
    MAGCNN_REQUIRE(v, f.path() << ": model attribute '" << name << "' is missing");
    return *v;
  }
  std::vector<double> values(const std::string& name, int64_t expected) const {
    const std::vector<int64_t> d = f.dims(name);
    MAGCNN_REQUIRE(d.size() == 1 && (expected < 0 || d[0] == expected),
                   f.path() << ": dataset '" << name << "' must hold " << (expected < 0 ? std::string("a list of") : std::to_string(expected))
                            << " values");
    std::vector<double> v = f.read<double>(name);
    for (std::size_t i = 0; i < v.size(); ++i)
      MAGCNN_REQUIRE(std::isfinite(v[i]), f.path() << ": dataset '" << name << "' holds " << v[i] << " at " << i << ": a damaged model");
    return v;
  }
};

}  // namespace

void save_model(const std::string& path, const Config& config, const Parameters& parameters, const TrainerState& state,
                int64_t height, int64_t width, const std::string& device, const std::string& data) {
  // Nothing non-finite is written: a model that holds one was trained past a divergence (Adam's second
  // moment overflows float before the loss does), and no later reader could use it.
  const std::vector<double> values = parameters.download_values();
  const auto require_finite = [&](const std::vector<double>& v, const char* what) {
    for (std::size_t i = 0; i < v.size(); ++i)
      MAGCNN_REQUIRE(std::isfinite(v[i]), path << " not written: " << what << " " << i << " is " << v[i]
                                                << ": the training diverged; lower the learning rate (--lr), or check the scale of the data");
  };
  require_finite(values, "parameter");
  require_finite(state.adam_m, "Adam's first moment of parameter");
  require_finite(state.adam_v, "Adam's second moment of parameter");
  const double bytes = static_cast<double>(parameters.count()) * 12 + 1e5;
  AtomicOutput out(path, {}, bytes);
  {
    h5::File f = h5::File::create(out.temporary(), out.path(), true);
    f.set_attr("/", "format", std::string(kFormat));
    f.set_attr("/", "format_version", kFormatVersion);
    f.set_attr("/", "generator", std::string("magcnn-train ") + MAGCNN_VERSION);
    f.set_attr("/", "device", device);
    f.set_attr("/", "training.data", data);
    f.set_attr("/", "height", height);
    f.set_attr("/", "width", width);
    write_config(f, config);
    f.set_attr("/", "state.epoch", state.epoch);
    f.set_attr("/", "state.step_in_epoch", state.step_in_epoch);
    f.set_attr("/", "state.adam_step", state.adam_step);
    f.set_attr("/", "state.seconds", state.seconds);
    f.create_group("weights");
    for (const ParameterTensor& t : parameters.tensors()) {
      std::vector<int64_t> dims;
      for (int i = 0; i < t.shape.rank(); ++i) dims.push_back(t.shape[i]);
      const std::vector<float> v(values.begin() + t.offset, values.begin() + t.offset + t.count());
      f.write("weights/" + t.name, dims, v.data());
    }
    f.create_group("optimizer");
    write_vector(f, "optimizer/m", state.adam_m);
    write_vector(f, "optimizer/v", state.adam_v);
    write_vector(f, "optimizer/loss_sums", state.loss_sums);
    f.create_group("history");
    write_history_datasets(f, "history/", state.history);
    f.close();
  }
  out.commit(false);  // a checkpoint is what an interrupting signal asks for: finish it
}

ModelFile load_model(const std::string& path) {
  const h5::File f = h5::File::open(path);
  const Reader r{f};
  MAGCNN_REQUIRE(f.attr_string("/", "format").value_or("") == kFormat,
                 path << " is not a magcnn model file (no attribute format = '" << kFormat << "')");
  const int64_t version = r.integer("format_version");
  MAGCNN_REQUIRE(version == kFormatVersion, path << ": model format version " << version << ", this magcnn reads " << kFormatVersion);
  ModelFile m;
  m.device = f.attr_string("/", "device").value_or("");
  m.data = r.text("training.data");
  m.height = r.integer("height");
  m.width = r.integer("width");
  NetworkConfig& n = m.config.network;
  n.in_channels = r.integer("network.in_channels");
  n.out_channels = r.integer("network.out_channels");
  n.base_channels = r.integer("network.base_channels");
  n.depth = r.integer("network.depth");
  n.kernel_size = r.integer("network.kernel_size");
  n.activation = r.text("network.activation");
  n.output_activation = r.text("network.output_activation");
  try {
    NetworkSpec::from(n);
  } catch (const InvalidInput& e) {
    throw InvalidInput(path + ": " + e.what());
  }
  TrainingConfig& t = m.config.training;
  t.epochs = r.integer("training.epochs");
  t.batch_size = r.integer("training.batch_size");
  t.learning_rate = r.number("training.learning_rate");
  t.validation_fraction = r.number("training.validation_fraction");
  t.target_loss = r.number("training.target_loss");
  t.optimizer = r.text("training.optimizer");
  t.seed = r.seed("training.seed");
  t.schedule = r.text("training.schedule");
  t.decay_epochs = r.integer("training.decay_epochs");
  t.decay_gamma = r.number("training.decay_gamma");
  t.weight_decay = r.number("training.weight_decay");
  t.beta1 = r.number("training.beta1");
  t.beta2 = r.number("training.beta2");
  t.epsilon = r.number("training.epsilon");
  t.fresh_data = r.integer("training.fresh_data") != 0;
  t.validation_batch = r.integer("training.validation_batch");
  GeneratorSettings& d = m.config.data;
  d.count = r.integer("data.count");
  d.seed = r.seed("data.seed");
  d.img_size = r.integer("data.img_size");
  d.finer_grid = r.integer("data.finer_grid");
  d.rmax = r.number("data.rmax");
  d.thickness_over_standoff = r.number("data.thickness_over_standoff");
  d.target = parse_target_kind(r.text("data.target"));
  d.method = parse_forward_method(r.text("data.method"));
  m.config.source = path;

  TrainerState& s = m.state;
  s.epoch = r.integer("state.epoch");
  s.step_in_epoch = r.integer("state.step_in_epoch");
  s.adam_step = r.integer("state.adam_step");
  s.seconds = r.number("state.seconds");
  MAGCNN_REQUIRE(s.epoch >= 0 && s.step_in_epoch >= 0 && s.adam_step >= 0, path << ": negative training counters");
  // The parameters, by the names and shapes the file's own architecture gives them.
  m.tensors = parameter_layout(NetworkSpec::from(n));
  for (const ParameterTensor& pt : m.tensors) {
    const std::string ds = "weights/" + pt.name;
    MAGCNN_REQUIRE(f.has(ds), path << ": no weight tensor '" << pt.name << "': a damaged model file");
    const std::vector<int64_t> dims = f.dims(ds);
    MAGCNN_REQUIRE(Shape(std::vector<int64_t>(dims.begin(), dims.begin() + std::min<std::size_t>(dims.size(), 4))) == pt.shape &&
                       dims.size() == static_cast<std::size_t>(pt.shape.rank()),
                   path << ": weight tensor '" << pt.name << "' does not have the shape " << pt.shape.str()
                        << " its network attributes give: a damaged model file");
    const std::vector<double> v = f.read<double>(ds);
    for (const double x : v) MAGCNN_REQUIRE(std::isfinite(x), path << ": weight tensor '" << pt.name << "' holds " << x);
    m.values.insert(m.values.end(), v.begin(), v.end());
  }
  const int64_t offset = static_cast<int64_t>(m.values.size());
  s.adam_m = r.values("optimizer/m", offset);
  s.adam_v = r.values("optimizer/v", offset);
  s.loss_sums = r.values("optimizer/loss_sums", s.step_in_epoch);
  const std::vector<double> epoch = r.values("history/epoch", -1);
  const int64_t epochs = static_cast<int64_t>(epoch.size());
  const std::vector<double> train = r.values("history/train_mse", epochs), validation = r.values("history/validation_mse", epochs),
                            seconds = r.values("history/seconds", epochs);
  MAGCNN_REQUIRE(epochs == s.epoch, path << ": the history holds " << epochs << " epochs, the state says " << s.epoch);
  for (int64_t i = 0; i < epochs; ++i)
    s.history.push_back({static_cast<int64_t>(epoch[static_cast<std::size_t>(i)]), train[static_cast<std::size_t>(i)],
                         validation[static_cast<std::size_t>(i)], seconds[static_cast<std::size_t>(i)]});
  return m;
}

void load_parameters(const ModelFile& model, Parameters& parameters) {
  const std::vector<ParameterTensor>& want = parameters.tensors();
  MAGCNN_REQUIRE(want.size() == model.tensors.size(), model.config.source << " holds " << model.tensors.size()
                                                                            << " weight tensors, this network has " << want.size());
  for (std::size_t i = 0; i < want.size(); ++i)
    MAGCNN_REQUIRE(want[i].name == model.tensors[i].name && want[i].shape == model.tensors[i].shape,
                   model.config.source << ": weight tensor '" << model.tensors[i].name << "' has shape " << model.tensors[i].shape.str()
                                       << ", this network's '" << want[i].name << "' has " << want[i].shape.str()
                                       << " (a model of another architecture)");
  parameters.upload_values(model.values);
}

void write_history(const std::string& path, const std::vector<EpochRecord>& history) {
  AtomicOutput out(path, {}, 1e5 + 32.0 * static_cast<double>(history.size()));
  {
    h5::File f = h5::File::create(out.temporary(), out.path(), true);
    write_history_datasets(f, "", history);
    f.set_attr("/", "definition", std::string("mean squared error over pixels and samples; seconds of training per epoch"));
    f.close();
  }
  out.commit(false);  // kept with the checkpoint it describes
}

}  // namespace magcnn
