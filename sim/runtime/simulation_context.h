// One SystemC kernel per run. SystemC 2.3 keeps a single global simulation context and cannot
// elaborate again after sc_start(), yet a notebook or a sweep worker runs many simulations in one
// process. SimulationContext makes a fresh sc_simcontext, makes it current, and deletes it (and
// with it every module it owns) when the run is over. Never run two in two threads at once.
#pragma once

namespace sc_core {
class sc_simcontext;
}

namespace xpusim::sim {

class SimulationContext {
public:
    SimulationContext();
    ~SimulationContext();
    SimulationContext(const SimulationContext&) = delete;
    SimulationContext& operator=(const SimulationContext&) = delete;

    /// @brief Runs the elaborated modules until no event is left (sc_start()).
    void run();

private:
    sc_core::sc_simcontext* m_context;
    sc_core::sc_simcontext* m_previous;
};

}  // namespace xpusim::sim
