#include "models/tpu/tpu_datapath.h"

#include <Eigen/Core>
#include <cmath>

#include "sim/compute/conv2d.h"
#include "sim/tensor/numeric_formats.h"

namespace xpusim::models::tpu {

namespace {

using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Strided = Eigen::Map<const RowMajor, 0, Eigen::OuterStride<>>;

// int8 codes multiply to at most 127^2 = 16129; 1040 such products sum below 2^24.
constexpr int64_t kMaxExactFloatRows = 1040;

float apply_activation(const GemmLayer& g, float v) {
    switch (g.act) {
        case ActivationFn::Relu:
            return v < 0 ? 0.0f : v;
        case ActivationFn::Clip:
            return std::min(std::max(v, g.clip_lo), g.clip_hi);
        case ActivationFn::None:
            return v;
    }
    return v;
}

}  // namespace

TpuDatapath::TpuDatapath(const TpuProgram& program,
                         const std::map<std::string, sim::Tensor>& inputs)
    : m_program(program), m_inputs(inputs), m_storage(program.buffers.size()) {}

int TpuDatapath::root(int b) const {
    const int a = m_program.buffers[static_cast<std::size_t>(b)].alias_of;
    return a >= 0 ? a : b;
}

sim::Tensor& TpuDatapath::storage(int b) {
    const Buffer& buf = m_program.buffers[static_cast<std::size_t>(root(b))];
    sim::Tensor& t = m_storage[static_cast<std::size_t>(buf.id)];
    if (!t.valid()) {
        const sim::DType type = buf.format == StorageFormat::Int8 ? sim::DType::Int8
                                : sim::is_float(buf.source_dtype) ? sim::DType::Float32
                                                                  : buf.source_dtype;
        t = sim::Tensor(type, buf.shape);
    }
    return t;
}

sim::Tensor TpuDatapath::read(int b) const {
    const Buffer& view = m_program.buffers[static_cast<std::size_t>(b)];
    const Buffer& buf = m_program.buffers[static_cast<std::size_t>(root(b))];
    const sim::Tensor& t = m_storage[static_cast<std::size_t>(buf.id)];
    if (!t.valid()) throw sim::Error("tpu: buffer '" + buf.name + "' is read before it is written");
    if (buf.format != StorageFormat::Int8) return t.reshaped(view.shape);
    sim::Tensor f(sim::DType::Float32, view.shape);
    const int8_t* q = t.data<int8_t>();
    float* out = f.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i) out[i] = buf.scale * static_cast<float>(q[i]);
    return f;
}

void TpuDatapath::write(int b, const sim::Tensor& values) {
    const Buffer& buf = m_program.buffers[static_cast<std::size_t>(root(b))];
    sim::Tensor& t = storage(b);
    if (values.numel() != t.numel())
        throw sim::Error("tpu: writing " + std::to_string(values.numel()) +
                         " values into buffer '" + buf.name + "' of " + std::to_string(t.numel()));
    if (!sim::is_float(buf.source_dtype)) {
        t = values.dtype() == t.dtype() ? values.clone().reshaped(buf.shape)
                                        : values.cast(t.dtype()).reshaped(buf.shape);
        return;
    }
    const sim::Tensor f =
        values.dtype() == sim::DType::Float32 ? values : values.cast(sim::DType::Float32);
    const float* in = f.data<float>();
    if (buf.format == StorageFormat::Int8) {
        int8_t* q = t.data<int8_t>();
        for (int64_t i = 0; i < f.numel(); ++i) q[i] = sim::quantize_int8(in[i], {buf.scale, 0});
        return;
    }
    float* out = t.data<float>();
    std::copy(in, in + f.numel(), out);
    if (buf.format == StorageFormat::BFloat16)
        sim::round_to_format(out, static_cast<long>(f.numel()), sim::NumericFormat::BFloat16);
}

void TpuDatapath::read_host_memory(const Instruction& i) {
    for (const auto& [name, b] : m_program.graph_inputs)
        if (b == i.buffer) write(b, m_inputs.at(name));
}

const std::vector<float>& TpuDatapath::left_operand(const Layer& l, int64_t b, int64_t g) {
    if (m_cached_layer != l.id) {  // operands of finished layers are not needed again
        m_left.clear();
        m_right.clear();
        m_cached_layer = l.id;
    }
    auto key = std::make_tuple(l.id, b, g);
    auto it = m_left.find(key);
    if (it != m_left.end()) return it->second;
    const GemmLayer& gm = l.gemm;
    const Buffer& in = m_program.buffers[static_cast<std::size_t>(root(l.inputs[0]))];
    const sim::Tensor& t = storage(l.inputs[0]);
    // The MXU multiplies int8 codes (the scales are applied when draining) or bf16 values.
    std::vector<float> values(static_cast<std::size_t>(t.numel()));
    if (in.format == StorageFormat::Int8) {
        const int8_t* q = t.data<int8_t>();
        for (int64_t k = 0; k < t.numel(); ++k) values[k] = q[k];
    } else {
        const float* p = t.data<float>();
        std::copy(p, p + t.numel(), values.begin());
        if (in.format == StorageFormat::Float32)
            sim::round_to_format(values.data(), static_cast<long>(values.size()),
                                 m_program.spec.mxu.precision == MxuPrecision::Int8
                                     ? sim::NumericFormat::Float32
                                     : sim::NumericFormat::BFloat16);
    }
    std::vector<float> a(static_cast<std::size_t>(gm.M * gm.K));
    if (gm.is_conv) {  // M = images x P x Q: each image's im2col rows in turn
        const sim::Conv2dShape& c = gm.conv;
        const int64_t image_values = c.in_channels * c.in_h * c.in_w;
        for (int64_t img = 0; img < c.batch; ++img)
            sim::im2col_2d(values.data() + img * image_values, c, g * c.in_channels_per_group(),
                           a.data() + img * c.gemm_m() * gm.K);
    } else {
        std::copy(values.begin() + b * gm.M * gm.K, values.begin() + (b + 1) * gm.M * gm.K,
                  a.begin());
    }
    return m_left.emplace(key, std::move(a)).first->second;
}

