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
            return weight_queue(i.mxu);
        case Opcode::ACT:
            return q(Queue::Activate);
        case Opcode::VEC:
            return q(Queue::Vector);
        case Opcode::SYNC:
            return q(Queue::Sync);
        case Opcode::MMC:
            return mxu_queue(i.mxu);
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
      trace_pid(0),
      ub(p.spec.ub) {}

UbRange TpuRun::ub_range(int b) const {
    const Buffer& view = program.buffers[static_cast<std::size_t>(b)];
    const Buffer& buf =
        view.alias_of >= 0 ? program.buffers[static_cast<std::size_t>(view.alias_of)] : view;
    return {buf.address, buf.bytes(), buf.space != MemorySpace::UnifiedBuffer};
}

uint64_t TpuRun::book_ub(const std::vector<UbRange>& ranges, uint64_t bytes, uint64_t earliest,
                         uint64_t min_cycles, InstructionRecord& rec) {
    if (bytes == 0) return earliest;
    ub.retire(now_cycles());
    const uint64_t start =
        ub.reserve(ranges, earliest, std::max(min_cycles, ub.port_cycles(bytes)));
    rec.stall_ub_port += start - earliest;
    return start;
}

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
                             sc_core::sc_fifo<int>& weight_fifo, sc_core::sc_semaphore& slots,
                             sim::DmaEngine* dram, sim::DmaEngine* cmem, int track)
    : sc_core::sc_module(name),
      m_run(run),
      m_queue(queue),
      m_fifo(weight_fifo),
      m_slots(slots),
      m_dram(dram),
      m_cmem(cmem),
      m_track(track) {
    SC_THREAD(issue);
    SC_THREAD(land);
}

void WeightFetcher::issue() {
    sim::SimulationContext::guard([this] { issue_loop(); });
}

// An RW is issued once its dependencies are met and its FIFO slot is free: its requests go out
// through the DMA engine (which keeps several in flight), and the next RW follows right behind.
void WeightFetcher::issue_loop() {
    for (;;) {
        const Instruction& i = *m_queue.read();
        m_run.wait_for_dependencies(i);
        m_slots.wait();
        InstructionRecord& rec = m_run.records[static_cast<std::size_t>(i.id)];
        rec.unit = basename();
        rec.start = m_run.now_cycles();
        InFlight f{&i, nullptr, sc_core::sc_time_stamp()};
        switch (i.source) {
            case MemorySpace::Dram:
                f.ticket = m_dram->issue(i.address, i.bytes, false, i.layer);
                rec.dram_bytes = i.bytes;
                break;
            case MemorySpace::Cmem:
                if (!m_cmem)
                    throw sim::ModelError(
                        "tpu: instruction " + std::to_string(i.id) +
                        " reads weights from a common memory this chip lacks (cmem.kib = 0)");
                f.ticket = m_cmem->issue(i.address, i.bytes, false, i.layer);
                rec.cmem_bytes = i.bytes;
                break;
            default: {  // an activation in the unified buffer (attention's second operand)
                const Layer& l = m_run.program.layers[static_cast<std::size_t>(i.layer)];
                const uint64_t start = m_run.book_ub({m_run.ub_range(l.gemm.weight_buffer)},
                                                     i.bytes, rec.start, 0, rec);
                f.ready = m_run.cycle * static_cast<double>(start + m_run.ub.port_cycles(i.bytes));
                rec.ub_bytes = i.bytes;
            }
        }
        m_in_flight.push_back(f);
        m_issued.notify(SC_ZERO_TIME);
    }
}

void WeightFetcher::land() {
    sim::SimulationContext::guard([this] { land_loop(); });
}

// Tiles land in issue order: when a tile's last byte has arrived it enters the FIFO (its slot
// is already reserved, so the write never waits).
void WeightFetcher::land_loop() {
    for (;;) {
        while (m_in_flight.empty()) sc_core::wait(m_issued);
        const InFlight f = m_in_flight.front();
        m_in_flight.pop_front();
        if (f.ticket)
            f.ticket->wait();
        else if (f.ready > sc_core::sc_time_stamp())
            sc_core::wait(f.ready - sc_core::sc_time_stamp());
        const Instruction& i = *f.rw;
        InstructionRecord& rec = m_run.records[static_cast<std::size_t>(i.id)];
        rec.busy = m_run.now_cycles() - rec.start;
        m_fifo.write(i.id);
        rec.end = m_run.now_cycles();
        m_run.trace_event(m_track, i, rec.start, rec.end);
        m_run.complete(i, sc_core::sc_time_stamp());
    }
}

