// Pieces of the CUDA backend that live in their own files: cuFFT plans and the cuRAND device stream.
#pragma once

#include <memory>

#include "cuda/cuda_context.h"
#include "magcnn/backend.h"

namespace magcnn::cuda {

std::unique_ptr<FftPlan> make_cufft_plan(CudaContext& ctx, const FftSpec& spec);
std::unique_ptr<UniformStream> make_curand_stream(CudaContext& ctx, uint64_t seed);

}  // namespace magcnn::cuda
