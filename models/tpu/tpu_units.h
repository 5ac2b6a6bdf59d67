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
#include "models/tpu/tpu_ub.h"
#include "sim/memory/dma.h"
#include "sim/trace/trace.h"

namespace xpusim::models::tpu {

/// What happened to one instruction, for stats and the trace.
struct InstructionRecord {
    uint64_t start = 0, end = 0;  // cycles
    uint64_t busy = 0;            // cycles the unit's main resource worked on it
    uint64_t stall_weight_fetch = 0, stall_weight_shift = 0, stall_input = 0;
    uint64_t stall_ub_port = 0;  // cycles waiting for a unified-buffer port
    uint64_t array_active = 0;   // MMC: cycles rows streamed through the array
    uint64_t dram_bytes = 0, cmem_bytes = 0, ub_bytes = 0, acc_bytes = 0, link_bytes = 0;
    std::string unit;
};

/// The unit queues the sequencer issues into; MXU i has queue mxu_queue(i) and its weight
/// fetcher weight_queue(i).
enum class Queue { HostLink, Activate, Vector, Sync, Dma, PerMxu };
inline std::size_t mxu_queue(int64_t mxu) {
    return static_cast<std::size_t>(Queue::PerMxu) + 2 * static_cast<std::size_t>(mxu);
}
inline std::size_t weight_queue(int64_t mxu) {
    return mxu_queue(mxu) + 1;
}

/// @brief The queue an instruction goes to: the host link and host (RHM, WHM, HOST), its MXU's
/// weight fetcher (RW), the activation pipeline (ACT), the vector unit (VEC), sync (SYNC), the
/// activation DMA (DMA), or its MXU (MMC).
std::size_t queue_of(const Instruction& i);
/// @brief The number of queues a chip with `mxus` MXUs has.
inline std::size_t queue_count(int64_t mxus) {
    return mxu_queue(mxus);
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
    UbPorts ub;

    TpuRun(const TpuProgram& p, TpuDatapath* d, sim::TraceLog& t);

    /// @brief The UB bytes of buffer `b` (its root's range; a spilled buffer is anywhere).
    UbRange ub_range(int b) const;
    /// @brief Books the UB for an access of `bytes` to `ranges` that could start at `earliest`
    /// and lasts at least `min_cycles`; returns the start and records the wait in `rec`.
    uint64_t book_ub(const std::vector<UbRange>& ranges, uint64_t bytes, uint64_t earliest,
                     uint64_t min_cycles, InstructionRecord& rec);

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

/// One MXU's weight fetcher: reads its RW tiles from weight memory, the common memory or the
/// unified buffer into the MXU's weight FIFO. It issues a tile as soon as the tile's
/// dependencies are met and the FIFO has a slot for it (`slots`, freed when the MXU takes a
/// tile out), through its own DMA engine with several requests in flight, so consecutive tiles
/// overlap their memory latency; a second process waits for each tile's last byte, in order,
/// and puts it in the FIFO.
class WeightFetcher : public sc_core::sc_module {
  public:
    SC_HAS_PROCESS(WeightFetcher);
    WeightFetcher(sc_core::sc_module_name name, TpuRun& run, InstructionQueue& queue,
                  sc_core::sc_fifo<int>& weight_fifo, sc_core::sc_semaphore& slots,
                  sim::DmaEngine* dram, sim::DmaEngine* cmem, int track);

  private:
    struct InFlight {
        const Instruction* rw = nullptr;
        sim::DmaHandle ticket;  // null: a unified-buffer read, done at `ready`
        sc_core::sc_time ready;
    };
    void issue();
    void issue_loop();
    void land();
    void land_loop();
    TpuRun& m_run;
    InstructionQueue& m_queue;
    sc_core::sc_fifo<int>& m_fifo;
    sc_core::sc_semaphore& m_slots;
    sim::DmaEngine* m_dram;
    sim::DmaEngine* m_cmem;  // null without a common memory
    std::deque<InFlight> m_in_flight;
    sc_core::sc_event m_issued;
    int m_track;
};

/// Moves spilled activations between the unified buffer and DRAM, sharing the DRAM's
/// channels with the weight fetchers.
class ActivationDma : public sc_core::sc_module {
  public:
    SC_HAS_PROCESS(ActivationDma);
    ActivationDma(sc_core::sc_module_name name, TpuRun& run, InstructionQueue& queue,
                  sim::DmaEngine& engine, int track);

  private:
    void transfer();
    void transfer_loop();
    TpuRun& m_run;
    InstructionQueue& m_queue;
    sim::DmaEngine& m_engine;
    int m_track;
};

/// One weight-stationary systolic array of R x C MACs.
class MatrixUnit : public sc_core::sc_module {
  public:
    SC_HAS_PROCESS(MatrixUnit);
    MatrixUnit(sc_core::sc_module_name name, TpuRun& run, InstructionQueue& queue,
               sc_core::sc_fifo<int>& weights, sc_core::sc_semaphore& slots, int track);

  private:
    void compute();
    void compute_loop();
    bool waits_on_matrix_work(const Instruction& i) const;
    TpuRun& m_run;
    InstructionQueue& m_queue;
    sc_core::sc_fifo<int>& m_weights;
    sc_core::sc_semaphore& m_slots;
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
