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
// Bz(k)/(mu0 Ms) = e^{-kd} (1 - e^{-kt}) / 2 [mz - i (k . m_xy)/k], and above the film, where the field is
// the gradient of a potential falling as e^{-kz}, B_xy(k) = -i (k_xy / k) Bz(k). Lengths in pixels. The
// planes, in the cell kernels' table order (kernels/cell_kernel.h): Im Kx, Im Ky, Re Kz, and for `tables`
// = 6 also Re Kxx, Re Kxy, Re Kyy. The Nyquist bins of the parts odd in an axis are zero, so the product
// stays Hermitian and the inverse transform real; at k = 0 every part is zero (g(0) = 0: a uniform
// film has no field).
template <class T>
struct TransferSpectra {
  int64_t P, Q;
  double d, t, scale;
  T* planes;
  int tables;
  MAGCNN_HD void operator()(int64_t i) const {
    const int64_t qh = Q / 2 + 1, fy = i / qh, fx = i % qh, plane = P * qh;
    const double two_pi = 6.283185307179586477;
    const double ky = two_pi * static_cast<double>(signed_index(fy, P)) / static_cast<double>(P);
    const double kx = two_pi * static_cast<double>(fx) / static_cast<double>(Q);
    const double k = sqrt(kx * kx + ky * ky);
    const double g = 0.5 * exp(-k * d) * -expm1(-k * t) * scale;
    const bool x_nyquist = 2 * fx == Q, y_nyquist = 2 * fy == P;
    const double ux = (k > 0 && !x_nyquist) ? kx / k : 0.0, uy = (k > 0 && !y_nyquist) ? ky / k : 0.0;
    planes[i] = static_cast<T>(-g * ux);
    planes[plane + i] = static_cast<T>(-g * uy);
    planes[2 * plane + i] = static_cast<T>(g);
    if (tables == 6) {
      const double cx = k > 0 ? kx / k : 0.0, cy = k > 0 ? ky / k : 0.0;  // even parts keep their Nyquist bins
      planes[3 * plane + i] = static_cast<T>(-g * cx * cx);
      planes[4 * plane + i] = static_cast<T>(-g * ux * uy);
      planes[5 * plane + i] = static_cast<T>(-g * cy * cy);
    }
  }
};

// The spectra of the kernels of B . u, u = (ux, uy, uz) a unit vector, per magnetization component j:
// K_uj = ux K_xj + uy K_yj + uz K_zj, from the six tables' spectra (double, table order) by the field
// tensor's symmetry (K_xz = K_zx = Kx, K_yz = Ky). Planes: Re, Im for mx, then my, then mz.
template <class T>
struct AxisSpectra {
  const double* tables;
  T* planes;
  int64_t plane;
  double ux, uy, uz;
  MAGCNN_HD void operator()(int64_t i) const {
    const double kx = tables[i], ky = tables[plane + i], kz = tables[2 * plane + i];
    const double kxx = tables[3 * plane + i], kxy = tables[4 * plane + i], kyy = tables[5 * plane + i];
    planes[i] = static_cast<T>(ux * kxx + uy * kxy);
    planes[plane + i] = static_cast<T>(uz * kx);
    planes[2 * plane + i] = static_cast<T>(ux * kxy + uy * kyy);
    planes[3 * plane + i] = static_cast<T>(uz * ky);
    planes[4 * plane + i] = static_cast<T>(uz * kz);
    planes[5 * plane + i] = static_cast<T>(ux * kx + uy * ky);
  }
};

