// Oracles written independently of kernels/: the textbook closed form of a uniformly magnetized cuboid in
// long double, brute-force quadrature of point dipoles, and comparison helpers. Lengths in pixels.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace magcnn::test {

struct Field3 {
  long double kx, ky, kz;  // Bz / (mu0 Ms) per unit mx, my, mz
};

// Cuboid [x1, x2] x [y1, y2] x [-t, 0], sensor at (X, Y, d). Surface charges: arctan terms (top and bottom
// faces, mz) and asinh terms (side faces, mx and my; ln(v + R) = asinh(v / sqrt(u^2 + w^2)) + a term that
// cancels between the two v limits).
inline Field3 cuboid_field(long double x1, long double x2, long double y1, long double y2, long double X,
                           long double Y, long double d, long double t) {
  const long double inv4pi = 1.0L / (4.0L * 3.14159265358979323846264338327950288L);
  const long double us[2] = {X - x1, X - x2}, vs[2] = {Y - y1, Y - y2}, sgn[2] = {1.0L, -1.0L};
  const long double ws[2] = {d + t, d};
  long double kz = 0;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j)
      for (int k = 0; k < 2; ++k) {
        const long double u = us[i], v = vs[j], w = ws[k];
        const long double r = std::sqrt(u * u + v * v + w * w);
        // top face (w = d) counts +, bottom (w = d + t) counts -
        kz += sgn[i] * sgn[j] * -sgn[k] * std::atan(u * v / (w * r));
      }
  auto side = [&](long double u_face, long double lo, long double hi) {
    // -[asinh(v / sqrt(u^2 + w^2))] over v in [hi limit, lo limit] and w in [d, d + t]
    const long double vv[2] = {lo, hi};
    long double s = 0;
    for (int j = 0; j < 2; ++j)
      for (int k = 0; k < 2; ++k)
        s += sgn[j] * sgn[k] * -std::asinh(vv[j] / std::sqrt(u_face * u_face + ws[k] * ws[k]));
    return s;
  };
  // +x face at x2 (charge +), -x face at x1 (charge -); v runs from Y - y2 to Y - y1.
  const long double kx = side(X - x2, Y - y1, Y - y2) - side(X - x1, Y - y1, Y - y2);
  const long double ky = side(Y - y2, X - x1, X - x2) - side(Y - y1, X - x1, X - x2);
  return {inv4pi * kx, inv4pi * ky, inv4pi * kz};
}

// The unit cell [-1/2, 1/2]^2 x [-t, 0] seen from offset (x, y).
inline Field3 unit_cell_field(long double x, long double y, long double d, long double t) {
  return cuboid_field(-0.5L, 0.5L, -0.5L, 0.5L, x, y, d, t);
}

// The in-plane block of the field tensor: Bx, By / (mu0 Ms) per unit mx, my (By per mx = Bx per my).
struct InPlane3 {
  long double kxx, kxy, kyy;
};

// The in-plane block of the unit cell [-1/2, 1/2]^2 x [-t, 0] seen from offset (x, y) at height d, from
// the textbook surface-charge integrals of its faces x' = +-1/2 (charge +-Ms mx): along the face normal
// the solid-angle terms atan(Y Z / (X R)), along y the terms -ln(Z + R), over the face's corners Y in
// {y + 1/2, y - 1/2} and Z in {d + t, d}. Kyy(x, y) = Kxx(y, x). X = 0 (a sensor in a face's plane) is
// outside its domain.
inline InPlane3 unit_cell_in_plane(long double x, long double y, long double d, long double t) {
  const long double inv4pi = 1.0L / (4.0L * 3.14159265358979323846264338327950288L);
  const long double sgn[2] = {1.0L, -1.0L}, zs[2] = {d + t, d};
  // term(X, Y, Z, R) summed over the two charged faces and each face's corners, with their signs.
  auto faces = [&](long double px, long double py, auto term) {
    long double sum = 0;
    for (int f = 0; f < 2; ++f) {
      const long double X = px - (f == 0 ? 0.5L : -0.5L);
      for (int j = 0; j < 2; ++j)
        for (int k = 0; k < 2; ++k) {
          const long double Y = py + (j == 0 ? 0.5L : -0.5L), Z = zs[k], R = std::sqrt(X * X + Y * Y + Z * Z);
          sum += sgn[f] * sgn[j] * sgn[k] * term(X, Y, Z, R);
        }
    }
    return inv4pi * sum;
  };
  const auto normal = [](long double X, long double Y, long double Z, long double R) { return std::atan(Y * Z / (X * R)); };
  const auto along_y = [](long double, long double, long double Z, long double R) { return -std::log(Z + R); };
  return {faces(x, y, normal), faces(x, y, along_y), faces(y, x, normal)};
}

