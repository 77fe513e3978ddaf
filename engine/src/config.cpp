// TOML configuration through toml++ (header-only), checked key by key against the schema in config.h.
#include "magcnn/config.h"

#include "magcnn/network.h"

#include <cmath>
#include <filesystem>
#include <set>
#include <sstream>
#include <toml++/toml.h>

namespace magcnn {
namespace {

std::string number(double v) {
  std::ostringstream o;
  o << v;
  return o.str();
}

std::string where(const std::string& file, const toml::node& node) {
  std::ostringstream o;
  o << file << ":" << node.source().begin.line;
  return o.str();
}

// Reads one section, key by key; keys not read by the end are unknown.
class Section {
 public:
  Section(const std::string& file, const toml::table& root, const std::string& name) : file_(file), name_(name) {
    if (const toml::node* n = root.get(name)) {
      table_ = n->as_table();
      if (table_ == nullptr) throw InvalidInput(where(file, *n) + ": [" + name + "] must be a table");
    }
  }

  void read(const char* key, int64_t& out, int64_t lo, int64_t hi) {
    if (const toml::node* n = find(key)) {
      const auto v = n->value<int64_t>();
      if (!v || !n->is_integer()) throw InvalidInput(where(file_, *n) + ": " + name_ + "." + key + " must be an integer");
      if (*v < lo || *v > hi)
        throw InvalidInput(where(file_, *n) + ": " + name_ + "." + key + " = " + std::to_string(*v) + " is outside " +
                           std::to_string(lo) + ".." + std::to_string(hi));
      out = *v;
    }
  }
  void read(const char* key, uint64_t& out) {
    int64_t v = static_cast<int64_t>(out);
    read(key, v, 0, INT64_MAX);
    out = static_cast<uint64_t>(v);
  }
  void read(const char* key, double& out, double lo, double hi) {
    if (const toml::node* n = find(key)) {
      const auto v = n->value<double>();  // integers convert
      if (!v || !(n->is_floating_point() || n->is_integer()))
        throw InvalidInput(where(file_, *n) + ": " + name_ + "." + key + " must be a number");
      if (!(*v >= lo && *v <= hi))  // NaN fails too
        throw InvalidInput(where(file_, *n) + ": " + name_ + "." + key + " = " + number(*v) + " is outside " + number(lo) +
                           ".." + number(hi));
      out = *v;
    }
  }
  // A geometry value in SI units, checked as a flag or attribute would be.
  void read_geometry(const char* key, std::optional<double>& out) {
    if (const toml::node* n = find(key)) {
      double v = 0;
      read(key, v, -HUGE_VAL, HUGE_VAL);
      check_geometry_value(key, v, where(file_, *n) + ": " + name_ + "." + key);
      out = v;
    }
  }
  void read(const char* key, bool& out) {
    if (const toml::node* n = find(key)) {
      if (!n->is_boolean()) throw InvalidInput(where(file_, *n) + ": " + name_ + "." + key + " must be true or false");
      out = *n->value<bool>();
    }
  }
  void read(const char* key, std::string& out) {
    if (const toml::node* n = find(key)) {
      if (!n->is_string()) throw InvalidInput(where(file_, *n) + ": " + name_ + "." + key + " must be a string");
      out = *n->value<std::string>();
    }
  }
  // Parses a string key through `parse`, reporting the line on failure.
  template <class T, class Parse>
  void read_enum(const char* key, T& out, Parse parse) {
    if (const toml::node* n = find(key)) {
      std::string text;
      read(key, text);
      try {
        out = parse(text);
      } catch (const InvalidInput& e) {
        throw InvalidInput(where(file_, *n) + ": " + name_ + "." + key + ": " + e.what());
      }
    }
  }

  void reject_unknown() const {
    if (table_ == nullptr) return;
    for (const auto& [key, node] : *table_) {
      if (read_.count(std::string(key.str())) == 0)
        throw InvalidInput(where(file_, node) + ": unknown key '" + name_ + "." + std::string(key.str()) +
                           "' (see configs/seed.toml for the known keys)");
    }
  }

