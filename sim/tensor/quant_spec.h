// The quantization block every int8-capable target declares under `quant.`: how weight scales
// are chosen and how activation ranges are calibrated. The calibration policy itself (which
// samples, never the evaluation inputs) is frontends/lower/calibration.h.
#pragma once

#include <cstdint>
#include <string>

namespace xpusim::sim {

struct QuantSpec {
    bool per_channel = true;             // weight scales per output channel, else per tensor
    std::string calibration = "minmax";  // activation range: min/max or a percentile of |x|
    double percentile = 99.99;           // of |x|, for percentile calibration
    int64_t samples = 4;                 // calibration samples drawn when none are given

    template <class V>
    void visit(V& v) {
        v.flag("per_channel", per_channel,
               "int8 weight scales per output channel (else per tensor)");
        v.text("calibration", calibration,
               "activation range: min/max or a percentile of |x| over the calibration samples",
               {"minmax", "percentile"});
        v.field("percentile", percentile, "%", "percentile of |x| kept by percentile calibration",
                {50, 100});
        v.field("samples", samples, "samples",
                "calibration samples drawn (from seed + 1000) when --calibration gives none",
                {1, 1024});
    }
};

}  // namespace xpusim::sim
