// The TPU chip as a SystemC top module: it only creates and wires the parts.
//
//   sequencer --queue--> host link + host, activate, vector, sync, DMA, and per MXU i its
//                        weight fetcher and the MXU
//   weight fetcher i --weight FIFO i--> MXU i
//   weight fetcher i --DMA engine--> dram (weight memory), cmem (common memory, v4i)  TLM-2.0
//   DMA (spilled activations) --DMA engine--> dram                                   TLM-2.0
//   every unit <--> unified buffer ports (UbPorts)
// Each DMA engine keeps enough requests in flight to cover its memory's latency at its share
// of the bandwidth (Little's law: share x access latency / request, plus one in service).
#pragma once

#include <systemc>
#include <vector>

#include "models/tpu/tpu_units.h"
#include "sim/memory/dma.h"
#include "sim/memory/dram.h"

namespace xpusim::models::tpu {

class TpuTop : public sc_core::sc_module {
  public:
    TpuTop(sc_core::sc_module_name name, TpuRun& run);

    sim::Dram* dram;  // weight memory, and where spilled activations go
    sim::Dram* cmem;  // the common memory (v4i), an on-chip SRAM without row misses

  private:
    std::vector<InstructionQueue*> m_queues;             // indexed by queue_of()
    std::vector<sc_core::sc_fifo<int>*> m_weight_fifos;  // one per MXU, carrying RW ids
    std::vector<sc_core::sc_semaphore*> m_fifo_slots;    // free slots of each FIFO
};

}  // namespace xpusim::models::tpu
