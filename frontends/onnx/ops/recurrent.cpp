// RNN, GRU and LSTM: one recurrent layer run over a sequence, forward, in reverse or both ways
// (opsets 1 to 14). Gate math runs in double, the state is kept in the element type between
// steps, as ONNX Runtime keeps it in fp32. Gate orders in W, R and B: RNN i; GRU z, r, h;
// LSTM i, o, f, c (peepholes P: i, o, f). Opset 1's output_sequence only made Y optional: Y
// is computed whenever the node names it.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <optional>

#include "frontends/onnx/ops/op_utils.h"

namespace xpusim::frontend::ops {
namespace {

enum class Cell { Rnn, Gru, Lstm };

int64_t gates_of(Cell c) {
    return c == Cell::Rnn ? 1 : c == Cell::Gru ? 3 : 4;
}

// Activation functions per direction: RNN f; GRU f, g; LSTM f, g, h.
int64_t activations_of(Cell c) {
    return c == Cell::Rnn ? 1 : c == Cell::Gru ? 2 : 3;
}

// One of the activation functions the spec lists, with its alpha and beta.
struct Activation {
    enum class Kind {
        Relu,
        Tanh,
        Sigmoid,
        Affine,
        LeakyRelu,
        ThresholdedRelu,
        ScaledTanh,
        HardSigmoid,
        Elu,
        Softsign,
        Softplus
    };
    Kind kind = Kind::Sigmoid;
    double alpha = 0.0, beta = 0.0;

