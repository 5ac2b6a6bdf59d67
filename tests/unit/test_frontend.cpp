// The ONNX frontend's passes on small graphs written here with the protobuf API: topological
// order, shape binding, the Shape->Gather->Unsqueeze->Concat->Reshape folding exporters emit,
// dead-node removal, and the reference executor on a hand-computed example.
#include <onnx/onnx_pb.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "frontends/onnx/executor.h"
#include "frontends/onnx/loader.h"
#include "frontends/onnx/passes.h"
#include "sim/tensor/npy.h"
#include "sim/trace/trace.h"

using namespace xpusim;
namespace fs = std::filesystem;

namespace {

struct ModelBuilder {
    ::onnx::ModelProto m;
    ModelBuilder() {
        m.set_ir_version(8);
        m.add_opset_import()->set_version(17);
    }
    ::onnx::NodeProto* node(const std::string& op, std::vector<std::string> in,
                            std::vector<std::string> out) {
        auto* n = m.mutable_graph()->add_node();
        n->set_op_type(op);
        n->set_name(out[0] + "_node");
        for (auto& s : in) n->add_input(s);
        for (auto& s : out) n->add_output(s);
        return n;
    }
    void io(bool input, const std::string& name, std::vector<std::string> dims) {
        auto* v = input ? m.mutable_graph()->add_input() : m.mutable_graph()->add_output();
        v->set_name(name);
        auto* tt = v->mutable_type()->mutable_tensor_type();
        tt->set_elem_type(::onnx::TensorProto::FLOAT);
        for (auto& d : dims) {
            auto* dim = tt->mutable_shape()->add_dim();
            if (std::isdigit(static_cast<unsigned char>(d[0])))
                dim->set_dim_value(std::stoll(d));
            else
                dim->set_dim_param(d);
        }
    }
    void int_const(const std::string& name, std::vector<int64_t> values, bool scalar = false) {
        auto* t = m.mutable_graph()->add_initializer();
        t->set_name(name);
        t->set_data_type(::onnx::TensorProto::INT64);
        if (!scalar) t->add_dims(static_cast<int64_t>(values.size()));
        for (auto v : values) t->add_int64_data(v);
    }
    std::string save() {
        const auto path =
            fs::temp_directory_path() /
            ("xpusim_frontend_" + std::to_string(reinterpret_cast<uintptr_t>(this)) + ".onnx");
        std::ofstream f(path, std::ios::binary);
        m.SerializeToOstream(&f);
        return path.string();
    }
};

}  // namespace

TEST_CASE("frontend: the exporter's flatten chain folds into a constant reshape", "[frontend]") {
    // y = Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), [-1])) with x: batch x 4 x 2.
    ModelBuilder b;
    b.io(true, "x", {"batch", "4", "2"});
    b.node("Shape", {"x"}, {"shape"});
    b.int_const("zero", {0}, /*scalar=*/true);
    b.node("Gather", {"shape", "zero"}, {"batch_dim"});
    b.int_const("axes", {0});
    b.node("Unsqueeze", {"batch_dim", "axes"}, {"batch_1d"});
    b.int_const("minus_one", {-1});
    b.node("Concat", {"batch_1d", "minus_one"}, {"target"})->add_attribute()->CopyFrom([] {
        ::onnx::AttributeProto a;
        a.set_name("axis");
        a.set_type(::onnx::AttributeProto::INT);
        a.set_i(0);
        return a;
    }());
    b.node("Reshape", {"x", "target"}, {"y"});
    b.io(false, "y", {"batch", "8"});
    const std::string path = b.save();

    SECTION("a dynamic dimension needs --shape") {
        CHECK_THROWS_WITH(frontend::load_model(path), Catch::Contains("dynamic dimension 'batch'"));
    }
    SECTION("with the batch bound, only the Reshape survives, with a folded target 3x8") {
        const frontend::Graph g = frontend::load_model(path, {{"x", {3, 4, 2}}});
        REQUIRE(g.nodes.size() == 1);
        CHECK(g.nodes[0].op_type == "Reshape");
        const auto& target = g.value("target");
        REQUIRE(target.constant);
        CHECK(target.constant->to_int64_vector() == std::vector<int64_t>{3, -1});
        CHECK(g.value("y").shape == sim::Shape{3, 8});
        // Executing it: a reshape keeps the values in order.
        sim::Tensor x(sim::DType::Float32, {3, 4, 2});
        for (int i = 0; i < 24; ++i) x.data<float>()[i] = static_cast<float>(i);
        const auto out = frontend::execute_graph(g, {{"x", x}});
        CHECK(out.at("y").shape() == sim::Shape{3, 8});
        CHECK(out.at("y").data<float>()[23] == 23.0f);
    }
    std::remove(path.c_str());
}

