// Loss functions: NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (opset 12 and 13). The
// input is [N, C, d1..dk] and the target [N, d1..dk] of class indices; the loss of one element is
// -weight[c] * input[n][c][d] with c = target[n][d] (weight 1 without 'weights'), and 0 where c
// equals ignore_index. reduction 'none' returns that tensor, 'sum' its sum and 'mean' its sum
// divided by the sum of the weights taken (the count of elements not ignored without weights;
// 0/0 = NaN when every element is ignored, as the formula gives). SoftmaxCrossEntropyLoss runs
// NegativeLogLikelihoodLoss on LogSoftmax(scores) along axis 1, which it can also return.
#include <algorithm>
#include <cmath>
#include <optional>

#include "frontends/onnx/ops/op_utils.h"

namespace xpusim::frontend::ops {
namespace {

enum class Reduction { None, Sum, Mean };

struct LossSpec {
    Reduction reduction = Reduction::Mean;
    std::optional<int64_t> ignore_index;
};

LossSpec loss_spec(const Node& node) {
    LossSpec s;
    const std::string r = node.attr_string("reduction", "mean");
    if (r == "none")
        s.reduction = Reduction::None;
    else if (r == "sum")
        s.reduction = Reduction::Sum;
    else if (r != "mean")
        throw sim::UnsupportedError(node.describe() + ": reduction '" + r +
                                    "' is not supported (none, sum or mean)");
    if (node.has_attr("ignore_index")) s.ignore_index = node.attr_int("ignore_index", 0);
    return s;
}

// Checks input [N, C, d1..dk], target [N, d1..dk] and weight [C] (when given) against each other.
void check_loss_shapes(const Node& node, const Shape& input, const Shape& target,
                       const Shape* weight) {
    if (input.size() < 2)
        fail(node, "input must have rank >= 2 ([N, C, d1..dk]), got " + sim::shape_str(input));
    Shape want = input;
    want.erase(want.begin() + 1);
    if (target != want)
        fail(node, "target shape " + sim::shape_str(target) + " does not match input shape " +
                       sim::shape_str(input) + " (it must be " + sim::shape_str(want) + ")");
    if (weight && *weight != Shape{input[1]})
        fail(node, "weight shape " + sim::shape_str(*weight) + " must be [" +
                       std::to_string(input[1]) + "]");
}

void check_target_type(const Node& node, DType t) {
    if (t != DType::Int32 && t != DType::Int64)
        fail(node, std::string("target must be int32 or int64, got ") + sim::dtype_name(t));
}

void infer_loss(InferContext& ctx) {
    const InferInput& x = ctx.in(0);
    const InferInput& target = ctx.in(1);
    check_target_type(ctx.node, target.dtype);
    const bool weighted = ctx.node.has_input(2);
    check_loss_shapes(ctx.node, x.shape, target.shape, weighted ? &ctx.in(2).shape : nullptr);
    if (weighted && ctx.in(2).dtype != x.dtype)
        ctx.fail("weight must have the input's element type");
    const LossSpec spec = loss_spec(ctx.node);
    ctx.set_output(0, x.dtype, spec.reduction == Reduction::None ? target.shape : Shape{});
    if (ctx.node.op_type == "SoftmaxCrossEntropyLoss" && ctx.node.num_outputs_given() > 1)
        ctx.set_output(1, x.dtype, x.shape);
}

// The loss of log-probabilities `logp` ([N, C, D] row-major) against `target` ([N, D]).
template <class T>
Tensor nll_loss(const Node& node, const LossSpec& spec, const T* logp, const Shape& input_shape,
                const Tensor& target, const T* weight) {
    const int64_t n = input_shape[0];
    const int64_t c = input_shape[1];
    const int64_t d = dims_product(input_shape, 2, input_shape.size());
    const std::vector<int64_t> cls = target.to_int64_vector();
    std::vector<double> loss(cls.size(), 0.0);
    double weight_sum = 0.0;
    for (int64_t i = 0; i < n; ++i) {
        for (int64_t j = 0; j < d; ++j) {
            const int64_t t = cls[i * d + j];
            if (spec.ignore_index && t == *spec.ignore_index) continue;
            if (t < 0 || t >= c)
                fail(node, "target value " + std::to_string(t) + " is out of range [0, " +
                               std::to_string(c) + ")");
            const double w = weight ? static_cast<double>(weight[t]) : 1.0;
            loss[i * d + j] = -w * static_cast<double>(logp[(i * c + t) * d + j]);
            weight_sum += w;
        }
    }
    if (spec.reduction == Reduction::None) {
        Tensor y(sim::DTypeOf<T>::value, target.shape());
        T* out = y.data<T>();
        for (std::size_t k = 0; k < loss.size(); ++k) out[k] = static_cast<T>(loss[k]);
        return y;
    }
    double sum = 0.0;
    for (double v : loss) sum += v;
    return Tensor::scalar<T>(
        static_cast<T>(spec.reduction == Reduction::Sum ? sum : sum / weight_sum));
}

// log_softmax along axis 1 of [N, C, D]: (x - m) - log(sum(exp(x - m))), m the maximum over C.
template <class T>
Tensor log_softmax_axis1(const Tensor& x) {
    Tensor y(x.dtype(), x.shape());
    const int64_t n = x.shape()[0];
    const int64_t c = x.shape()[1];
    const int64_t d = dims_product(x.shape(), 2, x.shape().size());
    const T* in = x.data<T>();
    T* out = y.data<T>();
    for (int64_t i = 0; i < n; ++i) {
        for (int64_t j = 0; j < d; ++j) {
            const T* xi = in + i * c * d + j;
            double m = -std::numeric_limits<double>::infinity();
            for (int64_t k = 0; k < c; ++k) m = std::max(m, static_cast<double>(xi[k * d]));
            double sum = 0.0;
            for (int64_t k = 0; k < c; ++k) sum += std::exp(static_cast<double>(xi[k * d]) - m);
            const double log_sum = std::log(sum);
            for (int64_t k = 0; k < c; ++k)
                out[i * c * d + k * d + j] =
                    static_cast<T>((static_cast<double>(xi[k * d]) - m) - log_sum);
        }
    }
    return y;
}

// Checks the inputs at run time, as infer_loss does at load time.
void check_loss_inputs(const KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    check_target_type(ctx.node, ctx.in(1).dtype());
    check_loss_shapes(ctx.node, x.shape(), ctx.in(1).shape(),
                      ctx.has(2) ? &ctx.in(2).shape() : nullptr);
    if (ctx.has(2) && ctx.in(2).dtype() != x.dtype())
        ctx.fail("weight must have the input's element type");
}

std::vector<Tensor> compute_nll(const KernelContext& ctx) {
    check_loss_inputs(ctx);
    const Tensor& x = ctx.in(0);
    const LossSpec spec = loss_spec(ctx.node);
    Tensor y;
    dispatch_float(x.dtype(), ctx.node, [&](auto tag) {
        using T = decltype(tag);
        y = nll_loss<T>(ctx.node, spec, x.data<T>(), x.shape(), ctx.in(1),
                        ctx.has(2) ? ctx.in(2).data<T>() : nullptr);
    });
    return {y};
}

std::vector<Tensor> compute_sce(const KernelContext& ctx) {
    check_loss_inputs(ctx);
    const Tensor& x = ctx.in(0);
    const LossSpec spec = loss_spec(ctx.node);
    std::vector<Tensor> out;
    dispatch_float(x.dtype(), ctx.node, [&](auto tag) {
        using T = decltype(tag);
        const Tensor log_prob = log_softmax_axis1<T>(x);
        out.push_back(nll_loss<T>(ctx.node, spec, log_prob.data<T>(), x.shape(), ctx.in(1),
                                  ctx.has(2) ? ctx.in(2).data<T>() : nullptr));
        out.push_back(log_prob);
    });
    return out;
}

XPUSIM_REGISTER_OP("NegativeLogLikelihoodLoss", OpKernel{infer_loss, compute_nll});
XPUSIM_REGISTER_OP("SoftmaxCrossEntropyLoss", OpKernel{infer_loss, compute_sce});

}  // namespace
}  // namespace xpusim::frontend::ops
