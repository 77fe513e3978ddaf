// magcnn-infer: magnetization maps from measured stray-field maps with a model from magcnn-train, each
// checked against its field with the exact forward model.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "cli.h"
#include "magcnn/atomic_output.h"
#include "magcnn/figures.h"
#include "magcnn/inference.h"
#include "magcnn/inference_io.h"
#include "magcnn/interrupt.h"
#include "magcnn/progress.h"

namespace {

using namespace magcnn;
namespace fs = std::filesystem;

std::array<double, 3> unit_vector(double theta, double phi) {
  return {std::sin(theta) * std::cos(phi), std::sin(theta) * std::sin(phi), std::cos(theta)};
}

// The truth from magnetization maps (magcnn-forward's input): the amplitude |m| of every map and its
// mean direction, which is its direction when the map is collinear.
void take_truth(const std::string& path, FieldMaps& maps) {
  const MagnetizationMaps t = read_magnetization(path);
  MAGCNN_REQUIRE(t.n == maps.n && t.ny == maps.ny && t.nx == maps.nx,
                 "--truth " << path << " holds " << t.n << " map(s) of " << t.ny << " x " << t.nx << "; --in holds " << maps.n
                            << " of " << maps.ny << " x " << maps.nx);
  const int64_t plane = t.ny * t.nx;
  maps.truth.resize(static_cast<std::size_t>(t.n * plane));
  maps.truth_target = "shape";
  maps.theta.assign(static_cast<std::size_t>(t.n), 0);
  maps.phi.assign(static_cast<std::size_t>(t.n), 0);
  for (int64_t i = 0; i < t.n; ++i) {
    double sx = 0, sy = 0, sz = 0;
    for (int64_t p = i * plane; p < (i + 1) * plane; ++p) {
      const auto q = static_cast<std::size_t>(p);
      maps.truth[q] = static_cast<float>(std::sqrt(t.mx[q] * t.mx[q] + t.my[q] * t.my[q] + t.mz[q] * t.mz[q]));
      sx += t.mx[q];
      sy += t.my[q];
      sz += t.mz[q];
    }
    const double norm = std::sqrt(sx * sx + sy * sy + sz * sz);
    if (norm > 0) {
      maps.theta[static_cast<std::size_t>(i)] = std::acos(std::clamp(sz / norm, -1.0, 1.0));
      maps.phi[static_cast<std::size_t>(i)] = std::atan2(sy, sx);
    }
  }
}

std::string figure_path(const std::string& out, int64_t map, int64_t n) {
  fs::path p(out);
  const std::string stem = (p.parent_path() / p.stem()).string();
  return n == 1 ? stem + ".png" : stem + "_" + std::to_string(map) + ".png";
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

constexpr double kDeg = 180.0 / 3.14159265358979323846;

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Reconstructs the magnetization of a thin film from stray-field maps Bz with a model from magcnn-train. Inputs: "
               "HDF5 (Bz [H, W] or [N, H, W] with attributes unit, pixel_size_m, standoff_m, thickness_m, Ms_A_per_m; a "
               "training set from magcnn-generate as it is), NumPy .npy, or 8-bit grayscale PNG with --range. Each map is "
               "resampled onto the model's grid (1 pixel = the standoff d), normalized, predicted whole (tiled when large), "
               "resampled back, and forwarded with the exact model to report how well the prediction explains the field.",
               "magcnn-infer"};
  app::Common common;
  app::add_common_flags(app, common, true);
  std::string model_path, in, unit_text, truth_path;
  std::vector<double> range;
  double pixel = 0, standoff = 0, thickness = 0, Ms = 0;
  int64_t batch = 256, tile = 0, png_limit = 16;
  bool png = false, no_residual = false;
  app.add_option("--model", model_path, "a model file from magcnn-train (RUN_DIR/model.h5)")->required();
  app.add_option("--in", in, "field maps: HDF5, .npy or PNG")->required();
  app.add_option("--unit", unit_text, "T | G | normalized: the unit of the maps, over the file's attribute")
      ->check(CLI::IsMember({"T", "G", "normalized"}));
  app.add_option("--range", range, "MIN MAX: the field of a PNG's black and white, in gauss")->expected(2);
  auto* o_pixel = app.add_option("--pixel-size", pixel, "pixel size h of the maps, metres");
  auto* o_standoff = app.add_option("--standoff", standoff, "sensor height d above the film's top surface, metres");
  auto* o_thickness = app.add_option("--thickness", thickness, "film thickness t, metres");
  auto* o_Ms = app.add_option("--Ms", Ms, "saturation magnetization, A/m");
  app.add_option("--truth", truth_path, "magnetization maps (mx, my, mz; HDF5) the field was made from: reports the MSE against |m|");
  app.add_option("--batch-size", batch, "maps (or tiles) per network pass")->check(app::integer_range(1, int64_t{1} << 20));
  app.add_option("--tile", tile, "tile side in model pixels (a multiple of 4); 0: whole maps when they fit in memory")
      ->check(app::integer_range(0, int64_t{1} << 20));
  app.add_flag("--png", png, "also write a figure per map (field, prediction, truth) beside --out");
  app.add_option("--png-limit", png_limit, "figures for at most this many maps")->check(app::integer_range(1, int64_t{1} << 20));
  app.add_flag("--no-residual", no_residual, "skip the physics residual (the forward model on every map)");

