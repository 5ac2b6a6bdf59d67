// What one simulation produces: the numbers, the timing, the energy and the trace. The app
// writes it as outputs/*.npy, stats.json and trace.json; the Python module hands it over as
// numpy arrays and dicts.
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
    uint64_t bytes = 0;  // bytes moved to and from off-chip memory
    std::map<std::string, uint64_t> stall_cycles;   // by cause
    std::map<std::string, uint64_t> bytes_by_level;  // by memory level
    nlohmann::json extra = nlohmann::json::object();  // target-specific fields
};

struct UnitStats {
    std::string name;
    uint64_t busy_cycles = 0;
    double utilization = 0.0;  // busy / total cycles (or achieved / peak for MAC arrays)
};

struct Results {
    std::string target;
    std::map<std::string, Tensor> outputs;
    // Timing; absent for the reference executor, which models no hardware.
    std::optional<double> clock_hz;
    std::optional<uint64_t> cycles;
    std::optional<double> energy_j;
    nlohmann::json energy_breakdown = nlohmann::json::object();  // joules per unit/event
    std::vector<OpStats> ops;
    std::vector<UnitStats> units;
    StatsRegistry stats;  // everything else the model counts
    TraceLog trace;
    double wall_seconds = 0.0;  // host time the simulation took

    std::optional<double> latency_s() const {
        if (!cycles || !clock_hz || *clock_hz <= 0) return std::nullopt;
        return static_cast<double>(*cycles) / *clock_hz;
    }
};

}  // namespace xpusim::sim
