#include "infer_report.h"

#include <algorithm>
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

InferenceReport::InferenceReport(int64_t n, int64_t ny, int64_t nx, bool residual, bool truth, FigureSettings figures)
    : n_(n), ny_(ny), nx_(nx), residual_(residual), truth_(truth), figures_(std::move(figures)) {
  if (residual_) residuals_.resize(static_cast<std::size_t>(n));
  if (truth_) mse_.resize(static_cast<std::size_t>(n));
  const auto kept = static_cast<std::size_t>(figures_.maps * ny * nx);
  kept_field_.resize(kept);
  kept_prediction_.resize(kept);
  if (truth_) kept_truth_.resize(kept);
}

void InferenceReport::add(int64_t first, int64_t count, const float* field, const float* prediction, const float* truth) {
  const int64_t plane = ny_ * nx_;
  if (truth_) {
    for (int64_t i = 0; i < count; ++i) {
      double s = 0;
      for (int64_t p = i * plane; p < (i + 1) * plane; ++p) {
        const double e = double(prediction[p]) - truth[p];
        s += e * e;
      }
      mse_[static_cast<std::size_t>(first + i)] = s / static_cast<double>(plane);
    }
  }
  const int64_t keep_end = std::min(first + count, figures_.maps);
  for (int64_t i = first; i < keep_end; ++i) {
    const auto dst = static_cast<std::ptrdiff_t>(i * plane);
    const int64_t src = (i - first) * plane;
    std::copy(field + src, field + src + plane, kept_field_.begin() + dst);
    std::copy(prediction + src, prediction + src + plane, kept_prediction_.begin() + dst);
    if (truth_) std::copy(truth + src, truth + src + plane, kept_truth_.begin() + dst);
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
      if (figures_.shape_model) {
        std::snprintf(line, sizeof line, "physics residual %.4g (relative L2 of the field), direction %s theta %.1f, phi %.1f deg",
                      r.relative_l2, r.fitted ? "fitted:" : "given:", r.theta_rad * kDeg, r.phi_rad * kDeg);
      } else {
        std::snprintf(line, sizeof line, "physics residual %.4g (relative L2 of the field), mean theta %.1f deg, phi %s %.1f deg",
                      r.relative_l2, r.theta_rad * kDeg, r.fitted ? "fitted:" : "given:", r.phi_rad * kDeg);
      }
      text += line;
      if (r.fitted) {
        std::snprintf(line, sizeof line, figures_.shape_model ? ", amplitude scale %.3g" : ", in-plane scale %.3g", r.scale);
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
  say(common, "wrote " + common.out);
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
    const char* unit = figures_.shape_model ? "M/Ms" : "rad";
    panels.push_back(MapPanel{figures_.shape_model ? "prediction |m|" : "prediction theta", unit, kept_prediction_.data() + offset,
                              ny_, nx_, false});
    if (truth_)
      panels.push_back(MapPanel{figures_.shape_model ? "truth |m|" : "truth theta", unit, kept_truth_.data() + offset, ny_, nx_, false});
    std::string title = figures_.input_name + (n_ > 1 ? " map " + std::to_string(i) : "");
    if (truth_) {
      std::snprintf(line, sizeof line, ": MSE %.3g", mse_[static_cast<std::size_t>(i)]);
      title += line;
    }
    if (residual_) {
      std::snprintf(line, sizeof line, "%s residual %.3g", truth_ ? "," : ":", residuals_[static_cast<std::size_t>(i)].relative_l2);
      title += line;
    }
    if (!plot_map_panels(figure_path(figures_.out, i, n_), panels, title, figures_.pixel, figures_.physical ? "nm" : "d")) {
      say(common, "--png: this build has no PLplot; no figures written");
      return;
    }
    ++written;
  }
  say(common, "wrote " + std::to_string(written) + " figure(s): " + figure_path(figures_.out, 0, n_) + (written > 1 ? " ..." : "") +
                  (n_ > figures_.maps ? " (--png-limit " + std::to_string(figures_.maps) + ")" : ""));
}

}  // namespace magcnn::app
