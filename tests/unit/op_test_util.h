// Builders shared by the operator unit tests (test_ops_*.cpp): attributes, nodes, calls of a
// registered kernel's infer() and compute(), and element checks.
#pragma once

#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "frontends/onnx/op_registry.h"

namespace xpusim::op_test {

using frontend::Attribute;
using frontend::InferContext;
using frontend::InferInput;
using frontend::KernelContext;
using frontend::Node;
using frontend::operators;
using frontend::OpKernel;
using sim::DType;
using sim::Shape;
using sim::Tensor;

// ---- attributes ---------------------------------------------------------------------------------

inline Attribute int_attr(int64_t v) {
    return Attribute::of_int(v);
}

inline Attribute float_attr(double v) {
    return Attribute::of_float(v);
}

inline Attribute string_attr(std::string v) {
    return Attribute::of_string(std::move(v));
}

inline Attribute ints_attr(std::vector<int64_t> v) {
    return Attribute::of_ints(std::move(v));
}

inline Attribute floats_attr(std::vector<double> v) {
    return Attribute::of_floats(std::move(v));
}

inline Attribute tensor_attr(Tensor t) {
    return Attribute::of_tensor(std::move(t));
}

// ---- nodes --------------------------------------------------------------------------------------

/// A node with inputs "in0".. and outputs "out0"...
inline Node make_node(const std::string& op, std::size_t n_in, std::size_t n_out,
                      std::map<std::string, Attribute> attrs = {}) {
    Node n;
    n.name = op + "_0";
    n.op_type = op;
    for (std::size_t i = 0; i < n_in; ++i) n.inputs.push_back("in" + std::to_string(i));
    for (std::size_t i = 0; i < n_out; ++i) n.outputs.push_back("out" + std::to_string(i));
    n.attrs = std::move(attrs);
    return n;
}

/// A node with one output "out0" and an input per entry of `inputs`, named "in<i>", or ""
/// (omitted) where the entry is nullptr.
inline Node make_node(const std::string& op, const std::vector<const Tensor*>& inputs,
                      std::map<std::string, Attribute> attrs = {}) {
    Node n = make_node(op, 0, 1, std::move(attrs));
    for (std::size_t i = 0; i < inputs.size(); ++i)
        n.inputs.push_back(inputs[i] ? "in" + std::to_string(i) : "");
    return n;
}

// ---- kernel calls -------------------------------------------------------------------------------

inline const OpKernel& kernel_of(const Node& n) {
    const OpKernel* k = operators().find(n.op_type);
    REQUIRE(k != nullptr);
    return *k;
}

/// Runs compute(); nullptr inputs are omitted ones.
inline std::vector<Tensor> run(const Node& n, int64_t opset, std::vector<const Tensor*> in) {
    return kernel_of(n).compute(KernelContext{n, opset, std::move(in)});
}

/// Runs infer() with the given inputs; `constant[i]` marks input i as known at load time
/// (inputs past the end of `constant` are not).
inline InferContext infer(const Node& n, int64_t opset, const std::vector<const Tensor*>& in,
                          const std::vector<bool>& constant = {}) {
    const OpKernel& k = kernel_of(n);
    InferContext ctx{n, opset, {}, {}, {}};
    for (std::size_t i = 0; i < in.size(); ++i) {
        InferInput x;
        if (in[i]) {
            x.present = true;
            x.dtype = in[i]->dtype();
            x.shape = in[i]->shape();
            x.constant = i < constant.size() && constant[i] ? in[i] : nullptr;
        }
        ctx.inputs.push_back(x);
    }
    k.infer(ctx);
    return ctx;
}

/// Runs infer() (no input known at load time) and compute(), and checks that they agree on
/// every output's type and shape.
inline std::vector<Tensor> run_checked(const Node& node, const std::vector<const Tensor*>& inputs,
                                       int64_t opset = 17) {
    const InferContext ictx = infer(node, opset, inputs);
    std::vector<Tensor> out = run(node, opset, inputs);
    for (std::size_t i = 0; i < ictx.output_shapes.size(); ++i) {
        REQUIRE(i < out.size());
        CHECK(ictx.output_dtypes[i] == out[i].dtype());
        CHECK(ictx.output_shapes[i] == out[i].shape());
    }
    return out;
}

// ---- tensors and checks -------------------------------------------------------------------------

inline Tensor f32(const Shape& s, const std::vector<float>& v) {
    return Tensor::from_vector<float>(s, v);
}

inline Tensor i64(const Shape& s, const std::vector<int64_t>& v) {
    return Tensor::from_vector<int64_t>(s, v);
}

template <class T>
std::vector<T> values(const Tensor& t) {
    const T* p = t.data<T>();
    return std::vector<T>(p, p + t.numel());
}

/// Every element equal to `expected` within `tol`.
inline void check_close(const Tensor& t, const std::vector<double>& expected, double tol = 1e-6) {
    REQUIRE(t.numel() == static_cast<int64_t>(expected.size()));
    for (std::size_t i = 0; i < expected.size(); ++i) {
        INFO("element " << i);
        CHECK(t.get_as_double(static_cast<int64_t>(i)) == Approx(expected[i]).margin(tol));
    }
}

/// The shape, and every element within 1e-6.
inline void check_values(const Tensor& t, const Shape& shape, const std::vector<double>& expected) {
    REQUIRE(t.shape() == shape);
    check_close(t, expected);
}

}  // namespace xpusim::op_test