    double operator()(double x) const {
        switch (kind) {
            case Kind::Relu:
                return std::max(0.0, x);
            case Kind::Tanh:
                return std::tanh(x);
            case Kind::Sigmoid:
                return 1.0 / (1.0 + std::exp(-x));
            case Kind::Affine:
                return alpha * x + beta;
            case Kind::LeakyRelu:
                return x >= 0 ? x : alpha * x;
            case Kind::ThresholdedRelu:
                return x >= alpha ? x : 0.0;
            case Kind::ScaledTanh:
                return alpha * std::tanh(beta * x);
            case Kind::HardSigmoid:
                return std::clamp(alpha * x + beta, 0.0, 1.0);
            case Kind::Elu:
                return x >= 0 ? x : alpha * (std::exp(x) - 1.0);
            case Kind::Softsign:
                return x / (1.0 + std::fabs(x));
            case Kind::Softplus:
                return std::log1p(std::exp(-std::fabs(x))) + std::max(x, 0.0);
        }
        return x;
    }
};

// Name (matched without case, as ONNX Runtime does), kind, and how many of alpha and beta it
// takes with their defaults: those of the ONNX operator of the same name (Affine's from the
// experimental op it was). ScaledTanh's op gave none, so it needs both values. ONNX Runtime
// reads a missing Affine, ThresholdedRelu or ScaledTanh value as 0; this follows the spec.
struct ActivationInfo {
    const char* name;
    Activation::Kind kind;
    int takes;  // 0: none, 1: alpha, 2: alpha and beta
    bool has_default;
    double alpha, beta;
};

// One entry a line, as a table.
// clang-format off
constexpr ActivationInfo kActivations[] = {
    {"relu", Activation::Kind::Relu, 0, true, 0.0, 0.0},
    {"tanh", Activation::Kind::Tanh, 0, true, 0.0, 0.0},
    {"sigmoid", Activation::Kind::Sigmoid, 0, true, 0.0, 0.0},
    {"affine", Activation::Kind::Affine, 2, true, 1.0, 0.0},
    {"leakyrelu", Activation::Kind::LeakyRelu, 1, true, 0.01, 0.0},
    {"thresholdedrelu", Activation::Kind::ThresholdedRelu, 1, true, 1.0, 0.0},
    {"scaledtanh", Activation::Kind::ScaledTanh, 2, false, 0.0, 0.0},
    {"hardsigmoid", Activation::Kind::HardSigmoid, 2, true, 0.2, 0.5},
    {"elu", Activation::Kind::Elu, 1, true, 1.0, 0.0},
    {"softsign", Activation::Kind::Softsign, 0, true, 0.0, 0.0},
    {"softplus", Activation::Kind::Softplus, 0, true, 0.0, 0.0},
};
// clang-format on

// The activations for every direction, in order. activation_alpha and activation_beta are
// consumed in that order by the functions that take them; defaults fill in when they run out.
std::vector<Activation> parse_activations(const Node& node, Cell cell, int64_t dirs) {
    const std::size_t per_dir = static_cast<std::size_t>(activations_of(cell));
    const std::size_t want = per_dir * static_cast<std::size_t>(dirs);
    std::vector<std::string> names;
    if (auto it = node.attrs.find("activations"); it != node.attrs.end()) {
        if (it->second.kind != Attribute::Kind::Strings)
            fail(node, "attribute 'activations' must be a list of strings");
        names = it->second.strings;
    }
    if (names.empty()) {
        const std::vector<std::string> def =
            cell == Cell::Rnn   ? std::vector<std::string>{"Tanh"}
            : cell == Cell::Gru ? std::vector<std::string>{"Sigmoid", "Tanh"}
                                : std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"};
        for (int64_t d = 0; d < dirs; ++d) names.insert(names.end(), def.begin(), def.end());
    }
    // RNN's schema default lists two (["Tanh", "Tanh"]) even for one direction; ONNX Runtime
    // reads the first.
    if (cell == Cell::Rnn && dirs == 1 && names.size() == 2) names.resize(1);
    if (names.size() != want)
        fail(node, "attribute 'activations' has " + std::to_string(names.size()) +
                       " entries, expected " + std::to_string(want) + " (" +
                       std::to_string(per_dir) + " per direction)");
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
        if (!info)
            throw sim::UnsupportedError(node.describe() + ": activation '" + name +
                                        "' is not supported");
        Activation a{info->kind, info->alpha, info->beta};
        const bool given =
            (info->takes < 1 || ai < alphas.size()) && (info->takes < 2 || bi < betas.size());
        if (!info->has_default && !given)
            throw sim::UnsupportedError(node.describe() + ": activation '" + name +
                                        "' needs activation_alpha and activation_beta values "
                                        "(the spec gives it no defaults)");
        if (info->takes >= 1 && ai < alphas.size()) a.alpha = alphas[ai++];
        if (info->takes >= 2 && bi < betas.size()) a.beta = betas[bi++];
        out.push_back(a);
    }
    if (ai != alphas.size() || bi != betas.size())
        fail(node, "activation_alpha/activation_beta give " + std::to_string(alphas.size()) + "/" +
                       std::to_string(betas.size()) + " values, the activations take " +
                       std::to_string(ai) + "/" + std::to_string(bi));
    return out;
}

// Everything the attributes and input shapes fix. layout 0: X [seq, batch, input],
// Y [seq, dirs, batch, hidden], states [dirs, batch, hidden]; layout 1: X [batch, seq, input],
// Y [batch, seq, dirs, hidden], states [batch, dirs, hidden].
struct RecurrentSpec {
    Cell cell = Cell::Lstm;
    int64_t seq = 0, batch = 0, input = 0, hidden = 0, dirs = 1;
    bool batch_major = false;  // layout 1
    bool reverse = false;      // direction "reverse" (one direction, run from the end)
    std::vector<Activation> act;
    std::optional<double> clip;
    bool linear_before_reset = false;  // GRU
    bool input_forget = false;         // LSTM
};

RecurrentSpec make_spec(const OpArgs& a, Cell cell) {
    const Node& node = a.node;
    RecurrentSpec s;
    s.cell = cell;
    const std::string direction = node.attr_string("direction", "forward");
    if (direction == "bidirectional")
        s.dirs = 2;
    else if (direction == "reverse")
        s.reverse = true;
    else if (direction != "forward")
        throw sim::UnsupportedError(node.describe() + ": direction '" + direction +
                                    "' is not supported");
    const int64_t layout = node.attr_int("layout", 0);
    if (layout != 0 && layout != 1)
        throw sim::UnsupportedError(node.describe() + ": layout " + std::to_string(layout) +
                                    " is not supported");
    s.batch_major = layout == 1;
    const Shape& x = a.shape(0);
    const Shape& w = a.shape(1);
    const Shape& r = a.shape(2);
    if (x.size() != 3) fail(node, "X must be 3-D, got " + sim::shape_str(x));
    s.seq = x[s.batch_major ? 1 : 0];
    s.batch = x[s.batch_major ? 0 : 1];
    s.input = x[2];
    const int64_t g = gates_of(cell);
    if (r.size() != 3 || r[0] != s.dirs || r[1] != g * r[2])
        fail(node, "R must be [" + std::to_string(s.dirs) + ", " + std::to_string(g) +
                       "*hidden, hidden], got " + sim::shape_str(r));
    s.hidden = r[2];
    if (node.has_attr("hidden_size") && node.attr_int("hidden_size", 0) != s.hidden)
        fail(node, "hidden_size " + std::to_string(node.attr_int("hidden_size", 0)) +
                       " does not match R " + sim::shape_str(r));
    if (w != Shape{s.dirs, g * s.hidden, s.input})
        fail(node, "W must be " + sim::shape_str({s.dirs, g * s.hidden, s.input}) + ", got " +
                       sim::shape_str(w));
    const DType t = a.dtype(0);
    if (a.dtype(1) != t || a.dtype(2) != t) fail(node, "X, W and R must have one element type");
    const Shape state =
        s.batch_major ? Shape{s.batch, s.dirs, s.hidden} : Shape{s.dirs, s.batch, s.hidden};
    auto check = [&](std::size_t i, const char* name, const Shape& want, DType dtype) {
        if (!a.has(i)) return;
        if (a.shape(i) != want || a.dtype(i) != dtype)
            fail(node, std::string(name) + " must be " + sim::dtype_name(dtype) + "[" +
                           sim::shape_str(want) + "], got " + sim::dtype_name(a.dtype(i)) + "[" +
                           sim::shape_str(a.shape(i)) + "]");
    };
    check(3, "B", {s.dirs, 2 * g * s.hidden}, t);
    check(4, "sequence_lens", {s.batch}, DType::Int32);
    check(5, "initial_h", state, t);
    if (cell == Cell::Lstm) {
        check(6, "initial_c", state, t);
        check(7, "P", {s.dirs, 3 * s.hidden}, t);
    }
    s.act = parse_activations(node, cell, s.dirs);
    if (node.has_attr("clip")) {
        s.clip = node.attr_float("clip", 0.0);
        if (!(*s.clip > 0.0)) fail(node, "clip must be positive");
    }
    if (cell == Cell::Gru) s.linear_before_reset = node.attr_int("linear_before_reset", 0) != 0;
    if (cell == Cell::Lstm) s.input_forget = node.attr_int("input_forget", 0) != 0;
    return s;
}

// Offsets of element (t, b, j) of X or Y and (d, b, j) of a state, by layout.
struct Layout {
    const RecurrentSpec& s;
    int64_t x(int64_t t, int64_t b) const {
        return (s.batch_major ? b * s.seq + t : t * s.batch + b) * s.input;
    }
    int64_t y(int64_t t, int64_t d, int64_t b) const {
        return (s.batch_major ? (b * s.seq + t) * s.dirs + d : (t * s.dirs + d) * s.batch + b) *
               s.hidden;
    }
    int64_t state(int64_t d, int64_t b) const {
        return (s.batch_major ? b * s.dirs + d : d * s.batch + b) * s.hidden;
    }
};

// sum_k m[row, k] * v[k] in double.
template <class T>
double dot_row(const T* m, int64_t row, int64_t n, const T* v) {
    const T* p = m + row * n;
    double acc = 0.0;
    for (int64_t k = 0; k < n; ++k) acc += static_cast<double>(p[k]) * static_cast<double>(v[k]);
    return acc;
}

template <class T>
struct RecurrentRun {
    const RecurrentSpec& s;
    const KernelContext& ctx;
    Layout at{s};