ActivationDma::ActivationDma(sc_core::sc_module_name name, TpuRun& run, InstructionQueue& queue,
                             sim::DmaEngine& engine, int track)
    : sc_core::sc_module(name), m_run(run), m_queue(queue), m_engine(engine), m_track(track) {
    SC_THREAD(transfer);
}

void ActivationDma::transfer() {
    sim::SimulationContext::guard([this] { transfer_loop(); });
}

// A spill DMA takes a unified-buffer port for its bytes and moves them to or from DRAM.
void ActivationDma::transfer_loop() {
    for (;;) {
        const Instruction& i = *m_queue.read();
        m_run.wait_for_dependencies(i);
        InstructionRecord& rec = m_run.records[static_cast<std::size_t>(i.id)];
        rec.unit = "dma";
        rec.start = m_run.now_cycles();
        const uint64_t start =
            m_run.book_ub({m_run.ub_range(i.buffer)}, i.bytes, rec.start, 0, rec);
        if (start > rec.start) sc_core::wait(m_run.cycle * static_cast<double>(start - rec.start));
        m_engine.transfer(i.address, i.bytes, i.destination == MemorySpace::Dram, i.layer);
        rec.end = m_run.now_cycles();
        rec.busy = rec.end - rec.start;
        rec.dram_bytes = i.bytes;
        rec.ub_bytes = i.bytes;
        m_run.trace_event(m_track, i, rec.start, rec.end);
        m_run.complete(i, sc_core::sc_time_stamp());
    }
}

MatrixUnit::MatrixUnit(sc_core::sc_module_name name, TpuRun& run, InstructionQueue& queue,
                       sc_core::sc_fifo<int>& weights, sc_core::sc_semaphore& slots, int track)
    : sc_core::sc_module(name),
      m_run(run),
      m_queue(queue),
      m_weights(weights),
      m_slots(slots),
      m_track(track) {
    SC_THREAD(compute);
    set_stack_size(kStackBytes);
}

// One MMC is one fold on a weight-stationary R x C array (closed form, in cycles):
//   shift   the tile's K rows (K <= R) shift into the shadow weight buffer at w =
//           mxu.weight_load_rows_per_cycle: ceil(K / w) cycles, starting when the tile is out
//           of the FIFO and the shadow buffer is free
//   stream  rows m0..m1 enter one per cycle: M cycles, starting when the array is free, the
//           inputs are ready, the weights have shifted in and a unified-buffer port can feed
//           the M rows of K elements (longer if the port is narrower than K elements a cycle)
//   drain   the last row's sums leave the array R + C - 2 cycles later: partial sums pass
//           through all R rows even when the fold fills only K of them
// An isolated fold therefore takes ceil(K / w) + M + R + C - 2 cycles (with K = R and w = 1,
// SCALE-Sim's weight-stationary 2R + C + M - 2). With double buffering the shadow buffer frees
// when a fold starts streaming, so the next tile's shift hides under this fold's M cycles when
// M >= ceil(K / w), and the next fold streams right behind this one; without it, the next shift
// waits for this fold to drain.
// Whether the input the MMC waited for longest came from matrix work (an earlier MXU layer, or
// its spill coming back from DRAM) rather than from the host link, the host or the vector unit.
bool MatrixUnit::waits_on_matrix_work(const Instruction& i) const {
    int last = -1;
    for (int d : i.after)
        if (last < 0 || m_run.done_at[static_cast<std::size_t>(d)] >
                            m_run.done_at[static_cast<std::size_t>(last)])
            last = d;
    if (last < 0) return true;
    const Opcode op = m_run.program.instructions[static_cast<std::size_t>(last)].op;
    return op != Opcode::RHM && op != Opcode::HOST && op != Opcode::VEC;
}

void MatrixUnit::compute() {
    sim::SimulationContext::guard([this] { compute_loop(); });
}

