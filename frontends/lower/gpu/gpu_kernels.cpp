// The kernel templates PyTorch launches for everything that is not a GEMM (ATen's CUDA kernels,
// aten/src/ATen/native/cuda; cuDNN for BatchNorm in inference):
//   element-wise (vectorized_elementwise_kernel): 128 threads, 8 elements a thread (16 when
//       every operand is one byte), vectors of 16 B; one pass: each input read, the output
//       written once; transcendental ops on the SFU
//   BatchNormalization (cudnn bn_fw_inf): a per-channel affine, one pass
//   Softmax over the last axis: a warp per row (softmax_warp_forward) when the row has at most
//       1024 elements and 4096 bytes, else a block per row (cunn_SoftMaxForward), which reads
//       the row again when it does not fit in shared memory
//   LayerNormalization (vectorized_layer_norm_kernel): a block of 128 threads per row, two
//       passes over the row (moments, then normalize; the second from L2)
//   pooling: a thread per output reading its window; global pooling and reductions one read
//   data movement (Transpose, Concat, Slice, Gather, Pad, ...): a copy kernel
//   anything else: a generic SIMT kernel costed by the op's FLOPs and bytes
// (host_fallback.h's formulas). Views (Reshape and its kin) launch nothing.
#include <algorithm>
#include <cmath>
#include <optional>
#include <set>

#include "frontends/lower/gpu/gpu_lowering.h"
#include "frontends/lower/host_fallback.h"
#include "frontends/lower/op_classes.h"

namespace xpusim::lower::gpu {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

bool transcendental(const std::string& op) {
    static const std::set<std::string> ops = {"Sigmoid", "Tanh", "Erf", "Exp", "Log", "Sqrt", "Reciprocal", "Pow",
                                              "Sin", "Cos", "Elu", "Selu", "Celu", "Gelu", "Mish", "Softplus",
                                              "Softsign", "Div", "HardSwish"};
    return ops.count(op) != 0;
}

struct Streams {
    std::vector<std::pair<int, uint64_t>> reads, writes;  // buffer, bytes
    uint64_t read_bytes() const {
        uint64_t b = 0;
        for (const auto& r : reads) b += r.second;
        return b;
    }
    uint64_t write_bytes() const {
        uint64_t b = 0;
        for (const auto& w : writes) b += w.second;
        return b;
    }
};

Streams streams_of(GpuLowering& L, const Node& n) {
    Streams s;
    for (const auto& i : n.inputs)
        if (!i.empty() && !L.graph.is_constant(i)) s.reads.push_back({L.buffer(i), L.bytes_of(i)});
    for (const auto& o : n.outputs)
        if (!o.empty()) s.writes.push_back({L.buffer(o), L.bytes_of(o)});
    return s;
}

// A one-pass streaming kernel over `elements` outputs: reads and writes spread over the CTAs,
// `reread` extra passes over the reads (L2 hits), `ops` FP32 ops and `sfu` SFU ops per element.
void streaming_kernel(GpuLowering& L, const Node& n, const std::string& name, const Streams& s, int64_t elements,
                      int64_t threads, int64_t per_thread, double ops, double sfu, double reread = 0) {
    Kernel& k = L.add_kernel(name, {n.name});
    const int64_t per_cta = threads * per_thread;
    k.threads = threads;
    k.grid = std::max<int64_t>(1, ceil_div(std::max<int64_t>(1, elements), per_cta));
    k.registers = 32;
    k.dtype = L.spec.precision;
    k.flops = ops * static_cast<double>(elements);
    const double g = static_cast<double>(k.grid);
    k.cta.iterations = 1;
    for (const auto& [b, bytes] : s.reads)
        k.cta.body.push_back({Op::LdGlobal, 1, static_cast<int64_t>(std::ceil(static_cast<double>(bytes) * (1 + reread) / g)), 0, 0, 0, b});
    if (ops > 0) k.cta.body.push_back({Op::Ffma, static_cast<int64_t>(std::ceil(ops * static_cast<double>(per_cta))), 0, 0, 0, 0, -1});
    if (sfu > 0) k.cta.body.push_back({Op::Sfu, static_cast<int64_t>(std::ceil(sfu * static_cast<double>(per_cta))), 0, 0, 0, 0, -1});
    for (const auto& [b, bytes] : s.writes)
        k.cta.body.push_back({Op::StGlobal, 1, static_cast<int64_t>(std::ceil(static_cast<double>(bytes) / g)), 0, 0, 0, b});
    // Each thread keeps one 16-byte vector of every operand in flight.
    k.bytes_in_flight = threads * 16 * static_cast<int64_t>(std::max<std::size_t>(1, s.reads.size()));
    for (const auto& [b, bytes] : s.reads)
        k.args.push_back({b, bytes, static_cast<uint64_t>(static_cast<double>(bytes) * (1 + reread)), false});
    for (const auto& [b, bytes] : s.writes) k.args.push_back({b, bytes, bytes, true});
}

int64_t elements_of(const GpuLowering& L, const std::string& v) {
    const auto& s = L.graph.value(v).shape;
    return sim::shape_numel(s);
}

// The value of a scalar constant operand, if `value` is one.
std::optional<double> scalar_constant(const GpuLowering& L, const std::string& value) {
    if (!L.graph.is_constant(value) || L.graph.value(value).constant->numel() != 1) return std::nullopt;
    return L.graph.value(value).constant->get_as_double(0);
}

// The operand of binary node `n` that is not `value`.
const std::string& other_operand(const Node& n, const std::string& value) {
    return n.inputs[0] == value ? n.inputs[1] : n.inputs[0];
}

}  // namespace

