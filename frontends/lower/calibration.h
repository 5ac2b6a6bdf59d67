// Post-training quantization shared by the int8 lowerings: activation ranges calibrated by
// running the fp32 reference on the run's inputs, and symmetric scales for weights, per tensor
// or per output channel.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "frontends/onnx/graph.h"

namespace xpusim::lower {

struct ValueRange {
    float min = 0, max = 0;
    float absmax = 0;      // max |x|
    float percentile = 0;  // the chosen percentile of |x| (== absmax for min/max calibration)
};

enum class CalibrationMethod { MinMax, Percentile };

/// @brief Ranges of every graph input and node output on `inputs`. With Percentile, `percentile`
/// (e.g. 99.99) of |x| clips outliers.
std::map<std::string, ValueRange> calibrate(const frontend::Graph& graph,
                                            const std::map<std::string, sim::Tensor>& inputs,
                                            CalibrationMethod method, double percentile = 99.99);

/// @brief Symmetric int8 scale for a range: absmax / 127 (1 for an all-zero tensor).
float symmetric_scale(float absmax, int bits = 8);

/// @brief Per-output-channel symmetric scales of a weight tensor whose axis 0 is the output
/// channel (Conv OIHW, Gemm with transB) or, with `channel_axis` = 1, a K x N matrix.
std::vector<float> per_channel_scales(const sim::Tensor& weight, int channel_axis = 0, int bits = 8);

}  // namespace xpusim::lower
