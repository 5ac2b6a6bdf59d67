#include "models/gpu/gpu_top.h"

#include <algorithm>

#include "sim/error.h"
#include "sim/runtime/simulation_context.h"

namespace xpusim::models::gpu {

using sc_core::SC_NS;
using sc_core::sc_time;

namespace {
double now_ns() { return sc_core::sc_time_stamp().to_seconds() * 1e9; }
}  // namespace

GpuTop::GpuTop(sc_core::sc_module_name name, const GpuProgram& p, std::function<void(int)> on_kernel_done)
    : sc_core::sc_module(name), program(p), m_on_done(std::move(on_kernel_done)) {
    for (const auto& k : p.kernels) {
        costs.push_back(k.host_call >= 0 ? KernelCost{} : kernel_cost(p.spec, k));
        if (k.host_call < 0 && costs.back().occupancy == 0)
            throw sim::ModelError("gpu: kernel " + std::to_string(k.id) + " (" + k.name +
                                  ") cannot place one CTA on an SM (registers, shared memory or threads)");
    }
    records.resize(p.kernels.size());
    hbm = sim::make_owned<sim::Dram>("hbm", p.spec.hbm);
    l2 = sim::make_owned<L2Cache>("l2", p);
    l2->hbm.bind(hbm->socket);
    for (int64_t s = 0; s < p.spec.sm.count; ++s) {
        m_work.push_back(std::make_unique<sc_core::sc_fifo<SmWork>>(2));
        auto* sm = sim::make_owned<Sm>(("sm" + std::to_string(s)).c_str(), static_cast<int>(s), p, costs, *m_work.back(),
                          m_kernel_done, m_busy);
        sm->l2.bind(l2->socket);
        sms.push_back(sm);
    }
    SC_THREAD(launcher);
}

void GpuTop::run_host_call(const isa::gpu::Kernel& k) {
    const auto& h = program.host_calls.at(static_cast<std::size_t>(k.host_call));
    uint64_t in = 0, out = 0;
    for (const auto& a : k.args) (a.write ? out : in) += a.unique_bytes;
    const auto& host = program.spec.host;
    sc_core::wait(sc_time(host.link_seconds(in) + host.op_seconds(h.cost) + host.link_seconds(out), sc_core::SC_SEC));
}

void GpuTop::launcher() {
    sim::SimulationContext::guard([this] {
        const auto& spec = program.spec;
        const int64_t sm_count = spec.sm.count;
        std::string last_node;
        for (const auto& k : program.kernels) {
            KernelRecord& rec = records[static_cast<std::size_t>(k.id)];
            // The gap a graph replay shows before every kernel (a replay of the graph repeats
            // it, so the first kernel pays it too); in eager mode the host's time per op.
            double gap_us = spec.launch.gap_us;
            const std::string node = k.nodes.empty() ? "" : k.nodes.front();
            if (node != last_node) gap_us += spec.launch.host_overhead_us;
            last_node = node;
            if (gap_us > 0) sc_core::wait(sc_time(gap_us * 1e3, SC_NS));
            rec.start_ns = now_ns();
            if (k.host_call >= 0) {
                run_host_call(k);
            } else {
                const KernelCost& c = costs[static_cast<std::size_t>(k.id)];
                rec.l2 = l2->begin_kernel(k);
                rec.occupancy = c.occupancy;
                rec.waves = (k.grid + sm_count * c.occupancy - 1) / (sm_count * c.occupancy);
                const int64_t per = k.grid / sm_count, extra = k.grid % sm_count;
                m_busy = 0;
                for (int64_t s = 0; s < sm_count; ++s) m_busy += (per + (s < extra ? 1 : 0)) > 0;
                rec.sms_used = m_busy;
                for (int64_t s = 0; s < sm_count; ++s) {
                    const int64_t n = per + (s < extra ? 1 : 0);
                    if (n > 0) m_work[static_cast<std::size_t>(s)]->write({k.id, n, rec.l2.miss_fraction});
                }
                while (m_busy > 0) sc_core::wait(m_kernel_done);
            }
            rec.end_ns = now_ns();
            if (m_on_done) m_on_done(k.id);
        }
        end_ns = now_ns();
    });
}

}  // namespace xpusim::models::gpu
