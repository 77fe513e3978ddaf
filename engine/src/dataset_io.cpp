// Training sets, magnetization maps and fields in HDF5, through the wrapper in h5file.h.
#include "magcnn/dataset_io.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "field_dataset.h"
#include "finite_checks.h"
#include "h5file.h"
#include "magcnn/memory.h"

namespace magcnn {
using detail::map_position;
using detail::precise;
using detail::require_finite;
using detail::require_finite_maps;
using detail::sample_position;

namespace {

constexpr double kPi = 3.14159265358979323846;

}  // namespace

// ---------------------------------------------------------------------------------------------------
// Training sets

struct TrainingSetWriter::Impl {
  AtomicOutput out;
  h5::File file;
  GeneratorSettings settings;
  std::string field;  // Bz, or the dataset of the settings' axis
  // Bz, m, then the stored parameters in kern::EllipseParam order (theta, phi, a, b, tilt, xc, yc).
  std::vector<h5::Appendable> columns;
  int64_t written = 0;
  // The field alone (the target compresses): a set that cannot fit on the disk is refused before any work.
  Impl(const std::string& path, const GeneratorSettings& s)
      : out(path, {}, static_cast<double>(s.count) * (4.0 * static_cast<double>(s.img_size * s.img_size) + 7 * 8)),
        file(h5::File::create(out.temporary(), out.path(), true)),
        settings(s) {}
};

TrainingSetWriter::TrainingSetWriter(const std::string& path, const GeneratorSettings& s, const std::string& device) {
  s.validate();
  impl_ = std::make_unique<Impl>(path, s);
  h5::File& f = impl_->file;
  const int64_t n = s.img_size;
  impl_->field = field_dataset_name(parse_field_axis(s.field_axis));
  impl_->columns.push_back(f.appendable(impl_->field, h5::Type::F32, {n, n}, false, s.count));
  // m: [N, n, n], or [N, 3, n, n] for the vector target; mostly zeros, so compressed.
  const std::vector<int64_t> m_row = s.target == TargetKind::Vector ? std::vector<int64_t>{3, n, n} : std::vector<int64_t>{n, n};
  impl_->columns.push_back(f.appendable("m", h5::Type::F32, m_row, true, s.count));
  for (const char* name : {"theta", "phi", "ellipse_a", "ellipse_b", "ellipse_tilt", "ellipse_xc", "ellipse_yc"})
    impl_->columns.push_back(f.appendable(name, h5::Type::F64, {}, false, s.count));
  f.set_attr("/", "format", std::string("magcnn training set"));
  f.set_attr("/", "format_version", int64_t{1});
  f.set_attr("/", "count", s.count);
  f.set_attr("/", "seed", s.seed);
  f.set_attr("/", "img_size", s.img_size);
  f.set_attr("/", "finer_grid", s.finer_grid);
  f.set_attr("/", "rmax_over_standoff", s.rmax);
  f.set_attr("/", "pixel_size_over_standoff", 1.0);
  f.set_attr("/", "thickness_over_standoff", s.thickness_over_standoff);
  f.set_attr("/", "target", std::string(target_kind_name(s.target)));
  f.set_attr("/", "forward_model", std::string(forward_method_name(s.method)));
  f.set_attr("/", "noise_rms", s.noise.relative_rms);
  f.set_attr("/", "noise_background", s.noise.background);
  f.set_attr("/", "noise_tesla", s.noise.tesla_rms);
  f.set_attr("/", "noise_Ms_A_per_m", s.noise.Ms_A_per_m);
  f.set_attr("/", "random", std::string("cuRAND Philox4x32-10, 7 uniform doubles per sample"));
  f.set_attr("/", "device", device);
  f.set_attr("/", "generator", std::string("magcnn-generate ") + MAGCNN_VERSION);
  f.set_attr("/", "lengths", std::string("in units of the standoff d; one network pixel = d; centres relative to the map centre"));
}

TrainingSetWriter::~TrainingSetWriter() = default;

void TrainingSetWriter::append(const SampleBatch& batch) {
  Impl& w = *impl_;
  const int64_t n = batch.count, side = w.settings.img_size, maps = n * side * side;
  const int64_t targets = maps * target_channels(w.settings.target);
  MAGCNN_REQUIRE(n >= 0 && w.written + n <= w.settings.count,
                 "training set of " << w.settings.count << " samples: " << w.written << " written, " << n << " more given");
  MAGCNN_REQUIRE(static_cast<int64_t>(batch.b.size()) == maps && static_cast<int64_t>(batch.target.size()) == targets &&
                     static_cast<int64_t>(batch.params.size()) == n * kStoredEllipseParams,
                 "a batch of " << n << " samples holds " << batch.b.size() << " field values, " << batch.target.size()
                               << " target values and " << batch.params.size() << " parameters");
  require_finite_maps(batch.b.data(), maps, side, side, w.written, "generated field b");
  require_finite_maps(batch.target.data(), targets, side, side, w.written * target_channels(w.settings.target), "generated target");
  require_finite(batch.params.data(), n * kStoredEllipseParams, "generated ellipse parameters",
                 [&](int64_t i) { return sample_position(i, kStoredEllipseParams, w.written); });
  w.columns[0].append(batch.b.data(), n);
  w.columns[1].append(batch.target.data(), n);
  std::vector<double> column(static_cast<std::size_t>(n));
  for (int j = 0; j < kStoredEllipseParams; ++j) {
    for (int64_t i = 0; i < n; ++i) column[static_cast<std::size_t>(i)] = batch.params[static_cast<std::size_t>(i * kStoredEllipseParams + j)];
    w.columns[static_cast<std::size_t>(2 + j)].append(column.data(), n);
  }
  w.written += n;
}

void TrainingSetWriter::commit() {
  Impl& w = *impl_;
  MAGCNN_REQUIRE(w.written == w.settings.count, "training set holds " << w.written << " of " << w.settings.count << " samples");
  const FieldAxis axis = parse_field_axis(w.settings.field_axis);
  w.file.set_attr(w.field, "unit", std::string("normalized"));
  w.file.set_attr(w.field, "definition", std::string(axis.is_z() ? "b = Bz" : "b = (B . u)") + " 2 d / (mu0 Ms t), " +
                                             forward_method_name(w.settings.method) +
                                             (w.settings.method == ForwardMethod::Exact ? " cell-kernel model" : " transfer-function model"));
  for (const std::string& object : {std::string("/"), w.field})
    w.file.set_attr(object, "field_axis", std::vector<double>{axis.x, axis.y, axis.z});
  w.file.set_attr("m", "target", std::string(target_kind_name(w.settings.target)));
  if (w.settings.target == TargetKind::Vector)
    w.file.set_attr("m", "definition", std::string("m = M / Ms, [N, 3, H, W]: channels mx, my, mz"));
  for (h5::Appendable& c : w.columns) c.close();  // datasets before the file, each checked
  w.file.close();
  w.out.commit();
}

namespace {

// One value per sample ([N] or [N, 1]), its length checked before anything is read.
std::vector<double> read_per_sample(const h5::File& f, const std::string& name, int64_t count) {
  const int64_t values = checked_product(f.dims(name), f.path() + ": dataset '" + name + "'");
  MAGCNN_REQUIRE(values == count,
                 f.path() << ": dataset '" << name << "' holds " << values << " values; it must hold one per sample (" << count << ")");
  std::vector<double> v = f.read<double>(name);
  require_finite(v.data(), count, f.path() + ": " + name, [](int64_t i) { return sample_position(i, 1, 0); });
  return v;
}

TrainingSet read_original_layout(const h5::File& f) {
  TrainingSet s;
  const auto bz_dims = f.dims("Bz"), m_dims = f.dims("mloc");
  MAGCNN_REQUIRE(bz_dims.size() == 2 && m_dims == bz_dims,
                 f.path() << ": the original layout needs Bz and mloc of one shape [N, Np*Np]");
  MAGCNN_REQUIRE(bz_dims[0] >= 1 && bz_dims[1] >= 1, f.path() << ": the training set holds no samples");
  const auto side = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(bz_dims[1]))));
  MAGCNN_REQUIRE(side * side == bz_dims[1], f.path() << ": Bz rows of " << bz_dims[1] << " values are not square maps");
  s.count = bz_dims[0];
  s.ny = s.nx = side;
  // The seed stored -Bz d^3 / (1e-7 t Ms) with d = 10 nm; b = Bz 2d / (mu0 Ms t) = -stored / (2 pi d^2).
  const double d = 10e-9, to_b = -1.0 / (2.0 * kPi * d * d);
  const int64_t values = checked_product({s.count, side, side}, f.path() + ": Bz");
  {
    const auto bz = f.read<double>("Bz");
    require_finite_maps(bz.data(), values, side, side, 0, f.path() + ": Bz");
    s.b.resize(bz.size());
    for (std::size_t i = 0; i < bz.size(); ++i) s.b[i] = static_cast<float>(to_b * bz[i]);
    require_finite_maps(s.b.data(), values, side, side, 0, f.path() + ": Bz as normalized field");
  }
  s.m = f.read<float>("mloc");
  require_finite_maps(s.m.data(), values, side, side, 0, f.path() + ": mloc");
  s.theta = read_per_sample(f, "Theta", s.count);
  s.phi = read_per_sample(f, "Phi", s.count);
  s.target = "shape";
  s.layout = "MagneticCNN (original)";
  // linspace(-16 d, 16 d, 4 * 32) sampled every 4th point: a network pixel of 4 x 32 d / 127.
  s.pixel_size_over_standoff = 4.0 * static_cast<double>(side) / (4.0 * static_cast<double>(side) - 1.0);
  s.thickness_over_standoff = 0.1;
  s.note = "its Bz was computed by the original MagneticCNN forward model (finite differences, periodic "
           "convolution, x and y derivatives swapped in the divergence), which differs from magcnn's exact "
           "model by about 11% (median relative L2) on its own shapes and 46% as written";
  return s;
}

