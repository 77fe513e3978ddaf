// Figures drawn with PLplot's pngcairo device: maps side by side (the measured field, the predicted and
// the true magnetization), each an image with its own colour bar and value range; and how a cost scales
// with the work, on log-log axes with its fitted power law.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace magcnn {

// One map to draw. The values are borrowed: they must outlive the plot_map_panels call.
struct MapPanel {
  std::string title;              // "measured Bz", "prediction |m|", "truth |m|"
  std::string unit;               // colour bar label, e.g. "mT", "M/Ms"
  const float* values = nullptr;  // [ny, nx]; row 0 is drawn at the top of the panel (image convention)
  int64_t ny = 0, nx = 0;
  bool diverging = false;  // true: blue-white-red, symmetric about 0 (fields); false: sequential (|m|)
};

// The most panels one figure holds, and the most cells one panel may have (a copy of each map is made
// in double precision for PLplot).
constexpr int kMaxMapPanels = 4;
constexpr int64_t kMaxPanelCells = int64_t{1} << 24;

// Writes a PNG (400 px wide per panel, 420 px high) with the panels side by side under `title`, whole or
// not at all (AtomicOutput). Each panel: the map with square cells, its title above, a colour bar with
// the unit on top (diverging maps span +-max|v|; a constant map's range is widened), and "min .. max
// <unit>" of the data below. Axes run from 0 to nx * pixel_size across and from 0 at the top to
// ny * pixel_size at the bottom (row r covers [r, r + 1) * pixel_size), labelled "x (<length_unit>)";
// pixel_size <= 0 labels them in pixels. Titles and units are printed literally (UTF-8 is fine).
// Arguments are checked first, in every build: InvalidInput for no panels or more than kMaxMapPanels,
// null values, non-positive sizes or more than kMaxPanelCells, a value or a pixel_size that is not
// finite, a pixel_size > 0 that puts an axis's end outside [1e-30, 1e30]. Then, in a build without
// PLplot, returns false, writing nothing; with PLplot, InvalidInput also for a path that cannot become
// an output (check_output_path), and true once the file is there.
bool plot_map_panels(const std::string& path, const std::vector<MapPanel>& panels, const std::string& title,
                     double pixel_size = 0, const std::string& length_unit = "");

// A measured series y(x) (all positive) as points on log-log axes with the power law a x^p fitted to
// the points from index `fit_from` on drawn as a line, its exponent in the legend. Written atomically;
// false, writing nothing, in a build without PLplot. InvalidInput for fewer than 2 points, sizes that
// differ, or values that are not positive and finite.
bool plot_power_law(const std::string& path, const std::string& title, const std::string& x_label, const std::string& y_label,
                    const std::vector<double>& x, const std::vector<double>& y, std::size_t fit_from, double exponent,
                    double prefactor);

// Measured series y_k(x) drawn as lines with points, one colour each and a legend, on a linear x axis
// and a logarithmic y axis. Written atomically; false, writing nothing, in a build without PLplot.
// InvalidInput for fewer than 2 points, series of another length than x, or y values that are not
// positive and finite.
struct PlotSeries {
  std::string name;
  std::vector<double> y;
};
bool plot_series(const std::string& path, const std::string& title, const std::string& x_label, const std::string& y_label,
                 const std::vector<double>& x, const std::vector<PlotSeries>& series);

// The least-squares power law y = a x^p through points [from, n) in log-log: {p, a}.
struct PowerLaw {
  double exponent = 0, prefactor = 0;
};
PowerLaw fit_power_law(const std::vector<double>& x, const std::vector<double>& y, std::size_t from);

}  // namespace magcnn
