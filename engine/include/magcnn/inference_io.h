// Files of magcnn-infer: measured field maps in (HDF5, NumPy .npy, 8-bit grayscale PNG; DESIGN.md
// section 5) and predictions out. Readers check every type, rank, size and value before trusting them;
// the output is written whole or not at all.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "magcnn/dataset_io.h"
#include "magcnn/field_residual.h"
#include "magcnn/geometry.h"

namespace magcnn {

// The unit of the maps in a file: tesla, gauss, or the normalized b of a training set (already on the
// model's grid, 1 pixel = d).
enum class MapUnit { Tesla, Gauss, Normalized };
MapUnit parse_map_unit(const std::string& text);  // "T", "G", "normalized"; InvalidInput otherwise
const char* map_unit_name(MapUnit u);
double tesla_per(MapUnit u);  // 1 for T, 1e-4 for G

struct FieldMapsOptions {
  std::optional<MapUnit> unit;                           // --unit: over the file's attribute
  std::optional<std::pair<double, double>> png_range_G;  // --range MIN MAX: black and white of a PNG, gauss
};

// What a field-maps file holds, but its maps.
struct FieldMapsInfo {
  std::string path, format;  // format: "HDF5", "HDF5 training set", "NumPy", "PNG"
  int64_t n = 0, ny = 0, nx = 0;
  bool batched = false;         // [N, H, W] rather than one [H, W] map
  std::optional<MapUnit> unit;  // nullopt: the file does not say (then --unit must)
  GeometryAttributes attributes;  // physical files: on the root, else on Bz
  // Training sets: their grid in units of the standoff.
  double pixel_size_over_standoff = 0, thickness_over_standoff = 0;
  bool has_truth = false;          // the file holds the truth m, [n, truth_channels, ny, nx]
  std::string truth_target;        // what it is: "shape" (|m|), "polar" (theta) or "vector" (mx, my, mz)
  int64_t truth_channels = 1;      // 3 for a vector truth
  std::vector<double> theta, phi;  // [n]: each map's magnetization direction, radians, when known
  std::string note;                // what a user should know about the data
  // HDF5: the dataset read (Bz, Bx, By or Bnv) and the field component it holds, B . axis. NumPy and
  // PNG maps do not say (no axis): they are taken to be the model's.
  std::string field = "Bz";
  std::optional<FieldAxis> axis;
};

// Field maps read batch by batch, so that a file of many maps needs memory for a batch: HDF5 maps are
// read as rows of their datasets; a training set, an .npy array and a PNG image are read whole at open
// (a training set and an image are small; an .npy file is one array, checked against memory).
//
// The format is recognized by the file's first bytes. HDF5: a training set from magcnn-generate (Bz
// with unit = normalized and its target m, or the original project's layout) is read as a training set;
// otherwise Bz (or Bx, By, Bnv with its field_axis, as magcnn-forward writes them) [H, W] or [N, H, W]
// with the unit and geometry attributes, and optionally the truth m
// (same shape) and theta, phi [N]. NumPy: one float32/float64 array [H, W] or [N, H, W]. PNG: 8-bit
// grayscale, black = MIN and white = MAX of png_range_G (required). Opening throws InvalidInput, naming
// the file, for anything else: other formats, ranks or types, maps under 2 x 2 pixels, a truth of
// another shape; reading, for values that are not finite and fields beyond 100 T (a unit mistake).
class FieldMapsReader {
 public:
  FieldMapsReader(const std::string& path, const FieldMapsOptions& options);
  ~FieldMapsReader();
  FieldMapsReader(const FieldMapsReader&) = delete;
  FieldMapsReader& operator=(const FieldMapsReader&) = delete;
  const FieldMapsInfo& info() const;
  // Maps [first, first + count): field [count, ny, nx] in info().unit, and the truth
  // [count, truth_channels, ny, nx] into `truth` when the file has one and `truth` is not null.
  void read(int64_t first, int64_t count, float* field, float* truth) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// What magcnn-infer writes besides the maps: the input's grid and geometry and the model's description.
struct PredictionHeader {
  int64_t n = 0, ny = 0, nx = 0;
  bool batched = true;
  std::string target;   // "shape": dataset m (|m|); "polar": dataset theta (radians); "vector": mx, my, mz
  bool physical = true;  // geometry in SI (else the grid in units of d)
  FilmGeometry geometry;  // physical: SI; else pixel and thickness in units of d
  std::string input, input_format, input_unit, model, model_summary, resampling;
  // Members of an ensemble (> 1: the maps are their mean, and each dataset X has X_spread beside it,
  // the members' standard deviation per pixel).
  int64_t ensemble = 1;
};

// The prediction on the input's grid, batch by batch, then per map the physics residual and, with a
// truth, the MSE against it. Written under a temporary name (created at construction, so that a path
// that cannot be written fails before any work) and renamed into place by publish().
class PredictionWriter {
 public:
  PredictionWriter(const std::string& path, const PredictionHeader& header, const std::vector<std::string>& inputs);
  ~PredictionWriter();
  // The next `count` maps [count, ny, nx] ([count, 3, ny, nx] for the vector target); InvalidInput on a
  // value that is not finite.
  // An ensemble's file takes the spread [count, channels, ny, nx] too.
  void append(const float* prediction, int64_t count, const float* spread = nullptr);
  // A root attribute with a number the run measured (an ensemble's spread-error correlation).
  void set_figure(const std::string& name, double value, const std::string& definition);
  // Writes the rest and puts the file on disk under its temporary name: residuals [n], or empty with
  // `residual_note` saying why none was computed (written instead); mse [n] or empty without a truth.
  // Throws if fewer maps were appended than announced.
  void finish(const std::vector<ResidualReport>& residuals, const std::string& residual_note, const std::vector<double>& mse);
  // Renames the finished file into place (after a stop too: the caller decides; predictions of several
  // inputs appear together).
  void publish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace magcnn
