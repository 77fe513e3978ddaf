// A backend that forwards everything to another and counts allocations and plans (FFT, convolution,
// sort): tests use it to show that work promised to be allocation-free (a forward model's compute, a
// training step) is.
#pragma once

#include <memory>
#include <string>

#include "magcnn/backend.h"

namespace magcnn::test {

class CountingBackend final : public Backend {
 public:
  explicit CountingBackend(std::unique_ptr<Backend> inner) : inner_(std::move(inner)) {}
  int allocations = 0, host_allocations = 0, plans = 0;

  DeviceKind kind() const override { return inner_->kind(); }
  std::string description() const override { return "counting " + inner_->description(); }
  DType preferred_real() const override { return inner_->preferred_real(); }
  uint64_t available_memory() const override { return inner_->available_memory(); }
  void* allocate(std::size_t bytes) override {
    ++allocations;
    return inner_->allocate(bytes);
  }
  void deallocate(void* ptr) noexcept override { inner_->deallocate(ptr); }
  void* allocate_host(std::size_t bytes) override {
    ++host_allocations;
    return inner_->allocate_host(bytes);
  }
  void deallocate_host(void* ptr) noexcept override { inner_->deallocate_host(ptr); }
  void upload(void* dst, const void* src, std::size_t bytes) override { inner_->upload(dst, src, bytes); }
  void download(void* dst, const void* src, std::size_t bytes) override { inner_->download(dst, src, bytes); }
  void download_async(void* dst, const void* src, std::size_t bytes) override { inner_->download_async(dst, src, bytes); }
  void copy(void* dst, const void* src, std::size_t bytes) override { inner_->copy(dst, src, bytes); }
  void zero(void* dst, std::size_t bytes) override { inner_->zero(dst, bytes); }
  void synchronize() override { inner_->synchronize(); }
  void sum_over_ranks(float* data, int64_t count, Communicator& ranks) override { inner_->sum_over_ranks(data, count, ranks); }
  std::unique_ptr<FftPlan> plan_fft(const FftSpec& spec) override {
    ++plans;
    return inner_->plan_fft(spec);
  }
  std::unique_ptr<ConvPlan> plan_conv(const ConvSpec& spec) override {
    ++plans;
    return inner_->plan_conv(spec);
  }
  std::unique_ptr<SortPlan> plan_sort(int64_t n) override {
    ++plans;
    return inner_->plan_sort(n);
  }
  std::unique_ptr<StepGraph> capture(const std::function<void()>& work) override { return inner_->capture(work); }
  std::unique_ptr<UniformStream> uniform_stream(uint64_t seed) override { return inner_->uniform_stream(seed); }
  std::unique_ptr<CopyLanes> copy_lanes() override { return inner_->copy_lanes(); }
  std::unique_ptr<DeviceTimer> timer() override { return inner_->timer(); }
  void kernel_spectra(double* quadrant, int tables, int64_t P, int64_t Q, DType planes_type, void* planes, double scale) override {
    inner_->kernel_spectra(quadrant, tables, P, Q, planes_type, planes, scale);
  }
#define MAGCNN_FORWARD_RUN(Op) \
  void run(const Op& op, int64_t n) override { inner_->run(op, n); }
  MAGCNN_ELEMENT_OPS(MAGCNN_FORWARD_RUN)
#undef MAGCNN_FORWARD_RUN
#define MAGCNN_FORWARD_REDUCE(Op) \
  void reduce(const Op& op, int64_t outputs) override { inner_->reduce(op, outputs); }
  MAGCNN_REDUCE_OPS(MAGCNN_FORWARD_REDUCE)
#undef MAGCNN_FORWARD_REDUCE

 private:
  std::unique_ptr<Backend> inner_;
};

}  // namespace magcnn::test
