// Training sets, magnetization maps and fields in HDF5, through the wrapper in h5file.h.
#include "magcnn/dataset_io.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "h5file.h"
#include "magcnn/log.h"

namespace magcnn {

AtomicOutput::AtomicOutput(std::string path) : path_(std::move(path)) {
  namespace fs = std::filesystem;
  MAGCNN_REQUIRE(!path_.empty(), "no output path given");
  const fs::path parent = fs::path(path_).parent_path();
  MAGCNN_REQUIRE(parent.empty() || fs::is_directory(parent), "cannot write " << path_ << ": directory " << parent.string()
                                                                             << " does not exist");
  MAGCNN_REQUIRE(!fs::is_directory(path_), "cannot write " << path_ << ": it is a directory");
  temporary_ = path_ + ".tmp" + std::to_string(::getpid());
}

AtomicOutput::~AtomicOutput() {
  if (!committed_) std::remove(temporary_.c_str());
}

void AtomicOutput::commit() {
  std::error_code ec;
  std::filesystem::rename(temporary_, path_, ec);
  if (ec) throw Error("cannot move " + temporary_ + " to " + path_ + ": " + ec.message());
  committed_ = true;
}

struct TrainingSetWriter::Impl {
  AtomicOutput out;
  h5::File file;
  GeneratorSettings settings;
  // Bz, m, then the stored parameters in kern::EllipseParam order (theta, phi, a, b, tilt, xc, yc).
  std::vector<h5::Appendable> columns;
  int64_t written = 0;
  Impl(const std::string& path, const GeneratorSettings& s) : out(path), file(h5::File::create(out.temporary())), settings(s) {}
};

TrainingSetWriter::TrainingSetWriter(const std::string& path, const GeneratorSettings& s, const std::string& device)
    : impl_(std::make_unique<Impl>(path, s)) {
  h5::File& f = impl_->file;
  const int64_t n = s.img_size;
  impl_->columns.push_back(f.appendable("Bz", h5::Type::F32, {n, n}));
  impl_->columns.push_back(f.appendable("m", h5::Type::F32, {n, n}, true));  // mostly zeros
  for (const char* name : {"theta", "phi", "ellipse_a", "ellipse_b", "ellipse_tilt", "ellipse_xc", "ellipse_yc"})
    impl_->columns.push_back(f.appendable(name, h5::Type::F64, {}));
  f.set_attr("/", "format", std::string("magcnn training set"));
  f.set_attr("/", "format_version", int64_t{1});
  f.set_attr("/", "count", s.count);
  f.set_attr("/", "seed", static_cast<int64_t>(s.seed));
  f.set_attr("/", "img_size", s.img_size);
  f.set_attr("/", "finer_grid", s.finer_grid);
  f.set_attr("/", "rmax_over_standoff", s.rmax);
  f.set_attr("/", "pixel_size_over_standoff", 1.0);
  f.set_attr("/", "thickness_over_standoff", s.thickness_over_standoff);
  f.set_attr("/", "target", std::string(target_kind_name(s.target)));
  f.set_attr("/", "forward_model", std::string(forward_method_name(s.method)));
  f.set_attr("/", "random", std::string("cuRAND Philox4x32-10, 7 uniform doubles per sample"));
  f.set_attr("/", "device", device);
  f.set_attr("/", "generator", std::string("magcnn-generate ") + MAGCNN_VERSION);
  f.set_attr("/", "lengths", std::string("in units of the standoff d; one network pixel = d; centres relative to the map centre"));
}

TrainingSetWriter::~TrainingSetWriter() = default;

void TrainingSetWriter::append(const SampleBatch& batch) {
  Impl& w = *impl_;
  const int64_t n = batch.count;
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
  w.file.set_attr("Bz", "unit", std::string("normalized"));
  w.file.set_attr("Bz", "definition", std::string("b = Bz 2 d / (mu0 Ms t), exact cell-kernel model"));
  w.file.set_attr("m", "target", std::string(target_kind_name(w.settings.target)));
  w.columns.clear();  // closes the datasets before the file
  w.file.close();
  w.out.commit();
}

namespace {

constexpr double kPi = 3.14159265358979323846;

TrainingSet read_original_layout(const h5::File& f) {
  TrainingSet s;
  const auto bz_dims = f.dims("Bz"), m_dims = f.dims("mloc");
  MAGCNN_REQUIRE(bz_dims.size() == 2 && m_dims == bz_dims, f.path() << ": original layout needs Bz and mloc [N, Np*Np]");
  const auto side = static_cast<int64_t>(std::lround(std::sqrt(static_cast<double>(bz_dims[1]))));
  MAGCNN_REQUIRE(side * side == bz_dims[1], f.path() << ": Bz rows of " << bz_dims[1] << " values are not square maps");
  s.count = bz_dims[0];
  s.ny = s.nx = side;
  // The seed stored -Bz d^3 / (1e-7 t Ms) with d = 10 nm; b = Bz 2d / (mu0 Ms t) = -stored / (2 pi d^2).
  const double d = 10e-9, to_b = -1.0 / (2.0 * kPi * d * d);
  const auto bz = f.read<double>("Bz");
  s.b.resize(bz.size());
  for (std::size_t i = 0; i < bz.size(); ++i) s.b[i] = static_cast<float>(to_b * bz[i]);
  const auto m = f.read<double>("mloc");
  s.m.assign(m.begin(), m.end());
  s.theta = f.read<double>("Theta");
  s.phi = f.read<double>("Phi");
  MAGCNN_REQUIRE(static_cast<int64_t>(s.theta.size()) == s.count && static_cast<int64_t>(s.phi.size()) == s.count,
                 f.path() << ": Theta and Phi must hold one value per sample");
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

TrainingSet read_magcnn_layout(const h5::File& f) {
  TrainingSet s;
  const auto dims = f.dims("Bz");
  MAGCNN_REQUIRE(dims.size() == 3, f.path() << ": Bz must be [N, H, W], has rank " << dims.size());
  MAGCNN_REQUIRE(f.has("m") && f.dims("m") == dims, f.path() << ": m must exist with Bz's shape");
  s.count = dims[0];
  s.ny = dims[1];
  s.nx = dims[2];
  s.b = f.read<float>("Bz");
  s.m = f.read<float>("m");
  if (f.has("theta")) s.theta = f.read<double>("theta");
  if (f.has("phi")) s.phi = f.read<double>("phi");
  s.target = f.attr_string("/", "target").value_or("shape");
  s.layout = "magcnn";
  s.pixel_size_over_standoff = f.attr_double("/", "pixel_size_over_standoff").value_or(1.0);
  s.thickness_over_standoff = f.attr_double("/", "thickness_over_standoff").value_or(0.1);
  const std::string unit = f.attr_string("Bz", "unit").value_or("normalized");
  MAGCNN_REQUIRE(unit == "normalized", f.path() << ": a training set's Bz must be normalized, this one is in '" << unit << "'");
  return s;
}

}  // namespace

TrainingSet read_training_set(const std::string& path) {
  const h5::File f = h5::File::open(path);
  if (f.has("mloc") && f.has("Theta") && f.has("Bz")) return read_original_layout(f);
  MAGCNN_REQUIRE(f.has("Bz"), path << " is not a training set: no dataset 'Bz' (nor the original layout's Bz, mloc, Theta, Phi)");
  return read_magcnn_layout(f);
}

MagnetizationMaps read_magnetization(const std::string& path) {
  const h5::File f = h5::File::open(path);
  MagnetizationMaps maps;
  for (const char* name : {"mx", "my", "mz"})
    MAGCNN_REQUIRE(f.has(name), path << ": no dataset '" << name << "' (magnetization maps need mx, my and mz, [H, W] or [N, H, W])");
  const auto dims = f.dims("mz");
  MAGCNN_REQUIRE(dims.size() == 2 || dims.size() == 3, path << ": mz must be [H, W] or [N, H, W], has rank " << dims.size());
  MAGCNN_REQUIRE(f.dims("mx") == dims && f.dims("my") == dims, path << ": mx, my and mz must have the same shape");
  maps.batched = dims.size() == 3;
  maps.n = maps.batched ? dims[0] : 1;
  maps.ny = dims[dims.size() - 2];
  maps.nx = dims[dims.size() - 1];
  MAGCNN_REQUIRE(maps.n >= 1 && maps.ny >= 1 && maps.nx >= 1, path << ": empty magnetization maps");
  maps.mx = f.read<double>("mx");
  maps.my = f.read<double>("my");
  maps.mz = f.read<double>("mz");
  auto attr = [&](const char* name) {
    if (auto v = f.attr_double("/", name)) return *v;
    return f.attr_double("mz", name).value_or(0.0);
  };
  maps.geometry = FilmGeometry{attr("pixel_size_m"), attr("standoff_m"), attr("thickness_m"), attr("Ms_A_per_m")};
  return maps;
}

void check_magnetization(const MagnetizationMaps& maps) {
  const std::size_t n = maps.mx.size();
  for (std::size_t i = 0; i < n; ++i) {
    const double x = maps.mx[i], y = maps.my[i], z = maps.mz[i];
    const int64_t map = static_cast<int64_t>(i) / (maps.ny * maps.nx), r = (static_cast<int64_t>(i) / maps.nx) % maps.ny,
                  c = static_cast<int64_t>(i) % maps.nx;
    MAGCNN_REQUIRE(std::isfinite(x) && std::isfinite(y) && std::isfinite(z),
                   "magnetization is not finite at map " << map << ", row " << r << ", column " << c);
    MAGCNN_REQUIRE(x * x + y * y + z * z <= 1.0 + 1e-6, "|m| = " << std::sqrt(x * x + y * y + z * z) << " > 1 at map " << map
                                                                 << ", row " << r << ", column " << c
                                                                 << ": m is the unit magnetization M / Ms");
  }
}

void write_field(const std::string& path, const std::vector<double>& bz, int64_t n, int64_t ny, int64_t nx, bool batched,
                 const FilmGeometry& g, ForwardMethod method) {
  AtomicOutput out(path);
  {
    h5::File f = h5::File::create(out.temporary());
    const std::vector<float> values(bz.begin(), bz.end());
    const std::vector<int64_t> dims = batched ? std::vector<int64_t>{n, ny, nx} : std::vector<int64_t>{ny, nx};
    f.write("Bz", dims, values.data());
    f.set_attr("Bz", "unit", std::string("T"));
    for (const char* object : {"/", "Bz"}) {
      f.set_attr(object, "pixel_size_m", g.pixel_size_m);
      f.set_attr(object, "standoff_m", g.standoff_m);
      f.set_attr(object, "thickness_m", g.thickness_m);
      f.set_attr(object, "Ms_A_per_m", g.Ms_A_per_m);
    }
    f.set_attr("/", "forward_model", std::string(forward_method_name(method)));
    f.set_attr("/", "generator", std::string("magcnn-forward ") + MAGCNN_VERSION);
  }
  out.commit();
}

}  // namespace magcnn
