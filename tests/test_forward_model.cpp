// The exact forward model against closed forms (rectangles of pixels, a large uniformly magnetized map,
// a disk on its axis), its symmetries, the spectral method on smooth maps, and the folded output.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "forward_helpers.h"
#include "magcnn/device.h"
#include "reference.h"

namespace magcnn::test {
namespace {

constexpr double kPi = 3.14159265358979323846;

// A direction uniform on the sphere.
void random_direction(std::mt19937_64& rng, double dir[3]) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const double th = std::acos(1 - 2 * u(rng)), ph = 2 * kPi * u(rng);
  dir[0] = std::sin(th) * std::cos(ph);
  dir[1] = std::sin(th) * std::sin(ph);
  dir[2] = std::cos(th);
}

FilmGeometry geometry(double d_over_h, double t_over_h, double h = 50e-9, double Ms = 4.8e5) {
  return FilmGeometry{h, d_over_h * h, t_over_h * h, Ms};
}

struct Maps {
  int64_t ny, nx;
  std::vector<double> mx, my, mz;
  Maps(int64_t y, int64_t x) : ny(y), nx(x), mx(y * x, 0.0), my(y * x, 0.0), mz(y * x, 0.0) {}
};

// Bz in tesla at every pixel centre of an ny x nx map above the cuboid [x0, x0 + w) x [y0, y0 + hgt) pixels.
std::vector<double> cuboid_reference(const Maps& m, const FilmGeometry& g, double x0, double y0, double w, double hgt,
                                     const double dir[3]) {
  const double d = g.standoff_m / g.pixel_size_m, t = g.thickness_m / g.pixel_size_m;
  std::vector<double> bz(m.ny * m.nx);
  for (int64_t r = 0; r < m.ny; ++r)
    for (int64_t c = 0; c < m.nx; ++c) {
      // pixel (r, c) has its centre at (c, r); the cuboid spans [x0 - 1/2, x0 + w - 1/2] in those units
      const Field3 f = cuboid_field(x0 - 0.5L, x0 + w - 0.5L, y0 - 0.5L, y0 + hgt - 0.5L, c, r, d, t);
      bz[r * m.nx + c] = kMu0 * g.Ms_A_per_m * static_cast<double>(dir[0] * f.kx + dir[1] * f.ky + dir[2] * f.kz);
    }
  return bz;
}

void fill_rect(Maps& m, int64_t x0, int64_t y0, int64_t w, int64_t h, const double dir[3]) {
  for (int64_t r = y0; r < y0 + h; ++r)
    for (int64_t c = x0; c < x0 + w; ++c) {
      m.mx[r * m.nx + c] = dir[0];
      m.my[r * m.nx + c] = dir[1];
      m.mz[r * m.nx + c] = dir[2];
    }
}

// DESIGN.md section 6: a rectangle of pixels matches the closed form of one cuboid to 1e-9 (CPU, double),
// at standoffs from a quarter pixel to many pixels, for every orientation.
TEST(ForwardModelExact, RectangleOfPixelsMatchesCuboidClosedForm) {
  auto cpu = make_cpu_backend();
  std::mt19937_64 rng(fresh_seed());
  for (const double d : {0.25, 0.5, 1.0, 2.0, 4.0, 8.0}) {
    for (int orientation = 0; orientation < 4; ++orientation) {
      double dir[3] = {0, 0, 0};
      if (orientation < 3) {
        dir[orientation] = 1.0;
      } else {
        random_direction(rng, dir);
      }
      Maps m(24, 37);
      fill_rect(m, 9, 5, 13, 7, dir);
      const FilmGeometry g = geometry(d, 0.3);
      const auto bz = run_forward(*cpu, g, 1, m.ny, m.nx, m.mx, m.my, m.mz);
      const auto want = cuboid_reference(m, g, 9, 5, 13, 7, dir);
      EXPECT_LT(relative_l2(bz, want), 1e-9) << "d/h=" << d << " orientation " << orientation;
    }
  }
}

// DESIGN.md section 1: a large non-square map with every cell magnetized (where float32 kernels are 11%
// off): the whole map is one cuboid, so the field at every pixel has a closed form.
TEST(ForwardModelExact, LargeNonSquareUniformMap) {
  auto cpu = make_cpu_backend();
  std::mt19937_64 rng(fresh_seed());
  double dir[3];
  random_direction(rng, dir);
  for (const double d : {0.25, 3.0}) {
    Maps m(320, 500);
    fill_rect(m, 0, 0, m.nx, m.ny, dir);
    const FilmGeometry g = geometry(d, 0.05);
    const auto bz = run_forward(*cpu, g, 1, m.ny, m.nx, m.mx, m.my, m.mz);
    const auto want = cuboid_reference(m, g, 0, 0, m.nx, m.ny, dir);
    EXPECT_LT(relative_l2(bz, want), 1e-9) << "d/h=" << d;
  }
}

// On the axis of a uniformly magnetized disk of radius R (mz = 1):
// Bz = mu0 Ms / 2 [(d + t)/sqrt((d + t)^2 + R^2) - d/sqrt(d^2 + R^2)]. A disk of pixels approaches it as
// its staircase edge refines: the error must shrink as R grows.
TEST(ForwardModelExact, DiskOnAxisField) {
  auto cpu = make_cpu_backend();
  double previous = 1.0;
  for (const int64_t radius : {12, 48}) {
    const int64_t size = 2 * radius + 9, centre = size / 2;
    Maps m(size, size);
    int64_t inside = 0;
    for (int64_t r = 0; r < size; ++r)
      for (int64_t c = 0; c < size; ++c)
        if ((r - centre) * (r - centre) + (c - centre) * (c - centre) <= radius * radius) {
          m.mz[r * size + c] = 1.0;
          ++inside;
        }
    // The disk of the same area as the pixels, so that the comparison measures the edge, not the area.
    const double R = std::sqrt(static_cast<double>(inside) / kPi);
    const double d = 0.4 * radius, t = 0.1 * radius;
    const FilmGeometry g = geometry(d, t);
    const auto bz = run_forward(*cpu, g, 1, size, size, m.mx, m.my, m.mz);
    const double want = 0.5 * kMu0 * g.Ms_A_per_m * ((d + t) / std::sqrt((d + t) * (d + t) + R * R) - d / std::sqrt(d * d + R * R));
    const double err = std::fabs(bz[centre * size + centre] - want) / std::fabs(want);
    EXPECT_LT(err, 2e-3) << "R=" << radius;
    EXPECT_LT(err, previous) << "R=" << radius;
    previous = err;
  }
}

Maps random_maps(std::mt19937_64& rng, int64_t ny, int64_t nx) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  Maps m(ny, nx);
  for (std::size_t i = 0; i < m.mx.size(); ++i) {
    double v[3];
    random_direction(rng, v);
    const double scale = std::fabs(u(rng));  // |m| <= 1
    m.mx[i] = v[0] * scale;
    m.my[i] = v[1] * scale;
    m.mz[i] = v[2] * scale;
  }
  return m;
}

