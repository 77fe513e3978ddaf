// magcnn-forward: the stray field Bz (tesla) of magnetization maps read from HDF5.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "cli.h"
#include "magcnn/dataset_io.h"
#include "magcnn/forward_model.h"
#include "magcnn/progress.h"

namespace {

// Maps per device call: workspaces of about 1 GB (three padded planes of 2H x 2W each per map).
int64_t batch_for(const magcnn::Backend& backend, int64_t n, int64_t ny, int64_t nx) {
  const double per_map = 12.0 * static_cast<double>(ny * nx) * (backend.preferred_real() == magcnn::DType::F64 ? 8 : 4);
  return std::clamp<int64_t>(static_cast<int64_t>(1e9 / per_map), 1, n);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace magcnn;
  CLI::App app{"Computes the stray field Bz (tesla) above a thin film from its magnetization maps: datasets mx, my, mz "
               "([H, W] or [N, H, W], unit magnetization M/Ms) with attributes pixel_size_m, standoff_m, thickness_m, "
               "Ms_A_per_m; flags override the attributes, which override [forward] in the configuration.",
               "magcnn-forward"};
  app::Common common;
  app::add_common_flags(app, common, true);
  std::string in, method;
  double pixel = 0, standoff = 0, thickness = 0, Ms = 0;
  app.add_option("--in", in, "magnetization maps (HDF5)")->required();
  auto* o_method = app.add_option("--method", method, "exact | spectral [forward.method]")->check(CLI::IsMember({"exact", "spectral"}));
  auto* o_pixel = app.add_option("--pixel-size", pixel, "pixel size h in metres");
  auto* o_standoff = app.add_option("--standoff", standoff, "sensor height d above the film's top surface, metres");
  auto* o_thickness = app.add_option("--thickness", thickness, "film thickness t in metres");
  auto* o_Ms = app.add_option("--Ms", Ms, "saturation magnetization in A/m");

  return app::run(app, argc, argv, [&] {
    const Config config = app::load_config(common);
    MagnetizationMaps maps = read_magnetization(in);
    check_magnetization(maps);
    FilmGeometry& g = maps.geometry;
    // flags > the file's attributes (0 when absent) > [forward] in the configuration
    auto pick = [&](CLI::Option* flag, double flag_value, double& value, const std::optional<double>& from_config,
                    const char* attr) {
      if (*flag) {
        value = flag_value;
      } else if (value == 0 && from_config) {
        value = *from_config;
      } else if (value == 0) {
        throw InvalidInput(in + " has no attribute " + attr + " and none was given: pass " + flag->get_name() +
                           " (or set forward." + attr + " in the configuration)");
      }
    };
    pick(o_pixel, pixel, g.pixel_size_m, config.forward.pixel_size_m, "pixel_size_m");
    pick(o_standoff, standoff, g.standoff_m, config.forward.standoff_m, "standoff_m");
    pick(o_thickness, thickness, g.thickness_m, config.forward.thickness_m, "thickness_m");
    pick(o_Ms, Ms, g.Ms_A_per_m, config.forward.Ms_A_per_m, "Ms_A_per_m");
    g.validate();
    const ForwardMethod m = *o_method ? parse_forward_method(method) : config.forward.method;
    auto backend = app::open_backend(common);

    ForwardOptions options;
    options.method = m;
    options.max_batch = batch_for(*backend, maps.n, maps.ny, maps.nx);
    char line[320];
    std::snprintf(line, sizeof line,
                  "%lld map(s) of %lld x %lld: h = %.4g m, d = %.4g m (%.3g h), t = %.4g m, Ms = %.4g A/m, %s model",
                  static_cast<long long>(maps.n), static_cast<long long>(maps.ny), static_cast<long long>(maps.nx),
                  g.pixel_size_m, g.standoff_m, g.standoff_m / g.pixel_size_m, g.thickness_m, g.Ms_A_per_m,
                  forward_method_name(m));
    app::say(common, line);
    Progress progress("forward", maps.n, "maps", !common.quiet);
    ForwardModel model(*backend, g, maps.ny, maps.nx, options);
    const DType dt = model.dtype();
    const int64_t B = options.max_batch, plane = maps.ny * maps.nx;
    Tensor tx(*backend, dt, Shape{B, maps.ny, maps.nx}), ty(*backend, dt, Shape{B, maps.ny, maps.nx}),
        tz(*backend, dt, Shape{B, maps.ny, maps.nx}), tb(*backend, dt, Shape{B, maps.ny, maps.nx});
    std::vector<double> bz(static_cast<std::size_t>(maps.n * plane));
    std::vector<float> stage;
    for (int64_t first = 0; first < maps.n; first += B) {
      const int64_t n = std::min(B, maps.n - first);
      const auto range = [&](const std::vector<double>& v) {
        return std::make_pair(v.begin() + first * plane, v.begin() + (first + n) * plane);
      };
      const TensorView vx = tx.view().slice(0, n), vy = ty.view().slice(0, n), vz = tz.view().slice(0, n),
                       vb = tb.view().slice(0, n);
      const std::vector<double>* src[3] = {&maps.mx, &maps.my, &maps.mz};
      const TensorView* dst[3] = {&vx, &vy, &vz};
      for (int c = 0; c < 3; ++c) {
        const auto [b, e] = range(*src[c]);
        if (dt == DType::F64) {
          backend->upload(dst[c]->data, &*b, static_cast<std::size_t>(e - b) * sizeof(double));
        } else {
          stage.assign(b, e);
          backend->upload(dst[c]->data, stage.data(), stage.size() * sizeof(float));
        }
      }
      model.compute(vx, vy, vz, vb);
      if (dt == DType::F64) {
        backend->download(bz.data() + first * plane, vb.data, static_cast<std::size_t>(n * plane) * sizeof(double));
      } else {
        stage.resize(static_cast<std::size_t>(n * plane));
        backend->download(stage.data(), vb.data, stage.size() * sizeof(float));
        std::copy(stage.begin(), stage.end(), bz.begin() + first * plane);
      }
      progress.update(first + n);
    }
    write_field(common.out, bz, maps.n, maps.ny, maps.nx, maps.batched, g, m);
    progress.finish();
    const auto [lo, hi] = std::minmax_element(bz.begin(), bz.end());
    std::snprintf(line, sizeof line, "wrote %s: Bz from %.4g T to %.4g T", common.out.c_str(), *lo, *hi);
    app::say(common, line);
  });
}
