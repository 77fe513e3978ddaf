// Map figures: a PNG of the expected size appears whole, with no temporary left; bad arguments are refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "magcnn/error.h"
#include "magcnn/figures.h"
#include "temp_dir.h"

#ifndef MAGCNN_HAVE_PLPLOT
#error "compile with -DMAGCNN_HAVE_PLPLOT=0 or 1"
#endif

namespace magcnn {
namespace {

using test::TempDirTest;

std::vector<float> random_map(int64_t ny, int64_t nx, float lo, float hi, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(static_cast<size_t>(ny * nx));
  for (float& x : v) x = u(rng);
  return v;
}

MapPanel panel(const std::string& title, const std::string& unit, const std::vector<float>& v, int64_t ny, int64_t nx,
               bool diverging) {
  MapPanel p;
  p.title = title;
  p.unit = unit;
  p.values = v.data();
  p.ny = ny;
  p.nx = nx;
  p.diverging = diverging;
  return p;
}

#if MAGCNN_HAVE_PLPLOT
std::vector<unsigned char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

uint32_t big_endian(const std::vector<unsigned char>& b, size_t at) {
  return (uint32_t{b[at]} << 24) | (uint32_t{b[at + 1]} << 16) | (uint32_t{b[at + 2]} << 8) | uint32_t{b[at + 3]};
}

// The signature, then the IHDR chunk whose data starts with the width and height.
void expect_png(const std::string& path, uint32_t width, uint32_t height) {
  const std::vector<unsigned char> b = read_bytes(path);
  ASSERT_GE(b.size(), 24u) << path;
  const unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  EXPECT_TRUE(std::equal(signature, signature + 8, b.begin())) << path << " lacks the PNG signature";
  EXPECT_EQ(std::string(b.begin() + 12, b.begin() + 16), "IHDR");
  EXPECT_EQ(big_endian(b, 16), width);
  EXPECT_EQ(big_endian(b, 20), height);
}
#endif

class FiguresTest : public TempDirTest {};

TEST_F(FiguresTest, ThreePanelsOfASquareMap) {
  const auto field = random_map(30, 30, -40.0f, 25.0f, 1);
  const auto prediction = random_map(30, 30, 0.0f, 1.0f, 2);
  const auto truth = random_map(30, 30, 0.0f, 1.0f, 3);
  const std::vector<MapPanel> panels = {panel("measured Bz", "mT", field, 30, 30, true),
                                        panel("prediction |m|", "M/Ms", prediction, 30, 30, false),
                                        panel("truth |m|", "M/Ms", truth, 30, 30, false)};
  const bool drawn = plot_map_panels(path("map.png"), panels, "sample 0", 10.0, "nm");
#if MAGCNN_HAVE_PLPLOT
  ASSERT_TRUE(drawn);
  expect_png(path("map.png"), 1200, 420);
  expect_only({"map.png"});
#else
  EXPECT_FALSE(drawn);
  expect_only({});
#endif
}

TEST_F(FiguresTest, ThreePanelsOfAnOblongMapInPixels) {
  const auto field = random_map(64, 48, -3.0f, 3.0f, 4);
  const auto prediction = random_map(64, 48, 0.0f, 1.0f, 5);
  const std::vector<float> truth(64 * 48, 1.0f);  // constant: the colour range must be widened to draw
  const std::vector<MapPanel> panels = {panel("measured Bz", "mT", field, 64, 48, true),
                                        panel("prediction |m|", "M/Ms", prediction, 64, 48, false),
                                        panel("truth |m|", "M/Ms", truth, 64, 48, false)};
  const bool drawn = plot_map_panels(path("oblong.png"), panels, "sample #1: 64 x 48");
#if MAGCNN_HAVE_PLPLOT
  ASSERT_TRUE(drawn);
  expect_png(path("oblong.png"), 1200, 420);
  expect_only({"oblong.png"});
#else
  EXPECT_FALSE(drawn);
  expect_only({});
#endif
}

TEST_F(FiguresTest, OnePanelOfZeros) {
  const std::vector<float> zeros(20 * 10, 0.0f);
  const bool drawn = plot_map_panels(path("zeros.png"), {panel("Bz", "mT", zeros, 20, 10, true)}, "zeros", 2.5, "um");
#if MAGCNN_HAVE_PLPLOT
  ASSERT_TRUE(drawn);
  expect_png(path("zeros.png"), 400, 420);
  expect_only({"zeros.png"});
#else
  EXPECT_FALSE(drawn);
  expect_only({});
#endif
}

TEST_F(FiguresTest, BadArgumentsThrowAndWriteNothing) {
  const auto v = random_map(8, 8, 0.0f, 1.0f, 6);
  const MapPanel good = panel("m", "M/Ms", v, 8, 8, false);
  const std::string out = path("bad.png");
  EXPECT_THROW(plot_map_panels(out, {}, "none"), InvalidInput);
  EXPECT_THROW(plot_map_panels(out, std::vector<MapPanel>(5, good), "five"), InvalidInput);
  MapPanel null_values = good;
  null_values.values = nullptr;
  EXPECT_THROW(plot_map_panels(out, {good, null_values}, "null"), InvalidInput);
  for (const auto& [ny, nx] : std::vector<std::pair<int64_t, int64_t>>{{0, 8}, {8, 0}, {-1, 8}, {8, -3}}) {
    MapPanel sized = good;
    sized.ny = ny;
    sized.nx = nx;
    EXPECT_THROW(plot_map_panels(out, {sized}, "size"), InvalidInput) << ny << " x " << nx;
  }
  MapPanel huge = good;
  huge.ny = huge.nx = int64_t{1} << 40;  // refused before any value is read
  EXPECT_THROW(plot_map_panels(out, {huge}, "huge"), InvalidInput);
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                    -std::numeric_limits<float>::infinity()}) {
    std::vector<float> w = v;
    w[37] = bad;
    EXPECT_THROW(plot_map_panels(out, {panel("m", "M/Ms", w, 8, 8, false)}, "non-finite"), InvalidInput) << bad;
  }
  EXPECT_THROW(plot_map_panels(out, {good}, "pixel", std::numeric_limits<double>::quiet_NaN(), "nm"), InvalidInput);
  EXPECT_THROW(plot_map_panels(out, {good}, "pixel", std::numeric_limits<double>::infinity(), "nm"), InvalidInput);
  EXPECT_THROW(plot_map_panels(out, {good}, "pixel", 1e300, "nm"), InvalidInput);   // axes beyond 1e30
  EXPECT_THROW(plot_map_panels(out, {good}, "pixel", 1e-300, "nm"), InvalidInput);  // axes below 1e-30
  expect_only({});
}

