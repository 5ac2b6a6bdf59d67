#include "models/npu/npu_top.h"
#include "sim/runtime/simulation_context.h"

namespace xpusim::models::npu {

using isa::npu::Unit;

NpuTop::NpuTop(sc_core::sc_module_name name, NpuContext& ctx)
    : sc_module(name), m_ctx(ctx), m_cacc_to_sdp("cacc_to_sdp", 2), m_sdp_to_pdp("sdp_to_pdp", 2) {
    dram = sim::make_owned<sim::Dram>("dram", ctx.spec.dram);
    mcif = sim::make_owned<sim::MemoryPort>("mcif", static_cast<double>(ctx.spec.dma.width_bytes),
                               ctx.spec.cycle_ns());
    mcif->memory.bind(dram->socket);
    for (const char* n : {"cdma.dat", "cdma.wt", "sdp.rdma", "sdp.wdma", "pdp.rdma", "pdp.wdma",
                          "cdp.rdma", "cdp.wdma", "bdma"})
        make_dma(n);
    conv = sim::make_owned<ConvCore>("conv", ctx, *dmas["cdma.dat"], *dmas["cdma.wt"], m_cacc_to_sdp);
    sdp = sim::make_owned<SdpUnit>("sdp", ctx, *dmas["sdp.rdma"], *dmas["sdp.wdma"]);
    pdp = sim::make_owned<PdpUnit>("pdp", ctx, *dmas["pdp.rdma"], *dmas["pdp.wdma"]);
    cdp = sim::make_owned<CdpUnit>("cdp", ctx, *dmas["cdp.rdma"], *dmas["cdp.wdma"]);
    bdma = sim::make_owned<BdmaUnit>("bdma_unit", ctx, *dmas["bdma"]);
    host = sim::make_owned<HostUnit>("host", ctx, *dram);
    sdp->input = &m_cacc_to_sdp;
    sdp->output = &m_sdp_to_pdp;
    pdp->input = &m_sdp_to_pdp;
    SC_THREAD(sequencer);
}

// Every engine streams at the port's width and keeps dma.width_bytes x latency_tolerance_cycles
// bytes in flight (the latency buffer NVDLA sizes from its latency assumption); a request never
// exceeds that buffer, so a design sized for a short latency (nv_small: 8 B x 50 cycles = 400 B)
// cannot stream at full rate from a slower memory.
sim::DmaEngine* NpuTop::make_dma(const std::string& name) {
    std::string module_name = name;
    for (char& ch : module_name)
        if (ch == '.') ch = '_';
    const auto& d = m_ctx.spec.dma;
    sim::DmaConfig c;
    c.request_bytes = std::min<uint64_t>(static_cast<uint64_t>(d.request_bytes),
                                         std::max<uint64_t>(1, d.window_bytes()));
    c.outstanding = std::max<int64_t>(1, static_cast<int64_t>(d.window_bytes() / c.request_bytes));
    c.bytes_per_cycle = static_cast<double>(d.width_bytes);
    c.cycle_ns = m_ctx.spec.cycle_ns();
    auto* e = sim::make_owned<sim::DmaEngine>(module_name.c_str(), c);
    e->socket.bind(mcif->clients);
    dmas[name] = e;
    return e;
}

void NpuTop::sequencer() {
    sim::SimulationContext::guard([this] { sequencer_loop(); });
}

void NpuTop::sequencer_loop() {
    for (const auto& d : m_ctx.program.descriptors) {
        switch (d.unit()) {
            case Unit::Conv:
                conv->slots.wait();
                break;
            case Unit::Sdp:
                sdp->slots.wait();
                break;
            case Unit::Pdp:
                pdp->slots.wait();
                break;
            case Unit::Cdp:
                cdp->slots.wait();
                break;
            case Unit::Bdma:
                bdma->slots.wait();
                break;
            case Unit::Host:
                host->slots.wait();
                break;
        }
        // Writing the register group over the CSB.
        const double t1 = NpuContext::now_ns();
        sc_core::wait(m_ctx.cycles(static_cast<double>(m_ctx.spec.sequencer.program_cycles)));
        m_ctx.trace(
            "sequencer",
            "program " + std::string(isa::npu::unit_name(d.unit())) + " #" + std::to_string(d.id),
            t1, NpuContext::now_ns(), d.id);
        switch (d.unit()) {
            case Unit::Conv:
                conv->dat_queue.push(d.id);
                conv->wt_queue.push(d.id);
                conv->csc_queue.push(d.id);
                break;
            case Unit::Sdp:
                sdp->rdma_queue.push(d.id);
                sdp->core_queue.push(d.id);
                break;
            case Unit::Pdp:
                pdp->rdma_queue.push(d.id);
                pdp->core_queue.push(d.id);
                break;
            case Unit::Cdp:
                cdp->rdma_queue.push(d.id);
                cdp->core_queue.push(d.id);
                break;
            case Unit::Bdma:
                bdma->queue.push(d.id);
                break;
            case Unit::Host:
                host->queue.push(d.id);
                break;
        }
    }
}

}  // namespace xpusim::models::npu
