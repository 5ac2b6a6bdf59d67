// Pre-quantized (QDQ) models on int8 targets: the model's own scales instead of calibration.
//
// A QDQ graph, as ONNX Runtime's quantize_static, TensorRT's and NNCF's exporters write it,
// wraps every quantized tensor x in QuantizeLinear(x, s, zp) -> DequantizeLinear(., s, zp), and
// stores weights as integers behind a DequantizeLinear (which load-time constant folding has
// already turned into float constants, (q - zp) * s). fold_qdq removes each activation pair,
// so that the op before it writes x and the ops after it read x, and keeps the pair's range
// [(qmin - zp) s, (qmax - zp) s] for x. The int8 lowering then quantizes x with that range:
// each DQ -> op -> Q becomes one int8 op with the model's scale, and nothing is calibrated.
//
// What an int8 target here cannot honour is rounded to what it can do and reported:
//   - an asymmetric zero point on symmetric hardware: the symmetric scale covering the same
//     range, max(|lo|, |hi|) / 127, which is coarser by that factor;
//   - a per-axis activation scale on a per-tensor unit: the largest of them;
//   - weights that are not on the target's int8 grid (per-axis scales on a per-tensor unit,
//     asymmetric weights): the largest requantization error, relative to the weight range.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "frontends/lower/calibration.h"

namespace xpusim::lower {

/// The quantization a QDQ model carries, after fold_qdq.
struct ModelQuantization {
    std::map<std::string, ValueRange> ranges;  // per activation, from its Q/DQ pair
    std::vector<std::string> deviations;       // what the target rounded, one line each
    std::vector<std::string> uncovered;        // float activations no pair covers
    int64_t pairs = 0;                         // Q/DQ pairs folded

    bool present() const { return pairs > 0; }
};

/// @brief Folds every activation QuantizeLinear -> DequantizeLinear pair with constant
/// per-tensor (or per-axis) scale and zero point out of `graph`, recording the range of the
/// value it quantized (extended through ops that keep a range: Relu, pooling, views, Concat)
/// and, against `quant`, what a symmetric int8 target must round. The removed nodes are
/// recorded in graph.folded. A graph without pairs is left as it is.
ModelQuantization fold_qdq(frontend::Graph& graph, const sim::QuantSpec& quant);

/// @brief The int8 ranges of a lowering: the model's own when it carries Q/DQ pairs (with the
/// `uncovered` values alone calibrated on the samples), else all calibrated. `use` says which:
/// source "model" with qdq_pairs (and `calibrated`, the uncovered values), or the samples'.
std::map<std::string, ValueRange> int8_ranges(const frontend::Graph& graph,
                                              const ModelQuantization& model,
                                              const CalibrationSet& set,
                                              const sim::QuantSpec& quant, CalibrationUse& use);

/// @brief The lines `check` prints for a pre-quantized model: where the scales came from and
/// each deviation (the first few, then how many more).
std::vector<std::string> qdq_notes(const ModelQuantization& model);

}  // namespace xpusim::lower
