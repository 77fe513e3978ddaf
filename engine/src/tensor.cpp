// Tensor memory through the owning backend; shapes and views.
#include "magcnn/tensor.h"

#include <climits>
#include <sstream>
#include <utility>

#include "magcnn/backend.h"
#include "magcnn/log.h"

namespace magcnn {

std::size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::F64: return 8;
    case DType::I32: return 4;
    case DType::I64: return 8;
    default: return 1;
  }
}
const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "float32";
    case DType::F64: return "float64";
    case DType::I32: return "int32";
    case DType::I64: return "int64";
    default: return "uint8";
  }
}
const char* device_name(DeviceKind d) { return d == DeviceKind::CPU ? "cpu" : "cuda"; }

Shape::Shape(std::initializer_list<int64_t> dims) : Shape(std::vector<int64_t>(dims)) {}

Shape::Shape(const std::vector<int64_t>& dims) {
  MAGCNN_REQUIRE(dims.size() <= static_cast<std::size_t>(kMaxRank),
                 "tensors have at most " << kMaxRank << " dimensions, got " << dims.size());
  rank_ = static_cast<int>(dims.size());
  for (std::size_t i = 0; i < dims.size(); ++i) {
    MAGCNN_REQUIRE(dims[i] >= 0, "negative dimension " << dims[i]);
    dims_[i] = dims[i];
  }
  // Element and byte counts (of 8-byte elements) must be representable, so numel() never wraps.
  int64_t elements = 1;
  for (const int64_t d : dims)
    MAGCNN_REQUIRE(!__builtin_mul_overflow(elements, d, &elements) && elements <= (INT64_MAX >> 3),
                   "a tensor of shape " << str() << " is too large to count its bytes");
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int i = 0; i < rank_; ++i) n *= dims_[static_cast<std::size_t>(i)];
  return n;
}

Shape Shape::with_leading(int64_t n) const {
  Shape s = *this;
  s.dims_[0] = n;
  return s;
}

std::string Shape::str() const {
  std::ostringstream o;
  o << "[";
  for (int i = 0; i < rank_; ++i) o << (i ? ", " : "") << dims_[static_cast<std::size_t>(i)];
  o << "]";
  return o.str();
}

bool Shape::operator==(const Shape& o) const {
  if (rank_ != o.rank_) return false;
  for (int i = 0; i < rank_; ++i)
    if (dims_[static_cast<std::size_t>(i)] != o.dims_[static_cast<std::size_t>(i)]) return false;
  return true;
}

TensorView TensorView::slice(int64_t begin, int64_t end) const {
  MAGCNN_REQUIRE(shape.rank() >= 1 && begin >= 0 && begin <= end && end <= shape[0],
                 "slice [" << begin << ", " << end << ") of a tensor of shape " << shape.str());
  TensorView v = *this;
  v.shape = shape.with_leading(end - begin);
  const int64_t item = shape[0] == 0 ? 0 : numel() / shape[0];
  v.data = static_cast<char*>(data) + static_cast<std::size_t>(begin * item) * dtype_size(dtype);
  return v;
}

Tensor::Tensor(Backend& backend, DType dtype, Shape shape) : backend_(&backend), dtype_(dtype), shape_(shape) {
  data_ = backend.allocate(bytes() > 0 ? bytes() : 1);
}

Tensor::~Tensor() { release(); }

Tensor::Tensor(Tensor&& other) noexcept
    : backend_(std::exchange(other.backend_, nullptr)),
      data_(std::exchange(other.data_, nullptr)),
      dtype_(other.dtype_),
      shape_(other.shape_) {}

Tensor& Tensor::operator=(Tensor&& other) noexcept {
  if (this != &other) {
    release();
    backend_ = std::exchange(other.backend_, nullptr);
    data_ = std::exchange(other.data_, nullptr);
    dtype_ = other.dtype_;
    shape_ = other.shape_;
  }
  return *this;
}

void Tensor::release() noexcept {
  if (data_ != nullptr && backend_ != nullptr) backend_->deallocate(data_);
  data_ = nullptr;
}

DeviceKind Tensor::device() const { return backend().kind(); }

Backend& Tensor::backend() const {
  MAGCNN_REQUIRE(backend_ != nullptr, "use of an empty tensor");
  return *backend_;
}

TensorView Tensor::view() const {
  MAGCNN_REQUIRE(data_ != nullptr, "use of an empty tensor");
  return TensorView{data_, dtype_, backend_->kind(), shape_};
}

void Tensor::zero() { backend().zero(data_, bytes()); }

void Tensor::upload(const void* host, std::size_t n) {
  MAGCNN_REQUIRE(n == bytes(), "upload of " << n << " bytes into a tensor of " << bytes() << " bytes "
                                            << shape_.str());
  backend().upload(data_, host, n);
}

void Tensor::download(void* host, std::size_t n) const {
  MAGCNN_REQUIRE(n == bytes(), "download of " << n << " bytes from a tensor of " << bytes() << " bytes "
                                              << shape_.str());
  backend().download(host, data_, n);
}

HostBuffer::HostBuffer(Backend& backend, std::size_t bytes)
    : backend_(&backend), data_(backend.allocate_host(bytes > 0 ? bytes : 1)), bytes_(bytes) {}

HostBuffer::~HostBuffer() {
  if (data_ != nullptr) backend_->deallocate_host(data_);
}

HostBuffer::HostBuffer(HostBuffer&& o) noexcept
    : backend_(std::exchange(o.backend_, nullptr)), data_(std::exchange(o.data_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}

HostBuffer& HostBuffer::operator=(HostBuffer&& o) noexcept {
  if (this != &o) {
    if (data_ != nullptr) backend_->deallocate_host(data_);
    backend_ = std::exchange(o.backend_, nullptr);
    data_ = std::exchange(o.data_, nullptr);
    bytes_ = std::exchange(o.bytes_, 0);
  }
  return *this;
}

}  // namespace magcnn