TEST(ForwardModelExact, IsLinear) {
  auto cpu = make_cpu_backend();
  std::mt19937_64 rng(fresh_seed());
  const Maps a = random_maps(rng, 19, 26), b = random_maps(rng, 19, 26);
  const double alpha = 0.3, beta = -0.6;
  Maps c(19, 26);
  for (std::size_t i = 0; i < c.mx.size(); ++i) {
    c.mx[i] = alpha * a.mx[i] + beta * b.mx[i];
    c.my[i] = alpha * a.my[i] + beta * b.my[i];
    c.mz[i] = alpha * a.mz[i] + beta * b.mz[i];
  }
  const FilmGeometry g = geometry(0.7, 0.2);
  const auto fa = run_forward(*cpu, g, 1, 19, 26, a.mx, a.my, a.mz);
  const auto fb = run_forward(*cpu, g, 1, 19, 26, b.mx, b.my, b.mz);
  const auto fc = run_forward(*cpu, g, 1, 19, 26, c.mx, c.my, c.mz);
  std::vector<double> combined(fa.size());
  for (std::size_t i = 0; i < fa.size(); ++i) combined[i] = alpha * fa[i] + beta * fb[i];
  EXPECT_LT(relative_l2(fc, combined), 1e-12);
}

// Rotating the film by 90 degrees about z (position (x, y) -> (-y, x), vector (mx, my, mz) -> (-my, mx, mz))
// rotates its field. On an H x W map, pixel (r, c) goes to (c, H - 1 - r) of a W x H map.
TEST(ForwardModelExact, RotationByNinetyDegrees) {
  auto cpu = make_cpu_backend();
  std::mt19937_64 rng(fresh_seed());
  const int64_t H = 17, W = 30;
  const Maps a = random_maps(rng, H, W);
  Maps b(W, H);
  for (int64_t r = 0; r < H; ++r)
    for (int64_t c = 0; c < W; ++c) {
      const int64_t to = c * H + (H - 1 - r), from = r * W + c;
      b.mx[to] = -a.my[from];
      b.my[to] = a.mx[from];
      b.mz[to] = a.mz[from];
    }
  const FilmGeometry g = geometry(1.3, 0.4);
  const auto fa = run_forward(*cpu, g, 1, H, W, a.mx, a.my, a.mz);
  const auto fb = run_forward(*cpu, g, 1, W, H, b.mx, b.my, b.mz);
  std::vector<double> rotated(fa.size());
  for (int64_t r = 0; r < H; ++r)
    for (int64_t c = 0; c < W; ++c) rotated[c * H + (H - 1 - r)] = fa[r * W + c];
  EXPECT_LT(relative_l2(fb, rotated), 1e-12);
}

