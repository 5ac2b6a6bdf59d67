// The gate equations are those of the reference kernel (frontends/onnx/ops/recurrent.cpp), with
// gate orders RNN i; GRU z, r, h; LSTM i, o, f, c (peepholes i, o, f). Per step, for a state
// that is a constant (the initial one) the recurrent GEMM is done here, and dropped when zero.
#include "frontends/lower/recurrent_unroll.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>

#include "sim/error.h"

namespace xpusim::lower {

using frontend::Attribute;
using frontend::Graph;
using frontend::Node;
using frontend::ValueInfo;
using sim::DType;
using sim::Shape;
using sim::Tensor;

namespace {

enum class Cell { Rnn, Gru, Lstm };

// An activation as the ONNX ops that compute it; alpha and beta as recurrent.cpp reads them.
struct Activation {
    std::string name;  // lower case
    double alpha = 0.0, beta = 0.0;
};

struct ActivationInfo {
    const char* name;
    int takes;  // 0: none, 1: alpha, 2: alpha and beta
    bool has_default;
    double alpha, beta;
};

// One entry a line, as a table (the defaults of recurrent.cpp).
// clang-format off
constexpr ActivationInfo kActivations[] = {
    {"relu", 0, true, 0.0, 0.0},
    {"tanh", 0, true, 0.0, 0.0},
    {"sigmoid", 0, true, 0.0, 0.0},
    {"affine", 2, true, 1.0, 0.0},
    {"leakyrelu", 1, true, 0.01, 0.0},
    {"thresholdedrelu", 1, true, 1.0, 0.0},
    {"scaledtanh", 2, false, 0.0, 0.0},
    {"hardsigmoid", 2, true, 0.2, 0.5},
    {"elu", 1, true, 1.0, 0.0},
    {"softsign", 0, true, 0.0, 0.0},
    {"softplus", 0, true, 0.0, 0.0},
};
// clang-format on

// Thrown inside the pass for a node it leaves alone; caught per node.
struct Keep {
    std::string reason;
};

std::vector<Activation> parse_activations(const Node& node, Cell cell, int64_t dirs) {
    const std::size_t per_dir = cell == Cell::Rnn ? 1 : cell == Cell::Gru ? 2 : 3;
    std::vector<std::string> names;
    if (auto it = node.attrs.find("activations"); it != node.attrs.end())
        names = it->second.strings;
    if (names.empty()) {
        const std::vector<std::string> def =
            cell == Cell::Rnn   ? std::vector<std::string>{"tanh"}
            : cell == Cell::Gru ? std::vector<std::string>{"sigmoid", "tanh"}
                                : std::vector<std::string>{"sigmoid", "tanh", "tanh"};
        for (int64_t d = 0; d < dirs; ++d) names.insert(names.end(), def.begin(), def.end());
    }
    if (cell == Cell::Rnn && dirs == 1 && names.size() == 2) names.resize(1);
    if (names.size() != per_dir * static_cast<std::size_t>(dirs))
        throw Keep{"attribute 'activations' has " + std::to_string(names.size()) + " entries"};
    const std::vector<double> alphas = node.attr_floats("activation_alpha");
    const std::vector<double> betas = node.attr_floats("activation_beta");
    std::size_t ai = 0, bi = 0;
    std::vector<Activation> out;
    for (const std::string& name : names) {
        std::string lower = name;
        std::transform(lower.begin(), lower.end(), lower.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        const ActivationInfo* info = nullptr;
        for (const ActivationInfo& a : kActivations)
            if (lower == a.name) info = &a;
        if (!info) throw Keep{"activation '" + name + "' has no ONNX op to unroll into"};
        Activation a{lower, info->alpha, info->beta};
        const bool given =
            (info->takes < 1 || ai < alphas.size()) && (info->takes < 2 || bi < betas.size());
        if (!info->has_default && !given)
            throw Keep{"activation '" + name + "' needs activation_alpha and activation_beta"};
        if (info->takes >= 1 && ai < alphas.size()) a.alpha = alphas[ai++];
        if (info->takes >= 2 && bi < betas.size()) a.beta = betas[bi++];
        out.push_back(a);
    }
    if (ai != alphas.size() || bi != betas.size())
        throw Keep{"activation_alpha/activation_beta give more values than the activations take"};
    return out;
}

std::vector<double> as_doubles(const Tensor& t) {
    std::vector<double> out(static_cast<std::size_t>(t.numel()));
    for (int64_t i = 0; i < t.numel(); ++i) out[static_cast<std::size_t>(i)] = t.get_as_double(i);
    return out;
}

// A recurrent state between steps: a value of the graph, or (before the first step) a constant
// [B, H] held here, `zero` when every element is 0.
struct State {
    std::string value;
    std::vector<double> constant;
    bool zero = false;
};

State constant_state(std::vector<double> v) {
    State s;
    s.zero = std::all_of(v.begin(), v.end(), [](double x) { return x == 0.0; });
    s.constant = std::move(v);
    return s;
}

class Unroller {
  public:
    Unroller(Graph& g, const Node& node, Cell cell, std::set<std::string>& names,
             const std::set<std::string>& read)
        : m_g(g), m_node(node), m_cell(cell), m_names(names), m_read(read) {}

    std::vector<Node> run();
    /// @brief Reads the attributes and shapes; throws Keep for a node the pass leaves.
    void setup();
    std::string into;  // the node graph.folded records the recurrent node under

  private:
    // Dimensions and attributes, read by setup().
    int64_t T = 0, B = 0, I = 0, H = 0, D = 1, G = 1;
    bool m_batch_major = false, m_reverse = false, m_lbr = false, m_input_forget = false;
    std::optional<double> m_clip;
    std::vector<Activation> m_act;
    DType m_dt = DType::Float32;
    std::vector<double> m_w, m_r, m_b, m_p;

    Graph& m_g;
    const Node& m_node;
    Cell m_cell;
    std::set<std::string>& m_names;
    const std::set<std::string>& m_read;  // values some node or the graph's outputs read
    std::vector<Node> m_out;

    const Tensor* constant_input(std::size_t i, const char* what) const;

    std::string fresh(const std::string& base);
    void define(const std::string& value, const Shape& shape, DType dtype);
    std::string constant(const std::string& base, const std::vector<double>& v, const Shape& s);
    std::string int_constant(const std::string& base, const std::vector<int64_t>& v);
    // One node of one output, named `name` (made unique) and returning that output.
    std::string emit(const std::string& name, const std::string& type,
                     std::vector<std::string> inputs, const Shape& shape,
                     std::map<std::string, Attribute> attrs = {});
    std::string emit_to(const std::string& name, const std::string& type,
                        std::vector<std::string> inputs, const std::string& output,
                        std::map<std::string, Attribute> attrs = {});
    std::string reshape(const std::string& name, const std::string& x, const Shape& shape,
                        const std::string& output = "");
    std::string slice(const std::string& name, const std::string& x, int64_t axis, int64_t begin,
                      int64_t end, Shape out);
    std::string clip(const std::string& name, const std::string& x);
    std::string activate(const std::string& name, const Activation& a, const std::string& x);

    // Gate k of direction d: W_k^T [I, H], R_k^T [H, H], and the projection bias.
    std::vector<double> weight_t(const std::vector<double>& m, int64_t d, int64_t k,
                                 int64_t cols) const;
    std::vector<double> proj_bias(int64_t d, int64_t k) const;
    std::vector<double> rec_bias(int64_t d, int64_t k) const;
    // x + state x R_k^T (the constant product folded; nothing added for a zero state).
    std::string add_recurrent(const std::string& name, const std::string& x, const State& h,
                              int64_t d, int64_t k);
    // `x` (.) `s` for a non-zero state s.
    std::string mul_state(const std::string& name, const std::string& x, const State& s);
    State initial_state(std::size_t input, int64_t d, const std::string& base);
    std::string concat_states(const std::string& name, const std::vector<std::string>& pieces,
                              const Shape& shape, const std::string& output);
};

const Tensor* Unroller::constant_input(std::size_t i, const char* what) const {
    if (!m_node.has_input(i)) return nullptr;
    if (!m_g.is_constant(m_node.inputs[i]))
        throw Keep{std::string(what) + " is an activation (the unrolled GEMMs need constant " +
                   "weights)"};
    return &*m_g.value(m_node.inputs[i]).constant;
}

void Unroller::setup() {
    if (m_g.opset < 5) throw Keep{"opset " + std::to_string(m_g.opset) + " has no Reshape input"};
    const std::string direction = m_node.attr_string("direction", "forward");
    if (direction == "bidirectional")
        D = 2;
    else if (direction == "reverse")
        m_reverse = true;
    else if (direction != "forward")
        throw Keep{"direction '" + direction + "'"};
    const int64_t layout = m_node.attr_int("layout", 0);
    if (layout != 0 && layout != 1) throw Keep{"layout " + std::to_string(layout)};
    m_batch_major = layout == 1;
    const ValueInfo& x = m_g.value(m_node.inputs[0]);
    if (!x.shape_known || x.shape.size() != 3 ||
        std::any_of(x.shape.begin(), x.shape.end(), [](int64_t v) { return v <= 0; }))
        throw Keep{"the sequence length is only known at run time"};
    m_dt = x.dtype;
    if (m_dt != DType::Float32 && m_dt != DType::Float64 && m_dt != DType::Float16)
        throw Keep{"element type " + std::string(sim::dtype_name(m_dt))};
    T = x.shape[m_batch_major ? 1 : 0];
    B = x.shape[m_batch_major ? 0 : 1];
    I = x.shape[2];
    G = m_cell == Cell::Rnn ? 1 : m_cell == Cell::Gru ? 3 : 4;
    const Tensor* w = constant_input(1, "W");
    const Tensor* r = constant_input(2, "R");
    if (!w || !r || r->rank() != 3 || w->rank() != 3) throw Keep{"W or R is not 3-D"};
    H = r->dim(2);
    if (w->shape() != Shape{D, G * H, I} || r->shape() != Shape{D, G * H, H})
        throw Keep{"W or R has an unexpected shape"};
    m_w = as_doubles(*w);
    m_r = as_doubles(*r);
    m_b.assign(static_cast<std::size_t>(D * 2 * G * H), 0.0);
    if (const Tensor* b = constant_input(3, "B")) m_b = as_doubles(*b);
    if (m_node.has_input(4)) {
        if (!m_g.is_constant(m_node.inputs[4]))
            throw Keep{
                "sequence_lens is an activation (lengths that vary per batch row run "
                "on the host)"};
        for (int64_t len : m_g.value(m_node.inputs[4]).constant->to_int64_vector())
            if (len != T)
                throw Keep{"sequence_lens " + std::to_string(len) + " differs from T = " +
                           std::to_string(T) + " (shorter rows run on the host)"};
    }
    if (m_cell == Cell::Lstm)
        if (const Tensor* p = constant_input(7, "P")) m_p = as_doubles(*p);
    m_act = parse_activations(m_node, m_cell, D);
    if (m_node.has_attr("clip")) {
        m_clip = m_node.attr_float("clip", 0.0);
        if (!(*m_clip > 0.0)) throw Keep{"clip is not positive"};
    }
    m_lbr = m_cell == Cell::Gru && m_node.attr_int("linear_before_reset", 0) != 0;
    m_input_forget = m_cell == Cell::Lstm && m_node.attr_int("input_forget", 0) != 0;
}

std::string Unroller::fresh(const std::string& base) {
    std::string name = base;
    for (int i = 1; m_g.values.count(name) || m_names.count(name); ++i)
        name = base + "_" + std::to_string(i);
    m_names.insert(name);
    return name;
}

void Unroller::define(const std::string& value, const Shape& shape, DType dtype) {
    ValueInfo& v = m_g.values[value];
    v.name = value;
    v.dtype = dtype;
    v.shape = shape;
    v.shape_known = true;
}

std::string Unroller::constant(const std::string& base, const std::vector<double>& v,
                               const Shape& s) {
    const std::string name = fresh(base);
    define(name, s, m_dt);
    if (m_dt == DType::Float64)
        m_g.values[name].constant = Tensor::from_vector<double>(s, v);
    else
        m_g.values[name].constant =
            Tensor::from_vector<float>(s, std::vector<float>(v.begin(), v.end())).cast(m_dt);
    return name;
}

std::string Unroller::int_constant(const std::string& base, const std::vector<int64_t>& v) {
    const std::string name = fresh(base);
    const Shape s{static_cast<int64_t>(v.size())};
    define(name, s, DType::Int64);
    m_g.values[name].constant = Tensor::from_vector<int64_t>(s, v);
    return name;
}

std::string Unroller::emit_to(const std::string& name, const std::string& type,
                              std::vector<std::string> inputs, const std::string& output,
                              std::map<std::string, Attribute> attrs) {
    Node n;
    n.name = name;
    n.op_type = type;
    n.inputs = std::move(inputs);
    n.outputs = {output};
    n.attrs = std::move(attrs);
    m_out.push_back(std::move(n));
    return output;
}

std::string Unroller::emit(const std::string& name, const std::string& type,
                           std::vector<std::string> inputs, const Shape& shape,
                           std::map<std::string, Attribute> attrs) {
    const std::string out = fresh(name);
    define(out, shape, m_dt);
    return emit_to(out, type, std::move(inputs), out, std::move(attrs));
}

std::string Unroller::reshape(const std::string& name, const std::string& x, const Shape& shape,
                              const std::string& output) {
    const std::string to = int_constant(name + ".shape", shape);
    if (output.empty()) return emit(name, "Reshape", {x, to}, shape);
    return emit_to(fresh(name), "Reshape", {x, to}, output);
}

// Slice takes its bounds as inputs from opset 10, as attributes before.
std::string Unroller::slice(const std::string& name, const std::string& x, int64_t axis,
                            int64_t begin, int64_t end, Shape out) {
    if (m_g.opset >= 10)
        return emit(name, "Slice",
                    {x, int_constant(name + ".starts", {begin}),
                     int_constant(name + ".ends", {end}), int_constant(name + ".axes", {axis})},
                    out);
    return emit(name, "Slice", {x}, out,
                {{"starts", Attribute::of_ints({begin})},
                 {"ends", Attribute::of_ints({end})},
                 {"axes", Attribute::of_ints({axis})}});
}

// Clip takes its bounds as inputs from opset 11, as attributes before.
std::string Unroller::clip(const std::string& name, const std::string& x) {
    if (!m_clip) return x;
    const Shape& s = m_g.value(x).shape;
    if (m_g.opset >= 11)
        return emit(
            name, "Clip",
            {x, constant(name + ".min", {-*m_clip}, {}), constant(name + ".max", {*m_clip}, {})},
            s);
    return emit(name, "Clip", {x}, s,
                {{"min", Attribute::of_float(-*m_clip)}, {"max", Attribute::of_float(*m_clip)}});
}

std::string Unroller::activate(const std::string& name, const Activation& a, const std::string& x) {
    const Shape s = m_g.value(x).shape;
    auto scale = [&](const std::string& n, const std::string& in, double k) {
        return emit(n, "Mul", {in, constant(n + ".k", {k}, {})}, s);
    };
    if (a.name == "relu") return emit(name, "Relu", {x}, s);
    if (a.name == "tanh") return emit(name, "Tanh", {x}, s);
    if (a.name == "sigmoid") return emit(name, "Sigmoid", {x}, s);
    if (a.name == "softsign") return emit(name, "Softsign", {x}, s);
    if (a.name == "softplus") return emit(name, "Softplus", {x}, s);
    if (a.name == "leakyrelu")
        return emit(name, "LeakyRelu", {x}, s, {{"alpha", Attribute::of_float(a.alpha)}});
    if (a.name == "thresholdedrelu")
        return emit(name, "ThresholdedRelu", {x}, s, {{"alpha", Attribute::of_float(a.alpha)}});
    if (a.name == "elu")
        return emit(name, "Elu", {x}, s, {{"alpha", Attribute::of_float(a.alpha)}});
    if (a.name == "hardsigmoid")
        return emit(
            name, "HardSigmoid", {x}, s,
            {{"alpha", Attribute::of_float(a.alpha)}, {"beta", Attribute::of_float(a.beta)}});
    if (a.name == "affine")  // alpha * x + beta
        return emit(name, "Add",
                    {scale(name + "/scale", x, a.alpha), constant(name + ".b", {a.beta}, {})}, s);
    // scaledtanh: alpha * tanh(beta * x)
    return scale(name, emit(name + "/tanh", "Tanh", {scale(name + "/in", x, a.beta)}, s), a.alpha);
}

std::vector<double> Unroller::weight_t(const std::vector<double>& m, int64_t d, int64_t k,
                                       int64_t cols) const {
    // m is [D, G*H, cols]; the result [cols, H] has out[c, j] = m[d, k*H + j, c].
    std::vector<double> out(static_cast<std::size_t>(cols * H));
    for (int64_t j = 0; j < H; ++j)
        for (int64_t c = 0; c < cols; ++c)
            out[static_cast<std::size_t>(c * H + j)] =
                m[static_cast<std::size_t>(((d * G + k) * H + j) * cols + c)];
    return out;
}

// W_b + R_b, except GRU's h gate with linear_before_reset, whose R_b goes inside the reset.
std::vector<double> Unroller::proj_bias(int64_t d, int64_t k) const {
    std::vector<double> out(static_cast<std::size_t>(H));
    const bool with_rb = !(m_lbr && k == 2);
    for (int64_t j = 0; j < H; ++j) {
        const std::size_t at = static_cast<std::size_t>(d * 2 * G * H + k * H + j);
        out[static_cast<std::size_t>(j)] =
            m_b[at] + (with_rb ? m_b[at + static_cast<std::size_t>(G * H)] : 0.0);
    }
    return out;
}

std::vector<double> Unroller::rec_bias(int64_t d, int64_t k) const {
    std::vector<double> out(static_cast<std::size_t>(H));
    for (int64_t j = 0; j < H; ++j)
        out[static_cast<std::size_t>(j)] =
            m_b[static_cast<std::size_t>(d * 2 * G * H + G * H + k * H + j)];
    return out;
}

std::string Unroller::add_recurrent(const std::string& name, const std::string& x, const State& h,
                                    int64_t d, int64_t k) {
    if (h.zero) return x;
    const std::vector<double> rt = weight_t(m_r, d, k, H);
    if (!h.value.empty()) {
        const std::string rec =
            emit(name + "_rec", "MatMul", {h.value, constant(name + ".R", rt, {H, H})}, {B, H});
        return emit(name, "Add", {x, rec}, {B, H});
    }
    std::vector<double> prod(static_cast<std::size_t>(B * H), 0.0);
    for (int64_t b = 0; b < B; ++b)
        for (int64_t j = 0; j < H; ++j)
            for (int64_t m = 0; m < H; ++m)
                prod[static_cast<std::size_t>(b * H + j)] +=
                    h.constant[static_cast<std::size_t>(b * H + m)] *
                    rt[static_cast<std::size_t>(m * H + j)];
    return emit(name, "Add", {x, constant(name + ".h0R", prod, {B, H})}, {B, H});
}

std::string Unroller::mul_state(const std::string& name, const std::string& x, const State& s) {
    const std::string other =
        s.value.empty() ? constant(name + ".state", s.constant, {B, H}) : s.value;
    return emit(name, "Mul", {x, other}, {B, H});
}

// initial_h / initial_c of direction d as [B, H]: [D, B, H] (layout 0) or [B, D, H] (layout 1).
State Unroller::initial_state(std::size_t input, int64_t d, const std::string& base) {
    if (!m_node.has_input(input)) return constant_state(std::vector<double>(B * H, 0.0));
    const std::string& v = m_node.inputs[input];
    if (m_g.is_constant(v)) {
        const std::vector<double> all = as_doubles(*m_g.value(v).constant);
        std::vector<double> out(static_cast<std::size_t>(B * H));
        for (int64_t b = 0; b < B; ++b)
            for (int64_t j = 0; j < H; ++j)
                out[static_cast<std::size_t>(b * H + j)] =
                    all[static_cast<std::size_t>((m_batch_major ? b * D + d : d * B + b) * H + j)];
        return constant_state(out);
    }
    State s;
    std::string x = v;
    if (D == 2)
        x = slice(base + "_slice", v, m_batch_major ? 1 : 0, d, d + 1,
                  m_batch_major ? Shape{B, 1, H} : Shape{1, B, H});
    s.value = reshape(base, x, {B, H});
    return s;
}

// [B, H] pieces in order, as one tensor of `shape` named `output`: along axis 0 they stack time
// and direction outside batch (layout 0), along axis 1 inside it (layout 1); with one batch row
// both are the same bytes, and axis 1 is the channel concat every target maps.
std::string Unroller::concat_states(const std::string& name, const std::vector<std::string>& pieces,
                                    const Shape& shape, const std::string& output) {
    if (pieces.size() == 1) return reshape(name, pieces[0], shape, output);
    const int64_t n = static_cast<int64_t>(pieces.size());
    const bool along_rows = !m_batch_major && B > 1;
    const std::string all =
        emit(name + "_concat", "Concat", pieces, along_rows ? Shape{n * B, H} : Shape{B, n * H},
             {{"axis", Attribute::of_int(along_rows ? 0 : 1)}});
    return reshape(name, all, shape, output);
}

std::vector<Node> Unroller::run() {
    setup();
    const std::string& x = m_node.inputs[0];
    const char* letters = m_cell == Cell::Rnn ? "i" : m_cell == Cell::Gru ? "zrh" : "iofc";
    auto gate = [&](int64_t k) { return std::string(1, letters[k]); };
    // Time-major rows [T*B, I] when the bytes allow (layout 0, or one batch row); else X stays
    // [B, T, I] and each step slices axis 1.
    const bool time_major = !m_batch_major || B == 1;
    const std::string rows = time_major ? reshape(m_node.name + "/x_rows", x, {T * B, I}) : x;
    const Shape proj_shape = time_major ? Shape{T * B, H} : Shape{B, T, H};

    std::vector<std::vector<std::string>> y(static_cast<std::size_t>(T));  // [t][d]
    std::vector<std::string> y_h, y_c;
    for (int64_t d = 0; d < D; ++d) {
        const std::string base = m_node.name + (D == 2 ? (d ? "/bwd" : "/fwd") : "");
        const Activation* act = &m_act[static_cast<std::size_t>(d) * (m_cell == Cell::Rnn   ? 1
                                                                      : m_cell == Cell::Gru ? 2
                                                                                            : 3)];
        // The input projection of every gate over the whole sequence.
        std::vector<std::string> proj(static_cast<std::size_t>(G));
        for (int64_t k = 0; k < G; ++k) {
            const std::string n = base + "/x_proj_" + gate(k);
            proj[k] = emit(n, "MatMul", {rows, constant(n + ".W", weight_t(m_w, d, k, I), {I, H})},
                           proj_shape);
            if (into.empty()) into = proj[k];
            const std::vector<double> bias = proj_bias(d, k);
            if (std::any_of(bias.begin(), bias.end(), [](double v) { return v != 0.0; }))
                proj[k] =
                    emit(n + "_bias", "Add", {proj[k], constant(n + ".B", bias, {H})}, proj_shape);
        }
        State h = initial_state(5, d, base + "/h0");
        State c = m_cell == Cell::Lstm ? initial_state(6, d, base + "/c0") : State{};
        const bool backward = m_reverse || d == 1;
        for (int64_t step = 0; step < T; ++step) {
            const int64_t t = backward ? T - 1 - step : step;
            const std::string p = base + "/t" + std::to_string(t) + "/";
            // This step's rows of the projection, then the recurrent term.
            auto pre = [&](int64_t k) {
                std::string xt = proj[k];
                if (T > 1) {
                    xt = time_major
                             ? slice(p + "x_" + gate(k), proj[k], 0, t * B, (t + 1) * B, {B, H})
                             : reshape(p + "x_" + gate(k),
                                       slice(p + "x_" + gate(k) + "_slice", proj[k], 1, t, t + 1,
                                             {B, 1, H}),
                                       {B, H});
                }
                return add_recurrent(p + "pre_" + gate(k), xt, h, d, k);
            };
            // P_k (.) C for peephole k (0 i, 1 o, 2 f) of a non-zero state.
            auto peephole = [&](const std::string& in, int64_t k, const State& cs) {
                if (m_p.empty() || cs.zero) return in;
                std::vector<double> pk(m_p.begin() + (d * 3 + k) * H,
                                       m_p.begin() + (d * 3 + k + 1) * H);
                const std::string n = p + "peep_" + std::string(1, "iof"[k]);
                std::string term;
                if (cs.value.empty()) {
                    std::vector<double> v(static_cast<std::size_t>(B * H));
                    for (std::size_t e = 0; e < v.size(); ++e) v[e] = cs.constant[e] * pk[e % H];
                    term = constant(n + ".Pc", v, {B, H});
                } else {
                    term = emit(n, "Mul", {cs.value, constant(n + ".P", pk, {H})}, {B, H});
                }
                return emit(n + "_add", "Add", {in, term}, {B, H});
            };
            State next;
            if (m_cell == Cell::Rnn) {
                next.value = activate(p + "gates_i", act[0], clip(p + "clip_i", pre(0)));
            } else if (m_cell == Cell::Gru) {
                // Ht = ht - zt (.) (ht - Ht-1), which is (1 - zt) (.) ht + zt (.) Ht-1.
                const std::string z = activate(p + "gates_z", act[0], clip(p + "clip_z", pre(0)));
                const std::string r = activate(p + "gates_r", act[0], clip(p + "clip_r", pre(1)));
                std::string xh = proj[2];
                if (T > 1) {
                    xh = time_major
                             ? slice(p + "x_h", proj[2], 0, t * B, (t + 1) * B, {B, H})
                             : reshape(p + "x_h",
                                       slice(p + "x_h_slice", proj[2], 1, t, t + 1, {B, 1, H}),
                                       {B, H});
                }
                std::string hpre = xh;
                if (!m_lbr) {
                    // ht = g(Xt*(Wh^T) + (rt (.) Ht-1)*(Rh^T) + Rbh + Wbh)
                    if (!h.zero) {
                        State rh;
                        rh.value = mul_state(p + "reset", r, h);
                        hpre = add_recurrent(p + "pre_h", xh, rh, d, 2);
                    }
                } else {
                    // ht = g(Xt*(Wh^T) + rt (.) (Ht-1*(Rh^T) + Rbh) + Wbh)
                    const std::vector<double> rbh = rec_bias(d, 2);
                    std::string lin;
                    if (!h.value.empty()) {
                        lin =
                            emit(p + "rec_h", "MatMul",
                                 {h.value, constant(p + "rec_h.R", weight_t(m_r, d, 2, H), {H, H})},
                                 {B, H});
                        lin = emit(p + "rec_h_bias", "Add",
                                   {lin, constant(p + "rec_h.B", rbh, {H})}, {B, H});
                    } else if (h.zero) {
                        lin = constant(p + "rec_h.B", rbh, {H});  // per channel
                    } else {
                        std::vector<double> v(static_cast<std::size_t>(B * H));
                        const std::vector<double> rt = weight_t(m_r, d, 2, H);
                        for (int64_t b = 0; b < B; ++b)
                            for (int64_t j = 0; j < H; ++j) {
                                double acc = rbh[static_cast<std::size_t>(j)];
                                for (int64_t m = 0; m < H; ++m)
                                    acc += h.constant[static_cast<std::size_t>(b * H + m)] *
                                           rt[static_cast<std::size_t>(m * H + j)];
                                v[static_cast<std::size_t>(b * H + j)] = acc;
                            }
                        lin = constant(p + "rec_h.h0R", v, {B, H});
                    }
                    hpre = emit(p + "pre_h", "Add",
                                {xh, emit(p + "reset", "Mul", {r, lin}, {B, H})}, {B, H});
                }
                const std::string hh = activate(p + "gates_h", act[1], clip(p + "clip_h", hpre));
                std::string diff = hh;
                if (!h.zero) {
                    const std::string hp =
                        h.value.empty() ? constant(p + "h_prev", h.constant, {B, H}) : h.value;
                    diff = emit(p + "h_delta", "Sub", {hh, hp}, {B, H});
                }
                next.value = emit(p + "h", "Sub",
                                  {hh, emit(p + "h_update", "Mul", {z, diff}, {B, H})}, {B, H});
            } else {
                // it = f(.. + Pi (.) Ct-1), ft = f(.. + Pf (.) Ct-1) or 1 - it, ct = g(..),
                // Ct = ft (.) Ct-1 + it (.) ct, ot = f(.. + Po (.) Ct), Ht = ot (.) h(Ct).
                const std::string i =
                    activate(p + "gates_i", act[0], clip(p + "clip_i", peephole(pre(0), 0, c)));
                const std::string cc = activate(p + "gates_c", act[1], clip(p + "clip_c", pre(3)));
                std::string cnew = emit(p + "c_in", "Mul", {i, cc}, {B, H});
                if (!c.zero) {
                    std::string f;
                    if (m_input_forget) {
                        const std::string neg =
                            emit(p + "gates_f_neg", "Mul",
                                 {i, constant(p + "gates_f.k", {-1.0}, {})}, {B, H});
                        f = emit(p + "gates_f", "Add",
                                 {neg, constant(p + "gates_f.one", {1.0}, {})}, {B, H});
                    } else {
                        f = activate(p + "gates_f", act[0],
                                     clip(p + "clip_f", peephole(pre(2), 2, c)));
                    }
                    cnew = emit(p + "c", "Add", {mul_state(p + "c_keep", f, c), cnew}, {B, H});
                }
                State cs;
                cs.value = cnew;
                const std::string o =
                    activate(p + "gates_o", act[0], clip(p + "clip_o", peephole(pre(1), 1, cs)));
                next.value = emit(p + "h", "Mul", {o, activate(p + "c_act", act[2], cnew)}, {B, H});
                c = cs;
            }
            h = next;
            y[static_cast<std::size_t>(t)].push_back(h.value);
        }
        y_h.push_back(h.value);
        if (m_cell == Cell::Lstm) y_c.push_back(c.value);
    }
    // Outputs nothing reads are not built.
    auto wanted = [&](std::size_t i) {
        return i < m_node.outputs.size() && m_read.count(m_node.outputs[i]);
    };
    const Shape state = m_batch_major ? Shape{B, D, H} : Shape{D, B, H};
    if (wanted(0)) {
        std::vector<std::string> pieces;
        for (const auto& per_t : y) pieces.insert(pieces.end(), per_t.begin(), per_t.end());
        concat_states(m_node.name + "/Y", pieces,
                      m_batch_major ? Shape{B, T, D, H} : Shape{T, D, B, H}, m_node.outputs[0]);
    }
    if (wanted(1)) concat_states(m_node.name + "/Y_h", y_h, state, m_node.outputs[1]);
    if (wanted(2)) concat_states(m_node.name + "/Y_c", y_c, state, m_node.outputs[2]);
    for (std::size_t i = 0; i < m_node.outputs.size(); ++i)
        if (!wanted(i)) m_g.values.erase(m_node.outputs[i]);
    return std::move(m_out);
}

bool is_recurrent(const Node& n) {
    return n.domain.empty() && (n.op_type == "LSTM" || n.op_type == "GRU" || n.op_type == "RNN");
}

Cell cell_of(const Node& n) {
    return n.op_type == "LSTM" ? Cell::Lstm : n.op_type == "GRU" ? Cell::Gru : Cell::Rnn;
}

}  // namespace

std::string recurrent_kept_reason(const Graph& graph, const Node& node) {
    if (!is_recurrent(node)) return "";
    Graph scratch = graph;  // setup() only reads; the Unroller holds a mutable graph
    std::set<std::string> names, read;
    Unroller u(scratch, node, cell_of(node), names, read);
    try {
        u.setup();
    } catch (const Keep& k) {
        return k.reason;
    }
    return "";
}

std::vector<RecurrentKept> unroll_recurrent(Graph& graph) {
    std::vector<RecurrentKept> kept;
    std::set<std::string> names, read(graph.outputs.begin(), graph.outputs.end());
    for (const Node& n : graph.nodes) {
        names.insert(n.name);
        read.insert(n.inputs.begin(), n.inputs.end());
    }
    std::vector<Node> nodes;
    std::set<std::string> dropped;  // inputs of unrolled nodes, removed if nothing else reads them
    bool changed = false;
    for (Node& n : graph.nodes) {
        if (!is_recurrent(n)) {
            nodes.push_back(std::move(n));
            continue;
        }
        // Only setup() throws Keep, before anything is added to the graph.
        Unroller u(graph, n, cell_of(n), names, read);
        try {
            std::vector<Node> steps = u.run();
            graph.folded.push_back(
                {n.name, n.op_type, u.into,
                 "unrolled into per-step GEMMs and element-wise ops (" + n.name + "/t<k>/...)"});
            dropped.insert(n.inputs.begin(), n.inputs.end());
            for (Node& s : steps) nodes.push_back(std::move(s));
            changed = true;
        } catch (const Keep& k) {
            kept.push_back({n.name, k.reason});
            nodes.push_back(std::move(n));
        }
    }
    graph.nodes = std::move(nodes);
    if (!changed) return kept;
    std::set<std::string> used(graph.inputs.begin(), graph.inputs.end());
    used.insert(graph.outputs.begin(), graph.outputs.end());
    for (const Node& n : graph.nodes) used.insert(n.inputs.begin(), n.inputs.end());
    for (const std::string& v : dropped)
        if (!v.empty() && !used.count(v) && graph.is_constant(v)) graph.values.erase(v);
    return kept;
}

}  // namespace xpusim::lower
