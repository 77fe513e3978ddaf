// What magcnn-infer tells its user about the maps it predicted: a line per map for a few maps, the spread
// over many, and the figures (--png) of the first ones, kept as the maps stream past.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli.h"
#include "magcnn/field_residual.h"
#include "magcnn/generator.h"

namespace magcnn::app {

struct FigureSettings {
  int64_t maps = 0;            // figures for maps [0, maps)
  std::string out;             // the prediction file; figures go beside it
  std::string input_name;      // for titles
  bool physical = true;        // field in tesla (else the normalized b)
  double field_to_mT = 1e3;    // the input's unit to mT (physical maps)
  double pixel = 0;            // axis scale: nm per pixel (physical), d per pixel (else)
  TargetKind target = TargetKind::Shape;  // what is drawn: |m|, theta, or mx, my, mz
};

// The figure of map `map` of `n`: PRED.png for one map, PRED_<map>.png for several.
std::string figure_path(const std::string& out, int64_t map, int64_t n);

// How well an ensemble's spread predicts its error: the Pearson correlation, over pixels, of the spread
// with |mean - truth|, over every value and over the film's (the values whose truth is not zero, channel
// by channel).
struct SpreadAgreement {
  double all = 0, film = 0;
};

class InferenceReport {
 public:
  // channels: planes per map of the prediction and the truth (3 for the vector target, else 1).
  InferenceReport(int64_t n, int64_t ny, int64_t nx, int64_t channels, bool residual, bool truth, FigureSettings figures);
  // Maps [first, first + count) as predicted: the input field [count, ny, nx] (its own unit), the
  // prediction and the truth (or null) [count, channels, ny, nx], their residuals and MSEs (entries
  // [first, first + count) of the vectors; an MSE is over every channel).
  // spread: an ensemble's [count, channels, ny, nx] (or null).
  void add(int64_t first, int64_t count, const float* field, const float* prediction, const float* truth, const float* spread = nullptr);
  // After every add(); zeros without an ensemble and a truth.
  SpreadAgreement spread_agreement() const;
  std::vector<ResidualReport>& residuals() { return residuals_; }
  std::vector<double>& mse() { return mse_; }
  // The summary lines, then the figures; says how many were written.
  void finish(const Common& common);
  // The figures finish() wrote.
  const std::vector<std::string>& figures_written() const { return figures_written_; }

 private:
  void draw(const Common& common);
  int64_t n_, ny_, nx_, channels_;
  bool residual_, truth_;
  FigureSettings figures_;
  std::vector<ResidualReport> residuals_;
  std::vector<double> mse_;
  std::vector<float> kept_field_, kept_prediction_, kept_truth_;  // the maps that get figures
  // Sums for the spread-error correlations: n, x, y, xx, yy, xy over every pixel [0] and the film [1].
  struct Moments {
    double n = 0, x = 0, y = 0, xx = 0, yy = 0, xy = 0;
    void add(double a, double b) { n += 1, x += a, y += b, xx += a * a, yy += b * b, xy += a * b; }
    double correlation() const;
  };
  Moments moments_[2];
  bool ensemble_ = false;
  std::vector<std::string> figures_written_;
};

}  // namespace magcnn::app
