#include "sim/runtime/simulation_context.h"

#include <cstdlib>
#include <systemc>

#include "sim/error.h"

namespace xpusim::sim {

namespace {
// The context being elaborated or run on this thread. SystemC's kernel is itself one per thread
// at a time, so this is the same scope as sc_curr_simcontext.
thread_local SimulationContext* t_current = nullptr;
thread_local SimulationContext* t_running = nullptr;
}  // namespace

SimulationContext::SimulationContext() : m_outer(t_current) {
    // The banner would land on stdout, which belongs to our tables and JSON.
    setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
    m_previous = sc_core::sc_curr_simcontext;
    m_context = new sc_core::sc_simcontext;
    sc_core::sc_curr_simcontext = m_context;
    sc_core::sc_default_global_context = m_context;
    t_current = this;
}

SimulationContext::~SimulationContext() {
    // While the kernel is alive and current: a module's destructor takes itself out of the
    // kernel's registries. Newest first, so a child built inside its parent's constructor (and
    // adopted before it) outlives the parent's destructor body, which only orphans it.
    for (auto it = m_owned.rbegin(); it != m_owned.rend(); ++it) it->second(it->first);
    delete m_context;
    sc_core::sc_curr_simcontext = m_previous;
    sc_core::sc_default_global_context = m_previous;
    t_current = m_outer;
}

SimulationContext* SimulationContext::current() {
    return t_current;
}

SimulationContext& current_context() {
    if (!t_current) throw Error("a SystemC module was built outside a simulation context");
    return *t_current;
}

void SimulationContext::run() {
    t_running = this;
    try {
        sc_core::sc_start();
    } catch (const sc_core::sc_report& r) {
        t_running = nullptr;
        if (m_error) std::rethrow_exception(m_error);
        throw Error(std::string("SystemC: ") + r.what());
    }
    t_running = nullptr;
    if (m_error) std::rethrow_exception(m_error);
}

void SimulationContext::guard(const std::function<void()>& body) {
    try {
        body();
    } catch (...) {
        if (!t_running) throw;
        if (!t_running->m_error) t_running->m_error = std::current_exception();
        sc_core::sc_stop();
    }
}

std::map<std::string, MemoryReport> SimulationContext::memory_reports() const {
    std::map<std::string, MemoryReport> out;
    for (const MemoryCounters* m : m_memories)
        if (!out.emplace(m->instance_name(), m->memory_report()).second)
            throw Error("two memories of one run are both named '" + m->instance_name() + "'");
    return out;
}

}  // namespace xpusim::sim

// Debian's libsystemc.so defines main() and leaves sc_main undefined; every binary linking it
// needs one. xpusim calls sc_start itself, so this one only says it is not the entry point.
int sc_main(int, char*[]) {
    return 3;
}
