// The `reference` target: the fp32 reference executor, the yardstick every processor model is
// measured against. It models no hardware, so its lowering is trivial (the graph is its own
// program) and its "simulation" runs the graph on the host, reporting wall time per node in the
// trace instead of cycles. Both halves live here because the executor is part of the frontend.
#include <chrono>

#include "frontends/lower/lowering.h"
#include "frontends/onnx/executor.h"
#include "sim/runtime/target_model.h"

namespace xpusim::lower {
namespace {

namespace cfg = sim::config;

const cfg::SchemaRegistration s_schema{
    cfg::Schema("reference", "fp32 reference executor (ONNX semantics, no hardware model)")
        .add_int("host.threads", "threads",
                 "worker threads for Conv/GEMM (0: one per core)", 0, 0, 256)};

class ReferenceProgram : public sim::Program {
public:
    explicit ReferenceProgram(Graph graph) : m_graph(std::move(graph)) {}
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

private:
    Graph m_graph;
};

class ReferenceLowering : public Lowering {
public:
    LoweredModel lower(const Graph& graph, const sim::config::Config&,
                       const LowerOptions&) const override {
        LoweredModel out;
        for (const auto& n : graph.nodes)
            out.placements.push_back({n.name, n.op_type, sim::Placement::Native, "host-cpu", ""});
        out.program = std::make_unique<ReferenceProgram>(graph);
        return out;
    }
};

class ReferenceModel : public sim::TargetModel {
public:
    sim::Results simulate(const sim::Program& program, const sim::config::Config& config,
                          const std::map<std::string, sim::Tensor>& inputs,
                          const sim::RunOptions&) const override {
        const auto* ref = dynamic_cast<const ReferenceProgram*>(&program);
        if (!ref) throw sim::Error("the reference model was given a " + program.target() + " program");
        const int64_t threads = config.get_int("host.threads");
        Eigen::setNbThreads(static_cast<int>(threads));  // 0: OpenMP's default, one per core
        sim::Results r;
        r.target = "reference";
        const int pid = r.trace.add_process("reference (host wall time)");
        const int tid = r.trace.add_track(pid, "executor");
        const auto start = std::chrono::steady_clock::now();
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
        r.wall_seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        return r;
    }
};

const LoweringRegistration s_lowering{"reference", [] { return std::make_unique<ReferenceLowering>(); }};
const sim::TargetModelRegistration s_model{"reference", [] { return std::make_unique<ReferenceModel>(); }};

}  // namespace
}  // namespace xpusim::lower
