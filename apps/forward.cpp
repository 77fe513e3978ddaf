// magcnn-forward: the stray field (tesla) of magnetization maps read from HDF5, batch by batch: Bz, Bx, By
// or the component along an NV centre's axis.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "cli.h"
#include "magcnn/dataset_io.h"
#include "magcnn/forward_model.h"
#include "magcnn/interrupt.h"
#include "magcnn/progress.h"

namespace {

// The axis of --component (z, x, y) or of --nv-axis ("THETA,PHI" in degrees or "UX,UY,UZ").
magcnn::FieldAxis parse_axis(const std::string& component, const std::string& nv_axis, bool nv_given) {
  using magcnn::InvalidInput;
  if (component != "nv") {
    if (nv_given) throw InvalidInput("--nv-axis is the axis of --component nv; with --component " + component + " leave it out");
    return magcnn::parse_field_axis(component);
  }
  if (!nv_given) throw InvalidInput("--component nv needs --nv-axis THETA,PHI (degrees) or --nv-axis UX,UY,UZ");
  try {
    return magcnn::parse_field_axis(nv_axis);
  } catch (const InvalidInput& e) {
    throw InvalidInput(std::string("--nv-axis: ") + e.what());
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace magcnn;
  CLI::App app{"Computes the stray field (tesla) above a thin film from its magnetization maps: datasets mx, my, mz "
               "([H, W] or [N, H, W], unit magnetization M/Ms) with attributes pixel_size_m, standoff_m, thickness_m, "
               "Ms_A_per_m; flags override the attributes, which override [forward] in the configuration. Writes Bz, "
               "or Bx, By, or Bnv (the field along an NV axis) with --component.",
               "magcnn-forward"};
  app::Common common;
  app::add_common_flags(app, common, true);
  std::string in, method, component = "z", nv_axis;
  app::GeometryFlags geometry;
  app.add_option("--in", in, "magnetization maps (HDF5)")->required();
  auto* o_method = app.add_option("--method", method, "exact | spectral [forward.method]")->check(CLI::IsMember({"exact", "spectral"}));
  app.add_option("--component", component, "the field component written: z (Bz), x (Bx), y (By), nv (along --nv-axis)")
      ->check(CLI::IsMember({"z", "x", "y", "nv"}));
  auto* o_nv = app.add_option("--nv-axis", nv_axis,
                              "the NV axis of --component nv: THETA,PHI (polar angle from +z and azimuth from +x, degrees) or "
                              "UX,UY,UZ (a vector; normalized)");
  geometry.add(app);

  return app::run(app, argc, argv, [&] {
    const Config config = app::load_config(common);
    app::check_output(common, {in});
    const MagnetizationFile maps(in);
    // flags > the file's attributes > [forward] in the configuration
    const FilmGeometry g = geometry.resolve(maps.attributes(), config.forward, in);
    g.validate();
    const ForwardMethod m = *o_method ? parse_forward_method(method) : config.forward.method;
    const FieldAxis axis = parse_axis(component, nv_axis, o_nv->count() > 0);
    const std::string name = field_dataset_name(axis);
    auto backend = app::open_backend(common);

    const int64_t n = maps.count(), ny = maps.ny(), nx = maps.nx(), plane = ny * nx;
    ForwardOptions options;
    options.method = m;
    options.axis = axis;
    options.max_batch = ForwardModel::suggested_batch(*backend, n, ny, nx);
    char line[400];
    std::snprintf(line, sizeof line,
                  "%lld map(s) of %lld x %lld: h = %.4g m, d = %.4g m (%.3g h), t = %.4g m, Ms = %.4g A/m, %s model, %s",
                  static_cast<long long>(n), static_cast<long long>(ny), static_cast<long long>(nx), g.pixel_size_m,
                  g.standoff_m, g.standoff_m / g.pixel_size_m, g.thickness_m, g.Ms_A_per_m, forward_method_name(m),
                  (name + (axis.describe().size() > 1 ? " along " + axis.describe() : std::string())).c_str());
    app::say(common, line);
    ForwardModel model(*backend, g, ny, nx, options);
    FieldWriter writer(common.out, n, ny, nx, maps.batched(), g, m, {in}, axis);
    Progress progress("forward", n, "maps", !common.quiet);
    const DType dt = model.dtype();
    const int64_t B = options.max_batch;
    const auto values = static_cast<std::size_t>(B * plane);
    std::vector<double> host[3] = {std::vector<double>(values), std::vector<double>(values), std::vector<double>(values)};
    std::vector<double> field(values);
    std::vector<float> stage(values);
    Tensor device[3] = {Tensor(*backend, dt, Shape{B, ny, nx}), Tensor(*backend, dt, Shape{B, ny, nx}),
                        Tensor(*backend, dt, Shape{B, ny, nx})};
    Tensor bz(*backend, dt, Shape{B, ny, nx});
    double lo = INFINITY, hi = -INFINITY;
    for (int64_t first = 0; first < n; first += B) {
      throw_if_interrupted();
      const int64_t count = std::min(B, n - first);
      const std::size_t batch_values = static_cast<std::size_t>(count * plane);
      maps.read(first, count, host[0].data(), host[1].data(), host[2].data());
      for (int c = 0; c < 3; ++c) {
        if (dt == DType::F64) {
          backend->upload(device[c].data<double>(), host[c].data(), batch_values * sizeof(double));
        } else {
          std::copy(host[c].begin(), host[c].begin() + static_cast<std::ptrdiff_t>(batch_values), stage.begin());
          backend->upload(device[c].data<float>(), stage.data(), batch_values * sizeof(float));
        }
      }
      const TensorView vb = bz.view().slice(0, count);
      model.compute(device[0].view().slice(0, count), device[1].view().slice(0, count), device[2].view().slice(0, count), vb);
      if (dt == DType::F64) {
        backend->download(field.data(), vb.data, batch_values * sizeof(double));
        std::copy(field.begin(), field.begin() + static_cast<std::ptrdiff_t>(batch_values), stage.begin());
      } else {
        backend->download(stage.data(), vb.data, batch_values * sizeof(float));
      }
      writer.append(stage.data(), count);
      const auto [b_lo, b_hi] = std::minmax_element(stage.begin(), stage.begin() + static_cast<std::ptrdiff_t>(batch_values));
      lo = std::min<double>(lo, *b_lo);
      hi = std::max<double>(hi, *b_hi);
      progress.update(first + count);
    }
    writer.commit();
    progress.finish();
    std::snprintf(line, sizeof line, "wrote %s: %s from %.4g T to %.4g T", common.out.c_str(), name.c_str(), lo, hi);
    app::say(common, line);
  });
}
