// Which dataset of an HDF5 file holds a field map, and along which axis: Bz, Bx, By (magcnn-forward
// --component) or Bnv (an NV axis, given by its field_axis attribute). Shared by the training-set and
// field-map readers.
#pragma once

#include <optional>
#include <string>

#include "h5file.h"
#include "magcnn/forward_model.h"

namespace magcnn {

struct FieldDataset {
  std::string name;
  FieldAxis axis;
};

// nullopt when the file holds none of them. InvalidInput when it holds several, or when the axis
// attribute is malformed, not a unit vector, or contradicts the name (a "Bx" along another axis).
std::optional<FieldDataset> find_field_dataset(const h5::File& f);

}  // namespace magcnn
