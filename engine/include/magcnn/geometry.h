// The geometry of a film and its sensor in SI units, the range in which magcnn computes its field
// exactly, and how a value is chosen from its sources (a flag, a file's attribute, the configuration).
#pragma once

#include <optional>
#include <string>

namespace magcnn {

// SI geometry of a film and its sensor. The field depends on the lengths only through d/h and t/h.
struct FilmGeometry {
  double pixel_size_m = 0;  // h
  double standoff_m = 0;    // d: sensor height above the film's top surface
  double thickness_m = 0;   // t
  double Ms_A_per_m = 0;    // saturation magnetization
  // Throws InvalidInput naming the first length that is not positive, an Ms outside GeometryLimits, or a
  // ratio d/h or t/h outside the range where the double-precision cell kernels are exact. Lengths may be
  // in any one unit here; values from users are checked as metres by check_geometry_value.
  void validate() const;
};

// What magcnn accepts. Lengths: metres, from a picometre to a metre (a value outside is almost always a
// unit mistake, nanometres given as metres). Ms: up to 1e8 A/m, fifty times that of any known magnet.
// Ratios: the cell kernels are checked against independent oracles (tests/test_cell_kernel.cpp) over
// d/h and t/h in these ranges; outside them they lose accuracy and, far outside, overflow to NaN.
struct GeometryLimits {
  static constexpr double kMinLength_m = 1e-12, kMaxLength_m = 1.0;
  static constexpr double kMaxMs_A_per_m = 1e8;
  static constexpr double kMinStandoffOverPixel = 1e-3, kMaxStandoffOverPixel = 1e5;
  static constexpr double kMinThicknessOverPixel = 1e-6, kMaxThicknessOverPixel = 1e5;
};

// Checks one value a user gave, by its key (pixel_size_m, standoff_m, thickness_m: metres within
// GeometryLimits; Ms_A_per_m); the message names `source` ("--standoff", "FILE: attribute standoff_m",
// "FILE:LINE: forward.standoff_m").
void check_geometry_value(const std::string& key, double value, const std::string& source);

// A value read from a file without trusting it: absent, present, or present but unusable (`problem` says
// why, naming the file and attribute).
struct AttributeValue {
  std::optional<double> value;
  std::string problem;
};

// One geometry value from its sources, in order: the flag when given; else the file's attribute (an
// unusable or out-of-range attribute is an error that the flag would have overridden); else the
// configuration's; else an error saying how to supply it. `file` names the input for messages.
double resolve_geometry_value(const std::string& key, const std::string& flag_name, const std::optional<double>& flag,
                              const AttributeValue& attribute, const std::optional<double>& config,
                              const std::string& file);

}  // namespace magcnn
