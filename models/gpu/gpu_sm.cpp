#include "models/gpu/gpu_sm.h"

#include <algorithm>
#include <cmath>

#include "sim/error.h"
#include "sim/runtime/simulation_context.h"

namespace xpusim::models::gpu {

using isa::gpu::Instr;
using isa::gpu::Op;
using sc_core::SC_NS;
using sc_core::sc_time;

namespace {

constexpr int kMaxChunks = 4;                        // L2 transactions per run at most
constexpr uint64_t kChunkBytes = uint64_t{1} << 20;  // ... and about this many bytes each

double now_ns() { return sc_core::sc_time_stamp().to_seconds() * 1e9; }

BlockCost block_cost(const isa::gpu::GpuSpec& s, const isa::gpu::Kernel& k, const std::vector<Instr>& block) {
    BlockCost b;
    const double tensor_scale = s.clock_mhz / s.tensor.clock_mhz;  // SM cycles per tensor cycle
    const double fp32_scale = s.clock_mhz / s.fp32_clock_mhz();  // SM cycles per FP32-pipe cycle
    bool mma = false;
    for (const Instr& i : block) {
        const double n = static_cast<double>(i.count);
        switch (i.op) {
            case Op::MmaSync:
            case Op::Wgmma: {
                const int64_t rate = s.tensor.rate(k.dtype);
                if (rate <= 0)
                    throw sim::UnsupportedError("gpu: kernel " + k.name + " issues " + isa::gpu::op_name(i.op) +
                                                " in " + isa::gpu::precision_name(k.dtype) +
                                                ", which these tensor cores do not run");
                b.tensor += n * static_cast<double>(i.m * i.n * i.k) / static_cast<double>(rate) * tensor_scale;
                b.issue += n;
                mma = true;
                break;
            }
            case Op::Ffma:
                b.fp32 += n / static_cast<double>(s.sm.fp32_lanes) * fp32_scale;
                b.issue += n / 32 * fp32_scale;
                break;
            case Op::Alu:
            case Op::Cvt:
                b.alu += n / static_cast<double>(s.sm.int_lanes);
                b.issue += n / 32;
                break;
            case Op::Sfu:
                b.sfu += n / static_cast<double>(s.sm.sfu_per_cycle);
                b.issue += n / 32;
                break;
            case Op::Shfl:
                b.shfl += n / 32;
                b.issue += n / 32;
                break;
            case Op::Ldmatrix:
            case Op::LdShared:
            case Op::StShared:
                b.smem += n * static_cast<double>(i.bytes) / static_cast<double>(s.sm.smem_bytes_per_cycle);
                b.issue += n;
                break;
            case Op::BarSync:
            case Op::Mbarrier:
                b.latency += n * static_cast<double>(s.sm.barrier_cycles);
                b.issue += n;
                break;
            default:  // global memory
                (isa::gpu::is_global_write(i.op) ? b.write_bytes : b.read_bytes) +=
                    static_cast<uint64_t>(i.count * i.bytes);
                b.issue += n;
        }
    }
    if (mma) b.latency += static_cast<double>(s.tensor.mma_latency_cycles);
    b.warps = static_cast<double>((k.threads + 31) / 32);
    b.issue_per_cycle = static_cast<double>(s.sm.issue_per_cycle);
    return b;
}

}  // namespace

double BlockCost::throughput(double c) const {
    // A warp issues at most one instruction per cycle: c CTAs of w warps issue at
    // min(sm.issue_per_cycle, c x w) per cycle.
    const double issue_cycles = issue / std::min(issue_per_cycle, std::max(1.0, c * warps));
    return std::max(c * std::max({tensor, fp32, alu, sfu, shfl, smem}), c * issue_cycles);
}

int64_t occupancy(const isa::gpu::GpuSpec& s, const isa::gpu::Kernel& k) {
    const int64_t warps = (k.threads + 31) / 32;
    const int64_t regs_per_warp =
        (k.registers * 32 + s.sm.register_granule - 1) / s.sm.register_granule * s.sm.register_granule;
    int64_t o = s.sm.max_ctas;
    o = std::min(o, s.sm.max_threads / std::max<int64_t>(1, k.threads));
    o = std::min(o, s.sm.max_warps / std::max<int64_t>(1, warps));
    o = std::min(o, s.sm.registers / std::max<int64_t>(1, regs_per_warp * warps));
    if (k.smem_bytes > 0 || s.sm.smem_per_cta_reserved > 0)
        o = std::min<int64_t>(o, static_cast<int64_t>(s.sm.smem_bytes()) /
                                     std::max<int64_t>(1, k.smem_bytes + s.sm.smem_per_cta_reserved));
    return std::max<int64_t>(0, o);
}

KernelCost kernel_cost(const isa::gpu::GpuSpec& s, const isa::gpu::Kernel& k) {
    KernelCost c;
    c.prologue = block_cost(s, k, k.cta.prologue);
    c.body = block_cost(s, k, k.cta.body);
    c.epilogue = block_cost(s, k, k.cta.epilogue);
    c.iterations = k.cta.iterations;
    c.occupancy = occupancy(s, k);
    const uint64_t it = static_cast<uint64_t>(k.cta.iterations);
    c.read_bytes = c.prologue.read_bytes + it * c.body.read_bytes + c.epilogue.read_bytes;
    c.write_bytes = c.prologue.write_bytes + it * c.body.write_bytes + c.epilogue.write_bytes;
    for (const auto* block : {&k.cta.prologue, &k.cta.body, &k.cta.epilogue}) {
        const double times = block == &k.cta.body ? static_cast<double>(it) : 1.0;
        for (const Instr& i : *block) {
            if (i.op == Op::MmaSync || i.op == Op::Wgmma)
                c.tensor_fmas += times * static_cast<double>(i.count * i.m * i.n * i.k);
            if (i.op == Op::Ffma) c.simt_fmas += times * static_cast<double>(i.count);
            if (i.op == Op::Ldmatrix || i.op == Op::LdShared || i.op == Op::StShared)
                c.smem_bytes += times * static_cast<double>(i.count * i.bytes);
        }
    }
    return c;
}

Sm::Sm(sc_core::sc_module_name name, int index, const GpuProgram& program, const std::vector<KernelCost>& costs,
       sc_core::sc_fifo<SmWork>& work, sc_core::sc_event& done, int& busy_count)
    : sc_core::sc_module(name),
      l2("l2"),
      m_index(index),
      m_program(program),
      m_costs(costs),
      m_work(work),
      m_done(done),
      m_busy(busy_count) {
    SC_THREAD(run);
}

void Sm::run() {
    sim::SimulationContext::guard([this] {
        for (;;) {
            const SmWork w = m_work.read();
            const double start = now_ns();
            run_kernel(w);
            spans.push_back({w.kernel, start, now_ns()});
            if (--m_busy == 0) m_done.notify(sc_core::SC_ZERO_TIME);
        }
    });
}

void Sm::run_kernel(const SmWork& w) {
    const auto& k = m_program.kernels[static_cast<std::size_t>(w.kernel)];
    const KernelCost& c = m_costs[static_cast<std::size_t>(w.kernel)];
    const isa::gpu::GpuSpec& s = m_program.spec;
    if (s.sm.cta_launch_cycles > 0)
        sc_core::wait(sc_time(static_cast<double>(w.ctas * s.sm.cta_launch_cycles) * s.cycle_ns(), SC_NS));
    const int64_t o = c.occupancy;
    const int64_t full = w.ctas / o, tail = w.ctas % o;
    if (full > 0) batches(k, c, static_cast<double>(o), full, w.miss_fraction);
    if (tail > 0) batches(k, c, static_cast<double>(tail), 1, w.miss_fraction);
}

void Sm::batches(const isa::gpu::Kernel& k, const KernelCost& c, double ctas, int64_t repeats, double miss) {
    const isa::gpu::GpuSpec& s = m_program.spec;
    const double cyc = s.cycle_ns();
    const double r = static_cast<double>(repeats);
    // The first stage's load: an L2 hit (near and far equally likely) or, on a miss, HBM too.
    const double l2_latency = 0.5 * static_cast<double>(s.l2.latency_near_cycles + s.l2.latency_far_cycles) * cyc;
    const double load_latency = l2_latency + miss * s.hbm.access_latency_ns();
    const double fill = c.iterations > 0 || c.read_bytes > 0 ? load_latency : 0.0;
    const double per_batch = (c.prologue.throughput(ctas) + static_cast<double>(c.iterations) * c.body.throughput(ctas) +
                              c.epilogue.throughput(ctas)) * cyc;
    const double latencies = (c.prologue.latency + c.epilogue.latency) * cyc + fill;
    const double compute = r * per_batch + (k.persistent ? 1.0 : r) * latencies;
    const double reads = r * ctas * static_cast<double>(c.read_bytes);
    const double writes = r * ctas * static_cast<double>(c.write_bytes);
    // Little's law: no more than the bytes in flight per latency.
    const double in_flight = std::min(static_cast<double>(s.sm.bytes_in_flight), ctas * static_cast<double>(k.bytes_in_flight));
    const double memory_floor = (reads + writes) / std::max(1.0, in_flight) * load_latency;
    const int chunks = static_cast<int>(std::clamp<double>(std::ceil((reads + writes) / static_cast<double>(kChunkBytes)), 1, kMaxChunks));
    for (int i = 0; i < chunks; ++i) {
        const double t0 = now_ns();
        if (reads + writes > 0) {
            L2Request req;
            req.read_bytes = static_cast<uint64_t>(reads / chunks);
            req.write_bytes = static_cast<uint64_t>(writes / chunks);
            req.miss_fraction = miss;
            tlm::tlm_generic_payload p;
            p.set_command(req.write_bytes && !req.read_bytes ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
            p.set_address(0);
            p.set_data_ptr(nullptr);
            p.set_data_length(0);
            p.set_extension(&req);
            sc_time delay = sc_core::SC_ZERO_TIME;
            l2->b_transport(p, delay);
            p.clear_extension(&req);
            if (delay > sc_core::SC_ZERO_TIME) sc_core::wait(delay);
        }
        const double target = std::max(compute, memory_floor) / chunks;
        const double spent = now_ns() - t0;
        if (spent < target) sc_core::wait(sc_time(target - spent, SC_NS));
    }
}

}  // namespace xpusim::models::gpu
