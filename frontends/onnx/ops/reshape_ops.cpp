// Operators that rearrange a tensor's elements without changing their values: Reshape, Flatten,
// Squeeze, Unsqueeze, Transpose, Expand, Tile, DepthToSpace and SpaceToDepth. Kernels work on raw
// bytes (dtype_size), so every element type is handled alike, and each op's output shape comes
// from one rule shared by infer() and compute().
#include <algorithm>
#include <cstring>
#include <functional>
#include <optional>

#include "frontends/onnx/ops/op_utils.h"

namespace xpusim::frontend::ops {
namespace {

using ShapeRule = std::function<Shape(const OpArgs&)>;

// infer(): one output of input 0's type and the shape the rule gives.
std::function<void(InferContext&)> infer_by(ShapeRule rule) {
    return [rule](InferContext& ctx) { ctx.set_output(0, ctx.in(0).dtype, rule(args_of(ctx))); };
}

Tensor permute(const Tensor& x, const std::vector<int64_t>& perm) {
    const auto in_strides = sim::shape_strides(x.shape());
    Shape out_shape(perm.size());
    std::vector<int64_t> strides(perm.size());
    for (std::size_t i = 0; i < perm.size(); ++i) {
        out_shape[i] = x.shape()[perm[i]];
        strides[i] = in_strides[perm[i]];
    }
    Tensor y(x.dtype(), out_shape);
    strided_copy(bytes(x), bytes(y), out_shape, strides, 0, sim::dtype_size(x.dtype()));
    return y;
}

// ---- Reshape, Flatten, Squeeze, Unsqueeze -------------------------------------------------------

// Reshape: 0 copies the input's dimension at that index (unless allowzero), one -1 is inferred.
Shape reshape_shape(const OpArgs& a) {
    const Shape& in = a.shape(0);
    const std::vector<int64_t> spec = a.opset < 5 ? a.node.attr_ints("shape") : a.ints(1);
    const bool allowzero = a.node.attr_int("allowzero", 0) != 0;
    Shape out(spec.size());
    int64_t infer_at = -1;
    int64_t known = 1;
    for (std::size_t i = 0; i < spec.size(); ++i) {
        int64_t d = spec[i];
        if (d == 0 && !allowzero) {
            if (i >= in.size())
                fail(a.node,
                     "shape has 0 at index " + std::to_string(i) + " beyond the input's rank");
            d = in[i];
        }
        if (d == -1) {
            if (infer_at >= 0) fail(a.node, "shape has more than one -1");
            infer_at = static_cast<int64_t>(i);
            continue;
        }
        if (d < 0) fail(a.node, "shape has invalid dimension " + std::to_string(d));
        out[i] = d;
        known *= d;
    }
    const int64_t n = sim::shape_numel(in);
    if (infer_at >= 0) {
        if (known == 0 || n % known != 0)
            fail(a.node, "cannot infer the -1 dimension reshaping " + sim::shape_str(in));
        out[infer_at] = n / known;
    } else if (known != n) {
        fail(a.node, "cannot reshape " + sim::shape_str(in) + " to " + sim::shape_str(out));
    }
    return out;
}

Shape flatten_shape(const OpArgs& a) {
    const Shape& in = a.shape(0);
    const int64_t r = static_cast<int64_t>(in.size());
    int64_t axis = a.node.attr_int("axis", 1);
    if (axis < 0) axis += r;
    if (axis < 0 || axis > r) fail(a.node, "axis out of range for rank " + std::to_string(r));
    int64_t outer = 1, inner = 1;
    for (int64_t i = 0; i < r; ++i) (i < axis ? outer : inner) *= in[i];
    return {outer, inner};
}

// Squeeze/Unsqueeze axes: attribute before opset 13, input 1 from 13 (optional for Squeeze).
std::optional<std::vector<int64_t>> axes_arg(const OpArgs& a) {
    if (a.opset < 13) {
        if (!a.node.has_attr("axes")) return std::nullopt;
        return a.node.attr_ints("axes");
    }
    if (!a.has(1)) return std::nullopt;
    return a.ints(1);
}

Shape squeeze_shape(const OpArgs& a) {
    const Shape& in = a.shape(0);
    const auto axes_opt = axes_arg(a);
    Shape out;
    if (!axes_opt) {
        for (int64_t d : in)
            if (d != 1) out.push_back(d);
        return out;
    }
    const auto axes = normalize_axes(*axes_opt, static_cast<int64_t>(in.size()), a.node);
    for (int64_t i = 0; i < static_cast<int64_t>(in.size()); ++i) {
        if (std::find(axes.begin(), axes.end(), i) == axes.end()) {
            out.push_back(in[i]);
        } else if (in[i] != 1) {
            fail(a.node,
                 "cannot squeeze axis " + std::to_string(i) + " of size " + std::to_string(in[i]));
        }
    }
    return out;
}

Shape unsqueeze_shape(const OpArgs& a) {
    const Shape& in = a.shape(0);
    const auto axes_opt = axes_arg(a);
    if (!axes_opt) fail(a.node, "axes are required");
    const int64_t out_rank = static_cast<int64_t>(in.size() + axes_opt->size());
    const auto axes = normalize_axes(*axes_opt, out_rank, a.node);
    Shape out;
    std::size_t next = 0;
    for (int64_t i = 0; i < out_rank; ++i) {
        if (std::find(axes.begin(), axes.end(), i) != axes.end())
            out.push_back(1);
        else
            out.push_back(in[next++]);
    }
    return out;
}

OpKernel reshape_like(ShapeRule rule) {
    return OpKernel{infer_by(rule),
                    [rule](const KernelContext& ctx) {
                        return std::vector<Tensor>{ctx.in(0).reshaped(rule(args_of(ctx)))};
                    },
                    /*widen_half=*/false};
}

XPUSIM_REGISTER_OP("Reshape", reshape_like(reshape_shape));
XPUSIM_REGISTER_OP("Flatten", reshape_like(flatten_shape));
XPUSIM_REGISTER_OP("Squeeze", reshape_like(squeeze_shape));
XPUSIM_REGISTER_OP("Unsqueeze", reshape_like(unsqueeze_shape));

// ---- Transpose, Expand, Tile --------------------------------------------------------------------

std::vector<int64_t> transpose_perm(const OpArgs& a) {
    const int64_t r = static_cast<int64_t>(a.shape(0).size());
    std::vector<int64_t> perm = a.node.attr_ints("perm");
    if (!a.node.has_attr("perm")) {
        for (int64_t i = r - 1; i >= 0; --i) perm.push_back(i);
    }
    if (static_cast<int64_t>(perm.size()) != r)
        fail(a.node,
             "perm has " + std::to_string(perm.size()) + " entries for rank " + std::to_string(r));
    std::vector<bool> seen(static_cast<std::size_t>(r), false);
    for (int64_t p : perm) {
        if (p < 0 || p >= r || seen[p]) fail(a.node, "perm is not a permutation");
        seen[p] = true;
    }
    return perm;
}

Shape transpose_shape(const OpArgs& a) {
    Shape out;
    for (int64_t p : transpose_perm(a)) out.push_back(a.shape(0)[p]);
    return out;
}

XPUSIM_REGISTER_OP("Transpose", OpKernel{infer_by(transpose_shape),
                                         [](const KernelContext& ctx) {
                                             return std::vector<Tensor>{
                                                 permute(ctx.in(0), transpose_perm(args_of(ctx)))};
                                         },
                                         /*widen_half=*/false});

// Expand: bidirectional (numpy) broadcast of the input with the given shape.
Shape expand_shape(const OpArgs& a) {
    return broadcast_shapes(a.shape(0), a.ints(1), a.node);
}

XPUSIM_REGISTER_OP("Expand",
                   OpKernel{infer_by(expand_shape),
                            [](const KernelContext& ctx) {
                                const Tensor& x = ctx.in(0);
                                const Shape out_shape = expand_shape(args_of(ctx));
                                // Broadcast axes read with stride 0.
                                const std::size_t lead = out_shape.size() - x.shape().size();
                                const auto in_strides = sim::shape_strides(x.shape());
                                std::vector<int64_t> strides(out_shape.size(), 0);
                                for (std::size_t i = 0; i < x.shape().size(); ++i)
                                    strides[lead + i] = x.shape()[i] == 1 ? 0 : in_strides[i];
                                Tensor y(x.dtype(), out_shape);
                                strided_copy(bytes(x), bytes(y), out_shape, strides, 0,
                                             sim::dtype_size(x.dtype()));
                                return std::vector<Tensor>{y};
                            },
                            /*widen_half=*/false});

// Tile-6+: repeats per axis (input 1). Tile-1: one repeat count (input 1) along one axis (input 2).
std::vector<int64_t> tile_repeats(const OpArgs& a) {
    const std::size_t r = a.shape(0).size();
    if (a.opset < 6) {
        std::vector<int64_t> reps(r, 1);
        const int64_t axis = normalize_axis(a.ints(2).at(0), static_cast<int64_t>(r), a.node);
        reps[axis] = a.ints(1).at(0);
        return reps;
    }
    std::vector<int64_t> reps = a.ints(1);
    if (reps.size() != r)
        fail(a.node, "repeats has " + std::to_string(reps.size()) + " entries for rank " +
                         std::to_string(r));
    for (int64_t v : reps)
        if (v < 0) fail(a.node, "repeats must not be negative");
    return reps;
}

Shape tile_shape(const OpArgs& a) {
    Shape out = a.shape(0);
    const auto reps = tile_repeats(a);
    for (std::size_t i = 0; i < out.size(); ++i) out[i] *= reps[i];
    return out;
}

Tensor tile(const Tensor& x, const std::vector<int64_t>& reps) {
    // One axis at a time: each block of the axis and everything inside it is written reps times.
    Tensor cur = x;
    const std::size_t es = sim::dtype_size(x.dtype());
    for (std::size_t d = 0; d < reps.size(); ++d) {
        if (reps[d] == 1) continue;
        Shape s = cur.shape();
        int64_t outer = 1;
        for (std::size_t i = 0; i < d; ++i) outer *= s[i];
        const std::size_t block =
            static_cast<std::size_t>(cur.numel() / std::max<int64_t>(outer, 1)) * es;
        s[d] *= reps[d];
        Tensor next(x.dtype(), s);
        if (next.numel() != 0)
            for (int64_t o = 0; o < outer; ++o)
                for (int64_t k = 0; k < reps[d]; ++k)
                    std::memcpy(bytes(next) + (o * reps[d] + k) * block, bytes(cur) + o * block,
                                block);
        cur = next;
    }
    return cur;
}

XPUSIM_REGISTER_OP("Tile", OpKernel{infer_by(tile_shape),
                                    [](const KernelContext& ctx) {
                                        return std::vector<Tensor>{
                                            tile(ctx.in(0), tile_repeats(args_of(ctx)))};
                                    },
                                    /*widen_half=*/false});

// ---- DepthToSpace, SpaceToDepth -----------------------------------------------------------------

struct BlockPlan {
    Shape split;                // the 6-D view of the input
    std::vector<int64_t> perm;  // applied to that view
    Shape out;                  // the 4-D output
};

BlockPlan depth_to_space_plan(const OpArgs& a) {
    const Shape& s = a.shape(0);
    if (s.size() != 4) fail(a.node, "input must be 4-D (NCHW)");
    const int64_t b = a.node.attr_int("blocksize", 0);
    if (b <= 0 || b > (int64_t{1} << 31))
        fail(a.node, "blocksize " + std::to_string(b) + " is outside [1, 2^31]");
    const int64_t n = s[0], c = s[1], h = s[2], w = s[3];
    if (c % (b * b) != 0) fail(a.node, "channels are not divisible by blocksize^2");
    const std::string mode = a.node.attr_string("mode", "DCR");
    const Shape out{n, c / (b * b), h * b, w * b};
    if (mode == "DCR") return {{n, b, b, c / (b * b), h, w}, {0, 3, 4, 1, 5, 2}, out};
    if (mode == "CRD") return {{n, c / (b * b), b, b, h, w}, {0, 1, 4, 2, 5, 3}, out};
    fail(a.node, "unknown mode '" + mode + "'");
}

BlockPlan space_to_depth_plan(const OpArgs& a) {
    const Shape& s = a.shape(0);
    if (s.size() != 4) fail(a.node, "input must be 4-D (NCHW)");
    const int64_t b = a.node.attr_int("blocksize", 0);
    if (b <= 0 || b > (int64_t{1} << 31))
        fail(a.node, "blocksize " + std::to_string(b) + " is outside [1, 2^31]");
    const int64_t n = s[0], c = s[1], h = s[2], w = s[3];
    if (h % b != 0 || w % b != 0) fail(a.node, "height and width must be divisible by blocksize");
    return {{n, c, h / b, b, w / b, b}, {0, 3, 5, 1, 2, 4}, {n, c * b * b, h / b, w / b}};
}

OpKernel block_rearrange(BlockPlan (*plan)(const OpArgs&)) {
    return OpKernel{infer_by([plan](const OpArgs& a) { return plan(a).out; }),
                    [plan](const KernelContext& ctx) {
                        const BlockPlan p = plan(args_of(ctx));
                        return std::vector<Tensor>{
                            permute(ctx.in(0).reshaped(p.split), p.perm).reshaped(p.out)};
                    },
                    /*widen_half=*/false};
}

XPUSIM_REGISTER_OP("DepthToSpace", block_rearrange(depth_to_space_plan));
XPUSIM_REGISTER_OP("SpaceToDepth", block_rearrange(space_to_depth_plan));

}  // namespace
}  // namespace xpusim::frontend::ops
