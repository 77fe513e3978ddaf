// Stray field of one uniformly magnetized film cell (a cuboid), at every lateral offset: the convolution
// kernels of the exact forward model. Bz = mu0 Ms (Kx * mx + Ky * my + Kz * mz); the in-plane components
// need three more, Bx = mu0 Ms (Kxx * mx + Kxy * my + Kx * mz) and By = mu0 Ms (Kxy * mx + Kyy * my +
// Ky * mz): outside the cell the field is B = -mu0 grad(phi) of a potential, so its tensor of components
// per magnetization component is symmetric (Bx per mz is Bz per mx) and trace-free (Kxx + Kyy + Kz = 0).
//
// Lengths are in units of the pixel size h: the cell spans [-1/2, 1/2]^2 x [-t, 0], the sensor plane is at
// z = d. Everything is double: the corner terms are of order one while the result falls as (h/r)^3.
//
// Near the cell: the surface-charge closed form (arctan terms for mz, log terms for mx, my), with the
// difference between the top (w = d) and bottom (w = d + t) faces taken per corner in a cancellation-free
// form. Far from it: Gauss-Legendre quadrature over the cell face of the exact z-integral of a column of
// point dipoles, also cancellation-free; its error falls as (4 r)^(-2n), so the order n drops with distance.
#pragma once

#include <cmath>

#include "hd.h"

