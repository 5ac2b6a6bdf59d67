// Shared declarations of the `_xpusim` module's source files.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

#include "sim/tensor/tensor.h"

namespace xpusim::python {

namespace py = pybind11;

/// @brief A numpy view of the tensor's buffer, no copy: the array's base owns a Tensor that
/// shares the buffer, so the array stays valid after the run's results are gone. float16 maps
/// to np.float16; bfloat16 and the fp8 formats have no numpy type and come back as their raw
/// bit patterns (uint16 and uint8), as the CLI writes them to .npy.
py::array tensor_to_numpy(const sim::Tensor& tensor);

/// @brief A copy of a C-contiguous, native-endian numpy array as a Tensor; ModelError names
/// the input when its dtype has no xpusim counterpart.
sim::Tensor numpy_to_tensor(const py::array& array, const std::string& name);

void bind_config(py::module_& m);

}  // namespace xpusim::python
