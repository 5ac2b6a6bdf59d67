// Conv, Gemm and MatMul onto the MXUs. Each becomes one GEMM layer, per group (and per batch
// element of a MatMul of two activations)
//   out (M x N) = act(in (M x K) * W (K x N) + bias)
// where a convolution's M = N * P * Q rows are the im2col rows of all its images.
// along the node's fusion chain (frontend::follower_chain): a MatMul's constant per-column Add
// becomes its bias, and a following Relu or Clip is fused into the Activate step that drains
// the accumulators. (BatchNormalization was already folded into Conv and Gemm weights by the
// graph pass frontend::fold_batchnorm.)
#include <cmath>

#include "frontends/lower/tpu/tpu_lowering.h"
#include "sim/tensor/numeric_formats.h"

namespace xpusim::lower::tpu {
namespace {

const sim::Tensor* constant(const TpuLowering& L, const Node& n, std::size_t i) {
    if (!n.has_input(i)) return nullptr;
    const auto& v = L.graph.value(n.inputs[i]);
    return v.constant ? &*v.constant : nullptr;
}

std::vector<float> as_floats(const sim::Tensor& t) {
    const sim::Tensor f = t.dtype() == sim::DType::Float32 ? t : t.cast(sim::DType::Float32);
    return std::vector<float>(f.data<float>(), f.data<float>() + f.numel());
}

// Quantizes or rounds W (per group K x N, row-major) into the MXU's format.
void encode_weights(const TpuSpec& spec, WeightImage& img, int64_t N) {
    if (spec.mxu.precision == MxuPrecision::BFloat16) {
        for (auto& w : img.per_group)
            sim::round_to_format(w.data(), static_cast<long>(w.size()),
                                 sim::NumericFormat::BFloat16);
        img.scales = {1.0f};
        return;
    }
    // Symmetric int8: one scale per output column (channel) or one for the whole tensor.
    const int64_t groups = static_cast<int64_t>(img.per_group.size());
    std::vector<float> absmax(static_cast<std::size_t>(groups * N), 0.0f);
    for (int64_t g = 0; g < groups; ++g) {
        const auto& w = img.per_group[g];
        const int64_t K = static_cast<int64_t>(w.size()) / N;
        for (int64_t k = 0; k < K; ++k)
            for (int64_t n = 0; n < N; ++n)
                absmax[g * N + n] = std::max(absmax[g * N + n], std::fabs(w[k * N + n]));
    }
    if (!spec.quant.per_channel) {
        float all = 0;
        for (float a : absmax) all = std::max(all, a);
        std::fill(absmax.begin(), absmax.end(), all);
    }
    img.scales.resize(absmax.size());
    for (std::size_t i = 0; i < absmax.size(); ++i) img.scales[i] = symmetric_scale(absmax[i]);
    for (int64_t g = 0; g < groups; ++g) {
        auto& w = img.per_group[g];
        const int64_t K = static_cast<int64_t>(w.size()) / N;
        for (int64_t k = 0; k < K; ++k)
            for (int64_t n = 0; n < N; ++n)
                w[k * N + n] = sim::quantize_int8(w[k * N + n], {img.scales[g * N + n], 0});
    }
}

// Fuses the epilogue of `head`'s fusion chain into the layer: with `bias_add`, a first Add of a
// constant per-column vector of N becomes the bias; then a Relu or a Clip with constant bounds
// becomes the Activate function. Returns the graph value the layer finally writes.
std::string fuse_epilogue(TpuLowering& L, Layer& layer, const Node& head, int64_t N, bool bias_add,
                          std::vector<float>& bias) {
    std::string value = head.outputs[0];
    const auto chain = frontend::follower_chain(L.graph, L.readers, L.index_of(head), 2).followers;
    std::size_t at = 0;
    auto next = [&]() -> const Node* {
        return at < chain.size() ? &L.graph.nodes[chain[at]] : nullptr;
    };
    if (const Node* add = next(); bias_add && add && add->op_type == "Add") {
        const int other = add->inputs[0] == value ? 1 : 0;
        const sim::Tensor* c = constant(L, *add, static_cast<std::size_t>(other));
        if (c && c->numel() == N && c->shape().back() == N) {
            const auto cv = as_floats(*c);
            std::copy(cv.begin(), cv.end(), bias.begin());
            layer.fused.push_back({add->name, add->op_type, "bias of " + layer.name});
            L.fused_nodes.insert(add->name);
            value = add->outputs[0];
            ++at;
        }
    }
    const Node* act = next();
    if (act && act->op_type == "Relu") {
        layer.gemm.act = ActivationFn::Relu;
    } else if (act && act->op_type == "Clip") {
        float lo = -INFINITY, hi = INFINITY;
        if (L.graph.opset < 11) {
            lo = static_cast<float>(act->attr_float("min", -3.4e38));
            hi = static_cast<float>(act->attr_float("max", 3.4e38));
        } else {
            const sim::Tensor* a = constant(L, *act, 1);
            const sim::Tensor* b = constant(L, *act, 2);
            if ((act->has_input(1) && !a) || (act->has_input(2) && !b)) return value;
            if (a) lo = static_cast<float>(a->get_as_double(0));
            if (b) hi = static_cast<float>(b->get_as_double(0));
        }
        layer.gemm.act = ActivationFn::Clip;
        layer.gemm.clip_lo = lo;
        layer.gemm.clip_hi = hi;
    } else {
        return value;
    }
    layer.fused.push_back({act->name, act->op_type, "fused into " + layer.name + "'s Activate"});
    L.fused_nodes.insert(act->name);
    return act->outputs[0];
}

// The number of groups that share one fold when each group's K x N block is much smaller than
// the array (depthwise convolutions): block-diagonal packing.
int64_t pack_factor(const TpuSpec& spec, int64_t groups, int64_t K, int64_t N) {
    if (groups == 1) return 1;
    return std::max<int64_t>(1, std::min({groups, spec.mxu.rows / std::max<int64_t>(K, 1),
                                          spec.mxu.cols / std::max<int64_t>(N, 1)}));
}

bool lower_conv(TpuLowering& L, const Node& n, std::string& why) {
    const sim::Tensor* w = constant(L, n, 1);
    const auto& xv = L.graph.value(n.inputs[0]);
    const auto& yv = L.graph.value(n.outputs[0]);
    if (!w) return why = "weights are not constant", false;
    if (!xv.shape_known || !yv.shape_known) return why = "shape unknown at load time", false;
    if (xv.shape.size() != 4 && xv.shape.size() != 3)
        return why = "only 1-D and 2-D convolutions map to the MXU", false;
    if (n.has_input(2) && !constant(L, n, 2)) return why = "bias is not constant", false;
    const bool one_d = xv.shape.size() == 3;
    sim::Conv2dShape c;
    c.batch = xv.shape[0];
    c.in_channels = xv.shape[1];
    c.in_h = one_d ? 1 : xv.shape[2];
    c.in_w = xv.shape.back();
    c.out_channels = w->dim(0);
    c.kernel_h = one_d ? 1 : w->dim(2);
    c.kernel_w = w->shape().back();
    c.group = n.attr_int("group", 1);
    const auto strides = n.attr_ints("strides", std::vector<int64_t>(one_d ? 1 : 2, 1));
    const auto dil = n.attr_ints("dilations", std::vector<int64_t>(one_d ? 1 : 2, 1));
    c.stride_h = one_d ? 1 : strides[0];
    c.stride_w = strides.back();
    c.dilation_h = one_d ? 1 : dil[0];
    c.dilation_w = dil.back();
    // Padding from the inferred output size, so every auto_pad mode is covered:
    //   total = (out - 1) * stride + dilation * (kernel - 1) + 1 - in
    const int64_t out_h = one_d ? 1 : yv.shape[2], out_w = yv.shape.back();
    const std::string auto_pad = n.attr_string("auto_pad", "NOTSET");
    auto split = [&](int64_t in, int64_t out, int64_t k, int64_t s, int64_t d, int64_t axis,
                     int64_t rank, int64_t& begin, int64_t& end) {
        if (auto_pad == "NOTSET" || auto_pad.empty()) {
            const auto pads = n.attr_ints("pads", std::vector<int64_t>(2 * rank, 0));
            begin = pads[axis];
            end = pads[axis + rank];
            return;
        }
        const int64_t total = std::max<int64_t>(0, (out - 1) * s + d * (k - 1) + 1 - in);
        begin = auto_pad == "SAME_LOWER" ? total - total / 2 : total / 2;
        end = total - begin;
    };
    const int64_t rank = one_d ? 1 : 2;
    if (!one_d)
        split(c.in_h, out_h, c.kernel_h, c.stride_h, c.dilation_h, 0, rank, c.pad_top,
              c.pad_bottom);
    split(c.in_w, out_w, c.kernel_w, c.stride_w, c.dilation_w, rank - 1, rank, c.pad_left,
          c.pad_right);
    if (c.out_h() != out_h || c.out_w() != out_w) return why = "unsupported padding", false;

    Layer& layer = L.add_layer(n, Layer::Kind::Mxu, "mxu", sim::Placement::Native, "");
    GemmLayer& g = layer.gemm;
    g.is_conv = true;
    g.conv = c;
    // The batch folds into M: the im2col rows of every image stream through each weight tile,
    // so a tile fetched once serves N * P * Q rows (the reuse Jouppi et al.'s batching rests on).
    g.batch = 1;
    g.groups = c.group;
    g.M = c.batch * c.gemm_m();
    g.K = c.gemm_k();
    g.N = c.gemm_n();
    g.pack = pack_factor(L.spec, g.groups, g.K, g.N);
    layer.macs = c.macs();
    layer.inputs = {L.buffer(n.inputs[0])};

    const int64_t N = g.N, K = g.K, channels = c.out_channels;
    std::vector<float> bias(static_cast<std::size_t>(channels), 0.0f);
    if (n.has_input(2)) bias = as_floats(*constant(L, n, 2));
    const std::string out = fuse_epilogue(L, layer, n, channels, false, bias);
    layer.outputs = {L.buffer(out)};
    if (!L.numerics) return true;
    // W_g[k = (c, r, s), n] = w[g * N + n, c, r, s]
    const auto wf = as_floats(*w);
    WeightImage img;
    img.per_group.assign(static_cast<std::size_t>(g.groups),
                         std::vector<float>(static_cast<std::size_t>(K * N)));
    for (int64_t gi = 0; gi < g.groups; ++gi)
        for (int64_t nn = 0; nn < N; ++nn)
            for (int64_t k = 0; k < K; ++k)
                img.per_group[gi][k * N + nn] = wf[(gi * N + nn) * K + k];
    img.bias = bias;
    encode_weights(L.spec, img, N);
    L.program.weights[layer.id] = std::move(img);
    return true;
}

bool lower_gemm(TpuLowering& L, const Node& n, std::string& why) {
    const sim::Tensor* b = constant(L, n, 1);
    const auto& av = L.graph.value(n.inputs[0]);
    if (!b) return why = "B is not constant", false;
    if (n.attr_int("transA", 0) != 0)
        return why = "transA=1 needs a transpose the MXU does not do", false;
    if (!av.shape_known || av.shape.size() != 2)
        return why = "A must be a 2-D tensor of known shape", false;
    const bool trans_b = n.attr_int("transB", 0) != 0;
    const int64_t M = av.shape[0], K = av.shape[1], N = trans_b ? b->dim(0) : b->dim(1);
    const float alpha = static_cast<float>(n.attr_float("alpha", 1.0));
    const float beta = static_cast<float>(n.attr_float("beta", 1.0));
    std::vector<float> bias(static_cast<std::size_t>(N), 0.0f);
    if (n.has_input(2)) {
        const sim::Tensor* cst = constant(L, n, 2);
        if (!cst) return why = "C is not constant", false;
        const auto cv = as_floats(*cst);
        if (cst->numel() == 1)
            std::fill(bias.begin(), bias.end(), beta * cv[0]);
        else if (cst->numel() == N)
            for (int64_t i = 0; i < N; ++i) bias[i] = beta * cv[i];
        else
            return why = "C is not a per-column bias", false;
    }
    Layer& layer = L.add_layer(n, Layer::Kind::Mxu, "mxu", sim::Placement::Native, "");
    GemmLayer& g = layer.gemm;
    g.M = M;
    g.K = K;
    g.N = N;
    layer.macs = static_cast<uint64_t>(M * K * N);
    layer.inputs = {L.buffer(n.inputs[0])};
    const std::string out = fuse_epilogue(L, layer, n, N, false, bias);
    layer.outputs = {L.buffer(out)};
    if (!L.numerics) return true;
    const auto bf = as_floats(*b);
    WeightImage img;
    img.per_group.assign(1, std::vector<float>(static_cast<std::size_t>(K * N)));
    for (int64_t k = 0; k < K; ++k)
        for (int64_t nn = 0; nn < N; ++nn)
            img.per_group[0][k * N + nn] = (trans_b ? bf[nn * K + k] : bf[k * N + nn]) * alpha;
    img.bias = bias;
    encode_weights(L.spec, img, N);
    L.program.weights[layer.id] = std::move(img);
    return true;
}

bool lower_matmul(TpuLowering& L, const Node& n, std::string& why) {
    const auto& av = L.graph.value(n.inputs[0]);
    const auto& bv = L.graph.value(n.inputs[1]);
    if (!av.shape_known || !bv.shape_known) return why = "shape unknown at load time", false;
    if (av.shape.size() < 2 || bv.shape.size() < 2)
        return why = "1-D MatMul operands are not mapped", false;
    const int64_t K = av.shape.back(), M = av.shape[av.shape.size() - 2], N = bv.shape.back();
    const int64_t a_batch = sim::shape_numel(sim::Shape(av.shape.begin(), av.shape.end() - 2));
    const int64_t b_batch = sim::shape_numel(sim::Shape(bv.shape.begin(), bv.shape.end() - 2));
    const sim::Tensor* b = constant(L, n, 1);
    if (b) {
        if (b_batch != 1) return why = "batched constant B is not mapped", false;
        // A's batch dimensions flatten into M: one GEMM of (batch * M) x K x N.
        Layer& layer = L.add_layer(n, Layer::Kind::Mxu, "mxu", sim::Placement::Native, "");
        GemmLayer& g = layer.gemm;
        g.M = a_batch * M;
        g.K = K;
        g.N = N;
        layer.macs = static_cast<uint64_t>(g.M * K * N);
        layer.inputs = {L.buffer(n.inputs[0])};
        std::vector<float> bias(static_cast<std::size_t>(N), 0.0f);
        const std::string out = fuse_epilogue(L, layer, n, N, true, bias);
        layer.outputs = {L.buffer(out)};
        if (!L.numerics) return true;
        const auto bf = as_floats(*b);
        WeightImage img;
        img.per_group.assign(1, bf);
        img.bias = bias;
        encode_weights(L.spec, img, N);
        L.program.weights[layer.id] = std::move(img);
        return true;
    }
    // Two activations (attention): B streams into the weight FIFO from the unified buffer.
    const bool same_batch = sim::Shape(av.shape.begin(), av.shape.end() - 2) ==
                            sim::Shape(bv.shape.begin(), bv.shape.end() - 2);
    if (!(same_batch || b_batch == 1))
        return why = "broadcast batch dimensions between activations are not mapped", false;
    Layer& layer = L.add_layer(n, Layer::Kind::Mxu, "mxu", sim::Placement::Native, "");
    GemmLayer& g = layer.gemm;
    g.batch = a_batch;
    g.M = M;
    g.K = K;
    g.N = N;
    g.weight_buffer = L.buffer(n.inputs[1]);
    g.weight_source = MemorySpace::UnifiedBuffer;
    if (b_batch == 1 && a_batch > 1) {
        g.M = a_batch * M;  // a shared B: one GEMM over the flattened batch
        g.batch = 1;
    }
    layer.macs = static_cast<uint64_t>(a_batch * M * K * N);
    layer.inputs = {L.buffer(n.inputs[0]), g.weight_buffer};
    layer.outputs = {L.buffer(n.outputs[0])};
    return true;
}

}  // namespace

bool lower_gemm_node(TpuLowering& L, const Node& node, std::string& why) {
    // The MXUs multiply int8 or bf16 operands quantized from floating point; an integer GEMM
    // (legal ONNX) is the host's.
    for (std::size_t i = 0; i < 2 && i < node.inputs.size(); ++i)
        if (!node.inputs[i].empty() && !sim::is_float(L.graph.value(node.inputs[i]).dtype))
            return why = "integer operands (the MXU takes quantized floating-point data)", false;
    if (node.op_type == "Conv") return lower_conv(L, node, why);
    if (node.op_type == "Gemm") return lower_gemm(L, node, why);
    if (node.op_type == "MatMul") return lower_matmul(L, node, why);
    return false;
}

}  // namespace xpusim::lower::tpu