namespace magcnn::kern {

// Bz / (mu0 Ms) at one offset, per unit of each magnetization component (dimensionless).
struct CellField {
  double kx, ky, kz;
};

constexpr double kInvFourPi = 0.079577471545947667884;

// atan(uv/(d R(d))) - atan(uv/((d+t) R(d+t))), R(w) = sqrt(u^2 + v^2 + w^2), as one atan2:
// atan a - atan b = atan((a - b)/(1 + ab)) and (d+t)R(d+t) - d R(d) = t (R2 + d (2d + t)/(R1 + R2)).
MAGCNN_HD double mz_corner(double u, double v, double d, double t) {
  const double w2 = d + t;
  const double uv = u * v;
  const double rho2 = u * u + v * v;
  const double r1 = sqrt(rho2 + d * d);
  const double r2 = sqrt(rho2 + w2 * w2);
  const double num = uv * t * (r2 + d * (d + w2) / (r1 + r2));
  const double den = d * r1 * w2 * r2 + uv * uv;
  return atan2(num, den);
}

// -(ln(v + R(d+t)) - ln(v + R(d))) for the charged face x = const at lateral distance u, corner v,
// as -log1p((R2 - R1)/(v + R1)) with R2 - R1 = t (2d + t)/(R1 + R2) and v + R1 rationalized for v < 0.
MAGCNN_HD double mx_corner(double u, double v, double d, double t) {
  const double w2 = d + t;
  const double rho2 = u * u + v * v;
  const double r1 = sqrt(rho2 + d * d);
  const double r2 = sqrt(rho2 + w2 * w2);
  const double dr = t * (d + w2) / (r1 + r2);
  const double v_plus_r1 = v >= 0 ? v + r1 : (u * u + d * d) / (r1 - v);
  return -log1p(dr / v_plus_r1);
}

// Kx at offset (x, y): charges +Ms mx on the face x' = +1/2 and -Ms mx on x' = -1/2.
MAGCNN_HD double kx_closed_form(double x, double y, double d, double t) {
  const double plus_face = mx_corner(x - 0.5, y + 0.5, d, t) - mx_corner(x - 0.5, y - 0.5, d, t);
  const double minus_face = mx_corner(x + 0.5, y + 0.5, d, t) - mx_corner(x + 0.5, y - 0.5, d, t);
  return kInvFourPi * (plus_face - minus_face);
}

// Kz at offset (x, y): charges +Ms mz on the top face (height d below the sensor), -Ms mz on the bottom.
MAGCNN_HD double kz_closed_form(double x, double y, double d, double t) {
  const double xp = x + 0.5, xm = x - 0.5, yp = y + 0.5, ym = y - 0.5;
  return kInvFourPi * (mz_corner(xp, yp, d, t) - mz_corner(xm, yp, d, t) - mz_corner(xp, ym, d, t) +
                       mz_corner(xm, ym, d, t));
}

MAGCNN_HD CellField cell_field_closed_form(double x, double y, double d, double t) {
  return {kx_closed_form(x, y, d, t), kx_closed_form(y, x, d, t), kz_closed_form(x, y, d, t)};
}

// Bz of a column of point dipoles (unit moment per unit length) spanning w in [d, d+t] below the sensor,
// at lateral offset (u, v): exact integrals of the dipole field, 1/R^3 differences written without
// subtracting nearly equal numbers (R2^3 - R1^3 = (R2 - R1)(R2^2 + R1 R2 + R1^2)).
MAGCNN_HD CellField dipole_column(double u, double v, double d, double t) {
  const double w2 = d + t;
  const double rho2 = u * u + v * v;
  const double r1 = sqrt(rho2 + d * d);
  const double r2 = sqrt(rho2 + w2 * w2);
  const double r1c = r1 * r1 * r1;
  const double r2c = r2 * r2 * r2;
  const double cube_diff_over_t = (d + w2) / (r1 + r2) * (r2 * r2 + r1 * r2 + r1 * r1);
  const double inv = t / (r1c * r2c);
  return {u * cube_diff_over_t * inv, v * cube_diff_over_t * inv, (d * cube_diff_over_t - r1c) * inv};
}

// Gauss-Legendre nodes (positive half) and weights on [-1, 1] for the orders the far field uses.
template <int N>
struct GaussLegendre;
template <>
struct GaussLegendre<2> {
  MAGCNN_HD static double node(int k) { return k == 0 ? -0.57735026918962576451 : 0.57735026918962576451; }
  MAGCNN_HD static double weight(int) { return 1.0; }
};
template <>
struct GaussLegendre<3> {
  MAGCNN_HD static double node(int k) { return (k - 1) * 0.77459666924148337704; }
  MAGCNN_HD static double weight(int k) { return k == 1 ? 0.88888888888888888889 : 0.55555555555555555556; }
};
template <>
struct GaussLegendre<4> {
  MAGCNN_HD static double node(int k) {
    const double x = (k == 0 || k == 3) ? 0.86113631159405257522 : 0.33998104358485626480;
    return k < 2 ? -x : x;
  }
  MAGCNN_HD static double weight(int k) {
    return (k == 0 || k == 3) ? 0.34785484513745385737 : 0.65214515486254614263;
  }
};
template <>
struct GaussLegendre<6> {
  MAGCNN_HD static double node(int k) {
    const int j = k < 3 ? 2 - k : k - 3;
    const double x = j == 0 ? 0.23861918608319690863 : j == 1 ? 0.66120938646626451366 : 0.93246951420315202781;
    return k < 3 ? -x : x;
  }
  MAGCNN_HD static double weight(int k) {
    const int j = k < 3 ? 2 - k : k - 3;
    return j == 0 ? 0.46791393457269104739 : j == 1 ? 0.36076157304813860757 : 0.17132449237917034504;
  }
};
template <>
struct GaussLegendre<8> {
  MAGCNN_HD static double node(int k) {
    const int j = k < 4 ? 3 - k : k - 4;
    const double x = j == 0   ? 0.18343464249564980494
                     : j == 1 ? 0.52553240991632898582
                     : j == 2 ? 0.79666647741362673959
                              : 0.96028985649753623168;
    return k < 4 ? -x : x;
  }
  MAGCNN_HD static double weight(int k) {
    const int j = k < 4 ? 3 - k : k - 4;
    return j == 0 ? 0.36268378337836198297
           : j == 1 ? 0.31370664587788728734
           : j == 2 ? 0.22238103445337447054
                    : 0.10122853629037625915;
  }
};

// The three entries of a kernel field, accumulated with a weight and scaled, for either kind.
MAGCNN_HD void add_weighted(CellField& sum, double w, const CellField& c) {
  sum.kx += w * c.kx;
  sum.ky += w * c.ky;
  sum.kz += w * c.kz;
}
MAGCNN_HD CellField scaled(const CellField& f, double s) { return {s * f.kx, s * f.ky, s * f.kz}; }

// Gauss-Legendre quadrature of N x N points over the cell face [-1/2, 1/2]^2 of a dipole column's field
// (Column()(u, v, d, t) gives it at lateral offset (u, v)), with the 1/(4 pi).
template <int N, class Field, class Column>
MAGCNN_HD Field face_quadrature(double x, double y, double d, double t, Column column) {
  Field sum{0.0, 0.0, 0.0};
  for (int k = 0; k < N; ++k) {
    for (int l = 0; l < N; ++l) {
      const double w = GaussLegendre<N>::weight(k) * GaussLegendre<N>::weight(l);
      add_weighted(sum, w, column(x - 0.5 * GaussLegendre<N>::node(k), y - 0.5 * GaussLegendre<N>::node(l), d, t));
    }
  }
  // The face is [-1/2, 1/2]^2: each node weight carries a factor 1/2.
  return scaled(sum, 0.25 * kInvFourPi);
}

struct BzColumn {
  MAGCNN_HD CellField operator()(double u, double v, double d, double t) const { return dipole_column(u, v, d, t); }
};

template <int N>
MAGCNN_HD CellField cell_field_quadrature(double x, double y, double d, double t) {
  return face_quadrature<N, CellField>(x, y, d, t, BzColumn{});
}

// Distances r (in pixels, measured as sqrt(max(|x|,|y|)^2 + d^2)) from which each quadrature order keeps
// the kernel to ~1e-14 relative. An n-point rule's error on a 1/r^3-like integrand over a unit interval is
// about c_n / r^(2n): c_2 ~ 0.08, c_3 ~ 0.01, c_4 ~ 1e-3, c_6 ~ 8e-6, c_8 ~ 6e-8. Inside the first band the
// closed form loses ~r^2 x 1e-16 to the corner sum. tests/test_cell_kernel.cpp checks each band against
// the textbook formula in long double and against the next order.
constexpr double kFarFieldOrder8From = 4.0;
constexpr double kFarFieldOrder6From = 8.0;
constexpr double kFarFieldOrder4From = 24.0;
constexpr double kFarFieldOrder3From = 96.0;
constexpr double kFarFieldOrder2From = 1536.0;

// The band of offset (x, y): 0 for the closed form, else the quadrature order.
MAGCNN_HD int far_field_order(double x, double y, double d) {
  const double ax = fabs(x), ay = fabs(y);
  const double m = ax > ay ? ax : ay;
  const double r2 = m * m + d * d;
  if (r2 < kFarFieldOrder8From * kFarFieldOrder8From) return 0;
  if (r2 < kFarFieldOrder6From * kFarFieldOrder6From) return 8;
  if (r2 < kFarFieldOrder4From * kFarFieldOrder4From) return 6;
  if (r2 < kFarFieldOrder3From * kFarFieldOrder3From) return 4;
  if (r2 < kFarFieldOrder2From * kFarFieldOrder2From) return 3;
  return 2;
}

MAGCNN_HD CellField cell_field(double x, double y, double d, double t) {
  switch (far_field_order(x, y, d)) {
    case 0: return cell_field_closed_form(x, y, d, t);
    case 8: return cell_field_quadrature<8>(x, y, d, t);
    case 6: return cell_field_quadrature<6>(x, y, d, t);
    case 4: return cell_field_quadrature<4>(x, y, d, t);
    case 3: return cell_field_quadrature<3>(x, y, d, t);
    default: return cell_field_quadrature<2>(x, y, d, t);
  }
}

// The in-plane block of the field tensor: Bx, By per unit mx, my, divided by mu0 Ms (Kyx = Kxy).
struct InPlaneField {
  double kxx, kxy, kyy;
};

// For the charged face x' = const of a cell, at perpendicular distance X from the sensor point and
// in-plane corner Y (along y), over heights w in [d, d + t] below it:
//   atan(Y (d+t) / (X R(d+t))) - atan(Y d / (X R(d))), R(w) = sqrt(X^2 + Y^2 + w^2),
// the z-difference of the face's solid-angle term (its field along its normal). Both arctangents have the
// sign of X Y, so their difference is one atan2 with a positive second argument, and w/R(w) differences
// are written without subtracting nearly equal numbers (thin films, t << d).
MAGCNN_HD double normal_face_corner(double X, double Y, double d, double t) {
  const double w2 = d + t, s = X * X + Y * Y;
  const double r1 = sqrt(s + d * d), r2 = sqrt(s + w2 * w2);
  const double num = X * Y * s * t * (d + w2) / (w2 * r1 + d * r2);
  const double den = X * X * r1 * r2 + Y * Y * d * w2;
  return atan2(num, den);
}

// For the same face, its field along y: ln(d + t + R(d+t)) - ln(d + R(d)) at in-plane corner Y, as
// log1p of the difference over d + R(d) (always positive: the sensor is above the film).
MAGCNN_HD double tangential_face_corner(double X, double Y, double d, double t) {
  const double w2 = d + t, s = X * X + Y * Y;
  const double r1 = sqrt(s + d * d), r2 = sqrt(s + w2 * w2);
  return log1p(t * (1.0 + (d + w2) / (r1 + r2)) / (d + r1));
}

// Kxx at offset (x, y): charges +Ms mx on the face x' = +1/2 (perpendicular distance x - 1/2) and -Ms mx
// on x' = -1/2; the in-plane corners of each face are y -+ 1/2.
MAGCNN_HD double kxx_closed_form(double x, double y, double d, double t) {
  auto face = [&](double X) { return normal_face_corner(X, y + 0.5, d, t) - normal_face_corner(X, y - 0.5, d, t); };
  return kInvFourPi * (face(x - 0.5) - face(x + 0.5));
}

// Kxy at offset (x, y), as By per mx: the same faces' field along y.
MAGCNN_HD double kxy_closed_form(double x, double y, double d, double t) {
  auto face = [&](double X) { return tangential_face_corner(X, y - 0.5, d, t) - tangential_face_corner(X, y + 0.5, d, t); };
  return kInvFourPi * (face(x - 0.5) - face(x + 0.5));
}

MAGCNN_HD InPlaneField in_plane_closed_form(double x, double y, double d, double t) {
  return {kxx_closed_form(x, y, d, t), kxy_closed_form(x, y, d, t), kxx_closed_form(y, x, d, t)};
}

// Bx, By of a column of point dipoles (unit moment per unit length, along x or y) spanning w in [d, d+t]
// below the sensor, at lateral offset (u, v): the w-integrals of (3 u_i u_j / R^5 - delta_ij / R^3),
//   A3 = int dw / R^3 = (w2^2 - w1^2) / (R1 R2 (w2 R1 + w1 R2)),
//   A5 = int dw / R^5 = A3 / 3 [1/R1^2 + 1/R2^2 + (rho^2 + w1^2 + w2^2) / (R1 R2 (R1 R2 + w1 w2))],
// both sums of positive terms (from sin(theta) - sin^3(theta) / 3 with w = rho tan(theta)), exact and
// free of cancellation from rho = 0 outwards.
MAGCNN_HD InPlaneField in_plane_dipole_column(double u, double v, double d, double t) {
  const double w2 = d + t;
  const double rho2 = u * u + v * v;
  const double r1 = sqrt(rho2 + d * d), r2 = sqrt(rho2 + w2 * w2), r12 = r1 * r2;
  const double a3 = t * (d + w2) / (r12 * (w2 * r1 + d * r2));
  const double a5 = a3 / 3.0 * (1.0 / (r1 * r1) + 1.0 / (r2 * r2) + (rho2 + d * d + w2 * w2) / (r12 * (r12 + d * w2)));
  return {3.0 * u * u * a5 - a3, 3.0 * u * v * a5, 3.0 * v * v * a5 - a3};
}

MAGCNN_HD void add_weighted(InPlaneField& sum, double w, const InPlaneField& c) {
  sum.kxx += w * c.kxx;
  sum.kxy += w * c.kxy;
  sum.kyy += w * c.kyy;
}
MAGCNN_HD InPlaneField scaled(const InPlaneField& f, double s) { return {s * f.kxx, s * f.kxy, s * f.kyy}; }

struct InPlaneColumn {
  MAGCNN_HD InPlaneField operator()(double u, double v, double d, double t) const { return in_plane_dipole_column(u, v, d, t); }
};

template <int N>
MAGCNN_HD InPlaneField in_plane_quadrature(double x, double y, double d, double t) {
  return face_quadrature<N, InPlaneField>(x, y, d, t, InPlaneColumn{});
}

// The same bands as cell_field: the in-plane kernels fall as 1/r^3 like Bz's, and the face quadrature's
// error has the same order in 1/r (tests/test_cell_kernel.cpp checks every band).
MAGCNN_HD InPlaneField in_plane_field(double x, double y, double d, double t) {
  switch (far_field_order(x, y, d)) {
    case 0: return in_plane_closed_form(x, y, d, t);
    case 8: return in_plane_quadrature<8>(x, y, d, t);
    case 6: return in_plane_quadrature<6>(x, y, d, t);
    case 4: return in_plane_quadrature<4>(x, y, d, t);
    case 3: return in_plane_quadrature<3>(x, y, d, t);
    default: return in_plane_quadrature<2>(x, y, d, t);
  }
}

// The tables of the quadrant, in order, and each one's parity (odd in x, in y): Kx (Bz per mx) odd in
// x, Ky odd in y, Kz even; then, for models of in-plane components, Kxx even, Kxy odd in both, Kyy even.
// A table odd in exactly one axis has an imaginary spectrum; the others have real spectra.
enum KernelTable : int { kTableKx = 0, kTableKy = 1, kTableKz = 2, kTableKxx = 3, kTableKxy = 4, kTableKyy = 5 };
constexpr int kOutOfPlaneTables = 3, kAllTables = 6;
MAGCNN_HD bool table_odd_x(int c) { return c == kTableKx || c == kTableKxy; }
MAGCNN_HD bool table_odd_y(int c) { return c == kTableKy || c == kTableKxy; }
MAGCNN_HD bool table_spectrum_imaginary(int c) { return table_odd_x(c) != table_odd_y(c); }

// Fills the first quadrant of the cell-kernel tables, [tables][P/2+1][Q/2+1] doubles holding Kx, Ky, Kz
// (and, for six tables, Kxx, Kxy, Kyy) at offsets (y, x) in 0..P/2 x 0..Q/2, for an ny x nx map padded
// to P x Q (P, Q even). The other quadrants follow from the parities (table_odd_x, table_odd_y), and
// Ky(x, y) = Kx(y, x), Kz(x, y) = Kz(y, x), Kyy(x, y) = Kxx(y, x), Kxy(x, y) = Kxy(y, x), so each
// evaluation fills the entry and its transpose. Offsets
// the map cannot reach (y >= ny or x >= nx) are left as they are: the caller zeroes them.
struct CellKernelQuadrant {
  int64_t ny, nx;  // map size
  int64_t P, Q;    // padded size, P >= 2 ny - 1, Q >= 2 nx - 1, both even
  double d, t;     // standoff and thickness, in pixels
  double* quadrant;
  int tables;      // kOutOfPlaneTables (Bz only) or kAllTables (the in-plane ones too)