double positive_attr(const h5::File& f, const char* name, double fallback) {
  const std::optional<double> v = f.attr_double("/", name);
  if (!v) return fallback;
  MAGCNN_REQUIRE(std::isfinite(*v) && *v > 0, f.path() << ": attribute " << name << " = " << *v << "; it must be positive");
  return *v;
}

TrainingSet read_magcnn_layout(const h5::File& f) {
  TrainingSet s;
  const FieldDataset field = *find_field_dataset(f);
  const std::string& name = field.name;
  s.axis = field.axis;
  const auto dims = f.dims(name);
  MAGCNN_REQUIRE(dims.size() == 3, f.path() << ": " << name << " must be [N, H, W], has rank " << dims.size());
  MAGCNN_REQUIRE(dims[0] >= 1 && dims[1] >= 1 && dims[2] >= 1, f.path() << ": the training set holds no samples (" << name << " is "
                                                                        << dims[0] << " x " << dims[1] << " x " << dims[2] << ")");
  MAGCNN_REQUIRE(f.has("m"), f.path() << ": no dataset 'm' (the target), which a training set needs beside " << name);
  s.target = f.attr_string("/", "target").value_or("shape");
  MAGCNN_REQUIRE(s.target == "shape" || s.target == "polar" || s.target == "vector",
                 f.path() << ": attribute target = '" << s.target << "'; it must be 'shape', 'polar' or 'vector'");
  s.channels = target_channels(parse_target_kind(s.target));
  const auto m_dims = f.dims("m");
  if (s.channels == 1) {
    MAGCNN_REQUIRE(m_dims == dims, f.path() << ": m must have " << name << "'s shape [" << dims[0] << ", " << dims[1] << ", " << dims[2] << "]");
  } else {
    MAGCNN_REQUIRE(m_dims == (std::vector<int64_t>{dims[0], 3, dims[1], dims[2]}),
                   f.path() << ": a vector target m must be [" << dims[0] << ", 3, " << dims[1] << ", " << dims[2] << "] (mx, my, mz beside "
                            << name << ")");
  }
  s.count = dims[0];
  s.ny = dims[1];
  s.nx = dims[2];
  const int64_t values = checked_product({s.count, s.ny, s.nx}, f.path() + ": " + name);
  const std::string unit = f.attr_string(name, "unit").value_or("normalized");
  MAGCNN_REQUIRE(unit == "normalized", f.path() << ": a training set's " << name << " must be normalized, this one is in '" << unit << "'");
  s.pixel_size_over_standoff = positive_attr(f, "pixel_size_over_standoff", 1.0);
  // All four read, then checked together: a level in tesla is valid only with its Ms.
  for (const auto& [key, level] : {std::pair<const char*, double*>{"noise_rms", &s.noise.relative_rms}, {"noise_background", &s.noise.background},
                                   {"noise_tesla", &s.noise.tesla_rms}, {"noise_Ms_A_per_m", &s.noise.Ms_A_per_m}})
    *level = f.attr_double("/", key).value_or(0.0);
  try {
    s.noise.validate();
  } catch (const InvalidInput& e) {
    throw InvalidInput(f.path() + ": noise attributes: " + e.what());
  }
  s.thickness_over_standoff = positive_attr(f, "thickness_over_standoff", 0.1);
  s.b = f.read<float>(name);
  require_finite_maps(s.b.data(), values, s.ny, s.nx, 0, f.path() + ": " + name);
  s.m = f.read<float>("m");
  require_finite_maps(s.m.data(), values * s.channels, s.ny, s.nx, 0, f.path() + ": m");
  if (s.channels == 3) {
    // m is the unit magnetization: |m| <= 1 beyond float32's rounding is not a magnetization.
    const int64_t plane = s.ny * s.nx;
    for (int64_t i = 0; i < values; ++i) {
      const int64_t base = (i / plane) * 3 * plane + i % plane;
      const double x = s.m[base], y = s.m[base + plane], z = s.m[base + 2 * plane];
      MAGCNN_REQUIRE(x * x + y * y + z * z <= 1 + 1e-5, f.path() << ": m at " << map_position(i, s.ny, s.nx, 0) << " has |m| = "
                                                                  << precise(std::sqrt(x * x + y * y + z * z))
                                                                  << " > 1: a vector target is the unit magnetization M / Ms");
    }
  }
  if (f.has("theta")) s.theta = read_per_sample(f, "theta", s.count);
  if (f.has("phi")) s.phi = read_per_sample(f, "phi", s.count);
  s.layout = "magcnn";
  return s;
}

}  // namespace

