// TOML configuration through toml++ (header-only), checked key by key against the schema in config.h.
#include "magcnn/config.h"

#include "config_keys.h"
#include "magcnn/network.h"

#include <cmath>
#include <filesystem>
#include <map>
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

// The TOML side of visit_config_keys: each key read from its section.
struct TomlReader {
  std::map<std::string, Section> sections;
  Section& at(const char* name) { return sections.at(name); }
  void integer(const char* sec, const char* key, int64_t& v, int64_t lo, int64_t hi) { at(sec).read(key, v, lo, hi); }
  void number(const char* sec, const char* key, double& v, double lo, double hi) { at(sec).read(key, v, lo, hi); }
  void seed(const char* sec, const char* key, uint64_t& v) { at(sec).read(key, v); }
  void flag(const char* sec, const char* key, bool& v) { at(sec).read(key, v); }
  template <class Check>
  void text(const char* sec, const char* key, std::string& v, Check check) {
    at(sec).read_enum(key, v, check);
  }
  template <class T, class Parse, class Name>
  void choice(const char* sec, const char* key, T& v, Parse parse, Name) {
    at(sec).read_enum(key, v, parse);
  }
  void geometry(const char* sec, const char* key, std::optional<double>& v) { at(sec).read_geometry(key, v); }
};

}  // namespace

Config default_config() { return Config{}; }

std::string fit_network_to_target(NetworkConfig& network, TargetKind target) {
  std::string changed;
  const int64_t channels = target_channels(target);
  if (network.out_channels != channels) {
    changed = "out_channels " + std::to_string(network.out_channels) + " -> " + std::to_string(channels);
    network.out_channels = channels;
  }
  if (target == TargetKind::Vector && (network.output_activation == "relu" || network.output_activation == "sigmoid")) {
    changed += (changed.empty() ? "" : ", ") + ("output_activation " + network.output_activation + " -> identity (mx, my, mz are signed)");
    network.output_activation = "identity";
  }
  return changed;
}

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
    if (sections.count(std::string(key.str())) == 0 && key.str() != "example")
      throw InvalidInput(where(path, node) + ": unknown section '" + std::string(key.str()) +
                         "' (known: data, forward, network, training, example)");
  }
  {
    Section ex(path, root, "example");
    ExampleShape& e = c.example;
    ex.read("side_d", e.side_d, 1, 1e5);
    ex.read("semi_axis_a_d", e.semi_axis_a_d, 1e-3, 1e5);
    ex.read("semi_axis_b_d", e.semi_axis_b_d, 1e-3, 1e5);
    ex.read("tilt_deg", e.tilt_deg, -360, 360);
    ex.read("centre_x", e.centre_x, 0, 1);
    ex.read("centre_y", e.centre_y, 0, 1);
    ex.read("theta_deg", e.theta_deg, 0, 180);
    ex.read("phi_deg", e.phi_deg, -360, 360);
    ex.read("pixels_per_standoff", e.pixels_per_standoff, 1, 64);
    ex.reject_unknown();
  }

  // Every key of config_keys.h, read from its section; then each section's unread keys are unknown.
  TomlReader reader;
  for (const std::string& name : sections) reader.sections.emplace(name, Section(path, root, name));
  visit_config_keys(c, reader);
  for (const auto& [name, section] : reader.sections) section.reject_unknown();

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
