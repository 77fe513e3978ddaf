// magcnn-example: the seed's test shape (Predict_cnn --example, configs/example.toml's [example]) as
// magnetization maps in physical units, for magcnn-forward and then magcnn-infer --truth.
#include <cmath>
#include <cstdio>
#include <optional>

#include "cli.h"
#include "kernels/ellipse.h"
#include "magcnn/dataset_io.h"

int main(int argc, char** argv) {
  using namespace magcnn;
  CLI::App app{"Writes the seed's test shape, one smoothed ellipse magnetized uniformly ([example] in the configuration: "
               "configs/example.toml), as magnetization maps mx, my, mz with the geometry of [forward] as attributes.",
               "magcnn-example"};
  app::Common common;
  app::add_common_flags(app, common, true);
  return app::run(app, argc, argv, [&] {
    const Config config = app::load_config(common);
    app::check_output(common);
    const ExampleShape& e = config.example;
    FilmGeometry g;
    for (const auto& [key, value, out] : {std::tuple{"standoff_m", config.forward.standoff_m, &g.standoff_m},
                                          std::tuple{"thickness_m", config.forward.thickness_m, &g.thickness_m},
                                          std::tuple{"Ms_A_per_m", config.forward.Ms_A_per_m, &g.Ms_A_per_m}}) {
      MAGCNN_REQUIRE(value, config.source << " has no forward." << key << ": the example needs the film's geometry (see configs/example.toml)");
      *out = *value;
    }
    const double per_d = static_cast<double>(e.pixels_per_standoff);
    g.pixel_size_m = g.standoff_m / per_d;
    g.validate();
    const double side_pixels = std::round(e.side_d * per_d);
    MAGCNN_REQUIRE(side_pixels >= 4 && side_pixels <= 8192,
                   "example.side_d x example.pixels_per_standoff = " << side_pixels << " pixels a side; 4 to 8192 are made");
    const auto n = static_cast<int64_t>(side_pixels);

    // The seed's rasterization (kernels/ellipse.h, run here on the host): lengths in units of d, the
    // first pixel's centre half a pixel from the corner.
    const double h = 1.0 / per_d, deg = M_PI / 180, tilt = e.tilt_deg * deg;
    double p[kern::kEllipseParamCount] = {};
    p[kern::kTheta] = e.theta_deg * deg;
    p[kern::kPhi] = e.phi_deg * deg;
    p[kern::kSemiAxisA] = e.semi_axis_a_d;
    p[kern::kSemiAxisB] = e.semi_axis_b_d;
    p[kern::kTilt] = tilt;
    p[kern::kCentreX] = e.centre_x * e.side_d;
    p[kern::kCentreY] = e.centre_y * e.side_d;
    p[kern::kHalfWidthX] = std::hypot(e.semi_axis_a_d * std::cos(tilt), e.semi_axis_b_d * std::sin(tilt));
    p[kern::kHalfWidthY] = std::hypot(e.semi_axis_a_d * std::sin(tilt), e.semi_axis_b_d * std::cos(tilt));
    std::vector<double> shape(static_cast<std::size_t>(n * n));
    const kern::RasterizeEllipse<double> raster{p, shape.data(), n, n, n * n, 0.5 * h, h};
    for (int64_t i = 0; i < n * n; ++i) raster(i);

    MagnetizationMaps maps;
    maps.n = 1;
    maps.ny = maps.nx = n;
    const double u[3] = {std::sin(p[kern::kTheta]) * std::cos(p[kern::kPhi]), std::sin(p[kern::kTheta]) * std::sin(p[kern::kPhi]),
                         std::cos(p[kern::kTheta])};
    for (double s : shape) {
      maps.mx.push_back(s * u[0]);
      maps.my.push_back(s * u[1]);
      maps.mz.push_back(s * u[2]);
    }
    write_magnetization(common.out, maps, g);
    char line[320];
    std::snprintf(line, sizeof line,
                  "wrote %s: %lld x %lld pixels of %.4g m (d/%lld): ellipse %.3g d x %.3g d, tilt %.4g deg, centre (%.3g, %.3g) of "
                  "the map, theta %.4g deg, phi %.4g deg",
                  common.out.c_str(), static_cast<long long>(n), static_cast<long long>(n), g.pixel_size_m,
                  static_cast<long long>(e.pixels_per_standoff), e.semi_axis_a_d, e.semi_axis_b_d, e.tilt_deg, e.centre_x,
                  e.centre_y, e.theta_deg, e.phi_deg);
    app::say(common, line);
  });
}
