#include "frontends/lower/calibration.h"

#include <algorithm>
#include <cmath>

#include "frontends/onnx/executor.h"

namespace xpusim::lower {

namespace {

ValueRange range_of(const sim::Tensor& t, CalibrationMethod method, double percentile) {
    ValueRange r;
    if (!sim::is_float(t.dtype()) || t.numel() == 0) return r;
    const sim::Tensor f = t.dtype() == sim::DType::Float32 ? t : t.cast(sim::DType::Float32);
    const float* p = f.data<float>();
    r.min = r.max = p[0];
    for (int64_t i = 0; i < f.numel(); ++i) {
        r.min = std::min(r.min, p[i]);
        r.max = std::max(r.max, p[i]);
    }
    r.absmax = std::max(std::fabs(r.min), std::fabs(r.max));
    r.percentile = r.absmax;
    if (method == CalibrationMethod::Percentile && f.numel() > 1) {
        std::vector<float> mags(static_cast<std::size_t>(f.numel()));
        for (int64_t i = 0; i < f.numel(); ++i) mags[i] = std::fabs(p[i]);
        const auto k = static_cast<std::size_t>(
            std::clamp(percentile / 100.0, 0.0, 1.0) * static_cast<double>(mags.size() - 1));
        std::nth_element(mags.begin(), mags.begin() + static_cast<std::ptrdiff_t>(k), mags.end());
        r.percentile = mags[k];
    }
    return r;
}

}  // namespace

std::map<std::string, ValueRange> calibrate(const frontend::Graph& graph,
                                            const std::map<std::string, sim::Tensor>& inputs,
                                            CalibrationMethod method, double percentile) {
    std::map<std::string, ValueRange> out;
    for (const auto& [name, t] : inputs) out[name] = range_of(t, method, percentile);
    frontend::execute_graph(graph, inputs,
                            [&](const frontend::Node& node, const std::vector<sim::Tensor>& outs, double) {
                                for (std::size_t i = 0; i < node.outputs.size() && i < outs.size(); ++i)
                                    if (!node.outputs[i].empty() && outs[i].valid())
                                        out[node.outputs[i]] = range_of(outs[i], method, percentile);
                            });
    return out;
}

float symmetric_scale(float absmax, int bits) {
    const float qmax = static_cast<float>((1 << (bits - 1)) - 1);
    return absmax > 0 ? absmax / qmax : 1.0f;
}

std::vector<float> per_channel_scales(const sim::Tensor& weight, int channel_axis, int bits) {
    const sim::Tensor w = weight.dtype() == sim::DType::Float32 ? weight : weight.cast(sim::DType::Float32);
    const float* p = w.data<float>();
    const int64_t channels = w.dim(channel_axis);
    std::vector<float> absmax(static_cast<std::size_t>(channels), 0.0f);
    if (channel_axis == 0) {
        const int64_t per = w.numel() / std::max<int64_t>(channels, 1);
        for (int64_t c = 0; c < channels; ++c)
            for (int64_t i = 0; i < per; ++i) absmax[c] = std::max(absmax[c], std::fabs(p[c * per + i]));
    } else {
        const int64_t rows = w.numel() / std::max<int64_t>(channels, 1);
        for (int64_t r = 0; r < rows; ++r)
            for (int64_t c = 0; c < channels; ++c)
                absmax[c] = std::max(absmax[c], std::fabs(p[r * channels + c]));
    }
    std::vector<float> scales;
    for (float a : absmax) scales.push_back(symmetric_scale(a, bits));
    return scales;
}

}  // namespace xpusim::lower