// Several maps in one call give what one call per map gives; the folded output equals every s-th pixel of
// the full output.
TEST(ForwardModelExact, BatchAndStrideAgreeWithSingleFullMaps) {
  auto cpu = make_cpu_backend();
  std::mt19937_64 rng(fresh_seed());
  const int64_t n = 3, ny = 20, nx = 28, s = 4;
  std::vector<double> mx, my, mz;
  std::vector<Maps> maps;
  for (int64_t i = 0; i < n; ++i) {
    maps.push_back(random_maps(rng, ny, nx));
    mx.insert(mx.end(), maps.back().mx.begin(), maps.back().mx.end());
    my.insert(my.end(), maps.back().my.begin(), maps.back().my.end());
    mz.insert(mz.end(), maps.back().mz.begin(), maps.back().mz.end());
  }
  const FilmGeometry g = geometry(0.9, 0.25);
  ForwardOptions strided;
  strided.output_stride = s;
  const auto batch = run_forward(*cpu, g, n, ny, nx, mx, my, mz, strided);
  const int64_t oy = ny / s, ox = nx / s;
  ASSERT_EQ(batch.size(), static_cast<std::size_t>(n * oy * ox));
  for (int64_t i = 0; i < n; ++i) {
    const auto full = run_forward(*cpu, g, 1, ny, nx, maps[i].mx, maps[i].my, maps[i].mz);
    std::vector<double> sampled, got(batch.begin() + i * oy * ox, batch.begin() + (i + 1) * oy * ox);
    for (int64_t r = 0; r < ny; r += s)
      for (int64_t c = 0; c < nx; c += s) sampled.push_back(full[r * nx + c]);
    EXPECT_LT(relative_l2(got, sampled), 1e-12) << "map " << i;
  }
}

