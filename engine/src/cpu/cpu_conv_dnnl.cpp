// Convolution on the CPU with oneDNN (Debian's libdnnl, Apache-2.0), float only. The primitives are
// created once per plan with the layouts oneDNN prefers (blocked channels); the plan keeps its own
// buffers in those layouts and reorders our NCHW / OIHW tensors in and out around each call. Winograd
// (F(4,3), oneDNN's convolution_winograd) is taken for 3 x 3 kernels where the CPU supports it, the direct
// algorithm otherwise. The scratchpad is ours, allocated with the plan: calls allocate nothing.
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "cpu/cpu_parts.h"

namespace magcnn::cpu {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

// 64-byte aligned bytes (oneDNN's kernels load whole vector registers), owned.
class AlignedBytes {
 public:
  AlignedBytes() = default;
  explicit AlignedBytes(std::size_t bytes) : data_(static_cast<char*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64 + 64))) {
    if (data_ == nullptr) throw Error("out of host memory for a oneDNN convolution's buffers");
  }
  ~AlignedBytes() { std::free(data_); }
  AlignedBytes(AlignedBytes&& o) noexcept : data_(o.data_) { o.data_ = nullptr; }
  AlignedBytes& operator=(AlignedBytes&& o) noexcept {
    std::swap(data_, o.data_);
    return *this;
  }
  void* get() const { return data_; }

 private:
  char* data_ = nullptr;
};

// A tensor as the caller holds it (plain layout, caller's pointer) and as the primitive wants it (its
// own buffer when the layouts differ), with the reorders between them.
struct Operand {
  memory user, internal;
  AlignedBytes storage;
  bool reordered = false;
  dnnl::reorder to_internal, to_user;  // made once: making a reorder is far dearer than running it
  Operand(const dnnl::engine& engine, const memory::desc& plain, const memory::desc& wanted) {
    user = memory(plain, engine, DNNL_MEMORY_NONE);
    reordered = plain != wanted;
    if (reordered) {
      storage = AlignedBytes(wanted.get_size());
      internal = memory(wanted, engine, storage.get());
      to_internal = dnnl::reorder(user, internal);
      to_user = dnnl::reorder(internal, user);
    } else {
      internal = user;
    }
  }
  // Points the user memory at `data`; returns the memory the primitive should use.
  memory& bind(const void* data) {
    user.set_data_handle(const_cast<void*>(data));
    return internal;
  }
  void in(dnnl::stream& s) {
    if (reordered) to_internal.execute(s, user, internal);
  }
  void out(dnnl::stream& s) {
    if (reordered) to_user.execute(s, internal, user);
  }
};

class DnnlConv final : public ConvPlan {
 public:
  DnnlConv(const ConvSpec& s, dnnl::algorithm algorithm)
      : engine_(dnnl::engine::kind::cpu, 0), stream_(engine_), algorithm_(algorithm) {
    const memory::dims src{s.batch, s.in_channels, s.height, s.width}, dst{s.batch, s.out_channels, s.height, s.width};
    const memory::dims weights{s.out_channels, s.in_channels, s.kernel, s.kernel};
    const memory::dims strides{1, 1}, pad{s.kernel / 2, s.kernel / 2};
    const memory::desc src_any(src, dt::f32, tag::any), dst_any(dst, dt::f32, tag::any), w_any(weights, dt::f32, tag::any);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);