// The whole field tensor of the unit cell from point dipoles integrated over it: composite
// Gauss-Legendre, `sub` panels per side in x and y, `subz` in z, 8 points per panel and axis.
// Independent of every closed form.
struct Tensor3 {
  Field3 z;      // Bz per mx, my, mz
  InPlane3 xy;   // Bx, By per mx, my
};
inline Tensor3 unit_cell_tensor_brute_force(double x, double y, double d, double t, int sub = 8, int subz = 2) {
  static const double gx[8] = {-0.9602898564975362, -0.7966664774136267, -0.5255324099163290, -0.1834346424956498,
                               0.1834346424956498,  0.5255324099163290,  0.7966664774136267,  0.9602898564975362};
  static const double gw[8] = {0.1012285362903763, 0.2223810344533745, 0.3137066458778873, 0.3626837833783620,
                               0.3626837833783620, 0.3137066458778873, 0.2223810344533745, 0.1012285362903763};
  long double sx = 0, sy = 0, sz = 0, sxx = 0, sxy = 0, syy = 0;
  const double hx = 1.0 / sub, hz = t / subz;
  for (int a = 0; a < sub; ++a)
    for (int i = 0; i < 8; ++i) {
      const double xp = -0.5 + hx * (a + 0.5 + 0.5 * gx[i]);
      for (int b = 0; b < sub; ++b)
        for (int j = 0; j < 8; ++j) {
          const double yp = -0.5 + hx * (b + 0.5 + 0.5 * gx[j]);
          for (int c = 0; c < subz; ++c)
            for (int k = 0; k < 8; ++k) {
              const double zp = -t + hz * (c + 0.5 + 0.5 * gx[k]);
              const double wgt = gw[i] * gw[j] * gw[k] * (0.5 * hx) * (0.5 * hx) * (0.5 * hz);
              const double u = x - xp, v = y - yp, w = d - zp;
              const double r2 = u * u + v * v + w * w, r = std::sqrt(r2), r3 = r2 * r, r5 = r2 * r3;
              sx += wgt * 3 * w * u / r5;
              sy += wgt * 3 * w * v / r5;
              sz += wgt * (3 * w * w / r5 - 1 / r3);
              sxx += wgt * (3 * u * u / r5 - 1 / r3);
              sxy += wgt * 3 * u * v / r5;
              syy += wgt * (3 * v * v / r5 - 1 / r3);
            }
        }
    }
  const long double inv4pi = 1.0L / (4.0L * 3.14159265358979323846264338327950288L);
  return {{inv4pi * sx, inv4pi * sy, inv4pi * sz}, {inv4pi * sxx, inv4pi * sxy, inv4pi * syy}};
}

// Bz's part of it.
inline Field3 unit_cell_field_brute_force(double x, double y, double d, double t, int sub = 8, int subz = 2) {
  return unit_cell_tensor_brute_force(x, y, d, t, sub, subz).z;
}

// ||a - b|| / ||b|| over two arrays; ||a - b|| itself when b is exactly zero (an empty shape's field).
template <class A, class B>
double relative_l2(const A& a, const B& b) {
  long double num = 0, den = 0;
  for (std::size_t i = 0; i < b.size(); ++i) {
    const long double diff = static_cast<long double>(a[i]) - static_cast<long double>(b[i]);
    num += diff * diff;
    den += static_cast<long double>(b[i]) * static_cast<long double>(b[i]);
  }
  return static_cast<double>(den > 0 ? std::sqrt(num / den) : std::sqrt(num));
}

// n values uniform in [-scale, scale] as T (fresh random inputs for comparisons, never zeros).
template <class T = double>
std::vector<T> uniform_values(std::mt19937_64& rng, int64_t n, double scale = 1.0) {
  std::uniform_real_distribution<double> u(-scale, scale);
  std::vector<T> v(static_cast<std::size_t>(n));
  for (T& x : v) x = static_cast<T>(u(rng));
  return v;
}

// A fresh seed every run, printed so that a failure can be reproduced (MAGCNN_TEST_SEED overrides it).
inline uint64_t fresh_seed() {
  if (const char* s = std::getenv("MAGCNN_TEST_SEED")) return std::stoull(s);
  std::random_device rd;
  const uint64_t seed = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  std::cout << "[ seed     ] MAGCNN_TEST_SEED=" << seed << std::endl;
  return seed;
}

}  // namespace magcnn::test
