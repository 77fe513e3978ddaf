// Batched 2-D real FFTs with cuFFT on the context's stream: R2C/C2R in float, D2Z/Z2D in double.
#include <string>

#include "cuda/cuda_check.h"
#include "cuda/cuda_parts.h"

namespace magcnn::cuda {
namespace {

class CufftPlan final : public FftPlan {
 public:
  // cuFFT's 2-D plans cannot skip zero rows; rows_in and rows_out are ignored (the GPU is not the
  // bottleneck there).
  CufftPlan(CudaContext& ctx, const FftSpec& spec) : double_(spec.real_type == DType::F64) {
    const int64_t batch = spec.batch;
    int dims[2] = {static_cast<int>(spec.ny), static_cast<int>(spec.nx)};
    MAGCNN_CHECK(cufftCreate(&forward_));
    MAGCNN_CHECK(cufftCreate(&inverse_));
    // Null embeddings: the basic contiguous layout, [batch, ny, nx] real and [batch, ny, nx/2+1] complex.
    MAGCNN_CHECK(cufftPlanMany(&forward_, 2, dims, nullptr, 1, 0, nullptr, 1, 0, double_ ? CUFFT_D2Z : CUFFT_R2C,
                               static_cast<int>(batch)));
    MAGCNN_CHECK(cufftPlanMany(&inverse_, 2, dims, nullptr, 1, 0, nullptr, 1, 0, double_ ? CUFFT_Z2D : CUFFT_C2R,
                               static_cast<int>(batch)));
    MAGCNN_CHECK(cufftSetStream(forward_, ctx.stream()));
    MAGCNN_CHECK(cufftSetStream(inverse_, ctx.stream()));
  }
  ~CufftPlan() override {
    cufftDestroy(forward_);
    cufftDestroy(inverse_);
  }

  void forward(const void* real, void* half) override {
    void* in = const_cast<void*>(real);
    if (double_) {
      MAGCNN_CHECK(cufftExecD2Z(forward_, static_cast<cufftDoubleReal*>(in), static_cast<cufftDoubleComplex*>(half)));
    } else {
      MAGCNN_CHECK(cufftExecR2C(forward_, static_cast<cufftReal*>(in), static_cast<cufftComplex*>(half)));
    }
  }
  void inverse(void* half, void* real) override {
    if (double_) {
      MAGCNN_CHECK(cufftExecZ2D(inverse_, static_cast<cufftDoubleComplex*>(half), static_cast<cufftDoubleReal*>(real)));
    } else {
      MAGCNN_CHECK(cufftExecC2R(inverse_, static_cast<cufftComplex*>(half), static_cast<cufftReal*>(real)));
    }
  }

 private:
  bool double_;
  cufftHandle forward_ = 0;
  cufftHandle inverse_ = 0;
};

}  // namespace

std::unique_ptr<FftPlan> make_cufft_plan(CudaContext& ctx, const FftSpec& spec) {
  return std::make_unique<CufftPlan>(ctx, spec);
}

}  // namespace magcnn::cuda