// The collinear path (one shape, one direction per map) equals the three-component path.
TEST(ForwardModelExact, CollinearEqualsThreeComponents) {
  auto cpu = make_cpu_backend();
  std::mt19937_64 rng(fresh_seed());
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const int64_t n = 2, ny = 16, nx = 12;
  std::vector<double> shape(n * ny * nx), dir(3 * n), mx, my, mz;
  for (double& v : shape) v = u(rng);
  for (int64_t i = 0; i < n; ++i) {
    const double th = std::acos(1 - 2 * u(rng)), ph = 2 * kPi * u(rng);
    dir[3 * i] = std::sin(th) * std::cos(ph);
    dir[3 * i + 1] = std::sin(th) * std::sin(ph);
    dir[3 * i + 2] = std::cos(th);
    for (int64_t k = 0; k < ny * nx; ++k) {
      mx.push_back(shape[i * ny * nx + k] * dir[3 * i]);
      my.push_back(shape[i * ny * nx + k] * dir[3 * i + 1]);
      mz.push_back(shape[i * ny * nx + k] * dir[3 * i + 2]);
    }
  }
  const FilmGeometry g = geometry(0.5, 0.1);
  const auto three = run_forward(*cpu, g, n, ny, nx, mx, my, mz);
  ForwardOptions o;
  o.max_batch = n;
  ForwardModel model(*cpu, g, ny, nx, o);
  Tensor ts(*cpu, DType::F64, Shape{n, ny, nx}), td(*cpu, DType::F64, Shape{n, 3}), bz(*cpu, DType::F64, Shape{n, ny, nx});
  ts.upload(shape);
  td.upload(dir);
  model.compute_collinear(ts, td, bz);
  EXPECT_LT(relative_l2(bz.to_host<double>(), three), 1e-13);
}

// Relative L2 distance between the spectral and the exact field of a Gaussian blob of the given width,
// magnetized along `dir`, centred (off-grid) in an n x (n + 16) map.
double spectral_vs_exact(Backend& cpu, const double dir[3], double width, int64_t n) {
  const int64_t ny = n, nx = n + 16;
  Maps m(ny, nx);
  for (int64_t r = 0; r < ny; ++r)
    for (int64_t c = 0; c < nx; ++c) {
      const double x = c - 0.5 * nx + 3.3, y = r - 0.5 * ny - 2.1;
      const double a = std::exp(-(x * x + y * y) / (2 * width * width));
      m.mx[r * nx + c] = a * dir[0];
      m.my[r * nx + c] = a * dir[1];
      m.mz[r * nx + c] = a * dir[2];
    }
  const FilmGeometry g = geometry(2.0, 0.5);
  ForwardOptions spectral;
  spectral.method = ForwardMethod::Spectral;
  const auto exact = run_forward(cpu, g, 1, ny, nx, m.mx, m.my, m.mz);
  const auto approx = run_forward(cpu, g, 1, ny, nx, m.mx, m.my, m.mz, spectral);
  return relative_l2(approx, exact);
}

// Smooth in-plane maps: pixel cuboids and the band-limited transfer function differ by the pixel's form
// factor, O((h / width)^2): small, and four times smaller when the width doubles.
TEST(ForwardModelSpectral, AgreesWithExactOnSmoothInPlaneMaps) {
  auto cpu = make_cpu_backend();
  std::mt19937_64 rng(fresh_seed());
  const double phi = std::uniform_real_distribution<double>(0.0, 2 * kPi)(rng);
  const double dir[3] = {std::cos(phi), std::sin(phi), 0.0};
  const double narrow = spectral_vs_exact(*cpu, dir, 6.0, 160), wide = spectral_vs_exact(*cpu, dir, 12.0, 160);
  EXPECT_LT(narrow, 5e-3);
  EXPECT_GT(narrow / wide, 3.0);
  EXPECT_LT(narrow / wide, 5.0);
}

// Smooth out-of-plane maps: the field of a wide mz blob is small (a uniform film has none), so the spectral
// method's periodic images and zero-mean constraint show; they fade as the padded map grows.
TEST(ForwardModelSpectral, OutOfPlaneResidualIsTheFiniteMapsPeriodicImages) {
  auto cpu = make_cpu_backend();
  const double dir[3] = {0.0, 0.0, 1.0};
  const double small_map = spectral_vs_exact(*cpu, dir, 12.0, 120), large_map = spectral_vs_exact(*cpu, dir, 12.0, 240);
  EXPECT_LT(large_map, 5e-3);
  EXPECT_LT(large_map, 0.5 * small_map);
}