 private:
  const toml::node* find(const char* key) {
    read_.insert(key);
    return table_ == nullptr ? nullptr : table_->get(key);
  }
  std::string file_, name_;
  const toml::table* table_ = nullptr;
  std::set<std::string> read_;
};

}  // namespace

Config default_config() { return Config{}; }

Config load_config(const std::string& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status)) throw InvalidInput("config file " + path + " does not exist");
  if (!std::filesystem::is_regular_file(status))
    throw InvalidInput("config file " + path + " is " + (std::filesystem::is_directory(status) ? "a directory" : "not a regular file") +
                       ": give a TOML file such as configs/seed.toml");
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    std::ostringstream o;
    o << path << ":" << e.source().begin.line << ": " << e.description();
    throw InvalidInput(o.str());
  }
  Config c;
  c.source = path;
  const std::set<std::string> sections{"data", "forward", "network", "training"};
  for (const auto& [key, node] : root) {
    if (sections.count(std::string(key.str())) == 0)
      throw InvalidInput(where(path, node) + ": unknown section '" + std::string(key.str()) +
                         "' (known: data, forward, network, training)");
  }

  Section data(path, root, "data");
  GeneratorSettings& g = c.data;
  using L = GeneratorLimits;
  data.read("count", g.count, 1, L::kMaxCount);
  data.read("seed", g.seed);
  data.read("img_size", g.img_size, L::kMinImgSize, L::kMaxImgSize);
  data.read("finer_grid", g.finer_grid, 1, L::kMaxFinerGrid);
  data.read("rmax", g.rmax, L::kMinRmax, L::kMaxRmax);
  data.read("thickness_over_standoff", g.thickness_over_standoff, L::kMinThicknessOverStandoff, L::kMaxThicknessOverStandoff);
  data.read_enum("target", g.target, parse_target_kind);
  data.read_enum("method", g.method, parse_forward_method);
  data.read("batch", g.batch, 0, L::kMaxBatch);
  data.reject_unknown();

  Section forward(path, root, "forward");
  forward.read_enum("method", c.forward.method, parse_forward_method);
  forward.read_geometry("pixel_size_m", c.forward.pixel_size_m);
  forward.read_geometry("standoff_m", c.forward.standoff_m);
  forward.read_geometry("thickness_m", c.forward.thickness_m);
  forward.read_geometry("Ms_A_per_m", c.forward.Ms_A_per_m);
  forward.reject_unknown();

  Section network(path, root, "network");
  NetworkConfig& n = c.network;
  network.read("in_channels", n.in_channels, 1, 64);
  network.read("out_channels", n.out_channels, 1, 64);
  network.read("base_channels", n.base_channels, 1, 4096);
  network.read("depth", n.depth, 1, 64);
  network.read("kernel_size", n.kernel_size, 1, 31);
  const auto activation = [](const std::string& v) {
    parse_activation(v);  // throws, naming the known ones
    return v;
  };
  network.read_enum("activation", n.activation, activation);
  network.read_enum("output_activation", n.output_activation, activation);
  network.reject_unknown();

  Section training(path, root, "training");
  TrainingConfig& t = c.training;
  training.read("epochs", t.epochs, 1, int64_t{1} << 30);
  training.read("batch_size", t.batch_size, 1, int64_t{1} << 20);
  training.read("learning_rate", t.learning_rate, 1e-12, 1e3);
  training.read("validation_fraction", t.validation_fraction, 0.0, 0.99);
  training.read("target_loss", t.target_loss, 0.0, 1e30);
  training.read_enum("optimizer", t.optimizer, [](const std::string& v) {
    if (v != "adam") throw InvalidInput("unknown optimizer '" + v + "': magcnn trains with adam");
    return v;
  });
  training.read("seed", t.seed);
  training.read_enum("schedule", t.schedule, [](const std::string& v) {
    if (v != "constant" && v != "step" && v != "cosine")
      throw InvalidInput("unknown schedule '" + v + "': use constant, step or cosine");
    return v;
  });
  training.read("decay_epochs", t.decay_epochs, 1, int64_t{1} << 30);
  training.read("decay_gamma", t.decay_gamma, 1e-6, 1.0);
  training.read("weight_decay", t.weight_decay, 0.0, 1.0);
  training.read("beta1", t.beta1, 0.0, 0.999999);
  training.read("beta2", t.beta2, 0.0, 0.999999999);
  training.read("epsilon", t.epsilon, 1e-30, 1.0);
  training.read("fresh_data", t.fresh_data);
  training.read("validation_batch", t.validation_batch, 1, int64_t{1} << 20);
  training.reject_unknown();

  try {
    c.data.validate();
  } catch (const InvalidInput& e) {
    throw InvalidInput(path + ": [data] " + e.what());
  }
  try {
    NetworkSpec::from(c.network);
  } catch (const InvalidInput& e) {
    throw InvalidInput(path + ": [network] " + e.what());
  }
  return c;
}

std::string default_config_path() {
  namespace fs = std::filesystem;
  if (fs::exists("configs/seed.toml")) return "configs/seed.toml";
#ifdef MAGCNN_SOURCE_CONFIG
  if (fs::exists(MAGCNN_SOURCE_CONFIG)) return MAGCNN_SOURCE_CONFIG;
#endif
  return "";
}

}  // namespace magcnn