#if MAGCNN_HAVE_PLPLOT
TEST_F(FiguresTest, UnwritablePathThrowsAndWritesNothing) {
  const auto v = random_map(8, 8, 0.0f, 1.0f, 7);
  EXPECT_THROW(plot_map_panels(path("missing/dir/map.png"), {panel("m", "M/Ms", v, 8, 8, false)}, "t"), InvalidInput);
  EXPECT_THROW(plot_map_panels(dir.string(), {panel("m", "M/Ms", v, 8, 8, false)}, "t"), InvalidInput);
  expect_only({});
}
#endif

// magcnn-scaling's fit: a power law with noise-free points is recovered; the points before `from`
// (fixed costs) do not pull it; the plot is a PNG of the stated size.
TEST_F(FiguresTest, PowerLawsAreFittedAndPlotted) {
  std::vector<double> x, y;
  for (double v = 32; v <= 4096; v *= 2) {
    x.push_back(v);
    y.push_back(v < 200 ? 1e-3 : 3e-9 * std::pow(v, 2.25));  // a floor, then the law
  }
  const PowerLaw fit = fit_power_law(x, y, 3);
  EXPECT_NEAR(fit.exponent, 2.25, 1e-9);
  EXPECT_NEAR(fit.prefactor, 3e-9, 1e-17);
  EXPECT_LT(fit_power_law(x, y, 0).exponent, 2.0);  // the floor pulls a fit over every point
  EXPECT_THROW(fit_power_law(x, y, x.size() - 1), InvalidInput);
  std::vector<double> bad = y;
  bad[4] = 0;
  EXPECT_THROW(plot_power_law(path("bad.png"), "t", "x", "y", x, bad, 3, 1, 1), InvalidInput);
  const bool drawn = plot_power_law(path("law.png"), "a law", "side", "seconds", x, y, 3, fit.exponent, fit.prefactor);
#if MAGCNN_HAVE_PLPLOT
  ASSERT_TRUE(drawn);
  expect_png(path("law.png"), 800, 600);
  expect_only({"law.png"});
#else
  EXPECT_FALSE(drawn);
  expect_only({});
#endif
}

}  // namespace
}  // namespace magcnn
