// Map figures with PLplot's C++ interface and its pngcairo device, written under a temporary name. The
// page is laid out in pixels (one column of fixed width per panel) so that map cells stay square.
#include "magcnn/figures.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "magcnn/atomic_output.h"
#include "magcnn/error.h"

#if MAGCNN_HAVE_PLPLOT
#include "plot_page.h"
#endif

namespace magcnn {
namespace {

// PLplot's axes lose their labels (or the tick search its end) at extreme world coordinates; no length
// unit needs them.
constexpr double kMinAxisEnd = 1e-30, kMaxAxisEnd = 1e30;

void check_panel(const MapPanel& p, size_t index, double pixel_size) {
  const std::string name = "plot_map_panels: panel " + std::to_string(index) + " (\"" + p.title + "\")";
  MAGCNN_REQUIRE(p.values != nullptr, name << " has no values");
  MAGCNN_REQUIRE(p.ny > 0 && p.nx > 0, name << " has size " << p.ny << " x " << p.nx << "; both must be positive");
  MAGCNN_REQUIRE(p.ny <= kMaxPanelCells / p.nx,
                 name << " has " << p.ny << " x " << p.nx << " cells, more than the " << kMaxPanelCells
                      << " a figure draws");
  if (pixel_size > 0) {
    const double shortest = pixel_size * static_cast<double>(std::min(p.nx, p.ny));
    const double longest = pixel_size * static_cast<double>(std::max(p.nx, p.ny));
    MAGCNN_REQUIRE(shortest >= kMinAxisEnd && longest <= kMaxAxisEnd,
                   name << ": with the pixel size " << pixel_size << " its axes end outside [" << kMinAxisEnd << ", "
                        << kMaxAxisEnd << "]; give the pixel size in a length unit near the map's size");
  }
  const float* end = p.values + p.ny * p.nx;
  const float* bad = std::find_if(p.values, end, [](float v) { return !std::isfinite(v); });
  MAGCNN_REQUIRE(bad == end, name << " has a value that is not finite (" << *bad << ") at cell " << (bad - p.values));
}

void check_arguments(const std::vector<MapPanel>& panels, double pixel_size) {
  MAGCNN_REQUIRE(!panels.empty() && panels.size() <= static_cast<size_t>(kMaxMapPanels),
                 "plot_map_panels: " << panels.size() << " panels given; a figure holds 1 to " << kMaxMapPanels);
  MAGCNN_REQUIRE(std::isfinite(pixel_size), "plot_map_panels: the pixel size " << pixel_size << " is not finite");
  for (size_t i = 0; i < panels.size(); ++i) check_panel(panels[i], i, pixel_size);
}

#if MAGCNN_HAVE_PLPLOT

// Page geometry in pixels. Margins leave room for the figure title, each panel's title, the tick and
// axis labels and the range line below, and the colour bar with its tick labels on the right.
constexpr int kPanelWidth = 400, kPageHeight = 420;
constexpr double kFigureTitle = 40, kPanelTitle = 34, kBottom = 70, kLeft = 56, kRight = 80;
constexpr double kBarGap = 10, kBarWidth = 14, kMinBarLength = 150;
constexpr double kMinTickSpacing = 40, kDigitWidth = 8.5, kLabelGap = 20;  // kDigitWidth: one character at kTextMm
// Text heights and tick lengths in millimetres on the page: PLplot's defaults grow with the page, so
// they are set absolutely to keep the text the same size whatever the number of panels.
constexpr double kTextMm = 4.0, kTitleMm = 4.85, kFigureTitleMm = 5.7, kMajorTickMm = 3.0, kMinorTickMm = 1.5;

// ColorBrewer's RdBu reversed (blue low, white zero, red high) and matplotlib's viridis: both stay
// readable in grayscale and for colour-blind readers, and viridis orders magnitudes by lightness.
constexpr unsigned kDiverging[] = {0x053061, 0x2166ac, 0x4393c3, 0x92c5de, 0xd1e5f0, 0xf7f7f7,
                                   0xfddbc7, 0xf4a582, 0xd6604d, 0xb2182b, 0x67001f};
constexpr unsigned kSequential[] = {0x440154, 0x472d7b, 0x3b528b, 0x2c728e, 0x21918c,
                                    0x28ae80, 0x5ec962, 0xaddc30, 0xfde725};

struct Range {
  double lo = 0, hi = 0;
};

Range data_range(const MapPanel& p) {
  const auto [lo, hi] = std::minmax_element(p.values, p.values + p.ny * p.nx);
  return {static_cast<double>(*lo), static_cast<double>(*hi)};
}

// Diverging maps put white at zero so the sign reads at a glance; a constant map still needs a span for
// the colour bar's axis, so it is widened around its value.
Range colour_range(const MapPanel& p, Range data) {
  Range r = data;
  if (p.diverging) {
    const double m = std::max(std::abs(data.lo), std::abs(data.hi));
    r = {-m, m};
  }
  if (r.hi - r.lo <= 1e-12 * std::max(std::abs(r.lo), std::abs(r.hi))) {
    const double half = r.hi == 0 ? 1.0 : 0.5 * std::abs(r.hi);
    r = {r.lo - half, r.hi + half};
  }
  return r;
}

// %g without its padded exponent ("2.5e6", not "2.5e+06"): short enough for a tick label, and free of
// PLplot's separate "(x10^6)" note, which it places outside the panel.
std::string compact_number(double v, int digits) {
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%.*g", digits, v);
  std::string s = buffer;
  const size_t e = s.find('e');
  if (e == std::string::npos) return s;
  size_t digit = e + 1;
  const bool negative = s[digit] == '-';
  if (s[digit] == '+' || s[digit] == '-') ++digit;
  while (digit + 1 < s.size() && s[digit] == '0') ++digit;
  return s.substr(0, e) + (negative ? "e-" : "e") + s.substr(digit);
}

// PLplot reads '#' as the start of an escape sequence; titles and units are to be printed as given.
std::string literal(const std::string& text) {
  std::string out;
  for (char c : text) {
    out += c;
    if (c == '#') out += '#';
  }
  return out;
}

std::string range_text(const MapPanel& p, Range data) {
  std::string text = "min " + compact_number(data.lo, 4) + "    max " + compact_number(data.hi, 4);
  if (!p.unit.empty()) text += " " + p.unit;
  return literal(text);
}

std::string axis_label(const char* axis, double pixel_size, const std::string& length_unit) {
  if (pixel_size <= 0) return std::string(axis) + " (pixels)";
  if (length_unit.empty()) return axis;
  return literal(std::string(axis) + " (" + length_unit + ")");
}

// The spans of the axes being labelled. PLplot accumulates tick values in floating point, so zero can
// arrive as 1e-17; a value that small against its axis is printed as 0.
struct TickSpans {
  double x = 1, y = 1;
};

void tick_label(PLINT axis, PLFLT value, char* label, PLINT length, PLPointer data) {
  const TickSpans& spans = *static_cast<const TickSpans*>(data);
  const double span = axis == PL_X_AXIS ? spans.x : spans.y;
  if (std::abs(value) < 1e-9 * span) value = 0;
  std::snprintf(label, static_cast<size_t>(length), "%s", compact_number(value, 6).c_str());
}

// The widest label among the ticks 0, step, 2 step, ... up to `extent`, in characters.
size_t widest_tick_label(double extent, double step) {
  size_t widest = 1;
  for (double k = 1; k * step <= extent * (1 + 1e-9); ++k)
    widest = std::max(widest, compact_number(k * step, 6).size());
  return widest;
}

// PLplot spaces ticks by the range alone, which crowds the labels on a short axis (the height of a wide
// map) or with long numbers; this spaces them by length on the page, at least kMinTickSpacing and wide
// enough for the labels, at 1, 2 or 5 times a power of ten.
double tick_step(double extent, double length_px) {
  const double raw = extent / std::max(1.0, std::floor(length_px / kMinTickSpacing));
  double decade = std::pow(10.0, std::floor(std::log10(raw)));
  for (;; decade *= 10) {
    for (double multiple : {1.0, 2.0, 5.0}) {
      const double step = multiple * decade;
      if (step < raw * (1 - 1e-9)) continue;
      const double needed_px = kDigitWidth * static_cast<double>(widest_tick_label(extent, step)) + kLabelGap;
      if (step >= extent || step / extent * length_px >= needed_px) return step;
    }
  }
}

// A rectangle in normalized device coordinates (0..1 across the page, 0 at the bottom), and its size.
struct Box {
  double x0, x1, y0, y1;
  double width_px, height_px;
};

// The image's viewport in panel `index`: the largest rectangle of the map's aspect ratio that fits
// between the margins, centred, so that each cell is drawn square.
Box image_box(int index, int count, const MapPanel& p) {
  const double page_w = static_cast<double>(kPanelWidth) * count, page_h = kPageHeight;
  const double avail_w = kPanelWidth - kLeft - kRight, avail_h = page_h - kFigureTitle - kPanelTitle - kBottom;
  const double aspect = static_cast<double>(p.ny) / static_cast<double>(p.nx);
  const double w = std::min(avail_w, avail_h / aspect), h = w * aspect;
  const double left = kPanelWidth * index + kLeft + 0.5 * (avail_w - w);
  const double top = kFigureTitle + kPanelTitle + 0.5 * (avail_h - h);
  return {left / page_w, (left + w) / page_w, 1.0 - (top + h) / page_h, 1.0 - top / page_h, w, h};
}

template <size_t N>
void set_colour_map(plstream& pls, const unsigned (&hex)[N]) {
  std::vector<PLFLT> at, r, g, b;
  for (size_t i = 0; i < N; ++i) {
    at.push_back(static_cast<double>(i) / static_cast<double>(N - 1));
    r.push_back(((hex[i] >> 16) & 0xff) / 255.0);
    g.push_back(((hex[i] >> 8) & 0xff) / 255.0);
    b.push_back((hex[i] & 0xff) / 255.0);
  }
  pls.scmap1n(256);
  pls.scmap1l(true, static_cast<PLINT>(N), at.data(), r.data(), g.data(), b.data());
}

// PLplot indexes images [x][y]; the window is flipped (y = 0 at the top), so row r of the map, drawn at
// y = r, lands r rows below the top.
struct Columns {
  std::vector<PLFLT> cells;
  std::vector<const PLFLT*> columns;
};

Columns columns_of(const MapPanel& p) {
  Columns c;
  c.cells.resize(static_cast<size_t>(p.nx * p.ny));
  for (int64_t y = 0; y < p.ny; ++y)
    for (int64_t x = 0; x < p.nx; ++x) c.cells[static_cast<size_t>(x * p.ny + y)] = p.values[y * p.nx + x];
  for (int64_t x = 0; x < p.nx; ++x) c.columns.push_back(c.cells.data() + x * p.ny);
  return c;
}

// Beside the image, as tall as it but never shorter than kMinBarLength, with the unit on top.
void draw_colour_bar(plstream& pls, const MapPanel& p, Range colours, Box image) {
  PLFLT bar_w = 0, bar_h = 0;
  PLINT label_opts[1] = {PL_COLORBAR_LABEL_TOP};
  const std::string unit = literal(p.unit);
  const char* labels[1] = {unit.c_str()};
  const char* axis_opts[1] = {"bcvtmo"};  // o: tick_label's numbers
  PLFLT ticks[1] = {0.0};
  PLINT sub_ticks[1] = {0};
  PLINT n_values[1] = {2};
  const PLFLT ends[2] = {colours.lo, colours.hi};
  const PLFLT* values[1] = {ends};
  pls.colorbar(&bar_w, &bar_h, PL_COLORBAR_IMAGE, PL_POSITION_RIGHT | PL_POSITION_OUTSIDE | PL_POSITION_VIEWPORT,
               kBarGap / image.width_px, 0.0, kBarWidth / image.width_px,
               std::max(1.0, kMinBarLength / image.height_px), 0, 15, 1, 0.0, 0.0, 0, 0.0, unit.empty() ? 0 : 1,
               label_opts, labels, 1, axis_opts, ticks, sub_ticks, n_values, values);
}

void label_panel(plstream& pls, const MapPanel& p, Range data, Box box, double extent_x, double extent_y,
                 double pixel_size, const std::string& length_unit) {
  pls.box("bcnsto", tick_step(extent_x, box.width_px), 0, "bcnsto", tick_step(extent_y, box.height_px), 0);
  pls.mtex("b", 3.2, 0.5, 0.5, axis_label("x", pixel_size, length_unit).c_str());
  pls.mtex("l", 3.4, 0.5, 0.5, axis_label("y", pixel_size, length_unit).c_str());
  pls.mtex("b", 5.0, 0.5, 0.5, range_text(p, data).c_str());
  pls.schr(kTitleMm, 1.0);
  pls.mtex("t", 1.6, 0.5, 0.5, literal(p.title).c_str());
  pls.schr(kTextMm, 1.0);
}

void draw_panel(plstream& pls, const MapPanel& p, Box box, double pixel_size, const std::string& length_unit) {
  const double scale = pixel_size > 0 ? pixel_size : 1.0;
  const double width = static_cast<double>(p.nx) * scale, height = static_cast<double>(p.ny) * scale;
  const Range data = data_range(p), colours = colour_range(p, data);
  if (p.diverging)
    set_colour_map(pls, kDiverging);
  else
    set_colour_map(pls, kSequential);
  pls.vpor(box.x0, box.x1, box.y0, box.y1);
  pls.wind(0.0, width, height, 0.0);
  {
    const Columns c = columns_of(p);
    pls.imagefr(c.columns.data(), static_cast<PLINT>(p.nx), static_cast<PLINT>(p.ny), 0.0, width, 0.0, height,
                colours.lo, colours.hi, colours.lo, colours.hi, nullptr, nullptr);
  }
  pls.col0(15);
  TickSpans spans{width, height};
  pls.slabelfunc(tick_label, &spans);
  label_panel(pls, p, data, box, width, height, pixel_size, length_unit);
  spans = {colours.hi - colours.lo, colours.hi - colours.lo};
  draw_colour_bar(pls, p, colours, box);
  pls.slabelfunc(nullptr, nullptr);  // `spans` ends here
}

void draw_figure_title(plstream& pls, const std::string& title) {
  pls.vpor(0.0, 1.0, 0.0, 1.0);
  pls.wind(0.0, 1.0, 0.0, 1.0);
  pls.col0(15);
  pls.schr(kFigureTitleMm, 1.0);
  pls.mtex("t", -1.5, 0.5, 0.5, literal(title).c_str());
  pls.schr(kTextMm, 1.0);
}

void draw_figure(const std::string& file, const std::vector<MapPanel>& panels, const std::string& title,
                 double pixel_size, const std::string& length_unit) {
  const int count = static_cast<int>(panels.size());
  plstream pls;
  start_png_page(pls, file, static_cast<PLINT>(kPanelWidth * count), static_cast<PLINT>(kPageHeight));
  pls.adv(0);
  pls.schr(kTextMm, 1.0);
  pls.smaj(kMajorTickMm, 1.0);
  pls.smin(kMinorTickMm, 1.0);
  draw_figure_title(pls, title);
  for (int i = 0; i < count; ++i) {
    const MapPanel& p = panels[static_cast<size_t>(i)];
    draw_panel(pls, p, image_box(i, count, p), pixel_size, length_unit);
  }
}  // plstream's destructor writes the file

#endif

}  // namespace

bool plot_map_panels(const std::string& path, const std::vector<MapPanel>& panels, const std::string& title,
                     double pixel_size, const std::string& length_unit) {
  check_arguments(panels, pixel_size);
#if MAGCNN_HAVE_PLPLOT
  const double page_pixels = static_cast<double>(kPanelWidth) * static_cast<double>(panels.size()) * kPageHeight;
  AtomicOutput out(path, {}, 4.0 * page_pixels);  // an uncompressed RGBA page bounds the PNG
  draw_figure(out.temporary(), panels, title, pixel_size, length_unit);
  out.commit();
  return true;
#else
  (void)path;
  (void)title;
  (void)length_unit;
  return false;
#endif
}

}  // namespace magcnn
