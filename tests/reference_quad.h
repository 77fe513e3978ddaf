// The textbook closed form of a uniformly magnetized cuboid (reference.h) in quadruple precision (GCC's
// __float128, 34 digits): exact to double precision even where the long-double version cancels away its
// digits, as for a film a millionth of a pixel thick or a sensor 1e5 pixels away.
#pragma once

#include <quadmath.h>

namespace magcnn::test {

using Quad = __float128;

struct QuadField {
  Quad kx, ky, kz;
};

// The unit cell [-1/2, 1/2]^2 x [-t, 0] seen from (x, y) at height d; Bz / (mu0 Ms) per unit mx, my, mz.
inline QuadField unit_cell_field_quad(double x, double y, double d, double t) {
  const Quad X = x, Y = y, D = d, T = t, half = Quad(1) / 2, inv4pi = 1 / (16 * atanq(Quad(1)));
  const Quad us[2] = {X + half, X - half}, vs[2] = {Y + half, Y - half}, ws[2] = {D + T, D}, sgn[2] = {1, -1};
  Quad kz = 0;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j)
      for (int k = 0; k < 2; ++k) {
        const Quad u = us[i], v = vs[j], w = ws[k], r = sqrtq(u * u + v * v + w * w);
        kz += sgn[i] * sgn[j] * -sgn[k] * atanq(u * v / (w * r));
      }
  // Side faces: -[asinh(v / sqrt(u^2 + w^2))] over the face's v limits and w in [d, d + t].
  auto side = [&](Quad u_face, Quad lo, Quad hi) {
    const Quad vv[2] = {lo, hi};
    Quad s = 0;
    for (int j = 0; j < 2; ++j)
      for (int k = 0; k < 2; ++k) s += sgn[j] * sgn[k] * -asinhq(vv[j] / sqrtq(u_face * u_face + ws[k] * ws[k]));
    return s;
  };
  const Quad kx = side(X - half, Y + half, Y - half) - side(X + half, Y + half, Y - half);
  const Quad ky = side(Y - half, X + half, X - half) - side(Y + half, X + half, X - half);
  return {inv4pi * kx, inv4pi * ky, inv4pi * kz};
}

struct QuadInPlane {
  Quad kxx, kxy, kyy;
};

// The in-plane block (Bx, By per mx, my), as unit_cell_in_plane in reference.h, in quadruple precision.
inline QuadInPlane unit_cell_in_plane_quad(double x, double y, double d, double t) {
  const Quad D = d, T = t, half = Quad(1) / 2, inv4pi = 1 / (16 * atanq(Quad(1)));
  const Quad sgn[2] = {1, -1}, zs[2] = {D + T, D};
  auto normal = [&](Quad px, Quad py) {
    Quad sum = 0;
    for (int f = 0; f < 2; ++f) {
      const Quad X = px - (f == 0 ? half : -half);
      for (int j = 0; j < 2; ++j)
        for (int k = 0; k < 2; ++k) {
          const Quad Y = py + (j == 0 ? half : -half), Z = zs[k], R = sqrtq(X * X + Y * Y + Z * Z);
          sum += sgn[f] * sgn[j] * sgn[k] * atanq(Y * Z / (X * R));
        }
    }
    return inv4pi * sum;
  };
  Quad kxy = 0;
  for (int f = 0; f < 2; ++f) {
    const Quad X = Quad(x) - (f == 0 ? half : -half);
    for (int j = 0; j < 2; ++j)
      for (int k = 0; k < 2; ++k) {
        const Quad Y = Quad(y) + (j == 0 ? half : -half), Z = zs[k], R = sqrtq(X * X + Y * Y + Z * Z);
        kxy += sgn[f] * sgn[j] * sgn[k] * -logq(Z + R);
      }
  }
  return {normal(x, y), inv4pi * kxy, normal(y, x)};
}

}  // namespace magcnn::test
