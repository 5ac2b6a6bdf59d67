#include "frontends/lower/npu/emitter.h"

#include <algorithm>
#include <cmath>

#include "frontends/lower/host_fallback.h"
#include "frontends/lower/npu/tiling.h"
#include "isa/npu/layout.h"
#include "sim/error.h"
#include "sim/tensor/numeric_formats.h"

namespace xpusim::lower::npu {

using isa::npu::ConvDesc;
using isa::npu::Descriptor;
using isa::npu::Precision;
using isa::npu::Surface;

namespace {

std::vector<float> floats_of(const sim::Tensor& t) {
    const sim::Tensor f = t.dtype() == sim::DType::Float32 ? t : t.cast(sim::DType::Float32);
    return std::vector<float>(f.data<float>(), f.data<float>() + f.numel());
}

// Pads (begin, end) of one spatial axis, honouring auto_pad.
std::pair<int64_t, int64_t> axis_pads(const frontend::Node& n, std::size_t axis, std::size_t rank,
                                      int64_t in, int64_t out, int64_t k, int64_t stride,
                                      int64_t dil) {
    const std::string ap = n.attr_string("auto_pad", "NOTSET");
    if (ap == "SAME_UPPER" || ap == "SAME_LOWER") {
        const int64_t total = std::max<int64_t>(0, (out - 1) * stride + (k - 1) * dil + 1 - in);
        const int64_t small = total / 2;
        return ap == "SAME_UPPER" ? std::make_pair(small, total - small)
                                  : std::make_pair(total - small, small);
    }
    if (ap == "VALID") return {0, 0};
    const auto pads = n.attr_ints("pads", std::vector<int64_t>(2 * rank, 0));
    return {pads.at(axis), pads.at(axis + rank)};
}

std::string shape_text(int64_t a, int64_t b) {
    return std::to_string(a) + "x" + std::to_string(b);
}

}  // namespace

Emitter::Emitter(const Graph& graph, const GraphPlan& plan, const NpuSpec& spec,
                 const std::map<std::string, ValueRange>* ranges)
    : m_graph(graph),
      m_plan(plan),
      m_spec(spec),
      m_ranges(ranges),
      m_with_data(ranges != nullptr),
      m_act_dtype(spec.quant.precision == Precision::Fp16 ? sim::DType::Float16 : sim::DType::Int8),
      m_program(std::make_unique<NpuProgram>()) {
    m_program->spec = spec;
    // A value is NPU-consumed when a non-host group reads it, directly or through views. In
    // reverse topological order every reader's own answer is known first: linear, no recursion.
    for (std::size_t i = graph.nodes.size(); i-- > 0;) {
        const auto& n = graph.nodes[i];
        const Group& g = plan.groups[static_cast<std::size_t>(plan.group_of[i])];
        const bool reads_on_npu = g.kind == GroupKind::View
                                      ? !n.outputs.empty() && m_npu_consumed.count(n.outputs[0])
                                      : g.kind != GroupKind::Host;
        if (!reads_on_npu) continue;
        for (const auto& in : n.inputs)
            if (!in.empty() && !graph.is_constant(in)) m_npu_consumed.insert(in);
    }
}

double Emitter::scale_of(const std::string& value) const {
    auto o = m_scale_override.find(value);
    if (o != m_scale_override.end()) return o->second;
    if (!m_ranges) return 1.0;
    auto it = m_ranges->find(value);
    return it == m_ranges->end() ? 1.0 : symmetric_scale(it->second.covered(m_spec.quant));
}

bool Emitter::npu_consumed(const std::string& value) const {
    return m_npu_consumed.count(value) != 0;
}

bool Emitter::channel_last(const std::string& value) const {
    auto it = m_channel_last.find(value);
    return it != m_channel_last.end() && it->second;
}

uint64_t Emitter::layout_bytes(const sim::Shape& shape, sim::DType dtype, bool cl) const {
    if (dtype == sim::DType::Int8 || dtype == sim::DType::Float16)
        return isa::npu::surface_bytes(shape, static_cast<int64_t>(sim::dtype_size(dtype)),
                                       m_spec.atom_bytes(), cl);
    return static_cast<uint64_t>(sim::shape_numel(shape)) * sim::dtype_size(dtype);
}

int32_t Emitter::surface_of(const std::string& value) const {
    auto it = m_surface.find(value);
    if (it == m_surface.end())
        throw sim::Error("NPU lowering: value '" + value + "' was never placed in memory");
    return it->second;
}

int32_t Emitter::make_surface(const std::string& value, const std::string& kind) {
    const auto& info = m_graph.value(value);
    Surface s;
    s.name = value;
    s.kind = kind;
    s.shape = info.shape;
    // NPU-side values are int8 (or fp16); values only the host touches keep their own type.
    bool on_npu = npu_consumed(value);
    auto p = m_plan.producer.find(value);
    if (p != m_plan.producer.end()) {
        const int grp = m_plan.group_of[static_cast<std::size_t>(p->second)];
        on_npu = on_npu || m_plan.groups[static_cast<std::size_t>(grp)].kind != GroupKind::Host;
    }
    s.dtype = on_npu ? m_act_dtype : info.dtype;
    s.scale = s.dtype == sim::DType::Int8 ? scale_of(value) : 1.0;
    s.bytes = layout_bytes(s.shape, s.dtype, channel_last(value));
    const int32_t id = m_program->add_surface(std::move(s));
    m_surface[value] = id;
    return id;
}

int32_t Emitter::output_surface(const std::string& value) {
    auto it = m_surface.find(value);  // a concat slice prepared in advance
    return it != m_surface.end() ? it->second : make_surface(value, "act");
}

int32_t Emitter::add_const(const std::string& name, const sim::Tensor& data, sim::DType dtype,
                           const sim::Shape& shape, uint64_t bytes) {
    Surface s;
    s.name = name;
    s.kind = "const";
    s.dtype = dtype;
    s.shape = shape;
    s.bytes = bytes;
    if (m_with_data) s.data = data;
    return m_program->add_surface(std::move(s));
}

void Emitter::place(int n, sim::Placement p, const std::string& unit, const std::string& reason) {
    if (!m_placed.insert(n).second) return;
    m_placements.push_back({node(n).name, node(n).op_type, p, unit, reason, ""});
    m_program->nodes.push_back({node(n).name, node(n).op_type, p, unit, reason});
}

LoweredModel Emitter::run() {
    for (const auto& in : m_graph.inputs) {
        const int32_t id = make_surface(in, "input");
        m_program->inputs.push_back({in, id});
    }
    plan_concats();
    for (const Group& g : m_plan.groups) {
        switch (g.kind) {
            case GroupKind::Conv:
                emit_conv(g);
                break;
            case GroupKind::Sdp:
                emit_sdp(g);
                break;
            case GroupKind::Pdp:
                emit_pdp(g, -1, g.nodes[0], node(g.nodes[0]).inputs[0]);
                break;
            case GroupKind::Cdp:
                emit_cdp(g);
                break;
            case GroupKind::View:
                emit_view(g);
                break;
            case GroupKind::Concat:
                emit_concat(g);
                break;
            case GroupKind::Bdma:
                emit_row_slice(g);
                break;
            case GroupKind::Host:
                emit_host(g);
                break;
        }
    }
    for (const auto& out : m_graph.outputs) m_program->outputs.push_back({out, surface_of(out)});
    assign_addresses();
    // Placements in graph order.
    std::map<std::string, std::size_t> order;
    for (std::size_t i = 0; i < m_graph.nodes.size(); ++i) order[m_graph.nodes[i].name] = i;
    std::stable_sort(m_placements.begin(), m_placements.end(),
                     [&](const NodePlacement& a, const NodePlacement& b) {
                         return order[a.node] < order[b.node];
                     });
    std::stable_sort(m_program->nodes.begin(), m_program->nodes.end(),
                     [&](const isa::npu::NodeInfo& a, const isa::npu::NodeInfo& b) {
                         return order[a.name] < order[b.name];
                     });
    LoweredModel out;
    out.placements = m_placements;
    out.problems = m_problems;
    out.program = std::move(m_program);
    return out;
}

void Emitter::emit_conv(const Group& g) {
    const int ci = g.nodes[0];
    const frontend::Node& cn = node(ci);
    const bool fc = m_plan.classes[static_cast<std::size_t>(ci)].kind == NodeKind::Fc;
    std::vector<int> ops;
    int pool = -1;
    for (std::size_t i = 1; i < g.nodes.size(); ++i) {
        const NodeKind k = m_plan.classes[static_cast<std::size_t>(g.nodes[i])].kind;
        if (k == NodeKind::Pool)
            pool = g.nodes[i];
        else
            ops.push_back(g.nodes[i]);
    }
    const std::string x = cn.inputs[0];
    const auto& xs = m_graph.value(x).shape;
    ConvDesc d;
    d.precision = m_spec.quant.precision;
    d.src = surface_of(x);
    std::vector<float> w, bias;
    if (!fc) {
        const bool one_d = xs.size() == 3;
        const sim::Tensor wt = *m_graph.value(cn.inputs[1]).constant;
        const auto& os = m_graph.value(cn.outputs[0]).shape;
        d.n = xs[0], d.c = xs[1], d.h = one_d ? 1 : xs[2], d.w = xs.back();
        d.k = wt.dim(0), d.r = one_d ? 1 : wt.dim(2), d.s = wt.shape().back();
        d.p = one_d ? 1 : os[2], d.q = os.back();
        d.groups = cn.attr_int("group", 1);
        const auto strides = cn.attr_ints("strides", std::vector<int64_t>(xs.size() - 2, 1));
        const auto dil = cn.attr_ints("dilations", std::vector<int64_t>(xs.size() - 2, 1));
        const std::size_t rank = xs.size() - 2;
        d.stride_h = one_d ? 1 : strides[0], d.stride_w = strides.back();
        d.dil_h = one_d ? 1 : dil[0], d.dil_w = dil.back();
        if (!one_d)
            std::tie(d.pad_t, d.pad_b) = axis_pads(cn, 0, rank, d.h, d.p, d.r, d.stride_h, d.dil_h);
        std::tie(d.pad_l, d.pad_r) =
            axis_pads(cn, rank - 1, rank, d.w, d.q, d.s, d.stride_w, d.dil_w);
        w = floats_of(wt);
        bias = cn.has_input(2) ? floats_of(*m_graph.value(cn.inputs[2]).constant)
                               : std::vector<float>(static_cast<std::size_t>(d.k), 0.f);
    } else {
        const int64_t kin = xs.back();
        const int64_t rows = sim::shape_numel(xs) / kin;
        const sim::Tensor bt = *m_graph.value(cn.inputs[1]).constant;
        const std::vector<float> b = floats_of(bt);
        const bool gemm = cn.op_type == "Gemm";
        const bool trans_b = gemm && cn.attr_int("transB", 0);
        const float alpha = gemm ? static_cast<float>(cn.attr_float("alpha", 1.0)) : 1.f;
        const int64_t kout = trans_b ? bt.dim(0) : bt.dim(1);
        d.n = 1, d.c = kin, d.h = 1, d.w = rows, d.k = kout, d.p = 1, d.q = rows, d.fc = 1;
        w.resize(static_cast<std::size_t>(kout * kin));
        for (int64_t k = 0; k < kout; ++k)
            for (int64_t j = 0; j < kin; ++j)
                w[static_cast<std::size_t>(k * kin + j)] =
                    alpha * (trans_b ? b[static_cast<std::size_t>(k * kin + j)]
                                     : b[static_cast<std::size_t>(j * kout + k)]);
        bias.assign(static_cast<std::size_t>(kout), 0.f);
        if (gemm && cn.has_input(2)) {
            const auto c = floats_of(*m_graph.value(cn.inputs[2]).constant);
            const float beta = static_cast<float>(cn.attr_float("beta", 1.0));
            for (int64_t k = 0; k < kout; ++k)
                bias[static_cast<std::size_t>(k)] =
                    beta * c[c.size() == 1 ? 0 : static_cast<std::size_t>(k)];
        }
        m_channel_last[cn.outputs[0]] = true;
    }
    // Conv mode: pixel-format image input on the first layer; Winograd where asked and legal.
    const bool graph_input =
        std::find(m_graph.inputs.begin(), m_graph.inputs.end(), x) != m_graph.inputs.end();
    std::string reason;
    if (m_spec.conv.image_input && graph_input && !fc && d.c <= 4 && d.groups == 1 &&
        d.dil_h == 1 && d.dil_w == 1) {
        d.mode = "image";
        const int64_t ext = d.c * d.s;  // channel pre-extension folds the kernel width into C
        d.post_ext = (d.stride_w * d.c <= 16 && ext <= 16)   ? 4
                     : (d.stride_w * d.c <= 32 && ext <= 32) ? 2
                                                             : 1;
        reason = "image input mode: channels pre-extended to C*S = " + std::to_string(ext) +
                 ", post-extension x" + std::to_string(d.post_ext);
    } else if (m_spec.conv.winograd && !fc && d.r == 3 && d.s == 3 && d.stride_h == 1 &&
               d.stride_w == 1 && d.dil_h == 1 && d.dil_w == 1 && d.groups == 1 &&
               m_spec.conv.atomic_c >= 16) {
        d.mode = "winograd";
        reason = "Winograd mode (timing; numbers as direct convolution)";
    }
    const sim::DType wdt = d.precision == Precision::Int8 ? sim::DType::Int8 : sim::DType::Float16;
    const sim::Shape wshape = fc ? sim::Shape{d.k, d.c} : sim::Shape{d.k, d.c / d.groups, d.r, d.s};
    // Symmetric int8 weights, per output channel or per tensor (fp16: weights rounded to fp16).
    const int64_t per_k = static_cast<int64_t>(w.size()) / d.k;
    std::vector<double> acc_scale(static_cast<std::size_t>(d.k), 1.0);
    sim::Tensor wdata;
    const double s_in = scale_of(x);
    if (m_with_data) {
        if (d.precision == Precision::Int8) {
            wdata = sim::Tensor(sim::DType::Int8, wshape);
            int8_t* q = wdata.data<int8_t>();
            std::vector<float> amax(static_cast<std::size_t>(d.k), 0.0f);
            for (int64_t k = 0; k < d.k; ++k)
                for (int64_t j = 0; j < per_k; ++j)
                    amax[static_cast<std::size_t>(k)] =
                        std::max(amax[static_cast<std::size_t>(k)],
                                 std::fabs(w[static_cast<std::size_t>(k * per_k + j)]));
            if (!m_spec.quant.per_channel)
                std::fill(amax.begin(), amax.end(), *std::max_element(amax.begin(), amax.end()));
            for (int64_t k = 0; k < d.k; ++k) {
                const float sw = symmetric_scale(amax[static_cast<std::size_t>(k)]);
                acc_scale[static_cast<std::size_t>(k)] = s_in * static_cast<double>(sw);
                for (int64_t j = 0; j < per_k; ++j)
                    q[k * per_k + j] =
                        sim::quantize_int8(w[static_cast<std::size_t>(k * per_k + j)], {sw, 0});
            }
        } else {
            wdata = sim::Tensor::from_vector<float>(wshape, w);
            sim::round_to_format(wdata.data<float>(), static_cast<long>(wdata.numel()),
                                 sim::NumericFormat::Float16);
        }
    }
    const CbufPlan cbuf = plan_cbuf(d, m_spec);
    apply_cbuf_plan(cbuf, d);
    if (!cbuf.problem.empty()) m_problems.push_back({"capacity", cn.name, "CBUF: " + cbuf.problem});
    d.weight = add_const(cn.name + ".weight", wdata, wdt, wshape, cbuf.weight_bytes);

    Descriptor cd;
    cd.nodes.push_back(cn.name);
    cd.payload = d;
    const int32_t conv_id = m_program->add_descriptor(std::move(cd));
    if (d.groups > 1)
        place(ci, sim::Placement::Lowered, "conv",
              std::to_string(d.groups) + " groups run one after another" +
                  (d.c == d.groups
                       ? " (depthwise: channel by channel, 1 of " +
                             std::to_string(m_spec.macs_per_cycle(d.precision)) + " MACs busy)"
                       : ""));
    else if (fc)
        place(ci, sim::Placement::Lowered, "conv",
              "fully connected as a 1x1 convolution over " + std::to_string(d.q) + " row(s)");
    else
        place(ci, sim::Placement::Native, "conv", reason);

    // The SDP that always drains the conv pipeline, with the fused ops.
    const std::string sdp_out = pool >= 0 ? node(pool).inputs[0] : g.output;
    if (pool < 0 && fc) m_channel_last[g.output] = m_channel_last[cn.outputs[0]];
    isa::npu::SdpDesc sd;
    sd.precision = d.precision;
    sd.dst = pool >= 0 ? -1 : output_surface(g.output);
    sd.channel_last = fc ? 1 : 0;
    sd.c = d.k;
    sd.n = d.n, sd.h = fc ? 1 : d.p, sd.w = d.q;
    StageStart start;
    start.from_cacc = true;
    start.acc_scale = acc_scale;
    start.bias = bias;
    const std::string chain_in = cn.outputs[0];
    sd.stages = build_stages(ops, chain_in, start, sdp_out, d.k);
    Descriptor sdesc;
    for (int oi : ops) sdesc.nodes.push_back(node(oi).name);
    sdesc.nodes.push_back(cn.name);
    sdesc.source = conv_id;
    sdesc.payload = std::move(sd);
    const int32_t sdp_id = m_program->add_descriptor(std::move(sdesc));
    for (int oi : ops) {
        const bool elt = m_plan.classes[static_cast<std::size_t>(oi)].kind == NodeKind::Eltwise;
        place(oi, sim::Placement::Native, "sdp",
              "fused after " + cn.name + " (CACC->SDP on the fly)" +
                  (elt ? "; operand read by SDP-RDMA" : ""));
    }
    if (pool >= 0) emit_pdp(g, sdp_id, pool, sdp_out);
}

void Emitter::emit_pdp(const Group& g, int32_t source, int pool, const std::string& in_value) {
    const frontend::Node& pn = node(pool);
    const auto& is = m_graph.value(in_value).shape;
    const auto& os = m_graph.value(pn.outputs[0]).shape;
    isa::npu::PdpDesc d;
    d.precision = m_spec.quant.precision;
    d.pool = (pn.op_type == "MaxPool" || pn.op_type == "GlobalMaxPool") ? "max" : "avg";
    d.n = is[0], d.c = is[1], d.h = is[2], d.w = is[3], d.p = os[2], d.q = os[3];
    if (pn.op_type.rfind("Global", 0) == 0) {
        d.kh = d.h, d.kw = d.w;
    } else {
        const auto k = pn.attr_ints("kernel_shape");
        const auto st = pn.attr_ints("strides", {1, 1});
        d.kh = k.at(0), d.kw = k.at(1), d.sh = st.at(0), d.sw = st.at(1);
        std::tie(d.pad_t, d.pad_b) = axis_pads(pn, 0, 2, d.h, d.p, d.kh, d.sh, 1);
        std::tie(d.pad_l, d.pad_r) = axis_pads(pn, 1, 2, d.w, d.q, d.kw, d.sw, 1);
        d.count_include_pad = pn.attr_int("count_include_pad", 0);
    }
    // Max pooling keeps its input's scale (no requantization) unless a concat imposes one.
    if (d.pool == "max" && !m_scale_override.count(pn.outputs[0]))
        m_scale_override[pn.outputs[0]] = scale_of(in_value);
    d.dst = output_surface(pn.outputs[0]);
    d.ratio = scale_of(in_value) / scale_of(pn.outputs[0]);
    Descriptor desc;
    desc.nodes.push_back(pn.name);
    desc.source = source;
    if (source < 0) d.src = surface_of(in_value);
    desc.payload = d;
    m_program->add_descriptor(std::move(desc));
    place(pool, sim::Placement::Native, "pdp",
          source >= 0 ? "fused after " + node(g.nodes[0]).name + " (SDP->PDP on the fly)" : "");
}

void Emitter::emit_sdp(const Group& g) {
    const int first = g.nodes[0];
    const NodeClass& c0 = m_plan.classes[static_cast<std::size_t>(first)];
    const std::string in = node(first).inputs[static_cast<std::size_t>(c0.main_input)];
    std::vector<int> ops;
    int pool = -1;
    for (int n : g.nodes) {
        if (m_plan.classes[static_cast<std::size_t>(n)].kind == NodeKind::Pool)
            pool = n;
        else
            ops.push_back(n);
    }
    const std::string out = pool >= 0 ? node(pool).inputs[0] : g.output;
    m_channel_last[out] = channel_last(in);
    isa::npu::SdpDesc sd;
    sd.precision = m_spec.quant.precision;
    sd.src = surface_of(in);
    sd.dst = pool >= 0 ? -1 : output_surface(g.output);
    const auto& shape = m_graph.value(in).shape;
    const auto [pixels, channels] = layout_of(shape, channel_last(in));
    sd.channel_last = channel_last(in) ? 1 : 0;
    sd.c = channels, sd.n = 1, sd.h = 1, sd.w = pixels;
    StageStart start;
    start.in_scale = scale_of(in);
    sd.stages = build_stages(ops, in, start, out, channels);
    Descriptor desc;
    for (int oi : ops) desc.nodes.push_back(node(oi).name);
    desc.payload = std::move(sd);
    const int32_t id = m_program->add_descriptor(std::move(desc));
    for (int oi : ops) {
        const NodeKind k = m_plan.classes[static_cast<std::size_t>(oi)].kind;
        const std::string why = oi == first
                                    ? std::string("independent: reads its input from memory")
                                    : "fused after " + node(first).name;
        place(oi, sim::Placement::Native, "sdp",
              why + (k == NodeKind::Eltwise ? "; operand read by SDP-RDMA" : ""));
    }
    if (pool >= 0) emit_pdp(g, id, pool, out);
}

void Emitter::emit_cdp(const Group& g) {
    const frontend::Node& n = node(g.nodes[0]);
    const auto& s = m_graph.value(n.inputs[0]).shape;
    isa::npu::CdpDesc d;
    d.precision = m_spec.quant.precision;
    d.src = surface_of(n.inputs[0]);
    d.dst = output_surface(n.outputs[0]);
    d.n = s[0], d.c = s[1], d.h = s[2], d.w = s[3];
    d.size = n.attr_int("size", 5);
    d.alpha = n.attr_float("alpha", 1e-4), d.beta = n.attr_float("beta", 0.75),
    d.bias = n.attr_float("bias", 1.0);
    Descriptor desc;
    desc.nodes.push_back(n.name);
    desc.payload = d;
    m_program->add_descriptor(std::move(desc));
    place(g.nodes[0], sim::Placement::Native, "cdp", "");
}

void Emitter::emit_view(const Group& g) {
    const frontend::Node& n = node(g.nodes[0]);
    const std::string& in = n.inputs[0];
    const std::string& out = n.outputs[0];
    const auto& os = m_graph.value(out).shape;
    const Surface& src = m_program->surface(surface_of(in));
    const auto lin = layout_of(m_graph.value(in).shape, channel_last(in));
    bool free = !npu_consumed(out) || src.dtype == sim::DType::Float32;
    for (bool cl : {false, true})
        if (!free && layout_of(os, cl) == lin) {
            free = true;
            m_channel_last[out] = cl;
        }
    if (free) {
        Surface s = src;
        s.id = -1;
        s.name = out;
        s.kind = "view";
        s.shape = os;
        // A view of a view aliases the same storage: chains never form.
        s.alias = src.kind == "view" ? src.alias : surface_of(in);
        s.channel_offset = 0;
        s.data = sim::Tensor();
        m_surface[out] = m_program->add_surface(std::move(s));
        if (m_scale_override.count(in)) m_scale_override[out] = m_scale_override[in];
        place(g.nodes[0], sim::Placement::Native, "none", "free view: same NVDLA memory layout");
        return;
    }
    if (!m_spec.bdma.enabled) {
        emit_host(
            g,
            "reshape changes the channel packing and this chip has no BDMA/RUBIK to re-lay it out");
        return;
    }
    m_scale_override[out] = src.scale;
    isa::npu::BdmaDesc d;
    d.src = surface_of(in);
    d.bytes = src.bytes;  // before output_surface: a new surface may move the one src refers to
    d.dst = output_surface(out);
    Descriptor desc;
    desc.nodes.push_back(n.name);
    desc.payload = d;
    m_program->add_descriptor(std::move(desc));
    place(g.nodes[0], sim::Placement::Lowered, "bdma",
          "reshape changes the channel packing (" + shape_text(lin.first, lin.second) +
              " pixels x channels): re-laid out by a memory-to-memory copy");
}

// Rows [r0, r0 + rows) of an [R, ...] tensor: the outermost axis is outermost in NVDLA's layout
// too, so the copy reads bytes(src) / R per row from r0 * that on, and keeps src's scale.
void Emitter::emit_row_slice(const Group& g) {
    const frontend::Node& n = node(g.nodes[0]);
    int64_t first_row = 0;
    leading_axis_slice(m_graph, n, &first_row);
    const std::string& in = n.inputs[0];
    const std::string& out = n.outputs[0];
    const Surface& src = m_program->surface(surface_of(in));
    const int64_t rows = m_graph.value(in).shape[0];
    const int64_t row_elements =
        sim::shape_numel(m_graph.value(in).shape) / std::max<int64_t>(rows, 1);
    m_scale_override[out] = src.scale;
    isa::npu::BdmaDesc d;
    d.src = surface_of(in);
    // Before output_surface: a new surface may move the one src refers to.
    d.src_offset = static_cast<uint64_t>(first_row) *
                   (src.bytes / static_cast<uint64_t>(std::max<int64_t>(rows, 1)));
    d.dst = output_surface(out);
    d.bytes = m_program->surface(d.dst).bytes;
    d.first_element = first_row * row_elements;
    Descriptor desc;
    desc.nodes.push_back(n.name);
    desc.payload = d;
    m_program->add_descriptor(std::move(desc));
    place(g.nodes[0], sim::Placement::Lowered, "bdma",
          "rows " + std::to_string(first_row) +
              ".. of the outermost axis: a contiguous "
              "memory-to-memory copy from an offset");
}

void Emitter::emit_host(const Group& g, const std::string& why) {
    const int ni = g.nodes[0];
    const frontend::Node& n = node(ni);
    isa::npu::HostDesc h;
    h.op_type = n.op_type;
    for (const auto& in : n.inputs)
        if (!in.empty() && !m_graph.is_constant(in)) h.inputs.push_back(surface_of(in));
    for (const auto& out : n.outputs)
        if (!out.empty()) h.outputs.push_back(output_surface(out));
    sim::HostCall call = make_host_call(m_graph, n);
    h.flops = call.cost.flops;
    h.bytes = call.cost.bytes;
    h.call = static_cast<int32_t>(m_program->host_calls.size());
    m_program->host_calls.push_back(std::move(call));
    Descriptor desc;
    desc.nodes.push_back(n.name);
    desc.payload = std::move(h);
    m_program->add_descriptor(std::move(desc));
    const NodeClass& c = m_plan.classes[static_cast<std::size_t>(ni)];
    place(ni, sim::Placement::Host, "host", why.empty() ? c.reason : why);
}

void Emitter::assign_addresses() {
    uint64_t next = 0;
    auto take = [&](Surface& s) {
        s.addr = next;
        next = isa::npu::round_up(next + std::max<uint64_t>(s.bytes, 1), 4096);
    };
    for (auto& s : m_program->surfaces)
        if (s.kind == "const") take(s);
    for (auto& s : m_program->surfaces)
        if (s.alias < 0 && s.kind != "const") take(s);
    for (auto& s : m_program->surfaces) {  // views and slices after their storage
        if (s.alias < 0) continue;
        const Surface& base = m_program->surface(s.alias);
        s.addr = base.addr;
        if (s.kind == "slice") {
            const auto [pixels, channels] = layout_of(base.shape, false);
            const auto eb = static_cast<int64_t>(sim::dtype_size(base.dtype));
            s.addr += static_cast<uint64_t>(s.channel_offset * eb / m_spec.atom_bytes() * pixels *
                                            m_spec.atom_bytes());
            (void)channels;
        }
    }
    const uint64_t capacity = static_cast<uint64_t>(m_spec.dram.capacity_mib) << 20;
    if (next > capacity)
        m_problems.push_back({"capacity", "dram",
                              "the program needs " + std::to_string(next >> 20) + " MiB of the " +
                                  std::to_string(m_spec.dram.capacity_mib) +
                                  " MiB of DRAM on this chip"});
}

}  // namespace xpusim::lower::npu
