// A small RAII wrapper over HDF5's C API: files, datasets (whole, row slices, appendable) and attributes.
// Every failure throws magcnn::Error with the call, its site and HDF5's own error message.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "magcnn/error.h"

namespace magcnn::h5 {

// An hid_t with its close function.
class Id {
 public:
  Id() = default;
  Id(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Id() { reset(); }
  Id(Id&& o) noexcept : id_(std::exchange(o.id_, H5I_INVALID_HID)), close_(o.close_) {}
  Id& operator=(Id&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = std::exchange(o.id_, H5I_INVALID_HID);
      close_ = o.close_;
    }
    return *this;
  }
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;
  hid_t get() const { return id_; }
  void reset() noexcept {
    if (id_ >= 0 && close_ != nullptr) close_(id_);
    id_ = H5I_INVALID_HID;
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
  herr_t (*close_)(hid_t) = nullptr;
};

// Throws with HDF5's error stack when `status` is negative.
int64_t checked(int64_t status, const char* call, const char* file, int line);
#define MAGCNN_H5(call) ::magcnn::h5::checked(static_cast<int64_t>(call), #call, __FILE__, __LINE__)

enum class Type { F32, F64 };

// A dataset of rank >= 1 whose first dimension grows as rows are appended (chunked; shuffle + deflate
// when `compress`, worth it for sparse maps, not for noisy floats).
class Appendable {
 public:
  Appendable() = default;
  Appendable(hid_t file, const std::string& name, Type type, std::vector<hsize_t> row_dims, bool compress);
  void append(const void* rows, int64_t count);  // `rows` holds count rows of the dataset's type
  hid_t id() const { return dataset_.get(); }

 private:
  Id dataset_;
  Type type_ = Type::F32;
  std::vector<hsize_t> row_dims_;
  hsize_t rows_ = 0;
};

class File {
 public:
  // Creates (truncates) `path` for writing.
  static File create(const std::string& path);
  // Opens `path` read-only; a missing file or one that is not HDF5 gets a plain message.
  static File open(const std::string& path);

  const std::string& path() const { return path_; }
  hid_t id() const { return file_.get(); }
  bool has(const std::string& name) const;
  // Dimensions of dataset `name` (InvalidInput if absent).
  std::vector<int64_t> dims(const std::string& name) const;
  // The whole dataset, converted to T by HDF5 from whatever numeric type it holds.
  template <class T>
  std::vector<T> read(const std::string& name) const;

  template <class T>
  void write(const std::string& name, const std::vector<int64_t>& dims, const T* data);
  Appendable appendable(const std::string& name, Type type, const std::vector<int64_t>& row_dims, bool compress = false);

  // Attributes of the root ("/") or of a dataset.
  void set_attr(const std::string& object, const std::string& name, double value);
  void set_attr(const std::string& object, const std::string& name, int64_t value);
  void set_attr(const std::string& object, const std::string& name, const std::string& value);
  std::optional<double> attr_double(const std::string& object, const std::string& name) const;
  std::optional<std::string> attr_string(const std::string& object, const std::string& name) const;

  void close() { file_.reset(); }

 private:
  File(std::string path, Id file) : path_(std::move(path)), file_(std::move(file)) {}
  Id open_object(const std::string& object) const;
  std::string path_;
  Id file_;
};

}  // namespace magcnn::h5