std::vector<const Node*> match_gelu(const GpuLowering& L, const Node& head) {
    const bool div = head.op_type == "Div", mul = head.op_type == "Mul";
    if ((!div && !mul) || head.inputs.size() != 2) return {};
    const auto c = scalar_constant(L, head.inputs[1]);
    const std::string& x = head.inputs[0];
    if (!c || L.graph.is_constant(x) || std::fabs(div ? *c - std::sqrt(2.0) : *c - std::sqrt(0.5)) > 1e-3) return {};
    const auto chain = frontend::follower_chain(L.graph, L.readers, L.index_of(head), 4).followers;
    if (chain.size() != 4) return {};
    std::vector<const Node*> nodes = {&head};
    for (std::size_t at : chain) nodes.push_back(&L.graph.nodes[at]);
    const Node& erf = *nodes[1];
    const Node& add = *nodes[2];
    if (erf.op_type != "Erf" || add.op_type != "Add" || scalar_constant(L, other_operand(add, erf.outputs[0])) != 1.0)
        return {};
    // Then x 0.5 and x x, in either order.
    bool half = false, times_x = false;
    for (std::size_t i = 3; i < 5; ++i) {
        const Node& m = *nodes[i];
        if (m.op_type != "Mul" || m.inputs.size() != 2) return {};
        const std::string& other = other_operand(m, nodes[i - 1]->outputs[0]);
        if (!half && scalar_constant(L, other) == 0.5)
            half = true;
        else if (!times_x && other == x)
            times_x = true;
        else
            return {};
    }
    return nodes;
}

void fold_gelu(GpuLowering& L) {
    for (const Node& n : L.graph.nodes) {
        const auto nodes = match_gelu(L, n);
        for (std::size_t i = 1; i < nodes.size(); ++i) L.fused_nodes.insert(nodes[i]->name);
    }
}

