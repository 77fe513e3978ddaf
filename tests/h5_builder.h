// HDF5 files of every odd kind a careless or hostile user could hand magcnn, written with HDF5's C API
// directly (not through the engine's wrapper, whose checks are under test).
#pragma once

#include <hdf5.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace magcnn::test {

class H5Builder {
 public:
  explicit H5Builder(const std::string& path) {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    file_ = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (file_ < 0) throw std::runtime_error("test: cannot create " + path);
  }
  ~H5Builder() { H5Fclose(file_); }
  H5Builder(const H5Builder&) = delete;
  H5Builder& operator=(const H5Builder&) = delete;
  hid_t id() const { return file_; }

  // A dataset of `file_type` (H5T_IEEE_F32LE, a float16, H5T_STD_I8LE, ...) filled from doubles;
  // `filter` > 0 adds that filter (chunked) as mandatory.
  void dataset(const std::string& name, const std::vector<hsize_t>& dims, hid_t file_type, const std::vector<double>& values,
               H5Z_filter_t filter = -1) {
    const hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
    const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (filter > 0) {
      H5Pset_chunk(dcpl, static_cast<int>(dims.size()), dims.data());
      H5Pset_filter(dcpl, filter, H5Z_FLAG_MANDATORY, 0, nullptr);
    }
    const hid_t ds = H5Dcreate2(file_, name.c_str(), file_type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (ds < 0) throw std::runtime_error("test: cannot create dataset " + name);
    if (!values.empty()) H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data());
    H5Dclose(ds);
    H5Pclose(dcpl);
    H5Sclose(space);
  }
  void doubles(const std::string& name, const std::vector<hsize_t>& dims, const std::vector<double>& values) {
    dataset(name, dims, H5T_IEEE_F64LE, values);
  }
  // A chunked dataset that only declares its shape: a few bytes on disk for any size. `compressed` adds
  // deflate, so that the data could be any size on disk.
  void declared(const std::string& name, const std::vector<hsize_t>& dims, bool compressed = false) {
    const hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
    const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    std::vector<hsize_t> chunk(dims.size(), 1);
    chunk.back() = std::min<hsize_t>(dims.back(), 64);
    H5Pset_chunk(dcpl, static_cast<int>(chunk.size()), chunk.data());
    if (compressed) H5Pset_deflate(dcpl, 1);
    const hid_t ds = H5Dcreate2(file_, name.c_str(), H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (ds < 0) throw std::runtime_error("test: cannot declare dataset " + name);
    H5Dclose(ds);
    H5Pclose(dcpl);
    H5Sclose(space);
  }
  void string_dataset(const std::string& name) {
    const hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, 8);
    const hsize_t dims[1] = {4};
    const hid_t space = H5Screate_simple(1, dims, nullptr);
    const hid_t ds = H5Dcreate2(file_, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    const char text[32] = "abcdefghijklmnopqrstuvwxyz01234";
    H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, text);
    H5Dclose(ds);
    H5Sclose(space);
    H5Tclose(type);
  }
  void group(const std::string& name) { H5Gclose(H5Gcreate2(file_, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)); }

  // A numeric attribute: scalar when `as_scalar` and one value, else an array of values.size().
  void attr(const std::string& object, const std::string& name, const std::vector<double>& values, bool as_scalar = true) {
    const hsize_t n = values.size();
    const hid_t space = (as_scalar && n == 1) ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, nullptr);
    write_attr(object, name, H5T_NATIVE_DOUBLE, space, values.data());
  }
  void attr_uint64(const std::string& object, const std::string& name, unsigned long long value) {
    write_attr(object, name, H5T_NATIVE_ULLONG, H5Screate(H5S_SCALAR), &value);
  }
  void attr_int64(const std::string& object, const std::string& name, long long value) {
    write_attr(object, name, H5T_NATIVE_LLONG, H5Screate(H5S_SCALAR), &value);
  }
  // An attribute with a null dataspace (no value at all).
  void null_attr(const std::string& object, const std::string& name) {
    write_attr(object, name, H5T_NATIVE_DOUBLE, H5Screate(H5S_NULL), nullptr);
  }
  // String attributes: fixed-size or variable-length, one or several.
  void attr_strings(const std::string& object, const std::string& name, const std::vector<std::string>& values, bool variable) {
    const hsize_t n = values.size();
    const hid_t space = n == 1 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, nullptr);
    const hid_t type = H5Tcopy(H5T_C_S1);
    if (variable) {
      H5Tset_size(type, H5T_VARIABLE);
      std::vector<const char*> ptrs;
      for (const auto& v : values) ptrs.push_back(v.c_str());
      write_attr(object, name, type, space, ptrs.data());
    } else {
      std::size_t width = 1;
      for (const auto& v : values) width = std::max(width, v.size());
      H5Tset_size(type, width);
      std::string packed;
      for (const auto& v : values) packed += v + std::string(width - v.size(), '\0');
      write_attr(object, name, type, space, packed.data());
    }
    H5Tclose(type);
  }

  // float16 as h5py stores it: IEEE half precision, little-endian.
  static hid_t float16() {
    static hid_t type = [] {
      const hid_t t = H5Tcopy(H5T_IEEE_F32LE);
      H5Tset_fields(t, 15, 10, 5, 0, 10);
      H5Tset_precision(t, 16);
      H5Tset_size(t, 2);
      H5Tset_ebias(t, 15);
      return t;
    }();
    return type;
  }

 private:
  void write_attr(const std::string& object, const std::string& name, hid_t type, hid_t space, const void* data) {
    const hid_t obj = H5Oopen(file_, object.c_str(), H5P_DEFAULT);
    const hid_t a = H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0) throw std::runtime_error("test: cannot create attribute " + name);
    if (data != nullptr) H5Awrite(a, type, data);
    H5Aclose(a);
    H5Sclose(space);
    H5Oclose(obj);
  }
  hid_t file_;
};

// A filter that this test process registers to write data with, and that no reader has: an HDF5 filter
// id from the range for testing, passing data through unchanged.
inline H5Z_filter_t register_private_filter() {
  constexpr H5Z_filter_t kId = 32000 + 7;
  static const bool registered = [] {
    static const H5Z_class2_t filter = {H5Z_CLASS_T_VERS, kId, 1, 1, "magcnn test filter", nullptr, nullptr,
                                        [](unsigned, size_t, const unsigned[], size_t nbytes, size_t*, void**) { return nbytes; }};
    return H5Zregister(&filter) >= 0;
  }();
  return registered ? kId : -1;
}

}  // namespace magcnn::test
