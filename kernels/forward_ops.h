// Per-element steps of the FFT forward model (Hockney's method on a zero-padded P x Q grid): embedding the
// maps, turning kernel tables or the transfer function into spectra, the spectral product folded onto a
// coarser output grid, and the final crop and scale. Layouts are row-major; a half spectrum of a P x Q real
// grid is P x (Q/2 + 1).
#pragma once

#include <cmath>

#include "hd.h"

namespace magcnn::kern {

// dst[n, y, x] (P x Q) = src[n, y, x] for the ny x nx map in the top-left corner. The rest of dst, the
// padding, is zeroed once when the workspace is made and never written: only map pixels are elements.
template <class T>
struct EmbedInterior {
  const T* src;
  T* dst;
  int64_t ny, nx, P, Q;
  MAGCNN_HD void operator()(int64_t i) const {
    const int64_t n = i / (ny * nx), r = i % (ny * nx), y = r / nx, x = r % nx;
    dst[(n * P + y) * Q + x] = src[i];
  }
};

// One real plane of a kernel spectrum from the FFT of its table: Kz's spectrum is real (Kz is even),
// Kx's and Ky's are imaginary (odd along one axis). Scaled by 1/(PQ), the inverse FFT's normalization.
template <class T>
struct SpectrumPlane {
  const Complex<double>* fft;
  T* plane;
  bool imaginary;
  double scale;
  MAGCNN_HD void operator()(int64_t i) const {
    plane[i] = static_cast<T>(scale * (imaginary ? fft[i].im : fft[i].re));
  }
};

// The thin-film transfer function sampled on the padded grid's frequencies (the "spectral" method):
// Bz(k)/(mu0 Ms) = e^{-kd} (1 - e^{-kt}) / 2 [mz - i (k . m_xy)/k]. Lengths in pixels. The Nyquist bins
// of the odd (x, y) parts are zero, so the product stays Hermitian and the inverse transform real.
template <class T>
struct TransferSpectra {
  int64_t P, Q;
  double d, t, scale;
  T* kx_im;
  T* ky_im;
  T* kz_re;
  MAGCNN_HD void operator()(int64_t i) const {
    const int64_t qh = Q / 2 + 1, fy = i / qh, fx = i % qh;
    const double two_pi = 6.283185307179586477;
    const double ky = two_pi * static_cast<double>(signed_index(fy, P)) / static_cast<double>(P);
    const double kx = two_pi * static_cast<double>(fx) / static_cast<double>(Q);
    const double k = sqrt(kx * kx + ky * ky);
    const double g = 0.5 * exp(-k * d) * -expm1(-k * t) * scale;
    const bool x_nyquist = 2 * fx == Q, y_nyquist = 2 * fy == P;
    kz_re[i] = static_cast<T>(g);
    kx_im[i] = static_cast<T>((k > 0 && !x_nyquist) ? -g * kx / k : 0.0);
    ky_im[i] = static_cast<T>((k > 0 && !y_nyquist) ? -g * ky / k : 0.0);
  }
};

// One magnetization component's spectra of N maps [N, P, Q/2+1] (component 0: mx, 1: my, 2: mz).
template <class T>
struct ComponentSource {
  const Complex<T>* m;
  int64_t plane;  // P * (Q/2 + 1)
  int component;
  MAGCNN_HD void get(int64_t n, int64_t k, Complex<T>& mx, Complex<T>& my, Complex<T>& mz) const {
    const Complex<T> v = m[n * plane + k], zero{T(0), T(0)};
    mx = component == 0 ? v : zero;
    my = component == 1 ? v : zero;
    mz = component == 2 ? v : zero;
  }
};

// Collinear maps m = shape * direction: one shape spectrum per map [N, P, Q/2+1], directions [N, 3].
template <class T>
struct CollinearSource {
  const Complex<T>* shape;
  const T* direction;
  int64_t plane;
  MAGCNN_HD void get(int64_t n, int64_t k, Complex<T>& mx, Complex<T>& my, Complex<T>& mz) const {
    const Complex<T> s = shape[n * plane + k];
    const T dx = direction[3 * n], dy = direction[3 * n + 1], dz = direction[3 * n + 2];
    mx = {dx * s.re, dx * s.im};
    my = {dy * s.re, dy * s.im};
    mz = {dz * s.re, dz * s.im};
  }
};

// Bz spectrum Kz mz + i (Ax mx + Ay my), folded: sampling the output at every s-th pixel is the same as
// summing the s x s aliases of each frequency and inverting on a (P/s) x (Q/s) grid, which makes the
// inverse FFT s^2 times smaller. Frequencies past Q/2 come from Hermitian symmetry. s = 1 is the plain
// product. Output [N, P/s, Q/(2s)+1], written or (accumulate) added to, so that the three components of
// a map can be transformed one after another into one buffer.
template <class T, class Source>
struct FoldedProduct {
  Source source;
  const T* kx_im;
  const T* ky_im;
  const T* kz_re;
  Complex<T>* out;
  int64_t P, Q, s;
  bool accumulate;

  MAGCNN_HD Complex<T> product(int64_t n, int64_t fy, int64_t fx) const {
    const bool mirrored = fx > Q / 2;
    if (mirrored) {
      fx = Q - fx;
      fy = fy == 0 ? 0 : P - fy;
    }
    const int64_t k = fy * (Q / 2 + 1) + fx;
    Complex<T> mx, my, mz;
    source.get(n, k, mx, my, mz);
    const T a = kx_im[k], b = ky_im[k], c = kz_re[k];
    const Complex<T> v{c * mz.re - (a * mx.im + b * my.im), c * mz.im + (a * mx.re + b * my.re)};
    return mirrored ? conj(v) : v;
  }

  MAGCNN_HD void operator()(int64_t i) const {
    const int64_t ps = P / s, qs = Q / s, qsh = qs / 2 + 1;
    const int64_t n = i / (ps * qsh), r = i % (ps * qsh), gy = r / qsh, gx = r % qsh;
    Complex<T> sum = accumulate ? out[i] : Complex<T>{T(0), T(0)};
    for (int64_t a = 0; a < s; ++a) {
      for (int64_t b = 0; b < s; ++b) {
        const Complex<T> v = product(n, gy + a * ps, gx + b * qs);
        sum.re += v.re;
        sum.im += v.im;
      }
    }
    out[i] = sum;
  }
};

// out[n, y, x] = scale * grid[n, y, x] for the oy x ox corner of each [gy, gx] grid.
template <class T>
struct CropScale {
  const T* grid;
  T* out;
  int64_t gy, gx, oy, ox;
  T scale;
  MAGCNN_HD void operator()(int64_t i) const {
    const int64_t n = i / (oy * ox), r = i % (oy * ox), y = r / ox, x = r % ox;
    out[i] = scale * grid[(n * gy + y) * gx + x];
  }
};

}  // namespace magcnn::kern
