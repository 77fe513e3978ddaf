// Values a caller gave over the configuration (flags of the programs, keyword arguments in Python),
// applied and checked in one place so that both get the same checks and the same messages, each naming
// the option as its caller spells it.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "magcnn/field_noise.h"

namespace magcnn::app {

// "--noise-rms" as the caller spells it: the program's flag itself, Python's keyword noise_rms.
using Spelling = std::function<std::string(const std::string& flag)>;
inline std::string as_flag(const std::string& flag) { return flag; }

struct NoiseOverrides {
  std::optional<double> relative_rms, background, tesla_rms, Ms_A_per_m;
  bool any() const { return relative_rms || background || tesla_rms || Ms_A_per_m; }
};

// Sets the given levels in `noise`, checking each alone (the message names its option) and then the whole.
void apply_noise(const NoiseOverrides& given, NoiseSettings& noise, const Spelling& spell = as_flag);

}  // namespace magcnn::app
