// The NPU as a SystemC top module: it only creates and wires the parts. The sequencer (the
// management processor writing register groups over the CSB) programs each descriptor into its
// unit's free ping-pong register group (program_cycles each; a unit holds at most two) while
// earlier layers run; a unit starts a layer when its input surfaces are written.
//
//   sequencer --> ConvCore (cdma_dat, cdma_wt, csc+cmac, cacc) --fifo--> SDP --fifo--> PDP
//                 CDP, BDMA, host
//   every DMA engine --> MCIF (one shared port: dma.width_bytes a cycle) --> DRAM    TLM-2.0
//   host link DMA --> DRAM (graph inputs in, outputs out, host calls' operands)
#pragma once

#include <map>
#include <string>
#include <systemc>

#include "models/npu/conv_core.h"
#include "models/npu/post_units.h"
#include "sim/memory/dma.h"
#include "sim/memory/dram.h"

namespace xpusim::models::npu {

class NpuTop : public sc_core::sc_module {
  public:
    SC_HAS_PROCESS(NpuTop);
    NpuTop(sc_core::sc_module_name name, NpuContext& ctx);

    sim::Dram* dram;
    sim::MemoryPort* mcif;
    std::map<std::string, sim::DmaEngine*> dmas;  // by engine name ("cdma.dat", "sdp.wdma", ...)
    ConvCore* conv;
    SdpUnit* sdp;
    PdpUnit* pdp;
    CdpUnit* cdp;
    BdmaUnit* bdma;
    HostUnit* host;

  private:
    void sequencer();
    void sequencer_loop();
    sim::DmaEngine* make_dma(const std::string& name);

    NpuContext& m_ctx;
    sc_core::sc_fifo<PipeItem> m_cacc_to_sdp;
    sc_core::sc_fifo<PipeItem> m_sdp_to_pdp;
};

}  // namespace xpusim::models::npu
