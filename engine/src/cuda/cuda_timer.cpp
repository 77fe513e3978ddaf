// The GPU's benchmark timer: two CUDA events recorded on the compute stream around the work.
#include "cuda/cuda_check.h"
#include "cuda/cuda_parts.h"

namespace magcnn::cuda {
namespace {

class EventTimer final : public DeviceTimer {
 public:
  explicit EventTimer(CudaContext& ctx) : stream_(ctx.stream()) {
    for (auto* e : {&start_, &stop_}) {
      cudaEvent_t made = nullptr;
      MAGCNN_CHECK(cudaEventCreate(&made));
      e->reset(made);
    }
  }
  void start() override { MAGCNN_CHECK(cudaEventRecord(start_.get(), stream_)); }
  double stop() override {
    MAGCNN_CHECK(cudaEventRecord(stop_.get(), stream_));
    MAGCNN_CHECK(cudaEventSynchronize(stop_.get()));
    float ms = 0;
    MAGCNN_CHECK(cudaEventElapsedTime(&ms, start_.get(), stop_.get()));
    return 1e-3 * static_cast<double>(ms);
  }

 private:
  cudaStream_t stream_;
  HandlePtr<cudaEvent_t, cudaError_t> start_{nullptr, &cudaEventDestroy}, stop_{nullptr, &cudaEventDestroy};
};

}  // namespace

std::unique_ptr<DeviceTimer> make_event_timer(CudaContext& ctx) { return std::make_unique<EventTimer>(ctx); }

}  // namespace magcnn::cuda
