// The seed's training shapes (DESIGN.md section 2): a random ellipse per sample, rasterized on a fine grid,
// smoothed by a 2 x 2 box and cleared on the outer ring, magnetized along a direction uniform on the
// sphere. Lengths in units of the standoff d (= one network pixel).
#pragma once

#include <cmath>

#include "hd.h"

namespace magcnn::kern {

// Per-sample parameters as stored: the first seven go to the data set, the last two are the half-widths
// of the ellipse's bounding box, which let rasterization skip most of the map.
enum EllipseParam : int {
  kTheta = 0,
  kPhi,
  kSemiAxisA,
  kSemiAxisB,
  kTilt,
  kCentreX,
  kCentreY,
  kHalfWidthX,
  kHalfWidthY,
  kEllipseParamCount
};
constexpr int kUniformsPerSample = 7;

// From 7 uniforms per sample (u0..u6) to the parameters [N, 9] and the unit magnetization direction [N, 3].
// The centre is uniform over [lo, hi], the span of the fine pixels' centres.
template <class T>
struct EllipseFromUniforms {
  const double* uniforms;
  double* params;
  T* direction;
  double rmax, lo, hi;
  MAGCNN_HD void operator()(int64_t n) const {
    const double* u = uniforms + kUniformsPerSample * n;
    double* p = params + kEllipseParamCount * n;
    const double two_pi = 6.283185307179586477;
    const double theta = acos(1.0 - 2.0 * u[0]), phi = two_pi * u[1];
    const double a = rmax * u[2], b = rmax * u[3], tilt = two_pi * u[4];
    const double c = cos(tilt), s = sin(tilt);
    p[kTheta] = theta;
    p[kPhi] = phi;
    p[kSemiAxisA] = a;
    p[kSemiAxisB] = b;
    p[kTilt] = tilt;
    p[kCentreX] = lo + (hi - lo) * u[5];
    p[kCentreY] = lo + (hi - lo) * u[6];
    p[kHalfWidthX] = sqrt(a * a * c * c + b * b * s * s);
    p[kHalfWidthY] = sqrt(a * a * s * s + b * b * c * c);
    direction[3 * n] = static_cast<T>(sin(theta) * cos(phi));
    direction[3 * n + 1] = static_cast<T>(sin(theta) * sin(phi));
    direction[3 * n + 2] = static_cast<T>(cos(theta));
  }
};

MAGCNN_HD bool inside_ellipse(const double* p, double x, double y) {
  const double dx = x - p[kCentreX], dy = y - p[kCentreY];
  const double c = cos(p[kTilt]), s = sin(p[kTilt]);
  const double along = dx * c + dy * s, across = dx * s - dy * c;
  return along * along / (p[kSemiAxisA] * p[kSemiAxisA]) + across * across / (p[kSemiAxisB] * p[kSemiAxisB]) <= 1.0;
}

// shape[n, r, c] on an f x f grid of pitch h whose first pixel centre is at (lo, lo): the mean of the
// indicator over pixels (r..r+1, c..c+1) (scipy.ndimage.convolve with a 2 x 2 box, as the seed), zero on
// the outer ring. The grid is stored with row stride `row_stride` and map stride `map_stride`, so that it
// can be drawn straight into the forward model's zero-padded input.
template <class T>
struct RasterizeEllipse {
  const double* params;
  T* shape;
  int64_t f, row_stride, map_stride;
  double lo, h;
  MAGCNN_HD void operator()(int64_t i) const {
    const int64_t n = i / (f * f), r = (i / f) % f, c = i % f;
    T& out = shape[n * map_stride + r * row_stride + c];
    const double* p = params + kEllipseParamCount * n;
    const double x = lo + h * static_cast<double>(c), y = lo + h * static_cast<double>(r);
    const bool ring = r == 0 || c == 0 || r == f - 1 || c == f - 1;
    const bool far = fabs(x + 0.5 * h - p[kCentreX]) > p[kHalfWidthX] + h ||
                     fabs(y + 0.5 * h - p[kCentreY]) > p[kHalfWidthY] + h;
    if (ring || far) {
      out = T(0);
      return;
    }
    int count = 0;
    for (int dr = 0; dr < 2; ++dr)
      for (int dc = 0; dc < 2; ++dc) count += inside_ellipse(p, x + dc * h, y + dr * h) ? 1 : 0;
    out = static_cast<T>(0.25 * count);
  }
};

// Network-grid targets from the fine shape (strided as in RasterizeEllipse), sampled at every s-th fine
// pixel: the shape itself ("shape"), or theta where the shape is non-zero ("polar", the seed's
// target_type 1). Output [N, o, o].
template <class T>
struct SampleTarget {
  const T* fine;
  const double* params;
  T* shape_target;
  T* polar_target;
  int64_t row_stride, map_stride, o, s;
  MAGCNN_HD void operator()(int64_t i) const {
    const int64_t n = i / (o * o), r = (i / o) % o, c = i % o;
    const T v = fine[n * map_stride + r * s * row_stride + c * s];
    shape_target[i] = v;
    polar_target[i] = v > T(0) ? static_cast<T>(params[kEllipseParamCount * n + kTheta]) : T(0);
  }
};

// The vector target m = shape * (sin th cos ph, sin th sin ph, cos th) from the sampled shape target
// [N, o, o] and each sample's direction [N, 3]: [N, 3, o, o], channel-first as the network's output.
template <class T>
struct SampleVectorTarget {
  const T* shape_target;
  const T* direction;
  T* vector_target;
  int64_t plane;  // o * o
  MAGCNN_HD void operator()(int64_t i) const {
    const int64_t n = i / (3 * plane), component = (i / plane) % 3, p = i % plane;
    vector_target[i] = shape_target[n * plane + p] * direction[3 * n + component];
  }
};

}  // namespace magcnn::kern
