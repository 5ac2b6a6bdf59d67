// Post-training quantization shared by the int8 lowerings: one calibration policy, with the
// calibration data kept apart from the inputs a run is judged on.
//
//   samples   from `--calibration DIR` (a folder of .npy files, one per graph input, or a folder
//             of such folders, one per sample), from Python (a list of input dicts), or, when
//             none are given, `quant.samples` inputs drawn from seed --seed + 1000 + i. Never
//             the evaluation inputs.
//   ranges    the fp32 reference runs on every sample; min/max calibration keeps the extremes
//             over all samples, percentile calibration the largest per-sample percentile of |x|.
//   scales    symmetric: absmax / 127, per tensor for activations; weights per output channel
//             or per tensor.
// stats.json records `calibration: {source, samples}`.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "frontends/onnx/graph.h"
#include "sim/tensor/quant_spec.h"

namespace xpusim::lower {

using SampleMap = std::map<std::string, sim::Tensor>;

/// What a lowering calibrated on, for stats.json `calibration`.
struct CalibrationUse {
    std::string source;  // "drawn", "files", "given" (or "model" for pre-quantized graphs)
    int64_t samples = 0;
    nlohmann::json detail = nlohmann::json::object();  // seed or folder
    nlohmann::json to_json() const;
};

/// The calibration samples of a run. Drawn samples are made on first use, for the graph the
/// lowering calibrates, so targets that never quantize pay nothing.
class CalibrationSet {
  public:
    /// @brief `count` samples drawn from seeds seed + 1000 + i (count from quant.samples).
    static CalibrationSet drawn(uint64_t seed);
    /// @brief Samples given directly (Python's `calibration=[{...}, ...]`).
    static CalibrationSet given(std::vector<SampleMap> samples);
    /// @brief Samples read from a folder: `.npy` files named after the graph inputs (one
    /// sample), or sub-folders of such files (one sample each, in name order). IoError or
    /// ModelError naming the file when it cannot be read.
    static CalibrationSet from_folder(const std::string& dir);

    /// @brief The samples for `graph`, each checked against its inputs (names, types, shapes):
    /// `drawn_count` of them when drawn. ModelError naming the sample and input otherwise.
    const std::vector<SampleMap>& samples(const frontend::Graph& graph, int64_t drawn_count) const;
    /// @brief How these samples were made, after samples() has been called.
    CalibrationUse use() const;

  private:
    std::string m_source;
    uint64_t m_seed = 0;
    std::string m_folder;
    mutable std::vector<SampleMap> m_samples;
    mutable bool m_ready = false;
};

struct ValueRange {
    float min = 0, max = 0;
    float absmax = 0;      // max |x|
    float percentile = 0;  // the chosen percentile of |x| (== absmax for min/max calibration)
    /// The |x| the scale covers under `quant` (absmax or the percentile).
    float covered(const sim::QuantSpec& quant) const {
        return quant.calibration == "percentile" ? percentile : absmax;
    }
};

/// @brief Ranges of every graph input and node output over the calibration samples, with the
/// method of `quant` (min/max or percentile).
std::map<std::string, ValueRange> calibrate(const frontend::Graph& graph,
                                            const std::vector<SampleMap>& samples,
                                            const sim::QuantSpec& quant);

/// @brief The set's samples for `graph` calibrated under `quant`, and what was used. The
/// lowering's one call for its int8 scales.
std::map<std::string, ValueRange> calibrate(const frontend::Graph& graph, const CalibrationSet& set,
                                            const sim::QuantSpec& quant, CalibrationUse& use);

/// @brief Symmetric int8 scale for a range: absmax / 127 (1 for an all-zero tensor).
float symmetric_scale(float absmax, int bits = 8);

}  // namespace xpusim::lower
