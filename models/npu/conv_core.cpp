#include "models/npu/conv_core.h"
#include "sim/runtime/simulation_context.h"

#include "models/npu/numerics.h"
#include "sim/error.h"

namespace xpusim::models::npu {

using isa::npu::ConvDesc;

namespace {

std::string desc_name(const NpuContext& ctx, int32_t id) {
    const auto& d = ctx.desc(id);
    return d.nodes.empty() ? "desc" + std::to_string(id) : d.nodes.front();
}

// (image, chunk, strip) as one key.
int64_t strip_key(int64_t image, int64_t chunk, int64_t strip) {
    return (image * 4096 + chunk) * 1048576 + strip;
}

}  // namespace

ConvCore::ConvCore(sc_core::sc_module_name name, NpuContext& ctx, sim::DmaEngine& dat_dma,
                   sim::DmaEngine& wt_dma, sc_core::sc_fifo<PipeItem>& to_sdp)
    : sc_module(name),
      slots("slots", 2),
      m_ctx(ctx),
      m_dat_dma(dat_dma),
      m_wt_dma(wt_dma),
      m_csc_to_cacc("csc_to_cacc", 2),
      m_to_sdp(to_sdp) {
    int64_t n = 0;
    for (const auto& d : ctx.program.descriptors)
        if (d.unit() == isa::npu::Unit::Conv) m_ordinal[d.id] = n++;
    SC_THREAD(cdma_dat);
    SC_THREAD(cdma_wt);
    SC_THREAD(csc);
    SC_THREAD(cacc);
}

ConvCore::Tickets& ConvCore::wait_cbuf(int32_t id) {
    while (m_cbuf_released < m_ordinal.at(id)) sc_core::wait(m_cbuf_event);
    Tickets& t = m_tickets[id];
    if (!t.granted) {
        const ConvPlan& plan = m_ctx.conv_plan(id);
        // A load larger than the banks it goes to can never be granted: the program was planned
        // for another CBUF (the lowering reports such a design as infeasible before it runs).
        for (const auto& l : plan.data_loads)
            if (l.bytes > plan.data_capacity)
                throw sim::CapacityError("NPU program: conv descriptor " + std::to_string(id) +
                                         " loads " + std::to_string(l.bytes) + " B of input into " +
                                         std::to_string(plan.data_capacity) +
                                         " B of CBUF data banks");
        for (const auto& l : plan.weight_loads)
            if (l.bytes > plan.weight_capacity)
                throw sim::CapacityError(
                    "NPU program: conv descriptor " + std::to_string(id) + " loads " +
                    std::to_string(l.bytes) + " B of weights into " +
                    std::to_string(plan.weight_capacity) + " B of CBUF weight banks");
        t.granted = true;
        t.data_free = plan.data_capacity;
        t.weight_free = plan.weight_capacity;
        t.data_loads.reserve(plan.data_loads.size());
        t.weight_loads.reserve(plan.weight_loads.size());
    }
    return t;
}

void ConvCore::acquire(uint64_t& pool, uint64_t bytes) {
    while (pool < bytes) sc_core::wait(m_credit_event);
    pool -= bytes;
}

void ConvCore::cdma_dat() {
    sim::SimulationContext::guard([this] { cdma_dat_loop(); });
}

void ConvCore::cdma_dat_loop() {
    while (true) {
        const int32_t id = dat_queue.pop();
        const auto& conv = std::get<ConvDesc>(m_ctx.desc(id).payload);
        const ConvPlan& plan = m_ctx.conv_plan(id);
        Tickets& t = wait_cbuf(id);
        m_ctx.wait_ready(conv.src, id);
        const uint64_t base = m_ctx.program.surface(conv.src).addr;
        const double start = NpuContext::now_ns();
        m_ctx.stats(id).touch(start);
        for (std::size_t i = 0; i < plan.data_loads.size(); ++i) {
            const DataLoad& l = plan.data_loads[i];
            acquire(t.data_free, l.bytes);
            t.data_loads.push_back(m_dat_dma.issue(base + l.offset, l.bytes, false, id));
            m_ctx.stats(id).cbuf_bytes += l.bytes;
            m_ticket_event.notify(sc_core::SC_ZERO_TIME);
        }
        m_ctx.trace("cdma.dat", desc_name(m_ctx, id), start, NpuContext::now_ns(), id);
    }
}

void ConvCore::cdma_wt() {
    sim::SimulationContext::guard([this] { cdma_wt_loop(); });
}

void ConvCore::cdma_wt_loop() {
    while (true) {
        const int32_t id = wt_queue.pop();
        const auto& conv = std::get<ConvDesc>(m_ctx.desc(id).payload);
        const ConvPlan& plan = m_ctx.conv_plan(id);
        Tickets& t = wait_cbuf(id);
        const uint64_t base = m_ctx.program.surface(conv.weight).addr;
        const double start = NpuContext::now_ns();
        m_ctx.stats(id).touch(start);
        for (std::size_t i = 0; i < plan.weight_loads.size(); ++i) {
            const WeightLoad& l = plan.weight_loads[i];
            acquire(t.weight_free, l.bytes);
            t.weight_loads.push_back(m_wt_dma.issue(base + l.offset, l.bytes, false, id));
            m_ctx.stats(id).cbuf_bytes += l.bytes;
            m_ticket_event.notify(sc_core::SC_ZERO_TIME);
        }
        m_ctx.trace("cdma.wt", desc_name(m_ctx, id), start, NpuContext::now_ns(), id);
    }
}

void ConvCore::csc() {
    sim::SimulationContext::guard([this] { csc_loop(); });
}

void ConvCore::csc_loop() {
    while (true) {
        const int32_t id = csc_queue.pop();
        const auto& conv = std::get<ConvDesc>(m_ctx.desc(id).payload);
        const ConvPlan& plan = m_ctx.conv_plan(id);
        if (m_ctx.downstream(id) < 0)
            throw sim::Error(
                "NPU program: conv descriptor " + std::to_string(id) +
                " has no SDP fused after it (the conv pipeline always drains through SDP)");
        Tickets& t = wait_cbuf(id);
        DescStats& st = m_ctx.stats(id);
        // Bytes each strip's data holds and each load took from its pool, for the releases.
        std::map<int64_t, uint64_t> strip_bytes;
        for (const auto& l : plan.data_loads)
            strip_bytes[strip_key(l.image, l.chunk, l.strip)] +=
                std::min(l.bytes, plan.data_capacity);
        uint64_t chunk_weights = 0, kgroup_weights = 0;
        double first_ns = -1, tile_ns = 0;
        for (std::size_t i = 0; i < plan.items.size(); ++i) {
            const ConvItem& it = plan.items[i];
            double t0 = NpuContext::now_ns();
            const auto dl = static_cast<std::size_t>(it.data_load);
            while (t.data_loads.size() <= dl) sc_core::wait(m_ticket_event);
            t.data_loads[dl]->wait();
            st.stall_data_ns += NpuContext::now_ns() - t0;
            if (it.weight_load >= 0) {
                t0 = NpuContext::now_ns();
                const auto wl = static_cast<std::size_t>(it.weight_load);
                while (t.weight_loads.size() <= wl) sc_core::wait(m_ticket_event);
                t.weight_loads[wl]->wait();
                st.stall_weight_ns += NpuContext::now_ns() - t0;
                kgroup_weights = std::min(plan.weight_loads[wl].bytes, plan.weight_capacity);
                chunk_weights += kgroup_weights;
            }
            if (i == 0) {
                first_ns = NpuContext::now_ns();
                if (!m_ctx.timing_only)  // the input is in CBUF: compute the layer's accumulators
                    m_ctx.intermediate[id] = conv_accumulate(conv, m_ctx.memory.read(conv.src),
                                                             m_ctx.memory.read(conv.weight));
            }
            if (it.block == 0) tile_ns = NpuContext::now_ns();
            sc_core::wait(m_ctx.cycles(static_cast<double>(it.mac_cycles)));
            if (it.last_in_strip_kgroup)  // one trace event per kernel group and strip (a tile)
                m_ctx.trace(
                    "cmac",
                    "kgroup " + std::to_string(it.kgroup) + " strip " + std::to_string(it.strip),
                    tile_ns, NpuContext::now_ns(), id);
            st.busy_cycles += it.mac_cycles;
            st.macs += it.macs;
            t0 = NpuContext::now_ns();
            m_csc_to_cacc.write(PipeItem{id, static_cast<int64_t>(i), it.out_elems, it.out_bytes,
                                         i + 1 == plan.items.size()});
            st.stall_output_ns += NpuContext::now_ns() - t0;
            // Free CBUF space the rest of the layer no longer needs.
            if (it.last_in_strip)
                t.data_free += strip_bytes[strip_key(it.image, it.chunk, it.strip)];
            if (!conv.weights_resident && it.last_in_strip_kgroup) t.weight_free += kgroup_weights;
            if (conv.weights_resident && it.last_in_chunk) {
                t.weight_free += chunk_weights;
                chunk_weights = 0;
            }
            m_credit_event.notify(sc_core::SC_ZERO_TIME);
        }
        m_ctx.trace("cmac", desc_name(m_ctx, id), first_ns, NpuContext::now_ns(), id);
        m_tickets.erase(id);
        ++m_cbuf_released;
        m_cbuf_event.notify(sc_core::SC_ZERO_TIME);
    }
}

void ConvCore::cacc() {
    sim::SimulationContext::guard([this] { cacc_loop(); });
}

void ConvCore::cacc_loop() {
    double start = -1;
    while (true) {
        const PipeItem item = m_csc_to_cacc.read();
        if (start < 0) start = NpuContext::now_ns();
        const ConvPlan& plan = m_ctx.conv_plan(item.desc);
        // One accumulator row (one pixel's kernel group) leaves the CACC per cycle.
        const uint64_t rows = (item.elems + plan.kernels_per_atomic - 1) / plan.kernels_per_atomic;
        sc_core::wait(m_ctx.cycles(static_cast<double>(rows)));
        m_to_sdp.write(item);
        if (item.last) {
            m_ctx.trace("cacc", desc_name(m_ctx, item.desc), start, NpuContext::now_ns(),
                        item.desc);
            m_ctx.stats(item.desc).touch(NpuContext::now_ns());
            m_ctx.stats(item.desc).done = true;
            start = -1;
            slots.post();
        }
    }
}

}  // namespace xpusim::models::npu
