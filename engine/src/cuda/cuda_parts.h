// Pieces of the CUDA backend that live in their own files: cuFFT plans, the cuRAND device stream, cuDNN
// convolutions, CUB sorting, CUDA graphs, the copy lanes and the event timer.
#pragma once

#include <memory>

#include "cuda/cuda_context.h"
#include "magcnn/backend.h"
#include "magcnn/communicator.h"

namespace magcnn::cuda {

std::unique_ptr<FftPlan> make_cufft_plan(CudaContext& ctx, const FftSpec& spec);
std::unique_ptr<UniformStream> make_curand_stream(CudaContext& ctx, uint64_t seed);
std::unique_ptr<ConvPlan> make_cudnn_conv(CudaContext& ctx, const ConvSpec& spec);
std::unique_ptr<SortPlan> make_cub_sort(CudaContext& ctx, int64_t n);
std::unique_ptr<StepGraph> make_cuda_graph(CudaContext& ctx, const std::function<void()>& work);
std::unique_ptr<CopyLanes> make_copy_lanes(CudaContext& ctx);
std::unique_ptr<DeviceTimer> make_event_timer(CudaContext& ctx);
// An NCCL communicator over the ranks of `ranks`, one GPU each (cuda_nccl.cpp).
class NcclRanks {
 public:
  virtual ~NcclRanks() = default;
  virtual void sum(float* data, int64_t count) = 0;  // on the context's stream
};
std::unique_ptr<NcclRanks> make_nccl_ranks(CudaContext& ctx, Communicator& ranks);

}  // namespace magcnn::cuda
