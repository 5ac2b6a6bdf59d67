// The TPU's hardware units as SystemC processes. The sequencer issues instructions in program
// order into bounded per-unit queues; each unit runs its queue in order, waiting for the
// instructions each one names (a scoreboard) and for its own resources, and advances simulated
// time by the closed-form duration of the work. Overlap and stalls come out of these waits.
#pragma once

#include <tlm_utils/simple_initiator_socket.h>
#include <deque>
#include <memory>
#include <systemc>
#include <tlm>
#include <vector>

#include "isa/tpu/tpu_isa.h"
#include "models/tpu/tpu_datapath.h"
#include "sim/memory/dram.h"
#include "sim/trace/trace.h"

namespace xpusim::models::tpu {

/// What happened to one instruction, for stats and the trace.
struct InstructionRecord {
    uint64_t start = 0, end = 0;  // cycles
    uint64_t busy = 0;            // cycles the unit's main resource worked on it
    uint64_t stall_weight_fetch = 0, stall_weight_shift = 0, stall_input = 0;
    uint64_t dram_bytes = 0, cmem_bytes = 0, ub_bytes = 0, acc_bytes = 0, link_bytes = 0;
    std::string unit;
};

/// The unit queues the sequencer issues into; MXU i has queue Mxu0 + i.
enum class Queue { HostLink, Weights, Activate, Vector, Sync, Dma, Mxu0 };

/// @brief The queue an instruction goes to: the host link and host (RHM, WHM, HOST), the
/// weight fetcher (RW), the activation pipeline (ACT), the vector unit (VEC), sync (SYNC), the
/// activation DMA (DMA), or its MXU (MMC).
std::size_t queue_of(const Instruction& i);
/// @brief The number of queues a chip with `mxus` MXUs has.
inline std::size_t queue_count(int64_t mxus) {
    return static_cast<std::size_t>(Queue::Mxu0) + static_cast<std::size_t>(mxus);
}

/// State every unit of one simulation shares.
struct TpuRun {
    const TpuSpec& spec;  // == program.spec
    const TpuProgram& program;
    TpuDatapath* datapath;  // null for --timing-only
    sc_core::sc_time cycle;
    std::vector<InstructionRecord> records;
    std::vector<bool> done;
    std::vector<sc_core::sc_time> done_at;
    sc_core::sc_event progress;
    sim::TraceLog& trace;
    int trace_pid;

    TpuRun(const TpuProgram& p, TpuDatapath* d, sim::TraceLog& t);

    uint64_t now_cycles() const;
    uint64_t to_cycles(const sc_core::sc_time& t) const;
    /// @brief Blocks until every instruction `i` waits for has completed.
    void wait_for_dependencies(const Instruction& i);
    /// @brief Marks `i` done at `at` (which may be ahead of now).
    void complete(const Instruction& i, const sc_core::sc_time& at);
    void trace_event(int track, const Instruction& i, uint64_t start, uint64_t end);
};

using InstructionQueue = sc_core::sc_fifo<const Instruction*>;

/// Issues instructions in order into the unit queues (back-pressure when a queue is full).
class Sequencer : public sc_core::sc_module {
  public:
    SC_HAS_PROCESS(Sequencer);
    Sequencer(sc_core::sc_module_name name, TpuRun& run, std::vector<InstructionQueue*> queues);

  private:
    void issue();
    void issue_loop();
    TpuRun& m_run;
    std::vector<InstructionQueue*> m_queues;  // indexed by queue_of()
};

/// Reads weight tiles (RW) from weight memory, the common memory or the unified buffer into
/// each MXU's weight FIFO.
class WeightFetcher : public sc_core::sc_module {
  public:
    SC_HAS_PROCESS(WeightFetcher);
    tlm_utils::simple_initiator_socket<WeightFetcher> dram_socket;
    /// Present only on chips with a common memory (cmem.kib > 0).
    std::unique_ptr<tlm_utils::simple_initiator_socket<WeightFetcher>> cmem_socket;

    WeightFetcher(sc_core::sc_module_name name, TpuRun& run, InstructionQueue& queue,
                  std::vector<sc_core::sc_fifo<int>*> weight_fifos,
                  int track);  // FIFOs carry RW ids

  private:
    void fetch();
    void fetch_loop();
    TpuRun& m_run;
    InstructionQueue& m_queue;
    std::vector<sc_core::sc_fifo<int>*> m_fifos;
    int m_track;
};

/// Moves spilled activations between the unified buffer and DRAM (DMA), sharing the DRAM's
/// channels with the weight fetcher.
class DmaEngine : public sc_core::sc_module {
  public:
    SC_HAS_PROCESS(DmaEngine);
    tlm_utils::simple_initiator_socket<DmaEngine> dram_socket;

    DmaEngine(sc_core::sc_module_name name, TpuRun& run, InstructionQueue& queue, int track);

  private:
    void transfer();
    void transfer_loop();
    TpuRun& m_run;
    InstructionQueue& m_queue;
    int m_track;
};

/// One weight-stationary systolic array of R x C MACs.
class MatrixUnit : public sc_core::sc_module {
  public:
    SC_HAS_PROCESS(MatrixUnit);
    MatrixUnit(sc_core::sc_module_name name, TpuRun& run, InstructionQueue& queue,
               sc_core::sc_fifo<int>& weights, int track);

  private:
    void compute();
    void compute_loop();
    TpuRun& m_run;
    InstructionQueue& m_queue;
    sc_core::sc_fifo<int>& m_weights;
    int m_track;
};

/// A unit that runs one instruction at a time for a closed-form duration: the activation
/// pipeline (ACT), the vector unit (VEC), the host (HOST), the host link (RHM/WHM) and SYNC.
class SimpleUnit : public sc_core::sc_module {
  public:
    SC_HAS_PROCESS(SimpleUnit);
    SimpleUnit(sc_core::sc_module_name name, TpuRun& run, InstructionQueue& queue, int track);

  private:
    void execute();
    void execute_loop();
    /// @brief Cycles the instruction occupies this unit, with the bytes it moves recorded.
    uint64_t duration(const Instruction& i, InstructionRecord& rec);
    TpuRun& m_run;
    InstructionQueue& m_queue;
    int m_track;
};

}  // namespace xpusim::models::tpu
