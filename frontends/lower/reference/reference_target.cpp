// The `reference` target: the fp32 reference executor, the yardstick every processor model is
// measured against. It models no hardware, so its lowering is trivial (the graph is its own
// program) and its "simulation" runs the graph on the host, reporting wall time per node in the
// trace instead of cycles. Both halves live here because the executor is part of the frontend;
// its model is registered as the reference, so the driver does not compare it with itself.
#include "frontends/lower/lowering.h"
#include "frontends/onnx/executor.h"
#include "sim/runtime/target_model.h"

namespace xpusim::lower {
namespace {

struct ReferenceHost {
    int64_t threads = 0;

    template <class V>
    void visit(V& v) {
        v.field("threads", threads, "threads", "worker threads for Conv/GEMM (0: one per core)",
                {0, 256});
    }
};

struct ReferenceSpec {
    ReferenceHost host;

    template <class V>
    void visit(V& v) {
        v.group("host", host);
    }
};

const sim::config::SchemaRegistration s_schema{sim::config::spec_schema<ReferenceSpec>(
    "reference", "fp32 reference executor (ONNX semantics, no hardware model)")};

class ReferenceProgram : public sim::Program {
  public:
    ReferenceProgram(Graph graph, ReferenceSpec spec) : spec(spec), m_graph(std::move(graph)) {}
    std::string target() const override { return "reference"; }
    std::string to_asm() const override {
        std::string s = "; reference program: the graph itself, " +
                        std::to_string(m_graph.nodes.size()) + " nodes\n";
        for (const auto& n : m_graph.nodes) {
            s += n.op_type + " " + n.name + " (";
            for (std::size_t i = 0; i < n.inputs.size(); ++i) s += (i ? ", " : "") + n.inputs[i];
            s += ") -> (";
            for (std::size_t i = 0; i < n.outputs.size(); ++i) s += (i ? ", " : "") + n.outputs[i];
            s += ")\n";
        }
        return s;
    }
    const Graph& graph() const { return m_graph; }
    const ReferenceSpec spec;

  private:
    Graph m_graph;
};

class ReferenceLowering : public LoweringFor<ReferenceSpec> {
  protected:
    LoweredModel lower_spec(const Graph& graph, const ReferenceSpec& spec,
                            const LowerOptions&) const override {
        LoweredModel out;
        for (const auto& n : graph.nodes)
            out.placements.push_back(
                {n.name, n.op_type, sim::Placement::Native, "host-cpu", "", ""});
        out.program = std::make_unique<ReferenceProgram>(graph, spec);
        return out;
    }
};

// It runs no SystemC kernel, so it is a plain TargetModel rather than a TargetModelFor.
class ReferenceModel : public sim::TargetModel {
  public:
    sim::Results simulate(const sim::Program& program, const sim::TensorMap& inputs,
                          const sim::RunOptions&) const override {
        const auto* ref = dynamic_cast<const ReferenceProgram*>(&program);
        if (!ref)
            throw sim::Error("the reference model was given a " + program.target() + " program");
        Eigen::setNbThreads(
            static_cast<int>(ref->spec.host.threads));  // 0: OpenMP's default, one per core
        sim::Results r;
        r.target = "reference";
        const int pid = r.trace.add_process("reference (host wall time)");
        const int tid = r.trace.add_track(pid, "executor");
        double elapsed_ns = 0.0;
        r.outputs = frontend::execute_graph(
            ref->graph(), inputs,
            [&](const frontend::Node& node, const std::vector<sim::Tensor>&, double seconds) {
                const auto begin = static_cast<uint64_t>(elapsed_ns);
                const auto dur = static_cast<uint64_t>(seconds * 1e9);
                elapsed_ns += seconds * 1e9;
                r.trace.complete(pid, tid, node.name, begin, dur, {{"op_type", node.op_type}});
                sim::OpStats op;
                op.name = node.name;
                op.op_type = node.op_type;
                op.placement = sim::Placement::Native;
                op.unit = "host-cpu";
                op.extra["wall_s"] = seconds;
                r.ops.push_back(std::move(op));
            });
        return r;
    }
};

const LoweringRegistration s_lowering{"reference",
                                      [] { return std::make_unique<ReferenceLowering>(); }};
const sim::TargetModelRegistration s_model{"reference",
                                           [] { return std::make_unique<ReferenceModel>(); },
                                           /*is_reference=*/true};

}  // namespace
}  // namespace xpusim::lower