TEST(ForwardModel, FloatPathOnTheCpuAgreesWithDouble) {
  auto cpu = make_cpu_backend();
  std::mt19937_64 rng(fresh_seed());
  const Maps m = random_maps(rng, 40, 33);
  const FilmGeometry g = geometry(0.5, 0.2);
  ForwardOptions f32;
  f32.dtype_from_backend = false;
  f32.dtype = DType::F32;
  const auto ref = run_forward(*cpu, g, 1, 40, 33, m.mx, m.my, m.mz);
  const auto got = run_forward(*cpu, g, 1, 40, 33, m.mx, m.my, m.mz, f32);
  EXPECT_LT(relative_l2(got, ref), 1e-5);
}

TEST(ForwardModel, RejectsBadArguments) {
  auto cpu = make_cpu_backend();
  EXPECT_THROW(ForwardModel(*cpu, geometry(0.0, 0.1), 8, 8, {}), InvalidInput);
  EXPECT_THROW(ForwardModel(*cpu, geometry(1.0, -0.1), 8, 8, {}), InvalidInput);
  EXPECT_THROW(ForwardModel(*cpu, FilmGeometry{0.0, 1e-8, 1e-9, 1e5}, 8, 8, {}), InvalidInput);
  EXPECT_THROW(ForwardModel(*cpu, FilmGeometry{1e-8, 1e-8, 1e-9, NAN}, 8, 8, {}), InvalidInput);
  EXPECT_THROW(ForwardModel(*cpu, geometry(1.0, 0.1), 0, 8, {}), InvalidInput);
  ForwardModel model(*cpu, geometry(1.0, 0.1), 8, 6, {});
  Tensor good(*cpu, DType::F64, Shape{1, 8, 6}), wrong(*cpu, DType::F64, Shape{1, 6, 8}),
      f32(*cpu, DType::F32, Shape{1, 8, 6}), two(*cpu, DType::F64, Shape{2, 8, 6}), bz(*cpu, DType::F64, Shape{1, 8, 6});
  EXPECT_THROW(model.compute(good, wrong, good, bz), InvalidInput);
  EXPECT_THROW(model.compute(good, f32, good, bz), InvalidInput);
  EXPECT_THROW(model.compute(two, two, two, bz), InvalidInput);  // more maps than max_batch
  EXPECT_THROW(model.compute(good, good, good, wrong), InvalidInput);
  ForwardOptions pair;
  pair.max_batch = 2;
  ForwardModel collinear(*cpu, geometry(1.0, 0.1), 8, 6, pair);
  Tensor shapes(*cpu, DType::F64, Shape{2, 8, 6}), one_direction(*cpu, DType::F64, Shape{1, 3}),
      fields(*cpu, DType::F64, Shape{1, 8, 6});
  EXPECT_THROW(collinear.compute_collinear(shapes, one_direction, fields), InvalidInput);  // 2 shapes, 1 direction
}

// ---- B . u: Bx, By and the field along an NV axis ----

// B . u in tesla at every pixel of a random map, summed cell by cell from the long-double textbook
// cuboid forms (reference.h): the in-plane block, and Bx per mz = Bz per mx by the tensor's symmetry.
std::vector<double> axis_field_by_superposition(const Maps& m, const FilmGeometry& g, const FieldAxis& u) {
  const long double d = g.standoff_m / g.pixel_size_m, t = g.thickness_m / g.pixel_size_m;
  std::vector<double> b(m.ny * m.nx);
  for (int64_t r = 0; r < m.ny; ++r)
    for (int64_t c = 0; c < m.nx; ++c) {
      long double sum = 0;
      for (int64_t q = 0; q < m.ny; ++q)
        for (int64_t p = 0; p < m.nx; ++p) {
          const long double x = c - p, y = r - q;
          const Field3 z = unit_cell_field(x, y, d, t);
          const InPlane3 xy = unit_cell_in_plane(x, y, d, t);
          const std::size_t k = static_cast<std::size_t>(q * m.nx + p);
          const long double mx = m.mx[k], my = m.my[k], mz = m.mz[k];
          const long double bx = xy.kxx * mx + xy.kxy * my + z.kx * mz;
          const long double by = xy.kxy * mx + xy.kyy * my + z.ky * mz;
          const long double bz = z.kx * mx + z.ky * my + z.kz * mz;
          sum += u.x * bx + u.y * by + u.z * bz;
        }
      b[r * m.nx + c] = static_cast<double>(kMu0 * g.Ms_A_per_m * sum);
    }
  return b;
}

