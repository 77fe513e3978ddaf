// Loss curves with PLplot's C++ interface and its pngcairo device, written under a temporary name.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "magcnn/atomic_output.h"
#include "magcnn/figures.h"
#include "magcnn/model_io.h"

#if MAGCNN_HAVE_PLPLOT
#include "plot_page.h"
#endif

namespace magcnn {

bool plot_losses(const std::string& path, const std::vector<EpochRecord>& history, const std::string& title) {
#if MAGCNN_HAVE_PLPLOT
  if (history.empty()) return false;
  std::vector<PLFLT> epoch, train, validation;
  double lo = INFINITY, hi = -INFINITY;
  for (const EpochRecord& r : history) {
    epoch.push_back(static_cast<PLFLT>(r.epoch));
    train.push_back(std::log10(std::max(r.train_mse, 1e-30)));
    validation.push_back(std::log10(std::max(r.validation_mse, 1e-30)));
    lo = std::min({lo, train.back(), validation.back()});
    hi = std::max({hi, train.back(), validation.back()});
  }
  if (hi - lo < 0.5) {
    lo -= 0.25;
    hi += 0.25;
  }
  AtomicOutput out(path, {}, 1e6);
  {
    plstream pls;
    start_png_page(pls, out.temporary(), 900, 600);
    pls.col0(15);
    pls.env(1.0, std::max(2.0, static_cast<double>(history.back().epoch)), std::floor(lo), std::ceil(hi), 0, 20);  // 20: log y
    pls.lab("epoch", "mean squared error", title.c_str());
    const PLINT n = static_cast<PLINT>(epoch.size());
    pls.col0(9);  // blue
    pls.width(2);
    pls.line(n, epoch.data(), train.data());
    pls.col0(1);  // red
    pls.line(n, epoch.data(), validation.data());
    draw_legend(pls, {LegendEntry{"train", 9, true, false}, LegendEntry{"validation", 1, true, false}}, PL_POSITION_TOP | PL_POSITION_RIGHT);
  }  // plstream's destructor writes the file
  out.commit();
  return true;
#else
  (void)path;
  (void)history;
  (void)title;
  return false;
#endif
}

PowerLaw fit_power_law(const std::vector<double>& x, const std::vector<double>& y, std::size_t from) {
  MAGCNN_REQUIRE(x.size() == y.size() && x.size() >= from + 2, "a power law needs two points or more");
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  const auto n = static_cast<double>(x.size() - from);
  for (std::size_t i = from; i < x.size(); ++i) {
    MAGCNN_REQUIRE(x[i] > 0 && y[i] > 0 && std::isfinite(x[i]) && std::isfinite(y[i]), "a power law needs positive values");
    const double lx = std::log(x[i]), ly = std::log(y[i]);
    sx += lx;
    sy += ly;
    sxx += lx * lx;
    sxy += lx * ly;
  }
  const double p = (n * sxy - sx * sy) / (n * sxx - sx * sx);
  return PowerLaw{p, std::exp((sy - p * sx) / n)};
}

bool plot_power_law(const std::string& path, const std::string& title, const std::string& x_label, const std::string& y_label,
                    const std::vector<double>& x, const std::vector<double>& y, std::size_t fit_from, double exponent,
                    double prefactor) {
  MAGCNN_REQUIRE(x.size() == y.size() && x.size() >= 2 && fit_from + 2 <= x.size(), "plot_power_law: " << x.size() << " x and "
                                                                                                          << y.size() << " y values");
  for (std::size_t i = 0; i < x.size(); ++i)
    MAGCNN_REQUIRE(x[i] > 0 && y[i] > 0 && std::isfinite(x[i]) && std::isfinite(y[i]), "plot_power_law: values must be positive");
#if MAGCNN_HAVE_PLPLOT
  std::vector<PLFLT> lx, ly, fx, fy;
  for (std::size_t i = 0; i < x.size(); ++i) {
    lx.push_back(std::log10(x[i]));
    ly.push_back(std::log10(y[i]));
  }
  for (std::size_t i = fit_from; i < x.size(); ++i) {
    fx.push_back(lx[i]);
    fy.push_back(std::log10(prefactor) + exponent * lx[i]);
  }
  const auto [x_lo, x_hi] = std::minmax_element(lx.begin(), lx.end());
  double y_lo = *std::min_element(ly.begin(), ly.end()), y_hi = *std::max_element(ly.begin(), ly.end());
  for (PLFLT v : fy) {
    y_lo = std::min(y_lo, v);
    y_hi = std::max(y_hi, v);
  }
  AtomicOutput out(path, {}, 1e6);
  {
    plstream pls;
    start_png_page(pls, out.temporary(), 800, 600);
    pls.col0(15);
    pls.env(std::floor(*x_lo - 0.05), std::ceil(*x_hi + 0.05), std::floor(y_lo - 0.05), std::ceil(y_hi + 0.05), 0, 30);  // 30: log-log
    pls.lab(x_label.c_str(), y_label.c_str(), title.c_str());
    pls.col0(1);
    pls.width(2);
    pls.line(static_cast<PLINT>(fx.size()), fx.data(), fy.data());
    pls.col0(9);
    pls.poin(static_cast<PLINT>(lx.size()), lx.data(), ly.data(), 17);  // 17: filled dots
    char fit[64];
    std::snprintf(fit, sizeof fit, "fit: exponent %.2f", exponent);
    draw_legend(pls, {LegendEntry{"measured", 9, false, true}, LegendEntry{fit, 1, true, false}}, PL_POSITION_TOP | PL_POSITION_LEFT);
  }
  out.commit();
  return true;
#else
  (void)path;
  (void)title;
  (void)x_label;
  (void)y_label;
  (void)exponent;
  (void)prefactor;
  return false;
#endif
}

bool plot_series(const std::string& path, const std::string& title, const std::string& x_label, const std::string& y_label,
                 const std::vector<double>& x, const std::vector<PlotSeries>& series) {
  MAGCNN_REQUIRE(x.size() >= 2 && !series.empty() && series.size() <= 8, "plot_series: " << x.size() << " points, " << series.size() << " series");
  for (const PlotSeries& s : series) {
    MAGCNN_REQUIRE(s.y.size() == x.size(), "plot_series: series '" << s.name << "' has " << s.y.size() << " values for " << x.size() << " x");
    for (double v : s.y) MAGCNN_REQUIRE(v > 0 && std::isfinite(v), "plot_series: series '" << s.name << "' has the value " << v);
  }
  for (double v : x) MAGCNN_REQUIRE(std::isfinite(v), "plot_series: x is not finite");
#if MAGCNN_HAVE_PLPLOT
  const auto [x_lo, x_hi] = std::minmax_element(x.begin(), x.end());
  double y_lo = INFINITY, y_hi = -INFINITY;
  for (const PlotSeries& s : series)
    for (double v : s.y) {
      y_lo = std::min(y_lo, std::log10(v));
      y_hi = std::max(y_hi, std::log10(v));
    }
  const double pad = 0.05 * (*x_hi - *x_lo);
  AtomicOutput out(path, {}, 1e6);
  {
    plstream pls;
    start_png_page(pls, out.temporary(), 800, 600);
    pls.col0(15);
    pls.env(*x_lo - pad, *x_hi + pad, std::floor(y_lo - 0.05), std::ceil(y_hi + 0.05), 0, 20);  // 20: log y
    pls.lab(x_label.c_str(), y_label.c_str(), title.c_str());
    const PLINT palette[8] = {1, 9, 3, 8, 4, 13, 10, 12};
    std::vector<PLFLT> px(x.begin(), x.end());
    std::vector<LegendEntry> legend;
    for (std::size_t k = 0; k < series.size(); ++k) {
      std::vector<PLFLT> py;
      for (double v : series[k].y) py.push_back(std::log10(v));
      pls.col0(palette[k]);
      pls.width(2);
      pls.line(static_cast<PLINT>(px.size()), px.data(), py.data());
      pls.poin(static_cast<PLINT>(px.size()), px.data(), py.data(), 17);
      legend.push_back(LegendEntry{series[k].name, palette[k], true, true});
    }
    draw_legend(pls, legend, PL_POSITION_BOTTOM | PL_POSITION_RIGHT);
  }
  out.commit();
  return true;
#else
  (void)path;
  (void)title;
  (void)x_label;
  (void)y_label;
  return false;
#endif
}

}  // namespace magcnn
