// If, Loop and Scan: ops that run a subgraph (Node::attr_graph). The subgraph reads values of
// the enclosing graph by name; the loader lists them as the node's implicit inputs, so here they
// arrive as inputs like any other and are bound into a copy of the subgraph as constants. Shape
// inference infers the subgraph on the input types; where an output's shape depends on run-time
// data (an If whose branches disagree, a Loop's trip count) it is left to run time
// (UnsupportedError from infer). Tensors pass to the body unwidened: it runs in their own types.
#include <algorithm>
#include <cstring>
#include <functional>
#include <limits>
#include <optional>

#include "frontends/onnx/executor.h"
#include "frontends/onnx/ops/op_utils.h"
#include "frontends/onnx/passes.h"

namespace xpusim::frontend::ops {
namespace {

const Graph& subgraph(const Node& node, const char* name) {
    const Graph* g = node.attr_graph(name);
    if (!g) fail(node, std::string("attribute '") + name + "' (a graph) is required");
    return *g;
}

// Where an outer-scope name sits among the node's inputs.
std::size_t input_index(const Node& node, const std::string& name) {
    for (std::size_t i = 0; i < node.inputs.size(); ++i)
        if (node.inputs[i] == name) return i;
    fail(node, "subgraph reads '" + name + "', which is not among the node's inputs");
}

struct ValueType {
    DType dtype;
    Shape shape;
};

// The subgraph inferred with `formal` for its inputs and `outer` for the enclosing values it
// reads; the type and shape of each output. UnsupportedError where one is only known at run time.
std::vector<ValueType> infer_subgraph(const Node& node, const Graph& sub,
                                      const std::vector<InferInput>& formal,
                                      const std::function<InferInput(const std::string&)>& outer) {
    if (formal.size() != sub.inputs.size())
        fail(node, "subgraph '" + sub.name + "' has " + std::to_string(sub.inputs.size()) +
                       " inputs, the node gives it " + std::to_string(formal.size()));
    Graph g = sub;
    auto bind = [&](const std::string& name, const InferInput& in) {
        ValueInfo& v = g.values[name];
        v.name = name;
        v.dtype = in.dtype;
        v.shape = in.shape;
        v.shape_known = true;
        if (in.constant) v.constant = *in.constant;
    };
    for (std::size_t i = 0; i < formal.size(); ++i) bind(g.inputs[i], formal[i]);
    for (const auto& name : g.outer_inputs) bind(name, outer(name));
    infer_and_fold(g);
    std::vector<ValueType> out;
    for (const auto& name : g.outputs) {
        const ValueInfo& v = g.value(name);
        if (!v.shape_known)
            throw sim::UnsupportedError(node.describe() + ": subgraph output '" + name +
                                        "' has a shape only known when it runs");
        out.push_back({v.dtype, v.shape});
    }
    return out;
}

std::vector<ValueType> infer_subgraph(const InferContext& ctx, const Graph& sub,
                                      const std::vector<InferInput>& formal) {
    return infer_subgraph(ctx.node, sub, formal, [&ctx](const std::string& name) {
        return ctx.inputs[input_index(ctx.node, name)];
    });
}

InferInput known(DType dtype, Shape shape, const Tensor* constant = nullptr) {
    return InferInput{true, dtype, std::move(shape), constant};
}

InferInput known(const Tensor& t) {
    return InferInput{true, t.dtype(), t.shape(), &t};
}

// A subgraph ready to run: its inputs typed, the enclosing values it reads bound as constants.
class BoundSubgraph {
  public:
    BoundSubgraph(const KernelContext& ctx, const Graph& sub, const std::vector<DType>& formal)
        : m_ctx(ctx), m_graph(sub) {
        if (formal.size() != sub.inputs.size())
            fail(ctx.node, "subgraph '" + sub.name + "' has " + std::to_string(sub.inputs.size()) +
                               " inputs, the node gives it " + std::to_string(formal.size()));
        for (std::size_t i = 0; i < formal.size(); ++i) {
            ValueInfo& v = m_graph.value(sub.inputs[i]);
            v.dtype = formal[i];
            v.shape_known = false;  // shapes may change from one iteration to the next
        }
        for (const auto& name : sub.outer_inputs) {
            ValueInfo& v = m_graph.values[name];
            v.name = name;
            v.constant = outer(name);
            v.dtype = v.constant->dtype();
            v.shape = v.constant->shape();
            v.shape_known = true;
        }
    }

