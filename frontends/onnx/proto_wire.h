// A serialized ONNX ModelProto walked in its wire format, without parsing it: a copy of the
// model's bytes without the raw_data of the main graph's initializers, and where those bytes are.
// import_model parses the copy and leaves the weights in the file, where nothing reads them
// until some tensor's data is accessed.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace xpusim::frontend {

struct ByteRange {
    std::size_t offset = 0;
    std::size_t size = 0;
};

struct StrippedModel {
    /// The ModelProto's bytes with every raw_data field (TensorProto field 9) of the main graph's
    /// initializers (ModelProto.graph = 7, GraphProto.initializer = 5) left out; every other
    /// field kept, subgraphs and node attributes included, so that it parses to the same model
    /// less those bytes.
    std::string bytes;
    /// One entry per main-graph initializer, in the order the parsed graph lists them: where its
    /// raw_data lies in the file, or nullopt if it has none (typed fields, external data).
    std::vector<std::optional<ByteRange>> raw_data;
};

/// @brief The stripped copy of the ModelProto in the file open as `fd`, `file_size` bytes
/// (at most INT_MAX, protobuf's limit for one message), read from its start with read() and
/// lseek(), so the raw_data bytes themselves are never read. nullopt if the file is not a
/// well-formed protobuf message: a wrong length, a bad tag, or the end of the file inside a field
/// (parsing the file would fail too).
std::optional<StrippedModel> strip_initializer_raw_data(int fd, std::size_t file_size);

}  // namespace xpusim::frontend
