// NumPy .npy files (format versions 1-3): little-endian float32 ('<f4') in C order,
// the exchange format for raw inputs and gradients.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"
#include "core/tensor.h"

namespace slingshot {

// Parses .npy bytes. Other dtypes, Fortran order and bad headers get a clear error.
Result<Tensor> parse_npy(std::string_view bytes);
Result<Tensor> load_npy(const std::string& path);
// Serializes as format version 1.0.
std::string serialize_npy(const Tensor& t);
// Writes atomically (temp file + rename).
Status save_npy(const Tensor& t, const std::string& path);

}  // namespace slingshot
