// The processes of one run, launched together (mpirun, srun): how many there are, which one this is, and
// the collective operations data-parallel training needs. A process started alone is rank 0 of 1.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace magcnn {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Sums `count` values element-wise over the ranks, in place on every rank (host memory).
  virtual void sum(float* values, int64_t count) = 0;
  virtual void sum(double* values, int64_t count) = 0;
  // Point to point, blocking: `bytes` to rank `to`, and from rank `from` (the sizes must agree).
  virtual void send(const void* data, std::size_t bytes, int to) = 0;
  virtual void receive(void* data, std::size_t bytes, int from) = 0;
  // Rank `root`'s `bytes` at `data` into every rank's `data` (every rank must call it, with the same size).
  virtual void broadcast(void* data, std::size_t bytes, int root) = 0;
  // Whether `yes` holds on every rank (each rank's answer, and'ed; every rank must call it).
  virtual bool all(bool yes) = 0;
  // The ranks that pass the same `group` (every rank must call it), as a communicator of their own,
  // ranked in this communicator's order.
  virtual std::unique_ptr<Communicator> split(int group) = 0;
  // Ends every rank of the run at once with `code` (a rank that failed, while the others may be waiting
  // for it in a collective). Alone: returns, and the caller exits as usual.
  virtual void abort(int code) = 0;
  // "1 process", "MPI: rank 0 of 2 (Open MPI v4.1.4 ...)".
  virtual std::string describe() const = 0;
};

// Rank `rank`'s share of `n` items (samples, rows, maps) dealt out in order over `ranks`, as even as whole
// items allow: [first, first + count). Every rank computes every rank's alike.
struct RankShare {
  int64_t first = 0, count = 0;
  int64_t end() const { return first + count; }
};
RankShare rank_share(int64_t n, int rank, int ranks);

// One process alone.
std::unique_ptr<Communicator> make_single_process();
// MPI's world when this build has MPI and the process was started by an MPI launcher (mpirun, mpiexec,
// srun: its environment says so), initializing MPI (finalized when the communicator goes); else one
// process alone. At most one MPI communicator per process.
std::unique_ptr<Communicator> make_world_communicator();
// This process's rank among the ranks on its machine, as the launcher says (Open MPI, MPICH, Slurm); 0
// when it says nothing. Picks each rank's GPU.
int local_rank();
// Whether this build can run over MPI.
bool built_with_mpi();

}  // namespace magcnn
