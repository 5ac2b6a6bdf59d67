// Turns a finished NPU run into Results: graph outputs (dequantized), one OpStats row per graph
// node, per-unit busy cycles and utilization, the energy breakdown, the trace (a track per
// pipeline unit and per DMA engine, a DRAM bandwidth counter) and the named statistics.
#pragma once

#include <string>

#include "models/npu/npu_top.h"
#include "sim/runtime/results.h"

namespace xpusim::models::npu {

/// @brief Throws sim::Error naming the first descriptor that never finished (a deadlock).
void collect_results(const NpuContext& ctx, const NpuTop& top, sim::Results& results);

}  // namespace xpusim::models::npu