ForwardOptions along(const FieldAxis& u, ForwardMethod method = ForwardMethod::Exact) {
  ForwardOptions o;
  o.axis = u;
  o.method = method;
  return o;
}

// Bx, By and an NV axis of a random map against the cell-by-cell superposition of the closed form, at
// d/h from 0.25 to 8 (CPU, double: 1e-9).
TEST(ForwardModelAxis, MatchesCuboidSuperpositionForEveryComponent) {
  auto cpu = make_cpu_backend();
  std::mt19937_64 rng(fresh_seed());
  const int64_t ny = 9, nx = 11;
  const Maps m = random_maps(rng, ny, nx);
  double nv[3];
  random_direction(rng, nv);
  const FieldAxis axes[] = {field_axis_from_vector(1, 0, 0), field_axis_from_vector(0, 1, 0), field_axis_from_vector(nv[0], nv[1], nv[2]),
                            FieldAxis{}};
  for (const double d : {0.25, 1.0, 8.0}) {
    const FilmGeometry g = geometry(d, 0.3);
    for (const FieldAxis& u : axes) {
      const auto want = axis_field_by_superposition(m, g, u);
      const auto got = run_forward(*cpu, g, 1, ny, nx, m.mx, m.my, m.mz, along(u));
      EXPECT_LT(relative_l2(got, want), 1e-9) << "d/h=" << d << ", axis " << u.describe();
    }
  }
}

// B . u is linear in u: ux Bx + uy By + uz Bz, through the collinear path and with a stride too.
TEST(ForwardModelAxis, AlongAnAxisIsTheCombinationOfComponents) {
  auto cpu = make_cpu_backend();
  std::mt19937_64 rng(fresh_seed());
  const int64_t n = 3, ny = 20, nx = 14;
  const Maps m = random_maps(rng, n * ny, nx);  // three maps, stacked
  double dir[3];
  random_direction(rng, dir);
  const FieldAxis u = field_axis_from_vector(dir[0], dir[1], dir[2]);
  const FilmGeometry g = geometry(0.6, 0.25);
  for (const int64_t stride : {int64_t{1}, int64_t{2}}) {
    auto with = [&](const FieldAxis& a) {
      ForwardOptions o = along(a);
      o.output_stride = stride;
      return run_forward(*cpu, g, n, ny, nx, m.mx, m.my, m.mz, o);
    };
    const auto bx = with(field_axis_from_vector(1, 0, 0)), by = with(field_axis_from_vector(0, 1, 0)), bz = with(FieldAxis{});
    const auto bu = with(u);
    std::vector<double> want(bu.size());
    for (std::size_t i = 0; i < want.size(); ++i) want[i] = u.x * bx[i] + u.y * by[i] + u.z * bz[i];
    EXPECT_LT(relative_l2(bu, want), 1e-12) << "stride " << stride;
  }
  // Collinear maps (shape x direction) along the same axis.
  ForwardOptions o = along(u);
  o.max_batch = n;
  ForwardModel model(*cpu, g, ny, nx, o);
  std::vector<double> shape(n * ny * nx), dirs(3 * n), mx, my, mz;
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (double& v : shape) v = unit(rng);
  for (int64_t i = 0; i < n; ++i) {
    random_direction(rng, &dirs[3 * i]);
    for (int64_t k = 0; k < ny * nx; ++k) {
      mx.push_back(shape[i * ny * nx + k] * dirs[3 * i]);
      my.push_back(shape[i * ny * nx + k] * dirs[3 * i + 1]);
      mz.push_back(shape[i * ny * nx + k] * dirs[3 * i + 2]);
    }
  }
  Tensor ts(*cpu, DType::F64, Shape{n, ny, nx}), td(*cpu, DType::F64, Shape{n, 3}), b(*cpu, DType::F64, Shape{n, ny, nx});
  ts.upload(shape);
  td.upload(dirs);
  model.compute_collinear(ts, td, b);
  EXPECT_LT(relative_l2(b.to_host<double>(), run_forward(*cpu, g, n, ny, nx, mx, my, mz, along(u))), 1e-13);
}

