#include "frontends/onnx/loader.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <unordered_map>

#include "frontends/onnx/op_registry.h"
#include "frontends/onnx/proto_wire.h"
#include "sim/tensor/read_only_file.h"

namespace xpusim::frontend {

namespace fs = std::filesystem;
using sim::IoError;
using sim::ModelError;
using sim::UnsupportedError;

namespace {

// Reads a whole file, refusing anything that is not a regular file.
std::string read_file(const std::string& path) {
    std::error_code ec;
    if (!fs::exists(path, ec)) throw IoError("model file '" + path + "' does not exist");
    if (!fs::is_regular_file(path, ec)) throw IoError("'" + path + "' is not a regular file");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw IoError("cannot open '" + path + "'");
    // One read of the file's size (a 100 MB model through a stringstream costs three copies).
    std::string bytes(static_cast<std::size_t>(fs::file_size(path, ec)), '\0');
    if (ec) throw IoError("cannot read the size of '" + path + "'");
    in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (in.gcount() != static_cast<std::streamsize>(bytes.size()))
        throw IoError("cannot read '" + path + "'");
    return bytes;
}

}  // namespace

DType dtype_from_onnx(int t, const std::string& what) {
    using TP = ::onnx::TensorProto;
    switch (t) {
        case TP::FLOAT:
            return DType::Float32;
        case TP::DOUBLE:
            return DType::Float64;
        case TP::FLOAT16:
            return DType::Float16;
        case TP::BFLOAT16:
            return DType::BFloat16;
        case TP::INT8:
            return DType::Int8;
        case TP::UINT8:
            return DType::UInt8;
        case TP::INT16:
            return DType::Int16;
        case TP::UINT16:
            return DType::UInt16;
        case TP::INT32:
            return DType::Int32;
        case TP::UINT32:
            return DType::UInt32;
        case TP::INT64:
            return DType::Int64;
        case TP::UINT64:
            return DType::UInt64;
        case TP::BOOL:
            return DType::Bool;
        case 17:
            return DType::Float8E4M3;  // FLOAT8E4M3FN (onnx >= 1.14)
        case 19:
            return DType::Float8E5M2;  // FLOAT8E5M2
        case TP::STRING:
            throw UnsupportedError(what + ": string tensors are not supported");
        default: {
            const std::string name = onnx_type_name(t);
            throw UnsupportedError(what + ": element type " +
                                   (name.empty() ? std::to_string(t) : name) + " is not supported");
        }
    }
}

std::string onnx_type_name(int t) {
    static const char* const names[] = {
        "UNDEFINED",      "FLOAT",    "UINT8",        "INT8",           "UINT16",
        "INT16",          "INT32",    "INT64",        "STRING",         "BOOL",
        "FLOAT16",        "DOUBLE",   "UINT32",       "UINT64",         "COMPLEX64",
        "COMPLEX128",     "BFLOAT16", "FLOAT8E4M3FN", "FLOAT8E4M3FNUZ", "FLOAT8E5M2",
        "FLOAT8E5M2FNUZ", "UINT4",    "INT4",         "FLOAT4E2M1",     "FLOAT8E8M0"};
    return t >= 0 && t < static_cast<int>(std::size(names)) ? names[t] : "";
}

namespace {

// Resolves an external-data location inside `base_dir`; refuses absolute paths and any path
// that leaves the folder (through "..", or a symbolic link pointing out of it).
fs::path resolve_external(const std::string& location, const std::string& base_dir,
                          const std::string& what) {
    const fs::path rel(location);
    if (location.empty() || rel.is_absolute())
        throw ModelError(what + ": external data path '" + location +
                         "' must be relative to the model's folder");
    std::error_code ec;
    const fs::path base = fs::weakly_canonical(fs::absolute(base_dir.empty() ? "." : base_dir), ec);
    const fs::path full = fs::weakly_canonical(base / rel, ec);
    const auto b = base.native(), f = full.native();
    if (ec || f.compare(0, b.size(), b) != 0 || (f.size() > b.size() && f[b.size()] != '/'))
        throw ModelError(what + ": external data path '" + location +
                         "' leaves the model's folder");
    return full;
}

// Copies `count` elements stored in a repeated proto field into the tensor, converting.
template <class Field, class Fn>
void copy_field(const Field& field, int64_t count, const std::string& what, Fn store) {
    if (field.size() != count)
        throw ModelError(what + ": declares " + std::to_string(count) + " elements but holds " +
                         std::to_string(field.size()));
    for (int64_t i = 0; i < count; ++i) store(i, field.Get(static_cast<int>(i)));
}

// A non-negative decimal integer, all of `text` (an external-data offset or length).
uint64_t parse_size_field(const std::string& text, const std::string& key,
                          const std::string& what) {
    uint64_t v = 0;
    const bool digits =
        !text.empty() && text.size() <= 19 &&
        std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits)
        throw ModelError(what + ": external data " + key + " '" + text +
                         "' is not a non-negative integer");
    for (char c : text) v = v * 10 + static_cast<uint64_t>(c - '0');
    return v;
}

// A TensorProto's raw_data that import_model left in the model file: `range` of `file`.
struct RawDataInFile {
    std::shared_ptr<const sim::ReadOnlyFile> file;
    ByteRange range;
};

// tensor_from_proto, with the raw_data in the file when `in_file` is set (the proto has none).
Tensor tensor_from_proto_or_file(const ::onnx::TensorProto& p, const std::string& base_dir,
                                 const std::string& what, const RawDataInFile* in_file) {
    using TP = ::onnx::TensorProto;
    if (p.has_segment()) throw UnsupportedError(what + ": segmented tensors are not supported");
    const DType dtype = dtype_from_onnx(p.data_type(), what);
    Shape shape(p.dims().begin(), p.dims().end());
    for (int64_t d : shape)
        if (d < 0) throw ModelError(what + ": negative dimension " + std::to_string(d));
    int64_t numel;
    try {
        numel = sim::shape_numel(shape);
    } catch (const sim::Error&) {
        throw ModelError(what + ": shape " + sim::shape_str(shape) + " overflows");
    }
    const std::size_t elem = sim::dtype_size(dtype);
    if (static_cast<uint64_t>(numel) > std::numeric_limits<uint64_t>::max() / 16 / elem)
        throw ModelError(what + ": shape " + sim::shape_str(shape) + " is too large");
    const uint64_t want_bytes = static_cast<uint64_t>(numel) * elem;

    // Every size is checked against the bytes present before the tensor is allocated.
    if (p.data_location() == TP::EXTERNAL) {
        std::string location;
        uint64_t offset = 0, length = want_bytes;
        bool has_length = false;
        for (const auto& kv : p.external_data()) {
            if (kv.key() == "location")
                location = kv.value();
            else if (kv.key() == "offset")
                offset = parse_size_field(kv.value(), "offset", what);
            else if (kv.key() == "length")
                length = parse_size_field(kv.value(), "length", what), has_length = true;
        }
        const fs::path file = resolve_external(location, base_dir, what);
        std::error_code ec;
        if (!fs::is_regular_file(file, ec))
            throw IoError(what + ": external data '" + location + "' is not a regular file");
        const uint64_t file_size = fs::file_size(file, ec);
        if (ec) throw IoError(what + ": cannot read external data file '" + location + "'");
        if (has_length && length != want_bytes)
            throw ModelError(what + ": external data length " + std::to_string(length) +
                             " does not match shape " + sim::shape_str(shape) + " (" +
                             std::to_string(want_bytes) + " bytes)");
        if (offset > file_size || want_bytes > file_size - offset)
            throw ModelError(what + ": declares " + std::to_string(want_bytes) +
                             " bytes at offset " + std::to_string(offset) + " but '" + location +
                             "' has " + std::to_string(file_size) + " bytes");
        Tensor t(dtype, shape);
        std::ifstream in(file, std::ios::binary);
        in.seekg(static_cast<std::streamoff>(offset));
        in.read(static_cast<char*>(t.raw()), static_cast<std::streamsize>(want_bytes));
        if (!in) throw IoError(what + ": short read from '" + location + "'");
        return t;
    }

    if (in_file || p.has_raw_data()) {
        const std::size_t held = in_file ? in_file->range.size : p.raw_data().size();
        if (held != want_bytes)
            throw ModelError(what + ": declares shape " + sim::shape_str(shape) + " (" +
                             std::to_string(want_bytes) + " bytes) but holds " +
                             std::to_string(held) + " bytes");
        // Read from the file only when something reads the tensor's data.
        if (in_file) return Tensor::from_file(dtype, shape, in_file->file, in_file->range.offset);
        Tensor t(dtype, shape);
        if (want_bytes) std::memcpy(t.raw(), p.raw_data().data(), want_bytes);
        return t;
    }

    // Typed fields: check the count before allocating.
    const int64_t held = [&]() -> int64_t {
        switch (p.data_type()) {
            case TP::FLOAT:
                return p.float_data_size();
            case TP::DOUBLE:
                return p.double_data_size();
            case TP::INT64:
                return p.int64_data_size();
            case TP::UINT32:
            case TP::UINT64:
                return p.uint64_data_size();
            default:
                return p.int32_data_size();
        }
    }();
    if (held != numel)
        throw ModelError(what + ": declares shape " + sim::shape_str(shape) + " (" +
                         std::to_string(numel) + " elements) but holds " + std::to_string(held));
    Tensor t(dtype, shape);
    void* out = t.raw();
    switch (p.data_type()) {
        case TP::FLOAT:
            copy_field(p.float_data(), numel, what,
                       [&](int64_t i, float v) { static_cast<float*>(out)[i] = v; });
            break;
        case TP::DOUBLE:
            copy_field(p.double_data(), numel, what,
                       [&](int64_t i, double v) { static_cast<double*>(out)[i] = v; });
            break;
        case TP::INT64:
            copy_field(p.int64_data(), numel, what,
                       [&](int64_t i, int64_t v) { static_cast<int64_t*>(out)[i] = v; });
            break;
        case TP::UINT32:
            copy_field(p.uint64_data(), numel, what, [&](int64_t i, uint64_t v) {
                static_cast<uint32_t*>(out)[i] = static_cast<uint32_t>(v);
            });
            break;
        case TP::UINT64:
            copy_field(p.uint64_data(), numel, what,
                       [&](int64_t i, uint64_t v) { static_cast<uint64_t*>(out)[i] = v; });
            break;
        default:
            // int32_data carries int32, int16, int8, uint16, uint8, bool, fp16/bf16 bit patterns
            // and fp8 bytes, one element per entry.
            copy_field(p.int32_data(), numel, what, [&](int64_t i, int32_t v) {
                switch (elem) {
                    case 4:
                        static_cast<int32_t*>(out)[i] = v;
                        break;
                    case 2:
                        static_cast<uint16_t*>(out)[i] = static_cast<uint16_t>(v);
                        break;
                    default:
                        static_cast<uint8_t*>(out)[i] = static_cast<uint8_t>(v);
                        break;
                }
            });
    }
    return t;
}

}  // namespace

