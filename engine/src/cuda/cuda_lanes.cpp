// The GPU's copy lanes: an upload stream and a download stream beside the context's compute stream,
// ordered by a ring of events, so that the next batch's upload and the last batch's download run while
// the network computes.
#include <vector>

#include "cuda/cuda_check.h"
#include "cuda/cuda_parts.h"
#include "magcnn/log.h"

namespace magcnn::cuda {
namespace {

using EventPtr = HandlePtr<cudaEvent_t, cudaError_t>;

class CudaCopyLanes final : public CopyLanes {
 public:
  explicit CudaCopyLanes(CudaContext& ctx) : compute_(ctx.stream()) {
    for (auto* lane : {&up_, &down_}) {
      cudaStream_t s = nullptr;
      MAGCNN_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
      lane->reset(s);
    }
    for (int i = 0; i < kMarksInFlight; ++i) {
      cudaEvent_t made = nullptr;
      MAGCNN_CHECK(cudaEventCreateWithFlags(&made, cudaEventDisableTiming));
      events_.emplace_back(made, &cudaEventDestroy);
    }
  }
  ~CudaCopyLanes() override {
    // Copies still queued read or write host memory that its owner frees next: they finish first.
    for (cudaStream_t s : {up_.get(), down_.get()})
      if (cudaStreamSynchronize(s) != cudaSuccess) log_warn("a copy lane failed while closing: " + status_text(cudaGetLastError()));
  }
  CudaCopyLanes(const CudaCopyLanes&) = delete;
  CudaCopyLanes& operator=(const CudaCopyLanes&) = delete;

  void upload(void* dst, const void* src, std::size_t bytes) override {
    MAGCNN_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, up_.get()));
  }
  void download(void* dst, const void* src, std::size_t bytes) override {
    MAGCNN_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, down_.get()));
  }
  Mark mark(Lane lane) override {
    const Mark m = next_++;
    MAGCNN_CHECK(cudaEventRecord(event(m), stream(lane)));
    return m;
  }
  void wait(Lane lane, Mark m) override {
    if (m != kNoMark) MAGCNN_CHECK(cudaStreamWaitEvent(stream(lane), event(m), 0));
  }
  void host_wait(Mark m) override {
    if (m != kNoMark) MAGCNN_CHECK(cudaEventSynchronize(event(m)));
  }

 private:
  cudaStream_t stream(Lane lane) const {
    return lane == Lane::Upload ? up_.get() : lane == Lane::Download ? down_.get() : compute_;
  }
  cudaEvent_t event(Mark m) const { return events_[static_cast<std::size_t>(m % kMarksInFlight)].get(); }
  cudaStream_t compute_;
  HandlePtr<cudaStream_t, cudaError_t> up_{nullptr, &cudaStreamDestroy}, down_{nullptr, &cudaStreamDestroy};
  std::vector<EventPtr> events_;
  Mark next_ = 0;
};

}  // namespace

std::unique_ptr<CopyLanes> make_copy_lanes(CudaContext& ctx) { return std::make_unique<CudaCopyLanes>(ctx); }

}  // namespace magcnn::cuda
