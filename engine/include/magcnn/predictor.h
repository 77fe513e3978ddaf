// The trained network run over whole maps of any size on the model's grid (1 pixel = one standoff d).
//
// A map is padded with zeros to a multiple of 4 (the network's two 2 x 2 pools) and run whole when its
// network fits in memory; larger maps are cut into overlapping tiles. Tiles start at multiples of 4, so
// that their pooling grids are the whole map's, and each tile contributes only the pixels farther than
// the network's receptive radius from its cut edges: those see exactly what they would see in the whole
// map, so the stitched result equals one pass (to the convolution's rounding), with no seam to blend.
// Edge tiles end at the padded map's edges, where the network's own zero padding is the whole map's.
// Maps of one size share one plan: tiles of several maps go through the network in one batch; every
// buffer is allocated at construction.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "magcnn/backend.h"
#include "magcnn/model_io.h"
#include "magcnn/network.h"

namespace magcnn {

// How far (in pixels) an output pixel of the network sees into its input, bounded above: conv1, the
// quarter-resolution branch with its 4 x 4 pooling blocks before and after, then conv3.
int64_t receptive_radius(const NetworkSpec& spec);

// Where the tiles of one axis of length n (a multiple of 4) start and which of their pixels are kept.
struct TileSpan {
  int64_t origin = 0;            // first pixel of the tile
  int64_t keep_begin = 0, keep_end = 0;  // pixels [keep_begin, keep_end) of the map come from this tile
};
// Tiles of side `tile` (a multiple of 4, <= n) over [0, n) with `margin` (a multiple of 4) discarded at
// every cut; one tile when tile == n. InvalidInput when tile < 2 margin + 4.
std::vector<TileSpan> tile_axis(int64_t n, int64_t tile, int64_t margin);

struct PredictorOptions {
  int64_t max_batch = 256;  // tiles (or whole maps) per network pass, at most (kCpuPassBatch on the CPU)
  int64_t tile = 0;         // tile side; 0: whole maps when they fit in memory (up to kCpuMaxTile on the CPU), else
                            // the largest tile that does
  double memory_fraction = 0.5;  // of the backend's free memory the network may take
  int64_t expected_maps = 0;     // maps there are to predict, when known: no pass is made larger than they need
};

class Predictor {
 public:
  static constexpr int64_t kCpuPassBatch = 32;
  // About the largest tile side the CPU takes by default (options.tile == 0); larger maps are cut into
  // as few tiles as keep within it (rounded up to a multiple of 4 with the margins).
  static constexpr int64_t kCpuMaxTile = 1024;
  // For maps of ny x nx model pixels. Checks memory before allocating (InvalidInput when even one tile
  // cannot be held).
  Predictor(Backend& backend, const ModelFile& model, int64_t ny, int64_t nx, const PredictorOptions& options = {});
  ~Predictor();
  Predictor(const Predictor&) = delete;
  Predictor& operator=(const Predictor&) = delete;

  int64_t ny() const { return ny_; }
  int64_t nx() const { return nx_; }
  int64_t out_channels() const { return spec_.out_channels; }
  // Maps that predict() takes per call and runs together.
  int64_t maps_per_pass() const { return maps_per_pass_; }
  int64_t tile_h() const { return tile_h_; }
  int64_t tile_w() const { return tile_w_; }
  int64_t tiles_per_map() const { return static_cast<int64_t>(rows_.size() * cols_.size()); }
  // b: `count` maps [count, ny, nx] of the normalized field b (host); out: [count, out_channels, ny, nx].
  // Any count >= 1. Allocation-free; returns when `out` is complete.
  void predict(const float* b, int64_t count, float* out);

  // The same in steps that overlap the caller's work with the device's. submit() queues the passes of
  // `count` maps (1 <= count <= maps_per_pass()) and returns with the last of them still running (on a
  // GPU: uploads, the network and downloads each on their own stream, two passes in flight); `b` may be
  // reused on return, `out` is complete once the next submit() or finish() has returned. So a caller
  // prepares its next maps and finishes its previous ones while the device computes.
  void submit(const float* b, int64_t count, float* out);
  void finish();
  std::string describe() const;

 private:
  // One pass's buffers, two of them used in turn; the marks say when the device is done with them.
  struct Slot {
    Tensor x, y;            // device: the network's input and a copy of its output
    HostBuffer x_host, y_host;
    CopyLanes::Mark computed = CopyLanes::kNoMark, downloaded = CopyLanes::kNoMark;
  };
  struct Pending {  // the pass whose result is still on its way
    bool active = false;
    int slot = 0;
    int64_t first = 0, items = 0;  // tiles [first, first + items) of its submit()'s maps
    float* out = nullptr;
  };
  void launch(const float* b, int64_t first, int64_t items, Slot& slot);
  void retire(const Pending& p);
  const TileSpan& row_of(int64_t tile) const;
  const TileSpan& col_of(int64_t tile) const;

  Backend& backend_;
  NetworkSpec spec_;
  int64_t ny_, nx_, tile_h_ = 0, tile_w_ = 0, batch_ = 0, maps_per_pass_ = 0;
  std::vector<TileSpan> rows_, cols_;
  std::unique_ptr<Parameters> params_;
  std::unique_ptr<Network> net_;
  Slot slots_[2];
  int next_slot_ = 0;
  Pending pending_;
  std::unique_ptr<CopyLanes> lanes_;  // declared last: destroyed first, after its copies into the slots finish
};

}  // namespace magcnn