void MatrixUnit::compute_loop() {
    const uint64_t R = static_cast<uint64_t>(m_run.spec.mxu.rows);
    const uint64_t C = static_cast<uint64_t>(m_run.spec.mxu.cols);
    const uint64_t load_rate = static_cast<uint64_t>(m_run.spec.mxu.weight_load_rows_per_cycle);
    const uint64_t elem = static_cast<uint64_t>(m_run.spec.element_bytes());
    uint64_t stream_free = 0, shadow_free = 0;
    int layer = -1;
    uint64_t covered_until = 0;  // union of this layer's fold intervals on this MXU
    for (;;) {
        const Instruction& i = *m_queue.read();
        InstructionRecord& rec = m_run.records[static_cast<std::size_t>(i.id)];
        rec.unit = "mxu" + std::to_string(i.mxu);
        const uint64_t t_pick = m_run.now_cycles();
        // Weights do not wait for data: the tile leaves the FIFO (freeing its slot) and shifts
        // in while the inputs may still be in flight.
        const int tile = m_weights.read();
        m_slots.post();
        const uint64_t t_tile = m_run.now_cycles();
        const uint64_t arrival = m_run.to_cycles(m_run.done_at[static_cast<std::size_t>(tile)]);
        m_run.wait_for_dependencies(i);
        const uint64_t t_data = m_run.now_cycles();
        const uint64_t k_rows = static_cast<uint64_t>(i.k1 - i.k0);
        const uint64_t rows = static_cast<uint64_t>(i.m1 - i.m0);
        const uint64_t shift_start = std::max(t_tile, shadow_free);
        const uint64_t shift_done = shift_start + ceil_div(k_rows, load_rate);
        const uint64_t ready = std::max({stream_free, t_data, shift_done});
        const Layer& l = m_run.program.layers[static_cast<std::size_t>(i.layer)];
        const uint64_t input_bytes = rows * k_rows * elem;
        const uint64_t stream_start =
            m_run.book_ub({m_run.ub_range(l.inputs[0])}, input_bytes, ready, rows, rec);
        const uint64_t stream_end =
            stream_start + std::max(rows, m_run.ub.port_cycles(input_bytes));
        const uint64_t fold_done = stream_end + R + C - 2;
        // Stalls: from when the array could take this fold (`free`) to when it is ready to
        // stream, charged to whichever of weights and inputs came last. A weight stall is a
        // fetch stall while the tile was still on its way (memory too slow), then a shift stall;
        // a wait for a unified-buffer port after that is counted in stall_ub_port.
        const uint64_t free = std::max(stream_free, t_pick);
        if (ready > free) {
            if (shift_done >= t_data) {
                const uint64_t fetch = std::min(ready, std::max(arrival, free)) - free;
                rec.stall_weight_fetch = fetch;
                rec.stall_weight_shift = ready - free - fetch;
            } else if (waits_on_matrix_work(i)) {
                rec.stall_input = ready - free;
            }  // else the inputs came from the host link, the host or the vector unit: the array
               // idled while other units worked, a non-matrix cycle, not a stall
        }
        rec.array_active = rows;
        if (i.layer != layer) {
            layer = i.layer;
            covered_until = 0;
        }
        // Occupied: the shift-in when it delayed streaming (else it was hidden), the stream and
        // the drain; overlapping folds of one layer are counted once.
        const bool shift_exposed = shift_done > std::max(stream_free, t_data);
        const uint64_t begin = std::max(shift_exposed ? shift_start : stream_start, covered_until);
        rec.busy = fold_done > begin ? fold_done - begin : 0;
        covered_until = std::max(covered_until, fold_done);
        rec.start = stream_start;
        rec.end = fold_done;
        rec.ub_bytes = input_bytes;
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
        uint64_t d = duration(i, rec);
        // Its unified-buffer access: Activate writes its results as it drains, holding a port
        // throughout; the vector unit, and the host link's reads and writes, hold one for their
        // bytes. The instruction starts when its port is free.
        std::vector<UbRange> ranges;
        bool whole = false;
        const Layer* l =
            i.layer >= 0 ? &m_run.program.layers[static_cast<std::size_t>(i.layer)] : nullptr;
        switch (i.op) {
            case Opcode::ACT:
                ranges = {m_run.ub_range(l->outputs[0])};
                whole = true;
                break;
            case Opcode::VEC:
                for (int b : l->inputs) ranges.push_back(m_run.ub_range(b));
                for (int b : l->outputs) ranges.push_back(m_run.ub_range(b));
                break;
            case Opcode::RHM:
            case Opcode::WHM:
                ranges = {m_run.ub_range(i.buffer)};
                break;
            default:
                break;
        }
        if (!ranges.empty()) {
            const uint64_t start =
                m_run.book_ub(ranges, rec.ub_bytes, rec.start, whole ? d : 0, rec);
            if (whole) d = std::max(d, m_run.ub.port_cycles(rec.ub_bytes));
            if (start > rec.start)
                sc_core::wait(m_run.cycle * static_cast<double>(start - rec.start));
        }
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
        rec.start = rec.end - d;
        if (i.op != Opcode::SYNC) m_run.trace_event(m_track, i, rec.start, rec.end);
        m_run.complete(i, sc_core::sc_time_stamp());
    }
}

}  // namespace xpusim::models::tpu