const std::vector<float>& TpuDatapath::right_operand(const Layer& l, int64_t b, int64_t g) {
    const GemmLayer& gm = l.gemm;
    if (gm.weight_buffer < 0)
        return m_program.weights.at(l.id).per_group[static_cast<std::size_t>(g)];
    auto key = std::make_tuple(l.id, b, g);
    auto it = m_right.find(key);
    if (it != m_right.end()) return it->second;
    const Buffer& wb = m_program.buffers[static_cast<std::size_t>(root(gm.weight_buffer))];
    const sim::Tensor& t = storage(gm.weight_buffer);
    const int64_t per_batch = gm.K * gm.N;
    const int64_t offset = (t.numel() == per_batch ? 0 : b) * per_batch;
    std::vector<float> w(static_cast<std::size_t>(per_batch));
    for (int64_t k = 0; k < gm.K; ++k)
        for (int64_t n = 0; n < gm.N; ++n) {
            const int64_t src = offset + (gm.weight_transposed ? n * gm.K + k : k * gm.N + n);
            w[k * gm.N + n] = wb.format == StorageFormat::Int8
                                  ? static_cast<float>(t.data<int8_t>()[src])
                                  : t.data<float>()[src];
        }
    return m_right.emplace(key, std::move(w)).first->second;
}

float TpuDatapath::right_scale(const Layer& l, int64_t g, int64_t n) const {
    if (m_program.spec.mxu.precision != MxuPrecision::Int8) return 1.0f;
    if (l.gemm.weight_buffer >= 0)
        return m_program.buffers[static_cast<std::size_t>(root(l.gemm.weight_buffer))].scale;
    const auto& s = m_program.weights.at(l.id).scales;
    return s.size() == 1 ? s[0] : s[static_cast<std::size_t>(g * l.gemm.N + n)];
}

// One fold: acc[m0:m1, n0:n1] (+)= A[m0:m1, k0:k1] * W[k0:k1, n0:n1], where with packed groups
// the fold's rows and columns are `pack` groups' K and N ranges on the block diagonal. int8
// codes multiply exactly in fp32 (|partial sum| <= 127^2 * rows < 2^24 for rows <= 1040; larger
// arrays sum in double) and accumulate as 32-bit integers; bf16 products accumulate in fp32.
void TpuDatapath::matrix_multiply(const Instruction& i) {
    const Layer& l = m_program.layers[static_cast<std::size_t>(i.layer)];
    const GemmLayer& gm = l.gemm;
    const bool int8 = m_program.spec.mxu.precision == MxuPrecision::Int8;
    const int64_t m = i.m1 - i.m0, cols = i.n1 - i.n0;
    auto& acc = m_acc[{l.id, i.batch, i.group, i.m0, i.n0}];
    if (!i.accumulate || acc.empty()) acc.assign(static_cast<std::size_t>(m * cols), 0.0);
    for (int64_t j = 0; j < gm.pack; ++j) {
        const int64_t g = i.group * gm.pack + j;
        if (g >= gm.groups) break;
        // This group's block inside the fold, clipped to the tile.
        const int64_t k_lo = std::max(i.k0, j * gm.K), k_hi = std::min(i.k1, (j + 1) * gm.K);
        const int64_t n_lo = std::max(i.n0, j * gm.N), n_hi = std::min(i.n1, (j + 1) * gm.N);
        if (k_lo >= k_hi || n_lo >= n_hi) continue;
        const auto& a = left_operand(l, i.batch, g);
        const auto& w = right_operand(l, i.batch, g);
        const Strided A(a.data() + i.m0 * gm.K + (k_lo - j * gm.K), m, k_hi - k_lo,
                        Eigen::OuterStride<>(gm.K));
        const Strided W(w.data() + (k_lo - j * gm.K) * gm.N + (n_lo - j * gm.N), k_hi - k_lo,
                        n_hi - n_lo, Eigen::OuterStride<>(gm.N));
        // Past 1040 rows an int8 partial sum can exceed fp32's 24-bit integers: sum in double.
        const bool exact_in_float = !int8 || k_hi - k_lo <= kMaxExactFloatRows;
        Eigen::MatrixXd partial;
        if (exact_in_float)
            partial = RowMajor(A * W).cast<double>();
        else
            partial = A.cast<double>() * W.cast<double>();
        for (int64_t r = 0; r < m; ++r)
            for (int64_t c = 0; c < n_hi - n_lo; ++c) {
                double& s = acc[static_cast<std::size_t>(r * cols + (n_lo - i.n0) + c)];
                s = int8 ? s + partial(r, c)
                         : static_cast<double>(static_cast<float>(s + partial(r, c)));
            }
    }
}

