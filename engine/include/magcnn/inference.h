// Inference on measured maps in physical units: each map resampled onto the model's grid (1 pixel = one
// standoff d; resample.h), normalized to b = Bz 2d / (mu0 Ms t), run through the network over the whole
// map (predictor.h), resampled back onto the input's grid, and checked against the field it came from
// with the exact forward model (field_residual.h). Plans, tiles and buffers are made once for a map size
// and reused for every batch of maps. magcnn-infer and the tests drive it; files are inference_io.h's.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "magcnn/backend.h"
#include "magcnn/dataset_io.h"
#include "magcnn/field_residual.h"
#include "magcnn/model_io.h"
#include "magcnn/predictor.h"
#include "magcnn/resample.h"

namespace magcnn {

// The input maps' grid and physics.
struct MapGrid {
  int64_t ny = 0, nx = 0;
  // true: the normalized b of a training set, already on the model's grid (geometry in units of d:
  // pixel_size_m = pixel / d, standoff_m = 1, thickness_m = t / d); false: a field in tesla_per_unit
  // tesla with the SI geometry.
  bool normalized = false;
  FilmGeometry geometry;
  double tesla_per_unit = 1;
  // The field component the maps hold, when the file says (HDF5): refused unless it is the model's
  // (data.field_axis). Unknown (NumPy, PNG): taken to be the model's.
  std::optional<FieldAxis> axis;
};

struct InferenceOptions {
  PredictorOptions predictor;
  bool residual = true;  // the physics residual of every map
  // false: run() predicts only, and residuals() evaluates given predictions (an ensemble's mean).
  bool residual_in_run = true;
};

class Inference {
 public:
  // run() refuses a network output beyond this (|m| <= 1, theta <= pi): a damaged or diverged model.
  static constexpr double kMaxPrediction = 100;
  // InvalidInput when the map covers under 4 x 4 standoffs, or its geometry is out of range.
  Inference(Backend& backend, const ModelFile& model, const MapGrid& grid, const InferenceOptions& options);
  ~Inference();
  Inference(const Inference&) = delete;
  Inference& operator=(const Inference&) = delete;

  int64_t model_ny() const { return to_model_.ny_out(); }
  int64_t model_nx() const { return to_model_.nx_out(); }
  int64_t maps_per_pass() const { return predictor_->maps_per_pass(); }
  // The maps a reader hands to run() at a time: whole passes of about 4 M input pixels (16 MB of
  // float), at least one pass (magcnn-infer's chunks and the Python module's, so both stop alike).
  int64_t maps_per_chunk() const {
    const int64_t plane = std::max<int64_t>(grid_.ny * grid_.nx, 1);
    return std::max<int64_t>(1, (int64_t{1} << 22) / plane / maps_per_pass()) * maps_per_pass();
  }
  // Prediction planes per map: 3 (mx, my, mz) for a vector model, else 1.
  int64_t channels() const { return predictor_->out_channels(); }
  bool computes_residual() const { return residual_ != nullptr; }
  const Predictor& predictor() const { return *predictor_; }

  // `count` maps [count, ny, nx] in the grid's unit -> prediction [count, channels(), ny, nx] on the
  // input's grid. directions[i]: map i's magnetization direction when known, else nullopt (fitted), or
  // directions == nullptr (fit all; a vector model needs none); reports[i]: its residual (untouched
  // without one). Any count >= 1; maps_per_pass() at a time go through the network, the next ones prepared and
  // the last ones finished on the host while the device computes.
  // `file_index`: the first map's index in its file, for messages.
  void run(const float* field, int64_t count, const std::optional<std::array<double, 3>>* directions, float* prediction,
           ResidualReport* reports, int64_t file_index = 0);
  // The physics residual of `count` predictions [count, channels(), ny, nx] on the input's grid of the
  // maps `field` [count, ny, nx] (what run() does after predicting; for predictions made otherwise, such
  // as an ensemble's mean). Needs computes_residual().
  void residuals(const float* field, int64_t count, const std::optional<std::array<double, 3>>* directions, const float* prediction,
                 ResidualReport* reports);
  // For people and the output file: the grids and the interpolation.
  std::string describe_resampling() const;
  // The normalized field of the last map of the last run() on the model's grid (for figures and tests).
  const std::vector<float>& last_normalized() const { return b_last_; }

 private:
  void prepare(const float* field, int64_t first, int64_t n, int64_t file_index);
  void conclude(const float* field, const std::vector<float>& y, int64_t first, int64_t n, int64_t file_index,
                const std::optional<std::array<double, 3>>* directions, float* prediction, ResidualReport* reports);
  void evaluate_residuals(const float* field, int64_t first, int64_t n, const std::optional<std::array<double, 3>>* directions,
                          const float* prediction, ResidualReport* reports);

  MapGrid grid_;
  double to_b_ = 1;  // field unit -> b
  Resampler to_model_, from_model_;
  std::unique_ptr<Predictor> predictor_;
  std::unique_ptr<FieldResidual> residual_;
  bool residual_in_run_ = true;
  TargetKind target_ = TargetKind::Shape;  // what the model predicts: its residual's evaluate, _polar or _vector
  std::vector<float> b_, y_[2], measured_, b_last_;
  std::vector<std::optional<double>> phis_;
};

}  // namespace magcnn
