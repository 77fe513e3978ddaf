// Files of magcnn (DESIGN.md section 5): training sets (ours, and the original MagneticCNN layout for
// reading), magnetization maps in and fields out. Every output is written under a temporary name and
// renamed into place only when complete (atomic_output.h), and holds only finite values. Every input is
// checked before it is trusted: shapes, types, sizes against memory, finiteness, ranges.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "magcnn/atomic_output.h"
#include "magcnn/forward_model.h"
#include "magcnn/generator.h"
#include "magcnn/geometry.h"

namespace magcnn {

// Writes a training set batch by batch: Bz (normalized) [N, n, n] and m (the target) [N, n, n], or
// [N, 3, n, n] for the vector target, float32, theta, phi
// and the ellipse parameters [N] float64, the generator's settings as root attributes. The temporary file
// is created at construction, so a path that cannot be written fails before any work.
class TrainingSetWriter {
 public:
  TrainingSetWriter(const std::string& path, const GeneratorSettings& settings, const std::string& device);
  ~TrainingSetWriter();
  // Throws InvalidInput, writing nothing of the batch, when a value is not finite.
  void append(const SampleBatch& batch);
  // Closes the file (every failure to finish it reported) and renames it into place; throws if fewer
  // samples were appended than announced.
  void commit();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The normalized field of a film with |m| <= 1 stays below about 1 in magnitude at any standoff and
// thickness (b = Bz 2d / (mu0 Ms t)); a map far beyond that is in other units (or has the wrong Ms or
// thickness), and a network trained on it diverges. The bound leaves two orders of magnitude for noise
// and odd geometry; the training-set reader and inference both refuse maps beyond it.
constexpr double kMaxNormalizedField = 100;

struct TrainingSet {
  int64_t count = 0, ny = 0, nx = 0;
  std::vector<float> b;          // [count, ny, nx], dimensionless b = Bz 2d / (mu0 Ms t)
  std::vector<float> m;          // [count, channels, ny, nx], the target
  int64_t channels = 1;          // 3 for the vector target (mx, my, mz), else 1
  std::vector<double> theta, phi;  // [count] each, or empty when the file has none
  std::string target;            // "shape", "polar" or "vector"
  std::string layout;            // "magcnn" or "MagneticCNN (original)"
  double pixel_size_over_standoff = 1.0;
  double thickness_over_standoff = 0.1;
  std::string note;              // what a user should know about the data (e.g. its forward model)
  FieldAxis axis;                // the field component b holds (B . u; Bz by default)
  NoiseSettings noise;           // the noise magcnn-generate put on b (none for sets without the attributes)
};

// Reads our layout or the original project's (Theta, Phi [N,1]; Bz, mloc [N, Np*Np]; Bz scaled as
// -Bz d^3 / (1e-7 t Ms), d = 10 nm), converting the latter's field to b and saying how it was computed.
// Refuses (InvalidInput, naming file, dataset and position) empty sets, mismatched shapes and lengths,
// non-finite values, fields too large to be normalized (|b| > 100: a film gives |b| below about 1) and
// geometry attributes that are not positive numbers.
TrainingSet read_training_set(const std::string& path);

// The geometry attributes of a maps file (on the root, else on mz), each read without trusting it.
struct GeometryAttributes {
  AttributeValue pixel_size_m, standoff_m, thickness_m, Ms_A_per_m;
};

// Magnetization maps in an HDF5 file: datasets mx, my, mz, [H, W] or [N, H, W], any integer or float
// type, the unit magnetization M / Ms. Opening checks names, ranks and shapes and reads the attributes;
// maps are read batch by batch, so a file of many maps needs memory for one batch only.
class MagnetizationFile {
 public:
  explicit MagnetizationFile(const std::string& path);
  ~MagnetizationFile();
  MagnetizationFile(const MagnetizationFile&) = delete;
  MagnetizationFile& operator=(const MagnetizationFile&) = delete;

