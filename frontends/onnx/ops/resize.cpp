// Resize (opset 10, 11, 13, 18, 19) and Upsample (opset 7 scales attribute, opset 9 scales input).
//
// Every output coordinate x along an axis maps to an input coordinate x_original by the
// coordinate_transformation_mode (Upsample and Resize-10: asymmetric, x / scale). Then
//  - nearest picks one input index by nearest_mode (Upsample / Resize-10: truncation, or ceil
//    when downsampling, as ONNX Runtime), clamped into the input;
//  - linear and cubic are separable: with b = ceil(x_original) - 1 and r = x_original - b in
//    (0, 1], input b + j gets weight K(s * (j - r)) for j in [start, 1 - start], where
//    start = floor(-R / s) + 1, K the triangle (R = 1) or the cubic kernel with cubic_coeff_a
//    (R = 2), and s = min(scale, 1) with antialias (weights then normalised to sum 1), else 1.
//    Indices outside the input read the edge value, or get weight 0 with exclude_outside (the
//    weights renormalised). This is the ONNX reference implementation's rule.
// tf_crop_and_resize maps through the roi and writes extrapolation_value wherever any axis's
// x_original falls outside [0, length - 1].
#include <algorithm>
#include <cmath>
#include <limits>

#include "frontends/onnx/ops/op_utils.h"

