// Files of magcnn (DESIGN.md section 5): training sets (ours, and the original MagneticCNN layout for
// reading), magnetization maps in and fields out. Every output is written under a temporary name and
// renamed into place only when complete.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "magcnn/forward_model.h"
#include "magcnn/generator.h"

namespace magcnn {

// A temporary sibling of `path` that becomes `path` on commit() and is removed otherwise.
class AtomicOutput {
 public:
  explicit AtomicOutput(std::string path);
  ~AtomicOutput();
  AtomicOutput(const AtomicOutput&) = delete;
  AtomicOutput& operator=(const AtomicOutput&) = delete;
  const std::string& temporary() const { return temporary_; }
  const std::string& path() const { return path_; }
  void commit();

 private:
  std::string path_, temporary_;
  bool committed_ = false;
};

// Writes a training set batch by batch: Bz (normalized) and m (the target) [N, n, n] float32, theta, phi
// and the ellipse parameters [N] float64, the generator's settings as root attributes.
class TrainingSetWriter {
 public:
  TrainingSetWriter(const std::string& path, const GeneratorSettings& settings, const std::string& device);
  ~TrainingSetWriter();
  void append(const SampleBatch& batch);
  // Closes the file and renames it into place; throws if fewer samples were appended than announced.
  void commit();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct TrainingSet {
  int64_t count = 0, ny = 0, nx = 0;
  std::vector<float> b;          // [count, ny, nx], dimensionless b = Bz 2d / (mu0 Ms t)
  std::vector<float> m;          // [count, ny, nx], the target
  std::vector<double> theta, phi;
  std::string target;            // "shape" or "polar"
  std::string layout;            // "magcnn" or "MagneticCNN (original)"
  double pixel_size_over_standoff = 1.0;
  double thickness_over_standoff = 0.1;
  std::string note;              // what a user should know about the data (e.g. its forward model)
};

// Reads our layout or the original project's (Theta, Phi [N,1]; Bz, mloc [N, Np*Np]; Bz scaled as
// -Bz d^3 / (1e-7 t Ms), d = 10 nm), converting the latter's field to b and saying how it was computed.
TrainingSet read_training_set(const std::string& path);

// Magnetization maps [n, ny, nx] read from datasets mx, my, mz ([H, W] or [N, H, W]); geometry from the
// root's or mz's attributes pixel_size_m, standoff_m, thickness_m, Ms_A_per_m where present (0 if not).
struct MagnetizationMaps {
  int64_t n = 0, ny = 0, nx = 0;
  bool batched = false;  // the file's datasets had the leading N dimension
  std::vector<double> mx, my, mz;
  FilmGeometry geometry;
};
MagnetizationMaps read_magnetization(const std::string& path);
// Throws InvalidInput on NaN/Inf or |m| > 1 beyond rounding, naming the first bad pixel.
void check_magnetization(const MagnetizationMaps& maps);

// Writes Bz [n, ny, nx] (or [ny, nx] when !batched) in tesla as float32 with the geometry and method.
void write_field(const std::string& path, const std::vector<double>& bz, int64_t n, int64_t ny, int64_t nx, bool batched,
                 const FilmGeometry& geometry, ForwardMethod method);

}  // namespace magcnn
