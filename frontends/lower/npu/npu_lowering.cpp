// The `npu` target's compiler half: Graph + Spec -> NpuProgram. Folds BatchNormalization into
// the convolutions (a graph pass), calibrates activation ranges on the calibration samples
// (quant.calibration: minmax or percentile; never the run's inputs), plans which unit runs each
// node and which nodes fuse into one hardware layer (graph_plan), then emits surfaces, quantized
// constants and descriptors (emitter). Registered under "npu".
#include "frontends/lower/npu/emitter.h"
#include "frontends/lower/loop_unroll.h"
#include "frontends/lower/qdq.h"
#include "frontends/lower/recurrent_unroll.h"
#include "frontends/onnx/passes.h"

namespace xpusim::lower::npu {

namespace {

class NpuLowering : public LoweringFor<NpuSpec> {
  protected:
    LoweredModel lower_spec(const Graph& input, const NpuSpec& spec,
                            const LowerOptions& options) const override {
        Graph graph = input;
        // A pre-quantized (QDQ) model brings its own int8 scales: its Q/DQ pairs fold into the
        // ops beside them before anything is planned.
        ModelQuantization model_quant;
        if (spec.quant.precision == isa::npu::Precision::Int8) model_quant = fold_qdq(graph, spec.quant);
        frontend::fold_batchnorm(graph);
        unroll_loops(graph);  // a Loop of constant trip count as copies of its body
        unroll_recurrent(graph);  // LSTM/GRU/RNN as per-step FC layers and SDP ops
        // Checked after the unrolls: a Loop of constant trip count has shapes once unrolled.
        require_mappable_shapes(graph, "npu");
        const GraphPlan plan = plan_graph(graph, spec);
        // Ranges set the int8 scales and the range an fp16 lookup table samples; they only
        // matter for the numbers, so a timing-only run skips calibration and data.
        std::map<std::string, ValueRange> ranges;
        std::optional<CalibrationUse> use;
        if (!options.timing_only) {
            if (!options.calibration)
                throw sim::Error("npu: an int8 lowering with numerics needs calibration samples");
            use.emplace();
            ranges = int8_ranges(graph, model_quant, *options.calibration, spec.quant, *use);
        }
        Emitter emitter(graph, plan, spec, options.timing_only ? nullptr : &ranges);
        LoweredModel out = emitter.run();
        add_folded_placements(graph, out.placements);
        out.calibration = use;
        for (auto& line : qdq_notes(model_quant)) out.notes.push_back(std::move(line));
        return out;
    }
};

const LoweringRegistration s_lowering{"npu", [] { return std::make_unique<NpuLowering>(); }};

}  // namespace
}  // namespace xpusim::lower::npu
