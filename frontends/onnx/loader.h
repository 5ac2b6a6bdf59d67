// Loading ONNX files into the graph IR. Everything read from a file is checked before it is
// used: sizes against the bytes actually present, external-data paths against the model's
// folder, node inputs against the values defined so far.
#pragma once

#include <map>
#include <string>

#include "frontends/onnx/graph.h"

namespace onnx {
class TensorProto;
}

namespace xpusim::frontend {

/// @brief Parses an ONNX file (IR 3 and later) into a Graph in topological order. Shapes are
/// those the file declares; run prepare_graph() (passes.h) before lowering or executing.
/// Throws IoError (missing file), ModelError (malformed), UnsupportedError (unknown ops,
/// string tensors, sequence types).
Graph import_model(const std::string& path);

/// @brief A TensorProto as a Tensor. `base_dir` resolves external data; it may not be left.
/// `what` names the tensor in errors ("initializer 'conv1.weight'").
Tensor tensor_from_proto(const ::onnx::TensorProto& proto, const std::string& base_dir,
                         const std::string& what);

/// @brief Reads a serialized TensorProto file (the ONNX backend tests' input_0.pb).
Tensor read_tensor_proto_file(const std::string& path);

/// @brief The ONNX TensorProto data type number as a DType; UnsupportedError naming the type
/// ("what: element type UINT4 is not supported") for strings and the types xpusim lacks.
DType dtype_from_onnx(int onnx_type, const std::string& what);
/// @brief The TensorProto.DataType name of a code ("FLOAT", "UINT4"), or "" if unknown.
std::string onnx_type_name(int onnx_type);

}  // namespace xpusim::frontend
