// magcnn-infer's files: field maps in three formats, predictions out (HDF5 through h5file.h).
#include "magcnn/inference_io.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "finite_checks.h"
#include "h5file.h"
#include "magcnn/array_formats.h"
#include "magcnn/atomic_output.h"
#include "magcnn/memory.h"

namespace magcnn {
namespace {

using detail::require_finite;
using detail::require_finite_maps;

// A field beyond this, in tesla, is not a stray field above a film (the strongest magnets give about
// 1 T at their surface): almost surely gauss or millitesla read as tesla.
constexpr double kMaxField_T = 100;

enum class Format { Hdf5, Npy, Png };

Format sniff_format(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  MAGCNN_REQUIRE(fs::exists(path, ec), path << ": no such file");
  MAGCNN_REQUIRE(fs::is_regular_file(path, ec), path << " is not a regular file: give an HDF5, .npy or PNG file of field maps");
  std::ifstream in(path, std::ios::binary);
  char head[8] = {};
  in.read(head, sizeof head);
  MAGCNN_REQUIRE(in.gcount() > 0 || in.good(), path << ": cannot be read");
  const auto starts = [&](const char* magic, std::size_t n) { return static_cast<std::size_t>(in.gcount()) >= n && std::memcmp(head, magic, n) == 0; };
  if (starts("\x89HDF\r\n\x1a\n", 8)) return Format::Hdf5;
  if (starts("\x93NUMPY", 6)) return Format::Npy;
  if (starts("\x89PNG\r\n\x1a\n", 8)) return Format::Png;
  throw InvalidInput(path + " is neither HDF5, NumPy .npy nor PNG (by its first bytes): magcnn-infer reads those three");
}

void set_shape(FieldMaps& m, const std::vector<int64_t>& dims, const std::string& what) {
  MAGCNN_REQUIRE(dims.size() == 2 || dims.size() == 3,
                 m.path << ": " << what << " has rank " << dims.size() << "; field maps are [H, W] or [N, H, W]");
  m.batched = dims.size() == 3;
  m.n = m.batched ? dims[0] : 1;
  m.ny = dims[dims.size() - 2];
  m.nx = dims[dims.size() - 1];
  MAGCNN_REQUIRE(m.n >= 1, m.path << ": " << what << " holds no maps");
  MAGCNN_REQUIRE(m.ny >= 2 && m.nx >= 2, m.path << ": " << what << " maps are " << m.ny << " x " << m.nx
                                                << " pixels; a map needs at least 2 x 2");
}

void read_training(FieldMaps& m) {
  TrainingSet s = read_training_set(m.path);
  m.format = "HDF5 training set";
  set_shape(m, {s.count, s.ny, s.nx}, "Bz");
  m.field = std::move(s.b);
  m.unit = MapUnit::Normalized;
  m.pixel_size_over_standoff = s.pixel_size_over_standoff;
  m.thickness_over_standoff = s.thickness_over_standoff;
  m.truth = std::move(s.m);
  m.truth_target = s.target;
  m.theta = std::move(s.theta);
  m.phi = std::move(s.phi);
  m.note = s.note;
}

void read_physical_hdf5(FieldMaps& m, const h5::File& f) {
  m.format = "HDF5";
  const auto dims = f.dims("Bz");
  set_shape(m, dims, "dataset Bz");
  m.field = f.read<float>("Bz");
  const auto attr = [&](const char* name) {
    AttributeValue v = f.attr_number("/", name);
    return v.value || !v.problem.empty() ? v : f.attr_number("Bz", name);
  };
  m.attributes = GeometryAttributes{attr("pixel_size_m"), attr("standoff_m"), attr("thickness_m"), attr("Ms_A_per_m")};
  std::optional<std::string> unit = f.attr_string("Bz", "unit");
  if (!unit) unit = f.attr_string("/", "unit");
  if (unit) {
    try {
      m.unit = parse_map_unit(*unit);
    } catch (const InvalidInput& e) {
      throw InvalidInput(m.path + ": attribute unit of Bz: " + e.what());
    }
    MAGCNN_REQUIRE(*m.unit != MapUnit::Normalized,
                   m.path << ": Bz has unit 'normalized' but the file is not a training set (no m, theta, phi from magcnn-generate)");
  }
  if (f.has("m")) {
    MAGCNN_REQUIRE(f.dims("m") == dims, m.path << ": the truth m has shape other than Bz's; it must match it");
    m.truth = f.read<float>("m");
    m.truth_target = f.attr_string("m", "target").value_or("shape");
    MAGCNN_REQUIRE(m.truth_target == "shape" || m.truth_target == "polar",
                   m.path << ": attribute target of m is '" << m.truth_target << "'; expected shape or polar");
  }
  if (f.has("theta") || f.has("phi")) {
    MAGCNN_REQUIRE(f.has("theta") && f.has("phi"), m.path << ": a direction needs both theta and phi");
    for (const char* name : {"theta", "phi"}) {
      const auto d = f.dims(name);
      MAGCNN_REQUIRE(d.size() == 1 && d[0] == m.n, m.path << ": " << name << " must be [" << m.n << "], one angle per map");
    }
    m.theta = f.read<double>("theta");
    m.phi = f.read<double>("phi");
    require_finite(m.theta.data(), m.n, m.path + ": theta", [](int64_t i) { return "map " + std::to_string(i); });
    require_finite(m.phi.data(), m.n, m.path + ": phi", [](int64_t i) { return "map " + std::to_string(i); });
  }
}

void read_npy_maps(FieldMaps& m) {
  RealArray a = read_npy(m.path);
  m.format = "NumPy";
  set_shape(m, a.shape, "the array");
  m.field.resize(a.values.size());
  for (std::size_t i = 0; i < a.values.size(); ++i) {
    // Finite doubles beyond float's range would become infinities: refuse them as such.
    MAGCNN_REQUIRE(!std::isfinite(a.values[i]) || std::fabs(a.values[i]) < 3e38,
                   m.path << ": value " << a.values[i] << " at index " << i << " does not fit a float");
    m.field[i] = static_cast<float>(a.values[i]);
  }
}

void read_png_map(FieldMaps& m, const FieldMapsOptions& options) {
  MAGCNN_REQUIRE(options.png_range_G,
                 m.path << " is a PNG image: give the field of its black and white with --range MIN MAX (gauss)");
  const auto [lo, hi] = *options.png_range_G;
  MAGCNN_REQUIRE(std::isfinite(lo) && std::isfinite(hi) && lo < hi,
                 "--range " << lo << " " << hi << ": MIN must be below MAX, both finite (gauss)");
  const GrayImage image = read_png_gray8(m.path);
  m.format = "PNG";
  set_shape(m, {image.height, image.width}, "the image");
  m.field.resize(image.pixels.size());
  for (std::size_t i = 0; i < image.pixels.size(); ++i)
    m.field[i] = static_cast<float>(lo + (hi - lo) * image.pixels[i] / 255.0);
  m.unit = MapUnit::Gauss;
}

}  // namespace

MapUnit parse_map_unit(const std::string& text) {
  if (text == "T") return MapUnit::Tesla;
  if (text == "G") return MapUnit::Gauss;
  if (text == "normalized") return MapUnit::Normalized;
  throw InvalidInput("unknown field unit '" + text + "': T (tesla), G (gauss) or normalized");
}

const char* map_unit_name(MapUnit u) {
  switch (u) {
    case MapUnit::Tesla: return "T";
    case MapUnit::Gauss: return "G";
    case MapUnit::Normalized: return "normalized";
  }
  return "?";
}

double tesla_per(MapUnit u) { return u == MapUnit::Gauss ? 1e-4 : 1.0; }

FieldMaps read_field_maps(const std::string& path, const FieldMapsOptions& options) {
  FieldMaps m;
  m.path = path;
  const Format format = sniff_format(path);
  MAGCNN_REQUIRE(format == Format::Png || !options.png_range_G, "--range is for PNG images; " << path << " is not one");
  if (format == Format::Hdf5) {
    bool training = false;
    {
      const h5::File f = h5::File::open(path);
      // A normalized Bz without its target m is not one of our training sets: read_physical_hdf5 says so.
      training = (f.has("mloc") && f.has("Theta")) ||
                 (f.has("Bz") && f.has("m") && f.attr_string("Bz", "unit").value_or("") == "normalized");
      MAGCNN_REQUIRE(f.has("Bz") || training, path << ": no dataset 'Bz' (field maps [H, W] or [N, H, W])");
      if (!training) read_physical_hdf5(m, f);
    }
    // A training set's own reader opens the file again: this one is closed first.
    if (training) read_training(m);
  } else if (format == Format::Npy) {
    read_npy_maps(m);
  } else {
    read_png_map(m, options);
  }
  require_finite_maps(m.field.data(), m.n * m.ny * m.nx, m.ny, m.nx, 0, path + ": the field");
  if (!m.truth.empty()) require_finite_maps(m.truth.data(), m.n * m.ny * m.nx, m.ny, m.nx, 0, path + ": the truth m");
  if (options.unit) {
    MAGCNN_REQUIRE(*options.unit != MapUnit::Normalized || m.unit == MapUnit::Normalized,
                   "--unit normalized is for training sets from magcnn-generate; " << path << " is not one");
    MAGCNN_REQUIRE(m.unit != MapUnit::Normalized || *options.unit == MapUnit::Normalized,
                   path << " is a training set (normalized field b); --unit " << map_unit_name(*options.unit) << " does not apply");
    m.unit = options.unit;
  }
  if (m.unit && *m.unit != MapUnit::Normalized) {
    const auto [lo, hi] = std::minmax_element(m.field.begin(), m.field.end());
    const double largest = std::max(std::fabs(double(*lo)), std::fabs(double(*hi))) * tesla_per(*m.unit);
    MAGCNN_REQUIRE(largest <= kMaxField_T, path << ": the field reaches " << largest << " T (read as "
                                                << map_unit_name(*m.unit) << "); a stray field above a film is far below "
                                                << kMaxField_T << " T: check the unit (--unit T|G)");
  }
  return m;
}

void write_predictions(const std::string& path, const PredictionFile& p, const std::vector<std::string>& inputs) {
  const int64_t plane = p.ny * p.nx;
  MAGCNN_REQUIRE(p.n >= 1 && p.ny >= 1 && p.nx >= 1 && (p.batched || p.n == 1) &&
                     static_cast<int64_t>(p.prediction.size()) == p.n * plane &&
                     (static_cast<int64_t>(p.residuals.size()) == p.n || !p.residual_note.empty()) && (p.mse.empty() || static_cast<int64_t>(p.mse.size()) == p.n),
                 "write_predictions: inconsistent sizes");
  require_finite_maps(p.prediction.data(), p.n * plane, p.ny, p.nx, 0, "the prediction");
  std::vector<double> rel(static_cast<std::size_t>(p.n)), theta(rel.size()), phi(rel.size()), scale(rel.size());
  std::vector<double> fitted(rel.size());  // 1: the direction was fitted, 0: known
  for (std::size_t i = 0; i < p.residuals.size(); ++i) {
    const ResidualReport& r = p.residuals[i];
    rel[i] = r.relative_l2;
    theta[i] = r.theta_rad;
    phi[i] = r.phi_rad;
    scale[i] = r.scale;
    fitted[i] = r.fitted ? 1 : 0;
  }
  if (p.residual_note.empty()) require_finite(rel.data(), p.n, "the physics residual", [](int64_t i) { return "map " + std::to_string(i); });
  if (!p.mse.empty()) require_finite(p.mse.data(), p.n, "the MSE against the truth", [](int64_t i) { return "map " + std::to_string(i); });

  AtomicOutput out(path, inputs, 4.0 * static_cast<double>(p.n * plane) + 1e5);
  h5::File f = h5::File::create(out.temporary(), out.path(), true);
  const std::string name = p.target == "polar" ? "theta" : "m";
  std::vector<int64_t> dims = p.batched ? std::vector<int64_t>{p.n, p.ny, p.nx} : std::vector<int64_t>{p.ny, p.nx};
  f.write(name, dims, p.prediction.data());
  f.set_attr(name, "unit", std::string(p.target == "polar" ? "rad" : "M/Ms"));
  f.set_attr(name, "definition", std::string(p.target == "polar" ? "polar angle of m inside the film, 0 outside"
                                                                  : "amplitude |m| = |M| / Ms"));
  const std::vector<int64_t> per_map{p.n};
  if (p.residual_note.empty()) {
    f.write("residual_relative_l2", per_map, rel.data());
    f.set_attr("residual_relative_l2", "definition",
               std::string("||Bz(prediction) - Bz(measured)|| / ||Bz(measured)||, exact forward model, input grid"));
    f.write("residual_theta_rad", per_map, theta.data());
    f.write("residual_phi_rad", per_map, phi.data());
    f.write("residual_scale", per_map, scale.data());
    f.write("residual_direction_fitted", per_map, fitted.data());
    f.set_attr("residual_direction_fitted", "definition",
               std::string("1: the direction was fitted to the field (least squares), 0: given by the input"));
  } else {
    f.set_attr("/", "residual", p.residual_note);
  }
  if (!p.mse.empty()) f.write("mse_truth", per_map, p.mse.data());

  f.set_attr("/", "format", std::string("magcnn predictions"));
  f.set_attr("/", "format_version", int64_t{1});
  f.set_attr("/", "input", p.input);
  f.set_attr("/", "input_format", p.input_format);
  f.set_attr("/", "input_unit", p.input_unit);
  f.set_attr("/", "model", p.model);
  f.set_attr("/", "model_settings", p.model_summary);
  f.set_attr("/", "resampling", p.resampling);
  f.set_attr("/", "target", p.target);
  if (p.physical) {
    f.set_attr("/", "pixel_size_m", p.geometry.pixel_size_m);
    f.set_attr("/", "standoff_m", p.geometry.standoff_m);
    f.set_attr("/", "thickness_m", p.geometry.thickness_m);
    f.set_attr("/", "Ms_A_per_m", p.geometry.Ms_A_per_m);
  } else {
    f.set_attr("/", "pixel_size_over_standoff", p.geometry.pixel_size_m);
    f.set_attr("/", "thickness_over_standoff", p.geometry.thickness_m);
  }
  f.set_attr("/", "program", std::string("magcnn-infer ") + MAGCNN_VERSION);
  f.close();
  out.commit();
}

}  // namespace magcnn
