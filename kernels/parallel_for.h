// The CPU side of "one formula, two loops": an OpenMP loop over an element functor. The CUDA side is the
// grid-stride kernel in kernels/cuda/launch.cuh around the same functor.
#pragma once

#include <omp.h>

#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

namespace magcnn::kern {

// Below this many elements a loop runs on the calling thread: waking the team costs more than it saves
// (the network's small layers and scalar ops run thousands of times an epoch).
constexpr int64_t kParallelFrom = 16384;

template <class F>
void cpu_for(int64_t n, const F& f) {
#pragma omp parallel for schedule(static) if (n >= kParallelFrom)
  for (int64_t i = 0; i < n; ++i) f(i);
}

// For element functions whose cost varies a lot between elements (cell kernels: near field vs far field).
template <class F>
void cpu_for_dynamic(int64_t n, const F& f) {
#pragma omp parallel for schedule(dynamic, 256)
  for (int64_t i = 0; i < n; ++i) f(i);
}

// Ops over a [rows, cols] grid (they define at(row, col) and cols): rows in parallel, columns inside,
// no division per element.
template <class Op, class = void>
struct has_rows : std::false_type {};
template <class Op>
struct has_rows<Op, std::void_t<decltype(std::declval<const Op&>().at(int64_t{}, int64_t{}))>> : std::true_type {};

template <class Op>
void cpu_for_rows(int64_t n, const Op& op) {
  const int64_t cols = op.cols, rows = n / cols;
#pragma omp parallel for schedule(static) if (n >= kParallelFrom)
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) op.at(r, c);
}

// The CPU side of a reduction (kernels/reduce_ops.h): each row summed in four interleaved lanes combined
// as (l0 + l1) + (l2 + l3), the rows' sums added in order, so the bits depend on the op alone, not on the
// number of threads. Outputs run in parallel when there are enough of them, rows otherwise. `scratch`
// holds the rows' sums between calls (grown once, then reused: no allocation in a steady loop).
template <class Op>
double cpu_row_sum(const Op& op, int64_t o, int64_t r) {
  double lane[4] = {0, 0, 0, 0};
  const int64_t cols = op.cols, whole = cols / 4 * 4;
  for (int64_t c = 0; c < whole; c += 4)
    for (int j = 0; j < 4; ++j) lane[j] += op.value(o, r, c + j);
  for (int64_t c = whole; c < cols; ++c) lane[c - whole] += op.value(o, r, c);
  return (lane[0] + lane[1]) + (lane[2] + lane[3]);
}

template <class Op>
void cpu_reduce(const Op& op, int64_t outputs, std::vector<double>& scratch) {
  const int64_t rows = op.rows();
  if (outputs >= omp_get_max_threads() || rows <= 1) {
#pragma omp parallel for schedule(static) if (outputs * rows * op.cols >= kParallelFrom)
    for (int64_t o = 0; o < outputs; ++o) {
      double total = 0;
      for (int64_t r = 0; r < rows; ++r) total += cpu_row_sum(op, o, r);
      op.store(o, total);
    }
    return;
  }
  if (static_cast<int64_t>(scratch.size()) < rows) scratch.resize(static_cast<std::size_t>(rows));
  for (int64_t o = 0; o < outputs; ++o) {
    double* partial = scratch.data();
#pragma omp parallel for schedule(static) if (rows * op.cols >= kParallelFrom)
    for (int64_t r = 0; r < rows; ++r) partial[r] = cpu_row_sum(op, o, r);
    double total = 0;
    for (int64_t r = 0; r < rows; ++r) total += partial[r];
    op.store(o, total);
  }
}

}  // namespace magcnn::kern
