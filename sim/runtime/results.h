// What one simulation produces: the numbers, the timing, the energy and the trace, with the
// same names on every target. The app writes it as outputs/*.npy, stats.json and trace.json;
// the Python module hands it over as numpy arrays and dicts. docs/DESIGN.md lists the keys.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "sim/stats/stats.h"
#include "sim/tensor/tensor.h"
#include "sim/trace/trace.h"

namespace xpusim::sim {

/// Where an op ran: natively on the target, lowered into other target ops, or on the host.
enum class Placement { Native, Lowered, Host };
const char* placement_name(Placement p);

/// One row per graph node in stats.json.
struct OpStats {
    std::string name;
    std::string op_type;
    Placement placement = Placement::Native;
    std::string unit;  // the unit that did most of the work ("mxu", "vector", "host", ...)
    uint64_t start_cycle = 0;
    uint64_t end_cycle = 0;
    uint64_t compute_cycles = 0;  // cycles the main unit was busy with this op
    uint64_t macs = 0;
    uint64_t bytes = 0;                               // bytes moved to and from off-chip memory
    std::map<std::string, uint64_t> stall_cycles;     // by cause
    std::map<std::string, uint64_t> bytes_by_level;   // by memory level
    nlohmann::json extra = nlohmann::json::object();  // target-specific fields
};

struct UnitStats {
    std::string name;
    uint64_t busy_cycles = 0;
    double utilization = 0.0;  // busy / total cycles (or achieved / peak for MAC arrays)
};

/// The two roofs of the chip's roofline: stats.json `roofline`.
struct Roofline {
    double peak_macs_per_s = 0;   // the MAC arrays at the program's precision
    double peak_bytes_per_s = 0;  // the memory the weights and activations stream from
};

/// The counters one memory instance reports under stats.json `memory.<instance>`. Filled by
/// the memory model itself (sim::Dram), never copied by hand by a target.
struct MemoryReport {
    std::string kind;  // the model's implementation ("dram", ...)
    uint64_t bytes_read = 0, bytes_written = 0;
    uint64_t row_hits = 0, row_misses = 0;
    double busy_ns = 0;  // time the data bus was busy, averaged over channels
    double peak_bytes_per_s = 0;
    nlohmann::json extra = nlohmann::json::object();  // implementation-specific counters
};

/// Why a design point cannot run a model: stats.json `problems`. A design with any problem is
/// infeasible and is not timed.
struct Problem {
    std::string kind;     // "capacity", "unsupported", ...
    std::string where;    // a node, a buffer, a memory
    std::string message;  // one line
};

struct Results {
    std::string target;
    std::map<std::string, Tensor> outputs;
    // The graph values the target held in memory during the run (its intermediates, in real
    // units, in their ONNX shapes), by value name: the driver compares them with the reference
    // per op. Filled only when RunOptions::keep_values asks.
    std::map<std::string, Tensor> values;
    uint64_t values_bytes = 0;  // their fp32 bytes
    /// @brief Keeps `t` as `name`'s value while the values stay within `budget` bytes; false
    /// once it would not fit (the per-op comparison then covers the values kept so far).
    bool keep_value(const std::string& name, const Tensor& t, uint64_t budget) {
        const uint64_t bytes = static_cast<uint64_t>(t.numel()) * 4;
        if (values_bytes + bytes > budget) return false;
        values_bytes += bytes;
        values[name] = t;
        return true;
    }
    // Timing; absent for the reference executor, which models no hardware.
    std::optional<double> clock_hz;
    std::optional<uint64_t> cycles;
    std::optional<double> energy_j;
    std::optional<Roofline> roofline;
    nlohmann::json energy_breakdown = nlohmann::json::object();  // joules per unit/event
    std::vector<OpStats> ops;
    std::vector<UnitStats> units;
    std::map<std::string, MemoryReport> memory;  // by instance name
    StatsRegistry stats;  // everything else the model counts, "unit.stat" names
    // Target-specific top-level sections of stats.json (the GPU's per-kernel rows, "kernels").
    nlohmann::json sections = nlohmann::json::object();
    TraceLog trace;
    double wall_seconds = 0.0;  // host time the simulation took (set by the driver alone)

    std::optional<double> latency_s() const {
        if (!cycles || !clock_hz || *clock_hz <= 0) return std::nullopt;
        return static_cast<double>(*cycles) / *clock_hz;
    }
};

}  // namespace xpusim::sim