void add_layout_transpose(GpuLowering& L, const Node& node, const std::string& value, const std::string& name) {
    Streams s;
    const int b = L.buffer(value);
    s.reads.push_back({b, L.bytes_of(value)});
    s.writes.push_back({b, L.bytes_of(value)});
    const int64_t elems = elements_of(L, value);
    Kernel& k = L.add_kernel(name, {node.name});
    k.threads = 256;
    k.grid = std::max<int64_t>(1, ceil_div(elems, 256 * 4));
    k.registers = 32;
    k.dtype = L.spec.precision;
    k.bytes_in_flight = 256 * 16;
    k.cta.iterations = 1;
    const double g = static_cast<double>(k.grid);
    const int64_t per = static_cast<int64_t>(std::ceil(static_cast<double>(L.bytes_of(value)) / g));
    k.cta.body = {{Op::LdGlobal, 1, per, 0, 0, 0, b}, {Op::StShared, 1, per, 0, 0, 0, -1}, {Op::BarSync, 1, 0, 0, 0, 0, -1},
                  {Op::LdShared, 1, per, 0, 0, 0, -1}, {Op::StGlobal, 1, per, 0, 0, 0, b}};
    k.args = {{b, L.bytes_of(value), L.bytes_of(value), false}, {b, L.bytes_of(value), L.bytes_of(value), true}};
    if (L.numerics) L.program.functions[k.id] = nullptr;  // a layout change: the values stay
}

