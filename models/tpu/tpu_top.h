// The TPU chip as a SystemC top module: it only creates and wires the parts.
//
//   sequencer --queue--> host link + host, weight fetcher, activate, vector, sync, DMA, MXU i
//   weight fetcher --weight FIFO i--> MXU i
//   weight fetcher --> dram (weight memory), cmem (common memory, v4i)      TLM-2.0
//   DMA (spilled activations) --> dram                                       TLM-2.0
#pragma once

#include <systemc>
#include <vector>

#include "models/tpu/tpu_units.h"
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
};

}  // namespace xpusim::models::tpu
