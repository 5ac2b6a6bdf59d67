// One SystemC kernel per run. SystemC 2.3 keeps a single global simulation context and cannot
// elaborate again after sc_start(), yet a notebook or a sweep worker runs many simulations in one
// process. SimulationContext makes a fresh sc_simcontext, makes it current, and deletes it (and
// with it every module it owns) when the run is over. Never run two in two threads at once.
#pragma once

#include <exception>
#include <functional>

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

    /// @brief Runs the elaborated modules until no event is left (sc_start()). An exception a
    /// process raised inside guard() is rethrown here with its type (ModelError stays a
    /// ModelError), not flattened into a SystemC report.
    void run();

    /// @brief Runs a process body; an exception stops the simulation and is kept for run().
    static void guard(const std::function<void()>& body);

private:
    sc_core::sc_simcontext* m_context;
    sc_core::sc_simcontext* m_previous;
    std::exception_ptr m_error;
};

}  // namespace xpusim::sim