    const dnnl::convolution_forward::primitive_desc fwd(
        dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, algorithm, src_any, w_any, dst_any, strides, pad, pad),
        attr, engine_);
    const dnnl::convolution_backward_data::primitive_desc bwd_data(
        dnnl::convolution_backward_data::desc(algorithm, src_any, w_any, dst_any, strides, pad, pad), attr, engine_, fwd);
    const dnnl::convolution_backward_weights::primitive_desc bwd_weights(
        dnnl::convolution_backward_weights::desc(algorithm, src_any, w_any, dst_any, strides, pad, pad), attr, engine_, fwd);
    forward_ = dnnl::convolution_forward(fwd);
    backward_data_ = dnnl::convolution_backward_data(bwd_data);
    backward_weights_ = dnnl::convolution_backward_weights(bwd_weights);

    const memory::desc src_plain(src, dt::f32, tag::nchw), dst_plain(dst, dt::f32, tag::nchw), w_plain(weights, dt::f32, tag::oihw);
    x_f_.emplace(engine_, src_plain, fwd.src_desc());
    w_f_.emplace(engine_, w_plain, fwd.weights_desc());
    y_f_.emplace(engine_, dst_plain, fwd.dst_desc());
    dy_d_.emplace(engine_, dst_plain, bwd_data.diff_dst_desc());
    w_d_.emplace(engine_, w_plain, bwd_data.weights_desc());
    dx_d_.emplace(engine_, src_plain, bwd_data.diff_src_desc());
    x_w_.emplace(engine_, src_plain, bwd_weights.src_desc());
    dy_w_.emplace(engine_, dst_plain, bwd_weights.diff_dst_desc());
    dw_w_.emplace(engine_, w_plain, bwd_weights.diff_weights_desc());
    const std::size_t scratch = std::max({fwd.scratchpad_desc().get_size(), bwd_data.scratchpad_desc().get_size(),
                                          bwd_weights.scratchpad_desc().get_size()});
    scratch_storage_ = AlignedBytes(scratch);
    scratch_fwd_ = memory(fwd.scratchpad_desc(), engine_, scratch_storage_.get());
    scratch_bwd_data_ = memory(bwd_data.scratchpad_desc(), engine_, scratch_storage_.get());
    scratch_bwd_weights_ = memory(bwd_weights.scratchpad_desc(), engine_, scratch_storage_.get());
    implementation_ = std::string(fwd.impl_info_str()) + " / " + bwd_data.impl_info_str() + " / " + bwd_weights.impl_info_str();
  }

  void forward(const void* x, const void* w, void* y) override {
    Operand &X = *x_f_, &Wt = *w_f_, &Y = *y_f_;
    memory &mx = X.bind(x), &mw = Wt.bind(w), &my = Y.bind(y);
    X.in(stream_);
    Wt.in(stream_);
    forward_.execute(stream_, {{DNNL_ARG_SRC, mx}, {DNNL_ARG_WEIGHTS, mw}, {DNNL_ARG_DST, my}, {DNNL_ARG_SCRATCHPAD, scratch_fwd_}});
    Y.out(stream_);
    stream_.wait();
  }

  void backward_data(const void* dy, const void* w, void* dx) override {
    Operand &DY = *dy_d_, &Wt = *w_d_, &DX = *dx_d_;
    memory &mdy = DY.bind(dy), &mw = Wt.bind(w), &mdx = DX.bind(dx);
    DY.in(stream_);
    Wt.in(stream_);
    backward_data_.execute(stream_, {{DNNL_ARG_DIFF_DST, mdy}, {DNNL_ARG_WEIGHTS, mw}, {DNNL_ARG_DIFF_SRC, mdx},
                                     {DNNL_ARG_SCRATCHPAD, scratch_bwd_data_}});
    DX.out(stream_);
    stream_.wait();
  }

  void backward_filter(const void* x, const void* dy, void* dw) override {
    Operand &X = *x_w_, &DY = *dy_w_, &DW = *dw_w_;
    memory &mx = X.bind(x), &mdy = DY.bind(dy), &mdw = DW.bind(dw);
    X.in(stream_);
    DY.in(stream_);
    backward_weights_.execute(stream_, {{DNNL_ARG_SRC, mx}, {DNNL_ARG_DIFF_DST, mdy}, {DNNL_ARG_DIFF_WEIGHTS, mdw},
                                        {DNNL_ARG_SCRATCHPAD, scratch_bwd_weights_}});
    DW.out(stream_);
    stream_.wait();
  }

  std::string algorithm() const override {
    return std::string("oneDNN ") + (algorithm_ == dnnl::algorithm::convolution_winograd ? "Winograd" : "direct") + " (" +
           implementation_ + ")";
  }

 private:
  dnnl::engine engine_;
  dnnl::stream stream_;
  dnnl::algorithm algorithm_;
  dnnl::convolution_forward forward_;
  dnnl::convolution_backward_data backward_data_;
  dnnl::convolution_backward_weights backward_weights_;
  // One operand per tensor and pass: each pass may want its own layout. (Optional: made once the
  // primitive descriptors say which layout.)
  std::optional<Operand> x_f_, w_f_, y_f_, dy_d_, w_d_, dx_d_, x_w_, dy_w_, dw_w_;
  AlignedBytes scratch_storage_;
  memory scratch_fwd_, scratch_bwd_data_, scratch_bwd_weights_;
  std::string implementation_;
};

}  // namespace

std::unique_ptr<ConvPlan> make_dnnl_conv(const ConvSpec& spec, bool winograd) {
  if (spec.dtype != DType::F32) return nullptr;
  if (winograd && spec.kernel != 3) return nullptr;
  try {
    return std::make_unique<DnnlConv>(spec, winograd ? dnnl::algorithm::convolution_winograd : dnnl::algorithm::convolution_direct);
  } catch (const dnnl::error&) {
    return nullptr;  // not implemented for this shape or CPU: the caller takes another algorithm
  }
}

}  // namespace magcnn::cpu
