// Host/device qualifiers for per-element math that the CPU backend and the CUDA kernels share.
#pragma once

#if defined(__CUDACC__)
#define MAGCNN_HD __host__ __device__ __forceinline__
#else
#define MAGCNN_HD inline
#endif

#include <cstdint>

namespace magcnn::kern {

// Complex value laid out as FFTW's fftw_complex / cuFFT's cufftComplex (re, im pairs).
template <class T>
struct Complex {
  T re, im;
};

template <class T>
MAGCNN_HD Complex<T> conj(Complex<T> a) { return {a.re, -a.im}; }

// Signed frequency (or offset) index of bin f on a periodic axis of length n: 0, 1, ..., -2, -1.
MAGCNN_HD int64_t signed_index(int64_t f, int64_t n) { return f <= n / 2 ? f : f - n; }

}  // namespace magcnn::kern
