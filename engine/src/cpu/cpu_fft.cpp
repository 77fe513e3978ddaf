// Batched 2-D real FFTs with FFTW (double and single precision), threaded with OpenMP. A 2-D real FFT is
// row transforms then column transforms; planning the two passes ourselves (FFTW's guru interface) lets
// the forward pass skip the zero rows of padded maps and the inverse skip rows nobody reads: with maps
// padded to twice their size, a quarter of the work each way.
#include <fftw3.h>
#include <omp.h>

#include <cstring>
#include <mutex>
#include <string>

#include "cpu/cpu_parts.h"
#include "kernels/cell_kernel.h"

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
  using dim = fftw_iodim64;
  static void* alloc(std::size_t n) { return fftw_malloc(n); }
  static void free(void* p) { fftw_free(p); }
  static void threads(int n) { fftw_plan_with_nthreads(n); }
  static plan r2c(const dim* d, int hr, const dim* h, double* in, complex* out) {
    return fftw_plan_guru64_dft_r2c(1, d, hr, h, in, out, FFTW_ESTIMATE);
  }
  static plan c2r(const dim* d, int hr, const dim* h, complex* in, double* out) {
    return fftw_plan_guru64_dft_c2r(1, d, hr, h, in, out, FFTW_ESTIMATE);
  }
  static plan c2c(const dim* d, int hr, const dim* h, complex* io, int sign) {
    return fftw_plan_guru64_dft(1, d, hr, h, io, io, sign, FFTW_ESTIMATE);
  }
  static void exec_r2c(plan p, double* in, complex* out) { fftw_execute_dft_r2c(p, in, out); }
  static void exec_c2r(plan p, complex* in, double* out) { fftw_execute_dft_c2r(p, in, out); }
  static void exec_c2c(plan p, complex* io) { fftw_execute_dft(p, io, io); }
  static void destroy(plan p) { fftw_destroy_plan(p); }
};
template <>
struct Fftw<float> {
  using plan = fftwf_plan;
  using complex = fftwf_complex;
  using dim = fftwf_iodim64;
  static void* alloc(std::size_t n) { return fftwf_malloc(n); }
  static void free(void* p) { fftwf_free(p); }
  static void threads(int n) { fftwf_plan_with_nthreads(n); }
  static plan r2c(const dim* d, int hr, const dim* h, float* in, complex* out) {
    return fftwf_plan_guru64_dft_r2c(1, d, hr, h, in, out, FFTW_ESTIMATE);
  }
  static plan c2r(const dim* d, int hr, const dim* h, complex* in, float* out) {
    return fftwf_plan_guru64_dft_c2r(1, d, hr, h, in, out, FFTW_ESTIMATE);
  }
  static plan c2c(const dim* d, int hr, const dim* h, complex* io, int sign) {
    return fftwf_plan_guru64_dft(1, d, hr, h, io, io, sign, FFTW_ESTIMATE);
  }
  static void exec_r2c(plan p, float* in, complex* out) { fftwf_execute_dft_r2c(p, in, out); }
  static void exec_c2r(plan p, complex* in, float* out) { fftwf_execute_dft_c2r(p, in, out); }
  static void exec_c2c(plan p, complex* io) { fftwf_execute_dft(p, io, io); }
  static void destroy(plan p) { fftwf_destroy_plan(p); }
};

template <class T>
class FftwPlan final : public FftPlan {
  using F = Fftw<T>;
  using C = typename F::complex;
  using Dim = typename F::dim;

 public:
  explicit FftwPlan(const FftSpec& spec)
      : batch_(spec.batch),
        ny_(spec.ny),
        nxh_(spec.nx / 2 + 1),
        rows_in_(spec.rows_in > 0 ? spec.rows_in : spec.ny),
        rows_out_(spec.rows_out > 0 ? spec.rows_out : spec.ny) {
    init_fftw_once();
    const int64_t nx = spec.nx, real_plane = ny_ * nx, half_plane = ny_ * nxh_;
    // Planning arrays with FFTW's own alignment; FFTW_ESTIMATE reads and writes neither. Execution later
    // uses the caller's 64-byte-aligned buffers through the new-array interface.
    T* real = static_cast<T*>(F::alloc(sizeof(T) * static_cast<std::size_t>(batch_ * real_plane)));
    C* half = static_cast<C*>(F::alloc(sizeof(C) * static_cast<std::size_t>(batch_ * half_plane)));
    if (real == nullptr || half == nullptr) {
      F::free(real);
      F::free(half);
      throw Error("out of host memory planning an FFT");
    }
    F::threads(omp_get_max_threads());
    const Dim row{nx, 1, 1};
    const Dim rows_in[2] = {{batch_, real_plane, half_plane}, {rows_in_, nx, nxh_}};
    const Dim rows_out[2] = {{batch_, half_plane, real_plane}, {rows_out_, nxh_, nx}};
    const Dim column{ny_, nxh_, nxh_};
    const Dim columns[2] = {{batch_, half_plane, half_plane}, {nxh_, 1, 1}};
    const bool forward = spec.direction != FftDirection::Inverse, inverse = spec.direction != FftDirection::Forward;
    if (forward) {
      rows_forward_ = F::r2c(&row, 2, rows_in, real, half);
      columns_forward_ = F::c2c(&column, 2, columns, half, FFTW_FORWARD);
    }
    if (inverse) {
      columns_inverse_ = F::c2c(&column, 2, columns, half, FFTW_BACKWARD);
      rows_inverse_ = F::c2r(&row, 2, rows_out, half, real);
    }
    F::free(real);
    F::free(half);
    if ((forward && (!rows_forward_ || !columns_forward_)) || (inverse && (!columns_inverse_ || !rows_inverse_))) {
      release();
      throw Error("FFTW could not plan a batch of " + std::to_string(batch_) + " real FFTs of " +
                  std::to_string(ny_) + " x " + std::to_string(nx));
    }
  }
  ~FftwPlan() override { release(); }

