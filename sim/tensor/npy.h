// Reading and writing numpy .npy files (format versions 1.0-3.0, little-endian, C order).
#pragma once

#include <string>

#include "sim/tensor/tensor.h"

namespace xpusim::sim {

/// @brief Reads a .npy file. Throws IoError if unreadable, ModelError if the header is malformed,
/// the dtype unsupported (big-endian, Fortran order, objects) or the data shorter than declared.
Tensor read_npy(const std::string& path);
/// @brief Parses .npy bytes (`what` names the source in errors).
Tensor parse_npy(const std::string& bytes, const std::string& what);
/// @brief Writes a .npy (version 1.0). fp8 tensors are written as their uint8 bit patterns,
/// bfloat16 as uint16 bit patterns (numpy has neither type).
void write_npy(const std::string& path, const Tensor& t);
std::string serialize_npy(const Tensor& t);

}  // namespace xpusim::sim