namespace xpusim::frontend::ops {
namespace {

enum class Interp { Nearest, Linear, Cubic };
enum class CoordMode {
    HalfPixel,
    HalfPixelSymmetric,
    PytorchHalfPixel,
    AlignCorners,
    Asymmetric,
    TfHalfPixelForNn,
    TfCropAndResize,
};
// Simple: Upsample and Resize-10 (no nearest_mode attribute).
enum class NearestMode { Simple, RoundPreferFloor, RoundPreferCeil, Floor, Ceil };

struct ResizeSpec {
    Interp interp = Interp::Nearest;
    CoordMode coord = CoordMode::HalfPixel;
    NearestMode nearest = NearestMode::RoundPreferFloor;
    double cubic_a = -0.75;
    bool exclude_outside = false;
    bool antialias = false;
    double extrapolation = 0.0;
    Shape out_shape;
    std::vector<double> scales;  // per axis: the scale the coordinate transform divides by
    std::vector<double> roi_start, roi_end;  // per axis, normalised
};

Interp parse_interp(const Node& node, bool cubic_allowed) {
    const std::string m = node.attr_string("mode", "nearest");
    if (m == "nearest") return Interp::Nearest;
    if (m == "linear") return Interp::Linear;
    if (m == "cubic" && cubic_allowed) return Interp::Cubic;
    fail(node, "unknown mode '" + m + "'");
}

CoordMode parse_coord(const Node& node) {
    const std::string m = node.attr_string("coordinate_transformation_mode", "half_pixel");
    if (m == "half_pixel") return CoordMode::HalfPixel;
    if (m == "half_pixel_symmetric") return CoordMode::HalfPixelSymmetric;
    if (m == "pytorch_half_pixel") return CoordMode::PytorchHalfPixel;
    if (m == "align_corners") return CoordMode::AlignCorners;
    if (m == "asymmetric") return CoordMode::Asymmetric;
    if (m == "tf_half_pixel_for_nn") return CoordMode::TfHalfPixelForNn;
    if (m == "tf_crop_and_resize") return CoordMode::TfCropAndResize;
    fail(node, "unknown coordinate_transformation_mode '" + m + "'");
}

NearestMode parse_nearest(const Node& node) {
    const std::string m = node.attr_string("nearest_mode", "round_prefer_floor");
    if (m == "round_prefer_floor") return NearestMode::RoundPreferFloor;
    if (m == "round_prefer_ceil") return NearestMode::RoundPreferCeil;
    if (m == "floor") return NearestMode::Floor;
    if (m == "ceil") return NearestMode::Ceil;
    fail(node, "unknown nearest_mode '" + m + "'");
}

// An empty tensor stands for an omitted input (Resize-11 requires 'scales' even with 'sizes').
const Tensor* non_empty(const Tensor* t) {
    return t && t->numel() > 0 ? t : nullptr;
}

// floor(length * scale) in float arithmetic, as ONNX shape inference and ONNX Runtime compute it.
int64_t scaled_length(int64_t length, float scale) {
    return static_cast<int64_t>(std::floor(static_cast<float>(length) * scale));
}

// Inputs not given are nullptr. For Upsample before opset 9 the scales are an attribute.
ResizeSpec make_spec(const Node& node, bool upsample, int64_t opset, const Shape& in,
                     const Tensor* roi, const Tensor* scales_t, const Tensor* sizes_t) {
    const int64_t rank = static_cast<int64_t>(in.size());
    ResizeSpec spec;
    spec.scales.assign(in.size(), 1.0);
    spec.roi_start.assign(in.size(), 0.0);
    spec.roi_end.assign(in.size(), 1.0);
    spec.out_shape = in;
    const bool legacy = upsample || opset < 11;  // Upsample and Resize-10
    spec.interp = parse_interp(node, !legacy);
    if (legacy) {
        spec.coord = CoordMode::Asymmetric;
        spec.nearest = NearestMode::Simple;
        std::vector<float> scales;
        if (upsample && opset < 9) {
            if (!node.has_attr("scales")) fail(node, "attribute 'scales' is required");
            for (double s : node.attr_floats("scales")) scales.push_back(static_cast<float>(s));
        } else {
            if (!scales_t) fail(node, "input 'scales' is required");
            for (int64_t i = 0; i < scales_t->numel(); ++i)
                scales.push_back(static_cast<float>(scales_t->get_as_double(i)));
        }
        if (static_cast<int64_t>(scales.size()) != rank)
            fail(node, "'scales' has " + std::to_string(scales.size()) + " values for rank " +
                           std::to_string(rank));
        for (int64_t d = 0; d < rank; ++d) {
            if (upsample ? !(scales[d] >= 1.0f) : !(scales[d] > 0.0f))
                fail(node, "scale " + std::to_string(scales[d]) + " is out of range");
            spec.scales[d] = scales[d];
            spec.out_shape[d] = scaled_length(in[d], scales[d]);
        }
        return spec;
    }

    spec.coord = parse_coord(node);
    spec.nearest = parse_nearest(node);
    spec.cubic_a = node.attr_float("cubic_coeff_a", -0.75);
    spec.exclude_outside = node.attr_int("exclude_outside", 0) != 0;
    spec.antialias = node.attr_int("antialias", 0) != 0;
    spec.extrapolation = node.attr_float("extrapolation_value", 0.0);
    if (spec.exclude_outside && spec.interp == Interp::Nearest)
        throw sim::UnsupportedError(node.describe() +
                                    ": exclude_outside=1 is only defined for linear and cubic");

    std::vector<int64_t> axes;
    if (node.has_attr("axes")) {
        axes = normalize_axes(node.attr_ints("axes"), rank, node);
    } else {
        for (int64_t d = 0; d < rank; ++d) axes.push_back(d);
    }
    const std::size_t na = axes.size();

    scales_t = non_empty(scales_t);
    sizes_t = non_empty(sizes_t);
    if ((scales_t != nullptr) == (sizes_t != nullptr))
        fail(node, "exactly one of 'scales' and 'sizes' must be given");

    roi = non_empty(roi);
    if (roi && spec.coord == CoordMode::TfCropAndResize) {
        if (static_cast<std::size_t>(roi->numel()) != 2 * na)
            fail(node, "'roi' has " + std::to_string(roi->numel()) + " values, expected " +
                           std::to_string(2 * na));
        for (std::size_t i = 0; i < na; ++i) {
            spec.roi_start[axes[i]] = roi->get_as_double(static_cast<int64_t>(i));
            spec.roi_end[axes[i]] = roi->get_as_double(static_cast<int64_t>(na + i));
        }
    }

    const std::string policy = node.attr_string("keep_aspect_ratio_policy", "stretch");
    if (policy != "stretch" && policy != "not_larger" && policy != "not_smaller")
        fail(node, "unknown keep_aspect_ratio_policy '" + policy + "'");

    if (scales_t) {
        if (static_cast<std::size_t>(scales_t->numel()) != na)
            fail(node, "'scales' has " + std::to_string(scales_t->numel()) + " values, expected " +
                           std::to_string(na));
        if (policy != "stretch")
            fail(node, "keep_aspect_ratio_policy '" + policy + "' cannot be used with 'scales'");
        for (std::size_t i = 0; i < na; ++i) {
            const float s = static_cast<float>(scales_t->get_as_double(static_cast<int64_t>(i)));
            if (!(s > 0.0f)) fail(node, "scale " + std::to_string(s) + " is not positive");
            spec.scales[axes[i]] = s;
            spec.out_shape[axes[i]] = scaled_length(in[axes[i]], s);
        }
        return spec;
    }

    const std::vector<int64_t> sizes = sizes_t->to_int64_vector();
    if (sizes.size() != na)
        fail(node, "'sizes' has " + std::to_string(sizes.size()) + " values, expected " +
                       std::to_string(na));
    for (std::size_t i = 0; i < na; ++i) {
        const int64_t d = axes[i];
        if (sizes[i] < 0) fail(node, "'sizes' has a negative value");
        if (in[d] == 0 && sizes[i] != 0)
            fail(node, "cannot resize an empty axis to a non-zero size");
    }
    if (policy == "stretch") {
        for (std::size_t i = 0; i < na; ++i) {
            const int64_t d = axes[i];
            spec.out_shape[d] = sizes[i];
            spec.scales[d] = in[d] == 0 ? 1.0 : static_cast<double>(sizes[i]) / in[d];
        }
        return spec;
    }
    // One scale for all the axes, the smallest (not_larger) or largest (not_smaller) of
    // sizes / input; out = round_half_up(scale * input). Float arithmetic as ONNX Runtime.
    float scale = policy == "not_larger" ? std::numeric_limits<float>::max() : 0.0f;
    for (std::size_t i = 0; i < na; ++i) {
        if (in[axes[i]] == 0) continue;
        const float s = static_cast<float>(sizes[i]) / static_cast<float>(in[axes[i]]);
        scale = policy == "not_larger" ? std::min(scale, s) : std::max(scale, s);
    }
    for (std::size_t i = 0; i < na; ++i) {
        const int64_t d = axes[i];
        spec.scales[d] = scale;
        spec.out_shape[d] =
            static_cast<int64_t>(std::floor(scale * static_cast<float>(in[d]) + 0.5f));
    }
    return spec;
}

// x_original for output index x along one axis.
double original_coordinate(const ResizeSpec& spec, std::size_t d, int64_t x, int64_t len_in,
                           int64_t len_out) {
    const double s = spec.scales[d];
    const double xr = static_cast<double>(x);
    switch (spec.coord) {
        case CoordMode::HalfPixel:
            return (xr + 0.5) / s - 0.5;
        case CoordMode::HalfPixelSymmetric: {
            const double out_width = s * len_in;  // fractional target length
            const double adjustment = len_out / out_width;
            const double offset = len_in / 2.0 * (1.0 - adjustment);
            return offset + (xr + 0.5) / s - 0.5;
        }
        case CoordMode::PytorchHalfPixel:
            return len_out > 1 ? (xr + 0.5) / s - 0.5 : 0.0;
        case CoordMode::AlignCorners:
            return len_out == 1 ? 0.0 : xr * (len_in - 1) / static_cast<double>(len_out - 1);
        case CoordMode::Asymmetric:
            return xr / s;
        case CoordMode::TfHalfPixelForNn:
            return (xr + 0.5) / s;
        case CoordMode::TfCropAndResize: {
            const double a = spec.roi_start[d];
            const double b = spec.roi_end[d];
            return len_out > 1 ? a * (len_in - 1) + xr * (b - a) * (len_in - 1) / (len_out - 1)
                               : 0.5 * (a + b) * (len_in - 1);
        }
    }
    return 0.0;
}

bool extrapolates(const ResizeSpec& spec, double x, int64_t len_in) {
    return spec.coord == CoordMode::TfCropAndResize && (x < 0.0 || x > len_in - 1);
}

int64_t clamp_index(int64_t i, int64_t len) {
    return std::min(std::max<int64_t>(i, 0), len - 1);
}

// Nearest: input index per output index along axis d, -1 for the extrapolation value.
std::vector<int64_t> nearest_table(const ResizeSpec& spec, std::size_t d, int64_t len_in,
                                   int64_t len_out) {
    std::vector<int64_t> table(static_cast<std::size_t>(len_out));
    for (int64_t j = 0; j < len_out; ++j) {
        const double x = original_coordinate(spec, d, j, len_in, len_out);
        if (extrapolates(spec, x, len_in)) {
            table[j] = -1;
            continue;
        }
        double i = 0;
        switch (spec.nearest) {
            case NearestMode::Simple:
                i = spec.scales[d] < 1.0 ? std::ceil(x) : std::trunc(x);
                break;
            case NearestMode::RoundPreferFloor:
                i = x - std::floor(x) == 0.5 ? std::floor(x) : std::round(x);
                break;
            case NearestMode::RoundPreferCeil:
                i = x - std::floor(x) == 0.5 ? std::ceil(x) : std::round(x);
                break;
            case NearestMode::Floor:
                i = std::floor(x);
                break;
            case NearestMode::Ceil:
                i = std::ceil(x);
                break;
        }
        table[j] = clamp_index(static_cast<int64_t>(i), len_in);
    }
    return table;
}

// Linear/cubic weights along one axis: output j reads idx[k] * w[k] for k in
// [first[j], first[j+1]); extrapolate[j] marks tf_crop_and_resize outside the roi.
struct AxisWeights {
    std::vector<int64_t> first;
    std::vector<int64_t> idx;
    std::vector<double> w;
    std::vector<bool> extrapolate;
};

double cubic_kernel(double x, double a) {
    x = std::abs(x);
    if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
    if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
    return 0.0;
}

AxisWeights interp_weights(const ResizeSpec& spec, std::size_t d, int64_t len_in, int64_t len_out) {
    const bool cubic = spec.interp == Interp::Cubic;
    const double support = cubic ? 2.0 : 1.0;
    // The filter is stretched by 1/scale when antialiasing a downscale.
    const double s = spec.antialias ? std::min(spec.scales[d], 1.0) : 1.0;
    const int64_t start = static_cast<int64_t>(std::floor(-support / s)) + 1;
    AxisWeights aw;
    aw.first.push_back(0);
    aw.extrapolate.assign(static_cast<std::size_t>(len_out), false);
    std::vector<double> w;
    for (int64_t j = 0; j < len_out; ++j) {
        const double x = original_coordinate(spec, d, j, len_in, len_out);
        if (extrapolates(spec, x, len_in)) {
            aw.extrapolate[j] = true;
            aw.first.push_back(static_cast<int64_t>(aw.idx.size()));
            continue;
        }
        const int64_t b = static_cast<int64_t>(std::ceil(x)) - 1;
        const double r = x - static_cast<double>(b);  // in (0, 1]
        w.clear();
        double sum = 0.0;
        for (int64_t k = start; k <= 1 - start; ++k) {
            const double t = s * (static_cast<double>(k) - r);
            double v = cubic ? cubic_kernel(t, spec.cubic_a) : std::max(0.0, 1.0 - std::abs(t));
            if (spec.exclude_outside && (b + k < 0 || b + k >= len_in)) v = 0.0;
            w.push_back(v);
            sum += v;
        }
        const bool normalise = spec.antialias || spec.exclude_outside;
        for (int64_t k = start; k <= 1 - start; ++k) {
            double v = w[static_cast<std::size_t>(k - start)];
            if (normalise) v /= sum;
            if (v == 0.0) continue;
            aw.idx.push_back(clamp_index(b + k, len_in));
            aw.w.push_back(v);
        }
        aw.first.push_back(static_cast<int64_t>(aw.idx.size()));
    }
    return aw;
}

bool is_identity(const AxisWeights& aw, int64_t len_in, int64_t len_out) {
    if (len_in != len_out) return false;
    for (int64_t j = 0; j < len_out; ++j) {
        if (aw.extrapolate[j] || aw.first[j + 1] - aw.first[j] != 1) return false;
        if (aw.idx[aw.first[j]] != j || aw.w[aw.first[j]] != 1.0) return false;
    }
    return true;
}

Tensor resize_nearest(const Tensor& x, const ResizeSpec& spec, const Node& node) {
    const std::size_t rank = x.shape().size();
    Tensor y(x.dtype(), spec.out_shape);  // checked against the tensor limit before any table
    if (y.numel() == 0) return y;
    std::vector<std::vector<int64_t>> table(rank);
    for (std::size_t d = 0; d < rank; ++d)
        table[d] = nearest_table(spec, d, x.shape()[d], spec.out_shape[d]);
    const Tensor fill = Tensor::scalar<double>(spec.extrapolation).cast(x.dtype());
    dispatch_element_size(sim::dtype_size(x.dtype()), node, [&](auto es) {
        gather_by_axis_tables<decltype(es)::value>(bytes(x), bytes(y), x.shape(), spec.out_shape,
                                                   table, bytes(fill));
    });
    return y;
}

// Linear/cubic: one axis at a time (last to first, as the reference nests them) in double.
template <class T>
Tensor resize_interp(const Tensor& x, const ResizeSpec& spec) {
    const std::size_t rank = x.shape().size();
    Tensor y(x.dtype(), spec.out_shape);  // checked against the tensor limit first
    if (y.numel() == 0) return y;
    Shape shape = x.shape();
    std::vector<double> cur(static_cast<std::size_t>(x.numel()));
    const T* px = x.data<T>();
    for (int64_t i = 0; i < x.numel(); ++i) cur[i] = static_cast<double>(px[i]);
    std::vector<std::vector<bool>> extrapolate(rank);
    for (std::size_t dd = rank; dd-- > 0;) {
        const int64_t len_in = shape[dd];
        const int64_t len_out = spec.out_shape[dd];
        const AxisWeights aw = interp_weights(spec, dd, len_in, len_out);
        extrapolate[dd] = aw.extrapolate;
        if (is_identity(aw, len_in, len_out)) continue;
        int64_t outer = 1, inner = 1;
        for (std::size_t d = 0; d < dd; ++d) outer *= shape[d];
        for (std::size_t d = dd + 1; d < rank; ++d) inner *= shape[d];
        sim::TensorLimit::check(sim::shape_numel({outer, len_out, inner}), DType::Float64,
                                "(an intermediate of the interpolation)", "Resize");
        std::vector<double> next(static_cast<std::size_t>(outer * len_out * inner), 0.0);
        for (int64_t o = 0; o < outer; ++o) {
            const double* src = cur.data() + o * len_in * inner;
            double* dst = next.data() + o * len_out * inner;
            for (int64_t j = 0; j < len_out; ++j) {
                double* row = dst + j * inner;
                for (int64_t k = aw.first[j]; k < aw.first[j + 1]; ++k) {
                    const double w = aw.w[k];
                    const double* s = src + aw.idx[k] * inner;
                    for (int64_t i = 0; i < inner; ++i) row[i] += w * s[i];
                }
            }
        }
        cur = std::move(next);
        shape[dd] = len_out;
    }
    T* py = y.data<T>();
    for (int64_t i = 0; i < y.numel(); ++i) py[i] = from_double<T>(cur[i]);
    if (spec.coord == CoordMode::TfCropAndResize && y.numel() > 0) {
        const T fill = from_double<T>(spec.extrapolation);
        std::vector<int64_t> idx(rank, 0);
        for (int64_t i = 0; i < y.numel(); ++i) {
            for (std::size_t d = 0; d < rank; ++d)
                if (extrapolate[d][idx[d]]) {
                    py[i] = fill;
                    break;
                }
            for (std::size_t d = rank; d-- > 0;) {
                if (++idx[d] < spec.out_shape[d]) break;
                idx[d] = 0;
            }
        }
    }
    return y;
}

// Input positions: Upsample-9+ and Resize-10 have scales at 1; Resize-11+ has roi, scales, sizes.
struct InputSlots {
    int roi = -1, scales = -1, sizes = -1;
};

InputSlots input_slots(bool upsample, int64_t opset) {
    if (upsample) return opset < 9 ? InputSlots{} : InputSlots{-1, 1, -1};
    if (opset < 11) return InputSlots{-1, 1, -1};
    return InputSlots{1, 2, 3};
}

OpKernel resize_kernel(bool upsample) {
    auto infer = [upsample](InferContext& ctx) {
        const InputSlots slots = input_slots(upsample, ctx.opset);
        auto constant = [&](int i) -> const Tensor* {
            return i >= 0 && ctx.node.has_input(i) ? &ctx.constant_input(i) : nullptr;
        };
        const InferInput& x = ctx.in(0);
        const ResizeSpec spec = make_spec(ctx.node, upsample, ctx.opset, x.shape, nullptr,
                                          constant(slots.scales), constant(slots.sizes));
        ctx.set_output(0, x.dtype, spec.out_shape);
    };
    auto compute = [upsample](const KernelContext& ctx) {
        const InputSlots slots = input_slots(upsample, ctx.opset);
        auto input = [&](int i) -> const Tensor* {
            return i >= 0 && ctx.has(i) ? &ctx.in(i) : nullptr;
        };
        const Tensor& x = ctx.in(0);
        const ResizeSpec spec =
            make_spec(ctx.node, upsample, ctx.opset, x.shape(), input(slots.roi),
                      input(slots.scales), input(slots.sizes));
        if (spec.interp == Interp::Nearest)
            return std::vector<Tensor>{resize_nearest(x, spec, ctx.node)};
        if (sim::shape_numel(spec.out_shape) == 0)
            return std::vector<Tensor>{Tensor(x.dtype(), spec.out_shape)};
        Tensor y;
        dispatch_numeric(x.dtype(), ctx.node, [&](auto tag) {
            using T = decltype(tag);
            if constexpr (std::is_same_v<T, bool>)
                ctx.fail("linear and cubic modes need a numeric input, not bool");
            else
                y = resize_interp<T>(x, spec);
        });
        return std::vector<Tensor>{y};
    };
    return OpKernel{infer, compute};
}

XPUSIM_REGISTER_OP("Resize", resize_kernel(false));
XPUSIM_REGISTER_OP("Upsample", resize_kernel(true));

}  // namespace
}  // namespace xpusim::frontend::ops
