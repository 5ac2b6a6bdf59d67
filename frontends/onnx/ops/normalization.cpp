// Normalization: BatchNormalization (inference), InstanceNormalization, LayerNormalization,
// GroupNormalization, LRN and MeanVarianceNormalization. Statistics accumulate in double.
#include <algorithm>
#include <cmath>
#include <string>

#include "frontends/onnx/ops/op_utils.h"

namespace xpusim::frontend::ops {
namespace {

// Parameters (scale, bias, mean, ...) as doubles, whatever their element type.
std::vector<double> as_doubles(const Tensor& t) {
    std::vector<double> v(static_cast<std::size_t>(t.numel()));
    for (int64_t i = 0; i < t.numel(); ++i) v[i] = t.get_as_double(i);
    return v;
}

void require_rank(const KernelContext& ctx, const Tensor& x, int64_t min_rank) {
    if (x.rank() < min_rank)
        ctx.fail("input " + describe_tensor(x) + " must have rank >= " + std::to_string(min_rank));
}

// Elements per (image, channel): the product of the axes after the first two.
int64_t spatial_size(const Tensor& x) {
    int64_t p = 1;
    for (int64_t d = 2; d < x.rank(); ++d) p *= x.dim(d);
    return p;
}

// Number of non-empty outputs the node declares.
std::size_t declared_outputs(const Node& node) {
    std::size_t n = 0;
    for (const auto& o : node.outputs)
        if (!o.empty()) ++n;
    return n;
}

// ---- BatchNormalization ------------------------------------------------------------------------

// Training mode: training_mode = 1 from opset 14, the running-statistics outputs before.
void reject_training(const Node& node, int64_t opset) {
    if ((opset >= 14 && node.attr_int("training_mode", 0) != 0) ||
        (opset < 14 && declared_outputs(node) > 1))
        throw sim::UnsupportedError(
            node.describe() + ": training mode (running statistics outputs) is not supported");
}

void infer_batch_norm(InferContext& ctx) {
    reject_training(ctx.node, ctx.opset);
    ctx.set_output(0, ctx.in(0).dtype, ctx.in(0).shape);
}

// Inference: y = (x - mean) / sqrt(var + epsilon) * scale + B per channel (axis 1). Before
// opset 9, spatial = 0 gives every (channel, spatial position) its own parameters.
std::vector<Tensor> compute_batch_norm(const KernelContext& ctx) {
    const Node& node = ctx.node;
    reject_training(node, ctx.opset);
    const Tensor& x = ctx.in(0);
    require_rank(ctx, x, 2);
    const int64_t c = x.dim(1);
    const int64_t plane = spatial_size(x);
    const bool spatial = ctx.opset >= 9 || node.attr_int("spatial", 1) != 0;
    const int64_t per_image = spatial ? c : c * plane;
    std::vector<std::vector<double>> p;
    for (std::size_t i = 1; i <= 4; ++i) {
        const Tensor& t = ctx.in(i);
        if (t.numel() != per_image)
            ctx.fail("parameter " + std::to_string(i) + " " + describe_tensor(t) + " must have " +
                     std::to_string(per_image) + " values");
        p.push_back(as_doubles(t));
    }
    const double eps = node.attr_float("epsilon", 1e-5);
    // a = scale / sqrt(var + eps), b = B - mean * a, so y = x * a + b.
    std::vector<double> a(static_cast<std::size_t>(per_image)), b(a.size());
    for (std::size_t j = 0; j < a.size(); ++j) {
        a[j] = p[0][j] / std::sqrt(p[3][j] + eps);
        b[j] = p[1][j] - p[2][j] * a[j];
    }
    Tensor y = Tensor::uninitialized(x.dtype(), x.shape());  // every element is written
    dispatch_float(x.dtype(), node, [&](auto tag) {
        using T = decltype(tag);
        const T* px = x.data<T>();
        T* py = y.data<T>();
        const int64_t images = x.dim(0);
        // A plane's a and b: one pair (spatial), or one per element; either way a loop the
        // compiler vectorises.
#pragma omp parallel for schedule(static)
        for (int64_t nc = 0; nc < images * c; ++nc) {
            const int64_t ch = nc % c;
            const T* xs = px + nc * plane;
            T* ys = py + nc * plane;
            if (spatial) {
                const double ac = a[static_cast<std::size_t>(ch)], bc = b[static_cast<std::size_t>(ch)];
                for (int64_t i = 0; i < plane; ++i) ys[i] = static_cast<T>(static_cast<double>(xs[i]) * ac + bc);
            } else {
                const double* ac = a.data() + ch * plane;
                const double* bc = b.data() + ch * plane;
                for (int64_t i = 0; i < plane; ++i) ys[i] = static_cast<T>(static_cast<double>(xs[i]) * ac[i] + bc[i]);
            }
        }
    });
    return {y};
}

// ---- statistics over groups of elements ---------------------------------------------------------

// Mean and 1/sqrt(var + eps) (var biased) of `count` consecutive elements per group.
template <class T>
void group_stats(const T* x, int64_t groups, int64_t count, double eps, std::vector<double>& mean,
                 std::vector<double>& inv_std) {
    mean.assign(static_cast<std::size_t>(groups), 0.0);
    inv_std.assign(static_cast<std::size_t>(groups), 0.0);
#pragma omp parallel for schedule(static)
    for (int64_t g = 0; g < groups; ++g) {
        const T* p = x + g * count;
        double s = 0.0;
        for (int64_t i = 0; i < count; ++i) s += static_cast<double>(p[i]);
        const double m = count > 0 ? s / static_cast<double>(count) : 0.0;
        double v = 0.0;
        for (int64_t i = 0; i < count; ++i) {
            const double d = static_cast<double>(p[i]) - m;
            v += d * d;
        }
        v = count > 0 ? v / static_cast<double>(count) : 0.0;
        mean[g] = m;
        inv_std[g] = 1.0 / std::sqrt(v + eps);
    }
}

// ---- InstanceNormalization ---------------------------------------------------------------------

// y = (x - mean) / sqrt(var + epsilon) * scale[c] + B[c], statistics per (image, channel).
std::vector<Tensor> compute_instance_norm(const KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    require_rank(ctx, x, 2);
    const int64_t n = x.dim(0), c = x.dim(1);
    const int64_t plane = spatial_size(x);
    if (ctx.in(1).numel() != c || ctx.in(2).numel() != c)
        ctx.fail("scale and B must have " + std::to_string(c) + " values");
    const auto scale = as_doubles(ctx.in(1));
    const auto bias = as_doubles(ctx.in(2));
    const double eps = ctx.node.attr_float("epsilon", 1e-5);
    Tensor y(x.dtype(), x.shape());
    dispatch_float(x.dtype(), ctx.node, [&](auto tag) {
        using T = decltype(tag);
        std::vector<double> mean, inv_std;
        group_stats(x.data<T>(), n * c, plane, eps, mean, inv_std);
        const T* px = x.data<T>();
        T* py = y.data<T>();
        for (int64_t g = 0; g < n * c; ++g) {
            const double a = inv_std[g] * scale[g % c];
            for (int64_t i = 0; i < plane; ++i) {
                const int64_t e = g * plane + i;
                py[e] = static_cast<T>((static_cast<double>(px[e]) - mean[g]) * a + bias[g % c]);
            }
        }
    });
    return {y};
}

// ---- LayerNormalization ------------------------------------------------------------------------

// Statistics over axes [axis, rank): Mean, InvStdDev = 1 / sqrt(var + epsilon), both of shape
// X.shape[:axis] + [1] * (rank - axis) in the stash_type; y = (x - Mean) * InvStdDev * Scale + B
// with Scale and B broadcast to X (the opset-17 function body multiplies with numpy rules).
DType stash_dtype(const Node& node) {
    const int64_t st = node.attr_int("stash_type", 1);
    if (st == 1) return DType::Float32;
    if (st == 11) return DType::Float64;
    throw sim::UnsupportedError(node.describe() + ": stash_type " + std::to_string(st) +
                                " is not supported (float or double only)");
}

Shape stats_shape(const Shape& x, int64_t axis) {
    Shape s(x.begin(), x.begin() + axis);
    s.resize(x.size(), 1);
    return s;
}

void infer_layer_norm(InferContext& ctx) {
    const Shape& x = ctx.in(0).shape;
    const int64_t axis =
        normalize_axis(ctx.node.attr_int("axis", -1), static_cast<int64_t>(x.size()), ctx.node);
    ctx.set_output(0, ctx.in(0).dtype, x);
    const DType st = stash_dtype(ctx.node);
    for (std::size_t i = 1; i < 3; ++i)
        if (ctx.node.outputs.size() > i && !ctx.node.outputs[i].empty())
            ctx.set_output(i, st, stats_shape(x, axis));
}

std::vector<Tensor> layer_norm(const KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    const int64_t axis = normalize_axis(ctx.node.attr_int("axis", -1), x.rank(), ctx.node);
    const double eps = ctx.node.attr_float("epsilon", 1e-5);
    const DType st = stash_dtype(ctx.node);
    int64_t count = 1;
    for (int64_t d = axis; d < x.rank(); ++d) count *= x.dim(d);
    const int64_t groups = count == 0 ? 0 : x.numel() / count;
    // Scale (required) and B (optional) as doubles with their offsets for each element of x.
    std::vector<double> scale, bias;
    std::vector<int64_t> scale_off, bias_off;
    const auto load_param = [&](std::size_t i, std::vector<double>& v, std::vector<int64_t>& off) {
        const Tensor& t = ctx.in(i);
        if (broadcast_shapes(x.shape(), t.shape(), ctx.node) != x.shape())
            ctx.fail("input " + std::to_string(i) + " " + describe_tensor(t) +
                     " does not broadcast to " + describe_tensor(x));
        v = as_doubles(t);
        off = broadcast_offsets(t.shape(), x.shape());
    };
    load_param(1, scale, scale_off);
    if (ctx.has(2)) load_param(2, bias, bias_off);
    Tensor y(x.dtype(), x.shape());
    Tensor mean_t(st, stats_shape(x.shape(), axis));
    Tensor inv_t(st, stats_shape(x.shape(), axis));
    dispatch_float(x.dtype(), ctx.node, [&](auto tag) {
        using T = decltype(tag);
        std::vector<double> mean, inv_std;
        group_stats(x.data<T>(), groups, count, eps, mean, inv_std);
        const T* px = x.data<T>();
        T* py = y.data<T>();
        for (int64_t g = 0; g < groups; ++g)
            for (int64_t i = 0; i < count; ++i) {
                const int64_t e = g * count + i;
                double v =
                    (static_cast<double>(px[e]) - mean[g]) * inv_std[g] * scale[scale_off[e]];
                if (!bias.empty()) v += bias[bias_off[e]];
                py[e] = static_cast<T>(v);
            }
        dispatch_float(st, ctx.node, [&](auto stag) {
            using U = decltype(stag);
            for (int64_t g = 0; g < groups; ++g) {
                mean_t.data<U>()[g] = static_cast<U>(mean[g]);
                inv_t.data<U>()[g] = static_cast<U>(inv_std[g]);
            }
        });
    });
    std::vector<Tensor> out{y, mean_t, inv_t};
    out.resize(std::clamp<std::size_t>(ctx.node.outputs.size(), 1, 3));
    return out;
}

bool is_narrow_float(DType t) {
    return t == DType::Float16 || t == DType::BFloat16 || t == DType::Float8E4M3 ||
           t == DType::Float8E5M2;
}

// Runs with widen_half = false: Mean and InvStdDev keep the stash type even for fp16 / bf16 X,
// so narrow inputs are widened here and only Y is rounded back.
std::vector<Tensor> compute_layer_norm(const KernelContext& ctx) {
    std::vector<Tensor> widened;
    std::vector<const Tensor*> inputs = ctx.inputs;
    widened.reserve(inputs.size());
    for (auto& in : inputs)
        if (in && is_narrow_float(in->dtype())) {
            widened.push_back(in->cast(DType::Float32));
            in = &widened.back();
        }
    const DType x_type = ctx.in(0).dtype();
    std::vector<Tensor> out = layer_norm(KernelContext{ctx.node, ctx.opset, inputs});
    if (out[0].dtype() != x_type) out[0] = out[0].cast(x_type);
    return out;
}

// ---- GroupNormalization ------------------------------------------------------------------------

// Channels split into num_groups groups; statistics per (image, group) over its channels and
// spatial positions; y = (x - mean) / sqrt(var + epsilon) * scale + bias, scale and bias per
// channel (opset 21, or C values) or per group (opset 18 with num_groups values).
std::vector<Tensor> compute_group_norm(const KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    require_rank(ctx, x, 2);
    const int64_t groups = ctx.node.attr_int("num_groups", 0);
    const int64_t n = x.dim(0), c = x.dim(1);
    if (groups < 1 || c % groups != 0)
        ctx.fail("num_groups " + std::to_string(groups) + " does not divide " + std::to_string(c) +
                 " channels");
    const int64_t plane = spatial_size(x);
    const int64_t per_group = c / groups;
    const int64_t pn = ctx.in(1).numel();
    if (ctx.in(2).numel() != pn) ctx.fail("scale and bias sizes differ");
    const bool per_channel = pn == c;
    if (!per_channel && !(ctx.opset < 21 && pn == groups))
        ctx.fail("scale " + describe_tensor(ctx.in(1)) + " must have " +
                 (ctx.opset < 21 ? std::to_string(groups) + " or " : std::string()) +
                 std::to_string(c) + " values");
    const auto scale = as_doubles(ctx.in(1));
    const auto bias = as_doubles(ctx.in(2));
    const double eps = ctx.node.attr_float("epsilon", 1e-5);
    Tensor y(x.dtype(), x.shape());
    dispatch_float(x.dtype(), ctx.node, [&](auto tag) {
        using T = decltype(tag);
        std::vector<double> mean, inv_std;
        group_stats(x.data<T>(), n * groups, per_group * plane, eps, mean, inv_std);
        const T* px = x.data<T>();
        T* py = y.data<T>();
        for (int64_t nc = 0; nc < n * c; ++nc) {
            const int64_t ch = nc % c;
            const int64_t g = (nc / c) * groups + ch / per_group;
            const std::size_t j = static_cast<std::size_t>(per_channel ? ch : ch / per_group);
            for (int64_t i = 0; i < plane; ++i) {
                const int64_t e = nc * plane + i;
                py[e] = static_cast<T>(
                    (static_cast<double>(px[e]) - mean[g]) * inv_std[g] * scale[j] + bias[j]);
            }
        }
    });
    return {y};
}

// ---- LRN ---------------------------------------------------------------------------------------

// y = x / (bias + alpha / size * sum of x^2 over channels
//          [c - floor((size - 1) / 2), c + ceil((size - 1) / 2)])^beta
std::vector<Tensor> compute_lrn(const KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    require_rank(ctx, x, 2);
    const int64_t size = ctx.node.attr_int("size", 0);
    if (size < 1) ctx.fail("attribute 'size' must be positive");
    const double alpha = ctx.node.attr_float("alpha", 1e-4);
    const double beta = ctx.node.attr_float("beta", 0.75);
    const double bias = ctx.node.attr_float("bias", 1.0);
    const int64_t n = x.dim(0), c = x.dim(1);
    const int64_t plane = spatial_size(x);
    const int64_t before = (size - 1) / 2, after = size - 1 - before;
    Tensor y(x.dtype(), x.shape());
    dispatch_float(x.dtype(), ctx.node, [&](auto tag) {
        using T = decltype(tag);
        const T* px = x.data<T>();
        T* py = y.data<T>();
#pragma omp parallel for schedule(static)
        for (int64_t nc = 0; nc < n * c; ++nc) {
            const int64_t img = nc / c, ch = nc % c;
            const int64_t lo = std::max<int64_t>(0, ch - before);
            const int64_t hi = std::min<int64_t>(c - 1, ch + after);
            for (int64_t i = 0; i < plane; ++i) {
                double sq = 0.0;
                for (int64_t k = lo; k <= hi; ++k) {
                    const double v = static_cast<double>(px[(img * c + k) * plane + i]);
                    sq += v * v;
                }
                const int64_t e = nc * plane + i;
                py[e] =
                    static_cast<T>(static_cast<double>(px[e]) /
                                   std::pow(bias + alpha / static_cast<double>(size) * sq, beta));
            }
        }
    });
    return {y};
}

// ---- MeanVarianceNormalization ------------------------------------------------------------------

// y = (x - mean) / (sqrt(var) + 1e-9) with the statistics over `axes` (default [0, 2, 3]);
// the epsilon is the one of the opset-13 function body. Before opset 9 the axes come from
// across_channels ([1, 2, 3...] or [2, 3...] per image) and normalize_variance = 0 only
// subtracts the mean.
std::vector<Tensor> compute_mvn(const KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    const int64_t rank = x.rank();
    std::vector<int64_t> axes;
    bool normalize_variance = true;
    if (ctx.opset < 9) {
        require_rank(ctx, x, 2);
        for (int64_t d = ctx.node.attr_int("across_channels", 0) != 0 ? 1 : 2; d < rank; ++d)
            axes.push_back(d);
        normalize_variance = ctx.node.attr_int("normalize_variance", 1) != 0;
    } else {
        axes = normalize_axes(ctx.node.attr_ints("axes", {0, 2, 3}), rank, ctx.node);
    }
    std::vector<bool> reduced(static_cast<std::size_t>(rank), false);
    for (int64_t a : axes) reduced[a] = true;
    // Group of each element: its position over the kept axes.
    Shape kept;
    for (int64_t d = 0; d < rank; ++d)
        if (!reduced[d]) kept.push_back(x.dim(d));
    const int64_t groups = sim::shape_numel(kept);
    const int64_t count = groups == 0 ? 0 : x.numel() / groups;
    std::vector<int64_t> group_of(static_cast<std::size_t>(x.numel()));
    {
        std::vector<int64_t> idx(static_cast<std::size_t>(rank), 0);
        const auto kept_strides = sim::shape_strides(kept);
        for (int64_t e = 0; e < x.numel(); ++e) {
            int64_t g = 0;
            for (int64_t d = 0, k = 0; d < rank; ++d)
                if (!reduced[d]) g += idx[d] * kept_strides[k++];
            group_of[e] = g;
            for (int64_t d = rank; d-- > 0;) {
                if (++idx[d] < x.dim(d)) break;
                idx[d] = 0;
            }
        }
    }
    Tensor y(x.dtype(), x.shape());
    dispatch_float(x.dtype(), ctx.node, [&](auto tag) {
        using T = decltype(tag);
        const T* px = x.data<T>();
        T* py = y.data<T>();
        std::vector<double> mean(static_cast<std::size_t>(groups), 0.0), var(mean.size(), 0.0);
        for (int64_t e = 0; e < x.numel(); ++e) mean[group_of[e]] += static_cast<double>(px[e]);
        for (double& m : mean) m /= static_cast<double>(count);
        for (int64_t e = 0; e < x.numel(); ++e) {
            const double d = static_cast<double>(px[e]) - mean[group_of[e]];
            var[group_of[e]] += d * d;
        }
        for (int64_t e = 0; e < x.numel(); ++e) {
            const int64_t g = group_of[e];
            double v = static_cast<double>(px[e]) - mean[g];
            if (normalize_variance) v /= std::sqrt(var[g] / static_cast<double>(count)) + 1e-9;
            py[e] = static_cast<T>(v);
        }
    });
    return {y};
}

XPUSIM_REGISTER_OP("BatchNormalization", OpKernel{infer_batch_norm, compute_batch_norm});
XPUSIM_REGISTER_OP("InstanceNormalization", OpKernel{infer_same_as_input0, compute_instance_norm});
XPUSIM_REGISTER_OP("LayerNormalization",
                   OpKernel{infer_layer_norm, compute_layer_norm, /*widen_half=*/false});
XPUSIM_REGISTER_OP("GroupNormalization", OpKernel{infer_same_as_input0, compute_group_norm});
XPUSIM_REGISTER_OP("LRN", OpKernel{infer_same_as_input0, compute_lrn});
XPUSIM_REGISTER_OP("MeanVarianceNormalization", OpKernel{infer_same_as_input0, compute_mvn});

}  // namespace
}  // namespace xpusim::frontend::ops
