#include "app/driver/driver.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "frontends/onnx/executor.h"
#include "frontends/onnx/loader.h"
#include "frontends/onnx/passes.h"
#include "frontends/onnx/random_inputs.h"
#include "sim/config/schema.h"
#include "sim/json.h"
#include "sim/runtime/target_model.h"
#include "sim/tensor/npy.h"

#ifndef XPUSIM_SOURCE_CONFIG_DIR
#define XPUSIM_SOURCE_CONFIG_DIR ""
#endif

namespace xpusim::app {

namespace fs = std::filesystem;
using sim::ModelError;

sim::config::ConfigLoader config_loader() {
    return sim::config::ConfigLoader(
        sim::config::ConfigLoader::default_search_dirs(XPUSIM_SOURCE_CONFIG_DIR));
}

std::string safe_file_name(const std::string& name) {
    std::string out = name;
    for (char& c : out)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-'))
            c = '_';
    return out;
}

sim::Shape parse_shape(const std::string& text) {
    sim::Shape shape;
    if (text == "scalar" || text.empty()) return shape;
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t x = text.find_first_of("x,", start);
        const std::string tok =
            text.substr(start, x == std::string::npos ? std::string::npos : x - start);
        if (tok.empty() || tok.find_first_not_of("0123456789") != std::string::npos)
            throw ModelError("bad shape '" + text + "' (expected e.g. 1x3x224x224)");
        if (tok.size() > 18)
            throw ModelError("dimension " + tok + " of shape '" + text + "' is too large");
        shape.push_back(std::stoll(tok));
        if (x == std::string::npos) break;
        start = x + 1;
    }
    return shape;
}

frontend::Graph load_graph(const RunRequest& request, TensorMap& inputs) {
    frontend::Graph graph = frontend::import_model(request.model_path);
    inputs = request.input_tensors;
    for (const auto& [name, path] : request.input_files) inputs[name] = sim::read_npy(path);
    auto source = [&](const std::string& name) {  // the file a given tensor came from
        auto f = request.input_files.find(name);
        return f == request.input_files.end() ? std::string() : " (from '" + f->second + "')";
    };
    std::map<std::string, sim::Shape> shapes = request.shapes;
    for (const auto& [name, t] : inputs) {
        if (std::find(graph.inputs.begin(), graph.inputs.end(), name) == graph.inputs.end())
            throw ModelError("input '" + name + "' is not an input of the model (inputs: " + [&] {
                std::string s;
                for (const auto& i : graph.inputs) s += (s.empty() ? "" : ", ") + i;
                return s;
            }() + ")");
        auto it = shapes.find(name);
        if (it != shapes.end() && it->second != t.shape())
            throw ModelError("input '" + name + "'" + source(name) + " has shape " +
                             sim::shape_str(t.shape()) + " but --shape gives " +
                             sim::shape_str(it->second));
        shapes[name] = t.shape();
    }
    try {
        frontend::bind_input_shapes(graph, shapes);
    } catch (const ModelError& e) {
        // Name the file right after the input (the rest may be a long shape).
        const std::string what = e.what();
        for (const auto& [name, path] : request.input_files) {
            const std::string prefix = "input '" + name + "'";
            if (what.rfind(prefix, 0) == 0)
                throw ModelError(prefix + source(name) + what.substr(prefix.size()));
        }
        throw;
    }
    frontend::infer_and_fold(graph);
    frontend::remove_dead_nodes(graph);
    return graph;
}

namespace {

struct Deviation {
    double diff2 = 0, ref2 = 0, got2 = 0, dot = 0, max_abs = 0;
    void add(double a, double b) {
        diff2 += (a - b) * (a - b);
        ref2 += b * b;
        got2 += a * a;
        dot += a * b;
        max_abs = std::max(max_abs, std::fabs(a - b));
    }
};

// In element order, in double: fp32 on both sides reads the floats directly (the same values
// get_as_double gives, without its per-element dispatch), anything else through get_as_double.
Deviation deviation(const sim::Tensor& got, const sim::Tensor& ref) {
    Deviation d;
    const int64_t n = ref.numel();
    if (got.dtype() == sim::DType::Float32 && ref.dtype() == sim::DType::Float32) {
        const float* a = got.data<float>();
        const float* b = ref.data<float>();
        for (int64_t i = 0; i < n; ++i) d.add(static_cast<double>(a[i]), static_cast<double>(b[i]));
    } else {
        for (int64_t i = 0; i < n; ++i) d.add(got.get_as_double(i), ref.get_as_double(i));
    }
    return d;
}

}  // namespace