// A model's kernel spectra as the spectral product reads them. Bz's (`bz`): three planes [P, Q/2+1], Im Kx,
// Im Ky, Re Kz (the other parts are zero). Another axis's: for each magnetization component j its real
// and imaginary planes, re[j] and im[j]. Bz keeps a path of its own: the generic one reads twice the
// planes and costs the forward model 7% (measured on the CPU at 2048 x 2048).
template <class T>
struct KernelPlanes {
  bool bz;
  const T* re[3];
  const T* im[3];
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

// The field's spectrum, sum over components j of K_j m_j (K_j complex, KernelPlanes), folded: sampling
// the output at every s-th pixel is the same as summing the s x s aliases of each frequency and
// inverting on a (P/s) x (Q/s) grid, which makes the inverse FFT s^2 times smaller. Frequencies past Q/2
// come from Hermitian symmetry. s = 1 is the plain product. Output [N, P/s, Q/(2s)+1], written or
// (accumulate) added to, so that the three components of a map can be transformed one after another
// into one buffer.
template <class T, class Source>
struct FoldedProduct {
  Source source;
  KernelPlanes<T> kernel;
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
    Complex<T> m[3];
    source.get(n, k, m[0], m[1], m[2]);
    Complex<T> v{T(0), T(0)};
    if (kernel.bz) {  // Kz mz + i (Kx mx + Ky my), Kx and Ky imaginary
      const T a = kernel.im[0][k], b = kernel.im[1][k], c = kernel.re[2][k];
      v = {c * m[2].re - (a * m[0].im + b * m[1].im), c * m[2].im + (a * m[0].re + b * m[1].re)};
    } else {
      for (int j = 0; j < 3; ++j) {
        const T a = kernel.re[j][k], b = kernel.im[j][k];
        v.re += a * m[j].re - b * m[j].im;
        v.im += a * m[j].im + b * m[j].re;
      }
    }
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

// Fourier inversion of a field map with a known direction (the standard alternative to the network): the
// transfer function H(k) = b_scale g(k) [uz - i (k . u_xy) / k], g = e^{-kd} (1 - e^{-kt}) / 2 (the
// spectral method's, lengths in pixels), inverted as X conj(H) / (|H|^2 + epsilon) below the cut-off
// |k| < cutoff (radians a pixel) and zero above it and at k = 0 (a uniform film has no field). In place
// on the half spectra [N, P, Q/2+1] of N maps; directions [N, 3].
template <class T>
struct InversionFilter {
  Complex<T>* spectrum;
  const T* direction;
  int64_t P, Q;
  double d, t, b_scale, cutoff, epsilon;
  MAGCNN_HD void operator()(int64_t i) const {
    const int64_t qh = Q / 2 + 1, plane = P * qh, n = i / plane, r = i % plane, fy = r / qh, fx = r % qh;
    const double two_pi = 6.283185307179586477;
    const double ky = two_pi * static_cast<double>(signed_index(fy, P)) / static_cast<double>(P);
    const double kx = two_pi * static_cast<double>(fx) / static_cast<double>(Q);
    const double k = sqrt(kx * kx + ky * ky);
    if (k == 0 || k > cutoff) {
      spectrum[i] = Complex<T>{T(0), T(0)};
      return;
    }
    const double g = b_scale * 0.5 * exp(-k * d) * -expm1(-k * t);
    const double ux = static_cast<double>(direction[3 * n]), uy = static_cast<double>(direction[3 * n + 1]),
                 uz = static_cast<double>(direction[3 * n + 2]);
    // The odd parts vanish at their Nyquist bins, as in TransferSpectra, so the filter stays Hermitian.
    const double ox = 2 * fx == Q ? 0.0 : kx * ux, oy = 2 * fy == P ? 0.0 : ky * uy;
    const double h_re = g * uz, h_im = -g * (ox + oy) / k;
    const double x_re = static_cast<double>(spectrum[i].re), x_im = static_cast<double>(spectrum[i].im);
    const double denominator = h_re * h_re + h_im * h_im + epsilon;
    // X conj(H) / (|H|^2 + epsilon)
    spectrum[i] = Complex<T>{static_cast<T>((x_re * h_re + x_im * h_im) / denominator), static_cast<T>((x_im * h_re - x_re * h_im) / denominator)};
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