Tensor tensor_from_proto(const ::onnx::TensorProto& p, const std::string& base_dir,
                         const std::string& what) {
    return tensor_from_proto_or_file(p, base_dir, what, nullptr);
}

Tensor read_tensor_proto_file(const std::string& path) {
    const std::string bytes = read_file(path);
    ::onnx::TensorProto p;
    if (!p.ParseFromString(bytes)) throw ModelError("'" + path + "' is not a TensorProto");
    return tensor_from_proto(p, fs::path(path).parent_path().string(),
                             "tensor '" + p.name() + "' in " + path);
}

namespace {

// Reads a GRAPH attribute's subgraph (it needs the names visible from the node).
using SubgraphReader = std::function<std::shared_ptr<const Graph>(::onnx::GraphProto&)>;

Attribute convert_attribute(::onnx::AttributeProto& a, const std::string& base_dir,
                            const std::string& where, const SubgraphReader& read_subgraph) {
    using AP = ::onnx::AttributeProto;
    Attribute out;
    const std::string what = where + ": attribute '" + a.name() + "'";
    // Old files leave `type` unset; infer it from the field that is present.
    AP::AttributeType type = a.type();
    if (type == AP::UNDEFINED) {
        if (a.has_f())
            type = AP::FLOAT;
        else if (a.has_i())
            type = AP::INT;
        else if (a.has_s())
            type = AP::STRING;
        else if (a.has_t())
            type = AP::TENSOR;
        else if (a.floats_size())
            type = AP::FLOATS;
        else if (a.ints_size())
            type = AP::INTS;
        else if (a.strings_size())
            type = AP::STRINGS;
        else if (a.has_g() || a.graphs_size())
            type = AP::GRAPH;
    }
    switch (type) {
        case AP::FLOAT:
            out.kind = Attribute::Kind::Float;
            out.f = a.f();
            break;
        case AP::INT:
            out.kind = Attribute::Kind::Int;
            out.i = a.i();
            break;
        case AP::STRING:
            out.kind = Attribute::Kind::String;
            out.s = a.s();
            break;
        case AP::TENSOR:
            out.kind = Attribute::Kind::Tensor;
            out.t = tensor_from_proto(a.t(), base_dir, what);
            break;
        case AP::FLOATS:
            out.kind = Attribute::Kind::Floats;
            out.floats.assign(a.floats().begin(), a.floats().end());
            break;
        case AP::INTS:
            out.kind = Attribute::Kind::Ints;
            out.ints.assign(a.ints().begin(), a.ints().end());
            break;
        case AP::STRINGS:
            out.kind = Attribute::Kind::Strings;
            out.strings.assign(a.strings().begin(), a.strings().end());
            break;
        case AP::GRAPH:
            out.kind = Attribute::Kind::Graph;
            out.g = read_subgraph(*a.mutable_g());
            break;
        case AP::GRAPHS:
            throw UnsupportedError(what + ": lists of subgraphs (GRAPHS) are not supported");
        default:
            throw UnsupportedError(what + ": attribute type " + std::to_string(type) +
                                   " is not supported");
    }
    return out;
}

// Reads a declared type. Graph inputs take it as their shape (with -1 for symbolic dims, to be
// bound later); other values keep it as a declaration that inference is checked against.
void read_value_info(const ::onnx::ValueInfoProto& vi, ValueInfo& v, bool is_graph_input) {
    v.name = vi.name();
    if (!vi.has_type() || !vi.type().has_tensor_type()) {
        if (vi.has_type() && (vi.type().has_sequence_type() || vi.type().has_map_type() ||
                              vi.type().has_optional_type()))
            throw UnsupportedError("value '" + vi.name() +
                                   "': sequence/map/optional types are not supported");
        return;
    }
    const auto& tt = vi.type().tensor_type();
    if (tt.elem_type() != 0) {
        const DType t = dtype_from_onnx(tt.elem_type(), "value '" + vi.name() + "'");
        if (is_graph_input)
            v.dtype = t;
        else
            v.declared_dtype = t;
    }
    if (!tt.has_shape()) return;
    Shape shape;
    std::vector<std::string> params;
    for (const auto& d : tt.shape().dim()) {
        if (d.has_dim_value() && d.dim_value() >= 0) {
            shape.push_back(d.dim_value());
            params.emplace_back();
        } else {
            shape.push_back(-1);
            params.push_back(d.has_dim_param() ? d.dim_param() : "?");
        }
    }
    if (is_graph_input) {
        v.shape = shape;
        v.dim_params = params;
    } else {
        v.declared_shape = shape;
    }
}

// Kahn's algorithm, taking ready nodes in file order so the result is deterministic and
// equals the file's order when that is already topological.
std::vector<Node> topological_order(std::vector<Node> nodes, const std::set<std::string>& defined) {
    std::unordered_map<std::string, std::size_t> producer;
    for (std::size_t i = 0; i < nodes.size(); ++i)
        for (const auto& o : nodes[i].outputs)
            if (!o.empty()) {
                if (producer.count(o) || defined.count(o))
                    throw ModelError("value '" + o + "' is produced twice (second by " +
                                     nodes[i].describe() + ")");
                producer[o] = i;
            }
    std::vector<std::vector<std::size_t>> users(nodes.size());
    std::vector<std::size_t> pending(nodes.size(), 0);
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        for (const auto& in : nodes[i].inputs) {
            if (in.empty() || defined.count(in)) continue;
            auto it = producer.find(in);
            if (it == producer.end())
                throw ModelError(nodes[i].describe() + ": input '" + in + "' is not defined");
            users[it->second].push_back(i);
            ++pending[i];
        }
    }
    std::set<std::size_t> ready;
    for (std::size_t i = 0; i < nodes.size(); ++i)
        if (pending[i] == 0) ready.insert(i);
    std::vector<Node> out;
    out.reserve(nodes.size());
    std::vector<bool> done(nodes.size(), false);
    while (!ready.empty()) {
        const std::size_t i = *ready.begin();
        ready.erase(ready.begin());
        done[i] = true;
        for (std::size_t u : users[i])
            if (--pending[u] == 0) ready.insert(u);
        out.push_back(std::move(nodes[i]));
    }
    if (out.size() != nodes.size()) {
        for (std::size_t i = 0; i < nodes.size(); ++i)
            if (!done[i]) throw ModelError("the graph has a cycle through " + nodes[i].describe());
    }
    return out;
}