nlohmann::json compare_outputs(const TensorMap& got, const TensorMap& reference) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [name, ref] : reference) {
        auto it = got.find(name);
        if (it == got.end()) {
            out[name] = {{"error", "the target produced no value for this output"}};
            continue;
        }
        const sim::Tensor& g = it->second;
        if (g.shape() != ref.shape()) {
            out[name] = {{"error", "shape " + sim::shape_str(g.shape()) +
                                       " differs from the reference's " +
                                       sim::shape_str(ref.shape())}};
            continue;
        }
        const auto [diff2, ref2, got2, dot, max_abs] = deviation(g, ref);
        const double rel_l2 = ref2 > 0 ? std::sqrt(diff2 / ref2) : std::sqrt(diff2);
        const double cosine =
            (ref2 > 0 && got2 > 0) ? dot / std::sqrt(ref2 * got2) : (diff2 == 0 ? 1.0 : 0.0);
        out[name] = {{"rel_l2", rel_l2}, {"max_abs", max_abs}, {"cosine", cosine}};
    }
    return out;
}

void check_target_registrations() {
    std::string problems;
    auto need = [&](const std::vector<std::string>& names, auto&& has, const std::string& what) {
        for (const auto& n : names)
            if (!has(n))
                problems += (problems.empty() ? "" : "; ") + ("target '" + n + "' has no " + what);
    };
    const auto schemas = sim::config::schemas().names();
    const auto lowerings = lower::lowerings().names();
    const auto models = sim::target_models().names();
    need(
        schemas, [](const std::string& n) { return lower::lowerings().contains(n); }, "lowering");
    need(
        schemas, [](const std::string& n) { return sim::target_models().contains(n); }, "model");
    need(
        lowerings, [](const std::string& n) { return sim::config::schemas().contains(n); },
        "schema");
    need(
        models, [](const std::string& n) { return sim::config::schemas().contains(n); }, "schema");
    if (!problems.empty()) throw sim::Error("the built-in targets do not line up: " + problems);
}

lower::CalibrationSet calibration_set(const RunRequest& request) {
    if (!request.calibration_dir.empty() && !request.calibration_samples.empty())
        throw sim::ModelError("calibration is given twice: a folder and samples");
    if (!request.calibration_dir.empty())
        return lower::CalibrationSet::from_folder(request.calibration_dir);
    if (!request.calibration_samples.empty())
        return lower::CalibrationSet::given(request.calibration_samples);
    return lower::CalibrationSet::drawn(request.seed);
}

RunOutcome run_graph(const frontend::Graph& graph, const sim::config::Config& config,
                     const TensorMap& inputs, uint64_t seed, bool timing_only,
                     const lower::CalibrationSet& calibration) {
    RunOutcome out;
    out.config = config;
    out.inputs = inputs;
    const std::string& target = config.target();
    auto lowering = lower::lowerings().get(target)();
    const sim::TargetModelEntry& entry = sim::target_models().get(target);
    lower::LowerOptions lopts;
    lopts.seed = seed;
    lopts.timing_only = timing_only;
    lopts.calibration = &calibration;
    lower::LoweredModel lowered = lowering->lower(graph, config, lopts);
    out.placements = std::move(lowered.placements);
    out.notes = std::move(lowered.notes);
    // Placements in graph order; nodes folded away by a pass after the node they went into.
    std::map<std::string, std::size_t> order;
    for (std::size_t i = 0; i < graph.nodes.size(); ++i) order[graph.nodes[i].name] = i;
    auto position = [&](const lower::NodePlacement& p) {
        auto it = order.find(p.into.empty() ? p.node : p.into);
        return it == order.end() ? graph.nodes.size() : it->second;
    };
    std::stable_sort(out.placements.begin(), out.placements.end(),
                     [&](const auto& a, const auto& b) { return position(a) < position(b); });
    out.problems = std::move(lowered.problems);
    out.calibration = lowered.calibration;
    out.results.target = target;
    if (!out.feasible()) return out;  // never timed as if it fit
    sim::RunOptions ropts;
    ropts.seed = seed;
    ropts.timing_only = timing_only;
    ropts.keep_values = !entry.is_reference && !timing_only;
    auto model = entry.create();
    const auto t0 = std::chrono::steady_clock::now();
    out.results = model->simulate(*lowered.program, inputs, ropts);
    out.results.wall_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    lowered.program.reset();  // its weight copies are not needed by the comparison below
    if (!entry.is_reference && !timing_only) {
        // Each value the target held is compared as the reference produces it (nothing of the
        // reference is kept but its outputs).
        const TensorMap& held = out.results.values;
        nlohmann::json per_value = nlohmann::json::object();
        const TensorMap reference = frontend::execute_graph(
            graph, inputs,
            [&](const frontend::Node& node, const std::vector<sim::Tensor>& outs, double) {
                for (std::size_t k = 0; k < outs.size() && k < node.outputs.size(); ++k) {
                    auto it = held.find(node.outputs[k]);
                    if (it == held.end()) continue;
                    const nlohmann::json m = compare_outputs({{it->first, it->second}}, {{it->first, outs[k]}});
                    if (m.contains(it->first)) per_value[it->first] = m[it->first];
                }
            });
        out.numerics = compare_outputs(out.results.outputs, reference);
        for (const auto& node : graph.nodes)
            for (const auto& v : node.outputs)
                if (per_value.contains(v) && per_value[v].contains("rel_l2")) {
                    nlohmann::json m = per_value[v];
                    m["value"] = v;
                    out.op_numerics[node.name] = std::move(m);
                    break;
                }
        out.results.values.clear();
    }
    return out;
}

