// Batched 2-D real FFTs with cuFFT on the context's stream: R2C/C2R in float, D2Z/Z2D in double.
#include <climits>
#include <string>

#include "cuda/cuda_check.h"
#include "cuda/cuda_parts.h"

namespace magcnn::cuda {
namespace {

// One cuFFT plan, destroyed with its owner (also when the owner's constructor throws later on).
struct CufftHandle {
  cufftHandle id = 0;
  bool made = false;
  CufftHandle() = default;
  CufftHandle(const CufftHandle&) = delete;
  CufftHandle& operator=(const CufftHandle&) = delete;
  ~CufftHandle() {
    if (made) cufftDestroy(id);
  }
  // Null embeddings: the basic contiguous layout, [batch, ny, nx] real and [batch, ny, nx/2+1] complex.
  // cufftMakePlanMany is the call that pairs with cufftCreate (cufftPlanMany would make a second handle
  // and leak the first).
  void plan(CudaContext& ctx, const FftSpec& spec, cufftType type) {
    MAGCNN_REQUIRE(spec.ny <= INT_MAX && spec.nx <= INT_MAX && spec.batch <= INT_MAX,
                   "cuFFT takes sizes below 2^31, asked for " << spec.batch << " x " << spec.ny << " x " << spec.nx);
    int dims[2] = {static_cast<int>(spec.ny), static_cast<int>(spec.nx)};
    MAGCNN_CHECK(cufftCreate(&id));
    made = true;
    std::size_t work_bytes = 0;
    MAGCNN_CHECK(cufftMakePlanMany(id, 2, dims, nullptr, 1, 0, nullptr, 1, 0, type, static_cast<int>(spec.batch), &work_bytes));
    MAGCNN_CHECK(cufftSetStream(id, ctx.stream()));
  }
};

class CufftPlan final : public FftPlan {
 public:
  // cuFFT's 2-D plans cannot skip zero rows; rows_in and rows_out are ignored (the GPU is not the
  // bottleneck there). Only the direction asked for is planned: each plan holds a work area.
  CufftPlan(CudaContext& ctx, const FftSpec& spec) : double_(spec.real_type == DType::F64) {
    if (spec.direction != FftDirection::Inverse) forward_.plan(ctx, spec, double_ ? CUFFT_D2Z : CUFFT_R2C);
    if (spec.direction != FftDirection::Forward) inverse_.plan(ctx, spec, double_ ? CUFFT_Z2D : CUFFT_C2R);
  }

  void forward(const void* real, void* half) override {
    if (!forward_.made) throw Error("FFT plan made for the inverse transform only, asked for the forward one");
    void* in = const_cast<void*>(real);
    if (double_) {
      MAGCNN_CHECK(cufftExecD2Z(forward_.id, static_cast<cufftDoubleReal*>(in), static_cast<cufftDoubleComplex*>(half)));
    } else {
      MAGCNN_CHECK(cufftExecR2C(forward_.id, static_cast<cufftReal*>(in), static_cast<cufftComplex*>(half)));
    }
  }
  void inverse(void* half, void* real) override {
    if (!inverse_.made) throw Error("FFT plan made for the forward transform only, asked for the inverse one");
    if (double_) {
      MAGCNN_CHECK(cufftExecZ2D(inverse_.id, static_cast<cufftDoubleComplex*>(half), static_cast<cufftDoubleReal*>(real)));
    } else {
      MAGCNN_CHECK(cufftExecC2R(inverse_.id, static_cast<cufftComplex*>(half), static_cast<cufftReal*>(real)));
    }
  }

 private:
  bool double_;
  CufftHandle forward_, inverse_;
};

}  // namespace

std::unique_ptr<FftPlan> make_cufft_plan(CudaContext& ctx, const FftSpec& spec) {
  return std::make_unique<CufftPlan>(ctx, spec);
}

}  // namespace magcnn::cuda