// The spectral method's in-plane fields on a smooth in-plane blob, each map's mean removed (the periodic
// transform has none, while the exact field of a finite map does): close to the exact ones, and closer
// for a smoother map. Measured: 2.3e-3 at a width of 6 pixels, 0.8e-3 to 1.0e-3 at 12 (the pixel's form
// factor alone would fall four times; the direction factor k_x / k, discontinuous at k = 0, is sampled on
// the padded grid and adds an error that falls more slowly).
double spectral_vs_exact_along(Backend& cpu, const FieldAxis& u, double width, int64_t n, bool remove_means) {
  const int64_t ny = n, nx = n + 16;
  Maps m(ny, nx);
  for (int64_t r = 0; r < ny; ++r)
    for (int64_t c = 0; c < nx; ++c) {
      const double x = c - 0.5 * nx + 3.3, y = r - 0.5 * ny - 2.1, a = std::exp(-(x * x + y * y) / (2 * width * width));
      m.mx[r * nx + c] = 0.8 * a;
      m.my[r * nx + c] = 0.6 * a;
    }
  const FilmGeometry g = geometry(2.0, 0.5);
  auto exact = run_forward(cpu, g, 1, ny, nx, m.mx, m.my, m.mz, along(u));
  auto spectral = run_forward(cpu, g, 1, ny, nx, m.mx, m.my, m.mz, along(u, ForwardMethod::Spectral));
  if (remove_means) {
    for (auto* v : {&exact, &spectral}) {
      double mean = 0;
      for (double x : *v) mean += x / static_cast<double>(v->size());
      for (double& x : *v) x -= mean;
    }
  }
  return relative_l2(spectral, exact);
}

TEST(ForwardModelAxis, SpectralInPlaneAgreesWithExactOnSmoothMaps) {
  auto cpu = make_cpu_backend();
  for (const FieldAxis& u : {field_axis_from_vector(1, 0, 0), field_axis_from_vector(0, 1, 0), field_axis_from_angles(54.7, 45)}) {
    const double narrow = spectral_vs_exact_along(*cpu, u, 6.0, 160, true), wide = spectral_vs_exact_along(*cpu, u, 12.0, 160, true);
    std::cout << "[ case     ] " << u.describe() << ": spectral vs exact " << narrow << " (width 6), " << wide << " (width 12)" << std::endl;
    EXPECT_LT(narrow, 4e-3) << u.describe();
    EXPECT_LT(wide, 0.6 * narrow) << u.describe();
  }
}

