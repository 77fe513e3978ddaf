#include "magcnn/predictor.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "magcnn/memory.h"

namespace magcnn {
namespace {

int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }
int64_t round_down(int64_t v, int64_t m) { return v / m * m; }

}  // namespace

int64_t receptive_radius(const NetworkSpec& spec) {
  const int64_t p = spec.kernel_size / 2;
  // conv1 (p) + pooling to 1/4 (a pixel's 4 x 4 block reaches 3 pixels on) + depth convolutions at 1/4
  // (4p each) + nearest upsampling back (3 more) + conv3 (3 x 3: 1). The full and half branches see less.
  return p + 3 + 4 * p * spec.depth + 3 + 1;
}

std::vector<TileSpan> tile_axis(int64_t n, int64_t tile, int64_t margin) {
  MAGCNN_REQUIRE(n > 0 && tile > 0 && n % 4 == 0 && tile % 4 == 0 && margin % 4 == 0, "tile_axis: sides must be multiples of 4");
  if (tile >= n) return {TileSpan{0, 0, n}};
  MAGCNN_REQUIRE(tile >= 2 * margin + 4, "a tile of " << tile << " pixels is too small for the network's receptive radius ("
                                                      << margin << " pixels on each side): use at least " << 2 * margin + 4);
  const int64_t core = tile - 2 * margin;
  std::vector<TileSpan> spans;
  int64_t origin = 0, keep_begin = 0;
  for (;;) {
    const bool last = origin + tile >= n;
    const int64_t keep_end = last ? n : origin + tile - margin;
    spans.push_back(TileSpan{origin, keep_begin, keep_end});
    if (last) break;
    keep_begin = keep_end;
    origin = std::min(origin + core, n - tile);
  }
  return spans;
}