  return app::run(app, argc, argv, [&] {
    const Config config = app::load_config(common);
    std::vector<std::string> inputs{in, model_path};
    if (!truth_path.empty()) inputs.push_back(truth_path);
    app::check_output(common, inputs);
    const ModelFile model = load_model(model_path);
    const bool shape_model = model.config.data.target == TargetKind::Shape;

    FieldMapsOptions read_options;
    if (!unit_text.empty()) read_options.unit = parse_map_unit(unit_text);
    if (!range.empty()) read_options.png_range_G = std::make_pair(range[0], range[1]);
    FieldMaps maps = read_field_maps(in, read_options);
    // The figures go beside --out: none may replace an input or the prediction itself.
    if (png) {
      std::vector<std::string> taken = inputs;
      taken.push_back(common.out);
      for (int64_t i = 0; i < std::min(maps.n, png_limit); ++i) {
        const std::string figure = figure_path(common.out, i, maps.n);
        MAGCNN_REQUIRE(fs::absolute(figure).lexically_normal() != fs::absolute(common.out).lexically_normal(),
                       "--png: the figure " << figure << " would replace --out " << common.out << ": give --out a name ending in .h5");
        check_output_path(figure, taken);
      }
    }
    if (!truth_path.empty()) take_truth(truth_path, maps);
    MAGCNN_REQUIRE(maps.unit, in << " does not say the unit of its field: give --unit T or --unit G");

    MapGrid grid;
    grid.ny = maps.ny;
    grid.nx = maps.nx;
    grid.normalized = *maps.unit == MapUnit::Normalized;
    if (grid.normalized) {
      for (CLI::Option* o : {o_pixel, o_standoff, o_thickness, o_Ms})
        MAGCNN_REQUIRE(!*o, o->get_name() << " does not apply to " << in << ": a training set is on the model's grid already");
      grid.geometry = FilmGeometry{maps.pixel_size_over_standoff, 1.0, maps.thickness_over_standoff, 1.0};
    } else {
      const auto flag = [](CLI::Option* o, double v) { return *o ? std::optional<double>(v) : std::nullopt; };
      const GeometryAttributes& a = maps.attributes;
      FilmGeometry& g = grid.geometry;
      g.pixel_size_m = resolve_geometry_value("pixel_size_m", "--pixel-size", flag(o_pixel, pixel), a.pixel_size_m,
                                              config.forward.pixel_size_m, in);
      g.standoff_m = resolve_geometry_value("standoff_m", "--standoff", flag(o_standoff, standoff), a.standoff_m,
                                            config.forward.standoff_m, in);
      g.thickness_m = resolve_geometry_value("thickness_m", "--thickness", flag(o_thickness, thickness), a.thickness_m,
                                             config.forward.thickness_m, in);
      g.Ms_A_per_m = resolve_geometry_value("Ms_A_per_m", "--Ms", flag(o_Ms, Ms), a.Ms_A_per_m, config.forward.Ms_A_per_m, in);
      grid.tesla_per_unit = tesla_per(*maps.unit);
    }
    auto backend = app::open_backend(common);

    InferenceOptions options;
    options.predictor.max_batch = batch;
    options.predictor.expected_maps = maps.n;
    options.predictor.tile = tile;
    options.residual = !no_residual;
    std::unique_ptr<Inference> made;
    try {
      made = std::make_unique<Inference>(*backend, model, grid, options);
    } catch (const InvalidInput& e) {
      throw InvalidInput(in + ": " + e.what());
    }
    Inference& inference = *made;

    char line[512];
    std::snprintf(line, sizeof line, "%lld map(s) of %lld x %lld from %s (%s, %s)", static_cast<long long>(maps.n),
                  static_cast<long long>(maps.ny), static_cast<long long>(maps.nx), in.c_str(), maps.format.c_str(),
                  map_unit_name(*maps.unit));
    app::say(common, line);
    if (!grid.normalized) {
      const FilmGeometry& g = grid.geometry;
      const double model_t = model.config.data.thickness_over_standoff, t = g.thickness_m / g.standoff_m;
      std::snprintf(line, sizeof line, "geometry: h = %.4g m, d = %.4g m (%.3g h), t = %.4g m (%.3g d), Ms = %.4g A/m",
                    g.pixel_size_m, g.standoff_m, g.standoff_m / g.pixel_size_m, g.thickness_m, t, g.Ms_A_per_m);
      app::say(common, line);
      if (t > 2 * model_t || t < 0.5 * model_t) {
        std::snprintf(line, sizeof line, "note: the model was trained for t/d = %.3g; these maps have t/d = %.3g", model_t, t);
        app::say(common, line);
      }
    }
    if (!maps.note.empty()) app::say(common, "note: " + maps.note);
    app::say(common, "resampling: " + inference.describe_resampling());
    app::say(common, "network: " + inference.predictor().describe());
    if (!inference.computes_residual())
      app::say(common, shape_model ? "physics residual: skipped (--no-residual)"
                                   : "physics residual: not computed (a polar model predicts theta, not the amplitude |m|)");

    // The truth is compared when it is what the model predicts.
    const std::string target = target_kind_name(model.config.data.target);
    const bool compare = !maps.truth.empty() && maps.truth_target == target;
    if (!maps.truth.empty() && !compare)
      app::say(common, "note: " + in + " holds a " + maps.truth_target + " truth; the model predicts " + target + ": no MSE");

    const int64_t n = maps.n, plane = maps.ny * maps.nx;
    std::vector<std::optional<std::array<double, 3>>> directions(static_cast<std::size_t>(n));
    if (!maps.theta.empty())
      for (int64_t i = 0; i < n; ++i)
        directions[static_cast<std::size_t>(i)] = unit_vector(maps.theta[static_cast<std::size_t>(i)], maps.phi[static_cast<std::size_t>(i)]);

    PredictionFile result;
    result.n = n;
    result.ny = maps.ny;
    result.nx = maps.nx;
    result.batched = maps.batched;
    result.target = target;
    result.prediction.resize(static_cast<std::size_t>(n * plane));
    result.residuals.resize(static_cast<std::size_t>(n));
    Progress progress("infer", n, "maps", !common.quiet);
    const int64_t chunk = std::max<int64_t>(inference.maps_per_pass(), 1);
    for (int64_t first = 0; first < n; first += chunk) {
      throw_if_interrupted();
      const int64_t count = std::min(chunk, n - first);
      inference.run(maps.field.data() + first * plane, count, directions.data() + first, result.prediction.data() + first * plane,
                    result.residuals.data() + first);
      progress.update(first + count);
    }
    progress.finish();
    if (compare) {
      result.mse.resize(static_cast<std::size_t>(n));
      for (int64_t i = 0; i < n; ++i) {
        double s = 0;
        for (int64_t p = i * plane; p < (i + 1) * plane; ++p) {
          const double e = double(result.prediction[static_cast<std::size_t>(p)]) - maps.truth[static_cast<std::size_t>(p)];
          s += e * e;
        }
        result.mse[static_cast<std::size_t>(i)] = s / static_cast<double>(plane);
      }
    }
    if (!inference.computes_residual()) {
      result.residuals.clear();
      result.residual_note = shape_model ? "not computed (--no-residual)"
                                         : "not computed: a polar model predicts theta, not the amplitude |m|";
    }
    result.physical = !grid.normalized;
    result.geometry = grid.geometry;
    result.input = fs::absolute(in).lexically_normal().string();
    result.input_format = maps.format;
    result.input_unit = map_unit_name(*maps.unit);
    result.model = fs::absolute(model_path).lexically_normal().string();
    const NetworkConfig& nc = model.config.network;
    std::snprintf(line, sizeof line, "target %s; base_channels %lld, depth %lld, kernel %lld, %s/%s; trained %lld epochs on %s (%s), validation MSE %.4g",
                  target.c_str(), static_cast<long long>(nc.base_channels), static_cast<long long>(nc.depth),
                  static_cast<long long>(nc.kernel_size), nc.activation.c_str(), nc.output_activation.c_str(),
                  static_cast<long long>(model.state.epoch), model.data.c_str(), model.device.c_str(),
                  model.state.history.empty() ? 0.0 : model.state.history.back().validation_mse);
    result.model_summary = line;
    result.resampling = inference.describe_resampling();
    write_predictions(common.out, result, inputs);

    // The summary: per map for a few, the spread over many.
    std::vector<double> residuals, mses;
    for (int64_t i = 0; i < n; ++i) {
      const auto k = static_cast<std::size_t>(i);
      if (inference.computes_residual()) residuals.push_back(result.residuals[k].relative_l2);
      if (compare) mses.push_back(result.mse[k]);
      if (n > 8) continue;
      std::string text = n > 1 ? "map " + std::to_string(i) + ": " : "";
      if (compare) {
        std::snprintf(line, sizeof line, "MSE against the truth %.4g; ", result.mse[k]);
        text += line;
      }
      if (inference.computes_residual()) {
        const ResidualReport& r = result.residuals[k];
        std::snprintf(line, sizeof line, "physics residual %.4g (relative L2 of the field), direction %s theta %.1f, phi %.1f deg",
                      r.relative_l2, r.fitted ? "fitted:" : "given:", r.theta_rad * kDeg, r.phi_rad * kDeg);
        text += line;
        if (r.fitted) {
          std::snprintf(line, sizeof line, ", amplitude scale %.3g", r.scale);
          text += line;
        }
      }
      app::say(common, text);
    }
    if (n > 8) {
      if (compare) {
        double mean = 0;
        for (double v : mses) mean += v / static_cast<double>(mses.size());
        std::snprintf(line, sizeof line, "MSE against the truth: mean %.4g, median %.4g", mean, median(mses));
        app::say(common, line);
      }
      if (!residuals.empty()) {
        std::snprintf(line, sizeof line, "physics residual (relative L2 of the field): median %.4g, worst %.4g", median(residuals),
                      *std::max_element(residuals.begin(), residuals.end()));
        app::say(common, line);
      }
    }
    app::say(common, "wrote " + common.out);

    if (png) {
      const int64_t figures = std::min(n, png_limit);
      const bool physical = !grid.normalized;
      const double field_scale = physical ? grid.tesla_per_unit * 1e3 : 1.0;  // mT
      const double pixel_nm = physical ? grid.geometry.pixel_size_m * 1e9 : grid.geometry.pixel_size_m;
      std::vector<float> field(static_cast<std::size_t>(plane));
      int64_t written = 0;
      for (int64_t i = 0; i < figures; ++i) {
        throw_if_interrupted();
        for (int64_t p = 0; p < plane; ++p)
          field[static_cast<std::size_t>(p)] = static_cast<float>(maps.field[static_cast<std::size_t>(i * plane + p)] * field_scale);
        std::vector<MapPanel> panels;
        panels.push_back(MapPanel{"measured Bz", physical ? "mT" : "b", field.data(), maps.ny, maps.nx, true});
        const char* what = shape_model ? "prediction |m|" : "prediction theta";
        panels.push_back(MapPanel{what, shape_model ? "M/Ms" : "rad", result.prediction.data() + i * plane, maps.ny, maps.nx, false});
        if (compare) panels.push_back(MapPanel{shape_model ? "truth |m|" : "truth theta", shape_model ? "M/Ms" : "rad",
                                               maps.truth.data() + i * plane, maps.ny, maps.nx, false});
        std::string title = fs::path(in).filename().string() + (n > 1 ? " map " + std::to_string(i) : "");
        if (compare) {
          std::snprintf(line, sizeof line, ": MSE %.3g", result.mse[static_cast<std::size_t>(i)]);
          title += line;
        }
        if (inference.computes_residual()) {
          std::snprintf(line, sizeof line, "%s residual %.3g", compare ? "," : ":", result.residuals[static_cast<std::size_t>(i)].relative_l2);
          title += line;
        }
        if (!plot_map_panels(figure_path(common.out, i, n), panels, title, pixel_nm, physical ? "nm" : "d")) {
          app::say(common, "--png: this build has no PLplot; no figures written");
          break;
        }
        ++written;
      }
      if (written > 0) {
        app::say(common, "wrote " + std::to_string(written) + " figure(s): " + figure_path(common.out, 0, n) +
                             (written > 1 ? " ..." : "") + (n > figures ? " (--png-limit " + std::to_string(png_limit) + ")" : ""));
      }
    }
  });
}