  MAGCNN_HD int64_t count() const { return ny * nx; }

  MAGCNN_HD void operator()(int64_t i) const {
    const int64_t y = i / nx, x = i % nx;
    const bool transpose_inside = x < ny && y < nx;
    if (transpose_inside && x < y) return;  // the thread at (y, x) transposed writes this one
    const CellField f = cell_field(static_cast<double>(x), static_cast<double>(y), d, t);
    store(y, x, f);
    if (transpose_inside && x != y) store(x, y, CellField{f.ky, f.kx, f.kz});
    if (tables == kAllTables) {
      const InPlaneField g = in_plane_field(static_cast<double>(x), static_cast<double>(y), d, t);
      store_in_plane(y, x, g);
      if (transpose_inside && x != y) store_in_plane(x, y, InPlaneField{g.kyy, g.kxy, g.kxx});
    }
  }

  MAGCNN_HD void store(int64_t y, int64_t x, CellField f) const {
    const int64_t plane = (P / 2 + 1) * (Q / 2 + 1), at = y * (Q / 2 + 1) + x;
    quadrant[at] = f.kx;
    quadrant[plane + at] = f.ky;
    quadrant[2 * plane + at] = f.kz;
  }
  MAGCNN_HD void store_in_plane(int64_t y, int64_t x, InPlaneField g) const {
    const int64_t plane = (P / 2 + 1) * (Q / 2 + 1), at = y * (Q / 2 + 1) + x;
    quadrant[kTableKxx * plane + at] = g.kxx;
    quadrant[kTableKxy * plane + at] = g.kxy;
    quadrant[kTableKyy * plane + at] = g.kyy;
  }
};

// The full periodic tables [tables][P][Q] from the quadrant, with each kernel's parity.
struct MirrorQuadrant {
  const double* quadrant;
  double* tables;
  int64_t P, Q;
  MAGCNN_HD void operator()(int64_t i) const {
    const int64_t comp = i / (P * Q), r = (i / Q) % P, c = i % Q;
    const int64_t y = signed_index(r, P), x = signed_index(c, Q);
    const int64_t ay = y < 0 ? -y : y, ax = x < 0 ? -x : x;
    const double v = quadrant[(comp * (P / 2 + 1) + ay) * (Q / 2 + 1) + ax];
    const int k = static_cast<int>(comp);
    const bool negate = (table_odd_x(k) && x < 0) != (table_odd_y(k) && y < 0);
    tables[i] = negate ? -v : v;
  }
};

// Kernel spectra on the half spectrum [tables][P][Q/2+1] from the quadrant's real-to-real transforms R
// (same layout as the quadrant): the DFT of an even sequence of period N is its DCT-I (REDFT00) over
// 0..N/2, that of an odd one is -i times its DST-I (RODFT00) over 1..N/2-1, shifted by one, and zero at 0
// and N/2. Planes: Im DFT(Kx), Im DFT(Ky), Re DFT(Kz), then Re DFT of Kxx, Kxy, Kyy; each times `scale`.
// Kxy, odd in both axes, has the real spectrum (-i)^2 times the two sine transforms.
template <class T>
struct ParityPlanes {
  const double* r2r;
  T* planes;
  int64_t P, Q;
  double scale;
  MAGCNN_HD void operator()(int64_t i) const {
    const int64_t qh = Q / 2 + 1, comp = i / (P * qh), fy = (i / qh) % P, fx = i % qh;
    const bool upper = fy > P / 2;
    const int64_t fq = upper ? P - fy : fy;  // even in fy; the odd y-parity flips the sign above P/2
    const double v = r2r[(comp * (P / 2 + 1) + fq) * qh + fx];
    const int k = static_cast<int>(comp);
    const bool odd_x = table_odd_x(k), odd_y = table_odd_y(k);
    const bool inside_x = !odd_x || (fx >= 1 && fx <= Q / 2 - 1), inside_y = !odd_y || (fq >= 1 && fq <= P / 2 - 1);
    // The stored part: Im(-i S) = -S for odd x alone; for odd y, Im(-i S) below P/2 and Im(+i S) above
    // (the odd y-parity flips the sign); for both, Re((-i)(-+i) S), the same signs as odd y alone.
    const double sign = odd_y ? (upper ? 1.0 : -1.0) : (odd_x ? -1.0 : 1.0);
    const double out = inside_x && inside_y ? sign * v : 0.0;
    planes[i] = static_cast<T>(scale * out);
  }
};

}  // namespace magcnn::kern
