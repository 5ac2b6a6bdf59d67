// The `npu` target's compiler half: Graph + config -> NpuProgram. Calibrates activation ranges
// on the run's inputs (quant.calibration: minmax or percentile), plans which unit runs each node
// and which nodes fuse into one hardware layer (graph_plan), then emits surfaces, quantized
// constants and descriptors (emitter). Registered under "npu".
#include "frontends/lower/npu/emitter.h"
#include "frontends/onnx/random_inputs.h"

namespace xpusim::lower::npu {

namespace {

class NpuLowering : public Lowering {
  public:
    LoweredModel lower(const Graph& graph, const sim::config::Config& config,
                       const LowerOptions& options) const override {
        const NpuSpec spec = NpuSpec::from_config(config);
        const GraphPlan plan = plan_graph(graph, spec);
        // Scales only matter for the numbers: a timing-only run skips calibration and data.
        std::map<std::string, ValueRange> ranges;
        if (!options.timing_only) {
            const TensorMap drawn = options.calibration_inputs
                                        ? TensorMap{}
                                        : frontend::make_random_inputs(graph, options.seed);
            const TensorMap& inputs =
                options.calibration_inputs ? *options.calibration_inputs : drawn;
            const auto method = spec.quant.calibration == "percentile"
                                    ? CalibrationMethod::Percentile
                                    : CalibrationMethod::MinMax;
            ranges = calibrate(graph, inputs, method, spec.quant.percentile);
        }
        Emitter emitter(graph, plan, spec, options.timing_only ? nullptr : &ranges);
        return emitter.run();
    }
};

const LoweringRegistration s_lowering{"npu", [] { return std::make_unique<NpuLowering>(); }};

}  // namespace
}  // namespace xpusim::lower::npu