  void forward(const void* real, void* half) override {
    if (!rows_forward_) throw Error("FFT plan made for the inverse transform only, asked for the forward one");
    C* out = static_cast<C*>(half);
    F::exec_r2c(rows_forward_, static_cast<T*>(const_cast<void*>(real)), out);
    if (rows_in_ < ny_) {
      // The rows the row pass skipped transform to zero.
      for (int64_t b = 0; b < batch_; ++b)
        std::memset(out + (b * ny_ + rows_in_) * nxh_, 0, sizeof(C) * static_cast<std::size_t>((ny_ - rows_in_) * nxh_));
    }
    F::exec_c2c(columns_forward_, out);
  }
  void inverse(void* half, void* real) override {
    if (!rows_inverse_) throw Error("FFT plan made for the forward transform only, asked for the inverse one");
    C* in = static_cast<C*>(half);
    F::exec_c2c(columns_inverse_, in);
    F::exec_c2r(rows_inverse_, in, static_cast<T*>(real));
  }

 private:
  void release() noexcept {
    for (auto* p : {&rows_forward_, &columns_forward_, &columns_inverse_, &rows_inverse_}) {
      if (*p) F::destroy(*p);
      *p = nullptr;
    }
  }
  int64_t batch_, ny_, nxh_, rows_in_, rows_out_;
  typename F::plan rows_forward_ = nullptr, columns_forward_ = nullptr, columns_inverse_ = nullptr,
                   rows_inverse_ = nullptr;
};

}  // namespace

void parity_r2r(double* quadrant, int tables, int64_t P, int64_t Q) {
  init_fftw_once();
  const int64_t qh = Q / 2 + 1, ph = P / 2 + 1, plane = ph * qh;
  MAGCNN_REQUIRE(P % 2 == 0 && Q % 2 == 0 && P >= 4 && Q >= 4, "parity transforms need even sizes >= 4, got " << P << " x " << Q);
  // Even axes: DCT-I over offsets 0..N/2. Odd axes: DST-I over 1..N/2-1 (the samples at 0 and N/2 are 0).
  const fftw_iodim64 even_y{ph, qh, qh}, odd_y{ph - 2, qh, qh}, even_x{qh, 1, 1}, odd_x{qh - 2, 1, 1};
  fftw_plan_with_nthreads(omp_get_max_threads());
  for (int c = 0; c < tables; ++c) {
    const bool ox = kern::table_odd_x(c), oy = kern::table_odd_y(c);
    const fftw_iodim64 dims[2] = {oy ? odd_y : even_y, ox ? odd_x : even_x};
    const fftw_r2r_kind kinds[2] = {oy ? FFTW_RODFT00 : FFTW_REDFT00, ox ? FFTW_RODFT00 : FFTW_REDFT00};
    double* io = quadrant + c * plane + (oy ? qh : 0) + (ox ? 1 : 0);
    fftw_plan p = fftw_plan_guru64_r2r(2, dims, 0, nullptr, io, io, kinds, FFTW_ESTIMATE);
    if (p == nullptr) throw Error("FFTW could not plan the kernel's real-to-real transform");
    fftw_execute(p);
    fftw_destroy_plan(p);
  }
}

std::unique_ptr<FftPlan> make_fftw_plan(const FftSpec& spec) {
  MAGCNN_REQUIRE(spec.batch >= 1 && spec.ny >= 1 && spec.nx >= 1 && spec.rows_in >= 0 && spec.rows_in <= spec.ny &&
                     spec.rows_out >= 0 && spec.rows_out <= spec.ny,
                 "bad FFT plan: batch " << spec.batch << ", " << spec.ny << " x " << spec.nx << ", rows in "
                                        << spec.rows_in << ", rows out " << spec.rows_out);
  if (spec.real_type == DType::F64) return std::make_unique<FftwPlan<double>>(spec);
  return std::make_unique<FftwPlan<float>>(spec);
}

}  // namespace magcnn::cpu
