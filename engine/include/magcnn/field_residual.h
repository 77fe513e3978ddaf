// Whether a predicted magnetization explains the measured field: forward it with the exact model on the
// measured map's own grid and geometry and compare, per map. No network knows when it is wrong; the
// forward model does.
//
// The prediction is an amplitude |m| (the seed's target) whose direction the network does not give. When
// the direction is known (the input file holds it) it is used; otherwise the uniform direction that best
// explains the field is fitted: Bz is linear in m, so with F_x, F_y, F_z the fields of the amplitude
// magnetized along x, y and z, least squares over c gives Bz ~ c . F, the direction c / |c| and the
// factor |c| by which the field asks the amplitude (or Ms) to be scaled. The residual is always that of
// the amplitude as predicted, along the unit direction.
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
  // For maps of ny x nx pixels of `geometry`, the field in `unit` (tesla, or b on a grid in units of d).
  // The forward model runs in float on every backend: a residual needs no more digits.
  FieldResidual(Backend& backend, const FilmGeometry& geometry, int64_t ny, int64_t nx, FieldUnit unit);
  ~FieldResidual();
  // amplitude, measured: [ny, nx] on the host. direction: a unit vector, or nullopt to fit one.
  ResidualReport evaluate(const float* amplitude, const float* measured, const std::optional<std::array<double, 3>>& direction);
  // The field of the last evaluate()'s magnetization [ny, nx] (for figures and tests).
  const std::vector<float>& predicted_field() const { return predicted_; }

 private:
  Backend& backend_;
  int64_t ny_, nx_;
  std::unique_ptr<ForwardModel> model_;
  Tensor shape_, directions_, basis_;
  std::vector<float> stage_, basis_host_, predicted_;
};

}  // namespace magcnn