    double clip(double v) const { return s.clip ? std::clamp(v, -*s.clip, *s.clip) : v; }

    // Runs direction d for one batch entry over its first `len` steps, writing Y and leaving
    // the final states in h and c.
    void run(int64_t d, int64_t b, int64_t len, T* h, T* c, T* y) const {
        const int64_t H = s.hidden, I = s.input, G = gates_of(s.cell);
        const T* x = ctx.in(0).template data<T>();
        const T* w = ctx.in(1).template data<T>() + d * G * H * I;
        const T* r = ctx.in(2).template data<T>() + d * G * H * H;
        // Wb then Rb, G * H each; zero when B is omitted.
        std::vector<double> wb(G * H, 0.0), rb(G * H, 0.0);
        if (ctx.has(3)) {
            const T* bias = ctx.in(3).template data<T>() + d * 2 * G * H;
            for (int64_t k = 0; k < G * H; ++k) wb[k] = bias[k], rb[k] = bias[G * H + k];
        }
        std::vector<double> p(3 * H, 0.0);
        if (s.cell == Cell::Lstm && ctx.has(7)) {
            const T* peep = ctx.in(7).template data<T>() + d * 3 * H;
            for (int64_t k = 0; k < 3 * H; ++k) p[k] = peep[k];
        }
        const Activation* act = &s.act[d * activations_of(s.cell)];
        const bool backward = s.reverse || d == 1;
        std::vector<double> gx(G * H), gh(G * H), z(H), rt(H);
        std::vector<T> h_prev(H), rh(H);
        for (int64_t step = 0; step < len; ++step) {
            const int64_t t = backward ? len - 1 - step : step;
            const T* xt = x + at.x(t, b);
            std::copy(h, h + H, h_prev.begin());
            for (int64_t k = 0; k < G * H; ++k) gx[k] = dot_row(w, k, I, xt) + wb[k];
            switch (s.cell) {
                case Cell::Rnn:
                    // Ht = f(Xt*(Wi^T) + Ht-1*(Ri^T) + Wbi + Rbi)
                    for (int64_t j = 0; j < H; ++j)
                        h[j] = static_cast<T>(
                            act[0](clip(gx[j] + dot_row(r, j, H, h_prev.data()) + rb[j])));
                    break;
                case Cell::Gru: {
                    // zt = f(Xt*(Wz^T) + Ht-1*(Rz^T) + Wbz + Rbz), rt likewise;
                    // ht = g(Xt*(Wh^T) + (rt (.) Ht-1)*(Rh^T) + Rbh + Wbh), or with
                    // linear_before_reset ht = g(Xt*(Wh^T) + rt (.) (Ht-1*(Rh^T) + Rbh) + Wbh);
                    // Ht = (1 - zt) (.) ht + zt (.) Ht-1.
                    for (int64_t j = 0; j < H; ++j) {
                        z[j] = act[0](clip(gx[j] + dot_row(r, j, H, h_prev.data()) + rb[j]));
                        rt[j] = act[0](
                            clip(gx[H + j] + dot_row(r, H + j, H, h_prev.data()) + rb[H + j]));
                    }
                    if (!s.linear_before_reset)
                        for (int64_t j = 0; j < H; ++j)
                            rh[j] = static_cast<T>(rt[j] * static_cast<double>(h_prev[j]));
                    for (int64_t j = 0; j < H; ++j) {
                        const int64_t k = 2 * H + j;
                        const double pre =
                            s.linear_before_reset
                                ? gx[k] + rt[j] * (dot_row(r, k, H, h_prev.data()) + rb[k])
                                : gx[k] + dot_row(r, k, H, rh.data()) + rb[k];
                        const double ht = act[1](clip(pre));
                        h[j] = static_cast<T>((1.0 - z[j]) * ht +
                                              z[j] * static_cast<double>(h_prev[j]));
                    }
                    break;
                }
                case Cell::Lstm:
                    // it = f(Xt*(Wi^T) + Ht-1*(Ri^T) + Pi (.) Ct-1 + Wbi + Rbi)
                    // ft = f(Xt*(Wf^T) + Ht-1*(Rf^T) + Pf (.) Ct-1 + Wbf + Rbf), or 1 - it
                    //      with input_forget
                    // ct = g(Xt*(Wc^T) + Ht-1*(Rc^T) + Wbc + Rbc)
                    // Ct = ft (.) Ct-1 + it (.) ct
                    // ot = f(Xt*(Wo^T) + Ht-1*(Ro^T) + Po (.) Ct + Wbo + Rbo)
                    // Ht = ot (.) h(Ct)
                    for (int64_t k = 0; k < G * H; ++k)
                        gh[k] = gx[k] + dot_row(r, k, H, h_prev.data()) + rb[k];
                    for (int64_t j = 0; j < H; ++j) {
                        const double c_prev = c[j];
                        const double it = act[0](clip(gh[j] + p[j] * c_prev));
                        const double ft = s.input_forget
                                              ? 1.0 - it
                                              : act[0](clip(gh[2 * H + j] + p[2 * H + j] * c_prev));
                        const double ct = act[1](clip(gh[3 * H + j]));
                        const double c_new = ft * c_prev + it * ct;
                        c[j] = static_cast<T>(c_new);
                        const double ot = act[0](clip(gh[H + j] + p[H + j] * c_new));
                        h[j] = static_cast<T>(ot * act[2](c_new));
                    }
                    break;
            }
            if (y) std::copy(h, h + H, y + at.y(t, d, b));
        }
    }
};

OpKernel recurrent_kernel(Cell cell) {
    OpKernel k;
    k.infer = [cell](InferContext& ctx) {
        const RecurrentSpec s = make_spec(args_of(ctx), cell);
        const DType t = ctx.in(0).dtype;
        const Shape state =
            s.batch_major ? Shape{s.batch, s.dirs, s.hidden} : Shape{s.dirs, s.batch, s.hidden};
        ctx.set_output(0, t,
                       s.batch_major ? Shape{s.batch, s.seq, s.dirs, s.hidden}
                                     : Shape{s.seq, s.dirs, s.batch, s.hidden});
        ctx.set_output(1, t, state);
        if (cell == Cell::Lstm) ctx.set_output(2, t, state);
    };
    k.compute = [cell](const KernelContext& ctx) {
        const RecurrentSpec s = make_spec(args_of(ctx), cell);
        const DType dtype = ctx.in(0).dtype();
        const Shape state_shape =
            s.batch_major ? Shape{s.batch, s.dirs, s.hidden} : Shape{s.dirs, s.batch, s.hidden};
        const bool want_y = ctx.node.outputs.size() > 0 && !ctx.node.outputs[0].empty();
        Tensor y = want_y ? Tensor(dtype, s.batch_major ? Shape{s.batch, s.seq, s.dirs, s.hidden}
                                                        : Shape{s.seq, s.dirs, s.batch, s.hidden})
                          : Tensor();
        // The running states start as initial_h / initial_c (zero when omitted) and end as
        // Y_h / Y_c. Steps past a batch entry's sequence_lens leave Y zero.
        Tensor yh = ctx.has(5) ? ctx.in(5).clone() : Tensor(dtype, state_shape);
        Tensor yc =
            cell == Cell::Lstm && ctx.has(6) ? ctx.in(6).clone() : Tensor(dtype, state_shape);
        std::vector<int64_t> lens(static_cast<std::size_t>(s.batch), s.seq);
        if (ctx.has(4)) {
            const int32_t* sl = ctx.in(4).data<int32_t>();
            for (int64_t b = 0; b < s.batch; ++b) {
                if (sl[b] < 0 || sl[b] > s.seq)
                    fail(ctx.node, "sequence_lens[" + std::to_string(b) +
                                       "] = " + std::to_string(sl[b]) + " is outside [0, " +
                                       std::to_string(s.seq) + "]");
                lens[b] = sl[b];
            }
        }
        dispatch_float(dtype, ctx.node, [&](auto tag) {
            using T = decltype(tag);
            const RecurrentRun<T> run{s, ctx};
            const Layout at{s};
            for (int64_t d = 0; d < s.dirs; ++d)
                for (int64_t b = 0; b < s.batch; ++b)
                    run.run(d, b, lens[b], yh.data<T>() + at.state(d, b),
                            yc.data<T>() + at.state(d, b), want_y ? y.data<T>() : nullptr);
        });
        std::vector<Tensor> out{y, yh};
        if (cell == Cell::Lstm) out.push_back(yc);
        return out;
    };
    return k;
}

XPUSIM_REGISTER_OP("RNN", recurrent_kernel(Cell::Rnn));
XPUSIM_REGISTER_OP("GRU", recurrent_kernel(Cell::Gru));
XPUSIM_REGISTER_OP("LSTM", recurrent_kernel(Cell::Lstm));

}  // namespace
}  // namespace xpusim::frontend::ops