Predictor::Predictor(Backend& backend, const ModelFile& model, int64_t ny, int64_t nx, const PredictorOptions& options)
    : backend_(backend), spec_(NetworkSpec::from(model.config.network)), ny_(ny), nx_(nx) {
  MAGCNN_REQUIRE(ny >= 1 && nx >= 1, "maps of " << ny << " x " << nx << " pixels: nothing to predict");
  MAGCNN_REQUIRE(spec_.in_channels == 1, model.config.source << ": the model takes " << spec_.in_channels
                                                             << " input channels; a field map gives one");
  MAGCNN_REQUIRE(options.max_batch >= 1, "the batch size must be at least 1");
  MAGCNN_REQUIRE(options.tile == 0 || (options.tile >= 4 && options.tile % 4 == 0),
                 "the tile side must be a multiple of 4 (got " << options.tile << ")");
  const int64_t H = round_up(ny, NetworkSpec::kSideMultiple), W = round_up(nx, NetworkSpec::kSideMultiple);
  const int64_t margin = round_up(receptive_radius(spec_), 4);
  const uint64_t available = backend.available_memory();
  const double budget = available > 0 ? options.memory_fraction * static_cast<double>(available) : INFINITY;
  const auto bytes = [&](int64_t batch, int64_t h, int64_t w) { return Network::memory_bytes(spec_, batch, h, w, DType::F32); };

  int64_t tile = options.tile;
  if (tile == 0) {
    // On the CPU a pass over one tile larger than kCpuMaxTile runs slower per pixel (measured on 2 cores:
    // 0.17 us a pixel at 1024 x 1024, 0.68 at 2048 x 2048 in one pass), its activations far beyond the
    // caches. The longer side is then cut into k tiles, k as few as keep them within kCpuMaxTile, each
    // just long enough that k of them cover it with the margins: k tiles of side T keep
    // k T - 2 margin (k - 1) pixels (tiles of kCpuMaxTile itself would cover 2048 with three, 2.25 times
    // the pixels, where two of 1036 take 1.02 times).
    const int64_t whole = std::max(H, W);
    if (backend.kind() == DeviceKind::CPU && whole > kCpuMaxTile) {
      const int64_t k = (whole + kCpuMaxTile - 1) / kCpuMaxTile;
      const int64_t side = round_up((whole + 2 * margin * (k - 1) + k - 1) / k, 4);
      if (bytes(1, side, side) <= budget) tile = side;
    }
    if (tile != 0) {
      // the CPU's tiles, chosen above
    } else if (bytes(1, H, W) <= budget) {
      tile = whole;
    } else {
      // Memory grows with the tile's area: start from the estimate and step down until it fits.
      const double per_pixel = bytes(1, 64, 64) / (64.0 * 64.0);
      tile = std::max<int64_t>(2 * margin + 4, round_down(static_cast<int64_t>(std::sqrt(budget / per_pixel)), 4));
      while (tile > 2 * margin + 4 && bytes(1, tile, tile) > budget) tile -= 4;
    }
  }
  tile_h_ = std::min(tile, H);
  tile_w_ = std::min(tile, W);
  rows_ = tile_axis(H, tile_h_, margin);
  cols_ = tile_axis(W, tile_w_, margin);
  const int64_t per_map = tiles_per_map();
  // A pass holds whole maps when a map's tiles fit in one, so that maps are never split between passes
  // needlessly; a map of more tiles than a pass takes goes through several.
  const int64_t by_memory = std::max<int64_t>(1, static_cast<int64_t>(std::min(budget / bytes(1, tile_h_, tile_w_), 1e9)));
  // On the CPU a pass of more than kCpuPassBatch maps runs slower per map (measured: 6,200 maps/s at 16
  // and 32, 4,100 at 256 on 2 cores), its activations no longer fitting in cache.
  const int64_t cap = backend.kind() == DeviceKind::CPU ? kCpuPassBatch : options.max_batch;
  const int64_t needed = options.expected_maps > 0 ? options.expected_maps * per_map : options.max_batch;
  batch_ = std::max<int64_t>(1, std::min({options.max_batch, by_memory, cap, needed}));
  if (per_map <= batch_) {
    maps_per_pass_ = batch_ / per_map;
    batch_ = maps_per_pass_ * per_map;
  } else {
    maps_per_pass_ = 1;
  }
  const double plane_bytes = static_cast<double>(batch_ * tile_h_ * tile_w_) * sizeof(float);
  require_memory(bytes(batch_, tile_h_, tile_w_) + 2 * plane_bytes * static_cast<double>(1 + spec_.out_channels), available,
                 "the network on " + std::to_string(batch_) + " tiles of " + std::to_string(tile_h_) + " x " +
                     std::to_string(tile_w_),
                 backend.kind() == DeviceKind::CUDA ? "GPU" : "host");

  params_ = std::make_unique<Parameters>(backend, spec_, DType::F32);
  load_parameters(model, *params_);
  net_ = std::make_unique<Network>(*params_, batch_, tile_h_, tile_w_);
  const std::size_t plane = static_cast<std::size_t>(tile_h_ * tile_w_) * sizeof(float);
  for (Slot& s : slots_) {
    s.x = Tensor(backend, DType::F32, Shape{batch_, 1, tile_h_, tile_w_});
    s.y = Tensor(backend, DType::F32, Shape{batch_, spec_.out_channels, tile_h_, tile_w_});
    s.x_host = HostBuffer(backend, static_cast<std::size_t>(batch_) * plane);
    s.y_host = HostBuffer(backend, static_cast<std::size_t>(batch_ * spec_.out_channels) * plane);
  }
  lanes_ = backend.copy_lanes();
}

Predictor::~Predictor() = default;

const TileSpan& Predictor::row_of(int64_t tile) const {
  return rows_[static_cast<std::size_t>(tile / static_cast<int64_t>(cols_.size()))];
}
const TileSpan& Predictor::col_of(int64_t tile) const {
  return cols_[static_cast<std::size_t>(tile % static_cast<int64_t>(cols_.size()))];
}

