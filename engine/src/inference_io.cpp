// magcnn-infer's files: field maps in three formats, predictions out (HDF5 through h5file.h).
#include "magcnn/inference_io.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "field_dataset.h"
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

void set_shape(FieldMapsInfo& m, const std::vector<int64_t>& dims, const std::string& what) {
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

}  // namespace

struct FieldMapsReader::Impl {
  FieldMapsInfo info;
  std::optional<h5::File> file;     // a physical HDF5 file, read row by row
  std::vector<float> field, truth;  // the others, read whole

  void open_training() {
    TrainingSet s = read_training_set(info.path);
    info.format = "HDF5 training set";
    set_shape(info, {s.count, s.ny, s.nx}, "the field");
    info.axis = s.axis;
    field = std::move(s.b);
    truth = std::move(s.m);
    info.unit = MapUnit::Normalized;
    info.pixel_size_over_standoff = s.pixel_size_over_standoff;
    info.thickness_over_standoff = s.thickness_over_standoff;
    info.has_truth = true;
    info.truth_target = s.target;
    info.truth_channels = s.channels;
    info.theta = std::move(s.theta);
    info.phi = std::move(s.phi);
    info.note = s.note;
  }

  void open_physical(h5::File f, const FieldDataset& field_set) {
    FieldMapsInfo& m = info;
    m.format = "HDF5";
    const std::string& field_name = m.field = field_set.name;
    m.axis = field_set.axis;
    const auto dims = f.dims(field_name);
    set_shape(m, dims, "dataset " + field_name);
    f.check_dataset(field_name);
    const auto attr = [&](const char* key) {
      AttributeValue v = f.attr_number("/", key);
      return v.value || !v.problem.empty() ? v : f.attr_number(field_name, key);
    };
    m.attributes = GeometryAttributes{attr("pixel_size_m"), attr("standoff_m"), attr("thickness_m"), attr("Ms_A_per_m")};
    std::optional<std::string> unit = f.attr_string(field_name, "unit");
    if (!unit) unit = f.attr_string("/", "unit");
    if (unit) {
      try {
        m.unit = parse_map_unit(*unit);
      } catch (const InvalidInput& e) {
        throw InvalidInput(m.path + ": attribute unit of " + field_name + ": " + e.what());
      }
      MAGCNN_REQUIRE(*m.unit != MapUnit::Normalized,
                     m.path << ": " << field_name << " has unit 'normalized' but the file is not a training set (it holds no target m)");
    }
    if (f.has("m")) {
      MAGCNN_REQUIRE(f.dims("m") == dims, m.path << ": the truth m has another shape than " << field_name << "; it must match it");
      f.check_dataset("m");
      m.has_truth = true;
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
    file.emplace(std::move(f));
  }

  void open_npy() {
    RealArray a = read_npy(info.path);
    info.format = "NumPy";
    set_shape(info, a.shape, "the array");
    field.resize(a.values.size());
    for (std::size_t i = 0; i < a.values.size(); ++i) {
      // Finite doubles beyond float's range would become infinities: refuse them as such.
      MAGCNN_REQUIRE(!std::isfinite(a.values[i]) || std::fabs(a.values[i]) < 3e38,
                     info.path << ": value " << a.values[i] << " at index " << i << " does not fit a float");
      field[i] = static_cast<float>(a.values[i]);
    }
  }

  void open_png(const FieldMapsOptions& options) {
    MAGCNN_REQUIRE(options.png_range_G,
                   info.path << " is a PNG image: give the field of its black and white with --range MIN MAX (gauss)");
    const auto [lo, hi] = *options.png_range_G;
    MAGCNN_REQUIRE(std::isfinite(lo) && std::isfinite(hi) && lo < hi,
                   "--range " << lo << " " << hi << ": MIN must be below MAX, both finite (gauss)");
    const GrayImage image = read_png_gray8(info.path);
    info.format = "PNG";
    set_shape(info, {image.height, image.width}, "the image");
    field.resize(image.pixels.size());
    for (std::size_t i = 0; i < image.pixels.size(); ++i) field[i] = static_cast<float>(lo + (hi - lo) * image.pixels[i] / 255.0);
    info.unit = MapUnit::Gauss;
  }
};

FieldMapsReader::FieldMapsReader(const std::string& path, const FieldMapsOptions& options) : impl_(std::make_unique<Impl>()) {
  Impl& r = *impl_;
  r.info.path = path;
  const Format format = sniff_format(path);
  MAGCNN_REQUIRE(format == Format::Png || !options.png_range_G, "--range is for PNG images; " << path << " is not one");
  if (format == Format::Hdf5) {
    h5::File f = h5::File::open(path);
    // A normalized field without its target m is not one of our training sets: open_physical says so.
    const std::optional<FieldDataset> field = find_field_dataset(f);
    const bool training = (f.has("mloc") && f.has("Theta")) ||
                          (field && f.has("m") && f.attr_string(field->name, "unit").value_or("") == "normalized");
    MAGCNN_REQUIRE(field || training, path << ": no dataset 'Bz' (nor Bx, By, Bnv: field maps [H, W] or [N, H, W])");
    if (training) {
      f.close();  // the training set's own reader opens it again
      r.open_training();
    } else {
      r.open_physical(std::move(f), *field);
    }
  } else if (format == Format::Npy) {
    r.open_npy();
  } else {
    r.open_png(options);
  }
  FieldMapsInfo& m = r.info;
  if (options.unit) {
    MAGCNN_REQUIRE(format != Format::Png || *options.unit == MapUnit::Gauss,
                   path << " is a PNG image: its --range is in gauss; --unit " << map_unit_name(*options.unit) << " does not apply");
    MAGCNN_REQUIRE(*options.unit != MapUnit::Normalized || m.unit == MapUnit::Normalized,
                   "--unit normalized is for training sets from magcnn-generate; " << path << " is not one");
    MAGCNN_REQUIRE(m.unit != MapUnit::Normalized || *options.unit == MapUnit::Normalized,
                   path << " is a training set (normalized field b); --unit " << map_unit_name(*options.unit) << " does not apply");
    m.unit = options.unit;
  }
}

FieldMapsReader::~FieldMapsReader() = default;

const FieldMapsInfo& FieldMapsReader::info() const { return impl_->info; }

void FieldMapsReader::read(int64_t first, int64_t count, float* field, float* truth) const {
  const Impl& r = *impl_;
  const FieldMapsInfo& m = r.info;
  MAGCNN_REQUIRE(first >= 0 && count >= 1 && first + count <= m.n, "FieldMapsReader::read: maps " << first << " + " << count << " of " << m.n);
  const int64_t plane = m.ny * m.nx, values = count * plane, truth_plane = plane * m.truth_channels;
  const bool want_truth = truth != nullptr && m.has_truth;
  if (r.file) {
    // An unbatched [H, W] map is read as its H rows.
    const int64_t row = m.batched ? first : 0, rows = m.batched ? count : m.ny;
    r.file->read_rows(m.field, row, rows, field);
    if (want_truth) r.file->read_rows("m", row, rows, truth);
  } else {
    std::copy(r.field.begin() + first * plane, r.field.begin() + (first + count) * plane, field);
    if (want_truth) std::copy(r.truth.begin() + first * truth_plane, r.truth.begin() + (first + count) * truth_plane, truth);
  }
  require_finite_maps(field, values, m.ny, m.nx, first, m.path + ": the field");
  if (want_truth) require_finite_maps(truth, values * m.truth_channels, m.ny, m.nx, first * m.truth_channels, m.path + ": the truth m");
  if (m.unit && *m.unit != MapUnit::Normalized) {
    for (int64_t i = 0; i < values; ++i) {
      const double tesla = std::fabs(double(field[i])) * tesla_per(*m.unit);
      MAGCNN_REQUIRE(tesla <= kMaxField_T, m.path << ": the field reaches " << tesla << " T (read as " << map_unit_name(*m.unit)
                                                  << ") at map " << first + i / plane << "; a stray field above a film is far below "
                                                  << kMaxField_T << " T: check the unit (--unit T|G)");
    }
  }
}

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

struct PredictionWriter::Impl {
  PredictionHeader header;
  int64_t channels = 1;  // datasets written: m or theta; mx, my, mz for the vector target
  AtomicOutput out;
  h5::File file;
  std::vector<h5::Appendable> maps, spreads;  // spreads: an ensemble's, one per map dataset
  std::vector<float> plane_stage;  // one channel of a batch, for the vector target's datasets
  int64_t written = 0;
  Impl(const std::string& path, const PredictionHeader& h, const std::vector<std::string>& inputs)
      : header(h),
        channels(target_channels(parse_target_kind(h.target))),
        out(path, inputs, 4.0 * static_cast<double>(channels * h.n * (h.ensemble > 1 ? 2 : 1)) * static_cast<double>(h.ny * h.nx) + 1e5),
        file(h5::File::create(out.temporary(), out.path(), true)) {}
};

PredictionWriter::PredictionWriter(const std::string& path, const PredictionHeader& h, const std::vector<std::string>& inputs) {
  MAGCNN_REQUIRE(h.n >= 1 && h.ny >= 1 && h.nx >= 1 && (h.batched || h.n == 1),
                 "a prediction file of " << h.n << " map(s) of " << h.ny << " x " << h.nx << (h.batched ? "" : ", unbatched"));
  impl_ = std::make_unique<Impl>(path, h, inputs);
  h5::File& f = impl_->file;
  const TargetKind target = parse_target_kind(h.target);
  const bool polar = target == TargetKind::Polar, vector = target == TargetKind::Vector;
  // The vector target as magnetization maps (mx, my, mz, the layout magcnn-forward reads); the others
  // as one dataset.
  const std::vector<std::string> names = vector ? std::vector<std::string>{"mx", "my", "mz"} : std::vector<std::string>{polar ? "theta" : "m"};
  MAGCNN_REQUIRE(h.ensemble >= 1, "a prediction of an ensemble of " << h.ensemble << " members");
  // Unbatched: the [ny, nx] map is appended as ny rows of nx values.
  const auto appendable = [&](const std::string& name) {
    return h.batched ? f.appendable(name, h5::Type::F32, {h.ny, h.nx}, false, h.n) : f.appendable(name, h5::Type::F32, {h.nx}, false, h.ny);
  };
  const std::string unit = polar ? "rad" : "M/Ms";
  for (const std::string& name : names) {
    impl_->maps.push_back(appendable(name));
    f.set_attr(name, "unit", unit);
    const std::string definition = polar ? "polar angle of m inside the film, 0 outside"
                                   : vector ? "component " + name.substr(1) + " of m = M / Ms"
                                            : "amplitude |m| = |M| / Ms";
    f.set_attr(name, "definition", h.ensemble > 1 ? definition + ", the mean over the ensemble's members" : definition);
    if (h.ensemble == 1) continue;
    impl_->spreads.push_back(appendable(name + "_spread"));
    f.set_attr(name + "_spread", "unit", unit);
    f.set_attr(name + "_spread", "definition", "standard deviation of " + name + " over the ensemble's members (population, per pixel)");
  }
  if (h.ensemble > 1) f.set_attr("/", "ensemble", h.ensemble);
  if (vector) f.set_attr("/", "unit", std::string("M/Ms"));
  f.set_attr("/", "format", std::string("magcnn predictions"));
  f.set_attr("/", "format_version", int64_t{1});
  f.set_attr("/", "input", h.input);
  f.set_attr("/", "input_format", h.input_format);
  f.set_attr("/", "input_unit", h.input_unit);
  f.set_attr("/", "model", h.model);
  f.set_attr("/", "model_settings", h.model_summary);
  f.set_attr("/", "resampling", h.resampling);
  f.set_attr("/", "target", h.target);
  if (h.physical) {
    f.set_attr("/", "pixel_size_m", h.geometry.pixel_size_m);
    f.set_attr("/", "standoff_m", h.geometry.standoff_m);
    f.set_attr("/", "thickness_m", h.geometry.thickness_m);
    f.set_attr("/", "Ms_A_per_m", h.geometry.Ms_A_per_m);
  } else {
    f.set_attr("/", "pixel_size_over_standoff", h.geometry.pixel_size_m);
    f.set_attr("/", "thickness_over_standoff", h.geometry.thickness_m);
  }
  f.set_attr("/", "program", std::string("magcnn-infer ") + MAGCNN_VERSION);
}

PredictionWriter::~PredictionWriter() = default;

void PredictionWriter::set_figure(const std::string& name, double value, const std::string& definition) {
  MAGCNN_REQUIRE(std::isfinite(value), "the prediction's " << name << " is " << value << ", not a number it can record");
  impl_->file.set_attr("/", name, value);
  impl_->file.set_attr("/", name + "_definition", definition);
}

void PredictionWriter::append(const float* prediction, int64_t count, const float* spread) {
  Impl& w = *impl_;
  const PredictionHeader& h = w.header;
  MAGCNN_REQUIRE(count >= 1 && w.written + count <= h.n, "prediction file of " << h.n << " maps: " << w.written << " written, " << count << " more given");
  MAGCNN_REQUIRE((spread != nullptr) == (h.ensemble > 1), "PredictionWriter::append: an ensemble's spread, and only an ensemble's");
  const int64_t plane = h.ny * h.nx;
  require_finite_maps(prediction, count * w.channels * plane, h.ny, h.nx, w.written * w.channels, "the prediction");
  if (spread) require_finite_maps(spread, count * w.channels * plane, h.ny, h.nx, w.written * w.channels, "the ensemble's spread");
  // Each channel of [count, channels, ny, nx] into its own dataset.
  const auto write = [&](const float* maps, std::vector<h5::Appendable>& datasets) {
    if (w.channels == 1) {
      datasets[0].append(maps, h.batched ? count : h.ny);
      return;
    }
    w.plane_stage.resize(static_cast<std::size_t>(count * plane));
    for (int64_t c = 0; c < w.channels; ++c) {
      for (int64_t i = 0; i < count; ++i) {
        const float* src = maps + (i * w.channels + c) * plane;
        std::copy(src, src + plane, w.plane_stage.begin() + i * plane);
      }
      datasets[static_cast<std::size_t>(c)].append(w.plane_stage.data(), h.batched ? count : h.ny);
    }
  };
  write(prediction, w.maps);
  if (spread) write(spread, w.spreads);
  w.written += count;
}

void PredictionWriter::publish() { impl_->out.rename_into_place(); }

void PredictionWriter::finish(const std::vector<ResidualReport>& residuals, const std::string& residual_note,
                              const std::vector<double>& mse) {
  Impl& w = *impl_;
  const int64_t n = w.header.n;
  MAGCNN_REQUIRE(w.written == n, "prediction file holds " << w.written << " of " << n << " maps");
  MAGCNN_REQUIRE((static_cast<int64_t>(residuals.size()) == n) != !residual_note.empty() &&
                     (mse.empty() || static_cast<int64_t>(mse.size()) == n),
                 "PredictionWriter::commit: " << residuals.size() << " residuals and " << mse.size() << " MSEs for " << n << " maps");
  h5::File& f = w.file;
  const std::vector<int64_t> per_map{n};
  const auto where = [](int64_t i) { return "map " + std::to_string(i); };
  if (residual_note.empty()) {
    std::vector<double> column[5];
    for (const ResidualReport& r : residuals) {
      column[0].push_back(r.relative_l2);
      column[1].push_back(r.theta_rad);
      column[2].push_back(r.phi_rad);
      column[3].push_back(r.scale);
      column[4].push_back(r.fitted ? 1.0 : 0.0);
    }
    const char* names[5] = {"residual_relative_l2", "residual_theta_rad", "residual_phi_rad", "residual_scale",
                            "residual_direction_fitted"};
    for (int c = 0; c < 5; ++c) {
      require_finite(column[c].data(), n, std::string("the physics residual's ") + names[c], where);
      f.write(names[c], per_map, column[c].data());
    }
    f.set_attr("residual_relative_l2", "definition",
               std::string("||Bz(prediction) - Bz(measured)|| / ||Bz(measured)||, exact forward model, input grid"));
    const std::string direction = w.header.target == "vector" ? "the direction of the map's summed predicted m"
                                  : w.header.target == "polar"  ? "theta: the mean predicted theta over the film; phi: given or fitted"
                                                                : "the uniform direction given by the input or fitted to the field";
    for (const char* angle : {"residual_theta_rad", "residual_phi_rad"}) f.set_attr(angle, "definition", direction);
    f.set_attr("residual_scale", "definition",
               std::string("fitted direction: |c| of the least-squares fit Bz ~ c . F (1 = the amplitude as predicted)"));
    f.set_attr("residual_direction_fitted", "definition",
               std::string("1: the direction was fitted to the field (least squares), 0: given by the input"));
  } else {
    f.set_attr("/", "residual", residual_note);
  }
  if (!mse.empty()) {
    require_finite(mse.data(), n, "the MSE against the truth", where);
    f.write("mse_truth", per_map, mse.data());
  }
  for (h5::Appendable& a : w.maps) a.close();
  for (h5::Appendable& a : w.spreads) a.close();
  f.close();
  w.out.flush();
}

}  // namespace magcnn
