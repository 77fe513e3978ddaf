// Tensors: a shape, an element type and memory on one backend's device. Tensor owns its memory (move-only,
// freed through its backend); TensorView is a non-owning window used to pass arguments to operations.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "magcnn/error.h"

namespace magcnn {

class Backend;

enum class DType { F32, F64, I32, I64, U8 };  // integers: indices, counters, masks
enum class DeviceKind { CPU, CUDA };

std::size_t dtype_size(DType t);
const char* dtype_name(DType t);
const char* device_name(DeviceKind d);

template <class T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() { return DType::F32; }
template <>
constexpr DType dtype_of<double>() { return DType::F64; }
template <>
constexpr DType dtype_of<int32_t>() { return DType::I32; }
template <>
constexpr DType dtype_of<int64_t>() { return DType::I64; }
template <>
constexpr DType dtype_of<unsigned char>() { return DType::U8; }

// Up to four dimensions ([N, C, H, W] at most); stored inline so that views never allocate.
class Shape {
 public:
  static constexpr int kMaxRank = 4;
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  explicit Shape(const std::vector<int64_t>& dims);
  int rank() const { return rank_; }
  int64_t operator[](int i) const { return dims_[static_cast<std::size_t>(i)]; }
  int64_t numel() const;
  // The same shape with dimension 0 set to n.
  Shape with_leading(int64_t n) const;
  std::string str() const;
  bool operator==(const Shape& o) const;
  bool operator!=(const Shape& o) const { return !(*this == o); }

 private:
  std::array<int64_t, kMaxRank> dims_{};
  int rank_ = 0;
};

struct TensorView {
  void* data = nullptr;
  DType dtype = DType::F32;
  DeviceKind device = DeviceKind::CPU;
  Shape shape;

  int64_t numel() const { return shape.numel(); }
  std::size_t bytes() const { return static_cast<std::size_t>(numel()) * dtype_size(dtype); }
  // Items [begin, end) along dimension 0.
  TensorView slice(int64_t begin, int64_t end) const;
  template <class T>
  T* as() const {
    MAGCNN_REQUIRE(dtype == dtype_of<T>(), "tensor holds " << dtype_name(dtype) << ", not "
                                                           << dtype_name(dtype_of<T>()));
    return static_cast<T*>(data);
  }
};

class Tensor {
 public:
  Tensor() = default;
  // Uninitialized memory for `shape` on `backend`'s device; the backend must outlive the tensor.
  Tensor(Backend& backend, DType dtype, Shape shape);
  ~Tensor();
  Tensor(Tensor&& other) noexcept;
  Tensor& operator=(Tensor&& other) noexcept;
  Tensor(const Tensor&) = delete;
  Tensor& operator=(const Tensor&) = delete;

  bool empty() const { return data_ == nullptr; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t numel() const { return shape_.numel(); }
  std::size_t bytes() const { return static_cast<std::size_t>(numel()) * dtype_size(dtype_); }
  DeviceKind device() const;
  Backend& backend() const;
  TensorView view() const;
  operator TensorView() const { return view(); }
  template <class T>
  T* data() const {
    return view().as<T>();
  }

  void zero();
  // Host <-> device copies of the whole tensor; the host side holds numel() elements of the tensor's type.
  void upload(const void* host, std::size_t bytes);
  void download(void* host, std::size_t bytes) const;
  template <class T>
  void upload(const std::vector<T>& host) {
    MAGCNN_REQUIRE(dtype_of<T>() == dtype_, "upload of " << dtype_name(dtype_of<T>()) << " into a "
                                                         << dtype_name(dtype_) << " tensor");
    upload(host.data(), host.size() * sizeof(T));
  }
  template <class T>
  std::vector<T> to_host() const {
    MAGCNN_REQUIRE(dtype_of<T>() == dtype_, "download of a " << dtype_name(dtype_) << " tensor as "
                                                             << dtype_name(dtype_of<T>()));
    std::vector<T> out(static_cast<std::size_t>(numel()));
    download(out.data(), out.size() * sizeof(T));
    return out;
  }

 private:
  void release() noexcept;
  Backend* backend_ = nullptr;
  void* data_ = nullptr;
  DType dtype_ = DType::F32;
  Shape shape_;
};

// Host memory from a backend (page-locked for a GPU), owned; for staging transfers.
class HostBuffer {
 public:
  HostBuffer() = default;
  HostBuffer(Backend& backend, std::size_t bytes);
  ~HostBuffer();
  HostBuffer(HostBuffer&& o) noexcept;
  HostBuffer& operator=(HostBuffer&& o) noexcept;
  HostBuffer(const HostBuffer&) = delete;
  HostBuffer& operator=(const HostBuffer&) = delete;
  void* data() const { return data_; }
  std::size_t bytes() const { return bytes_; }

 private:
  Backend* backend_ = nullptr;
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
};

}  // namespace magcnn