// Where the main graph's initializers' raw_data lies in the model file (import_model parses a
// copy of the file without those bytes): one entry per initializer, in order.
struct InitializerBytes {
    std::shared_ptr<const sim::ReadOnlyFile> file;
    std::vector<std::optional<ByteRange>> raw_data;
};

// Reads one graph's initializers, inputs, nodes (in topological order) and outputs into `g`.
// `enclosing` names the values of enclosing graphs that a subgraph may read. A subgraph's reads of
// them become its outer_inputs, and a node holding subgraphs lists their outer reads of its own
// graph as implicit inputs. `in_file` (the main graph only) says which initializers keep their
// raw_data in the model file.
void read_graph(::onnx::GraphProto& gp, const std::string& base_dir, bool is_main,
                const std::set<std::string>& enclosing, const InitializerBytes* in_file, Graph& g) {
    const std::string where = is_main ? "" : "subgraph '" + gp.name() + "': ";
    std::set<std::string> defined;
    for (int i = 0; i < gp.initializer_size(); ++i) {
        auto& init = *gp.mutable_initializer(i);
        if (init.name().empty()) throw ModelError(where + "an initializer has no name");
        if (defined.count(init.name()))
            throw ModelError("initializer '" + init.name() + "' is defined twice");
        ValueInfo v;
        v.name = init.name();
        std::optional<RawDataInFile> raw;
        if (in_file)
            if (const auto& range = in_file->raw_data.at(static_cast<std::size_t>(i)))
                raw = RawDataInFile{in_file->file, *range};
        Tensor t = tensor_from_proto_or_file(init, base_dir, "initializer '" + init.name() + "'",
                                             raw ? &*raw : nullptr);
        std::string().swap(*init.mutable_raw_data());  // free the bytes, not just empty them
        v.dtype = t.dtype();
        v.shape = t.shape();
        v.shape_known = true;
        v.constant = std::move(t);
        g.values[v.name] = std::move(v);
        defined.insert(init.name());
    }
    if (gp.sparse_initializer_size())
        throw UnsupportedError(where + "sparse initializers are not supported");
    const std::set<std::string> initializers = defined;
    for (const auto& in : gp.input()) {
        if (initializers.count(in.name())) continue;  // IR < 4 lists initializers as inputs too
        if (in.name().empty()) throw ModelError(where + "a graph input has no name");
        if (defined.count(in.name()))
            throw ModelError("graph input '" + in.name() + "' is declared twice");
        ValueInfo v;
        read_value_info(in, v, /*is_graph_input=*/true);
        // A subgraph's inputs take their types from the node that runs it.
        if (is_main && (!in.has_type() || !in.type().has_tensor_type()))
            throw ModelError("graph input '" + in.name() + "' has no tensor type");
        if (is_main && in.type().tensor_type().elem_type() == 0)
            throw ModelError("graph input '" + in.name() +
                             "' has no element type (elem_type 0, UNDEFINED)");
        g.inputs.push_back(in.name());
        g.values[in.name()] = std::move(v);
        defined.insert(in.name());
    }

    // Everything this graph defines is visible to its subgraphs, wherever it is produced.
    std::set<std::string> local = defined;
    for (const auto& np : gp.node())
        for (const auto& o : np.output())
            if (!o.empty()) local.insert(o);
    std::set<std::string> visible = enclosing;
    visible.insert(local.begin(), local.end());
    const SubgraphReader read_subgraph = [&](::onnx::GraphProto& sub) {
        auto sg = std::make_shared<Graph>();
        sg->name = sub.name();
        sg->opset = g.opset;
        sg->ir_version = g.ir_version;
        read_graph(sub, base_dir, /*is_main=*/false, visible, nullptr, *sg);
        return std::shared_ptr<const Graph>(std::move(sg));
    };

    std::vector<Node> nodes;
    std::set<std::string> names;
    for (int i = 0; i < gp.node_size(); ++i) {
        auto& np = *gp.mutable_node(i);
        Node n;
        n.op_type = np.op_type();
        n.domain = np.domain() == "ai.onnx" ? "" : np.domain();
        n.name = np.name();
        if (n.name.empty() || names.count(n.name)) n.name = n.op_type + "_" + std::to_string(i);
        names.insert(n.name);
        n.inputs.assign(np.input().begin(), np.input().end());
        n.outputs.assign(np.output().begin(), np.output().end());
        std::vector<std::string> implicit;
        for (auto& a : *np.mutable_attribute()) {
            if (!a.ref_attr_name().empty())
                throw UnsupportedError(n.describe() + ": attribute references are not supported");
            Attribute at = convert_attribute(a, base_dir, n.describe(), read_subgraph);
            if (at.g)
                for (const auto& o : at.g->outer_inputs)
                    if (std::find(implicit.begin(), implicit.end(), o) == implicit.end())
                        implicit.push_back(o);
            n.attrs[a.name()] = std::move(at);
        }
        if (!implicit.empty()) {
            n.inputs.resize(n.num_inputs());
            n.inputs.insert(n.inputs.end(), implicit.begin(), implicit.end());
            n.implicit_inputs = implicit.size();
        }
        nodes.push_back(std::move(n));
    }

    // A subgraph's reads of enclosing values, nested subgraphs' included (their nodes'
    // implicit inputs); anything else undefined is left for topological_order to report.
    auto read_outer = [&](const std::string& name) {
        if (name.empty() || local.count(name) || !enclosing.count(name)) return;
        if (std::find(g.outer_inputs.begin(), g.outer_inputs.end(), name) == g.outer_inputs.end())
            g.outer_inputs.push_back(name);
    };
    for (const auto& n : nodes)
        for (const auto& in : n.inputs) read_outer(in);
    for (const auto& out : gp.output()) read_outer(out.name());
    std::set<std::string> available = defined;
    available.insert(g.outer_inputs.begin(), g.outer_inputs.end());
    g.nodes = topological_order(std::move(nodes), available);

    for (const auto& n : g.nodes)
        for (const auto& o : n.outputs)
            if (!o.empty()) g.values[o].name = o;
    // Declared types of intermediate values and outputs: checked against inference later.
    auto declare = [&](const ::onnx::ValueInfoProto& vi) {
        auto it = g.values.find(vi.name());
        if (it == g.values.end() || it->second.constant) return;
        read_value_info(vi, it->second, /*is_graph_input=*/false);
    };
    for (const auto& vi : gp.value_info()) declare(vi);
    for (const auto& out : gp.output()) {
        const bool outer = std::find(g.outer_inputs.begin(), g.outer_inputs.end(), out.name()) !=
                           g.outer_inputs.end();
        if (!g.values.count(out.name()) && !outer)
            throw ModelError(where + "graph output '" + out.name() +
                             "' is not produced by any node");
        declare(out);
        g.outputs.push_back(out.name());
    }
}

}  // namespace

