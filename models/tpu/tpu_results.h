// Turns a finished TPU run into Results: one OpStats row per layer (and per graph node fused
// into one), MXU occupancy and stalls by cause, unit utilization, the roofline, the energy
// breakdown, and the weight-memory bandwidth counter of the trace.
#pragma once

#include "models/tpu/tpu_units.h"
#include "sim/runtime/results.h"

namespace xpusim::models::tpu {

/// @brief Fills `results` from the instruction records of a finished run; `results.cycles`
/// must already hold the run's length.
void collect_results(const TpuRun& run, sim::Results& results);

}  // namespace xpusim::models::tpu
