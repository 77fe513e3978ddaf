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
    const char* names[2] = {"train", "validation"};
    PLINT colors[2] = {9, 1}, styles[2] = {1, 1}, options[2] = {PL_LEGEND_LINE, PL_LEGEND_LINE};
    PLFLT widths[2] = {2, 2}, unused_f[2] = {0, 0};
    PLINT unused_i[2] = {0, 0};
    const char* unused_s[2] = {"", ""};
    PLFLT legend_w = 0, legend_h = 0;
    pls.col0(15);
    pls.legend(&legend_w, &legend_h, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX, PL_POSITION_TOP | PL_POSITION_RIGHT | PL_POSITION_INSIDE,
               0.1, 0.0, 0.1, 0, 15, 1, 0, 0, 2, options, 1.0, 1.0, 2.0, 1.0, colors, names, colors, unused_i, unused_f, unused_f,
               colors, styles, widths, unused_i, unused_f, unused_i, unused_s);
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
    const char* names[2] = {"measured", fit};
    PLINT options[2] = {PL_LEGEND_SYMBOL, PL_LEGEND_LINE}, colors[2] = {9, 1}, styles[2] = {1, 1}, symbol_numbers[2] = {1, 1};
    PLFLT widths[2] = {2, 2}, scales[2] = {1, 1}, unused_f[2] = {0, 0};
    PLINT unused_i[2] = {0, 0};
    const char* symbols[2] = {"#(728)", ""};
    PLFLT legend_w = 0, legend_h = 0;
    pls.col0(15);
    pls.legend(&legend_w, &legend_h, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX, PL_POSITION_TOP | PL_POSITION_LEFT | PL_POSITION_INSIDE,
               0.05, 0.05, 0.1, 0, 15, 1, 0, 0, 2, options, 1.0, 1.0, 2.0, 1.0, colors, names, colors, unused_i, unused_f, unused_f,
               colors, styles, widths, colors, scales, symbol_numbers, symbols);
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

}  // namespace magcnn
