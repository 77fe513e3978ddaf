// The page every PLplot figure of magcnn starts from: a PNG of width x height pixels (pngcairo) written
// to `file`, white background, colour 15 black for axes and labels. Include only where PLplot is.
#pragma once

#include <plstream.h>

#include <string>
#include <vector>

namespace magcnn {

inline void start_png_page(plstream& pls, const std::string& file, PLINT width, PLINT height) {
  pls.sdev("pngcairo");
  pls.sfnam(file.c_str());
  pls.spage(0, 0, width, height, 0, 0);
  pls.scol0(0, 255, 255, 255);  // colour 0 is the background: white
  pls.scol0(15, 0, 0, 0);       // colour 15 draws axes and labels: black
  pls.init();
}

// One legend entry: a line (with_line), a dot (with_symbol) or both, in colour `color`.
struct LegendEntry {
  std::string name;
  PLINT color;
  bool with_line, with_symbol;
};

// A legend in a box inside the plot at `position` (PL_POSITION_*), entries in their colours.
inline void draw_legend(plstream& pls, const std::vector<LegendEntry>& entries, PLINT position) {
  const std::size_t n = entries.size();
  std::vector<const char*> names, symbols;
  std::vector<PLINT> options, colors, styles(n, 1), symbol_numbers(n, 1), unused_i(n, 0);
  std::vector<PLFLT> widths(n, 2), scales(n, 1), unused_f(n, 0);
  for (const LegendEntry& e : entries) {
    names.push_back(e.name.c_str());
    symbols.push_back(e.with_symbol ? "#(728)" : "");  // a filled dot
    options.push_back((e.with_line ? PL_LEGEND_LINE : 0) | (e.with_symbol ? PL_LEGEND_SYMBOL : 0));
    colors.push_back(e.color);
  }
  PLFLT legend_w = 0, legend_h = 0;
  pls.col0(15);
  pls.legend(&legend_w, &legend_h, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX, position | PL_POSITION_INSIDE, 0.05, 0.05, 0.1, 0, 15, 1, 0,
             0, static_cast<PLINT>(n), options.data(), 1.0, 1.0, 2.0, 1.0, colors.data(), names.data(), colors.data(), unused_i.data(),
             unused_f.data(), unused_f.data(), colors.data(), styles.data(), widths.data(), colors.data(), scales.data(),
             symbol_numbers.data(), symbols.data());
}

}  // namespace magcnn
