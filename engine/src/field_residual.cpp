#include "magcnn/field_residual.h"

#include <algorithm>
#include <cmath>

namespace magcnn {
namespace {

// Solves the symmetric 3 x 3 system g c = r by Gaussian elimination with partial pivoting; false when g
// is singular to rounding (the basis fields are linearly dependent).
bool solve3(std::array<std::array<double, 3>, 3> g, std::array<double, 3> r, std::array<double, 3>& c) {
  const double scale = std::max({std::fabs(g[0][0]), std::fabs(g[1][1]), std::fabs(g[2][2])});
  if (!(scale > 0)) return false;
  for (int col = 0; col < 3; ++col) {
    int pivot = col;
    for (int row = col + 1; row < 3; ++row)
      if (std::fabs(g[row][col]) > std::fabs(g[pivot][col])) pivot = row;
    if (std::fabs(g[pivot][col]) < 1e-12 * scale) return false;
    std::swap(g[col], g[pivot]);
    std::swap(r[col], r[pivot]);
    for (int row = col + 1; row < 3; ++row) {
      const double f = g[row][col] / g[col][col];
      for (int k = col; k < 3; ++k) g[row][k] -= f * g[col][k];
      r[row] -= f * r[col];
    }
  }
  for (int row = 2; row >= 0; --row) {
    double s = r[row];
    for (int k = row + 1; k < 3; ++k) s -= g[row][k] * c[k];
    c[row] = s / g[row][row];
  }
  return true;
}

// The azimuth of (x, y), in [0, 2 pi).
double azimuth_rad(double y, double x) {
  const double phi = std::atan2(y, x);
  return phi < 0 ? phi + 2 * M_PI : phi;
}

}  // namespace

FieldResidual::FieldResidual(Backend& backend, const FilmGeometry& geometry, int64_t ny, int64_t nx, FieldUnit unit, int64_t max_maps,
                             const FieldAxis& axis)
    : backend_(backend), ny_(ny), nx_(nx), max_maps_(max_maps) {
  MAGCNN_REQUIRE(max_maps >= 1, "FieldResidual needs max_maps >= 1");
  ForwardOptions o;
  o.method = ForwardMethod::Exact;
  o.axis = axis;  // B . u is linear in m as Bz is: the same fits hold
  o.unit = unit;
  o.max_batch = 3 * max_maps;  // each map three times: along x, y and z
  o.dtype = DType::F32;
  o.dtype_from_backend = false;
  model_ = std::make_unique<ForwardModel>(backend, geometry, ny, nx, o);
  shape_ = Tensor(backend, DType::F32, Shape{3 * max_maps, ny, nx});
  directions_ = Tensor(backend, DType::F32, Shape{3 * max_maps, 3});
  std::vector<float> axes(static_cast<std::size_t>(9 * max_maps), 0.0f);
  for (int64_t i = 0; i < 3 * max_maps; ++i) axes[static_cast<std::size_t>(3 * i + i % 3)] = 1.0f;
  directions_.upload(axes);
  basis_ = Tensor(backend, DType::F32, Shape{3 * max_maps, model_->out_ny(), model_->out_nx()});
  const auto values = static_cast<std::size_t>(3 * max_maps * ny * nx);
  stage_.resize(values);
  basis_host_.resize(values);
}

FieldResidual::~FieldResidual() = default;

int64_t FieldResidual::maps_that_fit(const Backend& backend, int64_t ny, int64_t nx, int64_t wanted, const FieldAxis& axis) {
  const double budget = 0.25 * static_cast<double>(backend.available_memory());
  ForwardOptions o;
  o.axis = axis;  // six kernel planes instead of three
  o.dtype = DType::F32;
  o.dtype_from_backend = false;
  int64_t maps = std::max<int64_t>(1, wanted);
  for (; maps > 1; maps /= 2) {
    o.max_batch = 3 * maps;
    if (budget <= 0 || ForwardModel::memory_bytes(backend, ny, nx, o) <= budget) break;
  }
  return maps;
}

void FieldResidual::forward_basis(int64_t count) {
  const std::size_t values = static_cast<std::size_t>(3 * count * ny_ * nx_);
  backend_.upload(shape_.data<float>(), stage_.data(), values * sizeof(float));
  model_->compute_collinear(shape_.view().slice(0, 3 * count), directions_.view().slice(0, 3 * count),
                            basis_.view().slice(0, 3 * count));
  backend_.download(basis_host_.data(), basis_.data<float>(), values * sizeof(float));
}

void FieldResidual::evaluate(int64_t count, const float* amplitude, const float* measured,
                             const std::optional<std::array<double, 3>>* directions, ResidualReport* reports) {
  MAGCNN_REQUIRE(count >= 1 && count <= max_maps_, "FieldResidual::evaluate takes 1 to " << max_maps_ << " maps, not " << count);
  const auto plane = static_cast<std::size_t>(ny_ * nx_);
  for (int64_t i = 0; i < count; ++i)
    for (int k = 0; k < 3; ++k)
      std::copy(amplitude + i * plane, amplitude + (i + 1) * plane, stage_.begin() + static_cast<std::ptrdiff_t>((3 * i + k) * plane));
  forward_basis(count);
  for (int64_t i = 0; i < count; ++i) {
    const float* base = basis_host_.data() + 3 * i * plane;
    const float* F[3] = {base, base + plane, base + 2 * plane};
    reports[i] = fit(F, measured + i * plane, directions ? directions[i] : std::nullopt);
  }
}

void FieldResidual::evaluate_polar(int64_t count, const float* theta, const float* measured, const std::optional<double>* phis,
                                   ResidualReport* reports) {
  MAGCNN_REQUIRE(count >= 1 && count <= max_maps_, "FieldResidual::evaluate_polar takes 1 to " << max_maps_ << " maps, not " << count);
  const auto plane = static_cast<std::size_t>(ny_ * nx_);
  std::vector<double> mean_theta(static_cast<std::size_t>(count), 0.0);
  for (int64_t i = 0; i < count; ++i) {
    float* sx = stage_.data() + 3 * i * plane;
    float* sy = sx + plane;
    float* sz = sy + plane;
    double sum = 0;
    int64_t film = 0;
    for (std::size_t p = 0; p < plane; ++p) {
      const float t = theta[i * plane + p];
      const bool inside = t > kPolarFilmTheta;
      sx[p] = sy[p] = inside ? std::sin(t) : 0.0f;
      sz[p] = inside ? std::cos(t) : 0.0f;
      sum += inside ? t : 0.0;
      film += inside ? 1 : 0;
    }
    mean_theta[static_cast<std::size_t>(i)] = film > 0 ? sum / static_cast<double>(film) : 0.0;
  }
  forward_basis(count);
  for (int64_t i = 0; i < count; ++i) {
    const float* base = basis_host_.data() + 3 * i * plane;
    const float* G[3] = {base, base + plane, base + 2 * plane};
    reports[i] = fit_polar(G, measured + i * plane, phis ? phis[i] : std::nullopt);
    reports[i].theta_rad = mean_theta[static_cast<std::size_t>(i)];
  }
}

void FieldResidual::evaluate_vector(int64_t count, const float* m, const float* measured, ResidualReport* reports) {
  MAGCNN_REQUIRE(count >= 1 && count <= max_maps_, "FieldResidual::evaluate_vector takes 1 to " << max_maps_ << " maps, not " << count);
  const auto plane = static_cast<std::size_t>(ny_ * nx_);
  // The planes are already in the basis' order: map i's mx, my, mz forwarded along x, y and z.
  std::copy(m, m + 3 * count * static_cast<int64_t>(plane), stage_.begin());
  forward_basis(count);
  for (int64_t i = 0; i < count; ++i) {
    const float* base = basis_host_.data() + 3 * i * plane;
    const float* F[3] = {base, base + plane, base + 2 * plane};
    ResidualReport& r = reports[i];
    r = ResidualReport{};
    compare(F, {1.0, 1.0, 1.0}, measured + i * plane, r);
    const float* mi = m + 3 * i * static_cast<int64_t>(plane);
    double sum[3] = {0, 0, 0};
    for (std::size_t p = 0; p < plane; ++p)
      for (int c = 0; c < 3; ++c) sum[c] += mi[c * plane + p];
    const double norm = std::sqrt(sum[0] * sum[0] + sum[1] * sum[1] + sum[2] * sum[2]);
    r.theta_rad = norm > 0 ? std::acos(std::clamp(sum[2] / norm, -1.0, 1.0)) : 0.0;
    r.phi_rad = azimuth_rad(sum[1], sum[0]);
  }
}

ResidualReport FieldResidual::evaluate(const float* amplitude, const float* measured,
                                       const std::optional<std::array<double, 3>>& direction) {
  ResidualReport r;
  evaluate(1, amplitude, measured, &direction, &r);
  return r;
}

ResidualReport FieldResidual::fit(const float* const F[3], const float* measured,
                                  const std::optional<std::array<double, 3>>& direction) const {
  const auto plane = static_cast<std::size_t>(ny_ * nx_);
  ResidualReport report;
  std::array<double, 3> u{0, 0, 1};
  if (direction) {
    u = *direction;
  } else {
    report.fitted = true;
    std::array<std::array<double, 3>, 3> g{};
    std::array<double, 3> r{}, c{};
    for (std::size_t p = 0; p < plane; ++p) {
      for (int i = 0; i < 3; ++i) {
        r[i] += double(F[i][p]) * measured[p];
        for (int j = i; j < 3; ++j) g[i][j] += double(F[i][p]) * F[j][p];
      }
    }
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < i; ++j) g[i][j] = g[j][i];
    if (!solve3(g, r, c)) {
      // No field at all (an empty prediction), or a degenerate one: only its largest component is fitted.
      int best = 2;
      for (int i = 0; i < 3; ++i)
        if (g[i][i] > g[best][best]) best = i;
      c = {0, 0, 0};
      if (g[best][best] > 0) c[best] = r[best] / g[best][best];
    }
    report.scale = std::sqrt(c[0] * c[0] + c[1] * c[1] + c[2] * c[2]);
    if (report.scale > 0) u = {c[0] / report.scale, c[1] / report.scale, c[2] / report.scale};
  }
  report.theta_rad = std::acos(std::clamp(u[2], -1.0, 1.0));
  report.phi_rad = azimuth_rad(u[1], u[0]);
  compare(F, u, measured, report);
  if (report.fitted && report.empty) report.scale = 0;
  return report;
}

