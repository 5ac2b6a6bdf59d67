// The convolution pipeline as four SystemC processes, one per NVDLA stage:
//   cdma_dat  fetches the input rows a strip needs into the CBUF data banks
//   cdma_wt   fetches kernel groups into the CBUF weight banks
//   csc       sequences the atomic ops of each work item on the MAC array (CSC + CMAC) and
//             waits the item's closed-form cycle count (conv_plan.h)
//   cacc      accumulates and streams each item's outputs to the SDP
// CBUF capacity is modelled as byte credits for the banks the compiler gave data and weights:
// a load waits until its bytes are free; the CSC frees a strip's data after its last kernel
// group, and a kernel group's weights after its strip (streamed) or after its chunk (resident).
// The CBUF passes from one conv layer to the next only when the CSC has finished the earlier
// one, so the next layer's loads overlap only the earlier layer's CACC/SDP drain.
#pragma once

#include <map>
#include <systemc>

#include "models/npu/npu_context.h"
#include "sim/memory/dma.h"

namespace xpusim::models::npu {

class ConvCore : public sc_core::sc_module {
  public:
    SC_HAS_PROCESS(ConvCore);
    ConvCore(sc_core::sc_module_name name, NpuContext& ctx, sim::DmaEngine& dat_dma,
             sim::DmaEngine& wt_dma, sc_core::sc_fifo<PipeItem>& to_sdp);

    IdQueue dat_queue, wt_queue, csc_queue;
    sc_core::sc_semaphore slots;  // ping-pong register groups

  private:
    struct Tickets {
        std::vector<sim::DmaHandle> data_loads, weight_loads;  // issued so far
        uint64_t data_free = 0, weight_free = 0;
        bool granted = false;
    };

    void cdma_dat();

    void cdma_dat_loop();
    void cdma_wt();
    void cdma_wt_loop();
    void csc();
    void csc_loop();
    void cacc();
    void cacc_loop();
    /// Waits until the CBUF belongs to conv `id` (every earlier conv's CSC is done).
    Tickets& wait_cbuf(int32_t id);
    void acquire(uint64_t& pool, uint64_t bytes);

    NpuContext& m_ctx;
    sim::DmaEngine& m_dat_dma;
    sim::DmaEngine& m_wt_dma;
    sc_core::sc_fifo<PipeItem> m_csc_to_cacc;
    sc_core::sc_fifo<PipeItem>& m_to_sdp;
    std::map<int32_t, Tickets> m_tickets;
    std::map<int32_t, int64_t> m_ordinal;  // conv descriptor -> its position among convs
    int64_t m_cbuf_released = 0;           // convs whose CSC has finished
    sc_core::sc_event m_cbuf_event, m_ticket_event, m_credit_event;
};

}  // namespace xpusim::models::npu
