// The `tpu` target's simulation half: a TpuProgram + inputs -> Results. Builds the datapath
// (unless --timing-only), elaborates the chip (tpu_top) in the run's SystemC kernel, runs it and
// collects the results (tpu_results). Registered under "tpu".
#include <algorithm>

#include "models/tpu/tpu_results.h"
#include "models/tpu/tpu_top.h"
#include "sim/runtime/target_model.h"

namespace xpusim::models::tpu {
namespace {

class TpuModel : public sim::TargetModelFor<TpuProgram> {
  protected:
    void run(const TpuProgram& program, const sim::TensorMap& inputs,
             const sim::RunOptions& options, sim::Results& r) const override {
        const TpuSpec& spec = program.spec;
        r.clock_hz = spec.clock_hz();
        r.trace.set_clock_hz(spec.clock_hz());
        std::unique_ptr<TpuDatapath> datapath;
        if (!options.timing_only) datapath = std::make_unique<TpuDatapath>(program, inputs);
        TpuRun run(program, datapath.get(), r.trace);
        run.trace_pid = r.trace.add_process("tpu");
        sim::make_owned<TpuTop>("tpu", run);
        sim::SimulationContext::current()->run();
        uint64_t total = 0;
        for (std::size_t k = 0; k < program.instructions.size(); ++k)
            if (!run.done[k])
                throw sim::Error("tpu: instruction " + std::to_string(k) + " (" +
                                 opcode_name(program.instructions[k].op) +
                                 ") never completed: the program deadlocks");
        for (const auto& t : run.done_at) total = std::max(total, run.to_cycles(t));
        r.cycles = total;
        collect_results(run, r);
        if (datapath) r.outputs = datapath->outputs();
        if (datapath && options.keep_values)
            for (const auto& [name, t] : datapath->values()) r.keep_value(name, t, options.keep_values_bytes);
    }
};

const sim::TargetModelRegistration s_registration{"tpu",
                                                  [] { return std::make_unique<TpuModel>(); }};

}  // namespace
}  // namespace xpusim::models::tpu
