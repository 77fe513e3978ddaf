// Model and history files in HDF5, through the wrapper in h5file.h.
#include "magcnn/model_io.h"

#include <cmath>
#include <sstream>

#include "config_keys.h"
#include "h5file.h"
#include "magcnn/atomic_output.h"

namespace magcnn {
namespace {

constexpr const char* kFormat = "magcnn model";
// Version 2: a model of another field component than Bz (data.field_axis). Such a model is written as
// version 2, so that a magcnn older than the axis refuses it rather than read it as a Bz model; every
// other model stays version 1, which both read.
constexpr int64_t kFormatVersion = 1, kFormatVersionAxis = 2;

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

// The model-file side of visit_config_keys: each key an attribute SECTION.KEY on the root ([forward],
// geometry defaults of magcnn-forward, is not part of a model).
struct AttributeWriter {
  h5::File& f;
  static std::string name(const char* sec, const char* key) { return std::string(sec) + "." + key; }
  void integer(const char* sec, const char* key, const int64_t& v, int64_t, int64_t) { f.set_attr("/", name(sec, key), v); }
  void number(const char* sec, const char* key, const double& v, double, double) { f.set_attr("/", name(sec, key), v); }
  void seed(const char* sec, const char* key, const uint64_t& v) { f.set_attr("/", name(sec, key), v); }
  void flag(const char* sec, const char* key, const bool& v) { f.set_attr("/", name(sec, key), int64_t{v ? 1 : 0}); }
  template <class Check>
  void text(const char* sec, const char* key, const std::string& v, Check) {
    f.set_attr("/", name(sec, key), v);
  }
  template <class T, class Parse, class Name>
  void choice(const char* sec, const char* key, const T& v, Parse, Name text_of) {
    if (std::string(sec) != "forward") f.set_attr("/", name(sec, key), std::string(text_of(v)));
  }
  void geometry(const char*, const char*, const std::optional<double>&) {}
};

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
    return finite(name, f.read<double>(name));
  }
  // The values of dataset `name`, each checked to be finite.
  std::vector<double> finite(const std::string& name, std::vector<double> v) const {
    for (std::size_t i = 0; i < v.size(); ++i)
      MAGCNN_REQUIRE(std::isfinite(v[i]), f.path() << ": dataset '" << name << "' holds " << v[i] << " at " << i << ": a damaged model");
    return v;
  }
};

// Reads every key of visit_config_keys from its attribute, checked against the key's range as the
// TOML reader checks it.
struct AttributeReader {
  const Reader& r;
  std::string path;
  static std::string name(const char* sec, const char* key) { return std::string(sec) + "." + key; }
  static std::string shown(double v) {
    std::ostringstream o;
    o << v;
    return o.str();
  }
  [[noreturn]] void outside(const std::string& attr, const std::string& value, const std::string& range) const {
    throw InvalidInput(path + ": model attribute '" + attr + "' = " + value + " is outside " + range + ": a damaged model file");
  }
  // Keys added after format version 1 keep their defaults in the files written before them.
  bool kept_default(const std::string& attr) const {
    static const char* const kAddedLater[] = {"data.field_axis",  "data.noise_rms",        "data.noise_background",
                                              "data.noise_tesla", "data.noise_Ms_A_per_m", "training.ensemble"};
    for (const char* later : kAddedLater)
      if (attr == later) return !r.f.has_attr("/", attr);
    return false;
  }
  void integer(const char* sec, const char* key, int64_t& v, int64_t lo, int64_t hi) {
    const std::string attr = name(sec, key);
    if (kept_default(attr)) return;
    v = r.integer(attr.c_str());
    if (v < lo || v > hi) outside(attr, std::to_string(v), std::to_string(lo) + ".." + std::to_string(hi));
  }
  void number(const char* sec, const char* key, double& v, double lo, double hi) {
    const std::string attr = name(sec, key);
    if (kept_default(attr)) return;
    v = r.number(attr.c_str());
    if (!(v >= lo && v <= hi)) outside(attr, shown(v), shown(lo) + ".." + shown(hi));
  }
  void seed(const char* sec, const char* key, uint64_t& v) { v = r.seed(name(sec, key).c_str()); }
  void flag(const char* sec, const char* key, bool& v) {
    const std::string attr = name(sec, key);
    const int64_t i = r.integer(attr.c_str());
    if (i != 0 && i != 1) outside(attr, std::to_string(i), "0 or 1");
    v = i == 1;
  }
  template <class Check>
  void text(const char* sec, const char* key, std::string& v, Check check) {
    if (kept_default(name(sec, key))) return;
    v = checked(name(sec, key), check);
  }
  template <class T, class Parse, class Name>
  void choice(const char* sec, const char* key, T& v, Parse parse, Name) {
    if (std::string(sec) != "forward") v = checked(name(sec, key), parse);
  }
  void geometry(const char*, const char*, std::optional<double>&) {}