// Drain: out = act(acc * scale_in * scale_w[n] + bias[n]) written in the output's layout
// (NCHW for convolutions, row-major M x N otherwise) and format.
void TpuDatapath::activate(const Instruction& i) {
    const Layer& l = m_program.layers[static_cast<std::size_t>(i.layer)];
    const GemmLayer& gm = l.gemm;
    auto it = m_acc.find({l.id, i.batch, i.group, i.m0, i.n0});
    if (it == m_acc.end())
        throw sim::Error("tpu: Activate of '" + l.name + "' before any MatrixMultiply");
    const std::vector<double>& acc = it->second;
    const Buffer& in = m_program.buffers[static_cast<std::size_t>(root(l.inputs[0]))];
    const float in_scale = in.format == StorageFormat::Int8 ? in.scale : 1.0f;
    const Buffer& out = m_program.buffers[static_cast<std::size_t>(root(l.outputs[0]))];
    sim::Tensor& t = storage(l.outputs[0]);
    const auto* image = gm.weight_buffer < 0 ? &m_program.weights.at(l.id) : nullptr;
    const int64_t cols = i.n1 - i.n0, n_total = gm.N * gm.groups;
    for (int64_t r = 0; r < i.m1 - i.m0; ++r) {
        const int64_t m = i.m0 + r;
        for (int64_t c = 0; c < cols; ++c) {
            const int64_t packed_n = i.n0 + c;
            const int64_t g = i.group * gm.pack + packed_n / gm.N, n = packed_n % gm.N;
            if (g >= gm.groups) continue;
            const int64_t channel = g * gm.N + n;
            float v = static_cast<float>(acc[static_cast<std::size_t>(r * cols + c)]) * in_scale *
                      right_scale(l, g, n);
            if (image && !image->bias.empty()) v += image->bias[static_cast<std::size_t>(channel)];
            v = apply_activation(gm, v);
            // Convolutions write NCHW: row m is pixel m mod PQ of image m / PQ.
            const int64_t pq = gm.is_conv ? gm.conv.gemm_m() : 0;
            const int64_t index = gm.is_conv ? ((m / pq) * n_total + channel) * pq + m % pq
                                             : (i.batch * gm.M + m) * n_total + channel;
            if (out.format == StorageFormat::Int8)
                t.data<int8_t>()[index] = sim::quantize_int8(v, {out.scale, 0});
            else if (out.format == StorageFormat::BFloat16)
                t.data<float>()[index] = sim::round_to_format(v, sim::NumericFormat::BFloat16);
            else
                t.data<float>()[index] = v;
        }
    }
    m_acc.erase(it);
}

void TpuDatapath::run_layer_function(const Layer& layer) {
    const LayerFunction* fn = nullptr;
    if (layer.kind == Layer::Kind::Host) {
        const auto& call = m_program.host_calls.at(static_cast<std::size_t>(layer.host_call));
        if (call.compute) fn = &call.compute;
    } else if (auto it = m_program.functions.find(layer.id); it != m_program.functions.end()) {
        fn = &it->second;
    }
    if (!fn)
        throw sim::Error(
            "tpu: layer '" + layer.name +
            "' has no bound function (a program read back from text runs timing-only)");
    std::vector<sim::Tensor> ins;
    for (int b : layer.inputs) ins.push_back(read(b));
    const std::vector<sim::Tensor> outs = (*fn)(ins);
    for (std::size_t k = 0; k < layer.outputs.size(); ++k) write(layer.outputs[k], outs.at(k));
}

std::map<std::string, sim::Tensor> TpuDatapath::values() const {
    std::map<std::string, sim::Tensor> out;
    for (const Buffer& b : m_program.buffers)
        if (!b.name.empty() && m_storage[static_cast<std::size_t>(root(b.id))].valid()) {
            const sim::Tensor t = read(b.id);
            out[b.name] = t.dtype() == sim::DType::Float32 || !sim::is_float(t.dtype())
                              ? t
                              : t.cast(sim::DType::Float32);
        }
    return out;
}

std::map<std::string, sim::Tensor> TpuDatapath::outputs() const {
    std::map<std::string, sim::Tensor> out;
    for (const auto& [name, b] : m_program.graph_outputs) {
        sim::Tensor t = read(b);
        const sim::DType want = m_program.buffers[static_cast<std::size_t>(b)].source_dtype;
        out[name] = t.dtype() == want ? t.clone() : t.cast(want);
    }
    return out;
}

}  // namespace xpusim::models::tpu
