#include "frontends/onnx/proto_wire.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/wire_format_lite.h>
#include <unistd.h>

#include <climits>

namespace xpusim::frontend {

namespace {

using google::protobuf::internal::WireFormatLite;
using google::protobuf::io::CodedInputStream;
using google::protobuf::io::CodedOutputStream;
using google::protobuf::io::FileInputStream;
using google::protobuf::io::StringOutputStream;

constexpr int kModelGraph = 7;        // ModelProto.graph
constexpr int kGraphInitializer = 5;  // GraphProto.initializer
constexpr int kTensorRawData = 9;     // TensorProto.raw_data

// A field of that number holding a message or bytes. One of the right number but another wire
// type is an unknown field to protobuf, and is copied like any other.
bool is_delimited(uint32_t tag, int number) {
    return tag == WireFormatLite::MakeTag(number, WireFormatLite::WIRETYPE_LENGTH_DELIMITED);
}

bool read_length(CodedInputStream& in, int& length) {
    uint32_t n = 0;
    if (!in.ReadVarint32(&n) || n > static_cast<uint32_t>(INT_MAX)) return false;
    length = static_cast<int>(n);
    return true;
}

// Appends a length-delimited field: its tag, the value's length (encoded again: a stripped
// value is shorter than the original), the value.
void append_delimited(std::string& out, uint32_t tag, const std::string& value) {
    uint8_t head[10];  // a tag and a 32-bit length take at most 5 bytes each
    uint8_t* p = CodedOutputStream::WriteTagToArray(tag, head);
    p = CodedOutputStream::WriteVarint32ToArray(static_cast<uint32_t>(value.size()), p);
    out.append(reinterpret_cast<const char*>(head), static_cast<std::size_t>(p - head));
    out += value;
}

// Copies the field whose tag was just read to `out` (its value unchanged; a varint comes out in
// its shortest encoding).
bool copy_field(CodedInputStream& in, uint32_t tag, std::string& out) {
    if (WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
        int length = 0;
        std::string value;
        if (!read_length(in, length) || !in.ReadString(&value, length)) return false;
        append_delimited(out, tag, value);
        return true;
    }
    StringOutputStream sink(&out);  // appends
    CodedOutputStream coded(&sink);
    return WireFormatLite::SkipField(&in, tag, &coded);
}

// Calls field(tag) for each field of the message `in` is in, up to its limit; false if one
// fails or the message does not end exactly at its limit. (At the end of the file ReadTag
// reports a legitimate end even inside a limit, hence the check of the bytes left.)
template <class Field>
bool for_each_field(CodedInputStream& in, Field&& field) {
    for (;;) {
        const uint32_t tag = in.ReadTag();
        if (tag == 0) return in.ConsumedEntireMessage() && in.BytesUntilLimit() <= 0;
        if (!field(tag)) return false;
    }
}

// Reads the length-delimited value whose tag was just read as a message, calling body() with
// the input limited to it.
template <class Body>
bool in_message(CodedInputStream& in, Body&& body) {
    int length = 0;
    if (!read_length(in, length)) return false;
    const CodedInputStream::Limit limit = in.PushLimit(length);
    const bool ok = body();
    in.PopLimit(limit);
    return ok;
}

// A TensorProto without raw_data, and where that was. A field written twice keeps its last
// value when parsed, so the last raw_data counts.
bool strip_tensor(CodedInputStream& in, std::string& out, std::optional<ByteRange>& raw) {
    return for_each_field(in, [&](uint32_t tag) {
        if (!is_delimited(tag, kTensorRawData)) return copy_field(in, tag, out);
        int length = 0;
        if (!read_length(in, length)) return false;
        raw = ByteRange{static_cast<std::size_t>(in.CurrentPosition()),
                        static_cast<std::size_t>(length)};
        return in.Skip(length);  // an lseek: the bytes are not read
    });
}

// A GraphProto with its initializers stripped.
bool strip_graph(CodedInputStream& in, std::string& out,
                 std::vector<std::optional<ByteRange>>& raw_data) {
    return for_each_field(in, [&](uint32_t tag) {
        if (!is_delimited(tag, kGraphInitializer)) return copy_field(in, tag, out);
        std::string tensor;
        std::optional<ByteRange> raw;
        if (!in_message(in, [&] { return strip_tensor(in, tensor, raw); })) return false;
        raw_data.push_back(raw);
        append_delimited(out, tag, tensor);
        return true;
    });
}

}  // namespace

std::optional<StrippedModel> strip_initializer_raw_data(int fd, std::size_t file_size) {
    if (file_size > static_cast<std::size_t>(INT_MAX) || ::lseek(fd, 0, SEEK_SET) != 0)
        return std::nullopt;
    FileInputStream file(fd);
    CodedInputStream in(&file);
    StrippedModel model;
    // A graph written twice merges into one graph when parsed, its initializers in order, so
    // raw_data keeps counting across both.
    const bool ok = for_each_field(in, [&](uint32_t tag) {
        if (!is_delimited(tag, kModelGraph)) return copy_field(in, tag, model.bytes);
        std::string graph;
        if (!in_message(in, [&] { return strip_graph(in, graph, model.raw_data); })) return false;
        append_delimited(model.bytes, tag, graph);
        return true;
    });
    // A skip past the end of the file (an lseek) succeeds: the walk must end at the file's end.
    if (!ok || in.CurrentPosition() != static_cast<int>(file_size)) return std::nullopt;
    return model;
}

}  // namespace xpusim::frontend
