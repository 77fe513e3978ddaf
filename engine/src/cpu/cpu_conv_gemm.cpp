// Convolution on the CPU by im2col and matrix products (BLAS when the build has it, plain loops
// otherwise), in float and in double (the double instantiation is the one the gradient checks use).
//
// Per sample: col[I k k, H W] = im2col(x), then y = W[O, I k k] col; the data gradient is
// dcol = W^T dy gathered back onto the input (col2im, each input pixel summing its own taps, so no two
// threads write one value); the filter gradient is sum_n dy_n col_n^T. Samples run in parallel, each
// thread with its own col buffer; the filter gradient is summed over fixed groups of samples in order,
// so its bits do not depend on the number of threads.
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "cpu/cpu_parts.h"

#if MAGCNN_HAVE_BLAS
#include <cblas.h>
#endif

namespace magcnn::cpu {
namespace {

constexpr int64_t kSamplesPerGroup = 4;

// C[M, N] = alpha A B + beta C, row-major; A is [M, K] (or [K, M] when trans_a), B [K, N] (or [N, K]).
template <class T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, const T* B, T beta, T* C) {
#if MAGCNN_HAVE_BLAS
  const auto ta = trans_a ? CblasTrans : CblasNoTrans, tb = trans_b ? CblasTrans : CblasNoTrans;
  const int lda = static_cast<int>(trans_a ? M : K), ldb = static_cast<int>(trans_b ? K : N), ldc = static_cast<int>(N);
  if constexpr (std::is_same_v<T, float>) {
    cblas_sgemm(CblasRowMajor, ta, tb, static_cast<int>(M), static_cast<int>(N), static_cast<int>(K), alpha, A, lda, B, ldb, beta,
                C, ldc);
  } else {
    cblas_dgemm(CblasRowMajor, ta, tb, static_cast<int>(M), static_cast<int>(N), static_cast<int>(K), alpha, A, lda, B, ldb, beta,
                C, ldc);
  }
#else
  for (int64_t m = 0; m < M; ++m) {
    T* c = C + m * N;
    for (int64_t n = 0; n < N; ++n) c[n] = beta == T(0) ? T(0) : beta * c[n];
    for (int64_t k = 0; k < K; ++k) {
      const T a = alpha * (trans_a ? A[k * M + m] : A[m * K + k]);
      if (trans_b) {
        for (int64_t n = 0; n < N; ++n) c[n] += a * B[n * K + k];
      } else {
        const T* b = B + k * N;
        for (int64_t n = 0; n < N; ++n) c[n] += a * b[n];
      }
    }
  }
#endif
}

template <class T>
class GemmConv final : public ConvPlan {
 public:
  explicit GemmConv(const ConvSpec& s)
      : s_(s),
        pad_(s.kernel / 2),
        plane_(s.height * s.width),
        taps_(s.in_channels * s.kernel * s.kernel),
        threads_(omp_get_max_threads()),  // one col buffer each: never more threads than at planning
        groups_((s.batch + kSamplesPerGroup - 1) / kSamplesPerGroup),
        col_(static_cast<std::size_t>(threads_ * taps_ * plane_)),
        partial_(static_cast<std::size_t>(groups_ * s.out_channels * taps_)) {}

  void forward(const void* x, const void* w, void* y) override {
    const T* in = static_cast<const T*>(x);
    const T* weights = static_cast<const T*>(w);
    T* out = static_cast<T*>(y);
#pragma omp parallel for schedule(static) num_threads(threads_)
    for (int64_t n = 0; n < s_.batch; ++n) {
      T* col = col_.data() + omp_get_thread_num() * taps_ * plane_;
      im2col(in + n * s_.in_channels * plane_, col);
      gemm<T>(false, false, s_.out_channels, plane_, taps_, T(1), weights, col, T(0), out + n * s_.out_channels * plane_);
    }
  }

  void backward_data(const void* dy, const void* w, void* dx) override {
    const T* grad = static_cast<const T*>(dy);
    const T* weights = static_cast<const T*>(w);
    T* out = static_cast<T*>(dx);
#pragma omp parallel for schedule(static) num_threads(threads_)
    for (int64_t n = 0; n < s_.batch; ++n) {
      T* col = col_.data() + omp_get_thread_num() * taps_ * plane_;
      gemm<T>(true, false, taps_, plane_, s_.out_channels, T(1), weights, grad + n * s_.out_channels * plane_, T(0), col);
      col2im(col, out + n * s_.in_channels * plane_);
    }
  }

