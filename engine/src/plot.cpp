// Loss curves with PLplot's C++ interface and its pngcairo device, written under a temporary name.
#include <algorithm>
#include <cmath>
#include <vector>

#include "magcnn/atomic_output.h"
#include "magcnn/model_io.h"

#if MAGCNN_HAVE_PLPLOT
#include <plstream.h>
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
    pls.sdev("pngcairo");
    pls.sfnam(out.temporary().c_str());
    pls.spage(0, 0, 900, 600, 0, 0);
    pls.scol0(0, 255, 255, 255);  // colour 0 is the background: white
    pls.scol0(15, 0, 0, 0);       // colour 15 draws axes and labels: black
    pls.init();
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

}  // namespace magcnn
