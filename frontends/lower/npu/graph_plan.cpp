#include "frontends/lower/npu/graph_plan.h"

#include "frontends/lower/op_classes.h"
#include "frontends/lower/recurrent_unroll.h"
#include "frontends/onnx/passes.h"

#include <algorithm>
#include <set>

namespace xpusim::lower::npu {

namespace {

const std::set<std::string> kLutOps = {"Sigmoid",   "Tanh", "Softplus",       "Softsign",
                                       "Elu",       "Selu", "Celu",           "HardSigmoid",
                                       "HardSwish", "Erf",  "ThresholdedRelu"};
const std::set<std::string> kBinaryOps = {"Add", "Sub", "Mul", "Div", "Max", "Min"};

bool is_float_value(const Graph& g, const std::string& v) {
    return !v.empty() && sim::is_float(g.value(v).dtype);
}

NodeClass host(const std::string& why) {
    return {NodeKind::Host, why, 0};
}

std::string host_reason(const Node& n) {
    const std::string& t = n.op_type;
    if (t == "Softmax" || t == "LogSoftmax")
        return "no softmax unit (needs exp, a sum over the axis and a divide)";
    if (t == "LayerNormalization" || t == "InstanceNormalization" || t == "GroupNormalization")
        return "needs a mean and variance across elements (no such unit)";
    if (t == "Resize" || t == "Upsample")
        return "no upsampling unit (NVDLA has none; RUBIK only contracts deconvolution outputs)";
    if (t == "ConvTranspose") return "deconvolution (conv + RUBIK contract) is not modelled";
    if (t == "Transpose") return "arbitrary transposes are not supported by RUBIK/BDMA";
    if (t == "Slice")
        return "only a Slice of whole rows along the outermost axis is a contiguous BDMA copy "
               "(no strided copies)";
    if (t == "Split") return "Split is not mapped to BDMA copies";
    return t + " is not supported by the NVDLA units";
}

}  // namespace

bool leading_axis_slice(const Graph& g, const Node& n, int64_t* first_row) {
    // Opset 10+: starts, ends, axes, steps as constant inputs; one axis, the outermost, step 1.
    if (n.op_type != "Slice" || n.num_inputs() < 3) return false;
    for (std::size_t i = 1; i < n.inputs.size(); ++i)
        if (n.has_input(i) && !g.is_constant(n.inputs[i])) return false;
    const auto& in = g.value(n.inputs[0]).shape;
    const auto& out = g.value(n.outputs[0]).shape;
    if (in.empty() || in.size() != out.size()) return false;
    for (std::size_t d = 1; d < in.size(); ++d)
        if (in[d] != out[d]) return false;
    if (n.has_input(4))
        for (int64_t s : g.value(n.inputs[4]).constant->to_int64_vector())
            if (s != 1) return false;
    const auto starts = g.value(n.inputs[1]).constant->to_int64_vector();
    std::vector<int64_t> axes = {0};
    if (n.has_input(3)) axes = g.value(n.inputs[3]).constant->to_int64_vector();
    if (starts.size() != 1 || axes.size() != 1) return false;
    const int64_t axis = axes[0] < 0 ? axes[0] + static_cast<int64_t>(in.size()) : axes[0];
    if (axis != 0) return false;
    const int64_t start = starts[0] < 0 ? starts[0] + in[0] : starts[0];
    if (first_row) *first_row = std::clamp<int64_t>(start, 0, in[0]);
    return true;
}

namespace {

NodeClass classify(const Graph& g, const Node& n, const isa::npu::NpuSpec& spec) {
    const std::string& t = n.op_type;
    if (!n.outputs.empty() && !n.outputs[0].empty() && !is_float_value(g, n.outputs[0]))
        return host("integer/bool result (the NPU computes on int8-coded real values)");
    for (std::size_t i = 0; i < n.inputs.size(); ++i)
        if (!n.inputs[i].empty() && !g.is_constant(n.inputs[i]) &&
            !is_float_value(g, n.inputs[i]) && !is_view_op(n))
            return host("integer input '" + n.inputs[i] + "'");
    if (t == "Conv") {
        const auto& x = g.value(n.inputs[0]);
        if (!g.is_constant(n.inputs[1]))
            return host("weights are an activation (CMAC takes constant kernels from CBUF)");
        if (x.shape.size() != 4 && x.shape.size() != 3)
            return host("only 1-D and 2-D convolutions map to the conv pipeline");
        return {NodeKind::Conv, "", 0};
    }
    if (t == "Gemm") {
        const auto& a = g.value(n.inputs[0]);
        if (!g.is_constant(n.inputs[1]))
            return host("MatMul of two activations (CMAC needs constant weights in CBUF)");
        if (a.shape.size() != 2 || n.attr_int("transA", 0))
            return host("Gemm with a transposed or batched activation");
        if (n.has_input(2)) {
            if (!g.is_constant(n.inputs[2])) return host("Gemm bias is an activation");
            const int64_t cn = sim::shape_numel(g.value(n.inputs[2]).shape);
            const int64_t out_n = g.value(n.outputs[0]).shape.back();
            if (cn != 1 && cn != out_n) return host("Gemm bias is not per output channel");
        }
        return {NodeKind::Fc, "", 0};
    }
    if (t == "MatMul") {
        if (!g.is_constant(n.inputs[1]))
            return host("MatMul of two activations (CMAC needs constant weights in CBUF)");
        if (g.value(n.inputs[1]).shape.size() != 2 || g.value(n.inputs[0]).shape.size() < 2)
            return host("MatMul with a batched weight tensor");
        return {NodeKind::Fc, "", 0};
    }
    if (t == "BatchNormalization") {
        for (std::size_t i = 1; i < 5; ++i)
            if (!n.has_input(i) || !g.is_constant(n.inputs[i]))
                return host("BatchNormalization statistics are not constants");
        if (n.num_outputs_given() > 1) return host("training-mode BatchNormalization");
        return {NodeKind::BatchNorm, "", 0};
    }
    if (t == "Relu" || t == "LeakyRelu") return {NodeKind::Act, "", 0};
    if (t == "Clip") {
        for (std::size_t i = 1; i < 3; ++i)
            if (n.has_input(i) && !g.is_constant(n.inputs[i]))
                return host("Clip bounds are activations");
        return {NodeKind::Act, "", 0};
    }
    if (t == "PRelu") {
        const auto& x = g.value(n.inputs[0]);
        if (!g.is_constant(n.inputs[1]) ||
            !per_channel_shape(g.value(n.inputs[1]).shape, static_cast<int64_t>(x.shape.size()),
                               x.shape.size() > 1 ? x.shape[1] : 1))
            return host("PRelu slope is not a constant per channel");
        return {NodeKind::Act, "", 0};
    }
    if (kLutOps.count(t)) {
        if (!spec.sdp.lut) return host(t + " needs the SDP lookup table, absent on this chip");
        return {NodeKind::Lut, "", 0};
    }
    if (kBinaryOps.count(t)) {
        const bool c0 = g.is_constant(n.inputs[0]), c1 = g.is_constant(n.inputs[1]);
        const auto& out = g.value(n.outputs[0]).shape;
        const int64_t rank = static_cast<int64_t>(out.size());
        const int64_t ch = rank > 1 ? out[1] : 1;
        if (c0 && c1) return host("both operands are constants");
        if (c0 || c1) {
            const int main = c0 ? 1 : 0;
            if (main == 1 && (t == "Sub" || t == "Div"))
                return host("constant on the left of " + t);
            if (g.value(n.inputs[main]).shape != out) return host("the activation is broadcast");
            const auto& cs = g.value(n.inputs[1 - main]).shape;
            if (!per_channel_shape(cs, rank, ch))
                return host("constant operand is not a scalar or per channel");
            if ((t == "Max" || t == "Min") && sim::shape_numel(cs) != 1)
                return host("per-channel " + t);
            return {NodeKind::ConstOp, "", main};
        }
        if (t == "Div") return host("division by an activation (no divider in SDP)");
        if (!spec.sdp.eltwise) return host("element-wise operand reads are absent on this chip");
        const auto& s0 = g.value(n.inputs[0]).shape;
        const auto& s1 = g.value(n.inputs[1]).shape;
        for (int main = 0; main < 2; ++main) {
            const auto& ms = main ? s1 : s0;
            const auto& os = main ? s0 : s1;
            if (ms != out) continue;
            if (os == out ||
                (rank == 4 && per_channel_shape(os, rank, ch) && sim::shape_numel(os) == ch)) {
                if (main == 1 && t == "Sub") return host("Sub with the broadcast operand first");
                return {NodeKind::Eltwise, "", main};
            }
        }
        return host("operand shapes are neither equal nor a per-channel broadcast");
    }
    if (t == "MaxPool" || t == "AveragePool" || t == "GlobalAveragePool" || t == "GlobalMaxPool") {
        if (!spec.pdp.enabled) return host("no PDP on this chip");
        if (g.value(n.inputs[0]).shape.size() != 4) return host("only 2-D pooling maps to PDP");
        if (n.num_outputs_given() > 1) return host("MaxPool indices output");
        for (int64_t dl : n.attr_ints("dilations", {}))
            if (dl != 1) return host("dilated pooling");
        return {NodeKind::Pool, "", 0};
    }
    if (t == "LRN") {
        if (!spec.cdp.enabled) return host("no CDP on this chip");
        if (g.value(n.inputs[0]).shape.size() != 4) return host("LRN on a tensor that is not 4-D");
        return {NodeKind::Lrn, "", 0};
    }
    if (t == "Dropout" && n.num_outputs_given() > 1) return host("Dropout mask output");
    if (is_view_op(n)) return {NodeKind::View, "", 0};
    if (t == "Slice") {
        if (!spec.bdma.enabled) return host("Slice needs a BDMA copy, absent on this chip");
        if (!leading_axis_slice(g, n)) return host(host_reason(n));
        return {NodeKind::RowSlice, "", 0};
    }
    if (t == "Concat") {
        const auto& out = g.value(n.outputs[0]).shape;
        int64_t axis = n.attr_int("axis", 0);
        if (axis < 0) axis += static_cast<int64_t>(out.size());
        if (axis != 1 || (out.size() != 4 && out.size() != 2))
            return host("concat along an axis other than channels");
        for (const auto& in : n.inputs)
            if (g.is_constant(in)) return host("concat of a constant");
        return {NodeKind::Concat, "", 0};
    }
    if (const std::string why = recurrent_kept_reason(g, n); !why.empty())
        return host("not unrolled into per-step FC and SDP layers: " + why);
    return host(host_reason(n));
}

}  // namespace

bool chain_input_ok(const Graph& g, const Node& n, const NodeClass& c, const std::string& v) {
    if (n.inputs[static_cast<std::size_t>(c.main_input)] == v)
        return c.kind != NodeKind::Eltwise || n.inputs[0] != n.inputs[1];
    // A commutative op of two equal-shape activations may take the chain on either side.
    if (c.kind != NodeKind::Eltwise || n.op_type == "Sub" || n.inputs[0] == n.inputs[1])
        return false;
    return (n.inputs[0] == v || n.inputs[1] == v) &&
           g.value(n.inputs[0]).shape == g.value(n.inputs[1]).shape;
}

namespace {

bool is_sdp_op(NodeKind k) {
    return k == NodeKind::Act || k == NodeKind::Lut || k == NodeKind::Eltwise ||
           k == NodeKind::ConstOp;
}

}  // namespace

bool per_channel_shape(const sim::Shape& shape, int64_t rank, int64_t c) {
    const int64_t numel = sim::shape_numel(shape);
    if (numel == 1) return true;
    if (numel != c || static_cast<int64_t>(shape.size()) > rank) return false;
    // Right-aligned against [N, C, H, W]: C must land on axis 1.
    const int64_t offset = rank - static_cast<int64_t>(shape.size());
    for (std::size_t i = 0; i < shape.size(); ++i) {
        const int64_t axis = offset + static_cast<int64_t>(i);
        if (shape[i] != (axis == 1 ? c : 1)) return false;
    }
    return true;
}

std::pair<int64_t, int64_t> layout_of(const sim::Shape& shape, bool channel_last) {
    if (shape.size() < 2) return {1, shape.empty() ? 1 : shape[0]};
    const int64_t c = channel_last ? shape.back() : shape[1];
    return {sim::shape_numel(shape) / std::max<int64_t>(c, 1), c};
}

GraphPlan plan_graph(const Graph& g, const isa::npu::NpuSpec& spec) {
    GraphPlan plan;
    const int n = static_cast<int>(g.nodes.size());
    plan.classes.resize(static_cast<std::size_t>(n));
    plan.group_of.assign(static_cast<std::size_t>(n), -1);
    for (int i = 0; i < n; ++i) {
        const Node& node = g.nodes[static_cast<std::size_t>(i)];
        plan.classes[static_cast<std::size_t>(i)] = classify(g, node, spec);
        for (const auto& o : node.outputs)
            if (!o.empty()) plan.producer[o] = i;
        for (const auto& in : node.inputs)
            if (!in.empty() && !g.is_constant(in)) plan.consumers[in].push_back(i);
    }
    const frontend::ValueReaders readers(g);
    auto produced_before = [&](const std::string& v, int start) {
        if (g.is_constant(v)) return true;
        auto it = plan.producer.find(v);
        return it == plan.producer.end() || it->second < start;
    };

    for (int i = 0; i < n; ++i) {
        if (plan.group_of[static_cast<std::size_t>(i)] >= 0) continue;
        const NodeClass& cls = plan.classes[static_cast<std::size_t>(i)];
        Group grp;
        grp.nodes.push_back(i);
        switch (cls.kind) {
            case NodeKind::Conv:
            case NodeKind::Fc:
                grp.kind = GroupKind::Conv;
                break;
            case NodeKind::BatchNorm:
            case NodeKind::Act:
            case NodeKind::Lut:
            case NodeKind::Eltwise:
            case NodeKind::ConstOp:
                grp.kind = GroupKind::Sdp;
                break;
            case NodeKind::Pool:
                grp.kind = GroupKind::Pdp;
                break;
            case NodeKind::Lrn:
                grp.kind = GroupKind::Cdp;
                break;
            case NodeKind::View:
                grp.kind = GroupKind::View;
                break;
            case NodeKind::Concat:
                grp.kind = GroupKind::Concat;
                break;
            case NodeKind::RowSlice:
                grp.kind = GroupKind::Bdma;
                break;
            case NodeKind::Host:
                grp.kind = GroupKind::Host;
                break;
        }
        // The fusion chain after the group's first node: take SDP ops while the stages last
        // (one LUT at most, operands already in memory), then at most one pooling.
        if ((grp.kind == GroupKind::Conv || grp.kind == GroupKind::Sdp) && spec.lower.fuse) {
            int stages = cls.kind == NodeKind::BatchNorm ? 2 : (grp.kind == GroupKind::Sdp ? 1 : 0);
            bool lut = cls.kind == NodeKind::Lut;
            std::string v = g.nodes[static_cast<std::size_t>(i)].outputs[0];
            for (std::size_t follower :
                 frontend::follower_chain(g, readers, static_cast<std::size_t>(i)).followers) {
                const int j = static_cast<int>(follower);
                const Node& nj = g.nodes[follower];
                const NodeClass& cj = plan.classes[follower];
                if (cj.kind == NodeKind::Pool) {
                    grp.nodes.push_back(j);
                    break;
                }
                if (!is_sdp_op(cj.kind) && cj.kind != NodeKind::BatchNorm) break;
                if (!chain_input_ok(g, nj, cj, v)) break;
                const int cost = cj.kind == NodeKind::BatchNorm ? 2 : 1;
                if (stages + cost > spec.sdp.max_stages || (lut && cj.kind == NodeKind::Lut)) break;
                bool ready = true;
                for (const auto& in : nj.inputs)
                    if (!in.empty() && in != v && !produced_before(in, i)) ready = false;
                if (!ready) break;
                stages += cost;
                lut = lut || cj.kind == NodeKind::Lut;
                grp.nodes.push_back(j);
                v = nj.outputs[0];
            }
        }
        const Node& last = g.nodes[static_cast<std::size_t>(grp.nodes.back())];
        grp.output = last.outputs.empty() ? "" : last.outputs[0];
        const int id = static_cast<int>(plan.groups.size());
        for (int j : grp.nodes) plan.group_of[static_cast<std::size_t>(j)] = id;
        plan.groups.push_back(std::move(grp));
    }
    return plan;
}

}  // namespace xpusim::lower::npu
