#include "sim/runtime/simulation_context.h"

#include <cstdlib>
#include <systemc>

#include "sim/error.h"

namespace xpusim::sim {

SimulationContext::SimulationContext() {
    // The banner would land on stdout, which belongs to our tables and JSON.
    setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
    m_previous = sc_core::sc_curr_simcontext;
    m_context = new sc_core::sc_simcontext;
    sc_core::sc_curr_simcontext = m_context;
    sc_core::sc_default_global_context = m_context;
}

SimulationContext::~SimulationContext() {
    // Modules are owned by the context; deleting them ourselves crashes.
    delete m_context;
    sc_core::sc_curr_simcontext = m_previous;
    sc_core::sc_default_global_context = m_previous;
}

void SimulationContext::run() {
    try {
        sc_core::sc_start();
    } catch (const sc_core::sc_report& r) {
        throw Error(std::string("SystemC: ") + r.what());
    }
}

}  // namespace xpusim::sim

// Debian's libsystemc.so defines main() and leaves sc_main undefined; every binary linking it
// needs one. xpusim calls sc_start itself, so this one only says it is not the entry point.
int sc_main(int, char*[]) {
    return 3;
}