  void backward_filter(const void* x, const void* dy, void* dw) override {
    const T* in = static_cast<const T*>(x);
    const T* grad = static_cast<const T*>(dy);
    const int64_t size = s_.out_channels * taps_;
#pragma omp parallel for schedule(static) num_threads(threads_)
    for (int64_t g = 0; g < groups_; ++g) {
      T* col = col_.data() + omp_get_thread_num() * taps_ * plane_;
      T* part = partial_.data() + g * size;
      const int64_t end = std::min(s_.batch, (g + 1) * kSamplesPerGroup);
      for (int64_t n = g * kSamplesPerGroup; n < end; ++n) {
        im2col(in + n * s_.in_channels * plane_, col);
        gemm<T>(false, true, s_.out_channels, taps_, plane_, T(1), grad + n * s_.out_channels * plane_, col,
                n == g * kSamplesPerGroup ? T(0) : T(1), part);
      }
    }
    T* out = static_cast<T*>(dw);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < size; ++i) {
      T sum = T(0);
      for (int64_t g = 0; g < groups_; ++g) sum += partial_[static_cast<std::size_t>(g * size + i)];
      out[i] = sum;
    }
  }

  std::string algorithm() const override {
#if MAGCNN_HAVE_BLAS
    return std::string("im2col + OpenBLAS ") + (std::is_same_v<T, float> ? "sgemm" : "dgemm");
#else
    return std::string("im2col + built-in GEMM (") + (std::is_same_v<T, float> ? "float" : "double") + ")";
#endif
  }

 private:
  // col[(c k + ky) k + kx][r W + q] = x[c][r + ky - pad][q + kx - pad], zero outside the map.
  void im2col(const T* x, T* col) const {
    const int64_t k = s_.kernel, H = s_.height, W = s_.width;
    for (int64_t row = 0; row < taps_; ++row) {
      const int64_t c = row / (k * k), ky = (row / k) % k - pad_, kx = row % k - pad_;
      T* dst = col + row * plane_;
      const T* src = x + c * plane_;
      for (int64_t r = 0; r < H; ++r) {
        const int64_t sr = r + ky;
        T* d = dst + r * W;
        if (sr < 0 || sr >= H) {
          std::memset(d, 0, sizeof(T) * static_cast<std::size_t>(W));
          continue;
        }
        for (int64_t q = 0; q < W; ++q) {
          const int64_t sq = q + kx;
          d[q] = (sq >= 0 && sq < W) ? src[sr * W + sq] : T(0);
        }
      }
    }
  }

  // dx[c][r][q] = sum over taps of dcol[(c k + ky) k + kx][(r - ky + pad) W + (q - kx + pad)].
  void col2im(const T* col, T* dx) const {
    const int64_t k = s_.kernel, H = s_.height, W = s_.width;
    for (int64_t c = 0; c < s_.in_channels; ++c)
      for (int64_t r = 0; r < H; ++r)
        for (int64_t q = 0; q < W; ++q) {
          T sum = T(0);
          for (int64_t ky = 0; ky < k; ++ky) {
            const int64_t orow = r - ky + pad_;
            if (orow < 0 || orow >= H) continue;
            for (int64_t kx = 0; kx < k; ++kx) {
              const int64_t ocol = q - kx + pad_;
              if (ocol < 0 || ocol >= W) continue;
              sum += col[((c * k + ky) * k + kx) * plane_ + orow * W + ocol];
            }
          }
          dx[(c * H + r) * W + q] = sum;
        }
  }

  ConvSpec s_;
  int64_t pad_, plane_, taps_;
  int threads_;
  int64_t groups_;
  std::vector<T> col_, partial_;
};

}  // namespace

std::unique_ptr<ConvPlan> make_gemm_conv(const ConvSpec& spec) {
  if (spec.dtype == DType::F64) return std::make_unique<GemmConv<double>>(spec);
  return std::make_unique<GemmConv<float>>(spec);
}

}  // namespace magcnn::cpu