// Tiles [first, first + items) of the maps in `b`: gathered into the slot's host buffer, uploaded, run
// and downloaded, each step queued after what it depends on: the upload after the slot's previous pass
// stopped reading its input, the output copy after its previous download.
void Predictor::launch(const float* b, int64_t first, int64_t items, Slot& slot) {
  CopyLanes& lanes = *lanes_;
  const int64_t per_map = tiles_per_map(), th = tile_h_, tw = tile_w_;
  lanes.host_wait(slot.downloaded);  // the slot's host buffers are free again
  auto* x = static_cast<float*>(slot.x_host.data());
  // Gather: each tile's pixels from its map, zeros beyond the map (the padding to a multiple of 4).
  for (int64_t k = 0; k < items; ++k) {
    const int64_t item = first + k, t = item % per_map;
    const TileSpan& r = row_of(t);
    const TileSpan& c = col_of(t);
    float* dst = x + k * th * tw;
    const float* src = b + (item / per_map) * ny_ * nx_;
    for (int64_t i = 0; i < th; ++i) {
      const int64_t row = r.origin + i;
      float* line = dst + i * tw;
      const int64_t inside = row < ny_ ? std::clamp<int64_t>(nx_ - c.origin, 0, tw) : 0;
      if (inside > 0) std::memcpy(line, src + row * nx_ + c.origin, static_cast<std::size_t>(inside) * sizeof(float));
      std::fill(line + inside, line + tw, 0.0f);
    }
  }
  const std::size_t in_bytes = static_cast<std::size_t>(items * th * tw) * sizeof(float);
  const std::size_t out_bytes = in_bytes * static_cast<std::size_t>(spec_.out_channels);
  lanes.wait(Lane::Upload, slot.computed);
  lanes.upload(slot.x.data<float>(), x, in_bytes);
  lanes.wait(Lane::Compute, lanes.mark(Lane::Upload));
  net_->forward(slot.x);
  lanes.wait(Lane::Compute, slot.downloaded);
  backend_.copy(slot.y.data<float>(), net_->output().data, out_bytes);
  slot.computed = lanes.mark(Lane::Compute);
  lanes.wait(Lane::Download, slot.computed);
  lanes.download(slot.y_host.data(), slot.y.data<float>(), out_bytes);
  slot.downloaded = lanes.mark(Lane::Download);
}

// Scatter: each tile's kept pixels inside the map, once its download is done.
void Predictor::retire(const Pending& p) {
  const Slot& slot = slots_[p.slot];
  lanes_->host_wait(slot.downloaded);
  const int64_t per_map = tiles_per_map(), C = spec_.out_channels, th = tile_h_, tw = tile_w_;
  const auto* y = static_cast<const float*>(slot.y_host.data());
  for (int64_t k = 0; k < p.items; ++k) {
    const int64_t item = p.first + k, t = item % per_map;
    const TileSpan& r = row_of(t);
    const TileSpan& c = col_of(t);
    const int64_t row_end = std::min(r.keep_end, ny_), col_end = std::min(c.keep_end, nx_);
    if (col_end <= c.keep_begin) continue;
    for (int64_t ch = 0; ch < C; ++ch) {
      const float* src = y + (k * C + ch) * th * tw;
      float* dst = p.out + ((item / per_map) * C + ch) * ny_ * nx_;
      for (int64_t row = r.keep_begin; row < row_end; ++row)
        std::memcpy(dst + row * nx_ + c.keep_begin, src + (row - r.origin) * tw + (c.keep_begin - c.origin),
                    static_cast<std::size_t>(col_end - c.keep_begin) * sizeof(float));
    }
  }
}

void Predictor::submit(const float* b, int64_t count, float* out) {
  MAGCNN_REQUIRE(count >= 1 && count <= maps_per_pass_, "Predictor::submit takes 1 to " << maps_per_pass_ << " maps, not " << count);
  const int64_t total = count * tiles_per_map();
  for (int64_t first = 0; first < total; first += batch_) {
    const int64_t items = std::min(batch_, total - first);
    const int slot = next_slot_;
    next_slot_ ^= 1;
    launch(b, first, items, slots_[slot]);
    if (pending_.active) retire(pending_);  // while this pass runs
    pending_ = Pending{true, slot, first, items, out};
  }
}

void Predictor::finish() {
  if (!pending_.active) return;
  pending_.active = false;
  retire(pending_);
}

void Predictor::predict(const float* b, int64_t count, float* out) {
  const int64_t plane = ny_ * nx_;
  for (int64_t first = 0; first < count; first += maps_per_pass_) {
    const int64_t n = std::min(maps_per_pass_, count - first);
    submit(b + first * plane, n, out + first * spec_.out_channels * plane);
  }
  finish();
}

std::string Predictor::describe() const {
  std::string text = std::to_string(ny_) + " x " + std::to_string(nx_) + " maps: ";
  if (tiles_per_map() == 1) {
    text += "whole (padded to " + std::to_string(tile_h_) + " x " + std::to_string(tile_w_) + ")";
  } else {
    text += std::to_string(tiles_per_map()) + " tiles of " + std::to_string(tile_h_) + " x " + std::to_string(tile_w_) +
            " each (overlap " + std::to_string(2 * round_up(receptive_radius(spec_), 4)) + " pixels)";
  }
  return text + ", " + std::to_string(batch_) + " per pass";
}

}  // namespace magcnn
