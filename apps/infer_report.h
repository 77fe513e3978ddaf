// What magcnn-infer tells its user about the maps it predicted: a line per map for a few maps, the spread
// over many, and the figures (--png) of the first ones, kept as the maps stream past.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli.h"
#include "magcnn/field_residual.h"

namespace magcnn::app {

struct FigureSettings {
  int64_t maps = 0;            // figures for maps [0, maps)
  std::string out;             // the prediction file; figures go beside it
  std::string input_name;      // for titles
  bool physical = true;        // field in tesla (else the normalized b)
  double field_to_mT = 1e3;    // the input's unit to mT (physical maps)
  double pixel = 0;            // axis scale: nm per pixel (physical), d per pixel (else)
  bool shape_model = true;     // |m| (else theta)
};

// The figure of map `map` of `n`: PRED.png for one map, PRED_<map>.png for several.
std::string figure_path(const std::string& out, int64_t map, int64_t n);

class InferenceReport {
 public:
  InferenceReport(int64_t n, int64_t ny, int64_t nx, bool residual, bool truth, FigureSettings figures);
  // Maps [first, first + count) as predicted: the input field (its own unit), the prediction, the truth
  // (or null) [count, ny, nx], their residuals and MSEs (entries [first, first + count) of the vectors).
  void add(int64_t first, int64_t count, const float* field, const float* prediction, const float* truth);
  std::vector<ResidualReport>& residuals() { return residuals_; }
  std::vector<double>& mse() { return mse_; }
  // The summary lines, then the figures; says how many were written.
  void finish(const Common& common);

 private:
  void draw(const Common& common);
  int64_t n_, ny_, nx_;
  bool residual_, truth_;
  FigureSettings figures_;
  std::vector<ResidualReport> residuals_;
  std::vector<double> mse_;
  std::vector<float> kept_field_, kept_prediction_, kept_truth_;  // the maps that get figures
};

}  // namespace magcnn::app
