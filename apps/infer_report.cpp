#include "infer_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "magcnn/figures.h"
#include "magcnn/interrupt.h"

namespace magcnn::app {
namespace {

namespace fs = std::filesystem;
constexpr double kDeg = 180.0 / 3.14159265358979323846;

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

}  // namespace

std::string figure_path(const std::string& out, int64_t map, int64_t n) {
  const fs::path p(out);
  const std::string stem = (p.parent_path() / p.stem()).string();
  return n == 1 ? stem + ".png" : stem + "_" + std::to_string(map) + ".png";
}

InferenceReport::InferenceReport(int64_t n, int64_t ny, int64_t nx, int64_t channels, bool residual, bool truth, FigureSettings figures)
    : n_(n), ny_(ny), nx_(nx), channels_(channels), residual_(residual), truth_(truth), figures_(std::move(figures)) {
  if (residual_) residuals_.resize(static_cast<std::size_t>(n));
  if (truth_) mse_.resize(static_cast<std::size_t>(n));
  const auto kept = static_cast<std::size_t>(figures_.maps * ny * nx);
  kept_field_.resize(kept);
  kept_prediction_.resize(kept * static_cast<std::size_t>(channels));
  if (truth_) kept_truth_.resize(kept * static_cast<std::size_t>(channels));
}

double InferenceReport::Moments::correlation() const {
  if (n < 2) return 0;
  const double cov = xy / n - (x / n) * (y / n), vx = xx / n - (x / n) * (x / n), vy = yy / n - (y / n) * (y / n);
  return vx > 0 && vy > 0 ? cov / std::sqrt(vx * vy) : 0.0;
}

SpreadAgreement InferenceReport::spread_agreement() const { return SpreadAgreement{moments_[0].correlation(), moments_[1].correlation()}; }

void InferenceReport::add(int64_t first, int64_t count, const float* field, const float* prediction, const float* truth,
                          const float* spread) {
  const int64_t plane = ny_ * nx_, values = channels_ * plane;
  if (spread && truth) {
    ensemble_ = true;
    for (int64_t i = 0; i < count * values; ++i) {
      const double error = std::fabs(double(prediction[i]) - truth[i]);
      moments_[0].add(spread[i], error);
      if (truth[i] != 0) moments_[1].add(spread[i], error);
    }
  }
  if (truth_) {
    for (int64_t i = 0; i < count; ++i) {
      double s = 0;
      for (int64_t p = i * values; p < (i + 1) * values; ++p) {
        const double e = double(prediction[p]) - truth[p];
        s += e * e;
      }
      mse_[static_cast<std::size_t>(first + i)] = s / static_cast<double>(values);
    }
  }
  const int64_t keep_end = std::min(first + count, figures_.maps);
  for (int64_t i = first; i < keep_end; ++i) {
    const int64_t src = (i - first) * plane;
    std::copy(field + src, field + src + plane, kept_field_.begin() + static_cast<std::ptrdiff_t>(i * plane));
    const auto dst = static_cast<std::ptrdiff_t>(i * values);
    std::copy(prediction + (i - first) * values, prediction + (i - first + 1) * values, kept_prediction_.begin() + dst);
    if (truth_) std::copy(truth + (i - first) * values, truth + (i - first + 1) * values, kept_truth_.begin() + dst);
  }
}

void InferenceReport::finish(const Common& common) {
  char line[512];
  for (int64_t i = 0; i < n_ && n_ <= 8; ++i) {
    const auto k = static_cast<std::size_t>(i);
    std::string text = n_ > 1 ? "map " + std::to_string(i) + ": " : "";
    if (truth_) {
      std::snprintf(line, sizeof line, "MSE against the truth %.4g; ", mse_[k]);
      text += line;
    }
    if (residual_) {
      const ResidualReport& r = residuals_[k];
      if (figures_.target == TargetKind::Vector) {
        std::snprintf(line, sizeof line, "physics residual %.4g (relative L2 of the field), mean direction theta %.1f, phi %.1f deg",
                      r.relative_l2, r.theta_rad * kDeg, r.phi_rad * kDeg);
      } else if (figures_.target == TargetKind::Shape) {
        std::snprintf(line, sizeof line, "physics residual %.4g (relative L2 of the field), direction %s theta %.1f, phi %.1f deg",
                      r.relative_l2, r.fitted ? "fitted:" : "given:", r.theta_rad * kDeg, r.phi_rad * kDeg);
      } else {
        std::snprintf(line, sizeof line, "physics residual %.4g (relative L2 of the field), mean theta %.1f deg, phi %s %.1f deg",
                      r.relative_l2, r.theta_rad * kDeg, r.fitted ? "fitted:" : "given:", r.phi_rad * kDeg);
      }
      text += line;
      if (r.fitted) {
        std::snprintf(line, sizeof line, figures_.target == TargetKind::Shape ? ", amplitude scale %.3g" : ", in-plane scale %.3g", r.scale);
        text += line;
      }
    }
    if (truth_ || residual_) say(common, text);
  }
  if (n_ > 8) {
    if (truth_) {
      double mean = 0;
      for (double v : mse_) mean += v / static_cast<double>(n_);
      std::snprintf(line, sizeof line, "MSE against the truth: mean %.4g, median %.4g", mean, median(mse_));
      say(common, line);
    }
    if (residual_) {
      std::vector<double> rel;
      for (const ResidualReport& r : residuals_) rel.push_back(r.relative_l2);
      std::snprintf(line, sizeof line, "physics residual (relative L2 of the field): median %.4g, worst %.4g", median(rel),
                    *std::max_element(rel.begin(), rel.end()));
      say(common, line);
    }
  }
  if (ensemble_) {
    const SpreadAgreement a = spread_agreement();
    std::snprintf(line, sizeof line, "ensemble spread against the error |mean - truth|: correlation %.3f over every pixel, %.3f over the film",
                  a.all, a.film);
    say(common, line);
  }
  if (figures_.maps > 0) draw(common);
}

void InferenceReport::draw(const Common& common) {
  const int64_t plane = ny_ * nx_;
  std::vector<float> field(static_cast<std::size_t>(plane));
  char line[160];
  int64_t written = 0;
  for (int64_t i = 0; i < figures_.maps; ++i) {
    throw_if_interrupted();
    const auto offset = static_cast<std::size_t>(i * plane);
    for (std::size_t p = 0; p < field.size(); ++p)
      field[p] = static_cast<float>(kept_field_[offset + p] * (figures_.physical ? figures_.field_to_mT : 1.0));
    std::vector<MapPanel> panels;
    panels.push_back(MapPanel{"measured Bz", figures_.physical ? "mT" : "b", field.data(), ny_, nx_, true});
    const std::size_t values = offset * static_cast<std::size_t>(channels_);
    if (figures_.target == TargetKind::Vector) {
      // Three signed components fill the figure; the truth's MSE is in the title.
      const char* names[3] = {"prediction mx", "prediction my", "prediction mz"};
      for (int c = 0; c < 3; ++c)
        panels.push_back(MapPanel{names[c], "M/Ms", kept_prediction_.data() + values + static_cast<std::size_t>(c) * plane, ny_, nx_, true});
    } else {
      const bool shape = figures_.target == TargetKind::Shape;
      const char* unit = shape ? "M/Ms" : "rad";
      panels.push_back(MapPanel{shape ? "prediction |m|" : "prediction theta", unit, kept_prediction_.data() + offset, ny_, nx_, false});
      if (truth_) panels.push_back(MapPanel{shape ? "truth |m|" : "truth theta", unit, kept_truth_.data() + offset, ny_, nx_, false});
    }
    std::string title = figures_.input_name + (n_ > 1 ? " map " + std::to_string(i) : "");
    if (truth_) {
      std::snprintf(line, sizeof line, ": MSE %.3g", mse_[static_cast<std::size_t>(i)]);
      title += line;
    }
    if (residual_) {
      std::snprintf(line, sizeof line, "%s residual %.3g", truth_ ? "," : ":", residuals_[static_cast<std::size_t>(i)].relative_l2);
      title += line;
    }
    const std::string figure = figure_path(figures_.out, i, n_);
    if (!plot_map_panels(figure, panels, title, figures_.pixel, figures_.physical ? "nm" : "d")) {
      say(common, "--png: this build has no PLplot; no figures written");
      return;
    }
    figures_written_.push_back(figure);
    ++written;
  }
  say(common, "wrote " + std::to_string(written) + " figure(s): " + figure_path(figures_.out, 0, n_) + (written > 1 ? " ..." : "") +
                  (n_ > figures_.maps ? " (--png-limit " + std::to_string(figures_.maps) + ")" : ""));
}

}  // namespace magcnn::app
