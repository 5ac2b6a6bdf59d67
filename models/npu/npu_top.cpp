#include "models/npu/npu_top.h"
#include "sim/runtime/simulation_context.h"

namespace xpusim::models::npu {

using isa::npu::Unit;

NpuTop::NpuTop(sc_core::sc_module_name name, NpuContext& ctx)
    : sc_module(name), m_ctx(ctx), m_cacc_to_sdp("cacc_to_sdp", 2), m_sdp_to_pdp("sdp_to_pdp", 2) {
    dram = new sim::Dram("dram", ctx.spec.dram);
    mcif = new Mcif("mcif", ctx.spec.dram, static_cast<uint64_t>(ctx.spec.dma.mcif_queue_bytes));
    mcif->dram.bind(dram->socket);
    for (const char* n : {"cdma.dat", "cdma.wt", "sdp.rdma", "sdp.wdma", "pdp.rdma", "pdp.wdma",
                          "cdp.rdma", "cdp.wdma", "bdma"})
        make_dma(n);
    conv = new ConvCore("conv", ctx, *dmas["cdma.dat"], *dmas["cdma.wt"], m_cacc_to_sdp);
    sdp = new SdpUnit("sdp", ctx, *dmas["sdp.rdma"], *dmas["sdp.wdma"]);
    pdp = new PdpUnit("pdp", ctx, *dmas["pdp.rdma"], *dmas["pdp.wdma"]);
    cdp = new CdpUnit("cdp", ctx, *dmas["cdp.rdma"], *dmas["cdp.wdma"]);
    bdma = new BdmaUnit("bdma_unit", ctx, *dmas["bdma"]);
    host = new HostUnit("host", ctx);
    sdp->input = &m_cacc_to_sdp;
    sdp->output = &m_sdp_to_pdp;
    pdp->input = &m_sdp_to_pdp;
    SC_THREAD(sequencer);
}

DmaEngine* NpuTop::make_dma(const std::string& name) {
    std::string module_name = name;
    for (char& ch : module_name)
        if (ch == '.') ch = '_';
    auto* e = new DmaEngine(module_name.c_str(), m_ctx.spec.dma, m_ctx.spec.cycle_ns());
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