ResidualReport FieldResidual::fit_polar(const float* const G[3], const float* measured, const std::optional<double>& phi) const {
  const auto plane = static_cast<std::size_t>(ny_ * nx_);
  ResidualReport report;
  double a1 = 1, a2 = 0;
  if (phi) {
    a1 = std::cos(*phi);
    a2 = std::sin(*phi);
  } else {
    // Least squares for (a1, a2) in Bz - G_z ~ a1 G_x + a2 G_y, then the unit (cos phi, sin phi).
    report.fitted = true;
    double g11 = 0, g12 = 0, g22 = 0, r1 = 0, r2 = 0;
    for (std::size_t p = 0; p < plane; ++p) {
      const double r = double(measured[p]) - G[2][p];
      g11 += double(G[0][p]) * G[0][p];
      g12 += double(G[0][p]) * G[1][p];
      g22 += double(G[1][p]) * G[1][p];
      r1 += double(G[0][p]) * r;
      r2 += double(G[1][p]) * r;
    }
    const double det = g11 * g22 - g12 * g12, scale = std::max(g11, g22);
    if (scale > 0 && det > 1e-12 * scale * scale) {
      a1 = (g22 * r1 - g12 * r2) / det;
      a2 = (g11 * r2 - g12 * r1) / det;
    } else if (scale > 0) {  // the two in-plane fields are parallel: only the larger is fitted
      a1 = g11 >= g22 ? r1 / g11 : 0;
      a2 = g11 >= g22 ? 0 : r2 / g22;
    } else {  // no in-plane magnetization at all: phi does not matter
      a1 = 1;
      a2 = 0;
    }
    report.scale = std::hypot(a1, a2);
    if (report.scale > 0) {
      a1 /= report.scale;
      a2 /= report.scale;
    } else {
      a1 = 1;
    }
  }
  report.phi_rad = azimuth_rad(a2, a1);
  compare(G, {a1, a2, 1.0}, measured, report);
  return report;
}

void FieldResidual::compare(const float* const F[3], const std::array<double, 3>& w, const float* measured,
                            ResidualReport& report) const {
  const auto plane = static_cast<std::size_t>(ny_ * nx_);
  double diff = 0, norm = 0, signal = 0;
  for (std::size_t p = 0; p < plane; ++p) {
    const double b = w[0] * F[0][p] + w[1] * F[1][p] + w[2] * F[2][p];
    diff += (b - measured[p]) * (b - measured[p]);
    norm += double(measured[p]) * measured[p];
    signal += b * b;
  }
  report.empty = !(signal > 0);
  report.relative_l2 = norm > 0 ? std::sqrt(diff / norm) : (diff > 0 ? 1.0 : 0.0);
}

}  // namespace magcnn
