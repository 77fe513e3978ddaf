// The CPU backend: aligned host memory, FFTW, and OpenMP loops over the shared element functors.
#include <omp.h>
#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include "cpu/cpu_parts.h"
#include "kernels/parallel_for.h"
#include "magcnn/device.h"
#include "magcnn/memory.h"

namespace magcnn {
namespace {

// Every copy is done when it is asked for, so every mark is reached when it is made.
class CpuCopyLanes final : public CopyLanes {
 public:
  void upload(void* dst, const void* src, std::size_t bytes) override { std::memcpy(dst, src, bytes); }
  void download(void* dst, const void* src, std::size_t bytes) override { std::memcpy(dst, src, bytes); }
  Mark mark(Lane) override { return next_++; }
  void wait(Lane, Mark) override {}
  void host_wait(Mark) override {}

 private:
  Mark next_ = 0;
};

class CpuTimer final : public DeviceTimer {
 public:
  void start() override { start_ = std::chrono::steady_clock::now(); }
  double stop() override { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

 private:
  std::chrono::steady_clock::time_point start_;
};

class CpuBackend final : public Backend {
 public:
  DeviceKind kind() const override { return DeviceKind::CPU; }
  std::string description() const override {
    return "CPU (" + std::to_string(omp_get_max_threads()) + " threads)";
  }
  DType preferred_real() const override { return DType::F64; }

  uint64_t available_memory() const override { return host_memory_available(); }
  void* allocate(std::size_t bytes) override {
    // 64-byte alignment for AVX-512 loads and FFTW's SIMD paths. Large buffers are 2 MiB aligned and asked
    // to be backed by huge pages: a fresh 400 MB workspace otherwise costs 100k page faults on first touch.
    const std::size_t huge = std::size_t{2} << 20;
    const std::size_t align = bytes >= 2 * huge ? huge : 64;
    const std::size_t rounded = (bytes + align - 1) / align * align;
    void* p = std::aligned_alloc(align, rounded);
    if (p == nullptr)
      throw Error("out of host memory allocating " + human_bytes(static_cast<double>(bytes)) + " (" +
                  human_bytes(static_cast<double>(host_memory_available())) + " available)");
    if (align == huge) madvise(p, rounded, MADV_HUGEPAGE);  // advice only: failure is harmless
    return p;
  }
  void deallocate(void* ptr) noexcept override { std::free(ptr); }
  void* allocate_host(std::size_t bytes) override { return allocate(bytes); }
  void deallocate_host(void* ptr) noexcept override { deallocate(ptr); }
  void upload(void* dst, const void* src, std::size_t bytes) override { std::memcpy(dst, src, bytes); }
  void download(void* dst, const void* src, std::size_t bytes) override { std::memcpy(dst, src, bytes); }
  void download_async(void* dst, const void* src, std::size_t bytes) override { std::memcpy(dst, src, bytes); }
  void copy(void* dst, const void* src, std::size_t bytes) override { std::memcpy(dst, src, bytes); }
  void zero(void* dst, std::size_t bytes) override { std::memset(dst, 0, bytes); }
  void synchronize() override {}
  void sum_over_ranks(float* data, int64_t count, Communicator& ranks) override { ranks.sum(data, count); }

  std::unique_ptr<CopyLanes> copy_lanes() override { return std::make_unique<CpuCopyLanes>(); }
  std::unique_ptr<DeviceTimer> timer() override { return std::make_unique<CpuTimer>(); }
  std::unique_ptr<FftPlan> plan_fft(const FftSpec& spec) override { return cpu::make_fftw_plan(spec); }