Graph import_model(const std::string& path) {
    ::onnx::ModelProto model;
    InitializerBytes in_file;
    {
        // The parse sees a copy of the file without the main graph's initializers' raw_data
        // (proto_wire.h skips those bytes unread), and each of those tensors reads its bytes
        // from the open file when its data is first accessed. Weights nothing reads (a
        // timing-only run reads few) never come into memory; those read are in it once.
        std::error_code ec;
        if (!fs::exists(path, ec)) throw IoError("model file '" + path + "' does not exist");
        if (!fs::is_regular_file(path, ec)) throw IoError("'" + path + "' is not a regular file");
        if (fs::file_size(path, ec) == 0) throw ModelError("'" + path + "' is empty");
        in_file.file = sim::ReadOnlyFile::open(path);
        const std::string corrupt =
            "'" + path + "' is not an ONNX model (protobuf parse failed; truncated or corrupt)";
        if (in_file.file->size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
            throw ModelError(corrupt + ": " + std::to_string(in_file.file->size()) +
                             " bytes is more than a protobuf message can hold (2 GiB); larger "
                             "models keep their weights as external data");
        std::optional<StrippedModel> stripped =
            strip_initializer_raw_data(in_file.file->fd(), in_file.file->size());
        if (!stripped ||
            !model.ParseFromArray(stripped->bytes.data(), static_cast<int>(stripped->bytes.size())))
            throw ModelError(corrupt);
        in_file.raw_data = std::move(stripped->raw_data);
        if (model.has_graph() &&
            in_file.raw_data.size() != static_cast<std::size_t>(model.graph().initializer_size()))
            throw sim::Error("'" + path + "': the wire walk found " +
                             std::to_string(in_file.raw_data.size()) +
                             " initializers where the parse found " +
                             std::to_string(model.graph().initializer_size()));
    }
    if (model.ir_version() <= 0 || !model.has_graph())
        throw ModelError("'" + path + "' is not an ONNX model (no IR version or no graph)");
    if (model.ir_version() > 11)
        throw UnsupportedError("'" + path + "': ONNX IR version " +
                               std::to_string(model.ir_version()) +
                               " is newer than supported (3 to 11)");

    Graph g;
    g.ir_version = model.ir_version();
    for (const auto& op : model.opset_import())
        if (op.domain().empty() || op.domain() == "ai.onnx") g.opset = op.version();
    if (g.opset == 0 && model.ir_version() < 3) g.opset = 1;  // IR 1-2 predate opset_import

    g.name = model.graph().name();
    read_graph(*model.mutable_graph(), fs::path(path).parent_path().string(), /*is_main=*/true, {},
               &in_file, g);
    for (const auto& n : g.nodes)
        if (n.domain.empty() && g.opset <= 0)
            throw ModelError("'" + path + "' uses ai.onnx operators but imports no ai.onnx opset");
    if (g.outputs.empty()) throw ModelError("'" + path + "' has no graph outputs");
    return g;
}

}  // namespace xpusim::frontend
