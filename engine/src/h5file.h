// A small RAII wrapper over HDF5's C API: files, datasets (whole, row slices, appendable) and attributes.
// Files come from other people's programs, so every read checks before it trusts: the object is a
// dataset in this file (not a group, not data kept in another file), its type is numeric, its filters can
// be decoded, its size is representable and fits in memory, and an attribute holds one value of the
// expected class. Problems with a file's contents throw InvalidInput naming the file, the object and what
// would be accepted; failures of HDF5 itself throw Error with the call, its site and HDF5's message.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "magcnn/error.h"
#include "magcnn/geometry.h"

namespace magcnn::h5 {

// An hid_t with its close function.
class Id {
 public:
  Id() = default;
  Id(hid_t id, herr_t (*closer)(hid_t)) : id_(id), close_(closer) {}
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
  // Closes, ignoring failure: for unwinding, where an earlier error is already on its way.
  void reset() noexcept {
    if (id_ >= 0 && close_ != nullptr) close_(id_);
    id_ = H5I_INVALID_HID;
  }
  // Closes and returns HDF5's status: closing a written object flushes it, and that can fail.
  herr_t close() noexcept {
    herr_t status = 0;
    if (id_ >= 0 && close_ != nullptr) status = close_(id_);
    id_ = H5I_INVALID_HID;
    return status;
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
  herr_t (*close_)(hid_t) = nullptr;
};

// Reads `path` once in a child process (h5probe.cpp): throws InvalidInput when the HDF5 library crashes
// or hangs on it there, so that it never does in this process. File::open calls it.
void probe_in_child(const std::string& path);

// How much of what a dataset's shape declares it actually stores on disk. Uncompressed, a dataset that
// stores less than half is damaged (a corrupted dimension) or was never completely written; compressed,
// one that would need more than kMaxCompressionRatio. Readers refuse it before allocating for its shape.
constexpr double kMaxCompressionRatio = 1100;
struct StoredFraction {
  bool unwritten = false;
  double declared_bytes = 0, stored_bytes = 0;
};
StoredFraction mostly_unwritten(hid_t dataset);

// HDF5's error stack as text (its first messages), cleared.
std::string error_stack();
// Throws with HDF5's error stack when `status` is negative.
int64_t checked(int64_t status, const char* call, const char* file, int line);
#define MAGCNN_H5(call) ::magcnn::h5::checked(static_cast<int64_t>(call), #call, __FILE__, __LINE__)

enum class Type { F32, F64 };

// A dataset of rank >= 1 whose first dimension grows as rows are appended (chunked; shuffle + deflate
// when `compress`, worth it for sparse maps, not for noisy floats). `expected_rows` caps the chunk so that
// a small set does not carry a mostly empty chunk.
class Appendable {
 public:
  Appendable() = default;
  Appendable(hid_t file, const std::string& file_path, const std::string& name, Type type, std::vector<hsize_t> row_dims,
             bool compress, int64_t expected_rows);
  void append(const void* rows, int64_t count);  // `rows` holds count rows of the dataset's type
  hid_t id() const { return dataset_.get(); }
  // Closes the dataset, flushing it; throws when that fails.
  void close();

 private:
  Id dataset_;
  std::string file_path_, name_;
  Type type_ = Type::F32;
  std::vector<hsize_t> row_dims_;
  hsize_t rows_ = 0;
};

class File {
 public:
  // Creates `path` for writing, truncating an existing file unless `exclusive` (then it must not exist);
  // messages name it `shown_as` when given (the final name of a file written under a temporary one).
  static File create(const std::string& path, const std::string& shown_as = "", bool exclusive = false);
  // Opens `path` read-only; a missing, special or damaged file gets a plain message.
  static File open(const std::string& path);

  const std::string& path() const { return path_; }
  hid_t id() const { return file_.get(); }
  // Whether this file has an object called `name` (a dataset, group or anything else).
  bool has(const std::string& name) const;
  // Dimensions of dataset `name` (InvalidInput if absent or not a dataset of this file).
  std::vector<int64_t> dims(const std::string& name) const;
  // The whole dataset, converted to T by HDF5 from whatever integer or float type it holds.
  template <class T>
  std::vector<T> read(const std::string& name) const;
  // Throws InvalidInput unless dataset `name` can be read: numeric, in this file, decodable, and stored
  // (mostly_unwritten). read() checks this itself; callers of read_rows check it once, at open.
  void check_dataset(const std::string& name) const;
  // Rows [first, first + count) along the first dimension into `out` (count x the other dimensions).
  template <class T>
  void read_rows(const std::string& name, int64_t first, int64_t count, T* out) const;
  // The relative rounding of the dataset's stored type: 2^-(mantissa bits) for floats, 0 for integers.
  double stored_epsilon(const std::string& name) const;
  // "float16", "float32", "int8", ...: for messages.
  std::string stored_type_name(const std::string& name) const;

  template <class T>
  void write(const std::string& name, const std::vector<int64_t>& dims, const T* data);
  void create_group(const std::string& name);
  Appendable appendable(const std::string& name, Type type, const std::vector<int64_t>& row_dims, bool compress = false,
                        int64_t expected_rows = 0);

  // Attributes of the root ("/") or of a dataset.
  void set_attr(const std::string& object, const std::string& name, double value);
  void set_attr(const std::string& object, const std::string& name, int64_t value);
  void set_attr(const std::string& object, const std::string& name, uint64_t value);
  void set_attr(const std::string& object, const std::string& name, const std::string& value);
  void set_attr(const std::string& object, const std::string& name, const std::vector<double>& values);  // 1-D
  // Read without trusting it: absent, a value, or present but unusable (`problem` names file and attribute).
  AttributeValue attr_number(const std::string& object, const std::string& name) const;
  // The attribute's value, nullopt when absent; InvalidInput when present but not one number.
  std::optional<double> attr_double(const std::string& object, const std::string& name) const;
  // Exactly `count` numbers (a vector attribute such as field_axis) as double; empty when absent,
  // InvalidInput when it holds another number of values or no numbers.
  std::vector<double> attr_doubles(const std::string& object, const std::string& name, std::size_t count) const;
  // The same for an unsigned 64-bit integer (seeds), read without passing through double.
  std::optional<uint64_t> attr_uint64(const std::string& object, const std::string& name) const;
  // nullopt when absent; InvalidInput when present but not one string.
  std::optional<std::string> attr_string(const std::string& object, const std::string& name) const;
  // Whether `object` has the attribute `name`, whatever it holds.
  bool has_attr(const std::string& object, const std::string& name) const;

  // Closes the file, flushing everything; throws when that fails (a full disk, a file-size limit).
  void close();

 private:
  File(std::string path, Id file);
  Id open_object(const std::string& object) const;
  // A scalar attribute, or a 1-D one of `*length` values.
  void write_attr(const std::string& object, const std::string& name, hid_t type, const void* value, const hsize_t* length = nullptr);
  Id open_dataset(const std::string& name) const;
  // The attribute `name` of `object` if present, with the number of values it holds.
  std::optional<Id> open_attr(const std::string& object, const std::string& name, int64_t& points) const;
  // The attribute `name` of `object` if present, after checking that it holds exactly one element.
  std::optional<Id> open_single_attr(const std::string& object, const std::string& name) const;
  std::string describe(const std::string& object, const std::string& name) const;
  std::string path_;
  Id file_;
  Id links_;  // link access: external links (into files never checked) are refused, not followed
};

}  // namespace magcnn::h5
