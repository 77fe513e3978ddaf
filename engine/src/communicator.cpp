// Communicators: one process alone, or MPI's world (when built with MPI).
#include "magcnn/communicator.h"

#include <algorithm>
#include <cstdlib>

#include "magcnn/error.h"

#if MAGCNN_WITH_MPI
#include <mpi.h>
#endif

namespace magcnn {
namespace {

class SingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void sum(float*, int64_t) override {}
  void sum(double*, int64_t) override {}
  bool all(bool yes) override { return yes; }
  void broadcast(void*, std::size_t, int root) override {
    if (root != 0) throw Error("broadcast from rank " + std::to_string(root) + " in a run of one process");
  }
  void send(const void*, std::size_t, int to) override { throw Error("send to rank " + std::to_string(to) + " in a run of one process"); }
  void receive(void*, std::size_t, int from) override {
    throw Error("receive from rank " + std::to_string(from) + " in a run of one process");
  }
  void abort(int) override {}
  std::unique_ptr<Communicator> split(int) override { return std::make_unique<SingleProcess>(); }
  std::string describe() const override { return "1 process"; }
};

// Launchers announce themselves in the environment of the processes they start.
bool launched_by_mpi() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"})
    if (std::getenv(name) != nullptr) return true;
  return false;
}

#if MAGCNN_WITH_MPI
void check_mpi(int status, const char* call) {
  if (status == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(status, text, &length);
  throw Error(std::string(call) + " failed: " + std::string(text, static_cast<std::size_t>(length)));
}

class MpiWorld final : public Communicator {
 public:
  // The world (initializing MPI), or a part of it (`comm` from MPI_Comm_split, freed with it).
  explicit MpiWorld(MPI_Comm comm = MPI_COMM_NULL) : comm_(comm), owns_mpi_(comm == MPI_COMM_NULL) {
    if (owns_mpi_) {
      int provided = 0;
      check_mpi(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
      comm_ = MPI_COMM_WORLD;
      // Errors come back as statuses (turned into exceptions here) rather than aborting the job unseen.
      MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    }
    check_mpi(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
    check_mpi(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
    char version[MPI_MAX_LIBRARY_VERSION_STRING];
    int length = 0;
    MPI_Get_library_version(version, &length);
    library_ = std::string(version, static_cast<std::size_t>(length));
    if (const auto end = library_.find_first_of(",\n"); end != std::string::npos) library_.resize(end);
  }
  ~MpiWorld() override {
    if (owns_mpi_) {
      MPI_Finalize();
    } else {
      MPI_Comm_free(&comm_);
    }
  }
  std::unique_ptr<Communicator> split(int group) override {
    MPI_Comm part = MPI_COMM_NULL;
    check_mpi(MPI_Comm_split(comm_, group, rank_, &part), "MPI_Comm_split");
    auto made = std::make_unique<MpiWorld>(part);
    made->library_ = library_;
    return made;
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void sum(float* values, int64_t count) override { reduce(values, count, MPI_FLOAT); }
  void sum(double* values, int64_t count) override { reduce(values, count, MPI_DOUBLE); }
  bool all(bool yes) override {
    int mine = yes ? 1 : 0, every = 0;
    check_mpi(MPI_Allreduce(&mine, &every, 1, MPI_INT, MPI_LAND, comm_), "MPI_Allreduce");
    return every != 0;
  }
  void abort(int code) override { MPI_Abort(MPI_COMM_WORLD, code); }
  void send(const void* data, std::size_t bytes, int to) override {
    in_pieces(bytes, [&](std::size_t first, int n) {
      check_mpi(MPI_Send(static_cast<const char*>(data) + first, n, MPI_BYTE, to, 0, comm_), "MPI_Send");
    });
  }
  void receive(void* data, std::size_t bytes, int from) override {
    in_pieces(bytes, [&](std::size_t first, int n) {
      check_mpi(MPI_Recv(static_cast<char*>(data) + first, n, MPI_BYTE, from, 0, comm_, MPI_STATUS_IGNORE), "MPI_Recv");
    });
  }
  void broadcast(void* data, std::size_t bytes, int root) override {
    in_pieces(bytes, [&](std::size_t first, int n) {
      check_mpi(MPI_Bcast(static_cast<char*>(data) + first, n, MPI_BYTE, root, comm_), "MPI_Bcast");
    });
  }
  std::string describe() const override {
    return "MPI: rank " + std::to_string(rank_) + " of " + std::to_string(size_) + " (" + library_ + ")";
  }

 private:
  void reduce(void* values, int64_t count, MPI_Datatype type) {
    // In chunks that an int counts.
    constexpr int64_t kChunk = int64_t{1} << 30;
    auto* bytes = static_cast<char*>(values);
    int size = 0;
    MPI_Type_size(type, &size);
    for (int64_t first = 0; first < count; first += kChunk) {
      const int n = static_cast<int>(std::min(kChunk, count - first));
      check_mpi(MPI_Allreduce(MPI_IN_PLACE, bytes + first * size, n, type, MPI_SUM, comm_), "MPI_Allreduce");
    }
  }
  static constexpr std::size_t kMessage = std::size_t{1} << 30;  // bytes an int counts, in round numbers
  // Calls piece(offset, size) over [0, bytes) in messages of kMessage bytes at most, and once for no
  // bytes: every send is then matched by its receive, an empty one too.
  template <class F>
  static void in_pieces(std::size_t bytes, const F& piece) {
    std::size_t first = 0;
    do {
      const std::size_t n = std::min(kMessage, bytes - first);
      piece(first, static_cast<int>(n));
      first += n;
    } while (first < bytes);
  }
  MPI_Comm comm_;
  bool owns_mpi_;
  int rank_ = 0, size_ = 1;
  std::string library_;
};
#endif

}  // namespace

RankShare rank_share(int64_t n, int rank, int ranks) {
  const int64_t first = n * rank / ranks;
  return RankShare{first, n * (rank + 1) / ranks - first};
}

std::unique_ptr<Communicator> make_single_process() { return std::make_unique<SingleProcess>(); }

std::unique_ptr<Communicator> make_world_communicator() {
#if MAGCNN_WITH_MPI
  if (launched_by_mpi()) return std::make_unique<MpiWorld>();
#endif
  return make_single_process();
}

int local_rank() {
  for (const char* name : {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID"})
    if (const char* v = std::getenv(name)) return std::atoi(v);
  return 0;
}

bool built_with_mpi() { return MAGCNN_WITH_MPI != 0; }

}  // namespace magcnn
