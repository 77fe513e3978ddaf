// Geometry ranges and the precedence of its sources.
#include "magcnn/geometry.h"

#include <cmath>
#include <sstream>

#include "magcnn/error.h"

namespace magcnn {
namespace {

std::string number(double v) {
  std::ostringstream o;
  o.precision(6);
  o << v;
  return o.str();
}

}  // namespace

void check_geometry_value(const std::string& key, double value, const std::string& source) {
  using L = GeometryLimits;
  if (key == "Ms_A_per_m") {
    MAGCNN_REQUIRE(std::isfinite(value) && value > 0 && value <= L::kMaxMs_A_per_m,
                   source << ": Ms = " << number(value) << " A/m; the saturation magnetization must be positive and at most "
                          << number(L::kMaxMs_A_per_m) << " A/m");
    return;
  }
  const char* what = key == "pixel_size_m" ? "pixel size" : key == "standoff_m" ? "standoff" : "thickness";
  MAGCNN_REQUIRE(std::isfinite(value) && value > 0,
                 source << ": " << what << " = " << number(value) << " m; it must be a positive length in metres");
  MAGCNN_REQUIRE(value >= L::kMinLength_m && value <= L::kMaxLength_m,
                 source << ": " << what << " = " << number(value) << " m is outside " << number(L::kMinLength_m) << ".."
                        << number(L::kMaxLength_m) << " m (lengths are in metres: 50 nm is 5e-8)");
}

void FilmGeometry::validate() const {
  // Any unit of length will do here (the generator works in standoffs): only the ratios matter.
  const auto positive = [](double v) { return std::isfinite(v) && v > 0; };
  MAGCNN_REQUIRE(positive(pixel_size_m), "pixel size must be a positive length, got " << number(pixel_size_m));
  MAGCNN_REQUIRE(positive(standoff_m), "standoff must be a positive length, got " << number(standoff_m));
  MAGCNN_REQUIRE(positive(thickness_m), "thickness must be a positive length, got " << number(thickness_m));
  check_geometry_value("Ms_A_per_m", Ms_A_per_m, "geometry");
  using L = GeometryLimits;
  const double d = standoff_m / pixel_size_m, t = thickness_m / pixel_size_m;
  MAGCNN_REQUIRE(d >= L::kMinStandoffOverPixel && d <= L::kMaxStandoffOverPixel,
                 "standoff / pixel size = " << number(d) << " (" << number(standoff_m) << " m / " << number(pixel_size_m)
                                            << " m) is outside " << number(L::kMinStandoffOverPixel) << ".."
                                            << number(L::kMaxStandoffOverPixel)
                                            << ", the range in which magcnn's cell kernels are verified to full accuracy");
  MAGCNN_REQUIRE(t >= L::kMinThicknessOverPixel && t <= L::kMaxThicknessOverPixel,
                 "thickness / pixel size = " << number(t) << " (" << number(thickness_m) << " m / " << number(pixel_size_m)
                                             << " m) is outside " << number(L::kMinThicknessOverPixel) << ".."
                                             << number(L::kMaxThicknessOverPixel)
                                             << ", the range in which magcnn's cell kernels are verified to full accuracy");
}

double resolve_geometry_value(const std::string& key, const std::string& flag_name, const std::optional<double>& flag,
                              const AttributeValue& attribute, const std::optional<double>& config,
                              const std::string& file) {
  if (flag) {
    check_geometry_value(key, *flag, flag_name);
    return *flag;
  }
  if (!attribute.problem.empty()) throw InvalidInput(attribute.problem + "; pass " + flag_name + " to override it");
  if (attribute.value) {
    check_geometry_value(key, *attribute.value, file + ": attribute " + key);
    return *attribute.value;
  }
  if (config) return *config;  // checked, with its line, when the configuration was loaded
  throw InvalidInput(file + " has no attribute " + key + " and none was given: pass " + flag_name +
                     " (or set forward." + key + " in the configuration)");
}

}  // namespace magcnn