void require_plausible_field(const TrainingSet& s, const std::string& path) {
  for (std::size_t i = 0; i < s.b.size(); ++i)
    if (std::fabs(s.b[i]) > kMaxNormalizedField)
      throw InvalidInput(path + ": the normalized field b = Bz 2d / (mu0 Ms t) is " + precise(s.b[i]) + " at " +
                         map_position(static_cast<int64_t>(i), s.ny, s.nx, 0) + " (" + s.layout +
                         " layout); a film with |m| <= 1 gives |b| below about 1, so this set's Bz is in other units "
                         "(tesla? another scaling?): it cannot be trained on as it is");
}

TrainingSet read_training_set(const std::string& path) {
  const h5::File f = h5::File::open(path);
  TrainingSet s;
  if (f.has("mloc") && f.has("Theta") && f.has("Bz")) {
    s = read_original_layout(f);
  } else {
    MAGCNN_REQUIRE(find_field_dataset(f), path << " is not a training set: no dataset 'Bz' (nor Bx, By, Bnv; nor the original layout's Bz, mloc, Theta, Phi)");
    s = read_magcnn_layout(f);
  }
  require_plausible_field(s, path);
  return s;
}

// ---------------------------------------------------------------------------------------------------
// Magnetization maps

struct MagnetizationFile::Impl {
  h5::File file;
  int64_t n = 0, ny = 0, nx = 0;
  bool batched = false;
  GeometryAttributes attributes;
  double tolerance = 0;
  std::string least_precise_type;
  explicit Impl(const std::string& path) : file(h5::File::open(path)) {}
};