  // Float: oneDNN, Winograd for 3 x 3 kernels between many channels, its direct algorithm otherwise (the
  // choice measured fastest on each of the seed network's layers, and faster than im2col + OpenBLAS:
  // bench/RESULTS.md); double: im2col + GEMM.
  std::unique_ptr<ConvPlan> plan_conv(const ConvSpec& spec) override {
#if MAGCNN_HAVE_DNNL
    if (spec.dtype == DType::F32) {
      const bool winograd = spec.kernel == 3 && spec.in_channels >= 16 && spec.out_channels >= 16;
      if (auto p = cpu::make_dnnl_conv(spec, winograd)) return p;
      if (auto p = cpu::make_dnnl_conv(spec, false)) return p;
    }
#endif
    return cpu::make_gemm_conv(spec);
  }

  std::unique_ptr<SortPlan> plan_sort(int64_t n) override { return std::make_unique<CpuSort>(n); }

  std::unique_ptr<StepGraph> capture(const std::function<void()>& work) override {
    return std::make_unique<CpuGraph>(work);
  }
  std::unique_ptr<UniformStream> uniform_stream(uint64_t seed) override {
    return cpu::make_host_uniform_stream(seed);
  }

  void kernel_spectra(double* quadrant, int tables, int64_t P, int64_t Q, DType planes_type, void* planes, double scale) override {
    const int64_t count = tables * P * (Q / 2 + 1);
    cpu::parity_r2r(quadrant, tables, P, Q);  // in place
    if (planes_type == DType::F64) {
      run(kern::ParityPlanes<double>{quadrant, static_cast<double*>(planes), P, Q, scale}, count);
    } else {
      run(kern::ParityPlanes<float>{quadrant, static_cast<float*>(planes), P, Q, scale}, count);
    }
  }

#define MAGCNN_CPU_RUN(Op) \
  void run(const Op& op, int64_t n) override { run_loop(op, n); }
  MAGCNN_ELEMENT_OPS(MAGCNN_CPU_RUN)
#undef MAGCNN_CPU_RUN
#define MAGCNN_CPU_REDUCE(Op) \
  void reduce(const Op& op, int64_t outputs) override { kern::cpu_reduce(op, outputs, reduce_scratch_); }
  MAGCNN_REDUCE_OPS(MAGCNN_CPU_REDUCE)
#undef MAGCNN_CPU_REDUCE

 private:
  // The CPU "graph" is the work itself: replaying runs it again.
  class CpuGraph final : public StepGraph {
   public:
    explicit CpuGraph(std::function<void()> work) : work_(std::move(work)) {}
    void replay() override { work_(); }

   private:
    std::function<void()> work_;
  };

  class CpuSort final : public SortPlan {
   public:
    explicit CpuSort(int64_t n)
        : order_(static_cast<std::size_t>(n)), values_(static_cast<std::size_t>(n)), keys_(static_cast<std::size_t>(n)) {}
    // One stable sort of the positions; keys and values are both gathered through it.
    void sort(double* keys, int32_t* values) override {
      const std::size_t n = order_.size();
      for (std::size_t i = 0; i < n; ++i) order_[i] = static_cast<int32_t>(i);
      std::stable_sort(order_.begin(), order_.end(), [&](int32_t a, int32_t b) { return keys[a] < keys[b]; });
      for (std::size_t i = 0; i < n; ++i) {
        values_[i] = values[order_[i]];
        keys_[i] = keys[order_[i]];
      }
      std::copy(values_.begin(), values_.end(), values);
      std::copy(keys_.begin(), keys_.end(), keys);
    }

   private:
    std::vector<int32_t> order_, values_;
    std::vector<double> keys_;
  };

  std::vector<double> reduce_scratch_;
  template <class Op>
  static void run_loop(const Op& op, int64_t n) {
    // Cell kernels cost ten times more near the cell than far away: balance them dynamically.
    if constexpr (std::is_same_v<Op, ops::CellKernelQuadrant>) {
      kern::cpu_for_dynamic(n, op);
    } else if constexpr (kern::has_rows<Op>::value) {
      kern::cpu_for_rows(n, op);
    } else {
      kern::cpu_for(n, op);
    }
  }
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend() { return std::make_unique<CpuBackend>(); }

}  // namespace magcnn
