// The cell kernels of kernels/cell_kernel.h against independent oracles: brute-force dipole quadrature,
// the textbook cuboid formula in long double, the dipole limit, and their symmetries.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "kernels/cell_kernel.h"
#include "magcnn/geometry.h"
#include "reference.h"
#include "reference_quad.h"

namespace magcnn::test {
namespace {

using kern::CellField;

double scale_of(const Field3& f) {
  return static_cast<double>(std::max({std::fabs(f.kx), std::fabs(f.ky), std::fabs(f.kz)}));
}

void expect_close(const CellField& got, const Field3& want, double rel, double abs_floor, const std::string& where) {
  const double tol = rel * scale_of(want) + abs_floor;
  EXPECT_NEAR(got.kx, static_cast<double>(want.kx), tol) << where << " (Kx)";
  EXPECT_NEAR(got.ky, static_cast<double>(want.ky), tol) << where << " (Ky)";
  EXPECT_NEAR(got.kz, static_cast<double>(want.kz), tol) << where << " (Kz)";
}

// The oracles themselves: the textbook cuboid formulas (Bz's, and the in-plane block's face integrals)
// agree with point dipoles integrated over the cell, at d/h from 0.25 to 8.
TEST(CuboidClosedForm, MatchesBruteForceDipoleQuadrature) {
  std::mt19937_64 rng(fresh_seed());
  std::uniform_real_distribution<double> offset(-3.0, 3.0);
  for (const double d : {0.25, 0.5, 1.0, 3.0, 8.0}) {
    for (const double t : {0.05, 0.4, 2.0}) {
      for (int trial = 0; trial < 3; ++trial) {
        const double x = offset(rng), y = offset(rng);
        const Tensor3 brute = unit_cell_tensor_brute_force(x, y, d, t, d < 0.5 ? 16 : 8, t > d ? 8 : 2);
        const Field3& want = brute.z;
        const Field3 closed = unit_cell_field(x, y, d, t);
        const std::string where = "d=" + std::to_string(d) + " t=" + std::to_string(t) +
                                  " at (" + std::to_string(x) + ", " + std::to_string(y) + ")";
        const double tol = 1e-10 * scale_of(want);
        EXPECT_NEAR(static_cast<double>(closed.kx), static_cast<double>(want.kx), tol) << where;
        EXPECT_NEAR(static_cast<double>(closed.ky), static_cast<double>(want.ky), tol) << where;
        EXPECT_NEAR(static_cast<double>(closed.kz), static_cast<double>(want.kz), tol) << where;
        // The in-plane block's textbook face integrals, against the whole tensor's scale.
        const InPlane3 in_plane = unit_cell_in_plane(x, y, d, t);
        const double all = 1e-10 * std::max({scale_of(want), static_cast<double>(std::fabs(brute.xy.kxx)),
                                             static_cast<double>(std::fabs(brute.xy.kxy)), static_cast<double>(std::fabs(brute.xy.kyy))});
        EXPECT_NEAR(static_cast<double>(in_plane.kxx), static_cast<double>(brute.xy.kxx), all) << where << " (Kxx)";
        EXPECT_NEAR(static_cast<double>(in_plane.kxy), static_cast<double>(brute.xy.kxy), all) << where << " (Kxy)";
        EXPECT_NEAR(static_cast<double>(in_plane.kyy), static_cast<double>(brute.xy.kyy), all) << where << " (Kyy)";
      }
    }
  }
}

// The engine's closed form (rewritten to avoid cancellation) matches the textbook one near the cell.
TEST(CellKernel, ClosedFormMatchesTextbookNearTheCell) {
  std::mt19937_64 rng(fresh_seed());
  std::uniform_real_distribution<double> offset(-4.0, 4.0);
  for (const double d : {0.25, 1.0, 4.0}) {
    for (const double t : {1e-3, 0.1, 1.0, 10.0}) {
      for (int trial = 0; trial < 20; ++trial) {
        const double x = trial < 4 ? 0.5 * trial : offset(rng), y = trial < 4 ? 0.0 : offset(rng);
        const std::string where = "d=" + std::to_string(d) + " t=" + std::to_string(t) + " at (" +
                                  std::to_string(x) + ", " + std::to_string(y) + ")";
        expect_close(kern::cell_field_closed_form(x, y, d, t), unit_cell_field(x, y, d, t), 1e-12, 0, where);
      }
    }
  }
}

// The far field's quadrature orders agree with the closed form where both are accurate, on both sides of
// each switch-over distance, and cell_field is continuous across them.
TEST(CellKernel, FarFieldQuadratureMatchesClosedFormAtEachBand) {
  for (const double d : {0.25, 1.0, 4.0}) {
    for (const double t : {0.01, 0.4, 3.0}) {
      // Beyond 24 pixels the long-double textbook form itself loses digits (terms of order one, result
      // ~t/r^3); the next test covers the outer bands.
      for (const double r : {kern::kFarFieldOrder8From, kern::kFarFieldOrder6From, kern::kFarFieldOrder4From}) {
        for (const double frac : {0.0, 0.37}) {
          // sqrt(max(|x|,|y|)^2 + d^2) = r, at the band's inner edge
          const double m = std::sqrt(std::max(r * r - d * d, 1.0));
          const double x = m, y = frac * m;
          const Field3 want = unit_cell_field(x, y, d, t);
          const std::string where = "d=" + std::to_string(d) + " t=" + std::to_string(t) + " r=" + std::to_string(r);
          // The long-double textbook form loses ~r^2 * 1e-19 / (t scale): keep the tolerance above that.
          expect_close(kern::cell_field(x, y, d, t), want, 5e-12, 0, where);
        }
      }
    }
  }
}

// Beyond the closed form's reach: each order against the next higher one.
TEST(CellKernel, FarFieldOrdersAgreeWithHigherOrders) {
  std::mt19937_64 rng(fresh_seed());
  for (const double d : {0.25, 2.0}) {
    for (const double t : {0.01, 1.0}) {
      for (const double r : {30.0, kern::kFarFieldOrder3From, 300.0, kern::kFarFieldOrder2From, 4000.0}) {
        std::uniform_real_distribution<double> frac(0.0, 1.0);
        const double x = r, y = frac(rng) * r;
        const CellField ref = kern::cell_field_quadrature<8>(x, y, d, t);
        const CellField got = kern::cell_field(x, y, d, t);
        const double scale = std::max({std::fabs(ref.kx), std::fabs(ref.ky), std::fabs(ref.kz)});
        EXPECT_NEAR(got.kx, ref.kx, 1e-13 * scale) << "r=" << r;
        EXPECT_NEAR(got.ky, ref.ky, 1e-13 * scale) << "r=" << r;
        EXPECT_NEAR(got.kz, ref.kz, 1e-13 * scale) << "r=" << r;
        const kern::InPlaneField gref = kern::in_plane_quadrature<8>(x, y, d, t), g = kern::in_plane_field(x, y, d, t);
        const double gscale = std::max({std::fabs(gref.kxx), std::fabs(gref.kxy), std::fabs(gref.kyy)});
        EXPECT_NEAR(g.kxx, gref.kxx, 1e-13 * gscale) << "r=" << r << " (Kxx)";
        EXPECT_NEAR(g.kxy, gref.kxy, 1e-13 * gscale) << "r=" << r << " (Kxy)";
        EXPECT_NEAR(g.kyy, gref.kyy, 1e-13 * gscale) << "r=" << r << " (Kyy)";
      }
    }
  }
}

// Far away the cell is a point dipole of moment h^2 t at depth t/2; the next term falls as (1/r)^2.
TEST(CellKernel, FarFieldTendsToTheDipoleLimit) {
  const double d = 1.0, t = 0.5;
  for (const double r : {100.0, 1000.0}) {
    const double x = 0.6 * r, y = 0.8 * r, z = d + 0.5 * t;
    const double r2 = x * x + y * y + z * z, rr = std::sqrt(r2), r5 = r2 * r2 * rr;
    const double k = t * kern::kInvFourPi;  // moment h^2 t with h = 1
    const CellField dip{k * 3 * z * x / r5, k * 3 * z * y / r5, k * (3 * z * z / r5 - 1 / (r2 * rr))};
    const CellField got = kern::cell_field(x, y, d, t);
    const double bound = 1.0 / (r * r);  // relative size of the octupole correction
    EXPECT_NEAR(got.kx, dip.kx, bound * std::fabs(dip.kx)) << "r=" << r;
    EXPECT_NEAR(got.ky, dip.ky, bound * std::fabs(dip.ky)) << "r=" << r;
    EXPECT_NEAR(got.kz, dip.kz, bound * std::fabs(dip.kz)) << "r=" << r;
    // Bx, By: 3 x_i x_j / r^5 - delta_ij / r^3.
    const double r3 = r2 * rr;
    const kern::InPlaneField gdip{k * (3 * x * x / r5 - 1 / r3), k * 3 * x * y / r5, k * (3 * y * y / r5 - 1 / r3)};
    const kern::InPlaneField g = kern::in_plane_field(x, y, d, t);
    EXPECT_NEAR(g.kxx, gdip.kxx, bound * std::fabs(gdip.kxx)) << "r=" << r;
    EXPECT_NEAR(g.kxy, gdip.kxy, bound * std::fabs(gdip.kxy)) << "r=" << r;
    EXPECT_NEAR(g.kyy, gdip.kyy, bound * std::fabs(gdip.kyy)) << "r=" << r;
  }
}

// Mirror and transpose symmetries hold to rounding (the tables impose them exactly).
TEST(CellKernel, Symmetries) {
  std::mt19937_64 rng(fresh_seed());
  std::uniform_real_distribution<double> offset(-50.0, 50.0);
  for (int trial = 0; trial < 200; ++trial) {
    const double x = offset(rng), y = offset(rng), d = 0.7, t = 0.2;
    const CellField f = kern::cell_field(x, y, d, t);
    const CellField mx = kern::cell_field(-x, y, d, t), my = kern::cell_field(x, -y, d, t);
    const CellField tr = kern::cell_field(y, x, d, t);
    const double tol = 1e-13 * std::max({std::fabs(f.kx), std::fabs(f.ky), std::fabs(f.kz)});
    EXPECT_NEAR(mx.kx, -f.kx, tol);
    EXPECT_NEAR(mx.ky, f.ky, tol);
    EXPECT_NEAR(my.ky, -f.ky, tol);
    EXPECT_NEAR(my.kz, f.kz, tol);
    EXPECT_NEAR(tr.kx, f.ky, tol);
    EXPECT_NEAR(tr.kz, f.kz, tol);
  }
}

// The quadrant holds each offset's kernels (filled through the transpose where that is shorter), zeros
// where the map cannot reach, and mirroring it gives each kernel's parity.
TEST(CellKernel, QuadrantAndItsMirror) {
  const int64_t ny = 5, nx = 7, P = 10, Q = 14, ph = P / 2 + 1, qh = Q / 2 + 1;
  std::vector<double> quadrant(3 * ph * qh, 0.0), tables(3 * P * Q, -1.0);
  const kern::CellKernelQuadrant op{ny, nx, P, Q, 0.8, 0.3, quadrant.data(), kern::kOutOfPlaneTables};
  for (int64_t i = 0; i < op.count(); ++i) op(i);
  const kern::MirrorQuadrant mirror{quadrant.data(), tables.data(), P, Q};
  for (int64_t i = 0; i < 3 * P * Q; ++i) mirror(i);
  for (int64_t r = 0; r < P; ++r) {
    for (int64_t c = 0; c < Q; ++c) {
      const int64_t y = kern::signed_index(r, P), x = kern::signed_index(c, Q);
      const std::size_t at = static_cast<std::size_t>(r * Q + c), plane = static_cast<std::size_t>(P * Q);
      if (std::abs(y) >= ny || std::abs(x) >= nx) {
        EXPECT_EQ(tables[at], 0.0) << r << "," << c;
        EXPECT_EQ(tables[2 * plane + at], 0.0) << r << "," << c;
        continue;
      }
      const CellField f = kern::cell_field(static_cast<double>(x), static_cast<double>(y), 0.8, 0.3);
      const double tol = 1e-13 * std::max({std::fabs(f.kx), std::fabs(f.ky), std::fabs(f.kz)});
      EXPECT_NEAR(tables[at], f.kx, tol) << r << "," << c;
      EXPECT_NEAR(tables[plane + at], f.ky, tol) << r << "," << c;
      EXPECT_NEAR(tables[2 * plane + at], f.kz, tol) << r << "," << c;
    }
  }
}

// Over the whole range of d/h and t/h that FilmGeometry::validate accepts, the double kernels (Bz's and the
// in-plane ones) agree with the textbook formula in quadruple precision: the accepted range is the range
// checked here.
TEST(CellKernel, ExactOverTheAcceptedGeometryRange) {
  using L = GeometryLimits;
  std::mt19937_64 rng(fresh_seed());
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const auto log_uniform = [&](double lo, double hi) { return lo * std::pow(hi / lo, unit(rng)); };
  std::vector<std::pair<double, double>> geometries;
  for (const double d : {L::kMinStandoffOverPixel, 1.0, L::kMaxStandoffOverPixel})
    for (const double t : {L::kMinThicknessOverPixel, 0.1, L::kMaxThicknessOverPixel}) geometries.emplace_back(d, t);
  for (int k = 0; k < 6; ++k)
    geometries.emplace_back(log_uniform(L::kMinStandoffOverPixel, L::kMaxStandoffOverPixel),
                            log_uniform(L::kMinThicknessOverPixel, L::kMaxThicknessOverPixel));
  for (const auto& [d, t] : geometries) {
    std::vector<std::pair<double, double>> offsets{{0, 0}, {1, 0}, {3, 2}, {40, 13}, {700, 300}};
    for (int k = 0; k < 4; ++k) offsets.emplace_back(std::floor(log_uniform(1, 3000)), std::floor(log_uniform(1, 3000)));
    for (const auto& [x, y] : offsets) {
      const CellField got = kern::cell_field(x, y, d, t);
      const QuadField want = unit_cell_field_quad(x, y, d, t);
      const double wx = static_cast<double>(want.kx), wy = static_cast<double>(want.ky), wz = static_cast<double>(want.kz);
      const double scale = std::max({std::fabs(wx), std::fabs(wy), std::fabs(wz)});
      const std::string where = "d/h=" + std::to_string(d) + " t/h=" + std::to_string(t) + " at (" + std::to_string(x) + ", " +
                                std::to_string(y) + ")";
      ASSERT_TRUE(std::isfinite(got.kx) && std::isfinite(got.ky) && std::isfinite(got.kz)) << where;
      EXPECT_NEAR(got.kx, wx, 1e-10 * scale) << where;
      EXPECT_NEAR(got.ky, wy, 1e-10 * scale) << where;
      EXPECT_NEAR(got.kz, wz, 1e-10 * scale) << where;
      // The in-plane kernels (Bx, By per mx, my), against the whole tensor's scale.
      const kern::InPlaneField g = kern::in_plane_field(x, y, d, t);
      const QuadInPlane w = unit_cell_in_plane_quad(x, y, d, t);
      const double wxx = static_cast<double>(w.kxx), wxy = static_cast<double>(w.kxy), wyy = static_cast<double>(w.kyy);
      const double all = std::max({scale, std::fabs(wxx), std::fabs(wxy), std::fabs(wyy)});
      ASSERT_TRUE(std::isfinite(g.kxx) && std::isfinite(g.kxy) && std::isfinite(g.kyy)) << where;
      EXPECT_NEAR(g.kxx, wxx, 1e-10 * all) << where << " (Kxx)";
      EXPECT_NEAR(g.kxy, wxy, 1e-10 * all) << where << " (Kxy)";
      EXPECT_NEAR(g.kyy, wyy, 1e-10 * all) << where << " (Kyy)";
    }
  }
}

// ---- The in-plane kernels (Bx, By per mx, my) ----

using kern::InPlaneField;

// The scale of the whole field tensor at an offset, for tolerances: Kxy vanishes on the axes and Kxx,
// Kyy cross zero, so each entry is compared against the tensor's largest.
double tensor_scale(const InPlane3& a, const Field3& b) {
  return static_cast<double>(std::max({std::fabs(a.kxx), std::fabs(a.kxy), std::fabs(a.kyy), std::fabs(b.kx), std::fabs(b.ky), std::fabs(b.kz)}));
}

void expect_in_plane(const InPlaneField& got, const InPlane3& want, double tol, const std::string& where) {
  EXPECT_NEAR(got.kxx, static_cast<double>(want.kxx), tol) << where << " (Kxx)";
  EXPECT_NEAR(got.kxy, static_cast<double>(want.kxy), tol) << where << " (Kxy)";
  EXPECT_NEAR(got.kyy, static_cast<double>(want.kyy), tol) << where << " (Kyy)";
}

std::string at_text(double d, double t, double x, double y) {
  return "d=" + std::to_string(d) + " t=" + std::to_string(t) + " at (" + std::to_string(x) + ", " + std::to_string(y) + ")";
}

// The engine's rewritten closed form matches the textbook one near the cell, integer offsets included.
TEST(CellKernel, InPlaneClosedFormMatchesTextbookNearTheCell) {
  std::mt19937_64 rng(fresh_seed());
  std::uniform_real_distribution<double> offset(-4.0, 4.0);
  for (const double d : {0.25, 1.0, 4.0}) {
    for (const double t : {1e-3, 0.1, 1.0, 10.0}) {
      for (int trial = 0; trial < 20; ++trial) {
        const double x = trial < 4 ? trial : offset(rng), y = trial < 4 ? 1.0 - trial % 2 : offset(rng);
        const InPlane3 want = unit_cell_in_plane(x, y, d, t);
        expect_in_plane(kern::in_plane_closed_form(x, y, d, t), want, 1e-12 * tensor_scale(want, unit_cell_field(x, y, d, t)),
                        at_text(d, t, x, y));
      }
    }
  }
}

// Outside the cell the field is a potential's gradient in free space: the tensor is trace-free,
// Kxx + Kyy + Kz = 0, everywhere and in every band (a physical check that no formula here was fitted to).
TEST(CellKernel, InPlaneKernelsMakeTheTensorTraceFree) {
  std::mt19937_64 rng(fresh_seed());
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (const double d : {0.25, 1.0, 8.0}) {
    for (const double t : {0.01, 0.5, 4.0}) {
      for (int trial = 0; trial < 40; ++trial) {
        const double r = std::pow(3000.0, unit(rng));
        const double x = std::floor(r * unit(rng)), y = std::floor(r * (unit(rng) - 0.5));
        const InPlaneField g = kern::in_plane_field(x, y, d, t);
        const kern::CellField f = kern::cell_field(x, y, d, t);
        const double scale = std::max({std::fabs(g.kxx), std::fabs(g.kyy), std::fabs(f.kz)});
        EXPECT_NEAR(g.kxx + g.kyy + f.kz, 0.0, 1e-12 * scale) << at_text(d, t, x, y);
      }
    }
  }
}

// Each far-field band of the in-plane kernels against the long-double textbook form at its inner edge
// (the outer bands: FarFieldOrdersAgreeWithHigherOrders).
TEST(CellKernel, InPlaneFarFieldBands) {
  for (const double d : {0.25, 1.0, 4.0}) {
    for (const double t : {0.01, 0.4, 3.0}) {
      for (const double r : {kern::kFarFieldOrder8From, kern::kFarFieldOrder6From, kern::kFarFieldOrder4From}) {
        for (const double frac : {0.0, 0.37}) {
          const double m = std::sqrt(std::max(r * r - d * d, 1.0)), x = m, y = frac * m;
          const InPlane3 want = unit_cell_in_plane(x, y, d, t);
          expect_in_plane(kern::in_plane_field(x, y, d, t), want, 5e-12 * tensor_scale(want, unit_cell_field(x, y, d, t)),
                          at_text(d, t, x, y));
        }
      }
    }
  }
}

// Kxx and Kyy even in both axes, Kxy odd in both, and Kyy(x, y) = Kxx(y, x), Kxy(x, y) = Kxy(y, x).
TEST(CellKernel, InPlaneSymmetries) {
  std::mt19937_64 rng(fresh_seed());
  std::uniform_real_distribution<double> offset(-50.0, 50.0);
  for (int trial = 0; trial < 200; ++trial) {
    const double x = offset(rng), y = offset(rng), d = 0.7, t = 0.2;
    const InPlaneField g = kern::in_plane_field(x, y, d, t), mx = kern::in_plane_field(-x, y, d, t),
                       my = kern::in_plane_field(x, -y, d, t), tr = kern::in_plane_field(y, x, d, t);
    const double tol = 1e-13 * std::max({std::fabs(g.kxx), std::fabs(g.kxy), std::fabs(g.kyy)});
    EXPECT_NEAR(mx.kxx, g.kxx, tol);
    EXPECT_NEAR(my.kyy, g.kyy, tol);
    EXPECT_NEAR(mx.kxy, -g.kxy, tol);
    EXPECT_NEAR(my.kxy, -g.kxy, tol);
    EXPECT_NEAR(tr.kyy, g.kxx, tol);
    EXPECT_NEAR(tr.kxy, g.kxy, tol);
  }
}

// The six-table quadrant holds the in-plane kernels beside Bz's, and its mirror gives Kxy's odd parity.
TEST(CellKernel, SixTableQuadrantAndItsMirror) {
  const int64_t ny = 5, nx = 7, P = 10, Q = 14, ph = P / 2 + 1, qh = Q / 2 + 1;
  const int n = kern::kAllTables;
  std::vector<double> quadrant(n * ph * qh, 0.0), tables(n * P * Q, -1.0);
  const kern::CellKernelQuadrant op{ny, nx, P, Q, 0.8, 0.3, quadrant.data(), n};
  for (int64_t i = 0; i < op.count(); ++i) op(i);
  const kern::MirrorQuadrant mirror{quadrant.data(), tables.data(), P, Q};
  for (int64_t i = 0; i < n * P * Q; ++i) mirror(i);
  const std::size_t plane = static_cast<std::size_t>(P * Q);
  for (int64_t r = 0; r < P; ++r) {
    for (int64_t c = 0; c < Q; ++c) {
      const int64_t y = kern::signed_index(r, P), x = kern::signed_index(c, Q);
      const std::size_t at = static_cast<std::size_t>(r * Q + c);
      if (std::abs(y) >= ny || std::abs(x) >= nx) {
        for (int k = kern::kTableKxx; k < n; ++k) EXPECT_EQ(tables[k * plane + at], 0.0) << r << "," << c;
        continue;
      }
      const InPlaneField g = kern::in_plane_field(static_cast<double>(x), static_cast<double>(y), 0.8, 0.3);
      const kern::CellField f = kern::cell_field(static_cast<double>(x), static_cast<double>(y), 0.8, 0.3);
      const double tol = 1e-13 * std::max({std::fabs(g.kxx), std::fabs(g.kyy), std::fabs(f.kz)});
      EXPECT_NEAR(tables[at], f.kx, tol) << r << "," << c;
      EXPECT_NEAR(tables[kern::kTableKxx * plane + at], g.kxx, tol) << r << "," << c;
      EXPECT_NEAR(tables[kern::kTableKxy * plane + at], g.kxy, tol) << r << "," << c;
      EXPECT_NEAR(tables[kern::kTableKyy * plane + at], g.kyy, tol) << r << "," << c;
    }
  }
}

}  // namespace
}  // namespace magcnn::test
