#include "models/tpu/tpu_units.h"

#include <algorithm>
#include <cmath>

#include "sim/runtime/simulation_context.h"

namespace xpusim::models::tpu {

using sc_core::sc_time;
using sc_core::SC_ZERO_TIME;

namespace {
// Numeric work (Eigen GEMMs, im2col) runs inside these coroutines: give them room.
constexpr std::size_t kStackBytes = 64u << 20;

uint64_t ceil_div(uint64_t a, uint64_t b) {
    return (a + b - 1) / b;
}
}  // namespace

std::size_t queue_of(const Instruction& i) {
    auto q = [](Queue queue) { return static_cast<std::size_t>(queue); };
    switch (i.op) {
        case Opcode::RHM:
        case Opcode::WHM:
        case Opcode::HOST:
            return q(Queue::HostLink);
        case Opcode::DMA:
            return q(Queue::Dma);
        case Opcode::RW:
            return q(Queue::Weights);
        case Opcode::ACT:
            return q(Queue::Activate);
        case Opcode::VEC:
            return q(Queue::Vector);
        case Opcode::SYNC:
            return q(Queue::Sync);
        case Opcode::MMC:
            return q(Queue::Mxu0) + static_cast<std::size_t>(i.mxu);
    }
    return q(Queue::Sync);
}

TpuRun::TpuRun(const TpuProgram& p, TpuDatapath* d, sim::TraceLog& t)
    : spec(p.spec),
      program(p),
      datapath(d),
      cycle(1e6 / p.spec.clock_mhz, sc_core::SC_PS),
      records(p.instructions.size()),
      done(p.instructions.size(), false),
      done_at(p.instructions.size(), SC_ZERO_TIME),
      trace(t),
      trace_pid(0) {}

uint64_t TpuRun::to_cycles(const sc_time& t) const {
    return static_cast<uint64_t>(std::llround(t / cycle));
}

uint64_t TpuRun::now_cycles() const {
    return to_cycles(sc_core::sc_time_stamp());
}

void TpuRun::wait_for_dependencies(const Instruction& i) {
    for (;;) {
        sc_time latest = SC_ZERO_TIME;
        bool all = true;
        for (int d : i.after) {
            if (!done[static_cast<std::size_t>(d)]) {
                all = false;
                break;
            }
            latest = std::max(latest, done_at[static_cast<std::size_t>(d)]);
        }
        if (all) {
            if (latest > sc_core::sc_time_stamp()) sc_core::wait(latest - sc_core::sc_time_stamp());
            return;
        }
        sc_core::wait(progress);
    }
}

void TpuRun::complete(const Instruction& i, const sc_time& at) {
    done[static_cast<std::size_t>(i.id)] = true;
    done_at[static_cast<std::size_t>(i.id)] = at;
    progress.notify(SC_ZERO_TIME);
}

void TpuRun::trace_event(int track, const Instruction& i, uint64_t start, uint64_t end) {
    const std::string layer =
        i.layer >= 0 ? program.layers[static_cast<std::size_t>(i.layer)].name : "";
    trace.complete(trace_pid, track,
                   std::string(opcode_name(i.op)) + (layer.empty() ? "" : " " + layer), start,
                   end - start, {{"instruction", i.id}});
}

Sequencer::Sequencer(sc_core::sc_module_name name, TpuRun& run,
                     std::vector<InstructionQueue*> queues)
    : sc_core::sc_module(name), m_run(run), m_queues(std::move(queues)) {
    SC_THREAD(issue);
}

void Sequencer::issue() {
    sim::SimulationContext::guard([this] { issue_loop(); });
}

void Sequencer::issue_loop() {
    const sc_time issue_time = m_run.cycle * static_cast<double>(m_run.spec.sequencer.issue_cycles);
    for (const Instruction& i : m_run.program.instructions) {
        if (issue_time > SC_ZERO_TIME) sc_core::wait(issue_time);
        m_queues.at(queue_of(i))->write(&i);
    }
}

WeightFetcher::WeightFetcher(sc_core::sc_module_name name, TpuRun& run, InstructionQueue& queue,
                             std::vector<sc_core::sc_fifo<int>*> weight_fifos, int track)
    : sc_core::sc_module(name),
      dram_socket("dram_socket"),
      m_run(run),
      m_queue(queue),
      m_fifos(std::move(weight_fifos)),
      m_track(track) {
    if (run.spec.cmem.kib > 0)
        cmem_socket =
            std::make_unique<tlm_utils::simple_initiator_socket<WeightFetcher>>("cmem_socket");
    SC_THREAD(fetch);
}

// An RW completes when its tile is in the MXU's FIFO: the read from weight memory (timed by the
// DRAM/CMEM model, so it stalls when bandwidth runs out), then a wait for room in the FIFO.
void WeightFetcher::fetch() {
    sim::SimulationContext::guard([this] { fetch_loop(); });
}

void WeightFetcher::fetch_loop() {
    for (;;) {
        const Instruction& i = *m_queue.read();
        m_run.wait_for_dependencies(i);
        InstructionRecord& rec = m_run.records[static_cast<std::size_t>(i.id)];
        rec.unit = "weights";
        rec.start = m_run.now_cycles();
        switch (i.source) {
            case MemorySpace::Dram:
                sim::dram_transfer(dram_socket, i.address, i.bytes, false);
                rec.dram_bytes = i.bytes;
                break;
            case MemorySpace::Cmem:
                if (!cmem_socket)
                    throw sim::ModelError(
                        "tpu: instruction " + std::to_string(i.id) +
                        " reads weights from a common memory this chip lacks (cmem.kib = 0)");
                sim::dram_transfer(*cmem_socket, i.address, i.bytes, false);
                rec.cmem_bytes = i.bytes;
                break;
            default:  // an activation in the unified buffer (attention's second operand)
                sc_core::wait(m_run.cycle *
                              static_cast<double>(ceil_div(
                                  i.bytes, static_cast<uint64_t>(m_run.spec.ub.bytes_per_cycle))));
                rec.ub_bytes = i.bytes;
        }
        rec.busy = m_run.now_cycles() - rec.start;
        m_fifos.at(static_cast<std::size_t>(i.mxu))->write(i.id);
        rec.end = m_run.now_cycles();
        m_run.trace_event(m_track, i, rec.start, rec.end);
        m_run.complete(i, sc_core::sc_time_stamp());
    }
}

DmaEngine::DmaEngine(sc_core::sc_module_name name, TpuRun& run, InstructionQueue& queue, int track)
    : sc_core::sc_module(name),
      dram_socket("dram_socket"),
      m_run(run),
      m_queue(queue),
      m_track(track) {
    SC_THREAD(transfer);
}

// A DMA takes as long as the DRAM side of the transfer (the UB side is wider and faster).
void DmaEngine::transfer() {
    sim::SimulationContext::guard([this] { transfer_loop(); });
}

void DmaEngine::transfer_loop() {
    for (;;) {
        const Instruction& i = *m_queue.read();
        m_run.wait_for_dependencies(i);
        InstructionRecord& rec = m_run.records[static_cast<std::size_t>(i.id)];
        rec.unit = "dma";
        rec.start = m_run.now_cycles();
        sim::dram_transfer(dram_socket, i.address, i.bytes, i.destination == MemorySpace::Dram);
        rec.end = m_run.now_cycles();
        rec.busy = rec.end - rec.start;
        rec.dram_bytes = i.bytes;
        rec.ub_bytes = i.bytes;
        m_run.trace_event(m_track, i, rec.start, rec.end);
        m_run.complete(i, sc_core::sc_time_stamp());
    }
}

MatrixUnit::MatrixUnit(sc_core::sc_module_name name, TpuRun& run, InstructionQueue& queue,
                       sc_core::sc_fifo<int>& weights, int track)
    : sc_core::sc_module(name), m_run(run), m_queue(queue), m_weights(weights), m_track(track) {
    SC_THREAD(compute);
    set_stack_size(kStackBytes);
}

// One MMC is one fold on a weight-stationary R x C array (closed form, in cycles):
//   shift   the tile's R rows shift into the shadow weight buffer: R cycles, starting when the
//           tile is out of the FIFO and the shadow buffer is free
//   stream  rows m0..m1 enter one per cycle: M cycles, starting when the array is free, the
//           inputs are ready and the weights have shifted in
//   drain   the last row's sums leave the array R + C - 2 cycles later
// An isolated fold therefore takes R + M + (R + C - 2) = 2R + C + M - 2 cycles (SCALE-Sim's
// weight-stationary figure). With double buffering the shadow buffer frees when a fold starts
// streaming, so the next tile's shift hides under this fold's M cycles when M >= R, and the next
// fold streams right behind this one; without it, the next shift waits for this fold to drain.
// A partial tile costs the full array, as in SCALE-Sim.
void MatrixUnit::compute() {
    sim::SimulationContext::guard([this] { compute_loop(); });
}

void MatrixUnit::compute_loop() {
    const uint64_t R = static_cast<uint64_t>(m_run.spec.mxu.rows);
    const uint64_t C = static_cast<uint64_t>(m_run.spec.mxu.cols);
    uint64_t stream_free = 0, shadow_free = 0;
    int layer = -1;
    uint64_t covered_until = 0;  // union of this layer's fold intervals on this MXU
    for (;;) {
        const Instruction& i = *m_queue.read();
        InstructionRecord& rec = m_run.records[static_cast<std::size_t>(i.id)];
        rec.unit = "mxu" + std::to_string(i.mxu);
        const uint64_t t_pick = m_run.now_cycles();
        // Weights do not wait for data: the tile leaves the FIFO and shifts in while the inputs
        // may still be in flight.
        const int tile = m_weights.read();
        const uint64_t t_tile = m_run.now_cycles();
        const uint64_t arrival = m_run.to_cycles(m_run.done_at[static_cast<std::size_t>(tile)]);
        m_run.wait_for_dependencies(i);
        const uint64_t t_data = m_run.now_cycles();
        const uint64_t shift_start = std::max(t_tile, shadow_free);
        const uint64_t shift_done = shift_start + R;
        const uint64_t stream_start = std::max({stream_free, t_data, shift_done});
        const uint64_t rows = static_cast<uint64_t>(i.m1 - i.m0);
        const uint64_t stream_end = stream_start + rows;
        const uint64_t fold_done = stream_end + R + C - 2;
        // Stalls: from when the array could take this fold (`free`) to when it streams, charged
        // to whichever of weights and inputs came last. A weight stall is a fetch stall if the
        // tile reached the FIFO after `free` (memory too slow), else a shift stall.
        const uint64_t free = std::max(stream_free, t_pick);
        if (stream_start > free) {
            const uint64_t idle = stream_start - free;
            if (shift_done >= t_data)
                (arrival > free ? rec.stall_weight_fetch : rec.stall_weight_shift) = idle;
            else
                rec.stall_input = idle;
        }
        if (i.layer != layer) {
            layer = i.layer;
            covered_until = 0;
        }
        // Occupied: the shift-in when it delayed streaming (else it was hidden), the stream and
        // the drain; overlapping folds of one layer are counted once.
        const uint64_t begin =
            std::max(shift_done == stream_start ? shift_start : stream_start, covered_until);
        rec.busy = fold_done > begin ? fold_done - begin : 0;
        covered_until = std::max(covered_until, fold_done);
        rec.start = stream_start;
        rec.end = fold_done;
        const uint64_t k_rows = static_cast<uint64_t>(i.k1 - i.k0);
        rec.ub_bytes = rows * k_rows * static_cast<uint64_t>(m_run.spec.element_bytes());
        rec.acc_bytes = rows * static_cast<uint64_t>(i.n1 - i.n0) * 4 * (i.accumulate ? 2 : 1);
        if (m_run.datapath) m_run.datapath->matrix_multiply(i);
        m_run.trace_event(m_track, i, stream_start, fold_done);
        m_run.complete(i, m_run.cycle * static_cast<double>(fold_done));
        stream_free = stream_end;
        shadow_free = m_run.spec.mxu.weight_double_buffer ? stream_start : fold_done;
        // The next tile can leave the FIFO once the shadow buffer is free.
        const uint64_t now = m_run.now_cycles();
        if (shadow_free > now) sc_core::wait(m_run.cycle * static_cast<double>(shadow_free - now));
    }
}

SimpleUnit::SimpleUnit(sc_core::sc_module_name name, TpuRun& run, InstructionQueue& queue,
                       int track)
    : sc_core::sc_module(name), m_run(run), m_queue(queue), m_track(track) {
    SC_THREAD(execute);
    set_stack_size(kStackBytes);
}

uint64_t SimpleUnit::duration(const Instruction& i, InstructionRecord& rec) {
    const TpuSpec& s = m_run.spec;
    const TpuProgram& p = m_run.program;
    const uint64_t elem = static_cast<uint64_t>(s.element_bytes());
    switch (i.op) {
        case Opcode::RHM:
        case Opcode::WHM:
            // The host link: latency + bytes / bandwidth.
            rec.link_bytes = i.bytes;
            rec.ub_bytes = i.bytes;
            return s.cycles(s.host.link_seconds(i.bytes));
        case Opcode::HOST: {
            // Inputs cross to the host, the host computes, outputs cross back.
            const Layer& l = p.layers[static_cast<std::size_t>(i.layer)];
            uint64_t in = 0, out = 0;
            for (int b : l.inputs) in += p.buffers[static_cast<std::size_t>(b)].bytes();
            for (int b : l.outputs) out += p.buffers[static_cast<std::size_t>(b)].bytes();
            rec.link_bytes = in + out;
            const sim::HostCost& cost = p.host_calls.at(static_cast<std::size_t>(l.host_call)).cost;
            return s.cycles(s.host.link_seconds(in) + s.host.op_seconds(cost) +
                            s.host.link_seconds(out));
        }
        case Opcode::ACT: {
            // The activation pipeline drains `activate.elements_per_cycle` accumulators a cycle.
            const uint64_t values = static_cast<uint64_t>((i.m1 - i.m0) * (i.n1 - i.n0));
            rec.acc_bytes = 4 * values;
            rec.ub_bytes = elem * values;
            return ceil_div(values, static_cast<uint64_t>(s.activate.elements_per_cycle));
        }
        case Opcode::VEC: {
            // max(ALU time, UB time) + pipeline latency, where
            //   ALU time = elements * ops per element / (lanes * ops per lane)
            //   UB time  = bytes read and written / UB bytes per cycle
            const Layer& l = p.layers[static_cast<std::size_t>(i.layer)];
            uint64_t bytes = 0;
            for (int b : l.inputs) bytes += p.buffers[static_cast<std::size_t>(b)].bytes();
            for (int b : l.outputs) bytes += p.buffers[static_cast<std::size_t>(b)].bytes();
            rec.ub_bytes = bytes;
            const uint64_t ops = static_cast<uint64_t>(l.elements * l.ops_per_element);
            const uint64_t alu =
                ceil_div(ops, static_cast<uint64_t>(s.vector.lanes * s.vector.ops_per_lane));
            const uint64_t ub = ceil_div(bytes, static_cast<uint64_t>(s.ub.bytes_per_cycle));
            return std::max(alu, ub) + static_cast<uint64_t>(s.vector.latency_cycles);
        }
        default:
            return 0;
    }
}

void SimpleUnit::execute() {
    sim::SimulationContext::guard([this] { execute_loop(); });
}

void SimpleUnit::execute_loop() {
    for (;;) {
        const Instruction& i = *m_queue.read();
        m_run.wait_for_dependencies(i);
        InstructionRecord& rec = m_run.records[static_cast<std::size_t>(i.id)];
        rec.unit = basename();
        rec.start = m_run.now_cycles();
        const uint64_t d = duration(i, rec);
        if (m_run.datapath) {
            switch (i.op) {
                case Opcode::RHM:
                    m_run.datapath->read_host_memory(i);
                    break;
                case Opcode::ACT:
                    m_run.datapath->activate(i);
                    break;
                case Opcode::VEC:
                case Opcode::HOST:
                    m_run.datapath->run_layer_function(
                        m_run.program.layers[static_cast<std::size_t>(i.layer)]);
                    break;
                default:
                    break;
            }
        }
        if (d) sc_core::wait(m_run.cycle * static_cast<double>(d));
        rec.busy = d;
        rec.end = m_run.now_cycles();
        if (i.op != Opcode::SYNC) m_run.trace_event(m_track, i, rec.start, rec.end);
        m_run.complete(i, sc_core::sc_time_stamp());
    }
}

}  // namespace xpusim::models::tpu
