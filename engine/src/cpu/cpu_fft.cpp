// Batched 2-D real FFTs with FFTW (double and single precision), threaded with OpenMP.
#include <fftw3.h>
#include <omp.h>

#include <mutex>
#include <string>

#include "cpu/cpu_parts.h"

namespace magcnn::cpu {
namespace {

// FFTW's planner is not thread-safe until told so, and its threads must be initialized once per process.
void init_fftw_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (fftw_init_threads() == 0 || fftwf_init_threads() == 0) throw Error("fftw_init_threads failed");
    fftw_make_planner_thread_safe();
    fftwf_make_planner_thread_safe();
  });
}

template <class T>
struct Fftw;
template <>
struct Fftw<double> {
  using plan = fftw_plan;
  using complex = fftw_complex;
  static void* alloc(std::size_t n) { return fftw_malloc(n); }
  static void free(void* p) { fftw_free(p); }
  static void threads(int n) { fftw_plan_with_nthreads(n); }
  static plan r2c(int rank, const int* dims, int batch, double* in, int idist, complex* out, int odist) {
    return fftw_plan_many_dft_r2c(rank, dims, batch, in, nullptr, 1, idist, out, nullptr, 1, odist, FFTW_ESTIMATE);
  }
  static plan c2r(int rank, const int* dims, int batch, complex* in, int idist, double* out, int odist) {
    return fftw_plan_many_dft_c2r(rank, dims, batch, in, nullptr, 1, idist, out, nullptr, 1, odist, FFTW_ESTIMATE);
  }
  static void exec_r2c(plan p, double* in, complex* out) { fftw_execute_dft_r2c(p, in, out); }
  static void exec_c2r(plan p, complex* in, double* out) { fftw_execute_dft_c2r(p, in, out); }
  static void destroy(plan p) { fftw_destroy_plan(p); }
};
template <>
struct Fftw<float> {
  using plan = fftwf_plan;
  using complex = fftwf_complex;
  static void* alloc(std::size_t n) { return fftwf_malloc(n); }
  static void free(void* p) { fftwf_free(p); }
  static void threads(int n) { fftwf_plan_with_nthreads(n); }
  static plan r2c(int rank, const int* dims, int batch, float* in, int idist, complex* out, int odist) {
    return fftwf_plan_many_dft_r2c(rank, dims, batch, in, nullptr, 1, idist, out, nullptr, 1, odist, FFTW_ESTIMATE);
  }
  static plan c2r(int rank, const int* dims, int batch, complex* in, int idist, float* out, int odist) {
    return fftwf_plan_many_dft_c2r(rank, dims, batch, in, nullptr, 1, idist, out, nullptr, 1, odist, FFTW_ESTIMATE);
  }
  static void exec_r2c(plan p, float* in, complex* out) { fftwf_execute_dft_r2c(p, in, out); }
  static void exec_c2r(plan p, complex* in, float* out) { fftwf_execute_dft_c2r(p, in, out); }
  static void destroy(plan p) { fftwf_destroy_plan(p); }
};

template <class T>
class FftwPlan final : public FftPlan {
  using F = Fftw<T>;

 public:
  FftwPlan(int64_t batch, int64_t ny, int64_t nx) {
    init_fftw_once();
    const int dims[2] = {static_cast<int>(ny), static_cast<int>(nx)};
    const int real_dist = dims[0] * dims[1], half_dist = dims[0] * (dims[1] / 2 + 1);
    const std::size_t real_bytes = sizeof(T) * static_cast<std::size_t>(batch * real_dist);
    const std::size_t half_bytes = sizeof(typename F::complex) * static_cast<std::size_t>(batch * half_dist);
    // Planning arrays with FFTW's own alignment; FFTW_ESTIMATE reads and writes neither. Execution later
    // uses the caller's 64-byte-aligned buffers through the new-array interface.
    T* real = static_cast<T*>(F::alloc(real_bytes));
    auto* half = static_cast<typename F::complex*>(F::alloc(half_bytes));
    if (real == nullptr || half == nullptr) {
      F::free(real);
      F::free(half);
      throw Error("out of host memory planning an FFT");
    }
    F::threads(omp_get_max_threads());
    forward_ = F::r2c(2, dims, static_cast<int>(batch), real, real_dist, half, half_dist);
    inverse_ = F::c2r(2, dims, static_cast<int>(batch), half, half_dist, real, real_dist);
    F::free(real);
    F::free(half);
    if (forward_ == nullptr || inverse_ == nullptr) {
      release();
      throw Error("FFTW could not plan a batch of " + std::to_string(batch) + " real FFTs of " +
                  std::to_string(ny) + " x " + std::to_string(nx));
    }
  }
  ~FftwPlan() override { release(); }

  void forward(const void* real, void* half) override {
    F::exec_r2c(forward_, static_cast<T*>(const_cast<void*>(real)), static_cast<typename F::complex*>(half));
  }
  void inverse(void* half, void* real) override {
    F::exec_c2r(inverse_, static_cast<typename F::complex*>(half), static_cast<T*>(real));
  }

 private:
  void release() noexcept {
    if (forward_) F::destroy(forward_);
    if (inverse_) F::destroy(inverse_);
    forward_ = nullptr;
    inverse_ = nullptr;
  }
  typename F::plan forward_ = nullptr;
  typename F::plan inverse_ = nullptr;
};

}  // namespace

std::unique_ptr<FftPlan> make_fftw_plan(DType real_type, int64_t batch, int64_t ny, int64_t nx) {
  if (real_type == DType::F64) return std::make_unique<FftwPlan<double>>(batch, ny, nx);
  return std::make_unique<FftwPlan<float>>(batch, ny, nx);
}

}  // namespace magcnn::cpu
