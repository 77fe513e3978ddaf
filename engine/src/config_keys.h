// Every configuration key with its type and accepted range, listed once. The TOML reader (config.cpp)
// and the model file's writer and reader (model_io.cpp) walk this list, so a key cannot be known to one
// of them and forgotten by another, and a model file's values are checked as a configuration file's are.
//
// A visitor provides, each taking (section, key, value&, ...):
//   integer(.., int64_t&, lo, hi)    number(.., double&, lo, hi)    seed(.., uint64_t&)    flag(.., bool&)
//   text(.., std::string&, check)    choice(.., T&, parse, name)   geometry(.., std::optional<double>&)
// where check(text) and parse(text) throw InvalidInput for a value they do not know. A writer walks a
// const Config and takes the values by const reference.
#pragma once

#include <cstdint>
#include <string>

#include "magcnn/config.h"
#include "magcnn/network.h"
#include "magcnn/trainer.h"

namespace magcnn {

inline std::string check_activation(const std::string& v) {
  parse_activation(v);  // throws, naming the known ones
  return v;
}
inline std::string check_optimizer(const std::string& v) {
  if (v != "adam") throw InvalidInput("unknown optimizer '" + v + "': magcnn trains with adam");
  return v;
}
inline std::string check_field_axis(const std::string& v) {
  parse_field_axis(v);  // throws, saying what an axis is
  return v;
}
inline std::string check_schedule(const std::string& v) {
  parse_schedule(v);  // throws, naming the known ones
  return v;
}

template <class ConfigT, class Visitor>
void visit_config_keys(ConfigT& c, Visitor& v) {
  using L = GeneratorLimits;
  auto& g = c.data;
  v.integer("data", "count", g.count, 1, L::kMaxCount);
  v.seed("data", "seed", g.seed);
  v.integer("data", "img_size", g.img_size, L::kMinImgSize, L::kMaxImgSize);
  v.integer("data", "finer_grid", g.finer_grid, 1, L::kMaxFinerGrid);
  v.number("data", "rmax", g.rmax, L::kMinRmax, L::kMaxRmax);
  v.number("data", "thickness_over_standoff", g.thickness_over_standoff, L::kMinThicknessOverStandoff,
           L::kMaxThicknessOverStandoff);
  v.choice("data", "target", g.target, parse_target_kind, target_kind_name);
  v.choice("data", "method", g.method, parse_forward_method, forward_method_name);
  v.text("data", "field_axis", g.field_axis, check_field_axis);
  v.number("data", "noise_rms", g.noise.relative_rms, 0.0, NoiseSettings::kMaxLevel);
  v.number("data", "noise_background", g.noise.background, 0.0, NoiseSettings::kMaxLevel);
  v.number("data", "noise_tesla", g.noise.tesla_rms, 0.0, NoiseSettings::kMaxTesla);
  v.number("data", "noise_Ms_A_per_m", g.noise.Ms_A_per_m, 0.0, 1e8);
  v.integer("data", "batch", g.batch, 0, L::kMaxBatch);

  auto& f = c.forward;
  v.choice("forward", "method", f.method, parse_forward_method, forward_method_name);
  v.geometry("forward", "pixel_size_m", f.pixel_size_m);
  v.geometry("forward", "standoff_m", f.standoff_m);
  v.geometry("forward", "thickness_m", f.thickness_m);
  v.geometry("forward", "Ms_A_per_m", f.Ms_A_per_m);

  auto& n = c.network;
  v.integer("network", "in_channels", n.in_channels, 1, 64);
  v.integer("network", "out_channels", n.out_channels, 1, 64);
  v.integer("network", "base_channels", n.base_channels, 1, 4096);
  v.integer("network", "depth", n.depth, 1, 64);
  v.integer("network", "kernel_size", n.kernel_size, 1, 31);
  v.text("network", "activation", n.activation, check_activation);
  v.text("network", "output_activation", n.output_activation, check_activation);

  auto& t = c.training;
  v.integer("training", "epochs", t.epochs, 1, int64_t{1} << 30);
  v.integer("training", "batch_size", t.batch_size, 1, int64_t{1} << 20);
  v.number("training", "learning_rate", t.learning_rate, 1e-12, 1e3);
  v.number("training", "validation_fraction", t.validation_fraction, 0.0, 0.99);
  v.number("training", "target_loss", t.target_loss, 0.0, 1e30);
  v.text("training", "optimizer", t.optimizer, check_optimizer);
  v.seed("training", "seed", t.seed);
  v.text("training", "schedule", t.schedule, check_schedule);
  v.integer("training", "decay_epochs", t.decay_epochs, 1, int64_t{1} << 30);
  v.number("training", "decay_gamma", t.decay_gamma, 1e-6, 1.0);
  v.number("training", "weight_decay", t.weight_decay, 0.0, 1.0);
  v.number("training", "beta1", t.beta1, 0.0, 0.999999);
  v.number("training", "beta2", t.beta2, 0.0, 0.999999999);
  v.number("training", "epsilon", t.epsilon, 1e-30, 1.0);
  v.flag("training", "fresh_data", t.fresh_data);
  v.integer("training", "validation_batch", t.validation_batch, 1, int64_t{1} << 20);
  v.integer("training", "ensemble", t.ensemble, 1, 1000);
}

}  // namespace magcnn