 private:
  template <class Parse>
  auto checked(const std::string& attr, Parse parse) const {
    const std::string text = r.text(attr.c_str());
    try {
      return parse(text);
    } catch (const InvalidInput& e) {
      throw InvalidInput(path + ": model attribute '" + attr + "': " + e.what());
    }
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
    f.set_attr("/", "format_version", parse_field_axis(config.data.field_axis).is_z() ? kFormatVersion : kFormatVersionAxis);
    f.set_attr("/", "generator", std::string("magcnn-train ") + MAGCNN_VERSION);
    f.set_attr("/", "device", device);
    f.set_attr("/", "training.data", data);
    f.set_attr("/", "height", height);
    f.set_attr("/", "width", width);
    AttributeWriter writer{f};
    visit_config_keys(config, writer);
    f.set_attr("/", "data.source", config.source);
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
  MAGCNN_REQUIRE(version == kFormatVersion || version == kFormatVersionAxis,
                 path << ": model format version " << version << ", this magcnn reads " << kFormatVersion << " and " << kFormatVersionAxis);
  ModelFile m;
  m.device = f.attr_string("/", "device").value_or("");
  m.data = r.text("training.data");
  m.height = r.integer("height");
  m.width = r.integer("width");
  MAGCNN_REQUIRE(m.height >= NetworkSpec::kSideMultiple && m.width >= NetworkSpec::kSideMultiple && m.height <= (int64_t{1} << 20) &&
                     m.width <= (int64_t{1} << 20) && m.height % NetworkSpec::kSideMultiple == 0 &&
                     m.width % NetworkSpec::kSideMultiple == 0,
                 path << ": model attributes height x width = " << m.height << " x " << m.width
                      << " are not map sides the network takes (multiples of 4): a damaged model file");
  AttributeReader keys{r, path};
  visit_config_keys(m.config, keys);
  NetworkSpec spec;
  try {
    spec = NetworkSpec::from(m.config.network);
    m.config.data.validate();
  } catch (const InvalidInput& e) {
    throw InvalidInput(path + ": " + e.what());
  }
  m.config.source = path;

  TrainerState& s = m.state;
  s.epoch = r.integer("state.epoch");
  s.step_in_epoch = r.integer("state.step_in_epoch");
  s.adam_step = r.integer("state.adam_step");
  s.seconds = r.number("state.seconds");
  MAGCNN_REQUIRE(s.epoch >= 0 && s.step_in_epoch >= 0 && s.adam_step >= 0, path << ": negative training counters");
  // The parameters, by the names and shapes the file's own architecture gives them.
  m.tensors = parameter_layout(spec);
  for (const ParameterTensor& pt : m.tensors) {
    const std::string ds = "weights/" + pt.name;
    MAGCNN_REQUIRE(f.has(ds), path << ": no weight tensor '" << pt.name << "': a damaged model file");
    const std::vector<int64_t> dims = f.dims(ds);
    MAGCNN_REQUIRE(Shape(std::vector<int64_t>(dims.begin(), dims.begin() + std::min<std::size_t>(dims.size(), 4))) == pt.shape &&
                       dims.size() == static_cast<std::size_t>(pt.shape.rank()),
                   path << ": weight tensor '" << pt.name << "' does not have the shape " << pt.shape.str()
                        << " its network attributes give: a damaged model file");
    const std::vector<double> v = r.finite(ds, f.read<double>(ds));
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
