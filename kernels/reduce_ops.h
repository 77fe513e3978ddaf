// Reductions, the second kind of op both backends run: output o is the sum, in double, of the values
// value(o, row, col) over a [rows(), cols] grid of terms, stored by store(o, sum). Backends sum in an
// order fixed by the op alone (CPU: each row in four interleaved lanes, rows in order; CUDA: a fixed
// block shape, four accumulators per thread and a tree), never with atomics, so a rerun on the same
// device gives the same bits.
#pragma once

#include "hd.h"
#include "network_ops.h"

namespace magcnn::kern {

// The terms that thread t of T visits in the GPU's reduction: k = t, t + T, t + 2T, ... of a grid with
// `cols` columns, as (row, col), stepped without a division per term. In this shared header so that the
// CPU tests check the traversal the GPU runs.
struct StridedCursor {
  int64_t row, col, step_row, step_col, cols;
  MAGCNN_HD StridedCursor(int64_t t, int64_t T, int64_t columns)
      : row(t / columns), col(t % columns), step_row(T / columns), step_col(T % columns), cols(columns) {}
  MAGCNN_HD void advance() {
    col += step_col;
    row += step_row;
    if (col >= cols) {  // step_col < cols: once is enough
      col -= cols;
      ++row;
    }
  }
};

// db[c] = sum over samples n (rows) and pixels p (columns) of dy[n, c, p].
template <class T>
struct BiasGrad {
  const T* dy;
  T* db;
  int64_t batch, channels, cols;  // cols: the plane
  MAGCNN_HD int64_t rows() const { return batch; }
  MAGCNN_HD double value(int64_t c, int64_t n, int64_t p) const { return static_cast<double>(dy[(n * channels + c) * cols + p]); }
  MAGCNN_HD void store(int64_t c, double sum) const { db[c] = static_cast<T>(sum); }
};

// sums[slot] = sum of (y - t)^2 over [samples, cols] values, slot = counters[kStepInEpoch] + offset when
// counters is given (one slot per training step), else offset.
template <class T>
struct SquaredErrorSum {
  const T* y;
  const T* target;
  int64_t samples, cols;  // cols: values per sample
  double* sums;
  const int64_t* counters;
  int64_t offset;
  MAGCNN_HD int64_t rows() const { return samples; }
  MAGCNN_HD double value(int64_t, int64_t r, int64_t c) const {
    const double d = static_cast<double>(y[r * cols + c]) - static_cast<double>(target[r * cols + c]);
    return d * d;
  }
  MAGCNN_HD void store(int64_t, double sum) const { sums[(counters != nullptr ? counters[kStepInEpoch] : 0) + offset] = sum; }
};

}  // namespace magcnn::kern
