// The GPUs' all-reduce for data-parallel training: an NCCL communicator over the ranks of a run, one GPU
// each, whose unique id rank 0 makes and sends to the others through the run's communicator.
#include "cuda/cuda_parts.h"

#include <string>

#include "cuda/cuda_check.h"
#include "magcnn/error.h"

#if MAGCNN_HAVE_NCCL
#include <nccl.h>
#endif

namespace magcnn::cuda {
namespace {

#if MAGCNN_HAVE_NCCL
void check_nccl(ncclResult_t status, const char* call) {
  if (status != ncclSuccess) throw Error(std::string(call) + " failed: " + ncclGetErrorString(status));
}

class Nccl final : public NcclRanks {
 public:
  Nccl(CudaContext& ctx, Communicator& ranks) : ctx_(ctx) {
    ncclUniqueId id{};
    if (ranks.rank() == 0) {
      check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
      for (int r = 1; r < ranks.size(); ++r) ranks.send(&id, sizeof id, r);
    } else {
      ranks.receive(&id, sizeof id, 0);
    }
    MAGCNN_CHECK(cudaSetDevice(ctx.device()));
    check_nccl(ncclCommInitRank(&comm_, ranks.size(), id, ranks.rank()), "ncclCommInitRank");
  }
  ~Nccl() override { ncclCommDestroy(comm_); }
  void sum(float* data, int64_t count) override {
    check_nccl(ncclAllReduce(data, data, static_cast<size_t>(count), ncclFloat, ncclSum, comm_, ctx_.stream()), "ncclAllReduce");
  }

 private:
  CudaContext& ctx_;
  ncclComm_t comm_ = nullptr;
};
#endif

}  // namespace

std::unique_ptr<NcclRanks> make_nccl_ranks(CudaContext& ctx, Communicator& ranks) {
#if MAGCNN_HAVE_NCCL
  return std::make_unique<Nccl>(ctx, ranks);
#else
  (void)ctx;
  throw InvalidInput("data-parallel training on GPUs over " + std::to_string(ranks.size()) +
                     " processes needs NCCL, which this build lacks (it ships with the CUDA toolkit: libnccl): use --device cpu, "
                     "or one process");
#endif
}

}  // namespace magcnn::cuda