RunOutcome run(const RunRequest& request) {
    const sim::TensorLimit limit(request.max_tensor_bytes);
    const sim::config::Config config = config_loader().load(request.config, request.overrides);
    TensorMap given;
    const frontend::Graph graph = load_graph(request, given);
    // A simulated target's timing reads shapes, never values, so a timing-only run draws none:
    // the inputs it used are the ones given. The reference target times its executor, which
    // needs every value.
    const bool reads_values =
        !request.timing_only || sim::target_models().get(config.target()).is_reference;
    TensorMap inputs = given;
    if (reads_values) {
        inputs = frontend::make_random_inputs(graph, request.seed, given);
        frontend::check_inputs(graph, inputs);
    } else {
        frontend::check_given_inputs(graph, inputs);
    }
    const lower::CalibrationSet calibration = calibration_set(request);
    RunOutcome out =
        run_graph(graph, config, inputs, request.seed, request.timing_only, calibration);
    out.model_path = request.model_path;
    return out;
}

std::string RunOutcome::infeasible_message() const {
    if (problems.empty()) return "";
    std::string m = "infeasible on " + config.name() + ": " + problems.front().message;
    if (problems.size() > 1)
        m += " (+" + std::to_string(problems.size() - 1) + " more in stats.json)";
    return m;
}

