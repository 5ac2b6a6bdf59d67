// SDP stage lists for a chain of fused ops, and the quantization of their parameters.
//
// int8: the SDP computes in an int32 working domain v * s_work. The chain is cut into segments
// at lookup tables; each segment works at s_work = s_end / 2^frac_bits, where s_end is the
// calibrated scale of the value the segment ends in (the LUT's input, or the SDP's output), so
// the final rounding shift by frac_bits lands exactly on the output's int8 grid and the extra
// bits keep sub-LSB precision through bias, element-wise and activation stages. Each real
// constant becomes a fixed-point multiplier (31-bit mantissa, shift) or an integer in working
// units; see isa/npu/descriptors.h for the meaning of each stage.
#include <cmath>
#include <limits>

#include "frontends/lower/npu/emitter.h"
#include "frontends/onnx/executor.h"
#include "sim/error.h"
#include "sim/tensor/numeric_formats.h"

namespace xpusim::lower::npu {

using isa::npu::FixedMultiplier;
using isa::npu::Precision;

namespace {

constexpr int kFracBits = 8;

std::vector<float> floats_of(const sim::Tensor& t) {
    const sim::Tensor f = t.dtype() == sim::DType::Float32 ? t : t.cast(sim::DType::Float32);
    return std::vector<float>(f.data<float>(), f.data<float>() + f.numel());
}

int64_t to_working(double real, double s_work) {
    const double q = std::nearbyint(real / s_work);
    constexpr double lo = std::numeric_limits<int32_t>::min(),
                     hi = std::numeric_limits<int32_t>::max();
    return static_cast<int64_t>(std::isfinite(q) ? std::clamp(q, lo, hi) : (q > 0 ? hi : lo));
}

// Per-channel values broadcast from a scalar or a per-channel constant.
std::vector<float> per_channel(const std::vector<float>& v, int64_t channels) {
    if (v.size() == 1) return std::vector<float>(static_cast<std::size_t>(channels), v[0]);
    return v;
}

}  // namespace

sim::Tensor Emitter::lut_samples(const frontend::Node& n, const std::vector<float>& x) const {
    const sim::Tensor in = sim::Tensor::from_vector<float>({static_cast<int64_t>(x.size())}, x);
    frontend::Node unary = n;
    unary.inputs.resize(1);
    return frontend::run_node(unary, m_graph.opset, {&in}).at(0);
}

std::vector<SdpStage> Emitter::build_stages(const std::vector<int>& ops,
                                            const std::string& chain_in, const StageStart& start,
                                            const std::string& end_value, int64_t channels) {
    const bool int8 = m_spec.quant.precision == Precision::Int8;
    const double frac = std::ldexp(1.0, kFracBits);
    auto value_in = [&](std::size_t i) { return i == 0 ? chain_in : node(ops[i - 1]).outputs[0]; };
    auto segment_end = [&](std::size_t from) {
        for (std::size_t i = from; i < ops.size(); ++i)
            if (m_plan.classes[static_cast<std::size_t>(ops[i])].kind == NodeKind::Lut)
                return value_in(i);
        return end_value;
    };
    auto int_param = [&](const std::string& name, const std::vector<int32_t>& v, int64_t rows) {
        const sim::Shape shape{rows, static_cast<int64_t>(v.size()) / rows};
        return add_const(name, sim::Tensor::from_vector<int32_t>(shape, v), sim::DType::Int32,
                         shape, v.size() * 4);
    };
    auto float_param = [&](const std::string& name, const std::vector<float>& v) {
        const sim::Shape shape{static_cast<int64_t>(v.size())};
        return add_const(name, sim::Tensor::from_vector<float>(shape, v), sim::DType::Float32,
                         shape, v.size() * 2);
    };
    // mantissa row then shift row of per-channel multipliers
    auto mult_param = [&](const std::string& name, const std::vector<float>& m) {
        std::vector<int32_t> v(2 * m.size());
        for (std::size_t k = 0; k < m.size(); ++k) {
            const auto f = FixedMultiplier::from_double(m[k]);
            v[k] = f.mantissa, v[m.size() + k] = f.shift;
        }
        return int_param(name, v, 2);
    };

    std::vector<SdpStage> st;
    double s = scale_of(segment_end(0)) / frac;  // working scale of the current segment
    const std::string tag = end_value + ".sdp";
    SdpStage cvt;
    cvt.op = "cvt";
    if (start.from_cacc) {
        if (int8) {
            std::vector<int32_t> p(3 * static_cast<std::size_t>(channels));
            for (int64_t k = 0; k < channels; ++k) {
                const auto kk = static_cast<std::size_t>(k);
                const double sa = start.acc_scale[kk];
                p[kk] = static_cast<int32_t>(
                    to_working(start.bias[kk], sa));  // int32 bias at s_in * s_w
                const auto m = FixedMultiplier::from_double(sa / s);
                p[static_cast<std::size_t>(channels) + kk] = m.mantissa;
                p[2 * static_cast<std::size_t>(channels) + kk] = m.shift;
            }
            cvt.param = int_param(tag + ".cvt", p, 3);
        } else {
            cvt.param = float_param(tag + ".bias", start.bias);
        }
    } else if (int8) {
        cvt.m = FixedMultiplier::from_double(start.in_scale / s);
    }
    st.push_back(cvt);

    for (std::size_t i = 0; i < ops.size(); ++i) {
        const frontend::Node& n = node(ops[i]);
        const NodeClass& c = m_plan.classes[static_cast<std::size_t>(ops[i])];
        const std::string& t = n.op_type;
        const std::string name = n.name;
        SdpStage x;
        if (t == "Relu") {
            x.op = "relu";
        } else if (t == "LeakyRelu") {
            x.op = "lrelu";
            x.f0 = n.attr_float("alpha", 0.01);
            x.m = FixedMultiplier::from_double(x.f0);
        } else if (t == "Clip") {
            double lo = -std::numeric_limits<double>::infinity(),
                   hi = std::numeric_limits<double>::infinity();
            if (m_graph.opset < 11) {
                lo = n.attr_float("min", lo), hi = n.attr_float("max", hi);
            } else {
                if (n.has_input(1)) lo = floats_of(*m_graph.value(n.inputs[1]).constant).at(0);
                if (n.has_input(2)) hi = floats_of(*m_graph.value(n.inputs[2]).constant).at(0);
            }
            x.op = "clip";
            x.f0 = lo, x.f1 = hi;
            x.lo = to_working(lo, s), x.hi = to_working(hi, s);
        } else if (t == "PRelu") {
            const auto slope = floats_of(*m_graph.value(n.inputs[1]).constant);
            if (slope.size() == 1) {
                x.op = "lrelu";
                x.f0 = slope[0];
                x.m = FixedMultiplier::from_double(slope[0]);
            } else {
                x.op = "prelu";
                x.param =
                    int8 ? mult_param(name + ".slope", slope) : float_param(name + ".slope", slope);
            }
        } else if (c.kind == NodeKind::BatchNorm) {  // standalone: scale then bias
            const auto gamma = floats_of(*m_graph.value(n.inputs[1]).constant),
                       beta = floats_of(*m_graph.value(n.inputs[2]).constant);
            const auto mean = floats_of(*m_graph.value(n.inputs[3]).constant),
                       var = floats_of(*m_graph.value(n.inputs[4]).constant);
            const double eps = n.attr_float("epsilon", 1e-5);
            std::vector<float> a(gamma.size()), b(gamma.size());
            for (std::size_t k = 0; k < gamma.size(); ++k) {
                a[k] = static_cast<float>(gamma[k] / std::sqrt(static_cast<double>(var[k]) + eps));
                b[k] = beta[k] - mean[k] * a[k];
            }
            SdpStage sc;
            sc.op = "scale";
            sc.param = int8 ? mult_param(name + ".scale", a) : float_param(name + ".scale", a);
            st.push_back(sc);
            x.op = "bias";
            if (int8) {
                std::vector<int32_t> q(b.size());
                for (std::size_t k = 0; k < b.size(); ++k)
                    q[k] = static_cast<int32_t>(to_working(b[k], s));
                x.param = int_param(name + ".bias", q, 1);
            } else {
                x.param = float_param(name + ".bias", b);
            }
        } else if (c.kind == NodeKind::ConstOp) {
            const auto cv = per_channel(
                floats_of(
                    *m_graph.value(n.inputs[static_cast<std::size_t>(1 - c.main_input)]).constant),
                channels);
            if (t == "Add" || t == "Sub") {
                x.op = "bias";
                std::vector<float> b(cv);
                if (t == "Sub")
                    for (auto& v : b) v = -v;
                if (int8) {
                    std::vector<int32_t> q(b.size());
                    for (std::size_t k = 0; k < b.size(); ++k)
                        q[k] = static_cast<int32_t>(to_working(b[k], s));
                    x.param = int_param(name + ".bias", q, 1);
                } else {
                    x.param = float_param(name + ".bias", b);
                }
            } else if (t == "Mul" || t == "Div") {
                x.op = "scale";
                std::vector<float> a(cv);
                if (t == "Div")
                    for (auto& v : a) v = 1.0f / v;
                x.param = int8 ? mult_param(name + ".scale", a) : float_param(name + ".scale", a);
            } else {  // Max / Min with a scalar: a one-sided clip
                x.op = "clip";
                const double inf = std::numeric_limits<double>::infinity();
                x.f0 = t == "Max" ? cv[0] : -inf, x.f1 = t == "Min" ? cv[0] : inf;
                x.lo = to_working(x.f0, s), x.hi = to_working(x.f1, s);
            }
        } else if (c.kind == NodeKind::Eltwise) {
            const std::string& v = value_in(i);
            const std::string& other = n.inputs[0] == v ? n.inputs[1] : n.inputs[0];
            x.op = t == "Add"   ? "add"
                   : t == "Sub" ? "sub"
                   : t == "Mul" ? "mul"
                   : t == "Max" ? "max"
                                : "min";
            x.operand = surface_of(other);
            x.per_channel = sim::shape_numel(m_graph.value(other).shape) !=
                            sim::shape_numel(m_graph.value(v).shape);
            const double se = m_program->storage(x.operand).scale;
            x.m = FixedMultiplier::from_double(t == "Mul" ? se : se / s);
        } else if (c.kind == NodeKind::Lut) {
            x.op = "lut";
            const std::string& lut_in = value_in(i);
            const std::string& lut_out = n.outputs[0];
            if (int8) {
                const double s_in = s * frac, s_out = scale_of(lut_out);
                std::vector<float> xs(256);
                for (int q = -128; q < 128; ++q)
                    xs[static_cast<std::size_t>(q + 128)] = static_cast<float>(q * s_in);
                sim::Tensor table(sim::DType::Int8, {256});
                if (m_with_data) {
                    const auto ys = floats_of(lut_samples(n, xs));
                    for (std::size_t k = 0; k < 256; ++k)
                        table.data<int8_t>()[k] =
                            sim::quantize_int8(ys[k], {static_cast<float>(s_out), 0});
                }
                x.table = add_const(name + ".lut", table, sim::DType::Int8, {256}, 256);
                st.push_back(x);
                // The table's output scale to the next segment's working scale. Always
                // programmed, even as an identity, so that the stages (and their cost) do not
                // depend on the calibrated values: a timing-only lowering has none.
                const double s_next = scale_of(segment_end(i + 1)) / frac;
                SdpStage r;
                r.op = "rescale";
                r.m = FixedMultiplier::from_double(s_out / frac / s_next);
                st.push_back(r);
                s = s_next;
                continue;
            }
            double lo = -8, hi = 8;
            if (m_ranges && m_ranges->count(lut_in)) {
                lo = m_ranges->at(lut_in).min, hi = m_ranges->at(lut_in).max;
                if (!(hi > lo)) lo -= 1, hi += 1;
            }
            std::vector<float> xs(257);
            for (std::size_t k = 0; k < 257; ++k)
                xs[k] = static_cast<float>(lo + (hi - lo) * static_cast<double>(k) / 256.0);
            sim::Tensor samples =
                m_with_data ? lut_samples(n, xs) : sim::Tensor(sim::DType::Float32, {257});
            x.table = add_const(name + ".lut", samples, sim::DType::Float32, {257}, 257 * 2);
            x.f0 = lo, x.f1 = hi;
        } else {
            throw sim::Error("NPU lowering: no SDP stage for " + n.describe());
        }
        st.push_back(x);
    }
    return st;
}

}  // namespace xpusim::lower::npu