MagnetizationFile::MagnetizationFile(const std::string& path) : impl_(std::make_unique<Impl>(path)) {
  Impl& m = *impl_;
  const h5::File& f = m.file;
  for (const char* name : {"mx", "my", "mz"})
    MAGCNN_REQUIRE(f.has(name), path << ": no dataset '" << name << "' (magnetization maps need mx, my and mz, [H, W] or [N, H, W])");
  const auto dims = f.dims("mz");
  MAGCNN_REQUIRE(dims.size() == 2 || dims.size() == 3, path << ": mz must be [H, W] or [N, H, W], has rank " << dims.size());
  MAGCNN_REQUIRE(f.dims("mx") == dims && f.dims("my") == dims, path << ": mx, my and mz must have the same shape");
  m.batched = dims.size() == 3;
  m.n = m.batched ? dims[0] : 1;
  m.ny = dims[dims.size() - 2];
  m.nx = dims[dims.size() - 1];
  MAGCNN_REQUIRE(m.n >= 1 && m.ny >= 1 && m.nx >= 1, path << ": empty magnetization maps (mz is " << m.n << " x " << m.ny << " x " << m.nx << ")");
  checked_product({m.n, m.ny, m.nx, 3, 8}, path + ": magnetization maps");
  for (const char* name : {"mx", "my", "mz"}) f.check_dataset(name);
  MagnetizationRounding rounding;
  for (const char* name : {"mx", "my", "mz"}) rounding.include(f.stored_epsilon(name), f.stored_type_name(name));
  const double epsilon = rounding.epsilon();
  m.least_precise_type = rounding.type_name();
  // A float of fewer mantissa bits than float16's cannot say whether |m| <= 1.
  MAGCNN_REQUIRE(epsilon <= std::ldexp(1.0, -10), path << ": mx, my or mz is stored as " << m.least_precise_type << " with "
                                                       << -std::ilogb(epsilon) << " mantissa bits, too coarse for a unit "
                                                       << "magnetization: store float16 or wider");
  m.tolerance = rounding.tolerance();
  auto attr = [&](const char* name) {
    AttributeValue v = f.attr_number("/", name);
    return v.value || !v.problem.empty() ? v : f.attr_number("mz", name);
  };
  m.attributes = GeometryAttributes{attr("pixel_size_m"), attr("standoff_m"), attr("thickness_m"), attr("Ms_A_per_m")};
}