  const std::string& path() const;
  int64_t count() const;  // N (1 for a single [H, W] map)
  int64_t ny() const;
  int64_t nx() const;
  bool batched() const;  // the datasets have the leading N dimension
  const GeometryAttributes& attributes() const;
  // How far |m| may exceed 1: the rounding of the stored types (float16 rounds 0.6 and 0.8 to values
  // whose |m| is 1.0000004, and worse), and never less than float32's.
  double tolerance() const;
  // Maps [first, first + count): mx, my and mz receive count * ny * nx values each. Throws InvalidInput
  // on a value that is not finite or an |m| beyond 1 + tolerance(), naming the map, row and column.
  void read(int64_t first, int64_t count, double* mx, double* my, double* mz) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// How far |m| may exceed 1 for components stored in several types: the rounding of the least precise of
// them, and never less than float32's (values normalized in float and stored as double are common).
class MagnetizationRounding {
 public:
  // One component's type: its machine epsilon and its name ("float16").
  void include(double epsilon, const std::string& type_name);
  double epsilon() const { return epsilon_; }
  const std::string& type_name() const { return type_; }
  double tolerance() const { return 4 * epsilon_; }

 private:
  double epsilon_ = 1.0 / (1 << 23);
  std::string type_ = "float32";
};

// Throws InvalidInput at the first value of `values` (maps of ny x nx, the first numbered first_map) that
// is not finite, or whose |m| exceeds 1 + tolerance (the rounding of values of `type_name`); `what`
// names the maps' source in the message.
void check_unit_magnetization(const double* mx, const double* my, const double* mz, int64_t values, int64_t ny, int64_t nx,
                              int64_t first_map, double tolerance, const std::string& type_name, const std::string& what);
void check_unit_magnetization(const float* mx, const float* my, const float* mz, int64_t values, int64_t ny, int64_t nx,
                              int64_t first_map, double tolerance, const std::string& type_name, const std::string& what);

// Throws InvalidInput at the first value that is not finite, naming its map, row and column.
void check_finite_maps(const float* values, int64_t count, int64_t ny, int64_t nx, int64_t first_map, const std::string& what);
void check_finite_maps(const double* values, int64_t count, int64_t ny, int64_t nx, int64_t first_map, const std::string& what);

// All maps of a file at once (tests and small inputs).
struct MagnetizationMaps {
  int64_t n = 0, ny = 0, nx = 0;
  bool batched = false;
  std::vector<double> mx, my, mz;
  GeometryAttributes attributes;
  double tolerance = 0;
};
// Reads and checks every map (MagnetizationFile::read's checks).
MagnetizationMaps read_magnetization(const std::string& path);

// Writes magnetization maps (mx, my, mz float32, [n, ny, nx] or [ny, nx] when !batched) with the
// geometry as root attributes, atomically: what magcnn-forward reads.
void write_magnetization(const std::string& path, const MagnetizationMaps& maps, const FilmGeometry& geometry);

// The dataset a field component is stored as: Bz, Bx, By, or Bnv for any other axis (whose unit vector
// is then the attribute field_axis).
std::string field_dataset_name(const FieldAxis& axis);

// Writes the field (Bz, or B . axis) in tesla as float32, [n, ny, nx] (or [ny, nx] when !batched), with
// the geometry, method and axis (field_axis, [ux, uy, uz]) as attributes, batch by batch. The temporary
// file is created at construction.
class FieldWriter {
 public:
  FieldWriter(const std::string& path, int64_t n, int64_t ny, int64_t nx, bool batched, const FilmGeometry& geometry,
              ForwardMethod method, const std::vector<std::string>& inputs = {}, const FieldAxis& axis = FieldAxis{});
  ~FieldWriter();
  // The next `count` maps [count, ny, nx]. Throws InvalidInput on a value that is not finite.
  void append(const float* bz, int64_t count);
  // Closes and renames into place; throws if fewer maps were appended than announced.
  void commit();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One-shot FieldWriter.
void write_field(const std::string& path, const std::vector<double>& bz, int64_t n, int64_t ny, int64_t nx, bool batched,
                 const FilmGeometry& geometry, ForwardMethod method);

}  // namespace magcnn