    /// @brief The outputs, in order, for one set of input values.
    std::vector<Tensor> run(const std::vector<Tensor>& inputs) const {
        TensorMap in;
        for (std::size_t i = 0; i < inputs.size(); ++i) in[m_graph.inputs[i]] = inputs[i];
        TensorMap result = execute_graph(m_graph, in);
        std::vector<Tensor> out;
        for (const auto& name : m_graph.outputs) out.push_back(result.at(name));
        return out;
    }

    /// @brief The outputs' types and shapes, inferred for these input values (for a scan
    /// output of zero iterations, which no run gives).
    std::vector<ValueType> infer(const std::vector<Tensor>& inputs) const {
        std::vector<InferInput> formal;
        for (const Tensor& t : inputs) formal.push_back(known(t.dtype(), t.shape()));
        return infer_subgraph(m_ctx.node, m_graph, formal,
                              [this](const std::string& name) { return known(outer(name)); });
    }

    std::size_t num_outputs() const { return m_graph.outputs.size(); }

  private:
    const Tensor& outer(const std::string& name) const {
        return m_ctx.in(input_index(m_ctx.node, name));
    }

    const KernelContext& m_ctx;
    Graph m_graph;
};

// ---- tensor slicing along an axis ---------------------------------------------------------------

// t[..., index, ...] at `axis`, the axis removed.
Tensor take(const Tensor& t, int64_t axis, int64_t index) {
    Shape s = t.shape();
    const int64_t n = s[axis];
    s.erase(s.begin() + axis);
    Tensor out(t.dtype(), s);
    const int64_t outer = dims_product(t.shape(), 0, axis);
    const std::size_t inner = static_cast<std::size_t>(
        dims_product(t.shape(), axis + 1, t.shape().size()) * sim::dtype_size(t.dtype()));
    for (int64_t o = 0; o < outer; ++o)
        std::memcpy(bytes(out) + o * inner, bytes(t) + (o * n + index) * inner, inner);
    return out;
}

// The parts, all of one type and shape `elt`, stacked along a new axis `axis`; `padded` parts
// in all, zeros past the given ones.
Tensor stack(const Node& node, const std::vector<Tensor>& parts, DType dtype, const Shape& elt,
             int64_t axis, int64_t padded) {
    for (const Tensor& p : parts)
        if (p.dtype() != dtype || p.shape() != elt)
            fail(node, "a scan output is " + describe_tensor(p) + " in one iteration and " +
                           sim::dtype_name(dtype) + "[" + sim::shape_str(elt) + "] in another");
    Shape s = elt;
    s.insert(s.begin() + axis, padded);
    Tensor out(dtype, s);
    const int64_t outer = dims_product(elt, 0, axis);
    const std::size_t inner =
        static_cast<std::size_t>(dims_product(elt, axis, elt.size()) * sim::dtype_size(dtype));
    for (std::size_t t = 0; t < parts.size(); ++t)
        for (int64_t o = 0; o < outer; ++o)
            std::memcpy(bytes(out) + (o * padded + static_cast<int64_t>(t)) * inner,
                        bytes(parts[t]) + o * inner, inner);
    return out;
}

Shape without(Shape s, int64_t axis) {
    s.erase(s.begin() + axis);
    return s;
}

Shape with(Shape s, int64_t axis, int64_t n) {
    s.insert(s.begin() + axis, n);
    return s;
}

bool truth(const Node& node, const Tensor& t, const char* what) {
    if (t.dtype() != DType::Bool || t.numel() != 1)
        fail(node, std::string(what) + " must be one bool, got " + describe_tensor(t));
    return t.get_as_int64(0) != 0;
}

// ---- If -----------------------------------------------------------------------------------------

// If: runs then_branch or else_branch by the one-element bool `cond`; the branches take no
// inputs and give the node's outputs.
void infer_if(InferContext& ctx) {
    const InferInput& cond = ctx.in(0);
    if (cond.dtype != DType::Bool || sim::shape_numel(cond.shape) != 1)
        ctx.fail("cond must be one bool");
    const Graph& then_g = subgraph(ctx.node, "then_branch");
    const Graph& else_g = subgraph(ctx.node, "else_branch");
    std::vector<ValueType> out;
    if (cond.constant) {
        out = infer_subgraph(ctx, cond.constant->get_as_int64(0) ? then_g : else_g, {});
    } else {
        out = infer_subgraph(ctx, then_g, {});
        const std::vector<ValueType> other = infer_subgraph(ctx, else_g, {});
        if (other.size() != out.size())
            ctx.fail("the branches give " + std::to_string(out.size()) + " and " +
                     std::to_string(other.size()) + " outputs");
        for (std::size_t i = 0; i < out.size(); ++i) {
            if (other[i].dtype != out[i].dtype)
                ctx.fail("output " + std::to_string(i) + " is " + sim::dtype_name(out[i].dtype) +
                         " in then_branch, " + sim::dtype_name(other[i].dtype) + " in else_branch");
            if (other[i].shape != out[i].shape)
                throw sim::UnsupportedError(ctx.node.describe() + ": output " + std::to_string(i) +
                                            " is " + sim::shape_str(out[i].shape) +
                                            " in then_branch, " + sim::shape_str(other[i].shape) +
                                            " in else_branch: its shape depends on cond");
        }
    }
    if (out.size() < ctx.node.outputs.size())
        ctx.fail("the branches give " + std::to_string(out.size()) + " outputs, the node names " +
                 std::to_string(ctx.node.outputs.size()));
    for (std::size_t i = 0; i < ctx.node.outputs.size(); ++i)
        ctx.set_output(i, out[i].dtype, out[i].shape);
}

std::vector<Tensor> compute_if(const KernelContext& ctx) {
    const bool cond = truth(ctx.node, ctx.in(0), "cond");
    const BoundSubgraph branch(ctx, subgraph(ctx.node, cond ? "then_branch" : "else_branch"), {});
    return branch.run({});
}

// ---- Loop ---------------------------------------------------------------------------------------

// Loop(M, cond, v_initial...): the body takes (iteration_num, cond, v...) and gives
// (cond, v..., scan_output_elt...); it runs while i < M (if M is given) and cond (if cond is
// given; the body's cond is then the next one). Outputs: the final v..., then each scan output
// stacked over the iterations along a new axis 0.
struct LoopArity {
    std::size_t carried = 0, scans = 0;
};

LoopArity loop_arity(const Node& node, const Graph& body) {
    const std::size_t formal = node.num_formal_inputs();
    LoopArity a;
    a.carried = formal > 2 ? formal - 2 : 0;
    if (body.inputs.size() != 2 + a.carried || body.outputs.size() < 1 + a.carried)
        fail(node, "the body takes " + std::to_string(body.inputs.size()) + " inputs and gives " +
                       std::to_string(body.outputs.size()) + " outputs; with " +
                       std::to_string(a.carried) + " loop-carried values it must take " +
                       std::to_string(2 + a.carried) + " and give at least " +
                       std::to_string(1 + a.carried));
    a.scans = body.outputs.size() - 1 - a.carried;
    if (node.outputs.size() > a.carried + a.scans)
        fail(node, "names " + std::to_string(node.outputs.size()) + " outputs, the body gives " +
                       std::to_string(a.carried + a.scans));
    return a;
}

void infer_loop(InferContext& ctx) {
    const Node& node = ctx.node;
    const Graph& body = subgraph(node, "body");
    const LoopArity a = loop_arity(node, body);
    const bool has_m = node.has_input(0), has_cond = node.has_input(1);
    if (has_m && (ctx.in(0).dtype != DType::Int64 || sim::shape_numel(ctx.in(0).shape) != 1))
        ctx.fail("M must be one int64");
    if (has_cond && (ctx.in(1).dtype != DType::Bool || sim::shape_numel(ctx.in(1).shape) != 1))
        ctx.fail("cond must be one bool");
    // The body only runs while cond holds, so it sees cond = true.
    const Tensor cond_true = Tensor::scalar<bool>(true);
    std::vector<InferInput> formal{known(DType::Int64, {}), known(DType::Bool, {}, &cond_true)};
    for (std::size_t k = 0; k < a.carried; ++k) {
        const InferInput& v = ctx.in(2 + k);
        formal.push_back(known(v.dtype, v.shape));
    }
    const std::vector<ValueType> out = infer_subgraph(ctx, body, formal);
    for (std::size_t k = 0; k < a.carried; ++k) {
        const InferInput& v = ctx.in(2 + k);
        if (out[1 + k].dtype != v.dtype)
            ctx.fail("loop-carried value " + std::to_string(k) + " enters as " +
                     sim::dtype_name(v.dtype) + " and leaves the body as " +
                     sim::dtype_name(out[1 + k].dtype));
        if (out[1 + k].shape != v.shape)
            throw sim::UnsupportedError(node.describe() + ": loop-carried value " +
                                        std::to_string(k) + " changes shape from " +
                                        sim::shape_str(v.shape) + " to " +
                                        sim::shape_str(out[1 + k].shape) + " across iterations");
        if (k < node.outputs.size()) ctx.set_output(k, v.dtype, v.shape);
    }
    if (a.scans == 0 || node.outputs.size() <= a.carried) return;
    // The trip count is known when M is a constant and cond cannot stop the loop early.
    std::optional<int64_t> trips;
    if (has_m && ctx.in(0).constant) {
        const int64_t m = std::max<int64_t>(0, ctx.in(0).constant->get_as_int64(0));
        if (!has_cond) trips = m;
        // A constant cond: false runs nothing; true runs M times only if the body's cond stays
        // true, which shape inference cannot tell.
        else if (ctx.in(1).constant && !ctx.in(1).constant->get_as_int64(0))
            trips = 0;
    }
    if (!trips)
        throw sim::UnsupportedError(node.describe() +
                                    ": the number of iterations, and so the scan outputs' "
                                    "shape, is only known when it runs");
    for (std::size_t k = 0; k < a.scans && a.carried + k < node.outputs.size(); ++k) {
        const ValueType& e = out[1 + a.carried + k];
        ctx.set_output(a.carried + k, e.dtype, with(e.shape, 0, *trips));
    }
}

std::vector<Tensor> compute_loop(const KernelContext& ctx) {
    const Node& node = ctx.node;
    const Graph& body_graph = subgraph(node, "body");
    const LoopArity a = loop_arity(node, body_graph);
    const bool has_m = ctx.has(0), has_cond = ctx.has(1);
    if (!has_m && !has_cond)
        throw sim::UnsupportedError(node.describe() +
                                    ": a Loop with neither M nor cond never ends");
    if (has_m && (ctx.in(0).dtype() != DType::Int64 || ctx.in(0).numel() != 1))
        fail(node, "M must be one int64, got " + describe_tensor(ctx.in(0)));
    const int64_t m = has_m ? ctx.in(0).get_as_int64(0) : std::numeric_limits<int64_t>::max();
    bool cond = has_cond ? truth(node, ctx.in(1), "cond") : true;
    std::vector<Tensor> carried;
    std::vector<DType> formal{DType::Int64, DType::Bool};
    for (std::size_t k = 0; k < a.carried; ++k) {
        carried.push_back(ctx.in(2 + k));
        formal.push_back(carried.back().dtype());
    }
    const BoundSubgraph body(ctx, body_graph, formal);
    std::vector<std::vector<Tensor>> scans(a.scans);
    int64_t i = 0;
    for (; i < m && cond; ++i) {
        std::vector<Tensor> in{Tensor::scalar<int64_t>(i), Tensor::scalar<bool>(true)};
        in.insert(in.end(), carried.begin(), carried.end());
        std::vector<Tensor> out = body.run(in);
        if (has_cond) cond = truth(node, out[0], "the body's cond output");
        for (std::size_t k = 0; k < a.carried; ++k) {
            if (out[1 + k].dtype() != carried[k].dtype())
                fail(node, "loop-carried value " + std::to_string(k) + " enters as " +
                               describe_tensor(carried[k]) + " and leaves the body as " +
                               describe_tensor(out[1 + k]));
            carried[k] = std::move(out[1 + k]);
        }
        for (std::size_t k = 0; k < a.scans; ++k) scans[k].push_back(out[1 + a.carried + k]);
    }
    std::vector<Tensor> result = carried;
    std::vector<ValueType> empty;  // the scan outputs' types when no iteration ran
    if (i == 0 && a.scans > 0) {
        std::vector<Tensor> in{Tensor::scalar<int64_t>(0), Tensor::scalar<bool>(true)};
        in.insert(in.end(), carried.begin(), carried.end());
        empty = body.infer(in);
    }
    for (std::size_t k = 0; k < a.scans; ++k) {
        const ValueType e =
            i > 0 ? ValueType{scans[k][0].dtype(), scans[k][0].shape()} : empty[1 + a.carried + k];
        result.push_back(stack(node, scans[k], e.dtype, e.shape, 0, i));
    }
    return result;
}

// ---- Scan ---------------------------------------------------------------------------------------

// Scan (opset 9+): N state variables then M scan inputs (num_scan_inputs). Each iteration the
// body takes (state..., one slice of each scan input along its scan_input_axes entry, from the
// end where scan_input_directions says 1) and gives (state..., scan_output_elt...); each scan
// output stacks its elements along its scan_output_axes entry, prepended where
// scan_output_directions says 1. Opset 8's Scan has a batch axis 0 on every input and output,
// scans axis 1, takes an optional sequence_lens first and pads short sequences' outputs with 0.
struct ScanSpec {
    std::size_t states = 0, inputs = 0, outputs = 0;  // N, M, K
    std::size_t first = 0;  // index of the first state input (1 in opset 8: sequence_lens)
    std::vector<int64_t> in_axes, in_dirs, out_axes, out_dirs;
    bool batched = false;  // opset 8
};

std::vector<int64_t> flags(const Node& node, const char* name, std::size_t count, bool binary) {
    std::vector<int64_t> v = node.attr_ints(name, std::vector<int64_t>(count, 0));
    if (v.size() != count)
        fail(node, std::string("attribute '") + name + "' has " + std::to_string(v.size()) +
                       " entries, expected " + std::to_string(count));
    if (binary)
        for (int64_t x : v)
            if (x != 0 && x != 1)
                fail(node, std::string("attribute '") + name + "' entries must be 0 or 1");
    return v;
}

// in_ranks / elt_ranks: the ranks of the scan inputs and of the scan output elements, to
// normalize negative axes (left as given where empty).
ScanSpec scan_spec(const Node& node, int64_t opset, const Graph& body,
                   const std::vector<int64_t>& in_ranks, const std::vector<int64_t>& elt_ranks) {
    ScanSpec s;
    s.batched = opset < 9;
    s.first = s.batched ? 1 : 0;
    const std::size_t formal = node.num_formal_inputs();
    if (!node.has_attr("num_scan_inputs")) fail(node, "attribute 'num_scan_inputs' is required");
    const int64_t m = node.attr_int("num_scan_inputs", 0);
    if (m < 1 || static_cast<std::size_t>(m) + s.first > formal)
        fail(node, "num_scan_inputs " + std::to_string(m) + " does not fit its " +
                       std::to_string(formal - s.first) + " state and scan inputs");
    s.inputs = static_cast<std::size_t>(m);
    s.states = formal - s.first - s.inputs;
    if (body.inputs.size() != s.states + s.inputs || body.outputs.size() < s.states)
        fail(node, "the body takes " + std::to_string(body.inputs.size()) + " inputs and gives " +
                       std::to_string(body.outputs.size()) + "; with " + std::to_string(s.states) +
                       " states and " + std::to_string(s.inputs) + " scan inputs it must take " +
                       std::to_string(s.states + s.inputs));
    s.outputs = body.outputs.size() - s.states;
    if (node.outputs.size() > s.states + s.outputs)
        fail(node, "names " + std::to_string(node.outputs.size()) + " outputs, the body gives " +
                       std::to_string(s.states + s.outputs));
    if (s.batched) {
        s.in_dirs = flags(node, "directions", s.inputs, true);
        s.in_axes.assign(s.inputs, 1);
        s.out_axes.assign(s.outputs, 1);
        s.out_dirs.assign(s.outputs, 0);
        return s;
    }
    s.in_dirs = flags(node, "scan_input_directions", s.inputs, true);
    s.out_dirs = flags(node, "scan_output_directions", s.outputs, true);
    s.in_axes = flags(node, "scan_input_axes", s.inputs, false);
    s.out_axes = flags(node, "scan_output_axes", s.outputs, false);
    if (!in_ranks.empty())
        for (std::size_t j = 0; j < s.inputs; ++j)
            s.in_axes[j] = normalize_axis(s.in_axes[j], in_ranks[j], node);
    if (!elt_ranks.empty())
        for (std::size_t k = 0; k < s.outputs; ++k)
            s.out_axes[k] = normalize_axis(s.out_axes[k], elt_ranks[k] + 1, node);
    return s;
}

// The scan length every scan input agrees on.
int64_t scan_length(const Node& node, const ScanSpec& s, const std::vector<const Shape*>& shapes) {
    int64_t t = -1;
    for (std::size_t j = 0; j < s.inputs; ++j) {
        const Shape& sh = *shapes[s.first + s.states + j];
        if (static_cast<int64_t>(sh.size()) <= s.in_axes[j])
            fail(node, "scan input " + std::to_string(j) + " of shape " + sim::shape_str(sh) +
                           " has no axis " + std::to_string(s.in_axes[j]));
        if (t >= 0 && sh[s.in_axes[j]] != t) fail(node, "the scan inputs have different lengths");
        t = sh[s.in_axes[j]];
    }
    return t;
}

void infer_scan(InferContext& ctx) {
    const Node& node = ctx.node;
    const Graph& body = subgraph(node, "body");
    std::vector<const Shape*> shapes;
    for (std::size_t i = 0; i < node.num_formal_inputs(); ++i)
        shapes.push_back(node.has_input(i) ? &ctx.in(i).shape : nullptr);
    // First pass without the output ranks: the body's element shapes give them.
    ScanSpec s = scan_spec(node, ctx.opset, body, {}, {});
    std::vector<int64_t> in_ranks;
    for (std::size_t j = 0; j < s.inputs; ++j)
        in_ranks.push_back(static_cast<int64_t>(shapes[s.first + s.states + j]->size()));
    s = scan_spec(node, ctx.opset, body, in_ranks, {});
    if (s.batched && node.has_input(0) &&
        (ctx.in(0).dtype != DType::Int64 || ctx.in(0).shape.size() != 1))
        ctx.fail("sequence_lens must be a 1-D int64 tensor");
    const int64_t t = scan_length(node, s, shapes);
    int64_t batch = -1;
    std::vector<InferInput> formal;
    for (std::size_t i = 0; i < s.states + s.inputs; ++i) {
        const InferInput& v = ctx.in(s.first + i);
        Shape sh = v.shape;
        if (s.batched) {
            if (sh.empty() || (batch >= 0 && sh[0] != batch))
                ctx.fail("every state and scan input needs the same batch axis 0");
            batch = sh[0];
            sh = without(sh, 0);
        }
        if (i >= s.states) sh = without(sh, s.in_axes[i - s.states] - (s.batched ? 1 : 0));
        formal.push_back(known(v.dtype, sh));
    }
    const std::vector<ValueType> out = infer_subgraph(ctx, body, formal);
    for (std::size_t k = 0; k < s.states; ++k)
        if (out[k].dtype != formal[k].dtype || out[k].shape != formal[k].shape)
            ctx.fail("state " + std::to_string(k) + " enters as " +
                     sim::dtype_name(formal[k].dtype) + "[" + sim::shape_str(formal[k].shape) +
                     "] and leaves the body as " + sim::dtype_name(out[k].dtype) + "[" +
                     sim::shape_str(out[k].shape) + "]");
    std::vector<int64_t> elt_ranks;
    for (std::size_t k = 0; k < s.outputs; ++k)
        elt_ranks.push_back(static_cast<int64_t>(out[s.states + k].shape.size()));
    s = scan_spec(node, ctx.opset, body, in_ranks, elt_ranks);
    for (std::size_t i = 0; i < node.outputs.size(); ++i) {
        Shape sh = out[i].shape;
        if (i >= s.states) sh = with(sh, s.batched ? 0 : s.out_axes[i - s.states], t);
        if (s.batched) sh = with(sh, 0, batch);
        ctx.set_output(i, out[i].dtype, sh);
    }
}

// Runs `len` iterations over scan inputs whose scan axes are s.in_axes (less `axis_shift`);
// returns the final states then each scan output stacked, padded to `padded` elements.
std::vector<Tensor> run_scan(const KernelContext& ctx, const ScanSpec& s, const BoundSubgraph& body,
                             std::vector<Tensor> states, const std::vector<Tensor>& inputs,
                             int64_t len, int64_t padded, int64_t axis_shift) {
    std::vector<std::vector<Tensor>> elts(s.outputs);
    for (int64_t step = 0; step < len; ++step) {
        std::vector<Tensor> in = states;
        for (std::size_t j = 0; j < s.inputs; ++j)
            in.push_back(
                take(inputs[j], s.in_axes[j] - axis_shift, s.in_dirs[j] ? len - 1 - step : step));
        std::vector<Tensor> out = body.run(in);
        for (std::size_t k = 0; k < s.states; ++k) {
            if (out[k].dtype() != states[k].dtype() || out[k].shape() != states[k].shape())
                fail(ctx.node, "state " + std::to_string(k) + " enters as " +
                                   describe_tensor(states[k]) + " and leaves the body as " +
                                   describe_tensor(out[k]));
            states[k] = std::move(out[k]);
        }
        for (std::size_t k = 0; k < s.outputs; ++k) elts[k].push_back(out[s.states + k]);
    }
    std::vector<ValueType> empty;
    if (len == 0 && s.outputs > 0) {
        std::vector<Tensor> in = states;
        for (std::size_t j = 0; j < s.inputs; ++j) {
            const Shape sh = without(inputs[j].shape(), s.in_axes[j] - axis_shift);
            in.push_back(Tensor(inputs[j].dtype(), sh));
        }
        empty = body.infer(in);
    }
    std::vector<Tensor> result = states;
    for (std::size_t k = 0; k < s.outputs; ++k) {
        const ValueType e =
            len > 0 ? ValueType{elts[k][0].dtype(), elts[k][0].shape()} : empty[s.states + k];
        if (s.out_dirs[k]) std::reverse(elts[k].begin(), elts[k].end());
        const int64_t axis = s.batched ? 0 : s.out_axes[k];
        if (axis > static_cast<int64_t>(e.shape.size()))
            fail(ctx.node, "scan_output_axes entry " + std::to_string(axis) +
                               " is out of range for elements of rank " +
                               std::to_string(e.shape.size()));
        result.push_back(stack(ctx.node, elts[k], e.dtype, e.shape, axis, padded));
    }
    return result;
}

std::vector<Tensor> compute_scan(const KernelContext& ctx) {
    const Node& node = ctx.node;
    const Graph& body_graph = subgraph(node, "body");
    std::vector<const Shape*> shapes;
    for (std::size_t i = 0; i < node.num_formal_inputs(); ++i)
        shapes.push_back(ctx.has(i) ? &ctx.in(i).shape() : nullptr);
    ScanSpec s = scan_spec(node, ctx.opset, body_graph, {}, {});
    std::vector<int64_t> in_ranks;
    for (std::size_t j = 0; j < s.inputs; ++j)
        in_ranks.push_back(ctx.in(s.first + s.states + j).rank());
    s = scan_spec(node, ctx.opset, body_graph, in_ranks, {});
    std::vector<DType> formal;
    for (std::size_t i = 0; i < s.states + s.inputs; ++i)
        formal.push_back(ctx.in(s.first + i).dtype());
    const BoundSubgraph body(ctx, body_graph, formal);
    const int64_t t = scan_length(node, s, shapes);
    auto normalize_out_axes = [&](ScanSpec& spec, const std::vector<Tensor>& states,
                                  const std::vector<Tensor>& inputs) {
        if (spec.batched || spec.outputs == 0) return;
        // Element ranks from a body run would cost an iteration; negative axes are rare, so
        // infer them only when one is given.
        if (std::all_of(spec.out_axes.begin(), spec.out_axes.end(),
                        [](int64_t a) { return a >= 0; }))
            return;
        std::vector<Tensor> in = states;
        for (std::size_t j = 0; j < spec.inputs; ++j)
            in.push_back(Tensor(inputs[j].dtype(), without(inputs[j].shape(), spec.in_axes[j])));
        const std::vector<ValueType> e = body.infer(in);
        std::vector<int64_t> elt_ranks;
        for (std::size_t k = 0; k < spec.outputs; ++k)
            elt_ranks.push_back(static_cast<int64_t>(e[spec.states + k].shape.size()));
        spec = scan_spec(node, ctx.opset, body_graph, in_ranks, elt_ranks);
    };
    std::vector<Tensor> states, inputs;
    for (std::size_t k = 0; k < s.states; ++k) states.push_back(ctx.in(s.first + k));
    for (std::size_t j = 0; j < s.inputs; ++j) inputs.push_back(ctx.in(s.first + s.states + j));
    if (!s.batched) {
        normalize_out_axes(s, states, inputs);
        return run_scan(ctx, s, body, states, inputs, t, t, 0);
    }
    // Opset 8: each batch entry on its own, its sequence_lens steps, its outputs padded to t.
    const int64_t batch = states.empty() ? inputs[0].dim(0) : states[0].dim(0);
    if (batch == 0)
        throw sim::UnsupportedError(node.describe() + ": an empty batch is not supported");
    std::vector<int64_t> lens(static_cast<std::size_t>(batch), t);
    if (ctx.has(0)) {
        const Tensor& sl = ctx.in(0);
        if (sl.dtype() != DType::Int64 || sl.shape() != Shape{batch})
            fail(node, "sequence_lens must be int64[" + std::to_string(batch) + "], got " +
                           describe_tensor(sl));
        for (int64_t b = 0; b < batch; ++b) {
            lens[b] = sl.get_as_int64(b);
            if (lens[b] < 0 || lens[b] > t)
                fail(node, "sequence_lens[" + std::to_string(b) + "] = " + std::to_string(lens[b]) +
                               " is outside [0, " + std::to_string(t) + "]");
        }
    }
    std::vector<std::vector<Tensor>> per_batch(s.states + s.outputs);
    for (int64_t b = 0; b < batch; ++b) {
        std::vector<Tensor> st, in;
        for (const Tensor& x : states) st.push_back(take(x, 0, b));
        for (const Tensor& x : inputs) in.push_back(take(x, 0, b));
        std::vector<Tensor> r = run_scan(ctx, s, body, st, in, lens[b], t, 1);
        for (std::size_t k = 0; k < r.size(); ++k) per_batch[k].push_back(std::move(r[k]));
    }
    std::vector<Tensor> result;
    for (auto& parts : per_batch) {
        const Tensor& first = parts[0];
        result.push_back(stack(node, parts, first.dtype(), first.shape(), 0, batch));
    }
    return result;
}

OpKernel control_flow_kernel(std::function<void(InferContext&)> infer,
                             std::function<std::vector<Tensor>(const KernelContext&)> compute) {
    OpKernel k{std::move(infer), std::move(compute)};
    k.widen_half = false;
    return k;
}

XPUSIM_REGISTER_OP("If", control_flow_kernel(infer_if, compute_if));
XPUSIM_REGISTER_OP("Loop", control_flow_kernel(infer_loop, compute_loop));
XPUSIM_REGISTER_OP("Scan", control_flow_kernel(infer_scan, compute_scan));

}  // namespace
}  // namespace xpusim::frontend::ops