MagnetizationFile::~MagnetizationFile() = default;

const std::string& MagnetizationFile::path() const { return impl_->file.path(); }
int64_t MagnetizationFile::count() const { return impl_->n; }
int64_t MagnetizationFile::ny() const { return impl_->ny; }
int64_t MagnetizationFile::nx() const { return impl_->nx; }
bool MagnetizationFile::batched() const { return impl_->batched; }
const GeometryAttributes& MagnetizationFile::attributes() const { return impl_->attributes; }
double MagnetizationFile::tolerance() const { return impl_->tolerance; }

void MagnetizationFile::read(int64_t first, int64_t count, double* mx, double* my, double* mz) const {
  const Impl& m = *impl_;
  MAGCNN_REQUIRE(first >= 0 && count >= 1 && first <= m.n - count,
                 "maps " << first << " to " << first + count << " of " << m.n << " in " << m.file.path());
  double* out[3] = {mx, my, mz};
  const char* names[3] = {"mx", "my", "mz"};
  for (int c = 0; c < 3; ++c) {
    if (m.batched) {
      m.file.read_rows(names[c], first, count, out[c]);
    } else {
      m.file.read_rows(names[c], 0, m.ny, out[c]);
    }
  }
  check_unit_magnetization(mx, my, mz, count * m.ny * m.nx, m.ny, m.nx, first, m.tolerance, m.least_precise_type, m.file.path());
}

