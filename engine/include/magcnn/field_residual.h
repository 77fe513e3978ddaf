// Whether a predicted magnetization explains the measured field: forward it with the exact model on the
// measured map's own grid and geometry and compare, per map. No network knows when it is wrong; the
// forward model does.
//
// Bz is linear in m. The seed's `shape` target is an amplitude |m| whose direction the network does not
// give: with F_x, F_y, F_z the fields of the amplitude magnetized along x, y and z, Bz ~ c . F. When the
// direction is known (the input file holds it) c is that unit vector; otherwise least squares over c
// gives the uniform direction c / |c| that best explains the field and the factor |c| by which the field
// asks the amplitude (or Ms) to be scaled. The `polar` target is theta inside the film, 0 outside: the
// film is where theta > kPolarFilmTheta, of full amplitude, and with G_x, G_y the fields of
// sin(theta) along x and y and G_z that of cos(theta) along z, Bz ~ cos(phi) G_x + sin(phi) G_y + G_z;
// phi is known or fitted the same way (a film pointing straight up, theta = 0, is invisible to a polar
// model). The residual is always that of the prediction as it is, along a unit direction. The `vector`
// target gives mx, my and mz: their field is forwarded as it is, nothing fitted.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>

#include "magcnn/backend.h"
#include "magcnn/forward_model.h"
#include "magcnn/geometry.h"

namespace magcnn {

struct ResidualReport {
  double relative_l2 = 1;   // ||B(prediction) - B(measured)|| / ||B(measured)||
  double theta_rad = 0, phi_rad = 0;  // the direction used
  double scale = 1;         // fitted: |c| (1 for a known direction)
  bool fitted = false;      // the direction was fitted, not known
  bool empty = false;       // the prediction is zero everywhere: it explains nothing (relative_l2 = 1)
};

class FieldResidual {
 public:
  // For up to `max_maps` maps of ny x nx pixels of `geometry` per call, the field in `unit` (tesla, or b
  // on a grid in units of d). The forward model runs in float on every backend: a residual needs no
  // more digits.
  // The field compared is B . axis (Bz by default), as the measured maps hold it.
  FieldResidual(Backend& backend, const FilmGeometry& geometry, int64_t ny, int64_t nx, FieldUnit unit, int64_t max_maps = 1,
                const FieldAxis& axis = FieldAxis{});
  ~FieldResidual();
  int64_t max_maps() const { return max_maps_; }
  // The most maps per call, up to `wanted`, whose forward model takes at most a quarter of the backend's
  // free memory (at least 1).
  static int64_t maps_that_fit(const Backend& backend, int64_t ny, int64_t nx, int64_t wanted, const FieldAxis& axis = FieldAxis{});
  // `count` maps (1 <= count <= max_maps): amplitude, measured [count, ny, nx] on the host; directions:
  // count unit vectors or nullopt (fit one), or nullptr (fit every one); reports [count].
  void evaluate(int64_t count, const float* amplitude, const float* measured,
                const std::optional<std::array<double, 3>>* directions, ResidualReport* reports);
  // One map.
  ResidualReport evaluate(const float* amplitude, const float* measured, const std::optional<std::array<double, 3>>& direction);
  // A polar model's prediction: theta [count, ny, nx] (radians); phis: count azimuths or nullopt (fit),
  // or nullptr (fit every one). The reports' theta_rad is the mean theta over the film.
  void evaluate_polar(int64_t count, const float* theta, const float* measured, const std::optional<double>* phis,
                      ResidualReport* reports);
  // A vector model's prediction: m [count, 3, ny, nx] (mx, my, mz planes per map). Nothing is fitted:
  // the three maps are forwarded as predicted and compared, a full consistency check. The reports'
  // theta_rad and phi_rad are the direction of the map's summed m; scale is 1.
  void evaluate_vector(int64_t count, const float* m, const float* measured, ResidualReport* reports);
  static constexpr float kPolarFilmTheta = 0.05f;  // radians: a polar prediction below this is "no film"

 private:
  void forward_basis(int64_t count);  // stage_'s 3 planes per map -> basis_host_
  ResidualReport fit(const float* const F[3], const float* measured, const std::optional<std::array<double, 3>>& direction) const;
  ResidualReport fit_polar(const float* const G[3], const float* measured, const std::optional<double>& phi) const;
  // The relative L2 of sum_i w_i F_i against the measured field, and whether that sum is empty.
  void compare(const float* const F[3], const std::array<double, 3>& w, const float* measured, ResidualReport& report) const;
  Backend& backend_;
  int64_t ny_, nx_, max_maps_;
  std::unique_ptr<ForwardModel> model_;
  Tensor shape_, directions_, basis_;
  std::vector<float> stage_, basis_host_;
};

}  // namespace magcnn