TEST_CASE("frontend: nodes are ordered topologically and unused ones removed", "[frontend]") {
    // Written out of order: the Relu consumes the Neg written after it; a dead Abs.
    ModelBuilder b;
    b.io(true, "x", {"2"});
    b.node("Relu", {"n"}, {"y"});
    b.node("Neg", {"x"}, {"n"});
    b.node("Abs", {"x"}, {"unused"});
    b.io(false, "y", {"2"});
    const std::string path = b.save();
    const frontend::Graph g = frontend::load_model(path);
    REQUIRE(g.nodes.size() == 2);
    CHECK(g.nodes[0].op_type == "Neg");
    CHECK(g.nodes[1].op_type == "Relu");
    // relu(-x) for x = [1.5, -2]: [0, 2]
    const auto out =
        frontend::execute_graph(g, {{"x", sim::Tensor::from_vector<float>({2}, {1.5f, -2.0f})}});
    CHECK(out.at("y").data<float>()[0] == 0.0f);
    CHECK(out.at("y").data<float>()[1] == 2.0f);
    std::remove(path.c_str());
}

namespace {

// y = x + w over float32[3], w an initializer holding `raw` as raw_data.
ModelBuilder add_raw_initializer(const std::string& raw) {
    ModelBuilder b;
    b.io(true, "x", {"3"});
    b.node("Add", {"x", "w"}, {"y"});
    b.io(false, "y", {"3"});
    auto* w = b.m.mutable_graph()->add_initializer();
    w->set_name("w");
    w->set_data_type(::onnx::TensorProto::FLOAT);
    w->add_dims(3);
    w->set_raw_data(raw);
    return b;
}

std::string write_bytes(const std::string& bytes, const std::string& name) {
    const auto path = (fs::temp_directory_path() / name).string();
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
}

std::string read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("loader: raw_data at an odd offset in the file is read from there, aligned",
          "[frontend][loader]") {
    // w = [1.5, -2, 3.25]. The model's doc_string (ModelProto field 6, serialized before the
    // graph, field 7) grows until w's 12 bytes start at an odd offset of the file, so a pointer
    // into the file would be misaligned for float (and for the 64-byte Eigen maps of vec()).
    const std::vector<float> values = {1.5f, -2.0f, 3.25f};
    std::string raw(12, '\0');
    std::memcpy(raw.data(), values.data(), raw.size());
    ModelBuilder b = add_raw_initializer(raw);
    std::string bytes;
    std::size_t offset = 0;
    for (std::string doc;; doc += '.') {
        b.m.set_doc_string(doc);
        bytes = b.m.SerializeAsString();
        offset = bytes.find(raw);
        REQUIRE(offset != std::string::npos);
        if (offset % 2 == 1) break;
    }
    REQUIRE(bytes.find(raw, offset + 1) == std::string::npos);
    const std::string path = write_bytes(bytes, "xpusim_loader_odd_offset.onnx");

    SECTION("the values, in a 64-byte aligned buffer") {
        const frontend::Graph g = frontend::import_model(path);
        const sim::Tensor& w = *g.value("w").constant;
        CHECK(w.shape() == sim::Shape{3});
        CHECK(reinterpret_cast<uintptr_t>(w.raw()) % 64 == 0);
        CHECK(std::vector<float>(w.data<float>(), w.data<float>() + 3) == values);
    }
    SECTION("executed: x + w for x = [1, 1, 1] is [2.5, -1, 4.25]") {
        const frontend::Graph g = frontend::load_model(path);
        const auto out = frontend::execute_graph(
            g, {{"x", sim::Tensor::from_vector<float>({3}, {1.0f, 1.0f, 1.0f})}});
        const sim::Tensor& y = out.at("y");
        CHECK(std::vector<float>(y.data<float>(), y.data<float>() + 3) ==
              std::vector<float>{2.5f, -1.0f, 4.25f});
    }
    SECTION("copies share the buffer, clones do not, and neither writes the file") {
        const frontend::Graph g = frontend::import_model(path);
        sim::Tensor clone = g.value("w").constant->clone();  // before anything read w
        sim::Tensor shared = *g.value("w").constant;
        clone.data<float>()[0] = 7.0f;
        shared.data<float>()[1] = 9.0f;
        const sim::Tensor& w = *g.value("w").constant;
        CHECK(w.data<float>()[0] == 1.5f);
        CHECK(w.data<float>()[1] == 9.0f);
        CHECK(clone.data<float>()[1] == -2.0f);
        CHECK(read_bytes(path) == bytes);
        // The next load reads the file's values again.
        CHECK(frontend::import_model(path).value("w").constant->data<float>()[1] == -2.0f);
    }
    std::remove(path.c_str());
}

TEST_CASE("loader: raw_data of the wrong size, and a file cut inside it, are refused",
          "[frontend][loader]") {
    SECTION("8 bytes for float32[3] (12 bytes)") {
        const std::string path =
            write_bytes(add_raw_initializer(std::string(8, '\1')).m.SerializeAsString(),
                        "xpusim_loader_short_raw.onnx");
        CHECK_THROWS_AS(frontend::import_model(path), sim::ModelError);
        CHECK_THROWS_WITH(frontend::import_model(path),
                          "initializer 'w': declares shape 3 (12 bytes) but holds 8 bytes");
        std::remove(path.c_str());
    }
    SECTION("the file ends inside w's 12 bytes") {
        const std::string raw = "abcdefghijkl";
        const std::string bytes = add_raw_initializer(raw).m.SerializeAsString();
        const std::string path =
            write_bytes(bytes.substr(0, bytes.find(raw) + 6), "xpusim_loader_cut_raw.onnx");
        CHECK_THROWS_AS(frontend::import_model(path), sim::ModelError);
        CHECK_THROWS_WITH(
            frontend::import_model(path),
            "'" + path + "' is not an ONNX model (protobuf parse failed; truncated or corrupt)");
        std::remove(path.c_str());
    }
}

TEST_CASE("npy files round-trip every element type the CLI writes", "[frontend]") {
    const auto path = (fs::temp_directory_path() / "xpusim_roundtrip.npy").string();
    for (auto t : {sim::DType::Float32, sim::DType::Int64, sim::DType::Bool, sim::DType::Float16,
                   sim::DType::UInt8}) {
        sim::Tensor x(t, {2, 3});
        for (int64_t i = 0; i < x.numel(); ++i)
            static_cast<uint8_t*>(x.raw())[i * sim::dtype_size(t)] = static_cast<uint8_t>(i % 2);
        sim::write_npy(path, x);
        const sim::Tensor y = sim::read_npy(path);
        CHECK(y.dtype() == t);
        CHECK(y.shape() == x.shape());
        CHECK(std::memcmp(x.raw(), y.raw(), x.nbytes()) == 0);
    }
    CHECK_THROWS_AS(sim::parse_npy("not a numpy file", "'x'"), sim::ModelError);
    std::remove(path.c_str());
}

TEST_CASE("trace: complete events in microseconds at the chip's clock", "[frontend]") {
    // At 500 MHz, cycle 1000 is 2 us and 250 cycles last 0.5 us.
    sim::TraceLog t(500e6);
    const int pid = t.add_process("chip");
    const int tid = t.add_track(pid, "mxu");
    t.complete(pid, tid, "MMC", 1000, 250, {{"layer", "conv1"}});
    t.counter(pid, "GB/s", 1000, 12.5);
    const auto j = t.to_json();
    const auto& ev = j["traceEvents"];
    const auto x = std::find_if(ev.begin(), ev.end(), [](const auto& e) { return e["ph"] == "X"; });
    REQUIRE(x != ev.end());
    CHECK((*x)["ts"].get<double>() == Approx(2.0));
    CHECK((*x)["dur"].get<double>() == Approx(0.5));
    CHECK((*x)["args"]["layer"] == "conv1");
    const auto c = std::find_if(ev.begin(), ev.end(), [](const auto& e) { return e["ph"] == "C"; });
    CHECK((*c)["args"]["value"].get<double>() == 12.5);
}
