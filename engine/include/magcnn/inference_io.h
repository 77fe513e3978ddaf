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

struct FieldMaps {
  std::string path, format;  // format: "HDF5", "HDF5 training set", "NumPy", "PNG"
  int64_t n = 0, ny = 0, nx = 0;
  bool batched = false;       // [N, H, W] rather than one [H, W] map
  std::vector<float> field;   // [n, ny, nx] in `unit`
  std::optional<MapUnit> unit;  // nullopt: the file does not say (then --unit must)
  GeometryAttributes attributes;  // physical files: on the root, else on Bz
  // Training sets: their grid in units of the standoff.
  double pixel_size_over_standoff = 0, thickness_over_standoff = 0;
  std::vector<float> truth;        // [n, ny, nx], empty when the file holds no truth
  std::string truth_target;        // what truth is: "shape" (|m|) or "polar" (theta)
  std::vector<double> theta, phi;  // [n]: each map's magnetization direction, radians, when known
  std::string note;                // what a user should know about the data
};

// Reads every map of `path`, recognizing the format by the file's first bytes. HDF5: a training set from
// magcnn-generate (Bz with unit = normalized, or the original project's layout) is read as a training
// set; otherwise Bz [H, W] or [N, H, W] with the unit and geometry attributes, and optionally the truth m
// (same shape) and theta, phi [N]. NumPy: one float32/float64 array [H, W] or [N, H, W]. PNG: 8-bit
// grayscale, black = MIN and white = MAX of png_range_G (required). Throws InvalidInput, naming the file,
// for anything else: other formats, ranks or types, maps under 2 x 2 pixels, values that are not finite,
// fields beyond 100 T (a unit mistake), a truth of another shape.
FieldMaps read_field_maps(const std::string& path, const FieldMapsOptions& options);

// What magcnn-infer writes: the prediction on the input's grid, the physics residual and, with a truth,
// the MSE against it, per map, with the geometry and the model's description as attributes.
struct PredictionFile {
  int64_t n = 0, ny = 0, nx = 0;
  bool batched = true;
  std::string target;                   // "shape": dataset m (|m|); "polar": dataset theta (radians)
  std::vector<float> prediction;        // [n, ny, nx]
  std::vector<ResidualReport> residuals;  // [n], unless residual_note says why there are none
  std::string residual_note;            // non-empty: no residual was computed, and why (written instead)
  std::vector<double> mse;              // [n], empty without a truth
  bool physical = true;                 // geometry in SI (else the grid in units of d)
  FilmGeometry geometry;                // physical: SI; else pixel and thickness in units of d
  std::string input, input_format, input_unit, model, model_summary, resampling;
};
// Writes `path` atomically (refusing a value that is not finite); `inputs` may not be overwritten.
void write_predictions(const std::string& path, const PredictionFile& p, const std::vector<std::string>& inputs);

}  // namespace magcnn