nlohmann::json RunOutcome::stats_json() const {
    using nlohmann::json;
    const sim::Results& r = results;
    auto opt = [](const auto& v) -> json { return v ? json(*v) : json(nullptr); };
    json ops = json::array();
    std::map<std::string, const lower::NodePlacement*> placed;
    for (const auto& p : placements) placed[p.node] = &p;
    std::map<std::string, std::size_t> row_of;
    for (const auto& op : r.ops) {
        json row = {{"name", op.name},
                    {"op_type", op.op_type},
                    {"placement", sim::placement_name(op.placement)},
                    {"unit", op.unit},
                    {"start_cycle", op.start_cycle},
                    {"end_cycle", op.end_cycle},
                    {"compute_cycles", op.compute_cycles},
                    {"macs", op.macs},
                    {"bytes", op.bytes},
                    {"stall_cycles", op.stall_cycles},
                    {"bytes_by_level", op.bytes_by_level}};
        auto it = placed.find(op.name);
        if (it != placed.end() && !it->second->reason.empty()) row["reason"] = it->second->reason;
        for (const auto& [k, v] : op.extra.items()) row[k] = v;
        if (op_numerics.contains(op.name)) row["numerics"] = op_numerics[op.name];
        row_of[op.name] = ops.size();
        ops.push_back(std::move(row));
    }
    // An untimed (infeasible) design still lists where each node would run.
    if (!feasible())
        for (const auto& p : placements)
            ops.push_back({{"name", p.node},
                           {"op_type", p.op_type},
                           {"placement", sim::placement_name(p.placement)},
                           {"unit", p.unit},
                           {"start_cycle", nullptr},
                           {"end_cycle", nullptr},
                           {"reason", p.reason}});
    // A node a graph pass folded into another has the row of the node it went into.
    if (feasible())
        for (const auto& p : placements) {
            if (p.into.empty() || row_of.count(p.node) || !row_of.count(p.into)) continue;
            const json& host = ops[row_of.at(p.into)];
            ops.push_back({{"name", p.node},
                           {"op_type", p.op_type},
                           {"placement", sim::placement_name(p.placement)},
                           {"unit", p.unit},
                           {"start_cycle", host["start_cycle"]},
                           {"end_cycle", host["end_cycle"]},
                           {"compute_cycles", 0},
                           {"macs", 0},
                           {"bytes", 0},
                           {"stall_cycles", json::object()},
                           {"bytes_by_level", json::object()},
                           {"reason", p.reason},
                           {"fused_into", p.into}});
            if (op_numerics.contains(p.node)) ops.back()["numerics"] = op_numerics[p.node];
        }
    json units = json::array();
    for (const auto& u : r.units)
        units.push_back(
            {{"name", u.name}, {"busy_cycles", u.busy_cycles}, {"utilization", u.utilization}});
    json memory = json::object();
    const auto latency = r.latency_s();
    for (const auto& [name, m] : r.memory) {
        json row = {{"kind", m.kind},
                    {"bytes_read", m.bytes_read},
                    {"bytes_written", m.bytes_written},
                    {"row_hits", m.row_hits},
                    {"row_misses", m.row_misses},
                    {"busy_ns", m.busy_ns},
                    {"peak_bytes_per_s", m.peak_bytes_per_s},
                    {"utilization", latency && *latency > 0 && m.peak_bytes_per_s > 0
                                        ? json(static_cast<double>(m.bytes_read + m.bytes_written) /
                                               (m.peak_bytes_per_s * *latency))
                                        : json(nullptr)}};
        for (const auto& [k, v] : m.extra.items()) row[k] = v;
        memory[name] = std::move(row);
    }
    json problem_rows = json::array();
    for (const auto& p : problems)
        problem_rows.push_back({{"kind", p.kind}, {"where", p.where}, {"message", p.message}});
    json config_values = json::object();
    for (const auto& [k, v] : config.flat()) config_values[k] = v;
    json roofline = r.roofline ? json{{"peak_macs_per_s", r.roofline->peak_macs_per_s},
                                      {"peak_bytes_per_s", r.roofline->peak_bytes_per_s}}
                               : json(nullptr);
    json doc = {{"target", config.target()},
                {"config", config.name()},
                {"config_source", config.source()},
                {"config_values", config_values},
                {"model", model_path},
                {"feasible", feasible()},
                {"problems", problem_rows},
                {"clock_hz", opt(r.clock_hz)},
                {"cycles", opt(r.cycles)},
                {"latency_s", opt(latency)},
                {"energy_j", opt(r.energy_j)},
                {"energy_breakdown", r.energy_breakdown},
                {"roofline", roofline},
                {"memory", memory},
                {"wall_s", r.wall_seconds},
                {"ops", ops},
                {"units", units},
                {"numerics", numerics},
                {"stats", r.stats.to_json()}};
    if (calibration) doc["calibration"] = calibration->to_json();
    for (const auto& [key, section] : r.sections.items())
        if (!doc.contains(key)) doc[key] = section;  // a target cannot replace a common key
    return doc;
}

void write_outcome(const RunOutcome& outcome, const std::string& outdir) {
    std::error_code ec;
    fs::create_directories(fs::path(outdir) / "outputs", ec);
    fs::create_directories(fs::path(outdir) / "inputs", ec);
    if (ec) throw sim::IoError("cannot create output folder '" + outdir + "': " + ec.message());
    // The folder holds this run only: tensors an earlier run left behind would pass for ours.
    for (const char* sub : {"outputs", "inputs"})
        for (const auto& e : fs::directory_iterator(fs::path(outdir) / sub, ec))
            if (e.path().extension() == ".npy") fs::remove(e.path(), ec);
    for (const auto& [name, t] : outcome.results.outputs)
        sim::write_npy((fs::path(outdir) / "outputs" / (safe_file_name(name) + ".npy")).string(),
                       t);
    for (const auto& [name, t] : outcome.inputs)
        sim::write_npy((fs::path(outdir) / "inputs" / (safe_file_name(name) + ".npy")).string(), t);
    const std::string stats_path = (fs::path(outdir) / "stats.json").string();
    std::ofstream stats(stats_path);
    if (!stats) throw sim::IoError("cannot write '" + stats_path + "'");
    stats << sim::json_text(outcome.stats_json(), 2) << '\n';
    outcome.results.trace.write((fs::path(outdir) / "trace.json").string());
}

}  // namespace xpusim::app
