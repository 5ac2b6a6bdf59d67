// One SystemC kernel per run. SystemC 2.3 keeps a single global simulation context and cannot
// elaborate again after sc_start(), yet a notebook or a sweep worker runs many simulations in one
// process. SimulationContext makes a fresh sc_simcontext, makes it current, and deletes it when
// the run is over. SystemC's sc_simcontext frees its registries but never the modules and
// channels in them, so a run builds them with make_owned(), and the context deletes them
// (newest first) before the kernel: else every run in a notebook or sweep worker would leak its
// whole model (2 MiB a run for ResNet-50 on h200). Never run two in two threads at once.
//
// Memory models built inside a context register with it (MemoryCounters), so that the run can
// report every memory's own counters under its instance name without the target copying them.
#pragma once

#include <exception>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "sim/runtime/results.h"

namespace sc_core {
class sc_simcontext;
}

namespace xpusim::sim {

/// A memory model that reports its counters as stats.json `memory.<instance_name()>`.
class MemoryCounters {
  public:
    virtual ~MemoryCounters() = default;
    virtual std::string instance_name() const = 0;
    virtual MemoryReport memory_report() const = 0;
};

class SimulationContext {
  public:
    SimulationContext();
    ~SimulationContext();
    SimulationContext(const SimulationContext&) = delete;
    SimulationContext& operator=(const SimulationContext&) = delete;

    /// @brief The context being elaborated or run on this thread, or null.
    static SimulationContext* current();

    /// @brief Runs the elaborated modules until no event is left (sc_start()). An exception a
    /// process raised inside guard() is rethrown here with its type (ModelError stays a
    /// ModelError), not flattened into a SystemC report.
    void run();

    /// @brief Runs a process body; an exception stops the simulation and is kept for run().
    static void guard(const std::function<void()>& body);

    /// @brief Called by a memory model's constructor; the model must outlive the context's
    /// collection (modules do: the context owns them).
    void add_memory(const MemoryCounters& memory) { m_memories.push_back(&memory); }
    /// @brief Every registered memory's report, by instance name (a repeated name is an error).
    std::map<std::string, MemoryReport> memory_reports() const;

    /// @brief Takes an object built with new in this context; `destroy(object)` deletes it,
    /// newest first, while the context is still current (see make_owned).
    void adopt(void* object, void (*destroy)(void*)) { m_owned.emplace_back(object, destroy); }

  private:
    sc_core::sc_simcontext* m_context;
    sc_core::sc_simcontext* m_previous;
    SimulationContext* m_outer;
    std::exception_ptr m_error;
    std::vector<const MemoryCounters*> m_memories;
    std::vector<std::pair<void*, void (*)(void*)>> m_owned;
};

/// @brief The current context, or an Error when there is none (a module built outside a run).
SimulationContext& current_context();

/// @brief `new T(args...)` for a SystemC module or channel, owned by the current context, which
/// deletes it when the run is over. Every model builds its modules this way, children included:
/// SystemC never deletes them.
template <class T, class... Args>
T* make_owned(Args&&... args) {
    SimulationContext& context = current_context();
    T* object = new T(std::forward<Args>(args)...);
    context.adopt(object, [](void* p) { delete static_cast<T*>(p); });
    return object;
}

}  // namespace xpusim::sim