// Axes: angles and vectors give unit vectors; the three axes are recognized; bad ones are refused.
TEST(FieldAxis, FromAnglesAndVectors) {
  const FieldAxis nv = field_axis_from_angles(54.7356103172, 45.0);  // the [111] axis of a (100) diamond
  EXPECT_NEAR(nv.x, 1 / std::sqrt(3.0), 1e-10);
  EXPECT_NEAR(nv.y, 1 / std::sqrt(3.0), 1e-10);
  EXPECT_NEAR(nv.z, 1 / std::sqrt(3.0), 1e-10);
  EXPECT_TRUE(field_axis_from_angles(0, 123).is_z());
  EXPECT_EQ(field_axis_from_angles(90, 0).describe(), "x");
  EXPECT_EQ(field_axis_from_vector(0, 3, 0).describe(), "y");
  EXPECT_EQ(field_axis_from_vector(0, 0, 2).describe(), "z");
  EXPECT_THROW(field_axis_from_vector(0, 0, 0), InvalidInput);
  EXPECT_THROW(field_axis_from_vector(NAN, 0, 1), InvalidInput);
  EXPECT_THROW(field_axis_from_angles(200, 0), InvalidInput);
  auto cpu = make_cpu_backend();
  ForwardOptions o;
  o.axis = FieldAxis{0.5, 0.5, 0.5};
  EXPECT_THROW(ForwardModel(*cpu, geometry(1, 0.1), 8, 8, o), InvalidInput);
}

TEST(FftFriendlySize, IsSmoothAndAMultiple) {
  EXPECT_EQ(fft_friendly_size(255, 4), 256);
  EXPECT_EQ(fft_friendly_size(127), 128);
  EXPECT_EQ(fft_friendly_size(1999), 2000);
  EXPECT_EQ(fft_friendly_size(11), 12);
  EXPECT_EQ(fft_friendly_size(11, 5), 15);
}

}  // namespace
}  // namespace magcnn::test

namespace magcnn::test {
namespace {

// The CPU gets kernel spectra from DCT/DST transforms of the quadrant; the GPU mirrors the quadrant and
// takes a full FFT. Both algorithms run here, on the CPU, and must agree.
TEST(KernelSpectra, ParityTransformsEqualFullFftOfMirroredTables) {
  auto cpu = make_cpu_backend();
  for (const auto& [ny, nx] : {std::pair<int64_t, int64_t>{9, 14}, {32, 32}, {3, 40}}) {
    const int64_t P = fft_friendly_size(2 * ny - 1, 2), Q = fft_friendly_size(std::max<int64_t>(2 * nx - 1, 4), 2);
    const int64_t ph = P / 2 + 1, qh = Q / 2 + 1, plane = P * qh;
    Tensor quadrant(*cpu, DType::F64, Shape{kern::kAllTables, ph, qh});
    quadrant.zero();
    const ops::CellKernelQuadrant op{ny, nx, P, Q, 0.6, 0.15, quadrant.data<double>(), kern::kAllTables};
    cpu->run(op, op.count());
    const int n = kern::kAllTables;
    Tensor tables(*cpu, DType::F64, Shape{n, P, Q}), half(*cpu, DType::F64, Shape{n, P, 2 * qh});
    cpu->run(kern::MirrorQuadrant{quadrant.data<double>(), tables.data<double>(), P, Q}, n * P * Q);
    cpu->plan_fft(FftSpec{DType::F64, n, P, Q, 0, 0})->forward(tables.data<double>(), half.data<double>());
    std::vector<double> full(n * plane);
    const auto* fft = reinterpret_cast<const kern::Complex<double>*>(half.data<double>());
    for (int c = 0; c < n; ++c) {
      const kern::SpectrumPlane<double> take{fft + c * plane, full.data() + c * plane, kern::table_spectrum_imaginary(c), 1.0};
      for (int64_t i = 0; i < plane; ++i) take(i);
    }
    Tensor planes(*cpu, DType::F64, Shape{n, P, qh});
    cpu->kernel_spectra(quadrant.data<double>(), n, P, Q, DType::F64, planes.data<double>(), 1.0);
    const auto parity = planes.to_host<double>();
    for (int c = 0; c < n; ++c) {
      const std::vector<double> a(parity.begin() + c * plane, parity.begin() + (c + 1) * plane);
      const std::vector<double> b(full.begin() + c * plane, full.begin() + (c + 1) * plane);
      EXPECT_LT(relative_l2(a, b), 1e-13) << ny << " x " << nx << ", component " << c;
    }
  }
}

}  // namespace
}  // namespace magcnn::test