namespace {
template <class T>
void check_unit_magnetization_of(const T* mx, const T* my, const T* mz, int64_t values, int64_t ny, int64_t nx, int64_t first_map,
                                 double tolerance, const std::string& type_name, const std::string& what) {
  const T* c[3] = {mx, my, mz};
  const char* names[3] = {"mx", "my", "mz"};
  const double limit = (1 + tolerance) * (1 + tolerance);
  // One parallel pass finds the first pixel that fails either check (a NaN fails norm2 <= limit too);
  // the messages below then say which check, in the order of a sequential read.
  int64_t first_bad = values;
#pragma omp parallel for schedule(static) reduction(min : first_bad)
  for (int64_t i = 0; i < values; ++i) {
    const double x = mx[i], y = my[i], z = mz[i], norm2 = x * x + y * y + z * z;
    if (!(norm2 <= limit) && i < first_bad) first_bad = i;
  }
  if (first_bad == values) return;
  for (int k = 0; k < 3; ++k) require_finite_maps(c[k], values, ny, nx, first_map, what + ": " + names[k]);
  for (int64_t i = first_bad; i < values; ++i) {
    const double x = mx[i], y = my[i], z = mz[i], norm2 = x * x + y * y + z * z;
    if (norm2 <= limit) continue;
    std::ostringstream o;
    o.precision(2);
    o << tolerance;
    throw InvalidInput(what + ": |m| = " + precise(std::sqrt(norm2)) + " at " + map_position(i, ny, nx, first_map) +
                       " is above 1 by more than the rounding of " + type_name + " values (" + o.str() +
                       "): m is the unit magnetization M / Ms, |m| <= 1");
  }
}
}  // namespace

void MagnetizationRounding::include(double epsilon, const std::string& type_name) {
  if (epsilon <= epsilon_) return;
  epsilon_ = epsilon;
  type_ = type_name;
}

void check_finite_maps(const float* values, int64_t count, int64_t ny, int64_t nx, int64_t first_map, const std::string& what) {
  require_finite_maps(values, count, ny, nx, first_map, what);
}
void check_finite_maps(const double* values, int64_t count, int64_t ny, int64_t nx, int64_t first_map, const std::string& what) {
  require_finite_maps(values, count, ny, nx, first_map, what);
}

void check_unit_magnetization(const double* mx, const double* my, const double* mz, int64_t values, int64_t ny, int64_t nx,
                              int64_t first_map, double tolerance, const std::string& type_name, const std::string& what) {
  check_unit_magnetization_of(mx, my, mz, values, ny, nx, first_map, tolerance, type_name, what);
}
void check_unit_magnetization(const float* mx, const float* my, const float* mz, int64_t values, int64_t ny, int64_t nx,
                              int64_t first_map, double tolerance, const std::string& type_name, const std::string& what) {
  check_unit_magnetization_of(mx, my, mz, values, ny, nx, first_map, tolerance, type_name, what);
}