void lower_simt_node(GpuLowering& L, const Node& n) {
    if (const auto gelu = match_gelu(L, n); !gelu.empty()) {
        // One element-wise kernel (ATen's GeluCUDAKernelImpl) reading x, writing the product:
        // the decomposition's vector ops per element, one of them on the SFU (erf).
        Streams s;
        const std::string& x = n.inputs[0];
        const std::string& y = gelu.back()->outputs[0];
        s.reads.push_back({L.buffer(x), L.bytes_of(x)});
        s.writes.push_back({L.buffer(y), L.bytes_of(y)});
        double ops = 0;
        std::vector<std::string> names;
        for (const Node* g : gelu) ops += static_cast<double>(vector_ops_per_element(g->op_type).value_or(1));
        streaming_kernel(L, n, "vectorized_elementwise_kernel", s, elements_of(L, y), 128, 8, ops, 1);
        const int kid = static_cast<int>(L.program.kernels.size()) - 1;
        for (const Node* g : gelu) names.push_back(g->name);
        L.program.kernels.back().nodes = names;
        L.place(n, sim::Placement::Native, "sm", "GELU (erf form) as one element-wise kernel, as F.gelu");
        for (std::size_t i = 1; i < gelu.size(); ++i)
            L.place(*gelu[i], sim::Placement::Lowered, "sm", "fused into " + n.name + "'s GELU kernel");
        if (L.numerics) bind_group(L, kid, gelu);
        return;
    }
    const std::string& t = n.op_type;
    const Streams s = streams_of(L, n);
    const int64_t out_elems = n.outputs.empty() || n.outputs[0].empty() ? 0 : elements_of(L, n.outputs[0]);
    const int64_t eb = L.element_bytes();
    std::string name, reason;
    const auto ops = vector_ops_per_element(t);
    int kid = -1;
    if (t == "BatchNormalization") {
        streaming_kernel(L, n, L.spec.nhwc() ? "cudnn_bn_fw_inf_nhwc" : "cudnn_bn_fw_inf_nchw", s, out_elems, 128, 8, 2, 0);
        reason = "inference BatchNorm as a per-channel affine (pytorch_eager does not fold it)";
    } else if (t == "Softmax" || t == "LogSoftmax") {
        const auto& shape = L.graph.value(n.inputs[0]).shape;
        int64_t axis = n.attr_int("axis", -1);
        if (axis < 0) axis += static_cast<int64_t>(shape.size());
        int64_t dim = 1;
        for (std::size_t i = static_cast<std::size_t>(axis); i < shape.size(); ++i) dim *= shape[i];
        const int64_t rows = std::max<int64_t>(1, out_elems / std::max<int64_t>(1, dim));
        if (dim <= 1024 && dim * eb <= 4096) {
            // softmax_warp_forward: a warp per row (two rows per warp up to 128), 4 warps a block.
            const int64_t rows_per_block = 4 * (dim <= 128 ? 2 : 1);
            Kernel& k = L.add_kernel("softmax_warp_forward", {n.name});
            kid = k.id;
            k.threads = 128;
            k.grid = ceil_div(rows, rows_per_block);
            k.registers = 40;
            k.dtype = L.spec.precision;
            k.flops = 5.0 * static_cast<double>(out_elems);
            const int64_t per = rows_per_block * dim * eb;
            k.cta.iterations = 1;
            k.cta.body = {{Op::LdGlobal, 1, per, 0, 0, 0, s.reads[0].first},
                          {Op::Ffma, 4 * rows_per_block * dim, 0, 0, 0, 0, -1},
                          {Op::Sfu, rows_per_block * dim, 0, 0, 0, 0, -1},
                          {Op::Shfl, rows_per_block * 32 * 10, 0, 0, 0, 0, -1},
                          {Op::StGlobal, 1, per, 0, 0, 0, s.writes[0].first}};
            k.bytes_in_flight = per;
            k.args = {{s.reads[0].first, s.reads[0].second, s.reads[0].second, false},
                      {s.writes[0].first, s.writes[0].second, s.writes[0].second, true}};
        } else {
            const int64_t threads = std::clamp<int64_t>(int64_t{1} << static_cast<int>(std::ceil(std::log2(std::max<double>(32, static_cast<double>(dim) / (16 / eb) / 2)))), 32, 1024);
            const bool fits = dim * eb <= 48 * 1024;
            Kernel& k = L.add_kernel(fits ? "cunn_softmax_forward_smem" : "cunn_softmax_forward", {n.name});
            kid = k.id;
            k.threads = threads;
            k.grid = rows;
            k.registers = 40;
            k.smem_bytes = fits ? dim * eb : 0;
            k.dtype = L.spec.precision;
            k.flops = 5.0 * static_cast<double>(out_elems);
            const int64_t per = dim * eb;
            k.cta.iterations = 1;
            k.cta.body = {{Op::LdGlobal, fits ? 1 : 2, per, 0, 0, 0, s.reads[0].first},
                          {Op::Ffma, 4 * dim, 0, 0, 0, 0, -1},
                          {Op::Sfu, dim, 0, 0, 0, 0, -1},
                          {Op::BarSync, 4, 0, 0, 0, 0, -1},
                          {Op::StGlobal, 1, per, 0, 0, 0, s.writes[0].first}};
            k.bytes_in_flight = threads * 16;
            k.args = {{s.reads[0].first, s.reads[0].second, s.reads[0].second * (fits ? 1 : 2), false},
                      {s.writes[0].first, s.writes[0].second, s.writes[0].second, true}};
        }
    } else if (t == "LayerNormalization" || t == "SimplifiedLayerNormalization" || t == "RMSNormalization") {
        const auto& shape = L.graph.value(n.inputs[0]).shape;
        int64_t axis = n.attr_int("axis", -1);
        if (axis < 0) axis += static_cast<int64_t>(shape.size());
        int64_t dim = 1;
        for (std::size_t i = static_cast<std::size_t>(axis); i < shape.size(); ++i) dim *= shape[i];
        const int64_t rows = std::max<int64_t>(1, out_elems / std::max<int64_t>(1, dim));
        Kernel& k = L.add_kernel("vectorized_layer_norm_kernel", {n.name});
        kid = k.id;
        k.threads = 128;
        k.grid = rows;
        k.registers = 48;
        k.smem_bytes = 128 / 32 * 3 / 2 * 4;
        k.dtype = L.spec.precision;
        k.flops = 8.0 * static_cast<double>(out_elems);
        const int64_t per = dim * eb;
        k.cta.iterations = 1;
        k.cta.body = {{Op::LdGlobal, 2, per, 0, 0, 0, s.reads[0].first},  // moments, then normalize
                      {Op::Ffma, 6 * dim, 0, 0, 0, 0, -1},
                      {Op::Sfu, 1, 0, 0, 0, 0, -1},
                      {Op::Shfl, 2 * 32 * 5, 0, 0, 0, 0, -1},
                      {Op::BarSync, 2, 0, 0, 0, 0, -1},
                      {Op::StGlobal, 1, per, 0, 0, 0, s.writes[0].first}};
        k.bytes_in_flight = 128 * 16;
        k.args = {{s.reads[0].first, s.reads[0].second, 2 * s.reads[0].second, false},
                  {s.writes[0].first, s.writes[0].second, s.writes[0].second, true}};
        for (std::size_t i = 1; i < s.reads.size(); ++i) k.args.push_back({s.reads[i].first, s.reads[i].second, s.reads[i].second, false});
    } else if (t == "MaxPool" || t == "AveragePool" || t == "LpPool") {
        const auto kernel = n.attr_ints("kernel_shape");
        const auto strides = n.attr_ints("strides", std::vector<int64_t>(kernel.size(), 1));
        double window = 1, stride = 1;
        for (auto v : kernel) window *= static_cast<double>(v);
        for (auto v : strides) stride *= static_cast<double>(v);
        // Threads read their windows; neighbours share them through L1, so the L2 sees the input
        // window / stride^2 times.
        streaming_kernel(L, n, L.spec.nhwc() ? "maxpool_nhwc" : "max_pool_forward_nchw", s, out_elems, 256, 1, window, 0,
                         std::max(0.0, window / stride - 1));
    } else if (t == "GlobalAveragePool" || t == "GlobalMaxPool" || t.rfind("Reduce", 0) == 0 || t == "ArgMax" || t == "ArgMin") {
        const int64_t in_elems = elements_of(L, n.inputs[0]);
        streaming_kernel(L, n, "reduce_kernel", s, std::max<int64_t>(1, in_elems), 512, 4, 1, 0);
    } else if (is_data_movement(t) || t == "Resize" || t == "Upsample") {
        streaming_kernel(L, n, t == "Concat" ? "cat_array_batched_copy" : t == "Transpose" ? "transpose_copy" : "copy_kernel", s,
                         out_elems, 128, 4, 0, 0);
    } else if (ops) {
        const int64_t per_thread = (s.read_bytes() + s.write_bytes()) > 0 && eb == 1 ? 16 : 8;
        streaming_kernel(L, n, "vectorized_elementwise_kernel", s, out_elems, 128, per_thread,
                         static_cast<double>(*ops), transcendental(t) ? 1 : 0);
    } else {
        const sim::HostCost cost = host_cost(L.graph, n);
        const int64_t threads = 256;
        Kernel& k = L.add_kernel("simt_" + t, {n.name});
        kid = k.id;
        k.threads = threads;
        k.grid = std::max<int64_t>(1, ceil_div(std::max<int64_t>(1, out_elems), threads * 4));
        k.registers = 64;
        k.dtype = L.spec.precision;
        k.flops = cost.flops;
        const double g = static_cast<double>(k.grid);
        k.cta.iterations = 1;
        for (const auto& [b, bytes] : s.reads) k.cta.body.push_back({Op::LdGlobal, 1, static_cast<int64_t>(std::ceil(static_cast<double>(bytes) / g)), 0, 0, 0, b});
        k.cta.body.push_back({Op::Ffma, static_cast<int64_t>(std::ceil(cost.flops / 2 / g)), 0, 0, 0, 0, -1});
        for (const auto& [b, bytes] : s.writes) k.cta.body.push_back({Op::StGlobal, 1, static_cast<int64_t>(std::ceil(static_cast<double>(bytes) / g)), 0, 0, 0, b});
        k.bytes_in_flight = threads * 16;
        for (const auto& [b, bytes] : s.reads) k.args.push_back({b, bytes, bytes, false});
        for (const auto& [b, bytes] : s.writes) k.args.push_back({b, bytes, bytes, true});
        reason = "generic SIMT kernel costed from the op's FLOPs and bytes";
    }
    if (kid < 0) kid = static_cast<int>(L.program.kernels.size()) - 1;
    L.place(n, sim::Placement::Native, "sm", reason);
    if (L.numerics) L.program.functions[kid] = node_function(L, n);
}

}  // namespace xpusim::lower::gpu
