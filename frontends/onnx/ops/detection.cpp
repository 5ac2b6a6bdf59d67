// Object-detection operators: NonMaxSuppression picks the boxes of each (batch, class) that
// overlap less than an IoU threshold with better-scoring ones; RoiAlign pools each region of
// interest into a fixed grid by bilinear sampling. Both follow the ONNX reference implementation
// (which mirrors ONNX Runtime's CPU kernels) down to the order of selection and the sampling grid.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "frontends/onnx/ops/op_utils.h"

namespace xpusim::frontend::ops {
namespace {

// ---- NonMaxSuppression --------------------------------------------------------------------------

// One box as [min, max] extents along its two axes.
struct Box {
    double lo0, hi0, lo1, hi1;
};

// center_point_box = 0: [y1, x1, y2, x2], any diagonal pair of corners;
// center_point_box = 1: [x_center, y_center, width, height].
Box box_at(const double* b, bool center) {
    if (center) return {b[0] - b[2] / 2, b[0] + b[2] / 2, b[1] - b[3] / 2, b[1] + b[3] / 2};
    return {std::min(b[0], b[2]), std::max(b[0], b[2]), std::min(b[1], b[3]), std::max(b[1], b[3])};
}

// A box is suppressed by a selected one when their IoU exceeds the threshold; boxes without area
// or without overlap never suppress.
bool suppresses(const Box& a, const Box& b, double iou_threshold) {
    const double i0 = std::min(a.hi0, b.hi0) - std::max(a.lo0, b.lo0);
    const double i1 = std::min(a.hi1, b.hi1) - std::max(a.lo1, b.lo1);
    if (i0 <= 0 || i1 <= 0) return false;
    const double inter = i0 * i1;
    const double area_a = (a.hi0 - a.lo0) * (a.hi1 - a.lo1);
    const double area_b = (b.hi0 - b.lo0) * (b.hi1 - b.lo1);
    const double uni = area_a + area_b - inter;
    if (area_a <= 0 || area_b <= 0 || uni <= 0) return false;
    return inter / uni > iou_threshold;
}

// The first element of an optional scalar input (a 0-D or 1-element tensor), or `def` when the
// input is omitted or empty.
double optional_scalar(const KernelContext& ctx, std::size_t i, double def) {
    if (!ctx.has(i) || ctx.in(i).numel() == 0) return def;
    if (ctx.in(i).numel() != 1)
        ctx.fail("input " + std::to_string(i) + " must hold one value, got " +
                 describe_tensor(ctx.in(i)));
    return ctx.in(i).get_as_double(0);
}

// Per (batch, class): candidates are the boxes whose score exceeds score_threshold (all boxes
// when it is omitted), visited from the best score down (ties: lower box index first); each is
// kept unless its IoU with an already kept box exceeds iou_threshold (default 0), until
// max_output_boxes_per_class are kept (0 when omitted). Output: [selected, 3] rows of
// (batch, class, box).
Tensor non_max_suppression(const KernelContext& ctx) {
    const Tensor& boxes = ctx.in(0);
    const Tensor& scores = ctx.in(1);
    const int64_t center = ctx.node.attr_int("center_point_box", 0);
    if (center != 0 && center != 1)
        ctx.fail("center_point_box must be 0 or 1, got " + std::to_string(center));
    if (boxes.rank() != 3 || boxes.dim(2) != 4)
        ctx.fail("boxes must be [batches, boxes, 4], got " + describe_tensor(boxes));
    if (scores.rank() != 3 || scores.dim(0) != boxes.dim(0) || scores.dim(2) != boxes.dim(1))
        ctx.fail("scores must be [batches, classes, boxes] for boxes " + describe_tensor(boxes) +
                 ", got " + describe_tensor(scores));
    if (ctx.has(2) && ctx.in(2).dtype() != DType::Int64)
        ctx.fail("max_output_boxes_per_class must be int64, got " + describe_tensor(ctx.in(2)));
    if (ctx.has(2) && ctx.in(2).numel() > 1)
        ctx.fail("max_output_boxes_per_class must hold one value, got " +
                 describe_tensor(ctx.in(2)));
    const int64_t max_out =
        std::max<int64_t>(0, ctx.has(2) && ctx.in(2).numel() > 0 ? ctx.in(2).get_as_int64(0) : 0);
    const double iou_threshold = optional_scalar(ctx, 3, 0.0);
    const bool by_score = ctx.has(4) && ctx.in(4).numel() > 0;
    const double score_threshold = optional_scalar(ctx, 4, 0.0);

    const int64_t batches = boxes.dim(0), n_boxes = boxes.dim(1), classes = scores.dim(1);
    std::vector<double> box_values(static_cast<std::size_t>(boxes.numel()));
    for (int64_t i = 0; i < boxes.numel(); ++i) box_values[i] = boxes.get_as_double(i);
    // NaN scores rank below every number.
    std::vector<double> score_values(static_cast<std::size_t>(scores.numel()));
    for (int64_t i = 0; i < scores.numel(); ++i) {
        const double s = scores.get_as_double(i);
        score_values[i] = std::isnan(s) ? -std::numeric_limits<double>::infinity() : s;
    }
    std::vector<int64_t> rows;
    std::vector<int64_t> order, kept;
    for (int64_t b = 0; b < batches; ++b) {
        std::vector<Box> extents;
        for (int64_t j = 0; j < n_boxes; ++j)
            extents.push_back(box_at(&box_values[(b * n_boxes + j) * 4], center == 1));
        for (int64_t c = 0; c < classes; ++c) {
            const double* score = &score_values[(b * classes + c) * n_boxes];
            order.clear();
            for (int64_t j = 0; j < n_boxes; ++j)
                if (!by_score || score[j] > score_threshold) order.push_back(j);
            std::stable_sort(order.begin(), order.end(),
                             [&](int64_t i, int64_t j) { return score[i] > score[j]; });
            kept.clear();
            for (int64_t j : order) {
                if (static_cast<int64_t>(kept.size()) >= max_out) break;
                const bool suppressed = std::any_of(kept.begin(), kept.end(), [&](int64_t k) {
                    return suppresses(extents[j], extents[k], iou_threshold);
                });
                if (suppressed) continue;
                kept.push_back(j);
                rows.insert(rows.end(), {b, c, j});
            }
        }
    }
    return Tensor::from_vector<int64_t>({static_cast<int64_t>(rows.size() / 3), 3}, rows);
}

// The number of selected boxes depends on the values, so the shape is known at load time only
// when every input is a constant.
XPUSIM_REGISTER_OP("NonMaxSuppression",
                   OpKernel{[](InferContext& ctx) {
                                std::vector<const Tensor*> ins;
                                for (std::size_t i = 0; i < ctx.inputs.size(); ++i)
                                    ins.push_back(ctx.inputs[i].present ? &ctx.constant_input(i)
                                                                        : nullptr);
                                const Tensor y = non_max_suppression(
                                    KernelContext{ctx.node, ctx.opset, std::move(ins)});
                                ctx.set_output(0, DType::Int64, y.shape());
                            },
                            [](const KernelContext& ctx) {
                                return std::vector<Tensor>{non_max_suppression(ctx)};
                            }});

// ---- RoiAlign -----------------------------------------------------------------------------------

struct RoiAlignPlan {
    int64_t out_h = 1, out_w = 1, sampling_ratio = 0;
    double spatial_scale = 1.0;
    bool half_pixel = false, max_mode = false;
    Shape out;
};

// X [N, C, H, W], rois [R, 4] as (x1, y1, x2, y2), batch_indices [R] -> [R, C, out_h, out_w].
// coordinate_transformation_mode arrived in opset 16 (default half_pixel); before it, the
// coordinates were not shifted (output_half_pixel).
RoiAlignPlan roi_align_plan(const Node& node, int64_t opset, const Shape& x, const Shape& rois,
                            const Shape& indices) {
    if (x.size() != 4) fail(node, "X must be [N, C, H, W], got " + sim::shape_str(x));
    if (rois.size() != 2 || rois[1] != 4)
        fail(node, "rois must be [num_rois, 4], got " + sim::shape_str(rois));
    if (indices.size() != 1 || indices[0] != rois[0])
        fail(node, "batch_indices must be [" + std::to_string(rois[0]) + "], got " +
                       sim::shape_str(indices));
    RoiAlignPlan p;
    p.out_h = node.attr_int("output_height", 1);
    p.out_w = node.attr_int("output_width", 1);
    p.sampling_ratio = node.attr_int("sampling_ratio", 0);
    p.spatial_scale = node.attr_float("spatial_scale", 1.0);
    if (p.out_h < 1 || p.out_w < 1 || p.out_h > kMaxWindowAttr || p.out_w > kMaxWindowAttr)
        fail(node, "output_height and output_width must be in [1, " +
                       std::to_string(kMaxWindowAttr) + "]");
    if (p.sampling_ratio < 0 || p.sampling_ratio > kMaxWindowAttr)
        fail(node, "sampling_ratio " + std::to_string(p.sampling_ratio) + " is out of range");
    const std::string mode = node.attr_string("mode", "avg");
    if (mode != "avg" && mode != "max") fail(node, "unknown mode '" + mode + "'");
    p.max_mode = mode == "max";
    const std::string ctm = opset >= 16
                                ? node.attr_string("coordinate_transformation_mode", "half_pixel")
                                : "output_half_pixel";
    if (ctm != "half_pixel" && ctm != "output_half_pixel")
        fail(node, "unknown coordinate_transformation_mode '" + ctm + "'");
    p.half_pixel = ctm == "half_pixel";
    p.out = {rois[0], x[1], p.out_h, p.out_w};
    return p;
}

// One bilinear sample: the four neighbours' plane offsets and weights. A sample more than one
// pixel outside the map reads nothing (all weights 0); otherwise coordinates clamp to the map.
struct Sample {
    int64_t pos[4] = {0, 0, 0, 0};
    double w[4] = {0, 0, 0, 0};
};

Sample bilinear_sample(double y, double x, int64_t height, int64_t width) {
    Sample s;
    if (y < -1.0 || y > static_cast<double>(height) || x < -1.0 || x > static_cast<double>(width))
        return s;
    y = std::max(y, 0.0);
    x = std::max(x, 0.0);
    int64_t y_low = static_cast<int64_t>(y), x_low = static_cast<int64_t>(x);
    int64_t y_high = y_low + 1, x_high = x_low + 1;
    if (y_low >= height - 1) {
        y_high = y_low = height - 1;
        y = static_cast<double>(y_low);
    }
    if (x_low >= width - 1) {
        x_high = x_low = width - 1;
        x = static_cast<double>(x_low);
    }
    const double ly = y - static_cast<double>(y_low), lx = x - static_cast<double>(x_low);
    const double hy = 1.0 - ly, hx = 1.0 - lx;
    s.pos[0] = y_low * width + x_low;
    s.pos[1] = y_low * width + x_high;
    s.pos[2] = y_high * width + x_low;
    s.pos[3] = y_high * width + x_high;
    s.w[0] = hy * hx;
    s.w[1] = hy * lx;
    s.w[2] = ly * hx;
    s.w[3] = ly * lx;
    return s;
}

// Each ROI, scaled by spatial_scale (and shifted by -0.5 for half_pixel), is cut into
// out_h x out_w bins; each bin samples a grid of sampling_ratio^2 points (or
// ceil(roi_size / out_size) per axis when sampling_ratio is 0) at the centres of its sub-cells.
// avg: the mean of the bilinear samples; max: the largest weighted neighbour over all samples
// (w_k * v_k, as ONNX Runtime computes it). Without half_pixel a ROI is at least 1 x 1.
template <class T>
Tensor roi_align(const KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    const Tensor& rois = ctx.in(1);
    const Tensor& indices = ctx.in(2);
    const RoiAlignPlan p =
        roi_align_plan(ctx.node, ctx.opset, x.shape(), rois.shape(), indices.shape());
    if (rois.dtype() != x.dtype())
        ctx.fail("rois " + describe_tensor(rois) + " must have the type of X " +
                 describe_tensor(x));
    const int64_t channels = x.dim(1), height = x.dim(2), width = x.dim(3);
    Tensor y(x.dtype(), p.out);
    const T* px = x.data<T>();
    const T* pr = rois.data<T>();
    T* py = y.data<T>();
    const double offset = p.half_pixel ? 0.5 : 0.0;
    std::vector<Sample> samples;
    for (int64_t r = 0; r < p.out[0]; ++r) {
        const int64_t batch = indices.get_as_int64(r);
        if (batch < 0 || batch >= x.dim(0))
            ctx.fail("batch index " + std::to_string(batch) + " of ROI " + std::to_string(r) +
                     " is outside [0, " + std::to_string(x.dim(0)) + ")");
        const double start_w = static_cast<double>(pr[r * 4 + 0]) * p.spatial_scale - offset;
        const double start_h = static_cast<double>(pr[r * 4 + 1]) * p.spatial_scale - offset;
        const double end_w = static_cast<double>(pr[r * 4 + 2]) * p.spatial_scale - offset;
        const double end_h = static_cast<double>(pr[r * 4 + 3]) * p.spatial_scale - offset;
        double roi_w = end_w - start_w, roi_h = end_h - start_h;
        if (!p.half_pixel) {
            roi_w = std::max(roi_w, 1.0);
            roi_h = std::max(roi_h, 1.0);
        }
        const double bin_h = roi_h / static_cast<double>(p.out_h);
        const double bin_w = roi_w / static_cast<double>(p.out_w);
        // A malformed half_pixel ROI (end before start) samples nothing and pools to 0.
        const double want_h = std::max(0.0, std::ceil(bin_h)),
                     want_w = std::max(0.0, std::ceil(bin_w));
        if (p.sampling_ratio == 0 && (want_h > kMaxWindowAttr || want_w > kMaxWindowAttr))
            ctx.fail("ROI " + std::to_string(r) + " needs too many sampling points");
        const int64_t grid_h =
            p.sampling_ratio > 0 ? p.sampling_ratio : static_cast<int64_t>(want_h);
        const int64_t grid_w =
            p.sampling_ratio > 0 ? p.sampling_ratio : static_cast<int64_t>(want_w);
        const double count = static_cast<double>(std::max<int64_t>(grid_h * grid_w, 1));
        // The samples of every bin, shared by all channels: bin (ph, pw) owns
        // samples[(ph * out_w + pw) * grid_h * grid_w ...].
        samples.clear();
        for (int64_t ph = 0; ph < p.out_h; ++ph)
            for (int64_t pw = 0; pw < p.out_w; ++pw)
                for (int64_t iy = 0; iy < grid_h; ++iy) {
                    const double yy = start_h + static_cast<double>(ph) * bin_h +
                                      (static_cast<double>(iy) + 0.5) * bin_h / grid_h;
                    for (int64_t ix = 0; ix < grid_w; ++ix) {
                        const double xx = start_w + static_cast<double>(pw) * bin_w +
                                          (static_cast<double>(ix) + 0.5) * bin_w / grid_w;
                        samples.push_back(bilinear_sample(yy, xx, height, width));
                    }
                }
        const int64_t per_bin = grid_h * grid_w;
        for (int64_t c = 0; c < channels; ++c) {
            const T* plane = px + (batch * channels + c) * height * width;
            T* out = py + (r * channels + c) * p.out_h * p.out_w;
            for (int64_t b = 0; b < p.out_h * p.out_w; ++b) {
                double acc = 0.0;
                for (int64_t s = 0; s < per_bin; ++s) {
                    const Sample& sm = samples[b * per_bin + s];
                    if (p.max_mode) {
                        double v = sm.w[0] * plane[sm.pos[0]];
                        for (int k = 1; k < 4; ++k) v = std::max(v, sm.w[k] * plane[sm.pos[k]]);
                        acc = s == 0 ? v : std::max(acc, v);
                    } else {
                        for (int k = 0; k < 4; ++k) acc += sm.w[k] * plane[sm.pos[k]];
                    }
                }
                out[b] = static_cast<T>(p.max_mode ? acc : acc / count);
            }
        }
    }
    return y;
}

XPUSIM_REGISTER_OP("RoiAlign", OpKernel{[](InferContext& ctx) {
                                            const RoiAlignPlan p =
                                                roi_align_plan(ctx.node, ctx.opset, ctx.in(0).shape,
                                                               ctx.in(1).shape, ctx.in(2).shape);
                                            ctx.set_output(0, ctx.in(0).dtype, p.out);
                                        },
                                        [](const KernelContext& ctx) {
                                            Tensor y;
                                            dispatch_float(ctx.in(0).dtype(), ctx.node,
                                                           [&](auto tag) {
                                                               y = roi_align<decltype(tag)>(ctx);
                                                           });
                                            return std::vector<Tensor>{y};
                                        }});

}  // namespace
}  // namespace xpusim::frontend::ops