MagnetizationMaps read_magnetization(const std::string& path) {
  const MagnetizationFile file(path);
  MagnetizationMaps maps;
  maps.n = file.count();
  maps.ny = file.ny();
  maps.nx = file.nx();
  maps.batched = file.batched();
  maps.attributes = file.attributes();
  maps.tolerance = file.tolerance();
  const auto values = static_cast<std::size_t>(maps.n * maps.ny * maps.nx);
  maps.mx.resize(values);
  maps.my.resize(values);
  maps.mz.resize(values);
  file.read(0, maps.n, maps.mx.data(), maps.my.data(), maps.mz.data());
  return maps;
}

void write_magnetization(const std::string& path, const MagnetizationMaps& maps, const FilmGeometry& g) {
  const auto values = static_cast<std::size_t>(maps.n * maps.ny * maps.nx);
  MAGCNN_REQUIRE(maps.n >= 1 && maps.ny >= 1 && maps.nx >= 1 && (maps.batched || maps.n == 1) && maps.mx.size() == values &&
                     maps.my.size() == values && maps.mz.size() == values,
                 "write_magnetization: inconsistent sizes");
  AtomicOutput out(path, {}, 12.0 * static_cast<double>(values) + 1e5);
  h5::File f = h5::File::create(out.temporary(), out.path(), true);
  const std::vector<int64_t> dims =
      maps.batched ? std::vector<int64_t>{maps.n, maps.ny, maps.nx} : std::vector<int64_t>{maps.ny, maps.nx};
  const std::vector<double>* components[3] = {&maps.mx, &maps.my, &maps.mz};
  const char* names[3] = {"mx", "my", "mz"};
  for (int c = 0; c < 3; ++c) {
    require_finite_maps(components[c]->data(), maps.n * maps.ny * maps.nx, maps.ny, maps.nx, 0, names[c]);
    const std::vector<float> stored(components[c]->begin(), components[c]->end());
    f.write(names[c], dims, stored.data());
  }
  f.set_attr("/", "pixel_size_m", g.pixel_size_m);
  f.set_attr("/", "standoff_m", g.standoff_m);
  f.set_attr("/", "thickness_m", g.thickness_m);
  f.set_attr("/", "Ms_A_per_m", g.Ms_A_per_m);
  f.set_attr("/", "unit", std::string("M/Ms"));
  f.close();
  out.commit();
}

// ---------------------------------------------------------------------------------------------------
// Fields

std::string field_dataset_name(const FieldAxis& axis) {
  const std::string name = axis.describe();
  return name.size() == 1 ? "B" + name : "Bnv";
}

std::optional<FieldDataset> find_field_dataset(const h5::File& f) {
  std::optional<FieldDataset> found;
  for (const char* name : {"Bz", "Bx", "By", "Bnv"}) {
    if (!f.has(name)) continue;
    MAGCNN_REQUIRE(!found, f.path() << " holds both " << found->name << " and " << name << ": give a file of one field component");
    const std::vector<double> u = f.attr_doubles(name, "field_axis", 3);
    FieldDataset d{name, FieldAxis{}};
    if (!u.empty()) {
      // Another tool may have stored it as float32: within 1e-6 of unit length, renormalized.
      const double length = std::sqrt(u[0] * u[0] + u[1] * u[1] + u[2] * u[2]);
      MAGCNN_REQUIRE(std::isfinite(length) && std::fabs(length - 1.0) <= 1e-6,
                     f.path() << ": attribute field_axis of " << name << " = [" << u[0] << ", " << u[1] << ", " << u[2]
                              << "] is not a unit vector (length " << length << ")");
      d.axis = field_axis_from_vector(u[0], u[1], u[2]);
    } else {
      MAGCNN_REQUIRE(std::string(name) != "Bnv", f.path() << ": Bnv has no attribute field_axis (the unit vector [ux, uy, uz] of its axis)");
      d.axis = parse_field_axis(std::string(name).substr(1));
    }
    if (std::string(name) != "Bnv") {
      const FieldAxis named = parse_field_axis(std::string(name).substr(1));
      MAGCNN_REQUIRE(same_axis(d.axis, named), f.path() << ": " << name << " has field_axis " << d.axis.describe() << ", which is not its name's axis");
      d.axis = named;  // exactly: a Bz stays on Bz's own path
    }
    found = d;
  }
  return found;
}

struct FieldWriter::Impl {
  AtomicOutput out;
  h5::File file;
  h5::Appendable bz;
  std::string name;
  int64_t n, ny, nx, written = 0;
  bool batched;
  Impl(const std::string& path, const std::vector<std::string>& inputs, int64_t n_, int64_t ny_, int64_t nx_, bool batched_)
      : out(path, inputs, 4.0 * static_cast<double>(n_) * static_cast<double>(ny_) * static_cast<double>(nx_)),
        file(h5::File::create(out.temporary(), out.path(), true)),
        n(n_),
        ny(ny_),
        nx(nx_),
        batched(batched_) {}
};

FieldWriter::FieldWriter(const std::string& path, int64_t n, int64_t ny, int64_t nx, bool batched, const FilmGeometry& g,
                         ForwardMethod method, const std::vector<std::string>& inputs, const FieldAxis& axis) {
  MAGCNN_REQUIRE(n >= 1 && ny >= 1 && nx >= 1 && (batched || n == 1),
                 "a field file of " << n << " map(s) of " << ny << " x " << nx << (batched ? "" : ", unbatched"));
  axis.validate();
  impl_ = std::make_unique<Impl>(path, inputs, n, ny, nx, batched);
  h5::File& f = impl_->file;
  const std::string name = impl_->name = field_dataset_name(axis);
  // Unbatched: the [ny, nx] map is appended as ny rows of nx values.
  impl_->bz = batched ? f.appendable(name, h5::Type::F32, {ny, nx}, false, n) : f.appendable(name, h5::Type::F32, {nx}, false, ny);
  f.set_attr(name, "unit", std::string("T"));
  for (const std::string& object : {std::string("/"), name}) {
    f.set_attr(object, "field_axis", std::vector<double>{axis.x, axis.y, axis.z});
    f.set_attr(object, "pixel_size_m", g.pixel_size_m);
    f.set_attr(object, "standoff_m", g.standoff_m);
    f.set_attr(object, "thickness_m", g.thickness_m);
    f.set_attr(object, "Ms_A_per_m", g.Ms_A_per_m);
  }
  f.set_attr("/", "forward_model", std::string(forward_method_name(method)));
  f.set_attr("/", "generator", std::string("magcnn-forward ") + MAGCNN_VERSION);
}

FieldWriter::~FieldWriter() = default;

void FieldWriter::append(const float* bz, int64_t count) {
  Impl& w = *impl_;
  MAGCNN_REQUIRE(count >= 1 && w.written + count <= w.n, "field file of " << w.n << " maps: " << w.written << " written, " << count << " more given");
  require_finite_maps(bz, count * w.ny * w.nx, w.ny, w.nx, w.written, "computed " + w.name);
  w.bz.append(bz, w.batched ? count : w.ny);
  w.written += count;
}

void FieldWriter::commit() {
  Impl& w = *impl_;
  MAGCNN_REQUIRE(w.written == w.n, "field file holds " << w.written << " of " << w.n << " maps");
  w.bz.close();
  w.file.close();
  w.out.commit();
}

void write_field(const std::string& path, const std::vector<double>& bz, int64_t n, int64_t ny, int64_t nx, bool batched,
                 const FilmGeometry& g, ForwardMethod method) {
  FieldWriter writer(path, n, ny, nx, batched, g, method);
  MAGCNN_REQUIRE(static_cast<int64_t>(bz.size()) == n * ny * nx, "field of " << bz.size() << " values for " << n << " x " << ny << " x " << nx);
  const std::vector<float> values(bz.begin(), bz.end());
  writer.append(values.data(), n);
  writer.commit();
}

}  // namespace magcnn
